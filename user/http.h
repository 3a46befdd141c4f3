/* SPDX-License-Identifier: GPL-2.0 */
/*
 * http.h - the HTTP listener of the REST API, the IPSec page and /metrics.
 *
 * libmicrohttpd in its "external epoll" mode: its epoll fd sits in the
 * daemon's one loop and every request runs on the main thread, like a
 * control-socket command, so the API sees the same store and tunnels with
 * no locking. Requests are small and the commands they run are the ones
 * ipsecctl runs: a slow client costs a connection slot, never the loop.
 *
 * TLS with a certificate (--http-cert/--http-key); without one, plain HTTP
 * and only on a loopback address. /api/ and /metrics need
 * "Authorization: Bearer TOKEN", the token read from a file that only its
 * owner may read; it is compared in constant time and never logged. Other
 * paths are the page's static files from the web root, no token needed
 * (they hold no data: the page asks for the token and calls the API).
 */
#ifndef EG_HTTP_H
#define EG_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define EG_HTTP_DEFAULT_LISTEN	"127.0.0.1:8443"
#ifndef EG_WEB_ROOT			/* make install sets it for its PREFIX */
#define EG_WEB_ROOT		"/usr/local/share/espgate/www"
#endif
#define EG_HTTP_BODY_MAX	(32u << 20)	/* a CSV of 100k sites fits */
#define EG_HTTP_CONN_MAX	64
#define EG_HTTP_TOKEN_MIN	16		/* characters */

struct eg_http;
struct MHD_Connection;

struct eg_http_opts {
	const char *listen;	/* "ADDR:PORT"; NULL: EG_HTTP_DEFAULT_LISTEN */
	const char *cert, *key;	/* PEM files; both or neither */
	const char *token_file;	/* mode 0600 or stricter, required */
	const char *web_root;	/* the page's files; NULL: no page */
};

/* One request, complete (body included), as the handler sees it. */
struct eg_http_req {
	struct MHD_Connection *conn;
	const char *method;	/* "GET", "POST", ... */
	const char *path;	/* decoded, no query string */
	const char *body;	/* NUL-terminated; body_len bytes */
	size_t body_len;
	const char *ctype;	/* Content-Type, or "" */
};

/* What the handler answers: body is malloc'd (http.c frees and wipes it). */
struct eg_http_resp {
	unsigned status;
	const char *ctype;
	char *body;
	size_t len;
	char allow[64];		/* 405: the methods the path takes */
};

typedef void (*eg_http_handler)(void *arg, const struct eg_http_req *rq,
				struct eg_http_resp *rs);

/* Listen; every /api/ and /metrics request that carries the token goes to
 * handler. Errors are logged and name the option at fault. */
int eg_http_open(struct eg_http **h, int epfd, const struct eg_http_opts *o,
		 eg_http_handler handler, void *arg);
void eg_http_close(struct eg_http *h);
/* Once a second from the main loop: connection timeouts. */
void eg_http_tick(struct eg_http *h);
/* The port it listens on (tests use port 0: any free port). */
uint16_t eg_http_port(const struct eg_http *h);

/* A query-string argument of the request, decoded; NULL if absent. */
const char *eg_http_arg(const struct eg_http_req *rq, const char *key);

#endif /* EG_HTTP_H */
