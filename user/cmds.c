// SPDX-License-Identifier: GPL-2.0
/*
 * cmds.c - what the control socket can ask of ipsecd: site and POP
 * management on the store, with every change pushed to the data path
 * before the answer goes back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>

#include "datapath.h"
#include "flows.h"
#include "health.h"
#include "ipsecd.h"
#include "ike.h"
#include "import.h"
#include "log.h"
#include "status.h"
#include "tunnel.h"

struct cmd_ctx {
	struct ipsecd *d;
	struct json_object *args;
	struct json_object **data;
	struct eg_err err;
};

/* ---- argument helpers ---------------------------------------------------- */

static const char *arg_str(struct cmd_ctx *c, const char *key)
{
	struct json_object *v;

	if (!c->args || !json_object_object_get_ex(c->args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int need_str(struct cmd_ctx *c, const char *key, const char **out)
{
	*out = arg_str(c, key);
	if (!*out)
		return eg_fail(&c->err, EINVAL, "missing \"%s\"", key);
	return 0;
}

static struct json_object *arg_get(struct cmd_ctx *c, const char *key)
{
	struct json_object *v;

	if (!c->args || !json_object_object_get_ex(c->args, key, &v))
		return NULL;
	return v;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

static const char *ip_str(uint32_t be, char *buf)
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

/* Fill the fields present in args into s (add: all; edit: some). */
static int site_from_args(struct cmd_ctx *c, struct eg_site_rec *s)
{
	struct json_object *v;
	const char *str;
	size_t i, n;

	if ((str = arg_str(c, "name")))
		copy_str(s->name, sizeof(s->name), str);
	if ((str = arg_str(c, "id_type")) && eg_id_type_parse(str, &s->id_type))
		return eg_fail(&c->err, EINVAL,
			       "identity type '%s' is not ipv4, fqdn or email", str);
	if ((str = arg_str(c, "identity"))) {
		if (strlen(str) > EG_IDENT_MAX)
			return eg_fail(&c->err, EINVAL,
				       "source identity longer than %d bytes",
				       EG_IDENT_MAX);
		copy_str(s->id_value, sizeof(s->id_value), str);
	}
	if ((str = arg_str(c, "source_ip")) && eg_ipv4_parse(str, &s->source_ip))
		return eg_fail(&c->err, EINVAL,
			       "source ip '%s' is not a dotted-quad IPv4 address",
			       str);
	if ((str = arg_str(c, "psk"))) {
		size_t len = strlen(str);

		if (len > EG_PSK_MAX)
			return eg_fail(&c->err, EINVAL,
				       "PSK too long: %zu bytes, at most %d",
				       len, EG_PSK_MAX);
		OPENSSL_cleanse(s->psk, sizeof(s->psk));
		memcpy(s->psk, str, len);
		s->psk_len = len;
	}
	if ((str = arg_str(c, "primary_pop")))
		copy_str(s->primary_pop, sizeof(s->primary_pop), str);
	if ((v = arg_get(c, "backup_pops"))) {
		if (!json_object_is_type(v, json_type_array))
			return eg_fail(&c->err, EINVAL, "backup_pops must be a list");
		n = json_object_array_length(v);
		if (n > EG_MAX_BACKUP_POPS)
			return eg_fail(&c->err, EINVAL,
				       "%zu backup POPs, at most %d", n,
				       EG_MAX_BACKUP_POPS);
		for (i = 0; i < n; i++)
			copy_str(s->backup_pops[i], sizeof(s->backup_pops[i]),
				 json_object_get_string(json_object_array_get_idx(v, i)));
		s->n_backup_pops = n;
	}
	if ((str = arg_str(c, "traffic_type")) && eg_traffic_parse(str, &s->traffic))
		return eg_fail(&c->err, EINVAL,
			       "traffic type '%s' is not one of user, iot, mixed, machine, guest-wifi",
			       str);
	if ((str = arg_str(c, "license")) && eg_license_parse(str, &s->license))
		return eg_fail(&c->err, EINVAL,
			       "license '%s' is not web-gateway or cloud-firewall",
			       str);
	if ((v = arg_get(c, "ports"))) {
		if (!json_object_is_type(v, json_type_array))
			return eg_fail(&c->err, EINVAL, "ports must be a list");
		n = json_object_array_length(v);
		if (n > EG_MAX_CUSTOM_PORTS)
			return eg_fail(&c->err, EINVAL,
				       "%zu custom ports, at most %d", n,
				       EG_MAX_CUSTOM_PORTS);
		for (i = 0; i < n; i++) {
			int64_t p = json_object_get_int64(json_object_array_get_idx(v, i));

			if (p < 1 || p > 65535)
				return eg_fail(&c->err, EINVAL,
					       "custom port %lld is not in 1-65535",
					       (long long)p);
			s->ports[i] = p;
		}
		s->n_ports = n;
	}
	if ((v = arg_get(c, "max_bandwidth_mbps"))) {
		int64_t bw = json_object_get_int64(v);

		if (bw < 0 || bw > 1000000)
			return eg_fail(&c->err, EINVAL,
				       "maximum bandwidth %lld Mbps is not in 0-1000000",
				       (long long)bw);
		s->max_bw_mbps = bw;
	}
	if ((str = arg_str(c, "cipher")))
		copy_str(s->cipher, sizeof(s->cipher), str);
	if ((v = arg_get(c, "flow_cap"))) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n > EG_CAP_MAX)
			return eg_fail(&c->err, EINVAL, "flow cap %lld is not in 0-%d",
				       (long long)n, EG_CAP_MAX);
		s->flow_cap = n;
	}
	if ((v = arg_get(c, "device_cap"))) {
		int64_t n = json_object_get_int64(v);

		if (n < 0 || n > EG_CAP_MAX)
			return eg_fail(&c->err, EINVAL, "device cap %lld is not in 0-%d",
				       (long long)n, EG_CAP_MAX);
		s->device_cap = n;
	}
	if ((str = arg_str(c, "lan")) && eg_lan_parse(str, s, &c->err))
		return -EINVAL;
	{
		static const struct { const char *key, *what; size_t off; } secs[] = {
			{ "ike_lifetime", "IKE lifetime",
			  offsetof(struct eg_site_rec, ike_lifetime) },
			{ "child_lifetime", "Child SA lifetime",
			  offsetof(struct eg_site_rec, child_lifetime) },
			{ "dpd_delay", "DPD delay",
			  offsetof(struct eg_site_rec, dpd_delay) },
			{ "dpd_timeout", "DPD timeout",
			  offsetof(struct eg_site_rec, dpd_timeout) },
		};

		for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
			int64_t n;

			if (!(v = arg_get(c, secs[i].key)))
				continue;
			n = json_object_get_int64(v);
			if (n < 0 || n > EG_LIFETIME_MAX)
				return eg_fail(&c->err, EINVAL, "%s %lld s is not in 0-%d",
					       secs[i].what, (long long)n, EG_LIFETIME_MAX);
			*(uint32_t *)((char *)s + secs[i].off) = (uint32_t)n;
		}
	}
	if ((v = arg_get(c, "enabled")))
		s->enabled = json_object_get_boolean(v);
	return 0;
}

/* ---- site status ---------------------------------------------------------- */

/* The site's XDP entry (slot) and summed counters; zeroes when absent. */
static void site_dp(struct ipsecd *d, const struct eg_site_rec *s,
		    struct eg_site *ds, struct eg_site_ctr *ctr)
{
	memset(ds, 0, sizeof(*ds));
	memset(ctr, 0, sizeof(*ctr));
	if (d->dp && eg_dp_site_lookup(d->dp, s->source_ip, ds) == 0)
		eg_dp_site_counters(d->dp, s->source_ip, ctr);
}

static struct json_object *site_json(struct ipsecd *d,
				     const struct eg_site_rec *s, bool secret,
				     bool detail)
{
	struct json_object *o = json_object_new_object(), *a;
	struct eg_site_ctr ctr;
	struct eg_site ds;
	char ip[INET_ADDRSTRLEN];
	unsigned i;

	site_dp(d, s, &ds, &ctr);
	json_object_object_add(o, "id", json_object_new_int64(s->id));
	json_object_object_add(o, "name", json_object_new_string(s->name));
	json_object_object_add(o, "id_type",
			       json_object_new_string(eg_id_type_name(s->id_type)));
	json_object_object_add(o, "identity", json_object_new_string(s->id_value));
	json_object_object_add(o, "source_ip",
			       json_object_new_string(ip_str(s->source_ip, ip)));
	{
		/* enabled but refused for its downstream services: down, why */
		char why[128];
		bool held = s->enabled && !eg_health_site_ok(d->health, s->license,
							     why, sizeof(why));

		json_object_object_add(o, "status", json_object_new_string(
			held ? "down" : eg_site_status_name(s)));
		if (held)
			json_object_object_add(o, "reason", json_object_new_string(why));
	}
	json_object_object_add(o, "status_since", json_object_new_int64(s->status_since));
	json_object_object_add(o, "primary_pop",
			       json_object_new_string(s->primary_pop));
	a = json_object_new_array();
	for (i = 0; i < s->n_backup_pops; i++)
		json_object_array_add(a, json_object_new_string(s->backup_pops[i]));
	json_object_object_add(o, "backup_pops", a);
	json_object_object_add(o, "throughput_kbps",
			       json_object_new_uint64(d->status ?
				       eg_status_kbps(d->status, ds.slot, ds.site_id) : 0));
	json_object_object_add(o, "traffic_type",
			       json_object_new_string(eg_traffic_name(s->traffic)));
	json_object_object_add(o, "license",
			       json_object_new_string(eg_license_name(s->license)));
	a = json_object_new_array();
	for (i = 0; i < s->n_ports; i++)
		json_object_array_add(a, json_object_new_int(s->ports[i]));
	json_object_object_add(o, "ports", a);
	json_object_object_add(o, "max_bandwidth_mbps",
			       json_object_new_int64(s->max_bw_mbps));
	json_object_object_add(o, "cipher", json_object_new_string(s->cipher));
	json_object_object_add(o, "flow_cap", json_object_new_int64(s->flow_cap));
	json_object_object_add(o, "device_cap", json_object_new_int64(s->device_cap));
	{
		struct eg_prefix lan[EG_LAN_MAX];
		struct eg_site_rec eff = { .n_lan = 0 };
		char buf[EG_LAN_MAX * 19 + 1];
		unsigned n = eg_site_lan(s, lan);

		json_object_object_add(o, "lan",
				       json_object_new_string(eg_lan_str(s, buf, sizeof(buf))));
		memcpy(eff.lan, lan, sizeof(lan));
		eff.n_lan = n;
		json_object_object_add(o, "lan_effective",
				       json_object_new_string(eg_lan_str(&eff, buf, sizeof(buf))));
	}
	json_object_object_add(o, "ike_lifetime", json_object_new_int64(s->ike_lifetime));
	json_object_object_add(o, "child_lifetime",
			       json_object_new_int64(s->child_lifetime));
	json_object_object_add(o, "dpd_delay", json_object_new_int64(s->dpd_delay));
	json_object_object_add(o, "dpd_timeout", json_object_new_int64(s->dpd_timeout));
	if (d->dp && ds.site_id == s->id) {
		uint32_t flows = 0, devs = 0;

		eg_dp_inner_counts(d->dp, ds.slot, &flows, &devs);
		json_object_object_add(o, "flows", json_object_new_int64(flows));
		json_object_object_add(o, "endpoints", json_object_new_int64(devs));
	}
	json_object_object_add(o, "enabled", json_object_new_boolean(s->enabled));
	json_object_object_add(o, "created", json_object_new_int64(s->created));
	json_object_object_add(o, "updated", json_object_new_int64(s->updated));
	if (secret) {
		uint8_t psk[EG_PSK_MAX];
		size_t len = 0;
		struct eg_err err;

		if (eg_site_psk_get(d->st, s->id, psk, &len, &err) == 0)
			json_object_object_add(o, "psk",
					       json_object_new_string_len((const char *)psk,
									  len));
		OPENSSL_cleanse(psk, sizeof(psk));
	}
	if (detail) {
		struct json_object *c = json_object_new_object();
		struct timespec now;

		json_object_object_add(c, "rx_pkts", json_object_new_uint64(ctr.ike_pkts + ctr.esp_pkts));
		json_object_object_add(c, "rx_bytes", json_object_new_uint64(ctr.rx_bytes));
		json_object_object_add(c, "ike_pkts", json_object_new_uint64(ctr.ike_pkts));
		json_object_object_add(c, "esp_pkts", json_object_new_uint64(ctr.esp_pkts));
		json_object_object_add(c, "keepalives", json_object_new_uint64(ctr.keepalives));
		json_object_object_add(c, "drop_disabled", json_object_new_uint64(ctr.drop_disabled));
		json_object_object_add(c, "drop_bad_spi", json_object_new_uint64(ctr.drop_bad_spi));
		json_object_object_add(c, "drop_ike_rate", json_object_new_uint64(ctr.drop_ike_rate));
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ctr.last_alive_ns)
			json_object_object_add(c, "last_alive_secs_ago",
				json_object_new_int64(((int64_t)now.tv_sec * 1000000000LL +
						       now.tv_nsec - (int64_t)ctr.last_alive_ns) /
						      1000000000LL));
		json_object_object_add(o, "counters", c);
		if (d->dp && ds.site_id == s->id) {
			static const char *const names[] = EG_IN_REASON_NAMES;
			struct json_object *in = json_object_new_object();
			struct eg_in_ctr ic;
			unsigned k;

			eg_dp_inner_ctr(d->dp, ds.slot, &ic);
			json_object_object_add(in, "pkts", json_object_new_uint64(ic.pkts));
			json_object_object_add(in, "bytes", json_object_new_uint64(ic.bytes));
			json_object_object_add(in, "new_flows", json_object_new_uint64(ic.new_flows));
			json_object_object_add(in, "new_devices", json_object_new_uint64(ic.new_devs));
			json_object_object_add(in, "endpoint_moves", json_object_new_uint64(ic.moves));
			json_object_object_add(in, "probes", json_object_new_uint64(ic.probes));
			for (k = 0; k < EG_IN_NDROP; k++)
				json_object_object_add(in, names[EG_IN_FIRST_DROP + k],
						       json_object_new_uint64(ic.drop[k]));
			json_object_object_add(o, "inner", in);
		}
	}
	return o;
}

/* ---- data path sync ------------------------------------------------------ */

static int dp_push(struct ipsecd *d, const struct eg_site_rec *s)
{
	int err;

	if (!d->dp)
		return 0;
	err = eg_dp_site_set(d->dp, s->source_ip, s->id, s->enabled);
	if (err)
		pr_err("site '%s' into eg_sites: %s", s->name, strerror(-err));
	return err;
}

static int sync_one(const struct eg_site_rec *s, void *arg)
{
	struct ipsecd *d = arg;
	struct eg_site ds;
	int rc = dp_push(d, s);

	if (!rc && d->status && eg_dp_site_lookup(d->dp, s->source_ip, &ds) == 0)
		eg_status_seed(d->status, ds.slot, ds.site_id, s->up);
	return rc;
}

struct sync_all {
	struct eg_dp_site_init *v;
	bool *up;
	size_t n, cap;
};

static int sync_collect(const struct eg_site_rec *s, void *arg)
{
	struct sync_all *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		void *v = realloc(a->v, cap * sizeof(*a->v));
		void *u = v ? realloc(a->up, cap * sizeof(*a->up)) : NULL;

		if (v)
			a->v = v;
		if (!v || !u)
			return -ENOMEM;
		a->up = u;
		a->cap = cap;
	}
	a->v[a->n] = (struct eg_dp_site_init){ .saddr = s->source_ip,
					       .site_id = s->id,
					       .enabled = s->enabled };
	a->up[a->n++] = s->up;
	return 0;
}

/* Start-up: every site of the store into the (empty) maps in batches. */
int eg_sync_all_sites(struct ipsecd *d)
{
	struct sync_all a = { 0 };
	struct eg_err err;
	size_t i;
	int rc;

	rc = eg_site_foreach(d->st, sync_collect, &a, &err);
	if (rc) {
		pr_err("reading the sites: %s", rc == -ENOMEM ? "out of memory" : err.msg);
		goto out;
	}
	rc = eg_dp_sites_load(d->dp, a.v, a.n);
	if (rc) {
		pr_err("loading %zu sites into eg_sites: %s", a.n, strerror(-rc));
		goto out;
	}
	for (i = 0; d->status && i < a.n; i++)
		eg_status_seed(d->status, a.v[i].slot, a.v[i].site_id, a.up[i]);
out:
	free(a.v);
	free(a.up);
	return rc;
}

/* ---- site commands ------------------------------------------------------- */

static int cmd_site_add(struct cmd_ctx *c)
{
	struct eg_site_rec s = { .enabled = true, .traffic = EG_TT_USER,
				 .license = EG_LIC_WEB_GATEWAY };
	int rc;

	rc = site_from_args(c, &s);
	if (!rc)
		rc = eg_site_add(c->d->st, &s, &c->err);
	if (!rc) {
		rc = dp_push(c->d, &s);
		if (rc) {
			/* keep store and data path in step */
			eg_site_delete(c->d->st, s.name, &c->err);
			eg_fail(&c->err, -rc, "data path refused the site: %s",
				strerror(-rc));
		}
	}
	if (!rc) {
		pr_info("site '%s' added (id %lld)", s.name, (long long)s.id);
		*c->data = site_json(c->d, &s, false, false);
	}
	eg_site_clear(&s);
	return rc;
}

static int list_one(const struct eg_site_rec *s, void *arg)
{
	struct cmd_ctx *c = arg;
	struct json_object *sites;

	json_object_object_get_ex(*c->data, "sites", &sites);
	json_object_array_add(sites, site_json(c->d, s, false, false));
	return 0;
}

/* The IPSec page: filters, name order, pages of at most EG_PAGE_MAX. */
static int cmd_site_list(struct cmd_ctx *c)
{
	struct eg_site_filter f = { .page = 1, .per_page = EG_PAGE_MAX };
	struct json_object *v;
	const char *str;
	int64_t total = 0;
	int rc;

	f.name = arg_str(c, "name");
	f.identity = arg_str(c, "identity");
	f.pop = arg_str(c, "pop");
	if ((str = arg_str(c, "status")) && eg_status_parse(str, &f.status))
		return eg_fail(&c->err, EINVAL,
			       "status '%s' is not up, down or disabled", str);
	if ((str = arg_str(c, "traffic_type")) && eg_traffic_parse(str, &f.traffic))
		return eg_fail(&c->err, EINVAL,
			       "traffic type '%s' is not one of user, iot, mixed, machine, guest-wifi",
			       str);
	if ((str = arg_str(c, "sort"))) {
		if (strcmp(str, "asc") && strcmp(str, "desc"))
			return eg_fail(&c->err, EINVAL, "sort '%s' is not asc or desc", str);
		f.desc = !strcmp(str, "desc");
	}
	if ((v = arg_get(c, "page"))) {
		int64_t n = json_object_get_int64(v);

		if (n < 1 || n > 100000000)
			return eg_fail(&c->err, EINVAL, "page %lld is not a page number",
				       (long long)n);
		f.page = n;
	}
	if ((v = arg_get(c, "per_page"))) {
		int64_t n = json_object_get_int64(v);

		if (n < 1 || n > EG_PAGE_MAX)
			return eg_fail(&c->err, EINVAL,
				       "%lld sites per page is out of range 1-%d",
				       (long long)n, EG_PAGE_MAX);
		f.per_page = n;
	}
	*c->data = json_object_new_object();
	json_object_object_add(*c->data, "sites", json_object_new_array());
	rc = eg_site_query(c->d->st, &f, list_one, c, &total, &c->err);
	if (rc)
		return rc;
	json_object_object_add(*c->data, "total", json_object_new_int64(total));
	json_object_object_add(*c->data, "page", json_object_new_int(f.page));
	json_object_object_add(*c->data, "per_page", json_object_new_int(f.per_page));
	return 0;
}

/* A walk over the IKE SAs (sa list, or one site's in site show). */
struct sa_walk {
	struct cmd_ctx *c;
	int64_t site_id;		/* site show: only this site's */
	struct json_object *arr;	/* where the SAs go */
	uint64_t now;			/* the IKE engine's clock, ms */
};

static void sa_one(const struct ike_sa *sa, void *arg);

static struct json_object *pop_json(const struct eg_pop_rec *p);

/* The site's POPs: primary first, then the backups, each with its details. */
static struct json_object *site_pops(struct cmd_ctx *c, const struct eg_site_rec *s)
{
	struct json_object *arr = json_object_new_array();
	struct eg_pop_rec p;
	struct eg_err err;
	unsigned i;

	for (i = 0; i <= s->n_backup_pops; i++) {
		const char *name = i ? s->backup_pops[i - 1] : s->primary_pop;
		struct json_object *o;

		if (eg_pop_get(c->d->st, name, &p, &err))
			continue;
		o = pop_json(&p);
		json_object_object_add(o, "role", json_object_new_string(i ? "backup" : "primary"));
		json_object_object_add(o, "this_gateway",
				       json_object_new_boolean(c->d->pop_name &&
							       !strcasecmp(c->d->pop_name, name)));
		json_object_array_add(arr, o);
	}
	return arr;
}

/*
 * Where the site's tunnel is, as far as this gateway can tell. A gateway
 * knows only its own IKE SAs, and which POP carries the traffic is the
 * branch's choice (its routing over a primary and a backup tunnel), so each
 * gateway says whether the site has an established IKE SA here, which POP
 * "here" is and the role this POP plays for the site: primary, backup, or
 * none (the site does not list it, e.g. its POPs were edited meanwhile).
 */
static struct json_object *site_here(struct cmd_ctx *c, struct json_object *pops,
				     struct json_object *sas)
{
	struct json_object *o = json_object_new_object();
	const char *role = "none";
	size_t i, up = 0;

	for (i = 0; i < json_object_array_length(sas); i++) {
		struct json_object *st;

		if (json_object_object_get_ex(json_object_array_get_idx(sas, i), "state", &st) &&
		    !strcmp(json_object_get_string(st), "established"))
			up++;
	}
	for (i = 0; i < json_object_array_length(pops); i++) {
		struct json_object *p = json_object_array_get_idx(pops, i), *v;

		if (json_object_object_get_ex(p, "this_gateway", &v) &&
		    json_object_get_boolean(v) && json_object_object_get_ex(p, "role", &v)) {
			role = json_object_get_string(v);
			break;
		}
	}
	json_object_object_add(o, "established", json_object_new_int64((int64_t)up));
	json_object_object_add(o, "pop", c->d->pop_name ?
			       json_object_new_string(c->d->pop_name) : NULL);
	json_object_object_add(o, "role", json_object_new_string(role));
	return o;
}

static int cmd_site_show(struct cmd_ctx *c)
{
	struct eg_site_rec s;
	const char *name;
	struct json_object *v;
	bool secret = false;
	int rc;

	rc = need_str(c, "name", &name);
	if (rc)
		return rc;
	if ((v = arg_get(c, "show_secret")))
		secret = json_object_get_boolean(v);
	rc = eg_site_get(c->d->st, name, &s, &c->err);
	if (rc)
		return rc;
	*c->data = site_json(c->d, &s, secret, true);
	json_object_object_add(*c->data, "pops", site_pops(c, &s));
	{
		struct sa_walk w = { .c = c, .site_id = s.id,
				      .arr = json_object_new_array() };

		if (c->d->tun) {
			w.now = ike_now(eg_tunnels_ike(c->d->tun));
			ike_foreach_site(eg_tunnels_ike(c->d->tun), s.id, sa_one, &w);
		}
		json_object_object_add(*c->data, "here",
				       site_here(c, json_object_object_get(*c->data, "pops"), w.arr));
		json_object_object_add(*c->data, "sas", w.arr);
	}
	eg_site_clear(&s);
	return 0;
}

/* Change some fields of a site; the data path and tunnels follow. */
static int cmd_site_edit(struct cmd_ctx *c)
{
	struct eg_site_rec old, s;
	const char *name, *newname;
	int rc;

	if ((rc = need_str(c, "name", &name)))
		return rc;
	rc = eg_site_get(c->d->st, name, &old, &c->err);
	if (rc)
		return rc;
	s = old;
	rc = site_from_args(c, &s);
	if (!rc && (newname = arg_str(c, "new_name")))
		copy_str(s.name, sizeof(s.name), newname);
	if (!rc)
		rc = eg_site_update(c->d->st, &s, &c->err);
	if (!rc) {
		bool moved = s.source_ip != old.source_ip;
		bool rekey = moved || s.id_type != old.id_type ||
			     strcasecmp(s.id_value, old.id_value) ||
			     s.psk_len || !s.enabled ||
			     strcmp(s.cipher, old.cipher) || s.n_lan != old.n_lan ||
			     memcmp(s.lan, old.lan, sizeof(s.lan[0]) * s.n_lan);

		/* who the peer is, how it authenticates (a PSK given), its
		 * cipher or LAN changed: re-establish under the new rules */
		if (rekey && c->d->tun)
			eg_tunnels_site_down(c->d->tun, s.id, "site edited");
		if (moved && c->d->dp)
			eg_dp_site_del(c->d->dp, old.source_ip);
		dp_push(c->d, &s);
		if (!rekey && c->d->tun)
			eg_tunnels_site_changed(c->d->tun, &s);
		pr_info("site '%s' edited%s", s.name, rekey ? " (tunnels re-established)" : "");
		*c->data = site_json(c->d, &s, false, false);
	}
	eg_site_clear(&old);
	eg_site_clear(&s);
	return rc;
}

/* Sites named in args "names" (list) or "name"; all must exist. */
static int collect_sites(struct cmd_ctx *c, struct eg_site_rec **out, size_t *n)
{
	struct json_object *v = arg_get(c, "names");
	struct eg_site_rec *recs;
	size_t i, cnt;
	const char *one = arg_str(c, "name");

	if (!v && !one)
		return eg_fail(&c->err, EINVAL, "missing \"names\"");
	if (v && !json_object_is_type(v, json_type_array))
		return eg_fail(&c->err, EINVAL, "\"names\" must be a list");
	cnt = v ? json_object_array_length(v) : 1;
	if (cnt == 0 || cnt > 100000)
		return eg_fail(&c->err, EINVAL, "give 1 to 100000 site names");
	recs = calloc(cnt, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < cnt; i++) {
		const char *name = v ?
			json_object_get_string(json_object_array_get_idx(v, i)) : one;
		int rc = eg_site_get(c->d->st, name ? name : "", &recs[i], &c->err);

		if (rc) {
			while (i--)
				eg_site_clear(&recs[i]);
			free(recs);
			return rc;
		}
	}
	*out = recs;
	*n = cnt;
	return 0;
}

enum batch_op { OP_ENABLE, OP_DISABLE, OP_DELETE };

/*
 * Enable, disable or delete several sites: all or nothing in one store
 * transaction; the data path follows only once the transaction committed.
 */
static int site_batch(struct cmd_ctx *c, enum batch_op op)
{
	static const char *const verb[] = { "enabled", "disabled", "deleted" };
	struct eg_site_rec *recs = NULL;
	size_t n = 0, i;
	int rc;

	rc = collect_sites(c, &recs, &n);
	if (rc)
		return rc;
	rc = eg_store_begin(c->d->st, &c->err);
	for (i = 0; !rc && i < n; i++) {
		if (op == OP_DELETE)
			rc = eg_site_delete(c->d->st, recs[i].name, &c->err);
		else
			rc = eg_site_set_enabled(c->d->st, recs[i].name,
						 op == OP_ENABLE, &c->err);
	}
	if (!rc)
		rc = eg_store_commit(c->d->st, &c->err);
	else
		eg_store_rollback(c->d->st);

	if (!rc) {
		struct json_object *names = json_object_new_array();

		for (i = 0; i < n; i++) {
			/* tunnels first: DELETE to the peer, SAs and SPIs out */
			if (c->d->tun && op != OP_ENABLE)
				eg_tunnels_site_down(c->d->tun, recs[i].id,
						     op == OP_DELETE ? "site deleted" :
						     "site disabled");
			if (c->d->dp && op == OP_DELETE)
				eg_dp_site_del(c->d->dp, recs[i].source_ip);
			else if (c->d->dp)
				eg_dp_site_set(c->d->dp, recs[i].source_ip,
					       recs[i].id, op == OP_ENABLE);
			pr_info("site '%s' %s", recs[i].name, verb[op]);
			json_object_array_add(names,
					      json_object_new_string(recs[i].name));
		}
		*c->data = json_object_new_object();
		json_object_object_add(*c->data, verb[op], names);
	}
	for (i = 0; i < n; i++)
		eg_site_clear(&recs[i]);
	free(recs);
	return rc;
}

static int cmd_site_enable(struct cmd_ctx *c)  { return site_batch(c, OP_ENABLE); }
static int cmd_site_disable(struct cmd_ctx *c) { return site_batch(c, OP_DISABLE); }
static int cmd_site_delete(struct cmd_ctx *c)  { return site_batch(c, OP_DELETE); }

/* ---- flows ------------------------------------------------------------------ */

static void flow_one(const struct eg_flow_key *k, const struct eg_flow *f,
		     void *arg)
{
	static const char *const cls[] = { "tcp-syn", "tcp", "tcp-fin", "udp",
					   "icmp" };
	struct json_object *o = json_object_new_object();
	char a[INET_ADDRSTRLEN];
	uint64_t now = eg_mono_ns();

	json_object_object_add(o, "proto", json_object_new_string(
		k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "icmp"));
	json_object_object_add(o, "src", json_object_new_string(ip_str(k->saddr, a)));
	json_object_object_add(o, "sport", json_object_new_int(ntohs(k->sport)));
	json_object_object_add(o, "dst", json_object_new_string(ip_str(k->daddr, a)));
	json_object_object_add(o, "dport", json_object_new_int(ntohs(k->dport)));
	json_object_object_add(o, "state", json_object_new_string(
		f->tclass < sizeof(cls) / sizeof(cls[0]) ? cls[f->tclass] : "?"));
	json_object_object_add(o, "idle_secs", json_object_new_int64(
		now > f->last_seen ? (now - f->last_seen) / 1000000000ULL : 0));
	json_object_array_add(arg, o);
}

/* A site's current inner flows (a walk of the flow table: admin use). */
static int cmd_site_flows(struct cmd_ctx *c)
{
	struct eg_site_rec s;
	struct eg_site ds;
	struct json_object *v, *arr;
	const char *name;
	unsigned limit = 100;
	uint32_t flows = 0, devs = 0;
	int rc;

	if ((rc = need_str(c, "name", &name)))
		return rc;
	if ((v = arg_get(c, "limit"))) {
		int64_t n = json_object_get_int64(v);

		if (n < 1 || n > 1000000)
			return eg_fail(&c->err, EINVAL, "limit %lld is not in 1-1000000",
				       (long long)n);
		limit = n;
	}
	rc = eg_site_get(c->d->st, name, &s, &c->err);
	if (rc)
		return rc;
	*c->data = json_object_new_object();
	arr = json_object_new_array();
	if (c->d->dp && eg_dp_site_lookup(c->d->dp, s.source_ip, &ds) == 0) {
		eg_dp_inner_counts(c->d->dp, ds.slot, &flows, &devs);
		eg_dp_flows(c->d->dp, ds.slot, limit, flow_one, arr);
	}
	json_object_object_add(*c->data, "site", json_object_new_string(s.name));
	json_object_object_add(*c->data, "flows", json_object_new_int64(flows));
	json_object_object_add(*c->data, "endpoints", json_object_new_int64(devs));
	json_object_object_add(*c->data, "list", arr);
	eg_site_clear(&s);
	return 0;
}

/* ---- CSV import / export ---------------------------------------------------- */

/* All rows or none (import.c); then every new site into the data path. */
static int cmd_site_import(struct cmd_ctx *c)
{
	struct eg_import_result res = { 0 };
	struct json_object *v, *errs;
	const char *csv;
	bool dry = false;
	unsigned i;
	int rc;

	if ((rc = need_str(c, "csv", &csv)))
		return rc;
	if ((v = arg_get(c, "dry_run")))
		dry = json_object_get_boolean(v);
	rc = eg_site_import_csv(c->d->st, csv, strlen(csv), dry, &res, &c->err);
	*c->data = json_object_new_object();
	json_object_object_add(*c->data, "rows", json_object_new_int64(res.rows));
	json_object_object_add(*c->data, "imported", json_object_new_int64(res.imported));
	errs = json_object_new_array();
	for (i = 0; i < res.n_errors; i++)
		json_object_array_add(errs, json_object_new_string(res.errors[i]));
	json_object_object_add(*c->data, "errors", errs);
	if (!rc && !dry && res.imported) {
		rc = eg_import_foreach_added(c->d->st, &res, sync_one, c->d, &c->err);
		pr_info("CSV import: %u sites added", res.imported);
	}
	eg_import_result_free(&res);
	return rc;
}

static int cmd_site_export(struct cmd_ctx *c)
{
	struct json_object *v;
	bool secret = false;
	char *out = NULL;
	size_t len = 0;
	int rc;

	if ((v = arg_get(c, "show_secret")))
		secret = json_object_get_boolean(v);
	rc = eg_site_export_csv(c->d->st, &out, &len, secret, &c->err);
	if (rc)
		return rc;
	*c->data = json_object_new_object();
	json_object_object_add(*c->data, "csv", json_object_new_string_len(out, len));
	eg_site_export_free(out, len);
	return 0;
}

/* ---- POP commands -------------------------------------------------------- */

static struct json_object *pop_json(const struct eg_pop_rec *p)
{
	struct json_object *o = json_object_new_object();
	char ip[INET_ADDRSTRLEN];

	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "gateway_ip",
			       json_object_new_string(ip_str(p->gateway_ip, ip)));
	json_object_object_add(o, "probe_ip",
			       json_object_new_string(ip_str(p->probe_ip, ip)));
	json_object_object_add(o, "location", json_object_new_string(p->location));
	json_object_object_add(o, "accepting", json_object_new_boolean(p->accepting));
	return o;
}

static int cmd_pop_add(struct cmd_ctx *c)
{
	struct eg_pop_rec p = { .accepting = true };
	const char *name, *gw, *probe, *loc;
	struct json_object *v;
	int rc;

	if ((rc = need_str(c, "name", &name)) || (rc = need_str(c, "gateway_ip", &gw)) ||
	    (rc = need_str(c, "probe_ip", &probe)))
		return rc;
	copy_str(p.name, sizeof(p.name), name);
	if (eg_ipv4_parse(gw, &p.gateway_ip))
		return eg_fail(&c->err, EINVAL,
			       "gateway ip '%s' is not a dotted-quad IPv4 address", gw);
	if (eg_ipv4_parse(probe, &p.probe_ip))
		return eg_fail(&c->err, EINVAL,
			       "probe ip '%s' is not a dotted-quad IPv4 address", probe);
	if ((loc = arg_str(c, "location")))
		copy_str(p.location, sizeof(p.location), loc);
	if ((v = arg_get(c, "accepting")))
		p.accepting = json_object_get_boolean(v);
	rc = eg_pop_add(c->d->st, &p, &c->err);
	if (!rc)
		*c->data = pop_json(&p);
	return rc;
}

static int pop_list_one(const struct eg_pop_rec *p, void *arg)
{
	json_object_array_add(arg, pop_json(p));
	return 0;
}

static int cmd_pop_list(struct cmd_ctx *c)
{
	*c->data = json_object_new_array();
	return eg_pop_foreach(c->d->st, pop_list_one, *c->data, &c->err);
}

static int cmd_pop_show(struct cmd_ctx *c)
{
	struct eg_pop_rec p;
	const char *name;
	int rc;

	if ((rc = need_str(c, "name", &name)))
		return rc;
	rc = eg_pop_get(c->d->st, name, &p, &c->err);
	if (!rc)
		*c->data = pop_json(&p);
	return rc;
}

/* Change fields of a POP: gateway_ip, probe_ip, location, accepting, new_name. */
static int pop_change(struct cmd_ctx *c, int accepting)
{
	struct eg_pop_rec p;
	const char *name, *str;
	struct json_object *v;
	int rc;

	if ((rc = need_str(c, "name", &name)))
		return rc;
	rc = eg_pop_get(c->d->st, name, &p, &c->err);
	if (rc)
		return rc;
	if ((str = arg_str(c, "gateway_ip")) &&
	    eg_ipv4_parse_field("gateway ip", str, &p.gateway_ip, &c->err))
		return -EINVAL;
	if ((str = arg_str(c, "probe_ip")) &&
	    eg_ipv4_parse_field("probe ip", str, &p.probe_ip, &c->err))
		return -EINVAL;
	if ((str = arg_str(c, "location")))
		copy_str(p.location, sizeof(p.location), str);
	if ((str = arg_str(c, "new_name")))
		copy_str(p.name, sizeof(p.name), str);
	if ((v = arg_get(c, "accepting")))
		p.accepting = json_object_get_boolean(v);
	if (accepting >= 0)
		p.accepting = accepting;
	rc = eg_pop_update(c->d->st, &p, &c->err);
	if (rc)
		return rc;
	if (accepting >= 0)
		pr_info("POP '%s' %s", p.name, accepting ?
			"accepts new tunnels again" :
			"drained: no new IKE_SA_INIT answered, existing tunnels stay");
	*c->data = pop_json(&p);
	return 0;
}

static int cmd_pop_edit(struct cmd_ctx *c)    { return pop_change(c, -1); }
static int cmd_pop_drain(struct cmd_ctx *c)   { return pop_change(c, 0); }
static int cmd_pop_undrain(struct cmd_ctx *c) { return pop_change(c, 1); }

static int cmd_pop_delete(struct cmd_ctx *c)
{
	const char *name;
	int rc;

	if ((rc = need_str(c, "name", &name)))
		return rc;
	return eg_pop_delete(c->d->st, name, &c->err);
}

/* ---- SAs ------------------------------------------------------------------- */

static void ts_str(const struct ike_ts *ts, unsigned n, char *buf, size_t cap)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < n && off < cap; i++) {
		char a[INET_ADDRSTRLEN];

		off += snprintf(buf + off, cap - off, "%s%s/%u", i ? "," : "",
				ip_str(ts[i].addr, a), ts[i].len);
	}
}

static const char *spi_hex(const uint8_t spi[8], char buf[17])
{
	unsigned i;

	for (i = 0; i < 8; i++)
		snprintf(buf + 2 * i, 3, "%02x", spi[i]);
	return buf;
}

static void add_secs(struct json_object *o, const char *key, uint64_t now,
		     uint64_t then, bool ago)
{
	int64_t d = ago ? (int64_t)(now - then) : (int64_t)(then - now);

	json_object_object_add(o, key, json_object_new_int64(d / 1000));
}

static struct json_object *child_json(struct sa_walk *w, const struct ike_sa *sa,
				      const struct ike_child *ch)
{
	struct ipsecd *d = w->c->d;
	struct json_object *k = json_object_new_object();
	char buf[256];
	uint64_t b = 0, p = 0;

	snprintf(buf, sizeof(buf), "%08x", ntohl(ch->spi_in));
	json_object_object_add(k, "spi_in", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%08x", ntohl(ch->spi_out));
	json_object_object_add(k, "spi_out", json_object_new_string(buf));
	json_object_object_add(k, "state",
			       json_object_new_string(ike_child_state_name(ch->state)));
	json_object_object_add(k, "reqid", json_object_new_int64(ch->reqid));
	json_object_object_add(k, "rekeys", json_object_new_int64(ch->rekeys));
	json_object_object_add(k, "proposal",
			       json_object_new_string(ikev2_choice_str(&ch->prop, buf, sizeof(buf))));
	ts_str(ch->tsi, ch->n_tsi, buf, sizeof(buf));
	json_object_object_add(k, "ts_remote", json_object_new_string(buf));
	ts_str(ch->tsr, ch->n_tsr, buf, sizeof(buf));
	json_object_object_add(k, "ts_local", json_object_new_string(buf));
	add_secs(k, "age", w->now, ch->created, true);
	add_secs(k, "rekey_in", w->now, ch->soft_at, false);
	add_secs(k, "expires_in", w->now, ch->hard_at, false);
	if (d->tun)
		eg_tunnels_sa_stats(d->tun, ch->spi_in, d->local_addr, &b, &p);
	json_object_object_add(k, "bytes_in", json_object_new_uint64(b));
	json_object_object_add(k, "packets_in", json_object_new_uint64(p));
	b = p = 0;
	if (d->tun)
		eg_tunnels_sa_stats(d->tun, ch->spi_out, sa->peer_addr, &b, &p);
	json_object_object_add(k, "bytes_out", json_object_new_uint64(b));
	json_object_object_add(k, "packets_out", json_object_new_uint64(p));
	return k;
}

static void sa_one(const struct ike_sa *sa, void *arg)
{
	struct sa_walk *w = arg;
	struct json_object *o = json_object_new_object(), *kids;
	char buf[256], ip[INET_ADDRSTRLEN];
	unsigned i;

	json_object_object_add(o, "site", json_object_new_string(sa->site_name));
	json_object_object_add(o, "state", json_object_new_string(ike_state_name(sa->state)));
	json_object_object_add(o, "peer", json_object_new_string(ip_str(sa->peer_addr, ip)));
	json_object_object_add(o, "peer_port", json_object_new_int(sa->peer_port));
	json_object_object_add(o, "nat", json_object_new_boolean(sa->peer_natted));
	json_object_object_add(o, "spi_i", json_object_new_string(spi_hex(sa->spi_i, buf)));
	json_object_object_add(o, "spi_r", json_object_new_string(spi_hex(sa->spi_r, buf)));
	json_object_object_add(o, "proposal",
			       json_object_new_string(ikev2_choice_str(&sa->prop, buf, sizeof(buf))));
	add_secs(o, "age", w->now, sa->created, true);
	if (sa->state == IKE_S_ESTABLISHED) {
		add_secs(o, "rekey_in", w->now, sa->rekey_at, false);
		add_secs(o, "expires_in", w->now, sa->expire_at, false);
	}
	add_secs(o, "last_active", w->now, sa->active_at, true);
	json_object_object_add(o, "ike_rekeys", json_object_new_int64(sa->ike_rekeys));
	json_object_object_add(o, "child_rekeys", json_object_new_int64(sa->child_rekeys));
	json_object_object_add(o, "dpd_sent", json_object_new_int64(sa->dpd_sent));
	json_object_object_add(o, "initial_contact",
			       json_object_new_boolean(sa->initial_contact));
	json_object_object_add(o, "bytes", json_object_new_int64(ike_sa_bytes(sa)));
	kids = json_object_new_array();
	for (i = 0; i < IKE_CHILD_SLOTS; i++)
		if (sa->child[i])
			json_object_array_add(kids, child_json(w, sa, sa->child[i]));
	json_object_object_add(o, "children", kids);
	json_object_array_add(w->arr, o);
}

static int cmd_sa_list(struct cmd_ctx *c)
{
	struct sa_walk w = { .c = c };

	*c->data = w.arr = json_object_new_array();
	if (c->d->tun) {
		w.now = ike_now(eg_tunnels_ike(c->d->tun));
		ike_foreach(eg_tunnels_ike(c->d->tun), sa_one, &w);
	}
	return 0;
}

/*
 * Operator and debug: make ipsecd rekey a site's Child SA (spi_in, or all)
 * or its IKE SA now, as the initiator.
 */
static int cmd_sa_rekey(struct cmd_ctx *c)
{
	struct eg_site_rec s;
	struct json_object *v;
	const char *name, *spi;
	uint32_t spi_in = 0;
	int64_t site_id;
	int rc;

	if ((rc = need_str(c, "site", &name)))
		return rc;
	if (!c->d->tun)
		return eg_fail(&c->err, ENOTCONN, "the IKE responder is off");
	rc = eg_site_get(c->d->st, name, &s, &c->err);
	if (rc)
		return rc;
	site_id = s.id;		/* eg_site_clear() zeroes the whole record */
	eg_site_clear(&s);
	if ((v = arg_get(c, "ike")) && json_object_get_boolean(v)) {
		rc = ike_rekey_ike_now(eg_tunnels_ike(c->d->tun), site_id);
		if (rc)
			return eg_fail(&c->err, -rc, "site '%s' has no established IKE SA",
				       name);
		return 0;
	}
	if ((spi = arg_str(c, "spi"))) {
		char *end;
		unsigned long x = strtoul(spi, &end, 16);

		if (*end || !*spi || x > 0xffffffffu)
			return eg_fail(&c->err, EINVAL, "SPI '%s' is not 8 hex digits", spi);
		spi_in = htonl((uint32_t)x);
	}
	rc = ike_rekey_child_now(eg_tunnels_ike(c->d->tun), site_id, spi_in);
	if (rc)
		return eg_fail(&c->err, -rc, "site '%s' has no such installed Child SA",
			       name);
	return 0;
}

/* Stop the daemon: keep the tunnels (a restart) or tear everything down. */
static int cmd_shutdown(struct cmd_ctx *c)
{
	struct json_object *v = arg_get(c, "teardown");

	c->d->teardown = v && json_object_get_boolean(v);
	c->d->stop = true;
	pr_info("shutdown asked over the control socket (%s)",
		c->d->teardown ? "teardown" : "tunnels kept");
	return 0;
}

static int cmd_status(struct cmd_ctx *c)
{
	struct ipsecd *d = c->d;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "interface",
			       json_object_new_string(d->ifname ? d->ifname : ""));
	json_object_object_add(o, "xdp_mode",
			       json_object_new_string(d->dp ? eg_dp_mode(d->dp) : "none"));
	json_object_object_add(o, "pop",
			       json_object_new_string(d->pop_name ? d->pop_name : ""));
	json_object_object_add(o, "db", json_object_new_string(d->db_path));
	json_object_object_add(o, "sites", json_object_new_int64(eg_site_count(d->st)));
	if (d->tun) {
		const struct ike_stats *s = ike_get_stats(eg_tunnels_ike(d->tun));
		struct json_object *k = json_object_new_object();
		const struct { const char *n; uint64_t v; } f[] = {
			{ "rx", s->rx }, { "rx_dropped", s->rx_dropped },
			{ "rx_bad", s->rx_bad }, { "ikev1_dropped", s->ikev1 },
			{ "retransmits", s->retransmits }, { "init_ok", s->init_ok },
			{ "init_no_proposal", s->init_no_proposal },
			{ "init_invalid_ke", s->init_invalid_ke },
			{ "init_refused", s->init_refused }, { "auth_ok", s->auth_ok },
			{ "auth_failed", s->auth_failed }, { "child_ok", s->child_ok },
			{ "child_failed", s->child_failed },
			{ "deletes_rx", s->deletes_rx }, { "deletes_tx", s->deletes_tx },
			{ "expired", s->expired }, { "init_too_big", s->init_too_big },
			{ "init_half_open_full", s->init_half_open_full },
			{ "init_cookie_sent", s->init_cookie_sent },
			{ "init_cookie_bad", s->init_cookie_bad },
			{ "init_src_limited", s->init_src_limited },
			{ "dh_keygens", s->dh_keygens }, { "dh_reused", s->dh_reused },
			{ "frag_rx", s->frag_rx }, { "frag_reassembled", s->frag_reassembled },
			{ "frag_tx", s->frag_tx }, { "frag_dropped", s->frag_dropped },
			{ "init_offloaded", s->init_offloaded },
			{ "init_inline", s->init_inline }, { "init_stale", s->init_stale },
			{ "resend_limited", s->resend_limited },
			{ "ike_rekeys", s->ike_rekeys }, { "child_rekeys", s->child_rekeys },
			{ "rekey_collisions", s->rekey_collisions },
			{ "dpd_sent", s->dpd_sent }, { "dpd_dead", s->dpd_dead },
			{ "req_retransmits", s->req_retransmits },
			{ "req_timeouts", s->req_timeouts }, { "replaced", s->replaced },
			{ "nat_moves", s->nat_moves }, { "resumed", s->resumed },
			{ "resume_failed", s->resume_failed }, { "saved", s->saved },
			{ "save_failed", s->save_failed },
		};
		unsigned i;

		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			json_object_object_add(k, f[i].n, json_object_new_uint64(f[i].v));
		{
			unsigned half, all = ike_sa_count(eg_tunnels_ike(d->tun), &half);

			json_object_object_add(k, "sas", json_object_new_uint64(all));
			json_object_object_add(k, "half_open", json_object_new_uint64(half));
		}
		json_object_object_add(o, "ike", k);
	}
	*c->data = o;
	return 0;
}

/* health add|list|delete (cmds_health.c) */
static int cmd_health_add(struct cmd_ctx *c)
{
	return eg_cmd_health_add(c->d, c->args, c->data, &c->err);
}

static int cmd_health_list(struct cmd_ctx *c)
{
	return eg_cmd_health_list(c->d, c->args, c->data, &c->err);
}

static int cmd_health_delete(struct cmd_ctx *c)
{
	return eg_cmd_health_delete(c->d, c->args, c->data, &c->err);
}

static const struct {
	const char *name;
	int (*fn)(struct cmd_ctx *c);
} commands[] = {
	{ "status", cmd_status },
	{ "site.add", cmd_site_add },
	{ "site.list", cmd_site_list },
	{ "site.show", cmd_site_show },
	{ "site.edit", cmd_site_edit },
	{ "site.import", cmd_site_import },
	{ "site.flows", cmd_site_flows },
	{ "site.export", cmd_site_export },
	{ "site.delete", cmd_site_delete },
	{ "site.enable", cmd_site_enable },
	{ "site.disable", cmd_site_disable },
	{ "sa.list", cmd_sa_list },
	{ "sa.rekey", cmd_sa_rekey },
	{ "shutdown", cmd_shutdown },
	{ "pop.add", cmd_pop_add },
	{ "pop.list", cmd_pop_list },
	{ "pop.show", cmd_pop_show },
	{ "pop.edit", cmd_pop_edit },
	{ "pop.drain", cmd_pop_drain },
	{ "pop.undrain", cmd_pop_undrain },
	{ "pop.delete", cmd_pop_delete },
	{ "health.add", cmd_health_add },
	{ "health.list", cmd_health_list },
	{ "health.delete", cmd_health_delete },
};

int eg_cmd_dispatch(void *arg, const char *cmd, struct json_object *args,
		    struct json_object **data, char *err, size_t errlen)
{
	struct cmd_ctx c = { .d = arg, .args = args, .data = data };
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, cmd))
			continue;
		rc = commands[i].fn(&c);
		if (rc)
			snprintf(err, errlen, "%s", c.err.msg[0] ? c.err.msg :
				 strerror(-rc));
		return rc;
	}
	snprintf(err, errlen, "unknown command '%s'", cmd);
	return -EOPNOTSUPP;
}
