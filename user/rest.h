/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rest.h - the REST API (/api/v1/...) and /metrics over http.h.
 *
 * Every API call is a control-socket command (cmds.c) with its arguments
 * taken from the path, the query string and the JSON body, so the API and
 * ipsecctl cannot drift apart. The command's error becomes the HTTP status:
 * EINVAL 400 (the message names the field and value), ENOENT 404, EEXIST
 * 409, anything else 500; the body is always JSON, {"error": "..."} on
 * failure (plus "errors": ["line N: ..."] for a CSV import).
 */
#ifndef EG_REST_H
#define EG_REST_H

#include "http.h"

/* arg: struct ipsecd *. */
void eg_rest_handle(void *arg, const struct eg_http_req *rq,
		    struct eg_http_resp *rs);

/* The HTTP status an errno-style command result maps to (0: 200). */
unsigned eg_rest_status(int rc);

#endif /* EG_REST_H */
