// SPDX-License-Identifier: GPL-2.0
/* evloop.c - register fds with epoll, data.ptr pointing at their eg_ev. */
#include <errno.h>
#include <stddef.h>
#include <sys/epoll.h>

#include "evloop.h"

static int ctl(int epfd, int op, struct eg_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(epfd, op, ev->fd, &e) ? -errno : 0;
}

int eg_ev_add(int epfd, struct eg_ev *ev, uint32_t events)
{
	return ctl(epfd, EPOLL_CTL_ADD, ev, events);
}

int eg_ev_mod(int epfd, struct eg_ev *ev, uint32_t events)
{
	return ctl(epfd, EPOLL_CTL_MOD, ev, events);
}

void eg_ev_del(int epfd, struct eg_ev *ev)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}
