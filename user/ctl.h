/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl.h - ipsecd's control socket.
 *
 * A Unix stream socket (mode 0600). Each request is one JSON object on one
 * line: {"cmd": "site.add", "args": {...}}. Each answer is one line:
 * {"ok": true, "data": ...} or {"ok": false, "error": "reason"} (with "data"
 * when there are details, e.g. every bad line of a CSV import). A client
 * may send several requests on one connection; answers come in order.
 */
#ifndef EG_CTL_H
#define EG_CTL_H

#include <json-c/json.h>

#define EG_CTL_SOCK		"/run/espgate/ipsecd.sock"
#define EG_CTL_MAX_REQ		(32U << 20)	/* a 100k-row CSV import fits */
#define EG_CTL_MAX_CLIENTS	64

/*
 * Handle one request. On success return 0 and set *data (may stay NULL);
 * on failure return -errno with a message in err (at most errlen bytes)
 * and optionally details in *data.
 */
typedef int (*eg_ctl_handler)(void *arg, const char *cmd,
			      struct json_object *args,
			      struct json_object **data, char *err,
			      size_t errlen);

struct eg_ctl;

int eg_ctl_open(struct eg_ctl **ctl, int epfd, const char *path,
		eg_ctl_handler h, void *arg);
void eg_ctl_close(struct eg_ctl *ctl);
/* One request line, {"cmd": "...", "args": {...}}, through h: the answer,
 * {"ok": ..., "data"?: ..., "error"?: "..."} (NULL: out of memory). */
struct json_object *eg_ctl_answer(eg_ctl_handler h, void *arg, const char *line,
				  size_t len);

/* Client side (ipsecctl, tests): one request, one answer. */
int eg_ctl_call(const char *path, const char *cmd, struct json_object *args,
		struct json_object **resp, char *err, size_t errlen);

#endif /* EG_CTL_H */
