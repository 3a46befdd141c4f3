// SPDX-License-Identifier: GPL-2.0
/*
 * ipsecctl - manage espgate's sites and POPs through ipsecd's control
 * socket, and inspect the pinned BPF maps directly.
 *
 * Commands match by unique prefix (`ipsecctl s l` is `site list`); -j prints
 * JSON, -p pretty JSON; errors go to stderr with a non-zero exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <linux/types.h>

#include "ctl.h"
#include "espgate.h"
#include "ipsecctl.h"
#include "store.h"

struct ctl_opts g = { .sock = EG_CTL_SOCK, .pin_root = EG_PIN_ROOT,
		      .db = "/var/lib/espgate/espgate.db" };

int ctl_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o,
			g.pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "ipsecctl: %s\n", msg);
	}
	return EXIT_FAILURE;
}

void print_json(struct json_object *o)
{
	int flags = g.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
			       JSON_C_TO_STRING_PLAIN;

	printf("%s\n", json_object_to_json_string_ext(o, flags));
}

static bool is_prefix(const char *arg, const char *full)
{
	return strncmp(arg, full, strlen(arg)) == 0;
}

int cmd_dispatch(const struct cmd *cmds, const char *group, int argc,
		 char **argv)
{
	const struct cmd *hit = NULL, *c;

	if (argc < 1 || !strcmp(argv[0], "help")) {
		FILE *f = argc < 1 ? stderr : stdout;

		for (c = cmds; c->name; c++)
			fprintf(f, "  ipsecctl %s%s%s\n", group ? group : "",
				group ? " " : "", c->help);
		return argc < 1 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	/* Exact name, else the first command in table order that the
	 * argument prefixes (as bpftool does: `s` is `site`, not `status`). */
	for (c = cmds; c->name; c++) {
		if (!strcmp(argv[0], c->name)) {
			hit = c;
			break;
		}
		if (!hit && is_prefix(argv[0], c->name))
			hit = c;
	}
	if (!hit) {
		ctl_err("unknown command '%s'%s", argv[0],
			group ? "" : "; try 'ipsecctl help'");
		for (c = cmds; c->name; c++)
			fprintf(stderr, "  ipsecctl %s%s%s\n", group ? group : "",
				group ? " " : "", c->help);
		return EXIT_FAILURE;
	}
	return hit->fn(argc - 1, argv + 1);
}

/* ---- talking to ipsecd ----------------------------------------------------- */

/* Send cmd; on success hand back the "data" member (owned by *resp). */
static int call(const char *cmd, struct json_object *args,
		struct json_object **resp, struct json_object **data)
{
	char err[1024];
	struct json_object *ok, *msg;

	if (eg_ctl_call(g.sock, cmd, args, resp, err, sizeof(err)))
		return ctl_err("%s", err);
	if (!json_object_object_get_ex(*resp, "ok", &ok) ||
	    !json_object_get_boolean(ok)) {
		int rc;

		if (json_object_object_get_ex(*resp, "error", &msg))
			rc = ctl_err("%s", json_object_get_string(msg));
		else
			rc = ctl_err("ipsecd refused '%s'", cmd);
		json_object_put(*resp);
		*resp = NULL;
		return rc;
	}
	*data = NULL;
	json_object_object_get_ex(*resp, "data", data);
	return 0;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "";
	return json_object_get_string(v);
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static char *join_array(struct json_object *o, const char *key, char *buf,
			size_t cap)
{
	struct json_object *a;
	size_t i, off = 0;

	buf[0] = '\0';
	if (!json_object_object_get_ex(o, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return buf;
	for (i = 0; i < json_object_array_length(a) && off < cap; i++)
		off += snprintf(buf + off, cap - off, "%s%s", i ? "," : "",
				json_object_get_string(json_object_array_get_idx(a, i)));
	return buf;
}

/* ---- site ------------------------------------------------------------------ */

static int read_file_secret(const char *path, char *out, size_t cap)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t n;

	if (!f)
		return -errno;
	n = fread(out, 1, cap - 1, f);
	if (f != stdin)
		fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return 0;
}

static struct json_object *csv_list(const char *s, bool numbers)
{
	struct json_object *a = json_object_new_array();
	char *dup = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (numbers) {
			char *end;
			long v = strtol(tok, &end, 10);

			json_object_array_add(a, json_object_new_int64(*end ? -1 : v));
		} else {
			json_object_array_add(a, json_object_new_string(tok));
		}
	}
	free(dup);
	return a;
}

/* Guess the identity type: dotted quad, then email, else FQDN. */
static const char *ident_type_of(const char *v)
{
	uint32_t a;

	if (eg_ipv4_parse(v, &a) == 0)
		return "ipv4";
	return strchr(v, '@') ? "email" : "fqdn";
}

#define SITE_KEYWORDS \
	"identity ID [identity-type ipv4|fqdn|email] source-ip IP\n" \
	"        psk SECRET | psk-file FILE|- pop NAME [backup-pops A,B,...]\n" \
	"        [traffic-type user|iot|mixed|machine|guest-wifi]\n" \
	"        [license web-gateway|cloud-firewall] [ports P,P,...]\n" \
	"        [max-bandwidth MBPS] [enabled|disabled]"

/* Turn `keyword value ...` into the JSON args ipsecd expects. */
static int site_args(int argc, char **argv, struct json_object *args)
{
	char secret[EG_PSK_MAX + 2];
	int i;

	for (i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "enabled") || !strcmp(k, "disabled")) {
			json_object_object_add(args, "enabled",
					       json_object_new_boolean(k[0] == 'e'));
			continue;
		}
		if (!v)
			return ctl_err("'%s' needs a value", k);
		i++;
		if (!strcmp(k, "identity")) {
			json_object_object_add(args, "identity", json_object_new_string(v));
			if (!json_object_object_get(args, "id_type"))
				json_object_object_add(args, "id_type",
						       json_object_new_string(ident_type_of(v)));
		} else if (!strcmp(k, "identity-type")) {
			json_object_object_add(args, "id_type", json_object_new_string(v));
		} else if (!strcmp(k, "source-ip")) {
			json_object_object_add(args, "source_ip", json_object_new_string(v));
		} else if (!strcmp(k, "psk")) {
			json_object_object_add(args, "psk", json_object_new_string(v));
		} else if (!strcmp(k, "psk-file")) {
			if (read_file_secret(v, secret, sizeof(secret)))
				return ctl_err("cannot read PSK from '%s': %s", v,
					       strerror(errno));
			json_object_object_add(args, "psk", json_object_new_string(secret));
			OPENSSL_cleanse(secret, sizeof(secret));
		} else if (!strcmp(k, "pop")) {
			json_object_object_add(args, "primary_pop", json_object_new_string(v));
		} else if (!strcmp(k, "backup-pops")) {
			json_object_object_add(args, "backup_pops", csv_list(v, false));
		} else if (!strcmp(k, "traffic-type")) {
			json_object_object_add(args, "traffic_type", json_object_new_string(v));
		} else if (!strcmp(k, "license")) {
			json_object_object_add(args, "license", json_object_new_string(v));
		} else if (!strcmp(k, "ports")) {
			json_object_object_add(args, "ports", csv_list(v, true));
		} else if (!strcmp(k, "max-bandwidth")) {
			char *end;
			long bw = strtol(v, &end, 10);

			if (*end || bw < 0)
				return ctl_err("max-bandwidth '%s' is not a number of Mbps", v);
			json_object_object_add(args, "max_bandwidth_mbps",
					       json_object_new_int64(bw));
		} else {
			return ctl_err("unknown site keyword '%s'; expected:\n        %s",
				       k, SITE_KEYWORDS);
		}
	}
	return 0;
}

static void print_site_line(struct json_object *s)
{
	printf("%-20s %-28s %-15s %-8s %-8s %s\n", jstr(s, "name"),
	       jstr(s, "identity"), jstr(s, "source_ip"), jstr(s, "status"),
	       jstr(s, "primary_pop"), jstr(s, "traffic_type"));
}

static void print_site_detail(struct json_object *s)
{
	struct json_object *c;
	char buf[1024];

	printf("site %s (id %lld)\n", jstr(s, "name"), (long long)jint(s, "id"));
	printf("  identity      %s %s\n", jstr(s, "id_type"), jstr(s, "identity"));
	printf("  source ip     %s\n", jstr(s, "source_ip"));
	printf("  status        %s\n", jstr(s, "status"));
	printf("  pop           %s\n", jstr(s, "primary_pop"));
	printf("  backup pops   %s\n", join_array(s, "backup_pops", buf, sizeof(buf)));
	printf("  traffic type  %s\n", jstr(s, "traffic_type"));
	printf("  license       %s\n", jstr(s, "license"));
	printf("  custom ports  %s\n", join_array(s, "ports", buf, sizeof(buf)));
	printf("  max bandwidth %lld Mbps%s\n", (long long)jint(s, "max_bandwidth_mbps"),
	       jint(s, "max_bandwidth_mbps") ? "" : " (no limit)");
	printf("  enabled       %s\n", jstr(s, "enabled"));
	if (json_object_object_get(s, "psk"))
		printf("  psk           %s\n", jstr(s, "psk"));
	if (json_object_object_get_ex(s, "counters", &c)) {
		printf("  counters      rx %lld pkts %lld bytes, ike %lld, esp %lld, keepalives %lld\n",
		       (long long)jint(c, "rx_pkts"), (long long)jint(c, "rx_bytes"),
		       (long long)jint(c, "ike_pkts"), (long long)jint(c, "esp_pkts"),
		       (long long)jint(c, "keepalives"));
		printf("  dropped       disabled %lld, bad spi %lld\n",
		       (long long)jint(c, "drop_disabled"),
		       (long long)jint(c, "drop_bad_spi"));
		if (json_object_object_get(c, "last_alive_secs_ago"))
			printf("  last alive    %llds ago\n",
			       (long long)jint(c, "last_alive_secs_ago"));
		else
			printf("  last alive    never\n");
	}
}

static int site_add(int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	int rc;

	if (argc < 1)
		return ctl_err("usage: ipsecctl site add NAME " SITE_KEYWORDS);
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	rc = site_args(argc - 1, argv + 1, args);
	if (!rc)
		rc = call("site.add", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json)
		print_json(data);
	else
		printf("site %s added\n", jstr(data, "name"));
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int site_list(int argc, char **argv)
{
	struct json_object *resp, *data;
	size_t i;

	(void)argv;
	if (argc)
		return ctl_err("usage: ipsecctl site list");
	if (call("site.list", NULL, &resp, &data))
		return EXIT_FAILURE;
	if (g.json) {
		print_json(data);
	} else {
		printf("%-20s %-28s %-15s %-8s %-8s %s\n", "NAME", "SOURCE IDENTITY",
		       "SOURCE IP", "STATUS", "POP", "TRAFFIC TYPE");
		for (i = 0; i < json_object_array_length(data); i++)
			print_site_line(json_object_array_get_idx(data, i));
	}
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int site_show(int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	bool secret = false;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--show-secret"))
		secret = true;
	else if (argc != 1)
		return ctl_err("usage: ipsecctl site show NAME [--show-secret]");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	json_object_object_add(args, "show_secret", json_object_new_boolean(secret));
	rc = call("site.show", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json)
		print_json(data);
	else
		print_site_detail(data);
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int site_batch(const char *cmd, const char *verb, int argc, char **argv)
{
	struct json_object *args, *resp, *data, *names;
	int i, rc;

	if (argc < 1)
		return ctl_err("usage: ipsecctl site %s NAME...", verb);
	args = json_object_new_object();
	names = json_object_new_array();
	for (i = 0; i < argc; i++)
		json_object_array_add(names, json_object_new_string(argv[i]));
	json_object_object_add(args, "names", names);
	rc = call(cmd, args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json)
		print_json(data);
	else
		printf("%d site%s %sd\n", argc, argc == 1 ? "" : "s", verb);
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int site_delete(int argc, char **argv)
{
	return site_batch("site.delete", "delete", argc, argv);
}

static int site_enable(int argc, char **argv)
{
	return site_batch("site.enable", "enable", argc, argv);
}

static int site_disable(int argc, char **argv)
{
	return site_batch("site.disable", "disable", argc, argv);
}

static const struct cmd site_cmds[] = {
	{ "add", site_add, "add NAME " SITE_KEYWORDS },
	{ "list", site_list, "list" },
	{ "show", site_show, "show NAME [--show-secret]" },
	{ "delete", site_delete, "delete NAME..." },
	{ "enable", site_enable, "enable NAME..." },
	{ "disable", site_disable, "disable NAME..." },
	{ 0 }
};

static int do_site(int argc, char **argv)
{
	return cmd_dispatch(site_cmds, "site", argc, argv);
}

/* ---- pop ------------------------------------------------------------------- */

static int pop_add(int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	int i, rc;

	if (argc < 1)
		return ctl_err("usage: ipsecctl pop add NAME gateway IP probe IP [location TEXT]");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	for (i = 1; i < argc; i += 2) {
		static const char *const keys[][2] = {
			{ "gateway", "gateway_ip" }, { "probe", "probe_ip" },
			{ "location", "location" },
		};
		unsigned k;

		for (k = 0; k < 3; k++)
			if (!strcmp(argv[i], keys[k][0]))
				break;
		if (k == 3 || i + 1 >= argc) {
			json_object_put(args);
			return ctl_err("usage: ipsecctl pop add NAME gateway IP probe IP [location TEXT]");
		}
		json_object_object_add(args, keys[k][1], json_object_new_string(argv[i + 1]));
	}
	rc = call("pop.add", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json)
		print_json(data);
	else
		printf("pop %s added\n", jstr(data, "name"));
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static void print_pop(struct json_object *p)
{
	printf("%-10s %-15s %-15s %-24s %s\n", jstr(p, "name"), jstr(p, "gateway_ip"),
	       jstr(p, "probe_ip"), jstr(p, "location"),
	       json_object_get_boolean(json_object_object_get(p, "accepting")) ?
	       "yes" : "no (draining)");
}

static int pop_list(int argc, char **argv)
{
	struct json_object *resp, *data;
	size_t i;

	(void)argv;
	if (argc)
		return ctl_err("usage: ipsecctl pop list");
	if (call("pop.list", NULL, &resp, &data))
		return EXIT_FAILURE;
	if (g.json) {
		print_json(data);
	} else {
		printf("%-10s %-15s %-15s %-24s %s\n", "NAME", "GATEWAY", "PROBE IP",
		       "LOCATION", "ACCEPTING");
		for (i = 0; i < json_object_array_length(data); i++)
			print_pop(json_object_array_get_idx(data, i));
	}
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int pop_one(const char *cmd, int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	int rc;

	if (argc != 1)
		return ctl_err("usage: ipsecctl pop %s NAME", cmd + 4);
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	rc = call(cmd, args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json)
		print_json(data ? data : json_object_new_object());
	else if (data)
		print_pop(data);
	else
		printf("pop %s deleted\n", argv[0]);
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int pop_show(int argc, char **argv)   { return pop_one("pop.show", argc, argv); }
static int pop_delete(int argc, char **argv) { return pop_one("pop.delete", argc, argv); }

static const struct cmd pop_cmds[] = {
	{ "add", pop_add, "add NAME gateway IP probe IP [location TEXT]" },
	{ "list", pop_list, "list" },
	{ "show", pop_show, "show NAME" },
	{ "delete", pop_delete, "delete NAME" },
	{ 0 }
};

static int do_pop(int argc, char **argv)
{
	return cmd_dispatch(pop_cmds, "pop", argc, argv);
}

static int do_status(int argc, char **argv)
{
	struct json_object *resp, *data;

	(void)argv;
	if (argc)
		return ctl_err("usage: ipsecctl status");
	if (call("status", NULL, &resp, &data))
		return EXIT_FAILURE;
	if (g.json)
		print_json(data);
	else
		printf("interface %s, xdp %s, pop %s, %lld sites, db %s\n",
		       jstr(data, "interface"), jstr(data, "xdp_mode"),
		       jstr(data, "pop"), (long long)jint(data, "sites"),
		       jstr(data, "db"));
	json_object_put(resp);
	return EXIT_SUCCESS;
}

/* ---- sa ---------------------------------------------------------------------- */

static int sa_list(int argc, char **argv)
{
	struct json_object *resp, *data;
	size_t i, j;

	(void)argv;
	if (argc)
		return ctl_err("usage: ipsecctl sa list");
	if (call("sa.list", NULL, &resp, &data))
		return EXIT_FAILURE;
	if (g.json) {
		print_json(data);
		json_object_put(resp);
		return EXIT_SUCCESS;
	}
	for (i = 0; i < json_object_array_length(data); i++) {
		struct json_object *s = json_object_array_get_idx(data, i), *kids;

		printf("%s: IKE %s, peer %s:%lld%s, %s_i %s_r, %llds\n", jstr(s, "site"),
		       jstr(s, "state"), jstr(s, "peer"), (long long)jint(s, "peer_port"),
		       json_object_get_boolean(json_object_object_get(s, "nat")) ?
		       " (NAT)" : "", jstr(s, "spi_i"), jstr(s, "spi_r"),
		       (long long)jint(s, "age"));
		printf("  %s\n", jstr(s, "proposal"));
		if (!json_object_object_get_ex(s, "children", &kids))
			continue;
		for (j = 0; j < json_object_array_length(kids); j++) {
			struct json_object *k = json_object_array_get_idx(kids, j);

			printf("  child %s_i %s_o, %s === %s, %llds\n", jstr(k, "spi_in"),
			       jstr(k, "spi_out"), jstr(k, "ts_local"), jstr(k, "ts_remote"),
			       (long long)jint(k, "age"));
			printf("    %s\n", jstr(k, "proposal"));
			printf("    in %lld bytes %lld pkts, out %lld bytes %lld pkts\n",
			       (long long)jint(k, "bytes_in"), (long long)jint(k, "packets_in"),
			       (long long)jint(k, "bytes_out"), (long long)jint(k, "packets_out"));
		}
	}
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static const struct cmd sa_cmds[] = {
	{ "list", sa_list, "list" },
	{ 0 }
};

static int do_sa(int argc, char **argv)
{
	return cmd_dispatch(sa_cmds, "sa", argc, argv);
}

static const struct cmd top_cmds[] = {
	{ "site", do_site, "site add|list|show|delete|enable|disable ..." },
	{ "pop", do_pop, "pop add|list|show|delete ..." },
	{ "sa", do_sa, "sa list" },
	{ "map", do_map, "map list | map dump NAME" },
	{ "status", do_status, "status" },
	{ 0 }
};

static void usage(FILE *f)
{
	const struct cmd *c;

	fprintf(f, "Usage: ipsecctl [-j|-p] [-s SOCKET] [-P PIN_ROOT] [-d DB] COMMAND ...\n\n");
	for (c = top_cmds; c->name; c++)
		fprintf(f, "  ipsecctl %s\n", c->help);
	fprintf(f, "\nCommands and subcommands match by unique prefix.\n");
}

/* -j and -p may also follow the command (`map dump NAME -j`). */
static int strip_json_flags(int argc, char **argv)
{
	int i, n = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			g.json = true;
		} else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty")) {
			g.json = g.pretty = true;
		} else if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	int c;

	argc = strip_json_flags(argc, argv);
	while ((c = getopt(argc, argv, "+jps:P:d:h")) != -1) {
		switch (c) {
		case 'j': g.json = true; break;
		case 'p': g.json = g.pretty = true; break;
		case 's': g.sock = optarg; break;
		case 'P': g.pin_root = optarg; break;
		case 'd': g.db = optarg; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		default: usage(stderr); return EXIT_FAILURE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	return cmd_dispatch(top_cmds, NULL, argc - optind, argv + optind);
}
