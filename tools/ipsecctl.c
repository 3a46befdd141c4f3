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
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
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
		for (c = cmds; !g.json && c->name; c++)
			fprintf(stderr, "  ipsecctl %s%s%s\n", group ? group : "",
				group ? " " : "", c->help);
		return EXIT_FAILURE;
	}
	return hit->fn(argc - 1, argv + 1);
}

/* ---- talking to ipsecd ----------------------------------------------------- */

/* Send cmd; on success hand back the "data" member (owned by *resp). */
int call(const char *cmd, struct json_object *args,
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

int call_done(const char *cmd, struct json_object *args, const char *what,
	      const char *done)
{
	struct json_object *resp, *data;
	const char *name;
	int rc = call(cmd, args, &resp, &data);

	if (!rc) {
		name = jstr(data, "name")[0] ? jstr(data, "name") : jstr(args, "name");
		if (g.json)
			print_json(data);
		else
			printf("%s %s %s\n", what, name, done);
		json_object_put(resp);
	}
	json_object_put(args);
	return rc;
}

const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	/* absent or JSON null: "" (json_object_get_string(NULL) is NULL) */
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

int64_t jint(struct json_object *o, const char *key)
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
	"        [max-bandwidth MBPS] [cipher AES128-CBC|...|NULL] [flow-cap N]\n" \
	"        [device-cap N] [lan CIDR,CIDR,...] [ike-lifetime SECS]\n" \
	"        [child-lifetime SECS] [dpd-delay SECS] [dpd-timeout SECS]\n" \
	"        [enabled|disabled]"

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
		} else if (!strcmp(k, "lan")) {
			json_object_object_add(args, "lan", json_object_new_string(v));
		} else if (!strcmp(k, "ike-lifetime") || !strcmp(k, "child-lifetime") ||
			   !strcmp(k, "dpd-delay") || !strcmp(k, "dpd-timeout")) {
			char key[32], *end, *q;
			long n = strtol(v, &end, 10);

			if (*end || !*v || n < 0)
				return ctl_err("%s '%s' is not a number of seconds (0 = the gateway's setting)",
					       k, v);
			snprintf(key, sizeof(key), "%s", k);
			for (q = key; *q; q++)
				if (*q == '-')
					*q = '_';
			json_object_object_add(args, key, json_object_new_int64(n));
		} else if (!strcmp(k, "flow-cap") || !strcmp(k, "device-cap")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end || n < 0)
				return ctl_err("%s '%s' is not a number (0 = the gateway's default)",
					       k, v);
			json_object_object_add(args, k[0] == 'f' ? "flow_cap" : "device_cap",
					       json_object_new_int64(n));
		} else if (!strcmp(k, "cipher")) {
			json_object_object_add(args, "cipher", json_object_new_string(v));
		} else if (!strcmp(k, "name")) {
			json_object_object_add(args, "new_name", json_object_new_string(v));
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

/* ---- the site table -------------------------------------------------------- */

struct column {
	const char *name;	/* for -o */
	const char *title;
	int width;		/* negative: left-aligned */
	const char *key;	/* JSON member; NULL: computed */
};

static const struct column columns[] = {
	{ "name", "NAME", -20, "name" },
	{ "identity", "SOURCE IDENTITY", -28, "identity" },
	{ "source_ip", "SOURCE IP", -15, "source_ip" },
	{ "status", "STATUS", -8, "status" },
	{ "pop", "POP", -8, "primary_pop" },
	{ "throughput", "KBPS", 10, "throughput_kbps" },
	{ "traffic_type", "TRAFFIC TYPE", -12, "traffic_type" },
	{ "flows", "FLOWS", 7, "flows" },
	{ "endpoints", "ENDPOINTS", 9, "endpoints" },
	{ "license", "LICENSE", -14, "license" },
	{ "cipher", "CIPHER", -10, "cipher" },
	{ "reason", "REASON", -48, "reason" },
	{ "id", "ID", 6, "id" },
	{ 0 }
};

#define DEFAULT_COLUMNS "name,identity,source_ip,status,pop,throughput,traffic_type,flows,endpoints"
#define MAX_COLS 16

static int parse_columns(const char *spec, const struct column **out)
{
	char *dup = strdup(!strcmp(spec, "default") ? DEFAULT_COLUMNS : spec);
	char *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct column *c;

		for (c = columns; c->name; c++)
			if (!strcmp(c->name, tok))
				break;
		if (!c->name || n == MAX_COLS) {
			ctl_err("unknown column '%s'; columns: name, identity, source_ip, "
				"status, pop, throughput, traffic_type, flows, endpoints, "
				"license, cipher, id", tok);
			free(dup);
			return -1;
		}
		out[n++] = c;
	}
	free(dup);
	return n;
}

static void print_header(const struct column **cols, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("%s%*s", i ? " " : "", cols[i]->width, cols[i]->title);
	printf("\n");
}

static void print_row(struct json_object *s, const struct column **cols, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("%s%*s", i ? " " : "", cols[i]->width,
		       json_object_object_get(s, cols[i]->key) ? jstr(s, cols[i]->key) : "-");
	printf("\n");
}

/* "N s", or "default" for 0 (the gateway's setting). */
static const char *secs_or_default(struct json_object *s, const char *key,
				   char buf[32])
{
	long long n = (long long)jint(s, key);

	if (!n)
		return "default";
	snprintf(buf, 32, "%lld s", n);
	return buf;
}

static void print_site_detail(struct json_object *s)
{
	struct json_object *c, *arr;
	char buf[1024], b1[32], b2[32], b3[32], b4[32];
	size_t i;
	time_t since = jint(s, "status_since");

	printf("site %s (id %lld)\n", jstr(s, "name"), (long long)jint(s, "id"));
	printf("  identity      %s %s\n", jstr(s, "id_type"), jstr(s, "identity"));
	printf("  source ip     %s\n", jstr(s, "source_ip"));
	if (jstr(s, "reason")[0]) {
		/* held down by ipsecd: downstream services unhealthy */
		printf("  status        %s: %s\n", jstr(s, "status"), jstr(s, "reason"));
	} else if (since) {
		struct tm tm;

		gmtime_r(&since, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("  status        %s since %s\n", jstr(s, "status"), buf);
	} else {
		printf("  status        %s\n", jstr(s, "status"));
	}
	printf("  throughput    %lld Kbps\n", (long long)jint(s, "throughput_kbps"));
	printf("  traffic type  %s\n", jstr(s, "traffic_type"));
	printf("  license       %s\n", jstr(s, "license"));
	printf("  custom ports  %s\n", join_array(s, "ports", buf, sizeof(buf)));
	printf("  max bandwidth %lld Mbps%s\n", (long long)jint(s, "max_bandwidth_mbps"),
	       jint(s, "max_bandwidth_mbps") ? "" : " (no limit)");
	printf("  cipher        %s\n", *jstr(s, "cipher") ? jstr(s, "cipher") : "any");
	printf("  limits        %lld flows, %lld endpoints (0 = the gateway's default)\n",
	       (long long)jint(s, "flow_cap"), (long long)jint(s, "device_cap"));
	if (json_object_object_get(s, "flows"))
		printf("  now           %lld flows, %lld endpoints\n",
		       (long long)jint(s, "flows"), (long long)jint(s, "endpoints"));
	printf("  lan           %s%s\n", jstr(s, "lan_effective"),
	       *jstr(s, "lan") ? "" : " (default: private ranges)");
	printf("  lifetimes     IKE %s, Child %s; DPD delay %s, timeout %s\n",
	       secs_or_default(s, "ike_lifetime", b1), secs_or_default(s, "child_lifetime", b2),
	       secs_or_default(s, "dpd_delay", b3), secs_or_default(s, "dpd_timeout", b4));
	printf("  enabled       %s\n", jstr(s, "enabled"));
	if (json_object_object_get(s, "psk"))
		printf("  psk           %s\n", jstr(s, "psk"));
	if (json_object_object_get_ex(s, "pops", &arr)) {
		printf("  pops\n");
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *p = json_object_array_get_idx(arr, i);

			printf("    %-8s %-10s gateway %-15s probe %-15s %s%s\n",
			       jstr(p, "role"), jstr(p, "name"), jstr(p, "gateway_ip"),
			       jstr(p, "probe_ip"),
			       json_object_get_boolean(json_object_object_get(p, "accepting")) ?
			       "accepting" : "draining",
			       json_object_get_boolean(json_object_object_get(p, "this_gateway")) ?
			       " (this gateway)" : "");
		}
	}
	if (json_object_object_get_ex(s, "here", &c)) {
		const char *pop = *jstr(c, "pop") ? jstr(c, "pop") : "no --pop";
		const char *role = jstr(c, "role");

		/* which POP the branch's tunnel is on, as this gateway sees it */
		printf("  tunnel        %s this gateway, %s (%s%s%s)\n",
		       jint(c, "established") ? "on" : "not on", pop,
		       strcmp(role, "none") ? "the site's " : "not one of the site's POPs",
		       strcmp(role, "none") ? role : "", strcmp(role, "none") ? " POP" : "");
	}
	if (json_object_object_get_ex(s, "counters", &c)) {
		printf("  counters      rx %lld pkts %lld bytes, ike %lld, esp %lld, keepalives %lld\n",
		       (long long)jint(c, "rx_pkts"), (long long)jint(c, "rx_bytes"),
		       (long long)jint(c, "ike_pkts"), (long long)jint(c, "esp_pkts"),
		       (long long)jint(c, "keepalives"));
		printf("  dropped       disabled %lld, bad spi %lld\n",
		       (long long)jint(c, "drop_disabled"),
		       (long long)jint(c, "drop_bad_spi"));
		if (json_object_object_get(c, "last_alive_secs_ago"))
			printf("  last alive    %llds ago (keepalive or IKE)\n",
			       (long long)jint(c, "last_alive_secs_ago"));
		else
			printf("  last alive    never\n");
	}
	if (json_object_object_get_ex(s, "inner", &c)) {
		struct json_object_iterator it = json_object_iter_begin(c);
		struct json_object_iterator end = json_object_iter_end(c);

		printf("  inner         %lld pkts %lld bytes, %lld new flows, %lld new endpoints, "
		       "%lld endpoint moves, %lld probes\n",
		       (long long)jint(c, "pkts"), (long long)jint(c, "bytes"),
		       (long long)jint(c, "new_flows"), (long long)jint(c, "new_devices"),
		       (long long)jint(c, "endpoint_moves"), (long long)jint(c, "probes"));
		printf("  inner drops  ");
		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *n = json_object_iter_peek_name(&it);

			if (!strncmp(n, "drop_", 5))
				printf(" %s %lld", n + 5,
				       (long long)json_object_get_int64(json_object_iter_peek_value(&it)));
		}
		printf("\n");
	}
	if (json_object_object_get_ex(s, "sas", &arr)) {
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *sa = json_object_array_get_idx(arr, i), *kids;
			size_t j;

			printf("  IKE SA        %s, peer %s:%lld, %s, %llds\n", jstr(sa, "state"),
			       jstr(sa, "peer"), (long long)jint(sa, "peer_port"),
			       jstr(sa, "proposal"), (long long)jint(sa, "age"));
			if (!json_object_object_get_ex(sa, "children", &kids))
				continue;
			for (j = 0; j < json_object_array_length(kids); j++) {
				struct json_object *k = json_object_array_get_idx(kids, j);

				printf("    child       %s_i %s_o %s === %s, %s, in %lld B, out %lld B\n",
				       jstr(k, "spi_in"), jstr(k, "spi_out"), jstr(k, "ts_local"),
				       jstr(k, "ts_remote"), jstr(k, "proposal"),
				       (long long)jint(k, "bytes_in"), (long long)jint(k, "bytes_out"));
			}
		}
	}
}

/* site add NAME ... and site edit NAME ...: keywords into one request. */
static int site_add_edit(bool edit, int argc, char **argv)
{
	struct json_object *args;
	int rc;

	if (argc < (edit ? 2 : 1))
		return ctl_err("usage: ipsecctl site %s NAME %s" SITE_KEYWORDS,
			       edit ? "edit" : "add", edit ? "[name NEW] " : "");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	rc = site_args(argc - 1, argv + 1, args);
	if (rc) {
		json_object_put(args);
		return rc;
	}
	return call_done(edit ? "site.edit" : "site.add", args, "site", edit ? "updated" : "added");
}

static int site_add(int argc, char **argv)  { return site_add_edit(false, argc, argv); }
static int site_edit(int argc, char **argv) { return site_add_edit(true, argc, argv); }

static volatile sig_atomic_t watch_stop;

static void on_sigint(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static int site_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "identity", required_argument, NULL, 'i' },
		{ "status", required_argument, NULL, 's' },
		{ "pop", required_argument, NULL, 'P' },
		{ "traffic-type", required_argument, NULL, 't' },
		{ "sort", required_argument, NULL, 'S' },
		{ "page", required_argument, NULL, 'g' },
		{ "per-page", required_argument, NULL, 'm' },
		{ "columns", required_argument, NULL, 'o' },
		{ "watch", required_argument, NULL, 'w' },
		{ 0 }
	};
	static const struct { int opt; const char *key; } str_opts[] = {
		{ 'n', "name" }, { 'i', "identity" }, { 's', "status" },
		{ 'P', "pop" }, { 't', "traffic_type" },
	};
	const struct column *cols[MAX_COLS];
	struct json_object *args = json_object_new_object();
	int ncols = parse_columns(DEFAULT_COLUMNS, cols), c, watch = 0, rc = EXIT_SUCCESS;
	unsigned k;

	optind = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "o:", opts, NULL)) != -1) {
		char *end;
		long v;

		for (k = 0; k < sizeof(str_opts) / sizeof(str_opts[0]); k++)
			if (str_opts[k].opt == c)
				json_object_object_add(args, str_opts[k].key,
						       json_object_new_string(optarg));
		switch (c) {
		case 'n': case 'i': case 's': case 'P': case 't':
			break;
		case 'S':
			if (strcmp(optarg, "name") && strcmp(optarg, "name:asc") &&
			    strcmp(optarg, "name:desc")) {
				json_object_put(args);
				return ctl_err("--sort takes name, name:asc or name:desc");
			}
			json_object_object_add(args, "sort", json_object_new_string(
				strcmp(optarg, "name:desc") ? "asc" : "desc"));
			break;
		case 'g': case 'm': case 'w':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000000) {
				json_object_put(args);
				return ctl_err("--%s takes a positive number, not '%s'",
					       c == 'g' ? "page" : c == 'm' ? "per-page" : "watch",
					       optarg);
			}
			if (c == 'w')
				watch = v;
			else
				json_object_object_add(args, c == 'g' ? "page" : "per_page",
						       json_object_new_int(v));
			break;
		case 'o':
			ncols = parse_columns(optarg, cols);
			if (ncols < 0) {
				json_object_put(args);
				return EXIT_FAILURE;
			}
			break;
		default:
			json_object_put(args);
			return ctl_err("usage: ipsecctl site list [--name SUB] [--identity SUB] "
				       "[--status up|down|disabled] [--pop NAME] [--traffic-type T] "
				       "[--sort name[:desc]] [--page N] [--per-page M] [-o COLS] "
				       "[--watch SECS]");
		}
	}
	if (optind != argc + 1) {
		json_object_put(args);
		return ctl_err("unexpected argument '%s'", argv[optind - 1]);
	}
	if (watch)
		signal(SIGINT, on_sigint);
	do {
		struct json_object *resp, *data, *sites;
		int64_t total, page, per;
		size_t i, n;

		if (call("site.list", args, &resp, &data)) {
			rc = EXIT_FAILURE;
			break;
		}
		if (g.json) {
			print_json(data);
		} else {
			json_object_object_get_ex(data, "sites", &sites);
			n = json_object_array_length(sites);
			total = jint(data, "total");
			page = jint(data, "page");
			per = jint(data, "per_page");
			if (watch)
				printf("\033[H\033[2J");	/* refresh in place */
			print_header(cols, ncols);
			for (i = 0; i < n; i++)
				print_row(json_object_array_get_idx(sites, i), cols, ncols);
			if (n)
				printf("sites %lld-%lld of %lld\n", (long long)((page - 1) * per + 1),
				       (long long)((page - 1) * per + n), (long long)total);
			else
				printf("no sites on page %lld (%lld in all)\n", (long long)page,
				       (long long)total);
			fflush(stdout);
		}
		json_object_put(resp);
		for (k = 0; watch && !watch_stop && k < (unsigned)watch * 10; k++)
			usleep(100000);
	} while (watch && !watch_stop);
	json_object_put(args);
	return rc;
}

/* The whole file (or stdin for "-"), at most 32 MiB, NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap > (32U << 20) + 1) {
			errno = EFBIG;
			goto fail;
		}
		p = realloc(buf, cap + 1);
		if (!p)
			goto fail;
		buf = p;
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap) {
			if (ferror(f))
				goto fail;
			break;
		}
		cap *= 2;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

static int site_import(int argc, char **argv)
{
	struct json_object *args, *resp, *data, *errs;
	bool dry = false;
	const char *file = NULL;
	size_t len, i;
	char *csv;
	int k, rc;

	for (k = 0; k < argc; k++) {
		if (!strcmp(argv[k], "--dry-run"))
			dry = true;
		else if (!file)
			file = argv[k];
		else
			file = NULL, k = argc;
	}
	if (!file)
		return ctl_err("usage: ipsecctl site import FILE.csv|- [--dry-run]");
	csv = slurp(file, &len);
	if (!csv)
		return ctl_err("cannot read '%s': %s", file, strerror(errno));
	args = json_object_new_object();
	json_object_object_add(args, "csv", json_object_new_string_len(csv, len));
	json_object_object_add(args, "dry_run", json_object_new_boolean(dry));
	OPENSSL_cleanse(csv, len);	/* the file holds PSKs */
	free(csv);
	rc = eg_ctl_call(g.sock, "site.import", args, &resp, (char[1024]){0}, 1024);
	json_object_put(args);
	if (rc)
		return ctl_err("cannot reach ipsecd at %s: %s", g.sock, strerror(-rc));
	if (g.json) {
		print_json(resp);
		rc = json_object_get_boolean(json_object_object_get(resp, "ok")) ?
		     EXIT_SUCCESS : EXIT_FAILURE;
		json_object_put(resp);
		return rc;
	}
	data = json_object_object_get(resp, "data");
	if (!json_object_get_boolean(json_object_object_get(resp, "ok"))) {
		/* every bad line, then the verdict */
		if (data && json_object_object_get_ex(data, "errors", &errs))
			for (i = 0; i < json_object_array_length(errs); i++)
				fprintf(stderr, "%s\n",
					json_object_get_string(json_object_array_get_idx(errs, i)));
		ctl_err("%s", jstr(resp, "error"));
		json_object_put(resp);
		return EXIT_FAILURE;
	}
	printf("%s: %lld rows, %lld sites %s\n", file, (long long)jint(data, "rows"),
	       (long long)jint(data, dry ? "rows" : "imported"),
	       dry ? "would be imported (dry run, nothing written)" : "imported");
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static int site_export(int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	bool secret = false;
	const char *out = NULL;
	FILE *f = stdout;
	int k, rc;

	for (k = 0; k < argc; k++) {
		if (!strcmp(argv[k], "--show-secret"))
			secret = true;
		else if (!out)
			out = argv[k];
		else
			return ctl_err("usage: ipsecctl site export [FILE] [--show-secret]");
	}
	args = json_object_new_object();
	json_object_object_add(args, "show_secret", json_object_new_boolean(secret));
	rc = call("site.export", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (out && strcmp(out, "-")) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, secret ? 0600 : 0644);

		f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!f) {
			json_object_put(resp);
			return ctl_err("cannot write '%s': %s", out, strerror(errno));
		}
	}
	fputs(jstr(data, "csv"), f);
	if (f != stdout)
		fclose(f);
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
	{ "list", site_list, "list [--name SUB] [--identity SUB] [--status S] [--pop NAME]\n"
	  "        [--traffic-type T] [--sort name[:desc]] [--page N] [--per-page M]\n"
	  "        [-o COL,...|default] [--watch SECS]" },
	{ "show", site_show, "show NAME [--show-secret]" },
	{ "edit", site_edit, "edit NAME [name NEW] KEYWORD VALUE ..." },
	{ "import", site_import, "import FILE.csv|- [--dry-run]   (all rows or none)" },
	{ "export", site_export, "export [FILE] [--show-secret]" },
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

/* `pop add|edit NAME keyword value ...` into JSON args. */
static int pop_args(int argc, char **argv, struct json_object *args, bool edit)
{
	static const char *const keys[][2] = {
		{ "gateway", "gateway_ip" }, { "probe", "probe_ip" },
		{ "location", "location" }, { "name", "new_name" },
		{ "accepting", "accepting" },
	};
	int i;

	for (i = 0; i < argc; i += 2) {
		unsigned k;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (!strcmp(argv[i], keys[k][0]))
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) || i + 1 >= argc ||
		    (!edit && k >= 3))
			return ctl_err("usage: ipsecctl pop %s", edit ?
				       "edit NAME [gateway IP] [probe IP] [location TEXT] "
				       "[name NEW] [accepting yes|no]" :
				       "add NAME gateway IP probe IP [location TEXT]");
		if (k == 4) {
			if (strcmp(argv[i + 1], "yes") && strcmp(argv[i + 1], "no"))
				return ctl_err("accepting takes yes or no");
			json_object_object_add(args, keys[k][1],
					       json_object_new_boolean(argv[i + 1][0] == 'y'));
		} else {
			json_object_object_add(args, keys[k][1],
					       json_object_new_string(argv[i + 1]));
		}
	}
	return 0;
}

static int pop_add_edit(const char *cmd, int argc, char **argv)
{
	bool edit = !strcmp(cmd, "pop.edit");
	struct json_object *args;
	int rc;

	if (argc < 1)
		return ctl_err("usage: ipsecctl pop %s NAME ...", edit ? "edit" : "add");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	rc = pop_args(argc - 1, argv + 1, args, edit);
	if (rc) {
		json_object_put(args);
		return rc;
	}
	return call_done(cmd, args, "pop", edit ? "updated" : "added");
}

static int pop_add(int argc, char **argv)  { return pop_add_edit("pop.add", argc, argv); }
static int pop_edit(int argc, char **argv) { return pop_add_edit("pop.edit", argc, argv); }

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
static int pop_drain(int argc, char **argv)  { return pop_one("pop.drain", argc, argv); }
static int pop_undrain(int argc, char **argv) { return pop_one("pop.undrain", argc, argv); }
static int pop_delete(int argc, char **argv) { return pop_one("pop.delete", argc, argv); }

static const struct cmd pop_cmds[] = {
	{ "add", pop_add, "add NAME gateway IP probe IP [location TEXT]" },
	{ "list", pop_list, "list" },
	{ "show", pop_show, "show NAME" },
	{ "edit", pop_edit, "edit NAME [gateway IP] [probe IP] [location TEXT] [name NEW] [accepting yes|no]" },
	{ "drain", pop_drain, "drain NAME      (no new tunnels; existing ones stay)" },
	{ "undrain", pop_undrain, "undrain NAME" },
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

/* ---- flows ------------------------------------------------------------------- */

static int do_flows(int argc, char **argv)
{
	struct json_object *args, *resp, *data, *list;
	long limit = 100;
	size_t i;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "--limit")) {
		char *end;

		limit = strtol(argv[2], &end, 10);
		if (*end || limit < 1)
			return ctl_err("--limit takes a positive number, not '%s'", argv[2]);
	} else if (argc != 1) {
		return ctl_err("usage: ipsecctl flows SITE [--limit N]");
	}
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[0]));
	json_object_object_add(args, "limit", json_object_new_int64(limit));
	rc = call("site.flows", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return rc;
	if (g.json) {
		print_json(data);
		json_object_put(resp);
		return EXIT_SUCCESS;
	}
	printf("site %s: %lld flows, %lld endpoints\n", jstr(data, "site"),
	       (long long)jint(data, "flows"), (long long)jint(data, "endpoints"));
	printf("%-5s %-21s %-21s %-8s %s\n", "PROTO", "SOURCE", "DESTINATION", "STATE", "IDLE");
	json_object_object_get_ex(data, "list", &list);
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *f = json_object_array_get_idx(list, i);
		char src[48], dst[48];

		snprintf(src, sizeof(src), "%s:%lld", jstr(f, "src"), (long long)jint(f, "sport"));
		snprintf(dst, sizeof(dst), "%s:%lld", jstr(f, "dst"), (long long)jint(f, "dport"));
		printf("%-5s %-21s %-21s %-8s %llds\n", jstr(f, "proto"), src, dst,
		       jstr(f, "state"), (long long)jint(f, "idle_secs"));
	}
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
		printf("  rekeys: IKE %lld, Child %lld; DPD sent %lld; last active %llds ago",
		       (long long)jint(s, "ike_rekeys"), (long long)jint(s, "child_rekeys"),
		       (long long)jint(s, "dpd_sent"), (long long)jint(s, "last_active"));
		if (json_object_object_get(s, "rekey_in"))
			printf("; rekey in %llds, expires in %llds",
			       (long long)jint(s, "rekey_in"), (long long)jint(s, "expires_in"));
		printf("\n");
		if (!json_object_object_get_ex(s, "children", &kids))
			continue;
		for (j = 0; j < json_object_array_length(kids); j++) {
			struct json_object *k = json_object_array_get_idx(kids, j);

			printf("  child %s_i %s_o %s, reqid %lld, %s === %s, %llds, rekeys %lld\n",
			       jstr(k, "spi_in"), jstr(k, "spi_out"), jstr(k, "state"),
			       (long long)jint(k, "reqid"), jstr(k, "ts_local"),
			       jstr(k, "ts_remote"), (long long)jint(k, "age"),
			       (long long)jint(k, "rekeys"));
			printf("    %s\n", jstr(k, "proposal"));
			printf("    in %lld bytes %lld pkts, out %lld bytes %lld pkts\n",
			       (long long)jint(k, "bytes_in"), (long long)jint(k, "packets_in"),
			       (long long)jint(k, "bytes_out"), (long long)jint(k, "packets_out"));
		}
	}
	json_object_put(resp);
	return EXIT_SUCCESS;
}

/* sa rekey SITE [--ike | --spi SPI]: we initiate the rekey now. */
static int sa_rekey(int argc, char **argv)
{
	struct json_object *args = json_object_new_object(), *resp, *data;
	int rc;

	if (argc == 2 && !strcmp(argv[1], "--ike")) {
		json_object_object_add(args, "ike", json_object_new_boolean(true));
	} else if (argc == 3 && !strcmp(argv[1], "--spi")) {
		json_object_object_add(args, "spi", json_object_new_string(argv[2]));
	} else if (argc != 1) {
		json_object_put(args);
		return ctl_err("usage: ipsecctl sa rekey SITE [--ike | --spi SPI_IN]");
	}
	json_object_object_add(args, "site", json_object_new_string(argv[0]));
	rc = call("sa.rekey", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return EXIT_FAILURE;
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static const struct cmd sa_cmds[] = {
	{ "list", sa_list, "list" },
	{ "rekey", sa_rekey, "rekey SITE [--ike | --spi SPI_IN]" },
	{ 0 }
};

static int do_sa(int argc, char **argv)
{
	return cmd_dispatch(sa_cmds, "sa", argc, argv);
}

/* shutdown [--teardown]: stop ipsecd, keeping the tunnels unless told. */
static int do_shutdown(int argc, char **argv)
{
	struct json_object *args, *resp, *data;
	int rc;

	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--teardown")))
		return ctl_err("usage: ipsecctl shutdown [--teardown]");
	args = json_object_new_object();
	json_object_object_add(args, "teardown", json_object_new_boolean(argc == 1));
	rc = call("shutdown", args, &resp, &data);
	json_object_put(args);
	if (rc)
		return EXIT_FAILURE;
	json_object_put(resp);
	return EXIT_SUCCESS;
}

static const struct cmd top_cmds[] = {
	{ "site", do_site, "site add|list|show|edit|delete|enable|disable|import|export ..." },
	{ "pop", do_pop, "pop add|list|show|edit|drain|undrain|delete ..." },
	{ "sa", do_sa, "sa list | sa rekey SITE [--ike | --spi SPI_IN]" },
	{ "flows", do_flows, "flows SITE [--limit N]" },
	{ "map", do_map, "map list | map dump NAME" },
	{ "health", do_health, "health add|list|delete ...   (downstream checks)" },
	{ "status", do_status, "status" },
	{ "shutdown", do_shutdown, "shutdown [--teardown]   (default: tunnels kept)" },
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
