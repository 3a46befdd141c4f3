// SPDX-License-Identifier: GPL-2.0
/*
 * health.c - `ipsecctl health add|list|delete`: the downstream health
 * checks that decide whether sites may have tunnels (user/health.h).
 *
 *   ipsecctl health add web1 http 10.9.0.80:80 service web-gateway \
 *           [path /healthz] [expect 200] [pop POP1] [interval 5] \
 *           [timeout 2] [rise 2] [fall 3]
 *   ipsecctl health add fw1 tcp 10.9.0.81:443 service cloud-firewall
 *   ipsecctl health list
 *   ipsecctl health delete web1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipsecctl.h"

#define ADD_USAGE "usage: ipsecctl health add NAME tcp|http ADDR:PORT [service web-gateway|cloud-firewall]" \
		  " [path P] [expect N] [pop NAME] [interval S] [timeout S] [rise N] [fall N]"

static int health_add(int argc, char **argv)
{
	static const char *const num[] = { "expect", "interval", "timeout", "rise", "fall" };
	static const char *const str[] = { "service", "path", "pop" };
	struct json_object *args;
	int i, rc = 0;
	unsigned k;

	if (argc < 3 || (argc - 3) % 2)
		return ctl_err(ADD_USAGE);
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	json_object_object_add(args, "kind", json_object_new_string(argv[1]));
	json_object_object_add(args, "target", json_object_new_string(argv[2]));
	for (i = 3; i < argc && !rc; i += 2) {
		bool known = false;

		for (k = 0; k < sizeof(str) / sizeof(str[0]); k++) {
			if (!strcmp(argv[i], str[k])) {
				json_object_object_add(args, str[k],
						       json_object_new_string(argv[i + 1]));
				known = true;
			}
		}
		for (k = 0; k < sizeof(num) / sizeof(num[0]); k++) {
			char *end;
			long v;

			if (strcmp(argv[i], num[k]))
				continue;
			known = true;
			v = strtol(argv[i + 1], &end, 10);
			if (*end || end == argv[i + 1] || v < 0)
				rc = ctl_err("%s '%s' is not a number", num[k], argv[i + 1]);
			else
				json_object_object_add(args, num[k], json_object_new_int64(v));
		}
		if (!known)
			rc = ctl_err("unknown keyword '%s'\n" ADD_USAGE, argv[i]);
	}
	if (rc) {
		json_object_put(args);
		return rc;
	}
	return call_done("health.add", args, "health check", "added");
}

static const char *ago(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static int health_list(int argc, char **argv)
{
	struct json_object *resp, *data, *checks, *svc;
	char when[32], what[200];
	size_t i;

	(void)argv;
	if (argc)
		return ctl_err("usage: ipsecctl health list");
	if (call("health.list", NULL, &resp, &data))
		return EXIT_FAILURE;
	if (g.json) {
		print_json(data);
		json_object_put(resp);
		return EXIT_SUCCESS;
	}
	json_object_object_get_ex(data, "services", &svc);
	json_object_object_foreach(svc, name, o) {
		bool ok = json_object_get_boolean(json_object_object_get(o, "healthy"));

		printf("downstream %-15s %s%s%s\n", name, ok ? "healthy" : "UNHEALTHY",
		       jint(o, "since") ? " since " : "", jint(o, "since") ?
		       ago(jint(o, "since"), when, sizeof(when)) : "");
	}
	json_object_object_get_ex(data, "checks", &checks);
	printf("\n%-12s %-14s %-32s %-8s %-19s %s\n", "NAME", "SERVICE", "CHECK",
	       "STATE", "SINCE (UTC)", "LAST");
	for (i = 0; i < json_object_array_length(checks); i++) {
		struct json_object *c = json_object_array_get_idx(checks, i);

		snprintf(what, sizeof(what), "%s %s%s%s%s", jstr(c, "kind"), jstr(c, "target"),
			 jstr(c, "path"), jstr(c, "pop")[0] ? " @" : "", jstr(c, "pop"));
		printf("%-12s %-14s %-32s %-8s %-19s %s (%lld ms)\n", jstr(c, "name"),
		       jstr(c, "service"), what, jstr(c, "state"),
		       ago(jint(c, "since"), when, sizeof(when)), jstr(c, "last"),
		       (long long)jint(c, "last_ms"));
	}
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int health_delete(int argc, char **argv)
{
	struct json_object *args;

	if (argc != 1)
		return ctl_err("usage: ipsecctl health delete NAME");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	return call_done("health.delete", args, "health check", "deleted");
}

static const struct cmd health_cmds[] = {
	{ "add", health_add, "add NAME tcp|http ADDR:PORT [service web-gateway|cloud-firewall] [path P] [expect N] [pop NAME] [interval S] [timeout S] [rise N] [fall N]" },
	{ "list", health_list, "list" },
	{ "delete", health_delete, "delete NAME" },
	{ 0 }
};

int do_health(int argc, char **argv)
{
	return cmd_dispatch(health_cmds, "health", argc, argv);
}
