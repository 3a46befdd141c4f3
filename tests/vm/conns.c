// SPDX-License-Identifier: GPL-2.0
/*
 * conns.c - many TCP connections and UDP echoes, for the VM tests of the
 * inner (TC) program's caps and license classes (t_40_caps.sh).
 *
 *   conns serve [--echo] PORT [PORT...]
 *	TCP server on 0.0.0.0:PORT for every PORT (unbound: with
 *	net.ipv4.tcp_l3mdev_accept=1 it accepts from every site VRF). Accepts
 *	any number of connections and holds each open until its peer closes
 *	(reads and discards; --echo writes back what it read, best effort).
 *	Prints "READY" once listening. SIGUSR1 prints
 *	"accepted=A open=O closed=C"; SIGTERM/SIGINT print it and exit 0.
 *   conns udp-echo PORT
 *	UDP echo server on 0.0.0.0:PORT. Every reply is sent with IP_PKTINFO
 *	carrying the interface and local address the request came in on, so
 *	that it leaves through the VRF the request came from (an unbound UDP
 *	socket would otherwise route the reply by the main table; see
 *	user/link.h). Prints "READY"; SIGUSR1 prints "answered=N".
 *   conns open DST PORT N [--hold SECS] [--timeout-ms MS] [--src ADDR] [--rst]
 *	Open N concurrent TCP connections (non-blocking connects, all issued
 *	at once), wait until each completed or failed, at most MS (default
 *	3000) in all; print "connected=X failed=Y"; keep the connected ones
 *	open for SECS (default 0; SIGUSR1, SIGTERM or SIGINT ends the hold
 *	early), then close them all and exit 0. The close sends FIN, or RST
 *	with --rst (SO_LINGER 0). --src binds the source address. Exit 2 on a
 *	usage or system error.
 *   conns udp DST PORT [--timeout-ms MS] [--src ADDR]
 *	Send one datagram to DST:PORT and wait up to MS (default 2000) for the
 *	same payload to come back: print "answered" and exit 0, or print
 *	"no answer" and exit 1.
 *
 * No loop runs unbounded except the servers' event loops, which end on a
 * signal; the clients only talk to the DST they are given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS	64
#define MAX_CONNS	100000
#define EV_BATCH	256

static void usage(void)
{
	fprintf(stderr,
		"usage: conns serve [--echo] PORT [PORT...]\n"
		"       conns udp-echo PORT\n"
		"       conns open DST PORT N [--hold SECS] [--timeout-ms MS] [--src ADDR] [--rst]\n"
		"       conns udp DST PORT [--timeout-ms MS] [--src ADDR]\n");
	exit(2);
}

static void fatal(const char *what)
{
	fprintf(stderr, "conns: %s: %s\n", what, strerror(errno));
	exit(2);
}

static long num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "conns: bad %s '%s' (%ld..%ld)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static struct in_addr addr(const char *s, const char *what)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "conns: bad %s '%s': not an IPv4 address\n", what, s);
		exit(2);
	}
	return a;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Raise RLIMIT_NOFILE (within the hard limit) to hold n descriptors. */
static void want_fds(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if ((rlim_t)n + 32 <= rl.rlim_cur)
		return;
	rl.rlim_cur = (rlim_t)n + 32;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* A signalfd for SIGTERM, SIGINT, SIGUSR1 (blocked for the process). */
static int signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatal("sigprocmask");
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd");
	return fd;
}

/* Which signal came: 0 (none), SIGUSR1, or a terminating one. */
static int signal_read(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

static int bound_socket(int type, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_ANY),
				  .sin_port = htons(port) };
	int one = 1, fd;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fatal("SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "conns: bind 0.0.0.0:%u: %s\n", port, strerror(errno));
		exit(2);
	}
	return fd;
}

/* ---- serve ---------------------------------------------------------------- */

/* epoll data: listeners are tagged so that they are told from connections */
#define TAG_LISTEN	(1ULL << 40)
#define TAG_SIGNAL	(1ULL << 41)

static int cmd_serve(int argc, char **argv)
{
	int lfd[MAX_PORTS], nl = 0, ep, sfd, i, n;
	unsigned long accepted = 0, open_now = 0, closed = 0;
	struct epoll_event ev, evs[EV_BATCH];
	bool echo = false;
	char buf[16384];

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--echo")) {
			echo = true;
			continue;
		}
		if (nl == MAX_PORTS)
			usage();
		lfd[nl++] = (int)num(argv[i], 1, 65535, "port");
	}
	if (!nl)
		usage();
	want_fds(MAX_CONNS);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		fatal("epoll_create1");
	sfd = signals();
	ev.events = EPOLLIN;
	ev.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
		fatal("epoll_ctl");
	for (i = 0; i < nl; i++) {
		uint16_t port = (uint16_t)lfd[i];

		lfd[i] = bound_socket(SOCK_STREAM, port);
		if (listen(lfd[i], 4096))
			fatal("listen");
		ev.events = EPOLLIN;
		ev.data.u64 = TAG_LISTEN | (uint64_t)lfd[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev))
			fatal("epoll_ctl");
	}
	printf("READY\n");
	fflush(stdout);

	for (;;) {
		n = epoll_wait(ep, evs, EV_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			int fd = (int)(d & 0xffffffff), sig;

			if (d & TAG_SIGNAL) {
				sig = signal_read(sfd);
				if (!sig)
					continue;
				printf("accepted=%lu open=%lu closed=%lu\n",
				       accepted, open_now, closed);
				fflush(stdout);
				if (sig != SIGUSR1)
					return 0;
				continue;
			}
			if (d & TAG_LISTEN) {
				int c, k;

				/* a bounded batch per wakeup; level-triggered */
				for (k = 0; k < 1024; k++) {
					c = accept4(fd, NULL, NULL,
						    SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0)
						break;
					ev.events = EPOLLIN | EPOLLRDHUP;
					ev.data.u64 = (uint64_t)c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev)) {
						close(c);
						continue;
					}
					accepted++;
					open_now++;
				}
				continue;
			}
			/* a connection: drain what is there (bounded), close on
			 * EOF or error */
			{
				bool done = false;
				int k;

				for (k = 0; k < 64; k++) {
					ssize_t r = read(fd, buf, sizeof(buf));

					if (r > 0) {
						if (echo && write(fd, buf, (size_t)r) < 0)
							done = errno != EAGAIN;
						continue;
					}
					if (r < 0 && (errno == EAGAIN || errno == EINTR))
						break;
					done = true;	/* 0: EOF; < 0: RST etc. */
					break;
				}
				if (done) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					open_now--;
					closed++;
				}
			}
		}
	}
}

/* ---- udp-echo --------------------------------------------------------------- */

static int cmd_udp_echo(int argc, char **argv)
{
	unsigned long answered = 0;
	struct pollfd pfd[2];
	int fd, sfd, one = 1;
	char buf[65536];

	if (argc != 1)
		usage();
	fd = bound_socket(SOCK_DGRAM, (uint16_t)num(argv[0], 1, 65535, "port"));
	if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)))
		fatal("IP_PKTINFO");
	sfd = signals();
	printf("READY\n");
	fflush(stdout);

	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents) {
			int sig = signal_read(sfd);

			if (sig) {
				printf("answered=%lu\n", answered);
				fflush(stdout);
				if (sig != SIGUSR1)
					return 0;
			}
		}
		if (!pfd[0].revents)
			continue;
		/* a bounded batch of datagrams per wakeup */
		for (int k = 0; k < 64; k++) {
			char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct in_pktinfo *pi = NULL, reply = {};
			struct sockaddr_in peer;
			struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
			struct msghdr mh = { .msg_name = &peer,
					     .msg_namelen = sizeof(peer),
					     .msg_iov = &iov, .msg_iovlen = 1,
					     .msg_control = cbuf,
					     .msg_controllen = sizeof(cbuf) };
			struct cmsghdr *cm;
			ssize_t r;

			r = recvmsg(fd, &mh, 0);
			if (r < 0)
				break;
			for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == IPPROTO_IP &&
				    cm->cmsg_type == IP_PKTINFO)
					pi = (struct in_pktinfo *)CMSG_DATA(cm);
			iov.iov_len = (size_t)r;
			mh.msg_namelen = sizeof(peer);
			mh.msg_flags = 0;
			if (pi) {
				/* out the way it came: its interface (hence its
				 * VRF), from the address it was sent to */
				reply.ipi_ifindex = pi->ipi_ifindex;
				reply.ipi_spec_dst = pi->ipi_spec_dst;
				memset(cbuf, 0, sizeof(cbuf));
				mh.msg_control = cbuf;
				mh.msg_controllen = sizeof(cbuf);
				cm = CMSG_FIRSTHDR(&mh);
				cm->cmsg_level = IPPROTO_IP;
				cm->cmsg_type = IP_PKTINFO;
				cm->cmsg_len = CMSG_LEN(sizeof(reply));
				memcpy(CMSG_DATA(cm), &reply, sizeof(reply));
			} else {
				mh.msg_control = NULL;
				mh.msg_controllen = 0;
			}
			if (sendmsg(fd, &mh, 0) == r)
				answered++;
			else
				fprintf(stderr, "conns: udp-echo reply to %s:%u: %s\n",
					inet_ntoa(peer.sin_addr), ntohs(peer.sin_port),
					strerror(errno));
		}
	}
}

/* ---- open ------------------------------------------------------------------- */

static int cmd_open(int argc, char **argv)
{
	long n, hold = 0, timeout = 3000, i, pending, connected = 0, failed = 0;
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	struct epoll_event ev, evs[EV_BATCH];
	bool have_src = false, rst = false;
	sigset_t hold_sigs;
	uint64_t deadline;
	int *fds, ep;
	char *st;	/* per connection: 0 pending, 1 connected, 2 failed */

	if (argc < 3)
		usage();
	dst.sin_addr = addr(argv[0], "destination");
	dst.sin_port = htons((uint16_t)num(argv[1], 1, 65535, "port"));
	n = num(argv[2], 1, MAX_CONNS, "connection count");
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--rst")) {
			rst = true;
		} else if (i + 1 >= argc) {
			usage();
		} else if (!strcmp(argv[i], "--hold")) {
			hold = num(argv[++i], 0, 86400, "hold seconds");
		} else if (!strcmp(argv[i], "--timeout-ms")) {
			timeout = num(argv[++i], 1, 3600000, "timeout");
		} else if (!strcmp(argv[i], "--src")) {
			src.sin_addr = addr(argv[++i], "source");
			have_src = true;
		} else {
			usage();
		}
	}
	sigemptyset(&hold_sigs);
	sigaddset(&hold_sigs, SIGTERM);
	sigaddset(&hold_sigs, SIGINT);
	sigaddset(&hold_sigs, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &hold_sigs, NULL))
		fatal("sigprocmask");
	want_fds(n);
	fds = calloc((size_t)n, sizeof(*fds));
	st = calloc((size_t)n, 1);
	if (!fds || !st)
		fatal("calloc");
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		fatal("epoll_create1");

	deadline = now_ms() + (uint64_t)timeout;
	pending = 0;
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			fatal("socket");
		fds[i] = fd;
		if (have_src && bind(fd, (struct sockaddr *)&src, sizeof(src)))
			fatal("bind source");
		if (!connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
			st[i] = 1;
			connected++;
			continue;
		}
		if (errno != EINPROGRESS) {
			st[i] = 2;
			failed++;
			continue;
		}
		ev.events = EPOLLOUT;
		ev.data.u64 = (uint64_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			fatal("epoll_ctl");
		pending++;
	}
	while (pending > 0) {
		uint64_t t = now_ms();
		int k, m;

		if (t >= deadline)
			break;
		m = epoll_wait(ep, evs, EV_BATCH, (int)(deadline - t));
		if (m < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (k = 0; k < m; k++) {
			long j = (long)evs[k].data.u64;
			int err = 0;
			socklen_t len = sizeof(err);

			if (st[j])
				continue;
			if (getsockopt(fds[j], SOL_SOCKET, SO_ERROR, &err, &len))
				err = errno;
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[j], NULL);
			pending--;
			if (err) {
				st[j] = 2;
				failed++;
			} else {
				st[j] = 1;
				connected++;
			}
		}
	}
	/* still in SYN_SENT at the deadline: failed; closing them sends nothing */
	for (i = 0; i < n; i++) {
		if (st[i])
			continue;
		st[i] = 2;
		failed++;
	}
	for (i = 0; i < n; i++) {
		if (st[i] == 2) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	printf("connected=%ld failed=%ld\n", connected, failed);
	fflush(stdout);

	/* hold: until SECS pass or SIGUSR1/SIGTERM/SIGINT (blocked since the
	 * start, so one sent early is not lost) ends it early */
	if (hold > 0) {
		struct timespec ts = { .tv_sec = hold };

		sigtimedwait(&hold_sigs, NULL, &ts);
	}
	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (rst) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fds[i]);
	}
	free(fds);
	free(st);
	return 0;
}

/* ---- udp -------------------------------------------------------------------- */

static int cmd_udp(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	long timeout = 2000, i;
	char msg[64], buf[256];
	uint64_t deadline;
	int fd;

	if (argc < 2)
		usage();
	dst.sin_addr = addr(argv[0], "destination");
	dst.sin_port = htons((uint16_t)num(argv[1], 1, 65535, "port"));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	for (i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--timeout-ms")) {
			timeout = num(argv[++i], 1, 3600000, "timeout");
		} else if (!strcmp(argv[i], "--src")) {
			src.sin_addr = addr(argv[++i], "source");
			if (bind(fd, (struct sockaddr *)&src, sizeof(src)))
				fatal("bind source");
		} else {
			usage();
		}
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
		fatal("connect");
	snprintf(msg, sizeof(msg), "conns-udp %ld %llu", (long)getpid(),
		 (unsigned long long)now_ms());
	if (send(fd, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
		fatal("send");
	deadline = now_ms() + (uint64_t)timeout;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t t = now_ms();
		ssize_t r;

		if (t >= deadline)
			break;
		if (poll(&p, 1, (int)(deadline - t)) <= 0)
			continue;	/* EINTR or timeout: the deadline decides */
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == (ssize_t)strlen(msg) && !memcmp(buf, msg, (size_t)r)) {
			printf("answered\n");
			return 0;
		}
		/* ICMP errors (ECONNREFUSED) or stray data: keep waiting */
	}
	printf("no answer\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "udp-echo"))
		return cmd_udp_echo(argc - 2, argv + 2);
	if (!strcmp(argv[1], "open"))
		return cmd_open(argc - 2, argv + 2);
	if (!strcmp(argv[1], "udp"))
		return cmd_udp(argc - 2, argv + 2);
	usage();
	return 2;
}
