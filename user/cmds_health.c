// SPDX-License-Identifier: GPL-2.0
/*
 * cmds_health.c - the health.add/list/delete commands (control socket and
 * REST): the store's checks, and what each one is doing now (health.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "health.h"
#include "ipsecd.h"
#include "log.h"

static const char *get_str(struct json_object *args, const char *key)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* An optional whole number: absent keeps *out. */
static int get_u32(struct json_object *args, const char *key, uint32_t *out,
		   struct eg_err *err)
{
	struct json_object *v;
	int64_t n;

	if (!args || !json_object_object_get_ex(args, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return eg_fail(err, EINVAL, "%s must be a whole number", key);
	n = json_object_get_int64(v);
	if (n < 0 || n > 1000000)
		return eg_fail(err, EINVAL, "%s %lld is out of range", key, (long long)n);
	*out = (uint32_t)n;
	return 0;
}

/* "ADDR:PORT" into network-order address and host-order port. */
static int parse_target(const char *s, struct eg_health_rec *h, struct eg_err *err)
{
	if (eg_addr_port_parse(s, &h->addr, &h->port) || !h->port)
		return eg_fail(err, EINVAL, "target '%.64s' is not ADDR:PORT (IPv4, port 1-65535)", s);
	return 0;
}

static struct json_object *check_json(struct ipsecd *d, const struct eg_health_rec *h)
{
	struct json_object *o = json_object_new_object();
	struct eg_health_state st;
	char a[INET_ADDRSTRLEN], t[40];

	eg_health_state(d->health, h->id, &st);
	inet_ntop(AF_INET, &h->addr, a, sizeof(a));
	snprintf(t, sizeof(t), "%s:%u", a, h->port);
	json_object_object_add(o, "name", json_object_new_string(h->name));
	json_object_object_add(o, "pop", json_object_new_string(h->pop));
	json_object_object_add(o, "service", json_object_new_string(eg_license_name(h->service)));
	json_object_object_add(o, "kind", json_object_new_string(h->http ? "http" : "tcp"));
	json_object_object_add(o, "target", json_object_new_string(t));
	if (h->http) {
		json_object_object_add(o, "path", json_object_new_string(h->path));
		json_object_object_add(o, "expect", json_object_new_int(h->expect));
	}
	json_object_object_add(o, "interval", json_object_new_int64(h->interval));
	json_object_object_add(o, "timeout", json_object_new_int64(h->timeout));
	json_object_object_add(o, "rise", json_object_new_int64(h->rise));
	json_object_object_add(o, "fall", json_object_new_int64(h->fall));
	json_object_object_add(o, "runs_here", json_object_new_boolean(st.runs));
	json_object_object_add(o, "state", json_object_new_string(
		!st.runs ? "elsewhere" : st.up ? "up" : "down"));
	json_object_object_add(o, "since", json_object_new_int64(st.since));
	json_object_object_add(o, "last", json_object_new_string(st.last));
	json_object_object_add(o, "last_ms", json_object_new_int64(st.last_ms));
	json_object_object_add(o, "probes", json_object_new_uint64(st.probes));
	json_object_object_add(o, "failures", json_object_new_uint64(st.failures));
	return o;
}

int eg_cmd_health_add(struct ipsecd *d, struct json_object *args,
		      struct json_object **data, struct eg_err *err)
{
	struct eg_health_rec h = { .service = EG_LIC_WEB_GATEWAY, .expect = 200,
				   .interval = 5, .timeout = 2, .rise = 2, .fall = 3 };
	const char *name = get_str(args, "name"), *v;
	uint32_t expect = h.expect;
	int rc;

	if (!name)
		return eg_fail(err, EINVAL, "missing \"name\"");
	snprintf(h.name, sizeof(h.name), "%s", name);
	if (strlen(name) >= sizeof(h.name))
		return eg_fail(err, EINVAL, "health check name is longer than %d bytes",
			       EG_NAME_MAX);
	if ((v = get_str(args, "service")) && eg_license_parse(v, &h.service))
		return eg_fail(err, EINVAL, "service '%.40s' is not web-gateway or cloud-firewall", v);
	v = get_str(args, "kind");
	if (!v || (strcmp(v, "tcp") && strcmp(v, "http")))
		return eg_fail(err, EINVAL, "kind must be tcp or http");
	h.http = !strcmp(v, "http");
	if (!(v = get_str(args, "target")))
		return eg_fail(err, EINVAL, "missing \"target\" (ADDR:PORT)");
	if ((rc = parse_target(v, &h, err)))
		return rc;
	v = get_str(args, "path");
	snprintf(h.path, sizeof(h.path), "%s", v ? v : "/");
	if (v && strlen(v) > EG_HEALTH_PATH_MAX)
		return eg_fail(err, EINVAL, "path is longer than %d bytes", EG_HEALTH_PATH_MAX);
	if ((v = get_str(args, "pop"))) {
		if (strlen(v) > EG_NAME_MAX)
			return eg_fail(err, EINVAL, "POP name is longer than %d bytes", EG_NAME_MAX);
		snprintf(h.pop, sizeof(h.pop), "%s", v);
	}
	if ((rc = get_u32(args, "expect", &expect, err)) ||
	    (rc = get_u32(args, "interval", &h.interval, err)) ||
	    (rc = get_u32(args, "timeout", &h.timeout, err)) ||
	    (rc = get_u32(args, "rise", &h.rise, err)) ||
	    (rc = get_u32(args, "fall", &h.fall, err)))
		return rc;
	if (expect < 100 || expect > 599)
		return eg_fail(err, EINVAL, "expect %u is not an HTTP status (100-599)", expect);
	h.expect = (uint16_t)expect;
	rc = eg_health_add(d->st, &h, err);
	if (rc)
		return rc;
	eg_health_reload(d->health);
	pr_info("health check '%s' added", h.name);
	*data = check_json(d, &h);
	return 0;
}

struct list_ctx {
	struct ipsecd *d;
	struct json_object *arr;
};

static int list_one(const struct eg_health_rec *h, void *arg)
{
	struct list_ctx *l = arg;

	json_object_array_add(l->arr, check_json(l->d, h));
	return 0;
}

int eg_cmd_health_list(struct ipsecd *d, struct json_object *args,
		       struct json_object **data, struct eg_err *err)
{
	struct list_ctx l = { .d = d, .arr = json_object_new_array() };
	struct json_object *svc = json_object_new_object();
	unsigned s;
	int rc;

	(void)args;
	rc = eg_health_foreach(d->st, list_one, &l, err);
	if (rc) {
		json_object_put(l.arr);
		json_object_put(svc);
		return rc;
	}
	for (s = EG_LIC_WEB_GATEWAY; s <= EG_LIC_CLOUD_FIREWALL; s++) {
		struct json_object *o = json_object_new_object();
		int64_t since;
		bool ok = eg_health_service(d->health, s, &since);

		json_object_object_add(o, "healthy", json_object_new_boolean(ok));
		json_object_object_add(o, "since", json_object_new_int64(since));
		json_object_object_add(svc, eg_license_name(s), o);
	}
	*data = json_object_new_object();
	json_object_object_add(*data, "checks", l.arr);
	json_object_object_add(*data, "services", svc);
	return 0;
}

int eg_cmd_health_delete(struct ipsecd *d, struct json_object *args,
			 struct json_object **data, struct eg_err *err)
{
	const char *name = get_str(args, "name");
	int rc;

	if (!name)
		return eg_fail(err, EINVAL, "missing \"name\"");
	rc = eg_health_delete(d->st, name, err);
	if (rc)
		return rc;
	eg_health_reload(d->health);
	pr_info("health check '%s' deleted", name);
	*data = json_object_new_object();
	json_object_object_add(*data, "deleted", json_object_new_string(name));
	return 0;
}
