// SPDX-License-Identifier: GPL-2.0
/*
 * rest.c - /api/v1 routes to control-socket commands, and /metrics (rest.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "ipsecd.h"
#include "log.h"
#include "metrics.h"
#include "rest.h"

#define API		"/api/v1"
#define JSON_DEPTH	8		/* a site's JSON is two levels deep */

/* How a route builds the command's arguments. */
enum args_from {
	A_NONE,		/* no arguments */
	A_QUERY,	/* site list: filters, sort, page from the query string */
	A_NAME,		/* {"name": the path's *} */
	A_BODY,		/* the JSON body */
	A_NAME_BODY,	/* the JSON body, "name" from the path (an edit) */
	A_CSV,		/* {"csv": the body} */
	A_BULK,		/* {"action": ..., "names": [...]}: the command by action */
};

struct route {
	const char *method;
	const char *path;	/* after /api/v1; "*" is one segment: a name */
	const char *cmd;
	enum args_from args;
	unsigned ok;		/* the status on success */
	bool csv_out;		/* answer data.csv as text/csv */
};

static const struct route routes[] = {
	{ "GET", "/status", "status", A_NONE, 200, false },
	{ "GET", "/sites", "site.list", A_QUERY, 200, false },
	{ "POST", "/sites", "site.add", A_BODY, 201, false },
	{ "GET", "/sites/export", "site.export", A_NONE, 200, true },
	{ "POST", "/sites/import", "site.import", A_CSV, 200, false },
	{ "POST", "/sites/bulk", NULL, A_BULK, 200, false },
	{ "GET", "/sites/*", "site.show", A_NAME, 200, false },
	{ "PATCH", "/sites/*", "site.edit", A_NAME_BODY, 200, false },
	{ "DELETE", "/sites/*", "site.delete", A_NAME, 200, false },
	{ "POST", "/sites/*/enable", "site.enable", A_NAME, 200, false },
	{ "POST", "/sites/*/disable", "site.disable", A_NAME, 200, false },
	{ "GET", "/sites/*/flows", "site.flows", A_NAME, 200, false },
	{ "GET", "/pops", "pop.list", A_NONE, 200, false },
	{ "POST", "/pops", "pop.add", A_BODY, 201, false },
	{ "GET", "/pops/*", "pop.show", A_NAME, 200, false },
	{ "PATCH", "/pops/*", "pop.edit", A_NAME_BODY, 200, false },
	{ "DELETE", "/pops/*", "pop.delete", A_NAME, 200, false },
	{ "POST", "/pops/*/drain", "pop.drain", A_NAME, 200, false },
	{ "POST", "/pops/*/undrain", "pop.undrain", A_NAME, 200, false },
	{ "GET", "/sas", "sa.list", A_NONE, 200, false },
	{ "GET", "/health", "health.list", A_NONE, 200, false },
	{ "POST", "/health", "health.add", A_BODY, 201, false },
	{ "DELETE", "/health/*", "health.delete", A_NAME, 200, false },
};

unsigned eg_rest_status(int rc)
{
	switch (rc) {
	case 0:		return MHD_HTTP_OK;
	case -EINVAL:	return MHD_HTTP_BAD_REQUEST;
	case -ENOENT:	return MHD_HTTP_NOT_FOUND;
	case -EEXIST:	return MHD_HTTP_CONFLICT;
	case -EBUSY:	return MHD_HTTP_CONFLICT;
	case -ENOMEM:	return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:	return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* ---- answers ------------------------------------------------------------------ */

static void set_body(struct eg_http_resp *rs, unsigned status, const char *ctype,
		     const char *s, size_t len)
{
	rs->status = status;
	rs->ctype = ctype;
	rs->body = malloc(len + 1);
	if (!rs->body) {
		rs->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		return;
	}
	memcpy(rs->body, s, len);
	rs->body[len] = '\0';
	rs->len = len;
}

static void set_json(struct eg_http_resp *rs, unsigned status, struct json_object *o)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);

	set_body(rs, status, "application/json", s, len);
	json_object_put(o);
}

/* {"error": msg} plus what the command said beyond it (data's fields). */
static void set_error(struct eg_http_resp *rs, unsigned status, const char *msg,
		      struct json_object *data)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	if (data && json_object_is_type(data, json_type_object)) {
		json_object_object_foreach(data, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	set_json(rs, status, o);
}

/* ---- routes ------------------------------------------------------------------- */

/* Match path (after /api/v1) against a pattern; *name is the '*' segment. */
static bool path_match(const char *pat, const char *path, char *name, size_t cap)
{
	while (*pat && *path) {
		if (*pat == '*') {
			size_t n = strcspn(path, "/");

			if (!n || n >= cap)
				return false;
			memcpy(name, path, n);
			name[n] = '\0';
			pat++;
			path += n;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++, path++;
	}
	return !*pat && !*path;
}

/* A strict decimal, for page and per_page. */
static int query_int(const struct eg_http_req *rq, const char *key,
		     struct json_object *args, char *err, size_t errlen)
{
	const char *v = eg_http_arg(rq, key);
	char *end;
	long long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno) {
		snprintf(err, errlen, "%s '%.40s' is not a number", key, v);
		return -EINVAL;
	}
	json_object_object_add(args, key, json_object_new_int64(n));
	return 0;
}

static bool query_true(const struct eg_http_req *rq, const char *key)
{
	const char *v = eg_http_arg(rq, key);

	return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
}

static int args_query(const struct eg_http_req *rq, struct json_object *args,
		      char *err, size_t errlen)
{
	static const char *const str[] = { "name", "identity", "pop", "status",
					   "traffic_type", "sort" };
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		const char *v = eg_http_arg(rq, str[i]);

		if (v && *v)
			json_object_object_add(args, str[i], json_object_new_string(v));
	}
	rc = query_int(rq, "page", args, err, errlen);
	if (!rc)
		rc = query_int(rq, "per_page", args, err, errlen);
	return rc;
}

/* The body as a JSON object, bounded in depth; NULL with err set. */
static struct json_object *body_json(const struct eg_http_req *rq, char *err,
				     size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;

	if (!rq->body_len) {
		snprintf(err, errlen, "a JSON object is needed in the body");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)rq->body_len) {
		snprintf(err, errlen, "the body is not JSON: %s",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "the body must be a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Bulk: {"action":"enable"|"disable"|"delete","names":[...]}: the checkbox
 * actions of the page, all or nothing (the command's transaction). */
static const char *bulk_cmd(struct json_object *args, char *err, size_t errlen)
{
	static const char *const act[][2] = {
		{ "enable", "site.enable" }, { "disable", "site.disable" },
		{ "delete", "site.delete" },
	};
	struct json_object *a;
	const char *s;
	unsigned i;

	if (!json_object_object_get_ex(args, "action", &a) ||
	    !(s = json_object_get_string(a))) {
		snprintf(err, errlen, "missing \"action\" (enable, disable or delete)");
		return NULL;
	}
	for (i = 0; i < sizeof(act) / sizeof(act[0]); i++)
		if (!strcmp(s, act[i][0]))
			return act[i][1];
	snprintf(err, errlen, "action '%.40s' is not enable, disable or delete", s);
	return NULL;
}

/* The command's arguments for route r; NULL with err (a 400). */
static struct json_object *route_args(const struct route *r, const struct eg_http_req *rq,
				      const char *name, const char **cmd,
				      char *err, size_t errlen)
{
	struct json_object *args = NULL, *v;

	*cmd = r->cmd;
	switch (r->args) {
	case A_NONE:
	case A_NAME:
		args = json_object_new_object();
		break;
	case A_QUERY:
		args = json_object_new_object();
		if (args_query(rq, args, err, errlen)) {
			json_object_put(args);
			return NULL;
		}
		break;
	case A_BODY:
	case A_NAME_BODY:
	case A_BULK:
		if (!(args = body_json(rq, err, errlen)))
			return NULL;
		break;
	case A_CSV:
		args = json_object_new_object();
		json_object_object_add(args, "csv",
				       json_object_new_string_len(rq->body, (int)rq->body_len));
		if (query_true(rq, "dry_run"))
			json_object_object_add(args, "dry_run", json_object_new_boolean(1));
		break;
	}
	if (r->args == A_NAME_BODY && json_object_object_get_ex(args, "name", &v)) {
		/* a new name in the body of an edit is a rename */
		if (json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), name))
			json_object_object_add(args, "new_name", json_object_get(v));
	}
	if (r->args == A_NAME || r->args == A_NAME_BODY)
		json_object_object_add(args, "name", json_object_new_string(name));
	if (r->args == A_BULK && !(*cmd = bulk_cmd(args, err, errlen))) {
		json_object_put(args);
		return NULL;
	}
	if (query_true(rq, "show_secret"))
		json_object_object_add(args, "show_secret", json_object_new_boolean(1));
	return args;
}

static void run_route(struct ipsecd *d, const struct route *r, const struct eg_http_req *rq,
		      const char *name, struct eg_http_resp *rs)
{
	struct json_object *args, *data = NULL, *csv;
	const char *cmd;
	char err[512] = "";
	int rc;

	args = route_args(r, rq, name, &cmd, err, sizeof(err));
	if (!args) {
		set_error(rs, MHD_HTTP_BAD_REQUEST, err, NULL);
		return;
	}
	rc = eg_cmd_dispatch(d, cmd, args, &data, err, sizeof(err));
	json_object_put(args);
	if (rc) {
		set_error(rs, eg_rest_status(rc), err, data);
		json_object_put(data);
		return;
	}
	if (r->csv_out && data && json_object_object_get_ex(data, "csv", &csv)) {
		set_body(rs, r->ok, "text/csv; charset=utf-8", json_object_get_string(csv),
			 (size_t)json_object_get_string_len(csv));
		json_object_put(data);
		return;
	}
	set_json(rs, r->ok, data ? data : json_object_new_object());
}

/* Literal paths first: "/sites/export" is not the site named "export". */
static const struct route *find_route(const struct eg_http_req *rq, const char *path,
				      char *name, size_t cap, char *allow, size_t acap)
{
	int pass;
	unsigned i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
			const struct route *r = &routes[i];

			if (!strchr(r->path, '*') != !pass ||
			    !path_match(r->path, path, name, cap))
				continue;
			if (!strcmp(r->method, rq->method))
				return r;
			snprintf(allow + strlen(allow), acap - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", r->method);
		}
		if (allow[0])
			break;		/* the path is known, not with this method */
	}
	return NULL;
}

void eg_rest_handle(void *arg, const struct eg_http_req *rq, struct eg_http_resp *rs)
{
	struct ipsecd *d = arg;
	const struct route *r;
	char name[256];

	if (!strcmp(rq->path, "/metrics")) {
		if (strcmp(rq->method, "GET")) {
			snprintf(rs->allow, sizeof(rs->allow), "GET");
			set_error(rs, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only", NULL);
			return;
		}
		if (eg_metrics_render(d, &rs->body, &rs->len)) {
			set_error(rs, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics failed", NULL);
			return;
		}
		rs->status = MHD_HTTP_OK;
		rs->ctype = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	if (strncmp(rq->path, API "/", strlen(API) + 1)) {
		set_error(rs, MHD_HTTP_NOT_FOUND, "no such API version (use " API ")", NULL);
		return;
	}
	r = find_route(rq, rq->path + strlen(API), name, sizeof(name), rs->allow,
		       sizeof(rs->allow));
	if (r)
		run_route(d, r, rq, name, rs);
	else if (rs->allow[0])
		set_error(rs, MHD_HTTP_METHOD_NOT_ALLOWED,
			  "method not allowed here (see the Allow header)", NULL);
	else
		set_error(rs, MHD_HTTP_NOT_FOUND, "no such resource", NULL);
}
