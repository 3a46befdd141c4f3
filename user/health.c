// SPDX-License-Identifier: GPL-2.0
/*
 * health.c - downstream health checks (health.h): non-blocking TCP connects
 * and HTTP GETs on the epoll loop, rise/fall, and what they mean for sites.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "health.h"
#include "ipsecd.h"
#include "log.h"

#define HEAD_MAX	256	/* of an HTTP answer: the status line is enough */
#define NSVC		3	/* indexed by enum eg_license (1, 2) */

struct check {
	struct eg_health_rec cfg;
	struct eg_health *h;
	struct eg_ev ev;		/* the probe's socket; fd -1 between probes */
	bool up, seen;
	bool sent;			/* HTTP: the request is out */
	unsigned ok_run, fail_run;	/* results in a row */
	uint64_t next_ms, start_ms;
	char head[HEAD_MAX + 1];
	size_t got;
	struct eg_health_state st;
	struct check *next;
};

struct eg_health {
	int epfd;
	struct eg_store *st;
	char pop[EG_NAME_MAX + 1];
	eg_health_change_cb cb;
	void *arg;
	struct check *checks;
	bool svc_down[NSVC];
	int64_t svc_since[NSVC];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *target(const struct check *c, char *buf, size_t cap)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->cfg.addr, a, sizeof(a));
	snprintf(buf, cap, "%s %s:%u%s", c->cfg.http ? "http" : "tcp", a, c->cfg.port,
		 c->cfg.http ? c->cfg.path : "");
	return buf;
}

/* ---- services ----------------------------------------------------------------- */

static void fmt_since(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* A service is down while any of its checks that run here is down. */
static void services_update(struct eg_health *h, const char *why)
{
	bool down[NSVC] = { false };
	struct check *c;
	unsigned s;

	for (c = h->checks; c; c = c->next)
		if (c->st.runs && !c->up)
			down[c->cfg.service] = true;
	for (s = EG_LIC_WEB_GATEWAY; s <= EG_LIC_CLOUD_FIREWALL; s++) {
		if (down[s] == h->svc_down[s])
			continue;
		h->svc_down[s] = down[s];
		h->svc_since[s] = time(NULL);
		pr_info("downstream %s: %s -> %s (%s)", eg_license_name(s),
			down[s] ? "healthy" : "unhealthy", down[s] ? "unhealthy" : "healthy",
			why);
		if (h->cb)
			h->cb(h->arg, s, !down[s], why);
	}
}

bool eg_health_service(const struct eg_health *h, enum eg_license s, int64_t *since)
{
	if (since)
		*since = h ? h->svc_since[s] : 0;
	return !h || !h->svc_down[s];
}

bool eg_health_site_ok(const struct eg_health *h, enum eg_license lic,
		       char *why, size_t cap)
{
	enum eg_license need[2] = { EG_LIC_WEB_GATEWAY, EG_LIC_CLOUD_FIREWALL };
	unsigned i, n = lic == EG_LIC_CLOUD_FIREWALL ? 2 : 1;
	char when[40];

	for (i = 0; h && i < n; i++) {
		if (!h->svc_down[need[i]])
			continue;
		fmt_since(h->svc_since[need[i]], when, sizeof(when));
		snprintf(why, cap, "downstream %s unhealthy since %s",
			 eg_license_name(need[i]), when);
		return false;
	}
	return true;
}

/* ---- one probe ---------------------------------------------------------------- */

static void probe_stop(struct check *c)
{
	if (c->ev.fd >= 0) {
		eg_ev_del(c->h->epfd, &c->ev);
		close(c->ev.fd);
		c->ev.fd = -1;
	}
}

static void result(struct check *c, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void result(struct check *c, bool ok, const char *fmt, ...)
{
	uint64_t now = now_ms();
	char why[256], tgt[200];
	va_list ap;
	unsigned run;

	probe_stop(c);
	va_start(ap, fmt);
	vsnprintf(c->st.last, sizeof(c->st.last), fmt, ap);
	va_end(ap);
	c->st.probes++;
	c->st.last_ms = (uint32_t)(now - c->start_ms);
	c->next_ms = c->start_ms + (uint64_t)c->cfg.interval * 1000;
	if (ok) {
		c->fail_run = 0;
		run = ++c->ok_run;
	} else {
		c->st.failures++;
		c->ok_run = 0;
		run = ++c->fail_run;
		pr_debug("health check '%s' (%s): %s", c->cfg.name,
			 target(c, tgt, sizeof(tgt)), c->st.last);
	}
	if (ok == c->up || run < (ok ? c->cfg.rise : c->cfg.fall))
		return;
	c->up = ok;
	c->st.up = ok;
	c->st.since = time(NULL);
	snprintf(why, sizeof(why), "check '%s' %s: %s, %u in a row", c->cfg.name,
		 ok ? "up" : "down", c->st.last, run);
	pr_info("health check '%s' (%s): %s -> %s (%s, %u in a row)", c->cfg.name,
		target(c, tgt, sizeof(tgt)), ok ? "down" : "up", ok ? "up" : "down",
		c->st.last, run);
	services_update(c->h, why);
}

/* "HTTP/1.x NNN ...": the status, or -1 while the line is incomplete. */
static int http_status(const char *head, size_t len, bool eof)
{
	unsigned st;

	if (!memchr(head, '\n', len) && !eof && len < HEAD_MAX)
		return -1;
	if (len < 12 || strncmp(head, "HTTP/1.", 7) || head[8] != ' ' ||
	    sscanf(head + 9, "%3u", &st) != 1 || st < 100 || st > 599)
		return 0;
	return (int)st;
}

static void on_probe(struct eg_ev *ev, uint32_t events)
{
	struct check *c = ev->arg;
	int err = 0, st;
	socklen_t elen = sizeof(err);
	ssize_t n;

	if (!c->sent) {
		/* the connect finished, one way or the other */
		if (getsockopt(ev->fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err) {
			result(c, false, "connect: %s", strerror(err ? err : errno));
			return;
		}
		if (!c->cfg.http) {
			result(c, true, "ok");
			return;
		}
		{
			char req[EG_HEALTH_PATH_MAX + 128], a[INET_ADDRSTRLEN];
			int len;

			inet_ntop(AF_INET, &c->cfg.addr, a, sizeof(a));
			len = snprintf(req, sizeof(req),
				       "GET %s HTTP/1.1\r\nHost: %s:%u\r\n"
				       "User-Agent: ipsecd-health\r\nConnection: close\r\n\r\n",
				       c->cfg.path, a, c->cfg.port);
			/* one small write into an empty socket buffer */
			if (send(ev->fd, req, len, MSG_NOSIGNAL) != len) {
				result(c, false, "send: %s", strerror(errno));
				return;
			}
		}
		c->sent = true;
		eg_ev_mod(c->h->epfd, &c->ev, EPOLLIN);
		return;
	}
	n = recv(ev->fd, c->head + c->got, HEAD_MAX - c->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		result(c, false, "recv: %s", strerror(errno));
		return;
	}
	c->got += (size_t)n;
	c->head[c->got] = '\0';
	st = http_status(c->head, c->got, n == 0 || (events & EPOLLHUP));
	if (st < 0)
		return;
	if (st == 0)
		result(c, false, c->got ? "not an HTTP answer" :
		       "connection closed before a status line");
	else if (st == c->cfg.expect)
		result(c, true, "HTTP %d", st);
	else
		result(c, false, "HTTP %d, not %u", st, c->cfg.expect);
}

static void probe_start(struct check *c, uint64_t now)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = c->cfg.addr,
				   .sin_port = htons(c->cfg.port) };
	int fd;

	c->start_ms = now;
	c->sent = false;
	c->got = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		result(c, false, "socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		result(c, false, "connect: %s", strerror(e));
		return;
	}
	c->ev = (struct eg_ev){ .fd = fd, .cb = on_probe, .arg = c };
	if (eg_ev_add(c->h->epfd, &c->ev, EPOLLOUT)) {
		c->ev.fd = -1;
		close(fd);
		result(c, false, "epoll: %s", strerror(errno));
	}
}

void eg_health_tick(struct eg_health *h)
{
	uint64_t now = now_ms();
	struct check *c;

	for (c = h ? h->checks : NULL; c; c = c->next) {
		if (!c->st.runs)
			continue;
		if (c->ev.fd >= 0 && now - c->start_ms >= (uint64_t)c->cfg.timeout * 1000)
			result(c, false, "no answer in %u s", c->cfg.timeout);
		else if (c->ev.fd < 0 && now >= c->next_ms)
			probe_start(c, now);
	}
}

/* ---- the list of checks ------------------------------------------------------- */

static int load_one(const struct eg_health_rec *r, void *arg)
{
	struct eg_health *h = arg;
	struct check *c;

	for (c = h->checks; c; c = c->next) {
		if (c->cfg.id == r->id) {
			c->seen = true;		/* checks are never edited */
			return 0;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *r;
	c->h = h;
	c->ev.fd = -1;
	c->up = c->st.up = true;
	c->seen = true;
	c->st.since = time(NULL);
	c->st.runs = !r->pop[0] || (h->pop[0] && !strcasecmp(r->pop, h->pop));
	snprintf(c->st.last, sizeof(c->st.last), "%s", c->st.runs ? "not run yet" :
		 "runs on another POP's gateway");
	c->next = h->checks;
	h->checks = c;
	return 0;
}

int eg_health_reload(struct eg_health *h)
{
	struct check *c, **pp;
	struct eg_err err;
	int rc;

	if (!h)
		return 0;	/* no checker (a test harness): the store is all */
	for (c = h->checks; c; c = c->next)
		c->seen = false;
	rc = eg_health_foreach(h->st, load_one, h, &err);
	if (rc) {
		pr_err("health checks: %s", err.msg);
		for (c = h->checks; c; c = c->next)
			c->seen = true;		/* keep what runs */
		return rc;
	}
	for (pp = &h->checks; (c = *pp);) {
		if (c->seen) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		probe_stop(c);
		pr_info("health check '%s' removed", c->cfg.name);
		free(c);
	}
	services_update(h, "health checks changed");
	return 0;
}

int eg_health_open(struct eg_health **hp, int epfd, struct eg_store *st,
		   const char *pop, eg_health_change_cb cb, void *arg)
{
	struct eg_health *h = calloc(1, sizeof(*h));
	unsigned n = 0, here = 0;
	struct check *c;

	*hp = NULL;
	if (!h)
		return -ENOMEM;
	h->epfd = epfd;
	h->st = st;
	h->cb = cb;
	h->arg = arg;
	snprintf(h->pop, sizeof(h->pop), "%s", pop ? pop : "");
	if (eg_health_reload(h)) {
		eg_health_close(h);
		return -EIO;
	}
	for (c = h->checks; c; c = c->next, n++)
		here += c->st.runs;
	if (n)
		pr_info("%u downstream health checks, %u of them for this gateway", n, here);
	*hp = h;
	return 0;
}

void eg_health_close(struct eg_health *h)
{
	struct check *c, *next;

	if (!h)
		return;
	for (c = h->checks; c; c = next) {
		next = c->next;
		probe_stop(c);
		free(c);
	}
	free(h);
}

void eg_health_state(const struct eg_health *h, int64_t id, struct eg_health_state *out)
{
	const struct check *c;

	memset(out, 0, sizeof(*out));
	for (c = h ? h->checks : NULL; c; c = c->next) {
		if (c->cfg.id == id) {
			*out = c->st;
			return;
		}
	}
	snprintf(out->last, sizeof(out->last), "not loaded");
}

void eg_health_metrics(struct ipsecd *d, FILE *f)
{
	const struct eg_health *h = d->health;
	const struct check *c;
	unsigned s;

	fprintf(f, "# HELP espgate_downstream_healthy 1 if the downstream service is healthy.\n"
		   "# TYPE espgate_downstream_healthy gauge\n");
	for (s = EG_LIC_WEB_GATEWAY; s <= EG_LIC_CLOUD_FIREWALL; s++)
		fprintf(f, "espgate_downstream_healthy{service=\"%s\"} %d\n",
			eg_license_name(s), eg_health_service(h, s, NULL));
	fprintf(f, "# HELP espgate_health_check_up 1 if the health check is up.\n"
		   "# TYPE espgate_health_check_up gauge\n");
	for (c = h ? h->checks : NULL; c; c = c->next)
		if (c->st.runs)
			fprintf(f, "espgate_health_check_up{check=\"%s\",service=\"%s\"} %d\n",
				c->cfg.name, eg_license_name(c->cfg.service), c->up);
	fprintf(f, "# HELP espgate_health_check_failures_total Probes of the check that failed.\n"
		   "# TYPE espgate_health_check_failures_total counter\n");
	for (c = h ? h->checks : NULL; c; c = c->next)
		if (c->st.runs)
			fprintf(f, "espgate_health_check_failures_total{check=\"%s\"} %llu\n",
				c->cfg.name, (unsigned long long)c->st.failures);
}
