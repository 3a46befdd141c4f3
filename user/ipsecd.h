/* SPDX-License-Identifier: GPL-2.0 */
/* ipsecd.h - the daemon's shared state and the command entry points. */
#ifndef EG_IPSECD_H
#define EG_IPSECD_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "http.h"
#include "ike.h"
#include "store.h"

#define EG_DB_PATH	"/var/lib/espgate/espgate.db"
#define EG_ALIVE_SECS	60	/* up if a keepalive/IKE was seen within */

struct eg_dp;
struct eg_ctl;
struct eg_tunnels;
struct eg_status_tab;
struct eg_health;

struct ipsecd {
	struct eg_store *st;
	struct eg_dp *dp;
	struct eg_ctl *ctl;
	struct eg_tunnels *tun;	/* NULL without --local-addr */
	struct eg_status_tab *status;
	struct eg_health *health;	/* downstream checks (health.h) */
	struct eg_http *http;		/* REST, page, metrics; NULL: off */
	int epfd;
	bool stop;
	bool teardown;		/* at stop: DELETEs, everything removed */
	/* configuration */
	const char *db_path;
	const char *ifname;
	const char *sock_path;
	const char *pin_root;
	const char *pop_name;	/* which POP this gateway is */
	uint32_t local_addr;	/* IKE address, network order; 0 = any */
	bool force_generic;
	uint32_t ike_rate, ike_burst;	/* XDP's IKE limit per site */
	uint32_t flow_cap, device_cap;	/* inner defaults; 0 = built-in */
	struct ike_cfg ike_cfg;		/* lifetimes, DPD, limits */
	bool keep_default;		/* --shutdown=keep (SIGTERM keeps tunnels) */
	struct eg_http_opts http_opts;	/* on with --api-token-file */
	uint32_t metrics_sites;		/* per-site series for this many */
	/* UDP 500 and 4500 (ESP-in-UDP decapsulation): bound first at start,
	 * closed last at stop, so a restart leaves the shortest gap */
	int ike_fd[2];
};

/* Control-socket dispatcher (cmds.c). */
int eg_cmd_dispatch(void *arg, const char *cmd, struct json_object *args,
		    struct json_object **data, char *err, size_t errlen);

/* Downstream health checks (cmds_health.c), called by the dispatcher. */
int eg_cmd_health_add(struct ipsecd *d, struct json_object *args,
		      struct json_object **data, struct eg_err *err);
int eg_cmd_health_list(struct ipsecd *d, struct json_object *args,
		       struct json_object **data, struct eg_err *err);
int eg_cmd_health_delete(struct ipsecd *d, struct json_object *args,
			 struct json_object **data, struct eg_err *err);

/* Load every site from the store into the data path (cmds.c). */
int eg_sync_all_sites(struct ipsecd *d);

#endif /* EG_IPSECD_H */
