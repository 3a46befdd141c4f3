/* SPDX-License-Identifier: GPL-2.0 */
/* evloop.h - the one epoll loop: every fd carries its own callback. */
#ifndef EG_EVLOOP_H
#define EG_EVLOOP_H

#include <stdint.h>

struct eg_ev {
	int fd;
	void (*cb)(struct eg_ev *ev, uint32_t events);
	void *arg;
};

int eg_ev_add(int epfd, struct eg_ev *ev, uint32_t events);
int eg_ev_mod(int epfd, struct eg_ev *ev, uint32_t events);
void eg_ev_del(int epfd, struct eg_ev *ev);

#endif /* EG_EVLOOP_H */
