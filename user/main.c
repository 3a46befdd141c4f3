// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecd - espgate's daemon: owns the site store and the BPF maps, attaches
 * the XDP classifier to the POP NIC and serves the control socket, all from
 * one epoll loop.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
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
#include <systemd/sd-daemon.h>

#include "ctl.h"
#include "datapath.h"
#include "evloop.h"
#include "health.h"
#include "http.h"
#include "ipsecd.h"
#include "log.h"
#include "metrics.h"
#include "rest.h"
#include "sockets.h"
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
"      --ike-rate N      IKE packets a site may send per second (per CPU),\n"
"                        dropped by XDP beyond (10; 0: no limit)\n"
"      --ike-burst N     ... and in a burst over that rate (20)\n"
"      --ike-lifetime S  IKE SA lifetime, s (default 86400; sites may set theirs)\n"
"      --child-lifetime S  Child SA lifetime, s (default 7200)\n"
"      --dpd-delay S     liveness check after S s without inbound IKE/ESP (30)\n"
"      --dpd-timeout S   no answer for S s: the peer is dead (150)\n"
"      --half-open S     IKE_SA_INIT to IKE_AUTH at most S s (30)\n"
"      --max-half-open N half-open IKE SAs at most (10000)\n"
"      --cookie-threshold N  from N half-open IKE SAs, IKE_SA_INIT must\n"
"                        return a cookie first (RFC 7296 2.6; 1000; 0: always)\n"
"      --max-half-open-src N  half-open IKE SAs of one source address, N\n"
"                        without a cookie and N more with one (20)\n"
"      --ike-frag-size N IKE fragmentation (RFC 7383) when the peer offers it,\n"
"                        fragments of N-byte IP packets (1280; 0: not offered)\n"
"      --workers N       threads for IKE_SA_INIT's DH and keys (one per CPU;\n"
"                        0: on the event loop)\n"
"      --dh-reuse S      our IKE_SA_INIT DH key pair serves S s (30; RFC 7296\n"
"                        2.12); --no-dh-reuse: a new one per handshake\n"
"      --auth-lifetime S send AUTH_LIFETIME S in IKE_AUTH (RFC 4478; off)\n"
"      --shutdown MODE   what SIGTERM does: keep (default: no DELETE, the\n"
"                        kernel's SAs, policies, links and XDP stay and\n"
"                        carry traffic; the IKE SAs saved in the database\n"
"                        are resumed by the next start) or teardown (DELETE\n"
"                        to every peer, all removed); SIGINT always tears down\n"
"      --api-token-file F  serve the REST API, the IPSec page and /metrics,\n"
"                        for \"Authorization: Bearer\" the token in F (mode 0600)\n"
"      --http-listen A:P where (default " EG_HTTP_DEFAULT_LISTEN "); plain HTTP only\n"
"                        on loopback unless --http-cert and --http-key (PEM)\n"
"      --http-cert F, --http-key F  TLS for the listener\n"
"      --web-root DIR    the page's files (default " EG_WEB_ROOT ")\n"
"      --metrics-sites N per-site series in /metrics for N sites at most (1000)\n"
"  -v, --verbose         debug logging (twice: libbpf too)\n"
"  -h, --help            this text\n"
"\n"
"UDP 500 and 4500 may come from systemd (ipsecd.socket, sd_listen_fds(3)):\n"
"then NAT-T ESP keeps flowing while ipsecd restarts.\n");
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

/* The settings that are one number each: --NAME N into struct ipsecd (the
 * engine's ike_cfg, the classifier's IKE limit), all uint32_t. */
static const struct {
	const char *name;
	long min, max;
	size_t off;
} cfg_opts[] = {
#define CFG(name, min, max, field) { name, min, max, offsetof(struct ipsecd, field) }
	CFG("ike-lifetime", EG_LIFETIME_MIN, EG_LIFETIME_MAX, ike_cfg.ike_lifetime),
	CFG("child-lifetime", EG_LIFETIME_MIN, EG_LIFETIME_MAX, ike_cfg.child_lifetime),
	CFG("dpd-delay", 1, EG_DPD_MAX, ike_cfg.dpd_delay),
	CFG("dpd-timeout", 1, EG_DPD_MAX, ike_cfg.dpd_timeout),
	CFG("half-open", 1, 3600, ike_cfg.half_open),
	CFG("max-half-open", 1, IKE_MAX_SAS, ike_cfg.max_half_open),
	CFG("auth-lifetime", 0, EG_LIFETIME_MAX, ike_cfg.auth_lifetime),
	CFG("cookie-threshold", 0, IKE_MAX_SAS, ike_cfg.cookie_threshold),
	/* each kind is counted in 16 bits */
	CFG("max-half-open-src", 1, 65535, ike_cfg.max_half_open_src),
	CFG("dh-reuse", 0, 300, ike_cfg.dh_reuse),
	/* 0, or from 576: what every IPv4 host must take (RFC 791, 7383 2.5.1) */
	CFG("ike-frag-size", 0, 9000, ike_cfg.frag_size),
	CFG("workers", 0, 64, ike_cfg.workers),
	/* the classifier's IKE limit per site */
	CFG("ike-rate", 0, 100000, ike_rate),
	CFG("ike-burst", 1, 100000, ike_burst),
	CFG("metrics-sites", 0, EG_METRICS_SITES_MAX, metrics_sites),
#undef CFG
};
#define N_CFG_OPTS	(sizeof(cfg_opts) / sizeof(cfg_opts[0]))
#define OPT_CFG		1000	/* getopt value of cfg_opts[0] */
enum { OPT_SHUTDOWN = 1, OPT_NO_DH_REUSE, OPT_TOKEN, OPT_LISTEN, OPT_CERT, OPT_KEY,
       OPT_WEB_ROOT };

static int parse_args(struct ipsecd *d, int argc, char **argv)
{
	static const struct option fixed[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "pin-root", required_argument, NULL, 'P' },
		{ "local-addr", required_argument, NULL, 'a' },
		{ "pop", required_argument, NULL, 'n' },
		{ "generic", no_argument, NULL, 'g' },
		{ "flow-cap", required_argument, NULL, 'F' },
		{ "device-cap", required_argument, NULL, 'D' },
		{ "shutdown", required_argument, NULL, OPT_SHUTDOWN },
		{ "no-dh-reuse", no_argument, NULL, OPT_NO_DH_REUSE },
		{ "api-token-file", required_argument, NULL, OPT_TOKEN },
		{ "http-listen", required_argument, NULL, OPT_LISTEN },
		{ "http-cert", required_argument, NULL, OPT_CERT },
		{ "http-key", required_argument, NULL, OPT_KEY },
		{ "web-root", required_argument, NULL, OPT_WEB_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[sizeof(fixed) / sizeof(fixed[0]) + N_CFG_OPTS + 1];
	size_t i, n = sizeof(fixed) / sizeof(fixed[0]);
	int c;

	memcpy(opts, fixed, sizeof(fixed));
	for (i = 0; i < N_CFG_OPTS; i++)
		opts[n + i] = (struct option){ cfg_opts[i].name, required_argument, NULL,
					       OPT_CFG + (int)i };
	memset(&opts[n + N_CFG_OPTS], 0, sizeof(opts[0]));
	while ((c = getopt_long(argc, argv, "i:d:s:P:a:n:gF:D:vh", opts, NULL)) != -1) {
		char *end;
		long v;

		if (c >= OPT_CFG && c < OPT_CFG + (int)N_CFG_OPTS) {
			i = (size_t)(c - OPT_CFG);
			if (opt_u32(cfg_opts[i].name, optarg, cfg_opts[i].min, cfg_opts[i].max,
				    (uint32_t *)((char *)d + cfg_opts[i].off)))
				return -EINVAL;
			continue;
		}
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
		case OPT_NO_DH_REUSE:
			d->ike_cfg.dh_reuse = 0;
			break;
		case OPT_SHUTDOWN:
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
		case OPT_TOKEN: d->http_opts.token_file = optarg; break;
		case OPT_LISTEN: d->http_opts.listen = optarg; break;
		case OPT_CERT: d->http_opts.cert = optarg; break;
		case OPT_KEY: d->http_opts.key = optarg; break;
		case OPT_WEB_ROOT: d->http_opts.web_root = optarg; break;
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
	if (d->ike_cfg.frag_size && d->ike_cfg.frag_size < 576) {
		fprintf(stderr, "ipsecd: --ike-frag-size takes 0 or 576-9000, not %u\n",
			d->ike_cfg.frag_size);
		return -EINVAL;
	}
	if (!d->http_opts.token_file && (d->http_opts.listen || d->http_opts.cert ||
					 d->http_opts.key)) {
		fprintf(stderr, "ipsecd: --http-listen/--http-cert/--http-key need --api-token-file\n");
		return -EINVAL;
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

/* systemd's one-line status (systemctl status ipsecd). */
static void notify_status(struct ipsecd *d)
{
	unsigned half = 0, all = d->tun ? ike_sa_count(eg_tunnels_ike(d->tun), &half) : 0;

	sd_notifyf(0, "STATUS=%lld sites, %u IKE SAs (%u half-open), XDP %s",
		   (long long)eg_site_count(d->st), all, half,
		   d->dp ? eg_dp_mode(d->dp) : "none");
}

/* A downstream service fell: its sites' tunnels go (DELETE to the peer);
 * their next IKE_AUTH gets AUTHENTICATION_FAILED until it rises. */
static void health_changed(void *arg, enum eg_license service, bool healthy,
			   const char *why)
{
	struct ipsecd *d = arg;
	char reason[200];
	unsigned n;

	if (healthy || !d->tun)
		return;
	snprintf(reason, sizeof(reason), "downstream %s unhealthy (%s)",
		 eg_license_name(service), why);
	n = eg_tunnels_service_down(d->tun, service, reason);
	pr_info("downstream %s unhealthy: %u IKE SAs of its sites taken down", eg_license_name(service), n);
}

int main(int argc, char **argv)
{
	struct ipsecd d = { .db_path = EG_DB_PATH, .sock_path = EG_CTL_SOCK,
			    .pin_root = EG_PIN_ROOT, .epfd = -1,
			    .ike_cfg = IKE_CFG_DEFAULT, .keep_default = true,
			    .ike_rate = EG_IKE_RATE_DEFAULT, .ike_burst = EG_IKE_BURST_DEFAULT,
			    .ike_fd = { -1, -1 }, .metrics_sites = EG_METRICS_SITES_DEFAULT,
			    .http_opts = { .web_root = EG_WEB_ROOT } };
	struct eg_ev sig_ev = { .fd = -1 };
	struct eg_dp_opts dpo;
	struct eg_err err;
	sigset_t mask;
	time_t last_tick = 0, last_scan = 0;
	int rc = EXIT_FAILURE;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	/* a worker per CPU unless told (the engine's own default is none) */
	d.ike_cfg.workers = ncpu > 0 ? (ncpu < 64 ? (uint32_t)ncpu : 64) : 1;
	if (parse_args(&d, argc, argv))
		return EXIT_FAILURE;
	libbpf_set_print(libbpf_print);
	/* first: a restart's gap in ESP-in-UDP is from the old one's last
	 * step to this one, unless they are passed (sockets.h) */
	if (d.local_addr && eg_sockets_bind(&d))
		return EXIT_FAILURE;

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
	dpo.ike_rate = d.ike_rate;
	dpo.ike_burst = d.ike_burst;
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

	d.ike_cfg.pop = d.pop_name;
	if (d.local_addr) {
		if (eg_tunnels_open(&d.tun, &d))
			goto out;
	} else {
		pr_warn("no --local-addr: the IKEv2 responder is off, XDP only");
	}
	if (eg_health_open(&d.health, d.epfd, d.st, d.pop_name, health_changed, &d))
		goto out;
	/* last: sites and resumed tunnels' SPIs are in the maps by now, and
	 * until here a previous ipsecd's classifier still filters */
	eg_tunnels_prune_dp(d.tun, d.dp);
	if (eg_dp_attach(d.dp, d.force_generic))
		goto out;

	if (eg_ctl_open(&d.ctl, d.epfd, d.sock_path, eg_cmd_dispatch, &d)) {
		pr_err("cannot open control socket %s", d.sock_path);
		goto out;
	}
	if (d.http_opts.token_file &&
	    eg_http_open(&d.http, d.epfd, &d.http_opts, eg_rest_handle, &d))
		goto out;
	pr_info("ready: control socket %s", d.sock_path);
	/* Type=notify: ready once the sites and resumed tunnels are in the
	 * maps and the classifier is on; a no-op without NOTIFY_SOCKET */
	sd_notify(0, "READY=1");
	notify_status(&d);

	while (!d.stop) {
		struct epoll_event evs[32];
		time_t now = time(NULL);
		int i, n;

		if (now != last_tick) {
			if (d.tun)
				eg_tunnels_tick(d.tun);
			eg_dp_sweep(d.dp);
			eg_health_tick(d.health);
			eg_http_tick(d.http);
			if (now - last_scan >= EG_SCAN_SECS) {
				eg_status_scan(d.status, &d);
				notify_status(&d);
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
	sd_notifyf(0, "STOPPING=1\nSTATUS=stopping (%s)",
		   d.teardown ? "teardown: tunnels deleted" : "tunnels kept for the next start");
	eg_http_close(d.http);
	eg_ctl_close(d.ctl);
	/* a failure keeps the tunnels too: only an operator tears them down */
	eg_tunnels_close(d.tun, d.teardown);
	eg_dp_close(d.dp, !d.teardown);
	eg_status_close(d.status);
	eg_health_close(d.health);
	if (sig_ev.fd >= 0)
		close(sig_ev.fd);
	if (d.epfd >= 0)
		close(d.epfd);
	eg_store_close(d.st);
	eg_sockets_unbind(&d);
	pr_info("stopped");
	return rc;
}
