/* SPDX-License-Identifier: GPL-2.0 */
#ifndef EG_SOCKETS_H
#define EG_SOCKETS_H

struct ipsecd;

/*
 * UDP 500 and 4500 into d->ike_fd, the first thing ipsecd does; closed
 * last (eg_sockets_unbind). While no socket holds 4500 with UDP_ENCAP the
 * kernel decapsulates no ESP-in-UDP, so a restart's gap is the time
 * between the two, unless the sockets come from the service manager
 * (socket activation, sd_listen_fds(3)): its copy keeps them, and their
 * UDP_ENCAP, while no ipsecd runs, and there is no gap at all.
 */
int eg_sockets_bind(struct ipsecd *d);
void eg_sockets_unbind(struct ipsecd *d);

#endif
