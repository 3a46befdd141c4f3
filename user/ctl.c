// SPDX-License-Identifier: GPL-2.0
/*
 * ctl.c - the control socket: line-delimited JSON over a Unix stream socket,
 * served from the daemon's one epoll loop with per-client buffers, so a slow
 * or stuck client never blocks the data path's bookkeeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "evloop.h"
#include "log.h"

struct ctl_client {
	struct eg_ev ev;
	struct eg_ctl *ctl;
	char *in;		/* bytes received, not yet a full line */
	size_t in_len, in_cap;
	char *out;		/* answers not yet written */
	size_t out_len, out_off;
	struct ctl_client *next;
};

struct eg_ctl {
	struct eg_ev ev;
	int epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	eg_ctl_handler handler;
	void *arg;
	struct ctl_client *clients;
	unsigned n_clients;
};

static void client_free(struct ctl_client *c)
{
	struct eg_ctl *ctl = c->ctl;
	struct ctl_client **pp;

	if (c->in)
		OPENSSL_cleanse(c->in, c->in_cap);
	if (c->out)
		OPENSSL_cleanse(c->out, c->out_len);	/* site show --show-secret */
	for (pp = &ctl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ctl->n_clients--;
	eg_ev_del(ctl->epfd, &c->ev);
	close(c->ev.fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int out_append(struct ctl_client *c, const char *s, size_t n)
{
	char *p = realloc(c->out, c->out_len + n);

	if (!p)
		return -ENOMEM;
	c->out = p;
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return 0;
}

struct json_object *eg_ctl_answer(eg_ctl_handler h, void *arg, const char *line,
				  size_t len)
{
	struct json_object *req, *resp, *data = NULL, *cmd, *args = NULL;
	struct json_tokener *tok;
	char err[512] = "";
	int rc;

	tok = json_tokener_new();
	if (!tok)
		return NULL;
	req = json_tokener_parse_ex(tok, line, len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, sizeof(err), "request is not valid JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		rc = -EINVAL;
	} else if (!json_object_is_type(req, json_type_object) ||
		   !json_object_object_get_ex(req, "cmd", &cmd) ||
		   !json_object_is_type(cmd, json_type_string)) {
		snprintf(err, sizeof(err), "request needs a string \"cmd\"");
		rc = -EINVAL;
	} else {
		json_object_object_get_ex(req, "args", &args);
		if (args && !json_object_is_type(args, json_type_object)) {
			snprintf(err, sizeof(err), "\"args\" must be an object");
			rc = -EINVAL;
		} else {
			rc = h(arg, json_object_get_string(cmd), args, &data, err,
			       sizeof(err));
		}
	}
	json_tokener_free(tok);

	resp = json_object_new_object();
	json_object_object_add(resp, "ok", json_object_new_boolean(rc == 0));
	/* a failure may carry details, e.g. every bad line of an import */
	if (data)
		json_object_object_add(resp, "data", data);
	if (rc) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-rc));
		json_object_object_add(resp, "error", json_object_new_string(err));
	}
	json_object_put(req);
	return resp;
}

/* Run one request line through the handler and queue the answer. */
static int handle_line(struct ctl_client *c, const char *line, size_t len)
{
	struct json_object *resp = eg_ctl_answer(c->ctl->handler, c->ctl->arg, line, len);
	const char *txt;
	int rc;

	if (!resp)
		return -ENOMEM;
	txt = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	rc = out_append(c, txt, strlen(txt));
	if (!rc)
		rc = out_append(c, "\n", 1);
	json_object_put(resp);
	return rc;
}

static int client_flush(struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->ev.fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->out_off += n;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		return eg_ev_mod(c->ctl->epfd, &c->ev, EPOLLIN);
	}
	return eg_ev_mod(c->ctl->epfd, &c->ev, EPOLLIN | EPOLLOUT);
}

static void client_cb(struct eg_ev *ev, uint32_t events)
{
	struct ctl_client *c = ev->arg;
	ssize_t n = -1;
	char *nl;

	if (events & EPOLLOUT) {
		if (client_flush(c))
			goto drop;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		if (c->in_cap - c->in_len < 65536) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			char *p;

			if (cap > EG_CTL_MAX_REQ + 65536) {
				pr_info("control client sent a request over %u bytes, dropped",
					EG_CTL_MAX_REQ);
				goto drop;
			}
			p = realloc(c->in, cap);
			if (!p)
				goto drop;
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(ev->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			goto drop;
		}
		if (n == 0) {
			/* Peer closed: answer what is complete, then go. */
			if (c->out_len == 0)
				goto drop;
			break;
		}
		c->in_len += n;
		/* Handle every complete line. */
		while ((nl = memchr(c->in, '\n', c->in_len))) {
			size_t len = nl - c->in;

			if (handle_line(c, c->in, len))
				goto drop;
			memmove(c->in, nl + 1, c->in_len - len - 1);
			c->in_len -= len + 1;
			/* requests carry PSKs (site add, import): leave none behind */
			OPENSSL_cleanse(c->in + c->in_len, len + 1);
		}
	}
	if (client_flush(c))
		goto drop;
	if (n == 0 && c->out_len == 0)
		goto drop;
	return;
drop:
	client_free(c);
}

static void listen_cb(struct eg_ev *ev, uint32_t events)
{
	struct eg_ctl *ctl = ev->arg;
	struct ctl_client *c;
	int fd;

	(void)events;
	while ((fd = accept4(ev->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (ctl->n_clients >= EG_CTL_MAX_CLIENTS) {
			pr_warn("control socket: %u clients already, refusing one",
				ctl->n_clients);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->ev.fd = fd;
		c->ev.cb = client_cb;
		c->ev.arg = c;
		if (eg_ev_add(ctl->epfd, &c->ev, EPOLLIN)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = ctl->clients;
		ctl->clients = c;
		ctl->n_clients++;
	}
}

int eg_ctl_open(struct eg_ctl **out, int epfd, const char *path,
		eg_ctl_handler h, void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct eg_ctl *ctl;
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	memcpy(sa.sun_path, path, strlen(path));

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	unlink(path);
	/* Created 0600: only root talks to ipsecd. */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old);
	if (err || listen(fd, 64)) {
		err = err ? err : -errno;
		pr_err("control socket %s: %s", path, strerror(-err));
		close(fd);
		goto fail;
	}
	ctl->epfd = epfd;
	ctl->handler = h;
	ctl->arg = arg;
	ctl->ev.fd = fd;
	ctl->ev.cb = listen_cb;
	ctl->ev.arg = ctl;
	err = eg_ev_add(epfd, &ctl->ev, EPOLLIN);
	if (err) {
		close(fd);
		goto fail;
	}
	*out = ctl;
	return 0;
fail:
	free(ctl);
	return err;
}

void eg_ctl_close(struct eg_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	eg_ev_del(ctl->epfd, &ctl->ev);
	close(ctl->ev.fd);
	unlink(ctl->path);
	free(ctl);
}

int eg_ctl_call(const char *path, const char *cmd, struct json_object *args,
		struct json_object **resp, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *req;
	struct json_tokener *tok;
	const char *txt;
	char buf[65536];
	size_t len, off;
	ssize_t n;
	int fd, rc;

	*resp = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "cannot reach ipsecd at %s: %s (is it running?)",
			 path, strerror(errno));
		close(fd);
		return rc;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "args", json_object_get(args));
	txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(txt);
	for (off = 0; off <= len; off += n) {
		/* the terminating NUL's slot carries the newline */
		const char *p = off < len ? txt + off : "\n";
		size_t left = off < len ? len - off : 1;

		n = send(fd, p, left, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			rc = -errno;
			snprintf(err, errlen, "send to ipsecd: %s", strerror(errno));
			goto out;
		}
	}
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	rc = -EPROTO;
	snprintf(err, errlen, "ipsecd closed the connection without an answer");
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR)) {
		enum json_tokener_error jerr;

		if (n < 0)
			continue;
		*resp = json_tokener_parse_ex(tok, buf, n);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue)
			continue;
		if (jerr != json_tokener_success || !*resp) {
			snprintf(err, errlen, "bad answer from ipsecd: %s",
				 json_tokener_error_desc(jerr));
			json_object_put(*resp);
			*resp = NULL;
			break;
		}
		rc = 0;
		err[0] = '\0';
		break;
	}
	json_tokener_free(tok);
out:
	json_object_put(req);
	close(fd);
	return rc;
}
