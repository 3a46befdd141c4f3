// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecd - espgate's daemon: owns the site store and the BPF maps, attaches
 * the XDP classifier to the POP NIC and serves the control socket, all from
 * one epoll loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "ctl.h"
#include "datapath.h"
#include "evloop.h"
#include "ipsecd.h"
#include "log.h"
#include "status.h"
#include "tunnel.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: ipsecd [OPTIONS]\n"
"\n"
"  -i, --iface IFACE     attach the XDP classifier to IFACE (the POP NIC)\n"
"  -d, --db PATH         site database (default " EG_DB_PATH ")\n"
"  -s, --socket PATH     control socket (default " EG_CTL_SOCK ")\n"
"  -P, --pin-root DIR    where the maps are pinned (default " EG_PIN_ROOT ")\n"
"  -a, --local-addr IP   our IKE address; XDP classifies only UDP to it\n"
"  -n, --pop NAME        which POP this gateway is\n"
"  -g, --generic         attach in generic (skb) mode, skip native\n"
"  -F, --flow-cap N      concurrent inner flows per site (default 10000)\n"
"  -D, --device-cap N    inner source addresses per site (default 10000)\n"
"      --ike-lifetime S  IKE SA lifetime, s (default 86400; sites may set theirs)\n"
"      --child-lifetime S  Child SA lifetime, s (default 7200)\n"
"      --dpd-delay S     liveness check after S s without inbound IKE/ESP (30)\n"
"      --dpd-timeout S   no answer for S s: the peer is dead (150)\n"
"      --half-open S     IKE_SA_INIT to IKE_AUTH at most S s (30)\n"
"      --max-half-open N half-open IKE SAs at most (10000)\n"
"      --auth-lifetime S send AUTH_LIFETIME S in IKE_AUTH (RFC 4478; off)\n"
"      --shutdown MODE   what SIGTERM does: keep (default: tunnels stay in the\n"
"                        kernel, a restart resumes them) or teardown (DELETE\n"
"                        to every peer, all removed); SIGINT always tears down\n"
"  -v, --verbose         debug logging (twice: libbpf too)\n"
"  -h, --help            this text\n");
}

static int libbpf_verbose;

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl != LIBBPF_WARN && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void signal_cb(struct eg_ev *ev, uint32_t events)
{
	struct ipsecd *d = ev->arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(ev->fd, &si, sizeof(si)) == sizeof(si)) {
		/* SIGTERM is a restart unless told otherwise; SIGINT, a stop */
		d->teardown = si.ssi_signo == SIGINT || !d->keep_default;
		pr_info("signal %u, shutting down (%s)", si.ssi_signo,
			d->teardown ? "teardown: DELETE to every peer" :
				      "tunnels kept in the kernel");
		d->stop = true;
	}
}

/* A number of seconds (or a count) for an option, min..max. */
static int opt_u32(const char *name, const char *arg, long min, long max,
		   uint32_t *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || end == arg || v < min || v > max) {
		fprintf(stderr, "ipsecd: --%s takes %ld-%ld, not '%s'\n", name, min,
			max, arg);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

static int parse_args(struct ipsecd *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "local-addr", required_argument, NULL, 'a' },
		{ "pop", required_argument, NULL, 'n' },
		{ "generic", no_argument, NULL, 'g' },
		{ "flow-cap", required_argument, NULL, 'F' },
		{ "device-cap", required_argument, NULL, 'D' },
		{ "ike-lifetime", required_argument, NULL, 1 },
		{ "child-lifetime", required_argument, NULL, 2 },
		{ "dpd-delay", required_argument, NULL, 3 },
		{ "dpd-timeout", required_argument, NULL, 4 },
		{ "half-open", required_argument, NULL, 5 },
		{ "max-half-open", required_argument, NULL, 6 },
		{ "auth-lifetime", required_argument, NULL, 7 },
		{ "shutdown", required_argument, NULL, 8 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:d:s:P:a:n:gF:D:vh", opts, NULL)) != -1) {
		char *end;
		long v;

		switch (c) {
		case 'F':
		case 'D':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > EG_CAP_MAX) {
				fprintf(stderr, "ipsecd: --%s takes 1-%d, not '%s'\n",
					c == 'F' ? "flow-cap" : "device-cap", EG_CAP_MAX, optarg);
				return -EINVAL;
			}
			if (c == 'F')
				d->flow_cap = v;
			else
				d->device_cap = v;
			break;
		case 1:
			if (opt_u32("ike-lifetime", optarg, EG_LIFETIME_MIN,
				    EG_LIFETIME_MAX, &d->ike_cfg.ike_lifetime))
				return -EINVAL;
			break;
		case 2:
			if (opt_u32("child-lifetime", optarg, EG_LIFETIME_MIN,
				    EG_LIFETIME_MAX, &d->ike_cfg.child_lifetime))
				return -EINVAL;
			break;
		case 3:
			if (opt_u32("dpd-delay", optarg, 1, EG_DPD_MAX,
				    &d->ike_cfg.dpd_delay))
				return -EINVAL;
			break;
		case 4:
			if (opt_u32("dpd-timeout", optarg, 1, EG_DPD_MAX,
				    &d->ike_cfg.dpd_timeout))
				return -EINVAL;
			break;
		case 5:
			if (opt_u32("half-open", optarg, 1, 3600, &d->ike_cfg.half_open))
				return -EINVAL;
			break;
		case 6:
			if (opt_u32("max-half-open", optarg, 1, IKE_MAX_SAS,
				    &d->ike_cfg.max_half_open))
				return -EINVAL;
			break;
		case 7:
			if (opt_u32("auth-lifetime", optarg, 0, EG_LIFETIME_MAX,
				    &d->ike_cfg.auth_lifetime))
				return -EINVAL;
			break;
		case 8:
			if (!strcmp(optarg, "keep")) {
				d->keep_default = true;
			} else if (!strcmp(optarg, "teardown")) {
				d->keep_default = false;
			} else {
				fprintf(stderr, "ipsecd: --shutdown is keep or teardown, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'i': d->ifname = optarg; break;
		case 'd': d->db_path = optarg; break;
		case 's': d->sock_path = optarg; break;
		case 'P': d->pin_root = optarg; break;
		case 'n': d->pop_name = optarg; break;
		case 'g': d->force_generic = true; break;
		case 'a':
			if (eg_ipv4_parse(optarg, &d->local_addr)) {
				fprintf(stderr, "ipsecd: --local-addr '%s' is not an IPv4 address\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			if (eg_log_level == EG_LOG_DEBUG)
				libbpf_verbose = 1;
			eg_log_level = EG_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ipsecd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p for the database's folder. */
static void make_parent(const char *path)
{
	char buf[4096], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(buf, 0700);
		*p = '/';
	}
}

int main(int argc, char **argv)
{
	struct ipsecd d = { .db_path = EG_DB_PATH, .sock_path = EG_CTL_SOCK,
			    .pin_root = EG_PIN_ROOT, .epfd = -1,
			    .ike_cfg = IKE_CFG_DEFAULT, .keep_default = true };
	struct eg_ev sig_ev = { .fd = -1 };
	struct eg_dp_opts dpo;
	struct eg_err err;
	sigset_t mask;
	time_t last_tick = 0, last_scan = 0;
	int rc = EXIT_FAILURE;

	if (parse_args(&d, argc, argv))
		return EXIT_FAILURE;
	libbpf_set_print(libbpf_print);

	make_parent(d.db_path);
	if (eg_store_open(&d.st, d.db_path, &err)) {
		pr_err("database %s: %s", d.db_path, err.msg);
		return EXIT_FAILURE;
	}
	pr_info("database %s, schema version %d, %lld sites", d.db_path,
		eg_store_schema_version(d.st), (long long)eg_site_count(d.st));

	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0)
		goto out;

	/* Signals arrive as events in the loop, never asynchronously. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig_ev.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sig_ev.cb = signal_cb;
	sig_ev.arg = &d;
	if (sig_ev.fd < 0 || eg_ev_add(d.epfd, &sig_ev, EPOLLIN))
		goto out;

	memset(&dpo, 0, sizeof(dpo));
	dpo.ifname = d.ifname;
	dpo.pin_root = d.pin_root;
	dpo.local_addr = d.local_addr;
	dpo.force_generic = d.force_generic;
	{
		struct eg_in_cfg def = EG_IN_CFG_DEFAULT;

		dpo.inner = def;
		if (d.flow_cap)
			dpo.inner.flow_cap = d.flow_cap;
		if (d.device_cap)
			dpo.inner.dev_cap = d.device_cap;
	}
	if (eg_dp_open(&d.dp, &dpo) || eg_status_open(&d.status))
		goto out;
	pr_debug("data path open");
	if (eg_sync_all_sites(&d))
		goto out;
	pr_info("%lld sites loaded into the data path", (long long)eg_site_count(d.st));

	if (d.local_addr) {
		if (eg_tunnels_open(&d.tun, &d))
			goto out;
	} else {
		pr_warn("no --local-addr: the IKEv2 responder is off, XDP only");
	}

	if (eg_ctl_open(&d.ctl, d.epfd, d.sock_path, eg_cmd_dispatch, &d)) {
		pr_err("cannot open control socket %s", d.sock_path);
		goto out;
	}
	pr_info("ready: control socket %s", d.sock_path);

	while (!d.stop) {
		struct epoll_event evs[32];
		time_t now = time(NULL);
		int i, n;

		if (now != last_tick) {
			if (d.tun)
				eg_tunnels_tick(d.tun);
			eg_dp_sweep(d.dp);
			if (now - last_scan >= EG_SCAN_SECS) {
				eg_status_scan(d.status, &d);
				last_scan = now;
			}
			last_tick = now;
		}
		n = epoll_wait(d.epfd, evs, 32, 1000);
		if (n < 0 && errno != EINTR) {
			pr_err("epoll_wait: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct eg_ev *ev = evs[i].data.ptr;

			ev->cb(ev, evs[i].events);
		}
	}
	rc = EXIT_SUCCESS;
out:
	eg_ctl_close(d.ctl);
	eg_tunnels_close(d.tun, d.teardown || rc != EXIT_SUCCESS);
	eg_dp_close(d.dp);
	eg_status_close(d.status);
	if (sig_ev.fd >= 0)
		close(sig_ev.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	eg_store_close(d.st);
	pr_info("stopped");
	return rc;
}
