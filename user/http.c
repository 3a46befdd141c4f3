// SPDX-License-Identifier: GPL-2.0
/*
 * http.c - the HTTP listener (http.h): libmicrohttpd on the daemon's epoll
 * loop, TLS or loopback-only plain HTTP, bearer token, bounded bodies, the
 * page's static files. What a request means is the handler's (rest.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "evloop.h"
#include "http.h"
#include "log.h"
#include "store.h"	/* eg_addr_port_parse */

#define FILE_MAX	(4u << 20)	/* a static file, a certificate */

struct eg_http {
	struct eg_ev ev;
	int epfd;
	struct MHD_Daemon *mhd;
	eg_http_handler handler;
	void *arg;
	uint8_t token_hash[SHA256_DIGEST_LENGTH];
	char *cert, *key;		/* PEM, kept for MHD, wiped at close */
	size_t cert_len, key_len;
	char web_root[256];
	bool tls;
};

/* The state of one request while its body comes in. */
struct req_state {
	char *body;
	size_t len, cap;
	bool answered;			/* refused before the body (401, 413) */
};

/* A response body that is wiped when MHD is done with it. */
struct body_buf {
	size_t len;
	char data[];
};

/* ---- files -------------------------------------------------------------------- */

/* The whole regular file, at most max bytes, NUL-terminated; NULL with errno. */
static char *read_bounded(const char *path, size_t max, size_t *len, mode_t *mode)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb))
		goto out;
	if (!S_ISREG(sb.st_mode)) {
		errno = EINVAL;		/* a directory, a device: not a file */
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		goto out;
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);

		if (r <= 0) {
			if (r == 0)
				break;
			if (errno == EINTR)
				continue;
			free(buf);
			buf = NULL;
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	if (mode)
		*mode = sb.st_mode;
out:
	close(fd);
	return buf;
}

static void wipe_free(char *p, size_t len)
{
	if (p) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

static int load_token(struct eg_http *h, const char *path)
{
	size_t len = 0;
	mode_t mode = 0;
	char *t = read_bounded(path, 4096, &len, &mode);

	if (!t) {
		pr_err("--api-token-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (mode & 077) {
		pr_err("--api-token-file %s: mode %03o lets others read it; chmod 600",
		       path, (unsigned)(mode & 0777));
		wipe_free(t, len);
		return -1;
	}
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = '\0';
	if (len < EG_HTTP_TOKEN_MIN || strpbrk(t, " \t\r\n")) {
		pr_err("--api-token-file %s: the token must be one word of at least %d characters",
		       path, EG_HTTP_TOKEN_MIN);
		wipe_free(t, len);
		return -1;
	}
	SHA256((const uint8_t *)t, len, h->token_hash);
	wipe_free(t, len);
	return 0;
}

/* "Bearer TOKEN": compared as SHA-256 digests, in constant time, so
 * neither the token's bytes nor its length show in the time taken. */
static bool authorized(const struct eg_http *h, struct MHD_Connection *conn)
{
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t got[SHA256_DIGEST_LENGTH];
	bool ok;

	if (!a || strncasecmp(a, "Bearer ", 7))
		return false;
	a += 7;
	SHA256((const uint8_t *)a, strlen(a), got);
	ok = CRYPTO_memcmp(got, h->token_hash, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

/* ---- answers ------------------------------------------------------------------ */

static void body_free(void *cls)
{
	struct body_buf *b = cls;

	OPENSSL_cleanse(b->data, b->len);
	free(b);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
			      const char *ctype, const char *body, size_t len,
			      const char *allow)
{
	struct body_buf *b = malloc(sizeof(*b) + len + 1);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!b)
		return MHD_NO;
	b->len = len;
	memcpy(b->data, body, len);
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, b->data,
								   body_free, b);
	if (!r) {
		body_free(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (allow && *allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"espgate\"");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, unsigned status,
				    const char *msg)
{
	char buf[512];
	size_t i, o = 0;

	/* {"error":"..."} with the message's quotes and controls escaped */
	o += snprintf(buf, sizeof(buf), "{\"error\":\"");
	for (i = 0; msg[i] && o < sizeof(buf) - 8; i++) {
		unsigned char ch = msg[i];

		if (ch == '"' || ch == '\\')
			buf[o++] = '\\', buf[o++] = ch;
		else if (ch >= 0x20)
			buf[o++] = ch;
	}
	o += snprintf(buf + o, sizeof(buf) - o, "\"}\n");
	return answer(conn, status, "application/json", buf, o, NULL);
}

/* ---- the page's static files -------------------------------------------------- */

static const char *mime_of(const char *path)
{
	static const struct { const char *ext, *type; } t[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
	};
	const char *dot = strrchr(path, '.');
	unsigned i;

	for (i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(dot, t[i].ext))
			return t[i].type;
	return "application/octet-stream";
}

/* A path is served only if it is plain: letters, digits, '-', '_', '.',
 * '/', no "..", no dot file. */
static bool plain_path(const char *p)
{
	const char *c;

	if (strstr(p, "..") || strstr(p, "/."))
		return false;
	for (c = p; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("-_./", *c)))
			return false;
	return true;
}

static enum MHD_Result serve_file(struct eg_http *h, struct MHD_Connection *conn,
				  const char *method, const char *url)
{
	char path[512];
	size_t len = 0;
	char *data;
	enum MHD_Result ret;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			      "GET only\n", 9, "GET, HEAD");
	if (!h->web_root[0] || !plain_path(url))
		return answer_error(conn, MHD_HTTP_NOT_FOUND, "no such page");
	if (!strcmp(url, "/"))
		url = "/index.html";
	if ((size_t)snprintf(path, sizeof(path), "%s%s", h->web_root, url) >= sizeof(path))
		return answer_error(conn, MHD_HTTP_NOT_FOUND, "no such page");
	data = read_bounded(path, FILE_MAX, &len, NULL);
	if (!data)
		return answer_error(conn, MHD_HTTP_NOT_FOUND, "no such page");
	ret = answer(conn, MHD_HTTP_OK, mime_of(path), data, len, NULL);
	free(data);
	return ret;
}

/* ---- requests ----------------------------------------------------------------- */

static bool wants_token(const char *url)
{
	return !strncmp(url, "/api/", 5) || !strcmp(url, "/api") ||
	       !strcmp(url, "/metrics");
}

static void client_str(struct MHD_Connection *conn, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sin = ci ? (const void *)ci->client_addr : NULL;

	char a[INET_ADDRSTRLEN];

	if (sin && sin->sin_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)))
		snprintf(buf, cap, "%s:%u", a, ntohs(sin->sin_port));
	else
		snprintf(buf, cap, "?");
}

/* The first call for a request: headers only. Refuse what needs no body
 * read: no token, a body announced over the bound. */
static enum MHD_Result first_call(struct eg_http *h, struct MHD_Connection *conn,
				  const char *url, struct req_state *st)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (wants_token(url) && !authorized(h, conn)) {
		char who[INET_ADDRSTRLEN + 8];

		client_str(conn, who, sizeof(who));
		pr_info("HTTP %s: no valid bearer token for %s", who, url);
		st->answered = true;
		return answer_error(conn, MHD_HTTP_UNAUTHORIZED,
				    "a valid bearer token is needed (Authorization: Bearer ...)");
	}
	if (cl && strtoull(cl, NULL, 10) > EG_HTTP_BODY_MAX) {
		st->answered = true;
		return answer_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				    "the body is over the 32 MiB limit");
	}
	return MHD_YES;
}

static int body_append(struct req_state *st, const char *data, size_t n)
{
	if (n > EG_HTTP_BODY_MAX - st->len)
		return -EFBIG;
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *p;

		while (cap < st->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (!p)
			return -ENOMEM;
		if (st->body) {
			memcpy(p, st->body, st->len);
			wipe_free(st->body, st->cap);	/* a PSK may be in it */
		}
		st->body = p;
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
	st->body[st->len] = '\0';
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct eg_http *h = cls;
	struct req_state *st = *con_cls;
	struct eg_http_req rq;
	struct eg_http_resp rs = { .status = 0 };
	enum MHD_Result ret;

	(void)version;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		*con_cls = st;
		return first_call(h, conn, url, st);
	}
	if (st->answered) {
		*upload_size = 0;	/* refused: the rest is read and dropped */
		return MHD_YES;
	}
	if (*upload_size) {
		int rc = body_append(st, upload, *upload_size);

		*upload_size = 0;
		if (rc) {
			st->answered = true;
			return answer_error(conn, rc == -EFBIG ? MHD_HTTP_CONTENT_TOO_LARGE :
					    MHD_HTTP_SERVICE_UNAVAILABLE,
					    rc == -EFBIG ? "the body is over the 32 MiB limit" :
					    "out of memory");
		}
		return MHD_YES;
	}
	if (!wants_token(url))
		return serve_file(h, conn, method, url);

	rq = (struct eg_http_req){
		.conn = conn, .method = method, .path = url,
		.body = st->body ? st->body : "", .body_len = st->len,
		.ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE),
	};
	if (!rq.ctype)
		rq.ctype = "";
	h->handler(h->arg, &rq, &rs);
	if (!rs.status)
		rs.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	ret = answer(conn, rs.status, rs.ctype ? rs.ctype : "application/json",
		     rs.body ? rs.body : "", rs.body ? rs.len : 0, rs.allow);
	wipe_free(rs.body, rs.len);
	return ret;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (!st)
		return;
	wipe_free(st->body, st->cap);
	free(st);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	pr_warn("libmicrohttpd: %s", buf);
}

static void on_ready(struct eg_ev *ev, uint32_t events)
{
	struct eg_http *h = ev->arg;

	(void)events;
	MHD_run(h->mhd);
}

/* ---- open, close -------------------------------------------------------------- */

/* --http-listen ADDR:PORT (validate.c's parser, shared with the health checks) */
static int parse_listen(const char *s, struct sockaddr_in *sin)
{
	uint32_t addr;
	uint16_t port;

	if (eg_addr_port_parse(s, &addr, &port))
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = addr;
	return 0;
}

int eg_http_open(struct eg_http **hp, int epfd, const struct eg_http_opts *o,
		 eg_http_handler handler, void *arg)
{
	const char *listen = o->listen ? o->listen : EG_HTTP_DEFAULT_LISTEN;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sin;
	struct eg_http *h;

	*hp = NULL;
	if (parse_listen(listen, &sin)) {
		pr_err("--http-listen '%s' is not ADDR:PORT (an IPv4 address)", listen);
		return -1;
	}
	if (!o->cert != !o->key) {
		pr_err("--http-cert and --http-key go together");
		return -1;
	}
	if (!o->cert && (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
		pr_err("--http-listen %s: plain HTTP is for loopback addresses only; give --http-cert and --http-key",
		       listen);
		return -1;
	}
	if (!o->token_file) {
		pr_err("the HTTP API needs --api-token-file");
		return -1;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -1;
	h->epfd = epfd;
	h->handler = handler;
	h->arg = arg;
	h->ev.fd = -1;
	if (load_token(h, o->token_file))
		goto fail;
	if (o->web_root && (size_t)snprintf(h->web_root, sizeof(h->web_root), "%s",
					    o->web_root) >= sizeof(h->web_root)) {
		pr_err("--web-root %s: path too long", o->web_root);
		goto fail;
	}
	if (h->web_root[0] && access(h->web_root, R_OK | X_OK)) {
		pr_warn("--web-root %s: %s; no IPSec page, the API and /metrics only",
			h->web_root, strerror(errno));
		h->web_root[0] = '\0';
	}
	if (o->cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			pr_err("this libmicrohttpd has no TLS");
			goto fail;
		}
		h->cert = read_bounded(o->cert, FILE_MAX, &h->cert_len, NULL);
		if (!h->cert) {
			pr_err("--http-cert %s: %s", o->cert, strerror(errno));
			goto fail;
		}
		h->key = read_bounded(o->key, FILE_MAX, &h->key_len, NULL);
		if (!h->key) {
			pr_err("--http-key %s: %s", o->key, strerror(errno));
			goto fail;
		}
		h->tls = true;
		flags |= MHD_USE_TLS;
	}
	{
		struct MHD_OptionItem tls[] = {
			{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert },
			{ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key },
			{ MHD_OPTION_END, 0, NULL },
		};

		h->mhd = MHD_start_daemon(flags, ntohs(sin.sin_port), NULL, NULL,
					  on_request, h,
					  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
					  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
					  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
					  MHD_OPTION_CONNECTION_LIMIT, (unsigned)EG_HTTP_CONN_MAX,
					  MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
					  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
					  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64u << 10),
					  MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
					  MHD_OPTION_ARRAY, h->tls ? tls : tls + 2,
					  MHD_OPTION_END);
	}
	if (!h->mhd) {
		pr_err("cannot listen for HTTP on %s (in use? a bad certificate or key?)", listen);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		pr_err("libmicrohttpd gave no epoll fd");
		goto fail;
	}
	h->ev = (struct eg_ev){ .fd = info->epoll_fd, .cb = on_ready, .arg = h };
	if (eg_ev_add(epfd, &h->ev, EPOLLIN)) {
		h->ev.fd = -1;
		goto fail;
	}
	pr_info("HTTP API on %s://%s:%u (bearer token)%s", h->tls ? "https" : "http",
		inet_ntoa(sin.sin_addr), eg_http_port(h),
		h->web_root[0] ? ", the IPSec page at /" : "");
	*hp = h;
	return 0;
fail:
	eg_http_close(h);
	return -1;
}

void eg_http_tick(struct eg_http *h)
{
	if (h)
		MHD_run(h->mhd);
}

uint16_t eg_http_port(const struct eg_http *h)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

const char *eg_http_arg(const struct eg_http_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

void eg_http_close(struct eg_http *h)
{
	if (!h)
		return;
	if (h->ev.fd >= 0)
		eg_ev_del(h->epfd, &h->ev);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	wipe_free(h->cert, h->cert_len);
	wipe_free(h->key, h->key_len);
	OPENSSL_cleanse(h->token_hash, sizeof(h->token_hash));
	free(h);
}
