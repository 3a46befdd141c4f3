// SPDX-License-Identifier: GPL-2.0
/*
 * xfrm_smoke.c - exercise user/xfrm.c and user/link.c against the kernel.
 *
 *   xfrm_smoke [--no-esp]
 *	API checks in a private network namespace (unshare), TAP-ish output,
 *	exit 0 if all passed. --no-esp skips what needs ESP in the kernel
 *	(SAs), and the link checks if VRFs are missing too, for development
 *	hosts without CONFIG_INET_ESP.
 *   xfrm_smoke --hold DIR --site ID,LOCAL,PEER,gcm|cbc [--site ...]
 *		[--probe IP] [--inner NET/LEN] [--tcp-port N]
 *	POP side of t_30_xfrm.sh, in the current namespace: per site a VRF,
 *	an xfrm interface, the probe IP, a route for the inner net, two SAs
 *	(inbound SPI from ALLOCSPI, UDP encap 4500) and IN/FWD/OUT policies,
 *	all with if_id = site id. Writes DIR/site<ID>.env (the branch's SPIs
 *	and algorithms for `ip xfrm`), holds the ESP-in-UDP socket on 4500
 *	and a TCP server that answers "vrf=<VRF of the accepted socket>",
 *	prints READY. SIGUSR1 prints SA counters; SIGTERM deletes everything
 *	and checks that nothing is left (exit 0/1).
 *   xfrm_smoke --udp-encap PORT
 *	hold a UDP_ENCAP_ESPINUDP socket on PORT until SIGTERM (branches).
 *   xfrm_smoke --tcp-client DST PORT SRC
 *	connect from SRC, print the server's line, exit 0 if one came.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/xfrm.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "link.h"
#include "xfrm.h"

#define ENCAP_PORT	4500

static int n_pass, n_fail;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", n_pass + n_fail + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		n_pass++;
	else
		n_fail++;
}

/* Check a 0/-errno result against the expected one; show the kernel text. */
static bool rc_is(int got, int want, const char *kmsg, const char *what)
{
	bool ok = got == want;

	if (ok)
		tap(true, "%s", what);
	else
		tap(false, "%s: got %d (%s)%s%s, want %d", what, got,
		    got < 0 ? strerror(-got) : "ok", kmsg && *kmsg ? ": " : "",
		    kmsg ? kmsg : "", want);
	return ok;
}

static int summary(void)
{
	printf("1..%d\n%d passed, %d failed\n", n_pass + n_fail, n_pass, n_fail);
	return n_fail ? 1 : 0;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "bad IPv4 address '%s'\n", s);
		exit(2);
	}
	return a.s_addr;
}

/* Run a shell command (inspection with ip(8)) and tell whether its output
 * contains needle. */
static bool cmd_has(const char *cmd, const char *needle)
{
	char line[512];
	bool found = false;
	FILE *f;

	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = true;
	pclose(f);
	return found;
}

static bool cmd_empty(const char *cmd)
{
	char line[512];
	bool empty = true;
	FILE *f;

	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		empty = false;
	pclose(f);
	return empty;
}

static void random_bytes(void *p, size_t n)
{
	if (RAND_bytes(p, (int)n) != 1) {
		fprintf(stderr, "RAND_bytes failed\n");
		exit(2);
	}
}

static void sa_gcm(struct eg_xfrm_sa *sa)
{
	sa->kind = EG_XFRM_AEAD;
	strcpy(sa->enc_name, "rfc4106(gcm(aes))");
	sa->enc_key_len = 36;
	random_bytes(sa->enc_key, sa->enc_key_len);
	sa->icv_bits = 128;
}

static void sa_cbc(struct eg_xfrm_sa *sa, const char *hash, unsigned int keylen,
		   unsigned int trunc)
{
	sa->kind = EG_XFRM_CRYPT_AUTH;
	strcpy(sa->enc_name, "cbc(aes)");
	sa->enc_key_len = 32;
	random_bytes(sa->enc_key, sa->enc_key_len);
	snprintf(sa->auth_name, sizeof(sa->auth_name), "hmac(%s)", hash);
	sa->auth_key_len = keylen;
	random_bytes(sa->auth_key, keylen);
	sa->auth_trunc_bits = trunc;
}

/* ---- API checks --------------------------------------------------------- */

static void test_links(bool host)
{
	uint32_t probe = ip4("100.64.0.1"), net = ip4("10.1.0.0");
	int vi, xi, idx = 0, err;

	err = eg_link_vrf_add("eg-v7", 1007);
	if (host && err == -EOPNOTSUPP) {
		printf("# --no-esp: kernel has no VRF: link checks skipped\n");
		return;
	}
	rc_is(err, 0, eg_link_errmsg(), "vrf add");
	rc_is(eg_link_vrf_add("eg-v7", 1007), -EEXIST, NULL, "vrf add twice: -EEXIST");
	rc_is(eg_link_set_up("eg-v7"), 0, eg_link_errmsg(), "vrf up");
	vi = eg_link_ifindex("eg-v7");
	tap(vi > 0, "vrf ifindex %d", vi);
	rc_is(eg_link_xfrmi_add("eg-x7", 0, vi), -EINVAL, NULL, "xfrmi if_id 0: -EINVAL");
	rc_is(eg_link_xfrmi_add("eg-x7", 7, vi), 0, eg_link_errmsg(), "xfrmi add in vrf");
	rc_is(eg_link_set_up("eg-x7"), 0, eg_link_errmsg(), "xfrmi up");
	xi = eg_link_ifindex("eg-x7");
	tap(xi > 0, "xfrmi ifindex %d", xi);
	tap(cmd_has("ip -d -o link show dev eg-x7", "master eg-v7"),
	    "ip link: eg-x7 enslaved to eg-v7");
	tap(cmd_has("ip -d -o link show dev eg-x7", "if_id 0x7"), "ip link: if_id 0x7");
	tap(cmd_has("ip -d -o link show dev eg-v7", "vrf table 1007"),
	    "ip link: eg-v7 vrf table 1007");
	tap(cmd_has("ip -o link show dev eg-x7", "UP"), "ip link: eg-x7 up");

	rc_is(eg_addr_add("eg-v7", probe, 32), 0, eg_link_errmsg(), "probe addr on vrf");
	rc_is(eg_addr_add("eg-v7", probe, 32), -EEXIST, NULL, "probe addr twice: -EEXIST");
	tap(cmd_has("ip route show table 1007", "local 100.64.0.1 dev eg-v7"),
	    "probe is local in the vrf table");
	rc_is(eg_route_add(1007, net, 24, xi, 0), 0, eg_link_errmsg(), "route add in vrf table");
	rc_is(eg_route_add(1007, net, 24, xi, 0), -EEXIST, NULL, "route add twice: -EEXIST");
	tap(cmd_has("ip route show table 1007", "10.1.0.0/24 dev eg-x7"),
	    "ip route: 10.1.0.0/24 dev eg-x7 in table 1007");
	rc_is(eg_route_add(1007, net, 24, 0, 0), -EINVAL, NULL, "route without oif/gw: -EINVAL");
	rc_is(eg_route_del(1007, net, 24, xi, 0), 0, eg_link_errmsg(), "route del");
	rc_is(eg_route_del(1007, net, 24, xi, 0), -ESRCH, NULL, "route del twice: -ESRCH");

	rc_is(eg_rule_add(2000, net, 24, "eg-x7", 1007), 0, eg_link_errmsg(), "rule add");
	rc_is(eg_rule_add(2000, net, 24, "eg-x7", 1007), -EEXIST, NULL, "rule add twice: -EEXIST");
	tap(cmd_has("ip rule show", "2000:\tfrom 10.1.0.0/24 iif eg-x7 lookup 1007"),
	    "ip rule: 2000 from 10.1.0.0/24 iif eg-x7 lookup 1007");
	tap(cmd_has("ip rule show", "1000:\tfrom all lookup [l3mdev-table]"),
	    "ip rule: kernel added the l3mdev rule");
	rc_is(eg_rule_del(2000, net, 24, "eg-x7", 1007), 0, eg_link_errmsg(), "rule del");
	rc_is(eg_rule_del(2000, net, 24, "eg-x7", 1007), -ENOENT, NULL, "rule del twice: -ENOENT");

	rc_is(eg_l3mdev_accept_enable(), 0, NULL, "l3mdev_accept sysctls");
	tap(cmd_has("cat /proc/sys/net/ipv4/tcp_l3mdev_accept", "1"), "tcp_l3mdev_accept=1");
	rc_is(eg_sysctl_set("net/ipv4/conf/eg-x7/disable_policy", "1"), 0, NULL,
	      "sysctl per device");
	rc_is(eg_sysctl_set("net/ipv4/no_such_knob", "1"), -ENOENT, NULL,
	      "sysctl unknown: -ENOENT");
	rc_is(eg_sysctl_set("net/../../etc/passwd", "x"), -EINVAL, NULL,
	      "sysctl key with ..: -EINVAL");

	rc_is(eg_link_del("eg-x7"), 0, eg_link_errmsg(), "xfrmi del");
	rc_is(eg_link_ifindex("eg-x7"), -ENODEV, NULL, "xfrmi gone: -ENODEV");
	rc_is(eg_link_del("eg-x7"), -ENODEV, NULL, "xfrmi del twice: -ENODEV");
	rc_is(eg_link_del("eg-v7"), 0, eg_link_errmsg(), "vrf del");

	rc_is(eg_site_link_add(9, 1009, probe, &idx), 0, eg_link_errmsg(), "site 9 links");
	tap(idx > 0 && idx == eg_link_ifindex("eg-x9"), "site 9 xfrmi ifindex %d", idx);
	tap(cmd_has("ip -d -o link show dev eg-x9", "master eg-v9"), "eg-x9 in eg-v9");
	rc_is(eg_site_link_add(9, 1009, probe, &idx), -EEXIST, NULL, "site 9 twice: -EEXIST");
	tap(eg_link_ifindex("eg-x9") > 0, "failed re-add left site 9 intact");
	rc_is(eg_site_link_del(9), 0, eg_link_errmsg(), "site 9 del");
	tap(eg_link_ifindex("eg-x9") == -ENODEV && eg_link_ifindex("eg-v9") == -ENODEV,
	    "site 9 links gone");
	rc_is(eg_site_link_del(9), 0, NULL, "site 9 del twice: 0");
}

static struct eg_xfrm_policy pol(uint8_t dir, uint32_t if_id, const char *local,
				 const char *peer)
{
	struct eg_xfrm_policy p = {
		.dir = dir,
		.reqid = if_id,
		.if_id = if_id,
		.priority = 1000,
	};
	uint32_t inner = ip4("10.1.0.0");

	if (dir == XFRM_POLICY_OUT) {
		p.sel_dst = inner;
		p.sel_dst_len = 24;
		p.tmpl_saddr = ip4(local);
		p.tmpl_daddr = ip4(peer);
	} else {
		p.sel_src = inner;
		p.sel_src_len = 24;
		p.tmpl_saddr = ip4(peer);
		p.tmpl_daddr = ip4(local);
	}
	return p;
}

static void count_is(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val,
		     unsigned int want_sa, unsigned int want_pol, const char *what)
{
	unsigned int ns = ~0u, np = ~0u;
	int err = eg_xfrm_count(x, by, val, &ns, &np);

	tap(!err && ns == want_sa && np == want_pol,
	    "%s: %u SAs, %u policies (want %u, %u; rc %d)", what, ns, np,
	    want_sa, want_pol, err);
}

static void test_policies(struct eg_xfrm *x)
{
	static const uint8_t dirs[] = { XFRM_POLICY_IN, XFRM_POLICY_FWD, XFRM_POLICY_OUT };
	struct eg_xfrm_policy p;
	size_t i;

	for (i = 0; i < 3; i++) {
		p = pol(dirs[i], 1, "192.0.2.1", "192.0.2.2");
		rc_is(eg_xfrm_policy_add(x, &p), 0, eg_xfrm_errmsg(x), "policy add site 1");
		/* the same selector for another site: distinct by if_id */
		p = pol(dirs[i], 2, "198.51.100.1", "198.51.100.2");
		rc_is(eg_xfrm_policy_add(x, &p), 0, eg_xfrm_errmsg(x),
		      "policy add site 2, same selector");
	}
	p = pol(XFRM_POLICY_OUT, 1, "192.0.2.1", "192.0.2.2");
	rc_is(eg_xfrm_policy_add(x, &p), -EEXIST, NULL, "policy add twice: -EEXIST");
	tap(cmd_has("ip xfrm policy list dir out", "if_id 0x1") &&
	    cmd_has("ip xfrm policy list dir out", "if_id 0x2"),
	    "ip xfrm policy: out policies with if_id 1 and 2");
	tap(cmd_has("ip xfrm policy list dir in", "tmpl src 192.0.2.2 dst 192.0.2.1"),
	    "ip xfrm policy: in template peer -> local");
	count_is(x, EG_XFRM_BY_IF_ID, 1, 0, 3, "count if_id 1");
	count_is(x, EG_XFRM_BY_REQID, 2, 0, 3, "count reqid 2");

	rc_is(eg_xfrm_policy_del(x, &p), 0, eg_xfrm_errmsg(x), "policy del");
	rc_is(eg_xfrm_policy_del(x, &p), -ENOENT, NULL, "policy del twice: -ENOENT");
	count_is(x, EG_XFRM_BY_IF_ID, 1, 0, 2, "count if_id 1 after del");

	/* an unmasked selector address is stored masked: add/del agree */
	p = pol(XFRM_POLICY_OUT, 1, "192.0.2.1", "192.0.2.2");
	p.sel_dst = ip4("10.1.0.77");
	rc_is(eg_xfrm_policy_add(x, &p), 0, eg_xfrm_errmsg(x), "policy add unmasked");
	p.sel_dst = ip4("10.1.0.0");
	rc_is(eg_xfrm_policy_del(x, &p), 0, eg_xfrm_errmsg(x), "policy del masked");

	rc_is(eg_xfrm_flush(x, EG_XFRM_BY_IF_ID, 1), 2, eg_xfrm_errmsg(x),
	      "flush if_id 1: 2 deleted");
	count_is(x, EG_XFRM_BY_IF_ID, 1, 0, 0, "count if_id 1 after flush");
	count_is(x, EG_XFRM_BY_IF_ID, 2, 0, 3, "site 2 untouched");
	rc_is(eg_xfrm_flush(x, EG_XFRM_BY_REQID, 2), 3, eg_xfrm_errmsg(x),
	      "flush reqid 2: 3 deleted");
	tap(cmd_empty("ip xfrm policy"), "ip xfrm policy: empty");

	p = pol(7, 1, "192.0.2.1", "192.0.2.2");
	rc_is(eg_xfrm_policy_add(x, &p), -EINVAL, NULL, "policy bad dir: -EINVAL");
	p = pol(XFRM_POLICY_IN, 1, "192.0.2.1", "192.0.2.2");
	p.sel_src_len = 33;
	rc_is(eg_xfrm_policy_add(x, &p), -EINVAL, NULL, "policy prefix 33: -EINVAL");
	rc_is(eg_xfrm_flush(x, EG_XFRM_BY_IF_ID, 0), -EINVAL, NULL, "flush value 0: -EINVAL");
}

static void test_sas(struct eg_xfrm *x)
{
	uint32_t local = ip4("192.0.2.1"), peer = ip4("192.0.2.2");
	struct eg_xfrm_sa_stats st;
	struct eg_xfrm_sa sa;
	uint32_t s1 = 0, s2 = 0, s3 = 0;
	time_t t0, t1;
	char cmd[128];
	int err;

	rc_is(eg_xfrm_spi_alloc(x, peer, local, 1, 1, &s1), 0, eg_xfrm_errmsg(x), "spi alloc");
	rc_is(eg_xfrm_spi_alloc(x, peer, local, 1, 1, &s2), 0, eg_xfrm_errmsg(x),
	      "spi alloc again");
	tap(s1 != s2 && ntohl(s1) >= EG_XFRM_SPI_MIN && ntohl(s1) <= EG_XFRM_SPI_MAX &&
	    ntohl(s2) >= EG_XFRM_SPI_MIN && ntohl(s2) <= EG_XFRM_SPI_MAX,
	    "spis 0x%08x 0x%08x distinct and in range", ntohl(s1), ntohl(s2));
	count_is(x, EG_XFRM_BY_IF_ID, 1, 2, 0, "larval SAs carry the if_id");
	rc_is(eg_xfrm_spi_alloc(x, peer, local, 1, 1, &s3), 0, eg_xfrm_errmsg(x), "spi alloc 3");
	rc_is(eg_xfrm_sa_del(x, s3, local), 0, eg_xfrm_errmsg(x), "release unused spi");

	/* inbound GCM over UDP with if_id, replacing the larval SA */
	memset(&sa, 0, sizeof(sa));
	sa.spi = s1;
	sa.saddr = peer;
	sa.daddr = local;
	sa.encap_sport = ENCAP_PORT;
	sa.encap_dport = ENCAP_PORT;
	sa.reqid = 1;
	sa.if_id = 1;
	sa.replay_window = 32;
	sa.update = true;
	sa.soft_time = 3000;
	sa.hard_time = 3600;
	sa.hard_bytes = 1ull << 40;
	sa_gcm(&sa);
	t0 = time(NULL);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add gcm inbound (UPDSA)");
	snprintf(cmd, sizeof(cmd), "ip xfrm state list spi 0x%08x", ntohl(s1));
	tap(cmd_has(cmd, "encap type espinudp sport 4500 dport 4500"),
	    "ip xfrm: encap espinudp 4500");
	tap(cmd_has(cmd, "if_id 0x1"), "ip xfrm: if_id 0x1");
	tap(cmd_has(cmd, "aead rfc4106(gcm(aes))") && cmd_has(cmd, " 128"),
	    "ip xfrm: aead rfc4106(gcm(aes)) icv 128");
	tap(cmd_has(cmd, "mode tunnel") && cmd_has(cmd, "replay-window 32"),
	    "ip xfrm: tunnel mode, replay-window 32");
	snprintf(cmd, sizeof(cmd), "ip -s xfrm state list spi 0x%08x", ntohl(s1));
	tap(cmd_has(cmd, "expire add: soft 3000(sec), hard 3600(sec)") &&
	    cmd_has(cmd, "limit: soft (INF)(bytes), hard 1099511627776(bytes)"),
	    "ip xfrm: add lifetimes 3000/3600 s, hard 2^40 bytes");

	memset(&st, 0, sizeof(st));
	rc_is(eg_xfrm_sa_stats(x, s1, local, &st), 0, eg_xfrm_errmsg(x), "sa stats");
	t1 = time(NULL);
	tap(st.packets == 0 && st.bytes == 0 && st.if_id == 1 && st.reqid == 1 &&
	    st.add_time >= (uint64_t)t0 && st.add_time <= (uint64_t)t1,
	    "stats: %llu packets, %llu bytes, if_id %u, reqid %u, add_time %llu in [%lld, %lld]",
	    (unsigned long long)st.packets, (unsigned long long)st.bytes, st.if_id,
	    st.reqid, (unsigned long long)st.add_time, (long long)t0, (long long)t1);

	/* outbound CBC + HMAC-SHA-256, peer-chosen SPI */
	memset(&sa, 0, sizeof(sa));
	sa.spi = htonl(0x1000);
	sa.saddr = local;
	sa.daddr = peer;
	sa.encap_sport = ENCAP_PORT;
	sa.encap_dport = ENCAP_PORT;
	sa.reqid = 1;
	sa.if_id = 1;
	sa_cbc(&sa, "sha256", 32, 128);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add cbc/sha256 outbound");
	rc_is(eg_xfrm_sa_add(x, &sa), -EEXIST, NULL, "sa add twice: -EEXIST");
	tap(cmd_has("ip xfrm state list spi 0x00001000", "auth-trunc hmac(sha256)"),
	    "ip xfrm: auth-trunc hmac(sha256)");

	/* ESN with a 128-packet window on the second allocated SPI */
	memset(&sa, 0, sizeof(sa));
	sa.spi = s2;
	sa.saddr = peer;
	sa.daddr = local;
	sa.reqid = 1;
	sa.if_id = 1;
	sa.replay_window = 128;
	sa.esn = true;
	sa.update = true;
	sa_cbc(&sa, "sha1", 20, 96);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add cbc/sha1 esn window 128");
	snprintf(cmd, sizeof(cmd), "ip xfrm state list spi 0x%08x", ntohl(s2));
	tap(cmd_has(cmd, "esn") && cmd_has(cmd, "replay_window 128"),
	    "ip xfrm: esn, replay_window 128");

	/* large window without ESN, SHA-384 and SHA-512, no if_id */
	memset(&sa, 0, sizeof(sa));
	sa.spi = htonl(0x2000);
	sa.saddr = peer;
	sa.daddr = local;
	sa.reqid = 2;
	sa.replay_window = EG_XFRM_REPLAY_MAX;
	sa_cbc(&sa, "sha512", 64, 256);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add sha512 window 4096");
	sa.spi = htonl(0x2001);
	sa.replay_window = 64;
	sa_cbc(&sa, "sha384", 48, 192);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add sha384 window 64");
	sa.replay_window = EG_XFRM_REPLAY_MAX + 1;
	rc_is(eg_xfrm_sa_add(x, &sa), -EINVAL, NULL, "window 4097: -EINVAL");

	/* null cipher */
	memset(&sa, 0, sizeof(sa));
	sa.spi = htonl(0x2002);
	sa.saddr = peer;
	sa.daddr = local;
	sa.reqid = 2;
	sa_cbc(&sa, "sha256", 32, 128);
	strcpy(sa.enc_name, "ecb(cipher_null)");
	sa.enc_key_len = 0;
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add ecb(cipher_null)");

	/* unknown algorithm: kernel refuses */
	sa.spi = htonl(0x2003);
	strcpy(sa.enc_name, "nosuch(alg)");
	err = eg_xfrm_sa_add(x, &sa);
	tap(err < 0, "unknown cipher refused: %d (%s) '%s'", err, strerror(-err),
	    eg_xfrm_errmsg(x));

	/* update without a larval SA falls back to a plain add */
	memset(&sa, 0, sizeof(sa));
	sa.spi = htonl(0x3000);
	sa.saddr = peer;
	sa.daddr = local;
	sa.reqid = 2;
	sa.update = true;
	sa_gcm(&sa);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "update w/o larval SA: added");
	eg_xfrm_sa_wipe(&sa);

	rc_is(eg_xfrm_sa_del(x, s2, local), 0, eg_xfrm_errmsg(x), "sa del");
	rc_is(eg_xfrm_sa_del(x, s2, local), -ESRCH, NULL, "sa del twice: -ESRCH");
	rc_is(eg_xfrm_sa_stats(x, s2, local, &st), -ESRCH, NULL, "stats of deleted: -ESRCH");

	count_is(x, EG_XFRM_BY_IF_ID, 1, 2, 0, "count if_id 1");
	count_is(x, EG_XFRM_BY_REQID, 2, 4, 0, "count reqid 2");
	rc_is(eg_xfrm_flush(x, EG_XFRM_BY_IF_ID, 1), 2, eg_xfrm_errmsg(x), "flush if_id 1");
	rc_is(eg_xfrm_flush(x, EG_XFRM_BY_REQID, 2), 4, eg_xfrm_errmsg(x), "flush reqid 2");
	tap(cmd_empty("ip xfrm state"), "ip xfrm state: empty");
}

struct expire_seen {
	uint32_t spi;
	bool soft, hard;
	uint32_t if_id;
};

static void on_expire(const struct eg_xfrm_expire *ev, void *arg)
{
	struct expire_seen *s = arg;

	printf("# expire spi 0x%08x if_id %u reqid %u %s\n", ntohl(ev->spi),
	       ev->if_id, ev->reqid, ev->hard ? "hard" : "soft");
	if (ev->spi != s->spi)
		return;
	s->if_id = ev->if_id;
	if (ev->hard)
		s->hard = true;
	else
		s->soft = true;
}

static void test_expire(struct eg_xfrm *x)
{
	struct expire_seen seen = { .spi = htonl(0x4000) };
	struct eg_xfrm_sa_stats st;
	struct eg_xfrm *mon = NULL;
	struct eg_xfrm_sa sa;
	struct pollfd pfd;
	time_t end;
	int err;

	rc_is(eg_xfrm_monitor_open(&mon), 0, NULL, "expire monitor open");
	if (!mon)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.spi = seen.spi;
	sa.saddr = ip4("192.0.2.1");
	sa.daddr = ip4("192.0.2.2");
	sa.reqid = 5;
	sa.if_id = 5;
	sa.soft_time = 1;
	sa.hard_time = 2;
	sa_gcm(&sa);
	rc_is(eg_xfrm_sa_add(x, &sa), 0, eg_xfrm_errmsg(x), "sa add soft 1 s, hard 2 s");
	eg_xfrm_sa_wipe(&sa);

	pfd.fd = eg_xfrm_monitor_fd(mon);
	pfd.events = POLLIN;
	end = time(NULL) + 10;
	while (!seen.hard && time(NULL) < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		err = eg_xfrm_monitor_read(mon, on_expire, &seen);
		if (err < 0) {
			tap(false, "monitor read: %s", strerror(-err));
			break;
		}
	}
	tap(seen.soft && seen.hard && seen.if_id == 5,
	    "soft and hard expire seen with if_id 5");
	rc_is(eg_xfrm_sa_stats(x, seen.spi, ip4("192.0.2.2"), &st), -ESRCH, NULL,
	      "hard-expired SA is gone");
	eg_xfrm_close(mon);
}

static int run_unit(bool esp)
{
	struct eg_xfrm *x = NULL;

	if (unshare(CLONE_NEWNET) < 0) {
		tap(false, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return summary();
	}
	tap(true, "private network namespace");
	eg_link_set_up("lo");
	test_links(!esp);
	if (!rc_is(eg_xfrm_open(&x), 0, NULL, "xfrm open"))
		return summary();
	test_policies(x);
	if (esp) {
		test_sas(x);
		test_expire(x);
	} else {
		printf("# --no-esp: SA checks skipped\n");
	}
	eg_xfrm_close(x);
	return summary();
}

/* ---- POP side of t_30_xfrm.sh ---------------------------------------------- */

#define MAX_SITES 4

struct site {
	uint32_t id, local, peer;
	bool gcm;
	int xfrmi_idx;
	uint32_t spi_in, spi_out;	/* network order */
	struct eg_xfrm_policy pol[3];
	bool up;			/* links made */
	int n_pol;
	bool sa_in, sa_out, route;
};

struct hold {
	struct site sites[MAX_SITES];
	int n;
	uint32_t probe, inner;
	unsigned int inner_len;
	const char *dir;
	uint16_t tcp_port;
};

static void hex(FILE *f, const uint8_t *p, unsigned int n)
{
	unsigned int i;

	fputs("0x", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void algs(FILE *f, const struct eg_xfrm_sa *sa)
{
	if (sa->kind == EG_XFRM_AEAD) {
		fprintf(f, "aead %s ", sa->enc_name);
		hex(f, sa->enc_key, sa->enc_key_len);
		fprintf(f, " %u", sa->icv_bits);
		return;
	}
	fprintf(f, "enc %s ", sa->enc_name);
	hex(f, sa->enc_key, sa->enc_key_len);
	fprintf(f, " auth-trunc %s ", sa->auth_name);
	hex(f, sa->auth_key, sa->auth_key_len);
	fprintf(f, " %u", sa->auth_trunc_bits);
}

static void sa_template(struct eg_xfrm_sa *sa, const struct site *s, bool in)
{
	memset(sa, 0, sizeof(*sa));
	sa->saddr = in ? s->peer : s->local;
	sa->daddr = in ? s->local : s->peer;
	sa->encap_sport = ENCAP_PORT;
	sa->encap_dport = ENCAP_PORT;
	sa->reqid = s->id;
	sa->if_id = s->id;
	sa->replay_window = in ? 64 : 0;
	if (s->gcm)
		sa_gcm(sa);
	else
		sa_cbc(sa, "sha256", 32, 128);
}

/* Everything for one site; the branch's half goes to DIR/site<ID>.env. */
static int site_up(struct eg_xfrm *x, struct hold *h, struct site *s)
{
	uint32_t table = EG_VRF_TABLE_BASE + s->id;
	struct eg_xfrm_sa in, out;
	char path[512];
	FILE *f = NULL;
	int err, i;

	err = eg_site_link_add(s->id, table, h->probe, &s->xfrmi_idx);
	if (!rc_is(err, 0, eg_link_errmsg(), "site links (vrf, xfrmi, probe)"))
		return err;
	s->up = true;

	err = eg_xfrm_spi_alloc(x, s->peer, s->local, s->id, s->id, &s->spi_in);
	if (!rc_is(err, 0, eg_xfrm_errmsg(x), "inbound spi alloc"))
		return err;
	sa_template(&in, s, true);
	in.spi = s->spi_in;
	in.update = true;
	err = eg_xfrm_sa_add(x, &in);
	if (!rc_is(err, 0, eg_xfrm_errmsg(x), "inbound SA"))
		goto out;
	s->sa_in = true;

	/* the branch's choice of SPI */
	do {
		random_bytes(&s->spi_out, sizeof(s->spi_out));
		s->spi_out = htonl(0x1000 + ntohl(s->spi_out) % 0x10000000);
	} while (s->spi_out == s->spi_in);
	sa_template(&out, s, false);
	out.spi = s->spi_out;
	err = eg_xfrm_sa_add(x, &out);
	if (!rc_is(err, 0, eg_xfrm_errmsg(x), "outbound SA"))
		goto out;
	s->sa_out = true;

	/* policies: site LAN <-> anything behind the POP (probe included) */
	for (i = 0; i < 3; i++) {
		struct eg_xfrm_policy *p = &s->pol[i];

		memset(p, 0, sizeof(*p));
		p->dir = i == 0 ? XFRM_POLICY_IN : i == 1 ? XFRM_POLICY_FWD : XFRM_POLICY_OUT;
		p->reqid = s->id;
		p->if_id = s->id;
		p->priority = 1000;
		if (p->dir == XFRM_POLICY_OUT) {
			p->sel_dst = h->inner;
			p->sel_dst_len = h->inner_len;
			p->tmpl_saddr = s->local;
			p->tmpl_daddr = s->peer;
		} else {
			p->sel_src = h->inner;
			p->sel_src_len = h->inner_len;
			p->tmpl_saddr = s->peer;
			p->tmpl_daddr = s->local;
		}
		err = eg_xfrm_policy_add(x, p);
		if (!rc_is(err, 0, eg_xfrm_errmsg(x), "policy"))
			goto out;
		s->n_pol++;
	}

	err = eg_route_add(table, h->inner, h->inner_len, s->xfrmi_idx, 0);
	if (!rc_is(err, 0, eg_link_errmsg(), "route inner net via xfrmi"))
		goto out;
	s->route = true;

	snprintf(path, sizeof(path), "%s/site%u.env", h->dir, s->id);
	f = fopen(path, "w");
	if (!f) {
		err = -errno;
		tap(false, "write %s: %s", path, strerror(errno));
		goto out;
	}
	/* branch -> POP is our inbound SA, POP -> branch our outbound */
	fprintf(f, "B2P_SPI=0x%08x\nP2B_SPI=0x%08x\nB2P_ALGS='", ntohl(s->spi_in),
		ntohl(s->spi_out));
	algs(f, &in);
	fprintf(f, "'\nP2B_ALGS='");
	algs(f, &out);
	fprintf(f, "'\n");
	if (fclose(f) != 0)
		err = -EIO;
	tap(!err, "site %u: wrote %s", s->id, path);
out:
	eg_xfrm_sa_wipe(&in);
	eg_xfrm_sa_wipe(&out);
	return err;
}

static void print_stats(struct eg_xfrm *x, struct hold *h)
{
	struct eg_xfrm_sa_stats st;
	int i, err;

	for (i = 0; i < h->n; i++) {
		struct site *s = &h->sites[i];

		err = eg_xfrm_sa_stats(x, s->spi_in, s->local, &st);
		printf("stats site=%u dir=in spi=0x%08x rc=%d packets=%llu bytes=%llu if_id=%u\n",
		       s->id, ntohl(s->spi_in), err, (unsigned long long)st.packets,
		       (unsigned long long)st.bytes, st.if_id);
		err = eg_xfrm_sa_stats(x, s->spi_out, s->peer, &st);
		printf("stats site=%u dir=out spi=0x%08x rc=%d packets=%llu bytes=%llu oseq=%llu\n",
		       s->id, ntohl(s->spi_out), err, (unsigned long long)st.packets,
		       (unsigned long long)st.bytes, (unsigned long long)st.oseq);
	}
	fflush(stdout);
}

/* Undo in reverse order, each step with the API's own delete. */
static void site_down(struct eg_xfrm *x, struct hold *h, struct site *s)
{
	uint32_t table = EG_VRF_TABLE_BASE + s->id;
	unsigned int ns = 0, np = 0;
	char name[IFNAMSIZ];

	if (s->route)
		rc_is(eg_route_del(table, h->inner, h->inner_len, s->xfrmi_idx, 0), 0,
		      eg_link_errmsg(), "teardown: route");
	while (s->n_pol > 0) {
		s->n_pol--;
		rc_is(eg_xfrm_policy_del(x, &s->pol[s->n_pol]), 0, eg_xfrm_errmsg(x),
		      "teardown: policy");
	}
	if (s->sa_out)
		rc_is(eg_xfrm_sa_del(x, s->spi_out, s->peer), 0, eg_xfrm_errmsg(x),
		      "teardown: outbound SA");
	if (s->sa_in)
		rc_is(eg_xfrm_sa_del(x, s->spi_in, s->local), 0, eg_xfrm_errmsg(x),
		      "teardown: inbound SA");
	if (s->up)
		rc_is(eg_site_link_del(s->id), 0, eg_link_errmsg(), "teardown: links");

	/* belt and braces: nothing with this if_id may remain */
	eg_xfrm_count(x, EG_XFRM_BY_IF_ID, s->id, &ns, &np);
	tap(ns == 0 && np == 0, "site %u: no SA/policy left (%u, %u)", s->id, ns, np);
	if (ns || np)
		eg_xfrm_flush(x, EG_XFRM_BY_IF_ID, s->id);
	snprintf(name, sizeof(name), EG_XFRMI_FMT, s->id);
	tap(eg_link_ifindex(name) == -ENODEV, "site %u: %s gone", s->id, name);
	snprintf(name, sizeof(name), EG_VRF_FMT, s->id);
	tap(eg_link_ifindex(name) == -ENODEV, "site %u: %s gone", s->id, name);
}

static int encap_socket(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int type = UDP_ENCAP_ESPINUDP;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int tcp_listener(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 8) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Answer "vrf=<device the accepted socket is bound to>". */
static void tcp_answer(int lfd)
{
	char dev[IFNAMSIZ + 1] = "", line[64];
	socklen_t len = sizeof(dev) - 1;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) < 0)
		snprintf(dev, sizeof(dev), "?");
	snprintf(line, sizeof(line), "vrf=%s\n", dev[0] ? dev : "none");
	if (write(fd, line, strlen(line)) < 0)
		perror("write");
	printf("tcp: answered %s", line);
	fflush(stdout);
	close(fd);
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int parse_site(const char *arg, struct site *s)
{
	char buf[128], *id, *local, *peer, *alg, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	id = strtok_r(buf, ",", &save);
	local = strtok_r(NULL, ",", &save);
	peer = strtok_r(NULL, ",", &save);
	alg = strtok_r(NULL, ",", &save);
	if (!id || !local || !peer || !alg)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->id = strtoul(id, NULL, 0);
	s->local = ip4(local);
	s->peer = ip4(peer);
	if (!strcmp(alg, "gcm"))
		s->gcm = true;
	else if (strcmp(alg, "cbc"))
		return -EINVAL;
	return s->id ? 0 : -EINVAL;
}

static int run_hold(struct hold *h)
{
	struct eg_xfrm *x = NULL;
	struct pollfd pfd[3];
	int sfd, ufd, tfd, i;
	bool stop = false;

	sfd = block_signals();
	if (sfd < 0) {
		tap(false, "signalfd: %s", strerror(-sfd));
		return summary();
	}
	rc_is(eg_l3mdev_accept_enable(), 0, NULL, "l3mdev_accept sysctls");
	ufd = encap_socket(ENCAP_PORT);
	tap(ufd >= 0, "ESP-in-UDP socket on %d", ENCAP_PORT);
	tfd = tcp_listener(h->tcp_port);
	tap(tfd >= 0, "unbound TCP listener on %u", h->tcp_port);
	if (!rc_is(eg_xfrm_open(&x), 0, NULL, "xfrm open"))
		return summary();

	for (i = 0; i < h->n && !n_fail; i++)
		site_up(x, h, &h->sites[i]);
	if (!n_fail) {
		printf("READY\n");
		fflush(stdout);
	}

	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = tfd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = ufd, .events = POLLIN };
	while (!stop && !n_fail) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGUSR1)
				print_stats(x, h);
			else
				stop = true;
		}
		if (pfd[1].revents & POLLIN)
			tcp_answer(tfd);
		if (pfd[2].revents & POLLIN) {
			char junk[2048];

			/* non-ESP (IKE) datagrams land here: none expected */
			if (recv(ufd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
				printf("# unexpected UDP 4500 datagram\n");
		}
	}
	printf("# tearing down\n");
	for (i = h->n - 1; i >= 0; i--)
		site_down(x, h, &h->sites[i]);
	tap(cmd_empty("ip xfrm state") && cmd_empty("ip xfrm policy"),
	    "ip xfrm state/policy: empty");
	eg_xfrm_close(x);
	if (ufd >= 0)
		close(ufd);
	if (tfd >= 0)
		close(tfd);
	return summary();
}

static int run_udp_encap(uint16_t port)
{
	struct signalfd_siginfo si;
	int sfd, fd;

	sfd = block_signals();
	fd = encap_socket(port);
	if (sfd < 0 || fd < 0) {
		fprintf(stderr, "udp-encap: %s\n", strerror(fd < 0 ? -fd : -sfd));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	while (read(sfd, &si, sizeof(si)) != sizeof(si))
		;
	close(fd);
	return 0;
}

static int run_tcp_client(const char *dst, const char *port, const char *src)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	char line[128];
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	sa.sin_addr.s_addr = ip4(src);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bind");
		return 1;
	}
	sa.sin_addr.s_addr = ip4(dst);
	sa.sin_port = htons(atoi(port));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 1;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "tcp-client: no answer\n");
		return 1;
	}
	line[n] = '\0';
	fputs(line, stdout);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: xfrm_smoke [--no-esp]\n"
		"       xfrm_smoke --hold DIR --site ID,LOCAL,PEER,gcm|cbc ... "
		"[--probe IP] [--inner NET/LEN] [--tcp-port N]\n"
		"       xfrm_smoke --udp-encap PORT\n"
		"       xfrm_smoke --tcp-client DST PORT SRC\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-esp", no_argument, NULL, 'n' },
		{ "hold", required_argument, NULL, 'H' },
		{ "site", required_argument, NULL, 's' },
		{ "probe", required_argument, NULL, 'p' },
		{ "inner", required_argument, NULL, 'i' },
		{ "tcp-port", required_argument, NULL, 't' },
		{ "udp-encap", required_argument, NULL, 'u' },
		{ "tcp-client", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct hold h = { .tcp_port = 7 };
	bool esp = true, client = false;
	char *slash;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	h.probe = ip4("100.64.0.1");
	h.inner = ip4("10.1.0.0");
	h.inner_len = 24;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			esp = false;
			break;
		case 'H':
			h.dir = optarg;
			break;
		case 's':
			if (h.n == MAX_SITES || parse_site(optarg, &h.sites[h.n]))
				usage();
			h.n++;
			break;
		case 'p':
			h.probe = ip4(optarg);
			break;
		case 'i':
			slash = strchr(optarg, '/');
			if (!slash)
				usage();
			*slash = '\0';
			h.inner = ip4(optarg);
			h.inner_len = atoi(slash + 1);
			break;
		case 't':
			h.tcp_port = atoi(optarg);
			break;
		case 'u':
			return run_udp_encap(atoi(optarg));
		case 'c':
			client = true;
			break;
		default:
			usage();
		}
	}
	if (client) {
		if (argc - optind != 3)
			usage();
		return run_tcp_client(argv[optind], argv[optind + 1], argv[optind + 2]);
	}
	if (h.dir) {
		if (!h.n)
			usage();
		return run_hold(&h);
	}
	return run_unit(esp);
}
