// SPDX-License-Identifier: GPL-2.0
/*
 * sockets.c - the IKE sockets, UDP 500 and 4500 on --local-addr: bound by
 * ipsecd, or passed by the service manager (systemd's ipsecd.socket) so
 * that they outlive a restart.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>

#include "ipsecd.h"
#include "log.h"
#include "sockets.h"

#ifndef UDP_ENCAP
#define UDP_ENCAP 100
#endif
#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP 2
#endif

/* IKE traffic itself must never be caught by an IPsec policy. */
static int bypass_policy(int fd)
{
	struct xfrm_userpolicy_info pol;
	int dir;

	for (dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
		memset(&pol, 0, sizeof(pol));
		pol.action = XFRM_POLICY_ALLOW;
		pol.sel.family = AF_INET;
		pol.dir = dir;
		pol.lft.soft_byte_limit = XFRM_INF;
		pol.lft.hard_byte_limit = XFRM_INF;
		pol.lft.soft_packet_limit = XFRM_INF;
		pol.lft.hard_packet_limit = XFRM_INF;
		if (setsockopt(fd, IPPROTO_IP, IP_XFRM_POLICY, &pol, sizeof(pol)))
			return -errno;
	}
	return 0;
}

static int udp_socket(uint32_t addr, uint16_t port, bool encap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = addr };
	int fd, one = 1, type = UDP_ENCAP_ESPINUDP, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (encap && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &type, sizeof(type)))) {
		err = -errno;
		close(fd);
		return err;
	}
	err = bypass_policy(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* A socket the service manager passed: ours if it is UDP on --local-addr:500/4500. */
static int adopt_socket(struct ipsecd *d, int fd)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa), tl = sizeof(int);
	int type = 0, encap = UDP_ENCAP_ESPINUDP, i, fl, rc;
	char ip[INET_ADDRSTRLEN];
	uint16_t port;

	if (getsockname(fd, (struct sockaddr *)&sa, &sl) || sl != sizeof(sa) ||
	    sa.sin_family != AF_INET ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_DGRAM) {
		pr_warn("socket activation: fd %d is not an IPv4 UDP socket, ignored", fd);
		return 0;
	}
	port = ntohs(sa.sin_port);
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	if ((port != 500 && port != 4500) || sa.sin_addr.s_addr != d->local_addr) {
		/* a wildcard bind would answer from whatever address routing picks */
		pr_err("socket activation: fd %d is bound to %s:%u; ipsecd takes only --local-addr, ports 500 and 4500",
		       fd, ip, port);
		return -EINVAL;
	}
	i = port == 4500;
	if (d->ike_fd[i] >= 0) {
		pr_err("socket activation: two sockets on %s:%u", ip, port);
		return -EINVAL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) || fcntl(fd, F_SETFD, FD_CLOEXEC) ||
	    (i && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap))))
		return -errno;
	if ((rc = bypass_policy(fd)))
		return rc;
	d->ike_fd[i] = fd;
	return 0;
}

/*
 * Sockets from the service manager (sd_listen_fds(3): LISTEN_PID, and
 * LISTEN_FDS descriptors from 3). The manager keeps its copy while ipsecd
 * restarts, and with it the UDP_ENCAP set here: ESP-in-UDP is decapsulated
 * all the while, and IKE requests wait in the socket's queue.
 */
static int passed_sockets(struct ipsecd *d)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n, fd;
	int rc = 0;

	if (!pid || !fds || strtol(pid, &end, 10) != (long)getpid() || *end)
		return 0;
	n = strtol(fds, &end, 10);
	if (*end || n < 0 || n > 16) {
		pr_err("socket activation: LISTEN_FDS=%s", fds);
		return -EINVAL;
	}
	for (fd = 3; fd < 3 + n && !rc; fd++)
		rc = adopt_socket(d, fd);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!rc && n)
		pr_info("socket activation: %s from the service manager (ESP-in-UDP flows while ipsecd restarts)",
			d->ike_fd[0] >= 0 && d->ike_fd[1] >= 0 ? "UDP 500 and 4500" :
			d->ike_fd[1] >= 0 ? "UDP 4500" : "UDP 500");
	return rc;
}

int eg_sockets_bind(struct ipsecd *d)
{
	char ip[INET_ADDRSTRLEN];
	int i, rc;

	rc = passed_sockets(d);
	if (rc) {
		eg_sockets_unbind(d);
		return rc;
	}
	for (i = 0; i < 2; i++) {
		if (d->ike_fd[i] < 0)
			d->ike_fd[i] = udp_socket(d->local_addr, i ? 4500 : 500, i);
		if (d->ike_fd[i] >= 0)
			continue;
		pr_err("IKE socket on %s:%u: %s",
		       inet_ntop(AF_INET, &d->local_addr, ip, sizeof(ip)),
		       i ? 4500 : 500, strerror(-d->ike_fd[i]));
		eg_sockets_unbind(d);
		return -EADDRINUSE;
	}
	return 0;
}

void eg_sockets_unbind(struct ipsecd *d)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (d->ike_fd[i] >= 0)
			close(d->ike_fd[i]);
		d->ike_fd[i] = -1;
	}
}
