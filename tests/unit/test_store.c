// SPDX-License-Identifier: GPL-2.0
/*
 * test_store.c - the site/POP store: validators, schema, migrations, CRUD,
 * transactions, durability, bulk speed, and the site list (filters, order,
 * pages) with its speed over 100,000 sites.
 *
 * Each test that needs a database gets a fresh directory from mkdtemp() with
 * four POPs in it (NYC1, ATL1, LON1, FRA1) and removes it afterwards. Schema
 * constraints are checked through a second, raw sqlite3 handle on the same
 * file, so that the C validation is bypassed and only SQLite decides.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define assert_msg(e, sub)						\
	do {								\
		if (!strstr((e)->msg, (sub)))				\
			fail_msg("message \"%s\" lacks \"%s\"",		\
				 (e)->msg, (sub));			\
	} while (0)

struct fx {
	char dir[64];
	char path[128];
	struct eg_store *st;
};

static uint32_t ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad test address %s", s);
	return a.s_addr;
}

static void db_remove(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static void pop_init(struct eg_pop_rec *p, const char *name, const char *gw,
		     const char *probe, const char *loc)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	p->gateway_ip = ip(gw);
	p->probe_ip = ip(probe);
	strcpy(p->location, loc);
	p->accepting = true;
}

static int setup(void **state)
{
	static const char *const pops[][4] = {
		{ "NYC1", "203.0.113.1", "203.0.113.2", "New York" },
		{ "ATL1", "203.0.113.11", "203.0.113.12", "Atlanta" },
		{ "LON1", "203.0.113.21", "203.0.113.22", "London" },
		{ "FRA1", "203.0.113.31", "203.0.113.32", "Frankfurt" },
	};
	struct eg_err err = { "" };
	struct eg_pop_rec p;
	struct fx *fx;
	unsigned i;

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/sites.db", fx->dir);
	if (eg_store_open(&fx->st, fx->path, &err))
		fail_msg("open: %s", err.msg);
	for (i = 0; i < ARRAY_SIZE(pops); i++) {
		pop_init(&p, pops[i][0], pops[i][1], pops[i][2], pops[i][3]);
		if (eg_pop_add(fx->st, &p, &err))
			fail_msg("pop add: %s", err.msg);
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char p[160];

	eg_store_close(fx->st);
	db_remove(fx->path);
	/* files some tests create next to sites.db */
	snprintf(p, sizeof(p), "%s/other.db", fx->dir);
	db_remove(p);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A valid site numbered n: unique name, identity and source ip. */
static void site_init(struct eg_site_rec *s, const char *name, unsigned n)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	if (name)
		snprintf(s->name, sizeof(s->name), "%s", name);
	else
		snprintf(s->name, sizeof(s->name), "site-%06u", n);
	s->id_type = EG_ID_FQDN;
	snprintf(s->id_value, sizeof(s->id_value), "s%u.example.com", n);
	s->source_ip = htonl(0x0a000001 + n);	/* 10.0.0.1 + n */
	s->psk_len = 32;
	for (i = 0; i < s->psk_len; i++)
		s->psk[i] = n + i;
	strcpy(s->primary_pop, "NYC1");
	strcpy(s->backup_pops[0], "ATL1");
	strcpy(s->backup_pops[1], "LON1");
	s->n_backup_pops = 2;
	s->traffic = EG_TT_USER;
	s->license = EG_LIC_WEB_GATEWAY;
	s->ports[0] = 8080;
	s->ports[1] = 8443;
	s->n_ports = 2;
	s->max_bw_mbps = 50;
	s->enabled = true;
}

static void add_ok(struct fx *fx, struct eg_site_rec *s)
{
	struct eg_err err = { "" };

	if (eg_site_add(fx->st, s, &err))
		fail_msg("add %s: %s", s->name, err.msg);
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	/* per connection: without it SQLite ignores REFERENCES */
	assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL,
				      NULL, NULL), SQLITE_OK);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;
	int64_t v;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static void site_equal(const struct eg_site_rec *a, const struct eg_site_rec *b)
{
	unsigned i;

	assert_int_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->id_type, b->id_type);
	assert_string_equal(a->id_value, b->id_value);
	assert_int_equal(a->source_ip, b->source_ip);
	/* a (as read): PSKs are read apart (eg_site_psk_get), never with
	 * the record */
	assert_int_equal(a->psk_len, 0);
	assert_string_equal(a->primary_pop, b->primary_pop);
	assert_int_equal(a->n_backup_pops, b->n_backup_pops);
	for (i = 0; i < a->n_backup_pops; i++)
		assert_string_equal(a->backup_pops[i], b->backup_pops[i]);
	assert_int_equal(a->traffic, b->traffic);
	assert_int_equal(a->license, b->license);
	assert_int_equal(a->n_ports, b->n_ports);
	for (i = 0; i < a->n_ports; i++)
		assert_int_equal(a->ports[i], b->ports[i]);
	assert_int_equal(a->max_bw_mbps, b->max_bw_mbps);
	assert_string_equal(a->cipher, b->cipher);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->up, b->up);
	assert_int_equal(a->status_since, b->status_since);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->updated, b->updated);
}

/* ---- pure helpers ---- */

static void test_ipv4_parse(void **state)
{
	static const struct {
		const char *s;
		int ret;
		uint32_t host;
	} t[] = {
		{ "1.2.3.4", 0, 0x01020304 },
		{ "0.0.0.0", 0, 0 },
		{ "255.255.255.255", 0, 0xffffffff },
		{ "192.168.0.10", 0, 0xc0a8000a },
		{ "10.0.0.0", 0, 0x0a000000 },
		{ "", -EINVAL, 0 },
		{ "1", -EINVAL, 0 },
		{ "1.2.3", -EINVAL, 0 },
		{ "1.2.3.4.5", -EINVAL, 0 },
		{ "256.0.0.1", -EINVAL, 0 },
		{ "1.2.3.256", -EINVAL, 0 },
		{ "010.1.1.1", -EINVAL, 0 },
		{ "01.2.3.4", -EINVAL, 0 },
		{ "1.2.3.04", -EINVAL, 0 },
		{ "00.1.1.1", -EINVAL, 0 },
		{ "1.2.3.0004", -EINVAL, 0 },
		{ "1234.1.1.1", -EINVAL, 0 },
		{ "1.2.3.4 ", -EINVAL, 0 },
		{ " 1.2.3.4", -EINVAL, 0 },
		{ "1.2.3.4\n", -EINVAL, 0 },
		{ "1..2.3", -EINVAL, 0 },
		{ "1.2.3.", -EINVAL, 0 },
		{ ".1.2.3", -EINVAL, 0 },
		{ "+1.2.3.4", -EINVAL, 0 },
		{ "1.2.3.-4", -EINVAL, 0 },
		{ "0x1.2.3.4", -EINVAL, 0 },
		{ "1.2.3.4/24", -EINVAL, 0 },
		{ "a.b.c.d", -EINVAL, 0 },
		{ "1,2,3,4", -EINVAL, 0 },
	};
	struct eg_err err = { "" };
	uint32_t a;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		a = 0x5a5a5a5a;
		if (eg_ipv4_parse(t[i].s, &a) != t[i].ret)
			fail_msg("'%s': expected %d", t[i].s, t[i].ret);
		if (!t[i].ret)
			assert_int_equal(ntohl(a), t[i].host);
	}
	assert_int_equal(eg_ipv4_parse(NULL, &a), -EINVAL);
	assert_int_equal(eg_ipv4_parse_field("source ip", "300.1.1.1", &a,
					     &err), -EINVAL);
	assert_msg(&err, "source ip '300.1.1.1' is not a dotted-quad IPv4 address");
	assert_int_equal(eg_ipv4_parse_field("gateway ip", "1.2.3.4\x1b[2J",
					     &a, &err), -EINVAL);
	assert_msg(&err, "gateway ip '1.2.3.4\\x1b[2J'");
}

/* "ADDR:PORT": --http-listen and the health checks' targets */
static void test_addr_port_parse(void **state)
{
	static const struct {
		const char *s;
		int ret;
		uint32_t host;
		uint16_t port;
	} t[] = {
		{ "127.0.0.1:8443", 0, 0x7f000001, 8443 },
		{ "10.9.0.80:1", 0, 0x0a090050, 1 },
		{ "10.9.0.80:65535", 0, 0x0a090050, 65535 },
		{ "10.9.0.80:0", 0, 0x0a090050, 0 },
		{ "10.9.0.80:65536", -EINVAL, 0, 0 },
		{ "10.9.0.80:080", 0, 0x0a090050, 80 },
		{ "10.9.0.80:100000", -EINVAL, 0, 0 },
		{ "10.9.0.80:", -EINVAL, 0, 0 },
		{ "10.9.0.80", -EINVAL, 0, 0 },
		{ ":80", -EINVAL, 0, 0 },
		{ "10.9.0.80: 80", -EINVAL, 0, 0 },
		{ "10.9.0.80:+80", -EINVAL, 0, 0 },
		{ "10.9.0.80:80x", -EINVAL, 0, 0 },
		{ "10.9.0.080:80", -EINVAL, 0, 0 },
		{ "localhost:80", -EINVAL, 0, 0 },
		{ "1.2.3.4:5:6", -EINVAL, 0, 0 },
		{ "[::1]:80", -EINVAL, 0, 0 },
		{ "255.255.255.255.255.255.255.255:80", -EINVAL, 0, 0 },
	};
	uint32_t a;
	uint16_t p;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		a = 0x5a5a5a5a;
		p = 0x5a5a;
		if (eg_addr_port_parse(t[i].s, &a, &p) != t[i].ret)
			fail_msg("'%s': expected %d", t[i].s, t[i].ret);
		if (!t[i].ret && (ntohl(a) != t[i].host || p != t[i].port))
			fail_msg("'%s': expected %08x:%u, got %08x:%u", t[i].s,
				 t[i].host, t[i].port, ntohl(a), p);
	}
	assert_int_equal(eg_addr_port_parse(NULL, &a, &p), -EINVAL);
}

static void test_enum_names(void **state)
{
	static const struct {
		int kind;	/* 0 id type, 1 traffic, 2 license */
		const char *in;
		int val;	/* 0: rejected */
	} t[] = {
		{ 0, "ipv4", EG_ID_IPV4 }, { 0, "fqdn", EG_ID_FQDN },
		{ 0, "email", EG_ID_EMAIL }, { 0, "FQDN", EG_ID_FQDN },
		{ 0, "x509", 0 }, { 0, "", 0 },
		{ 1, "user", EG_TT_USER }, { 1, "iot", EG_TT_IOT },
		{ 1, "IoT", EG_TT_IOT }, { 1, "mixed", EG_TT_MIXED },
		{ 1, "machine", EG_TT_MACHINE },
		{ 1, "guest-wifi", EG_TT_GUEST_WIFI },
		{ 1, "Guest Wifi", EG_TT_GUEST_WIFI },
		{ 1, "guest_wifi", EG_TT_GUEST_WIFI },
		{ 1, "guest", 0 }, { 1, "guest-wifi-x", 0 }, { 1, "video", 0 },
		{ 2, "web-gateway", EG_LIC_WEB_GATEWAY },
		{ 2, "Cloud Firewall", EG_LIC_CLOUD_FIREWALL },
		{ 2, "casb", 0 },
	};
	enum eg_id_type it;
	enum eg_traffic tt;
	enum eg_license lic;
	unsigned i;
	int ret, v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		switch (t[i].kind) {
		case 0:
			ret = eg_id_type_parse(t[i].in, &it);
			v = it;
			break;
		case 1:
			ret = eg_traffic_parse(t[i].in, &tt);
			v = tt;
			break;
		default:
			ret = eg_license_parse(t[i].in, &lic);
			v = lic;
		}
		if (t[i].val ? ret || v != t[i].val : ret != -EINVAL)
			fail_msg("parse '%s': ret %d", t[i].in, ret);
	}
	/* every name parses back to its value; out of range is NULL */
	for (v = EG_ID_IPV4; v <= EG_ID_EMAIL; v++) {
		assert_int_equal(eg_id_type_parse(eg_id_type_name(v), &it), 0);
		assert_int_equal(it, v);
	}
	for (v = EG_TT_USER; v <= EG_TT_GUEST_WIFI; v++) {
		assert_int_equal(eg_traffic_parse(eg_traffic_name(v), &tt), 0);
		assert_int_equal(tt, v);
	}
	for (v = EG_LIC_WEB_GATEWAY; v <= EG_LIC_CLOUD_FIREWALL; v++) {
		assert_int_equal(eg_license_parse(eg_license_name(v), &lic), 0);
		assert_int_equal(lic, v);
	}
	assert_string_equal(eg_traffic_name(EG_TT_GUEST_WIFI), "guest-wifi");
	assert_null(eg_id_type_name(0));
	assert_null(eg_id_type_name(EG_ID_EMAIL + 1));
	assert_null(eg_traffic_name(0));
	assert_null(eg_traffic_name(EG_TT_GUEST_WIFI + 1));
	assert_null(eg_license_name(0));
	assert_null(eg_license_name(EG_LIC_CLOUD_FIREWALL + 1));
	assert_int_equal(eg_traffic_parse(NULL, &tt), -EINVAL);
}

static void test_escape(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(eg_escape(buf, sizeof(buf), "abc"), "abc");
	assert_string_equal(eg_escape(buf, sizeof(buf), "a\nb"), "a\\x0ab");
	assert_string_equal(eg_escape(buf, sizeof(buf), "0123456789abcdefgh"),
			    "0123456789ab...");
	assert_string_equal(eg_escape(buf, 8, "\x01\x02\x03"), "\\x01...");
	assert_string_equal(eg_escape(buf, sizeof(buf), NULL), "(null)");
}

static char label63[128], label64[128], fqdn253[254], fqdn254[255];
static char email_l64[128], email_l65[128], ident256[257];

static void long_values(void)
{
	memset(label63, 'a', 63);
	memset(label64, 'a', 64);
	strcat(label63, ".example.com");
	strcat(label64, ".example.com");
	/* 63 + 63 + 63 + 61 + 3 dots = 253 */
	memset(fqdn253, 'a', 253);
	fqdn253[63] = fqdn253[127] = fqdn253[191] = '.';
	memcpy(fqdn254, fqdn253, 253);
	fqdn254[253] = 'a';
	memset(email_l64, 'u', 64);
	strcat(email_l64, "@abc.net");
	memset(email_l65, 'u', 65);
	strcat(email_l65, "@abc.net");
	memset(ident256, 'a', 256);
	ident256[100] = '.';
}

static void test_ident_validate(void **state)
{
	static const struct {
		enum eg_id_type type;
		const char *v;
		const char *msg;	/* NULL: valid */
	} t[] = {
		{ EG_ID_IPV4, "192.0.2.1", NULL },
		{ EG_ID_IPV4, "10.1.2.3", NULL },
		{ EG_ID_IPV4, "010.1.1.1", "source identity '010.1.1.1' is not a dotted-quad IPv4 address" },
		{ EG_ID_IPV4, "1.2.3", "source identity '1.2.3' is not a dotted-quad" },
		{ EG_ID_IPV4, "1.2.3.4 ", "source identity '1.2.3.4 ' is not a dotted-quad" },
		{ EG_ID_IPV4, "branch.example.com", "is not a dotted-quad" },
		{ EG_ID_IPV4, "0.0.0.0", "source identity 0.0.0.0 is not a usable IPv4 ID" },
		{ EG_ID_IPV4, "255.255.255.255", "255.255.255.255 is not a usable" },
		{ EG_ID_FQDN, "branch.example.com", NULL },
		{ EG_ID_FQDN, "Branch-1.Example.COM", NULL },
		{ EG_ID_FQDN, "xn--bcher-kva.example", NULL },
		{ EG_ID_FQDN, "a.b", NULL },
		{ EG_ID_FQDN, "3com.net", NULL },
		{ EG_ID_FQDN, label63, NULL },
		{ EG_ID_FQDN, fqdn253, NULL },
		{ EG_ID_FQDN, "localhost", "source identity 'localhost' is not a valid FQDN: it needs at least two labels" },
		{ EG_ID_FQDN, "a..b", "source identity 'a..b' is not a valid FQDN: empty label" },
		{ EG_ID_FQDN, ".a.b", "empty label" },
		{ EG_ID_FQDN, "a.b.", "empty label" },
		{ EG_ID_FQDN, "-a.example.com", "label '-a' starts or ends with '-'" },
		{ EG_ID_FQDN, "a-.example.com", "label 'a-' starts or ends with '-'" },
		{ EG_ID_FQDN, "a.example-", "label 'example-' starts or ends with '-'" },
		{ EG_ID_FQDN, "a_b.example.com", "not a valid FQDN: '_' is not allowed" },
		{ EG_ID_FQDN, "a b.example.com", "byte 0x20 is not allowed" },
		{ EG_ID_FQDN, "b\xc3\xbc" "cher.example", "source identity 'b\\xc3\\xbccher.example' is not a valid FQDN: byte 0xc3" },
		{ EG_ID_FQDN, "admin@abc.net", "'@' is not allowed" },
		{ EG_ID_FQDN, "1.2.3.4", "the last label '4' is all digits" },
		{ EG_ID_FQDN, label64, "is 64 bytes, at most 63" },
		{ EG_ID_FQDN, fqdn254, "not a valid FQDN: 254 bytes, at most 253" },
		{ EG_ID_EMAIL, "admin@abc.net", NULL },
		{ EG_ID_EMAIL, "first.last+tag@example.co.uk", NULL },
		{ EG_ID_EMAIL, "x!#$%&'*/=?^`{|}~@abc.net", NULL },
		{ EG_ID_EMAIL, email_l64, NULL },
		{ EG_ID_EMAIL, "admin", "source identity 'admin' is not a valid email ID: no '@'" },
		{ EG_ID_EMAIL, "a@b@abc.net", "more than one '@'" },
		{ EG_ID_EMAIL, "@abc.net", "empty local part" },
		{ EG_ID_EMAIL, "ad min@abc.net", "local part may not contain spaces" },
		{ EG_ID_EMAIL, "admin@abc", "not a valid email ID domain: it needs at least two labels" },
		{ EG_ID_EMAIL, "admin@-abc.net", "email ID domain: label '-abc'" },
		{ EG_ID_EMAIL, "admin@", "email ID domain: empty domain" },
		{ EG_ID_EMAIL, email_l65, "local part is 65 bytes, at most 64" },
		{ 0, "x.example.com", "unknown source identity type 0" },
		{ EG_ID_EMAIL + 1, "x.example.com", "unknown source identity type 4" },
		{ EG_ID_FQDN, "", "source identity is empty" },
		{ EG_ID_FQDN, NULL, "source identity is empty" },
		{ EG_ID_FQDN, ident256, "is too long: more than 255 bytes" },
	};
	struct eg_err err;
	unsigned i;
	int ret;

	(void)state;
	long_values();
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		strcpy(err.msg, "(none)");
		ret = eg_ident_validate(t[i].type, t[i].v, &err);
		if (!t[i].msg && ret)
			fail_msg("row %u '%s': %s", i, t[i].v, err.msg);
		if (t[i].msg && ret != -EINVAL)
			fail_msg("row %u '%s' accepted", i, t[i].v);
		if (t[i].msg)
			assert_msg(&err, t[i].msg);
	}
}

enum fld {
	F_NONE, F_NAME, F_NAME_LEN, F_ID, F_ID_FULL, F_SRCIP, F_PSKLEN,
	F_PRIMARY, F_BACKUPS, F_TRAFFIC, F_LICENSE, F_PORTS, F_NPORTS,
	F_CIPHER, F_CIPHER_FULL,
};

struct site_case {
	const char *desc;
	enum fld f;
	const char *sval;
	long ival;
	const char *msg;	/* NULL: valid */
};

/* Apply one table row to a valid site record. */
static void site_mutate(struct eg_site_rec *s, const struct site_case *c)
{
	char buf[256], *tok, *save = NULL;
	unsigned i;

	switch (c->f) {
	case F_NONE:
		break;
	case F_NAME:
		strcpy(s->name, c->sval);
		break;
	case F_NAME_LEN:	/* 65 fills the array without a NUL */
		memset(s->name, 'a', sizeof(s->name));
		if (c->ival < (long)sizeof(s->name))
			s->name[c->ival] = '\0';
		break;
	case F_ID:
		s->id_type = c->ival;
		strcpy(s->id_value, c->sval);
		break;
	case F_ID_FULL:
		memset(s->id_value, 'a', sizeof(s->id_value));
		s->id_value[5] = '.';
		break;
	case F_SRCIP:
		s->source_ip = ip(c->sval);
		break;
	case F_PSKLEN:
		s->psk_len = c->ival;
		break;
	case F_PRIMARY:
		strcpy(s->primary_pop, c->sval);
		break;
	case F_BACKUPS:
		strcpy(buf, c->sval);
		s->n_backup_pops = 0;
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			assert_true(s->n_backup_pops < EG_MAX_BACKUP_POPS + 1);
			/* the array has room for 9; the 10th goes to count */
			if (s->n_backup_pops < EG_MAX_BACKUP_POPS)
				strcpy(s->backup_pops[s->n_backup_pops], tok);
			s->n_backup_pops++;
		}
		break;
	case F_TRAFFIC:
		s->traffic = c->ival;
		break;
	case F_LICENSE:
		s->license = c->ival;
		break;
	case F_PORTS:
		strcpy(buf, c->sval);
		s->n_ports = 0;
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			s->ports[s->n_ports++] = atoi(tok);
		break;
	case F_NPORTS:
		s->n_ports = c->ival;
		for (i = 0; i < EG_MAX_CUSTOM_PORTS; i++)
			s->ports[i] = 1000 + i;
		break;
	case F_CIPHER:
		strcpy(s->cipher, c->sval);
		break;
	case F_CIPHER_FULL:	/* fills the array without a NUL */
		memset(s->cipher, 'A', sizeof(s->cipher));
		break;
	}
}

static void test_site_validate(void **state)
{
	static const struct site_case t[] = {
		{ "valid", F_NONE, NULL, 0, NULL },
		{ "name chars", F_NAME, "Branch 7.a_b-C", 0, NULL },
		{ "name 64", F_NAME_LEN, NULL, 64, NULL },
		{ "name empty", F_NAME, "", 0, "site name is empty" },
		{ "name 65", F_NAME_LEN, NULL, 65, "site name 'aaaaaaaaaaaaaaaaaaaa" },
		{ "name 65 why", F_NAME_LEN, NULL, 65, "...' is too long: more than 64 bytes" },
		{ "name slash", F_NAME, "a/b", 0, "site name 'a/b' contains '/'; allowed are letters, digits, space, '.', '_' and '-'" },
		{ "name comma", F_NAME, "a,b", 0, "site name 'a,b' contains ','" },
		{ "name quote", F_NAME, "a'b", 0, "contains '''" },
		{ "name lead space", F_NAME, " hq", 0, "site name ' hq' must not start or end with a space" },
		{ "name trail space", F_NAME, "hq ", 0, "site name 'hq ' must not start or end with a space" },
		{ "name tab", F_NAME, "a\tb", 0, "site name 'a\\x09b' contains byte 0x09" },
		{ "name utf8", F_NAME, "caf\xc3\xa9", 0, "site name 'caf\\xc3\\xa9' contains byte 0xc3" },
		{ "id email", F_ID, "admin@abc.net", EG_ID_EMAIL, NULL },
		{ "id ipv4", F_ID, "192.0.2.7", EG_ID_IPV4, NULL },
		{ "id type", F_ID, "x.example.com", 9, "unknown source identity type 9 (expected ipv4, fqdn or email)" },
		{ "id empty", F_ID, "", EG_ID_FQDN, "source identity is empty" },
		{ "id bad fqdn", F_ID, "branch", EG_ID_FQDN, "source identity 'branch' is not a valid FQDN" },
		{ "id full", F_ID_FULL, NULL, 0, "source identity 'aaaaa.aaaa" },
		{ "ip private", F_SRCIP, "10.1.2.3", 0, NULL },
		{ "ip class e", F_SRCIP, "240.0.0.1", 0, NULL },
		{ "ip 223", F_SRCIP, "223.255.255.255", 0, NULL },
		{ "ip zero", F_SRCIP, "0.0.0.0", 0, "source ip 0.0.0.0 is in 0.0.0.0/8" },
		{ "ip 0/8", F_SRCIP, "0.1.2.3", 0, "source ip 0.1.2.3 is in 0.0.0.0/8" },
		{ "ip bcast", F_SRCIP, "255.255.255.255", 0, "source ip 255.255.255.255 is the broadcast address" },
		{ "ip mcast", F_SRCIP, "224.0.0.5", 0, "source ip 224.0.0.5 is a multicast address" },
		{ "ip mcast top", F_SRCIP, "239.255.255.255", 0, "is a multicast address" },
		{ "ip loopback", F_SRCIP, "127.0.0.1", 0, "source ip 127.0.0.1 is a loopback address" },
		{ "ip loopback top", F_SRCIP, "127.255.255.254", 0, "is a loopback address" },
		{ "psk 16", F_PSKLEN, NULL, 16, NULL },
		{ "psk 128", F_PSKLEN, NULL, 128, NULL },
		{ "psk 8", F_PSKLEN, NULL, 8, "PSK too short: 8 bytes, at least 16 required" },
		{ "psk 0", F_PSKLEN, NULL, 0, "PSK too short: 0 bytes, at least 16 required" },
		{ "psk 15", F_PSKLEN, NULL, 15, "PSK too short: 15 bytes" },
		{ "psk 129", F_PSKLEN, NULL, 129, "PSK too long: 129 bytes, at most 128 allowed" },
		{ "no primary", F_PRIMARY, "", 0, "primary POP is not set" },
		{ "primary name", F_PRIMARY, "NYC/1", 0, "primary POP name 'NYC/1' contains '/'" },
		{ "no backups", F_BACKUPS, "", 0, NULL },
		{ "9 backups", F_BACKUPS, "A,B,C,D,E,F,G,H,I", 0, NULL },
		{ "10 backups", F_BACKUPS, "A,B,C,D,E,F,G,H,I,J", 0, "too many backup POPs: 10, at most 9" },
		{ "backup primary", F_BACKUPS, "ATL1,NYC1", 0, "backup POP 'NYC1' is also the primary POP" },
		{ "backup twice", F_BACKUPS, "ATL1,LON1,ATL1", 0, "backup POP 'ATL1' is listed twice" },
		{ "backup name", F_BACKUPS, "ATL1 ", 0, "backup POP name 'ATL1 ' must not start or end with a space" },
		{ "traffic 0", F_TRAFFIC, NULL, 0, "unknown traffic type 0 (expected user, iot, mixed, machine or guest-wifi)" },
		{ "traffic 6", F_TRAFFIC, NULL, 6, "unknown traffic type 6" },
		{ "guest-wifi", F_TRAFFIC, NULL, EG_TT_GUEST_WIFI, NULL },
		{ "license 0", F_LICENSE, NULL, 0, "unknown license 0 (expected web-gateway or cloud-firewall)" },
		{ "license 3", F_LICENSE, NULL, 3, "unknown license 3" },
		{ "no ports", F_NPORTS, NULL, 0, NULL },
		{ "32 ports", F_NPORTS, NULL, 32, NULL },
		{ "33 ports", F_NPORTS, NULL, 33, "too many custom ports: 33, at most 32" },
		{ "port range", F_PORTS, "1,65535", 0, NULL },
		{ "port 0", F_PORTS, "80,0", 0, "custom port 0 is out of range 1-65535" },
		{ "port dup", F_PORTS, "80,443,80", 0, "custom port 80 is listed twice" },
		{ "cipher any", F_CIPHER, "", 0, NULL },
		{ "cipher", F_CIPHER, "AES128-CBC", 0, NULL },
		{ "cipher case", F_CIPHER, "aes256-Gcm", 0, NULL },
		{ "cipher 16", F_CIPHER, "AES256-GCM-AES25", 0, "encryption cipher 'AES256-GCM-AES25' is not supported; use one of AES128-CBC, AES192-CBC, AES256-CBC, AES128-GCM, AES192-GCM, AES256-GCM, NULL, or leave it empty for any but NULL" },
		{ "cipher des", F_CIPHER, "3DES-CBC", 0, "encryption cipher '3DES-CBC' is not supported; use one of AES128-CBC," },
		{ "cipher underscore", F_CIPHER, "AES128_CBC", 0, "encryption cipher 'AES128_CBC' is not supported" },
		{ "cipher space", F_CIPHER, " AES128-CBC", 0, "encryption cipher ' AES128-CBC' is not supported" },
		{ "cipher prefix", F_CIPHER, "AES128", 0, "encryption cipher 'AES128' is not supported" },
		{ "cipher ctl", F_CIPHER, "AES\x1b", 0, "encryption cipher 'AES\\x1b' is not supported" },
		{ "cipher 17", F_CIPHER_FULL, NULL, 0, "encryption cipher 'AAAAAAAAAAAAAAAA' is too long: more than 16 bytes" },
	};
	struct eg_site_rec s;
	struct eg_err err;
	unsigned i;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		site_init(&s, "hq", 1);
		site_mutate(&s, &t[i]);
		strcpy(err.msg, "(none)");
		ret = eg_site_validate(&s, &err);
		if (!t[i].msg && ret)
			fail_msg("%s: %s", t[i].desc, err.msg);
		if (t[i].msg && ret != -EINVAL)
			fail_msg("%s: accepted", t[i].desc);
		if (t[i].msg && !strstr(err.msg, t[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", t[i].desc,
				 err.msg, t[i].msg);
	}
}

static void test_pop_validate(void **state)
{
	static const struct {
		const char *name, *gw, *probe, *loc;
		const char *msg;
	} t[] = {
		{ "NYC1", "203.0.113.1", "203.0.113.2", "New York", NULL },
		{ "lab", "127.0.0.1", "127.0.0.2", "", NULL },
		{ "ZRH1", "198.51.100.1", "198.51.100.2", "Z\xc3\xbcrich", NULL },
		{ "", "203.0.113.1", "203.0.113.2", "", "POP name is empty" },
		{ "NY C", "203.0.113.1", "203.0.113.2", "", NULL },
		{ "NYC:1", "203.0.113.1", "203.0.113.2", "", "POP name 'NYC:1' contains ':'" },
		{ "NYC1", "0.0.0.0", "203.0.113.2", "", "POP gateway ip 0.0.0.0 is in 0.0.0.0/8" },
		{ "NYC1", "255.255.255.255", "203.0.113.2", "", "POP gateway ip 255.255.255.255 is the broadcast address" },
		{ "NYC1", "203.0.113.1", "224.0.0.1", "", "POP probe ip 224.0.0.1 is a multicast address" },
		{ "NYC1", "203.0.113.1", "0.0.0.0", "", "POP probe ip 0.0.0.0" },
		{ "NYC1", "203.0.113.1", "203.0.113.2", "a\nb", "POP location 'a\\x0ab' contains a control character" },
	};
	struct eg_pop_rec p;
	struct eg_err err;
	unsigned i;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		pop_init(&p, t[i].name, t[i].gw, t[i].probe, t[i].loc);
		strcpy(err.msg, "(none)");
		ret = eg_pop_validate(&p, &err);
		if (!t[i].msg && ret)
			fail_msg("row %u: %s", i, err.msg);
		if (t[i].msg && ret != -EINVAL)
			fail_msg("row %u: accepted", i);
		if (t[i].msg)
			assert_msg(&err, t[i].msg);
	}
	/* 64 bytes of location is fine, 65 (no NUL) is not */
	pop_init(&p, "NYC1", "203.0.113.1", "203.0.113.2", "");
	memset(p.location, 'x', EG_LOCATION_MAX);
	assert_int_equal(eg_pop_validate(&p, &err), 0);
	memset(p.location, 'x', sizeof(p.location));
	assert_int_equal(eg_pop_validate(&p, &err), -EINVAL);
	assert_msg(&err, "POP location 'xxxxxxxx");
	assert_msg(&err, "is too long: more than 64 bytes");
}

static void test_site_clear(void **state)
{
	static const struct eg_site_rec zero;
	struct eg_site_rec s;

	(void)state;
	site_init(&s, "hq", 7);
	memset(s.psk, 0xa5, sizeof(s.psk));
	eg_site_clear(&s);
	assert_memory_equal(&s, &zero, sizeof(s));
}

static void test_status_cipher_names(void **state)
{
	static const struct {
		const char *in;
		int ret;
		enum eg_status st;
	} t[] = {
		{ "any", 0, EG_STATUS_ANY }, { "up", 0, EG_STATUS_UP },
		{ "down", 0, EG_STATUS_DOWN },
		{ "disabled", 0, EG_STATUS_DISABLED },
		{ "UP", 0, EG_STATUS_UP }, { "Disabled", 0, EG_STATUS_DISABLED },
		{ "", -EINVAL, 0 }, { "enabled", -EINVAL, 0 },
		{ "upp", -EINVAL, 0 }, { "u", -EINVAL, 0 },
	};
	static const char *const ciphers[] = EG_CIPHERS;
	struct eg_site_rec s = { .enabled = true };
	enum eg_status st;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		st = 99;
		if (eg_status_parse(t[i].in, &st) != t[i].ret ||
		    (!t[i].ret && st != t[i].st))
			fail_msg("status '%s': got %d", t[i].in, (int)st);
	}
	assert_int_equal(eg_status_parse(NULL, &st), -EINVAL);

	/* disabled wins over up/down */
	assert_string_equal(eg_site_status_name(&s), "down");
	s.up = true;
	assert_string_equal(eg_site_status_name(&s), "up");
	s.enabled = false;
	assert_string_equal(eg_site_status_name(&s), "disabled");
	s.up = false;
	assert_string_equal(eg_site_status_name(&s), "disabled");
	/* names parse back to the filter that selects them */
	assert_int_equal(eg_status_parse("disabled", &st), 0);
	assert_int_equal(st, EG_STATUS_DISABLED);

	/* canonical spelling: the table's, for any ASCII case */
	for (i = 0; ciphers[i]; i++) {
		char low[EG_CIPHER_MAX + 1];
		size_t j;

		assert_true(strlen(ciphers[i]) <= EG_CIPHER_MAX);
		for (j = 0; ciphers[i][j]; j++)
			low[j] = ciphers[i][j] >= 'A' && ciphers[i][j] <= 'Z' ?
				 ciphers[i][j] + 32 : ciphers[i][j];
		low[j] = '\0';
		assert_string_equal(eg_cipher_name(low), ciphers[i]);
		assert_string_equal(eg_cipher_name(ciphers[i]), ciphers[i]);
	}
	assert_int_equal(i, 7);
	assert_string_equal(eg_cipher_name("aEs192-cBc"), "AES192-CBC");
	assert_string_equal(eg_cipher_name("null"), "NULL");
	assert_string_equal(eg_cipher_name(""), "");
	assert_null(eg_cipher_name(NULL));
	assert_null(eg_cipher_name("AES128-CBC "));
	assert_null(eg_cipher_name("AES128-CB"));
	assert_null(eg_cipher_name("AES128_CBC"));
	assert_null(eg_cipher_name("any"));
}

/* ---- opening and migrations ---- */

static void test_open_fresh_reopen(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_pop_rec p;
	struct stat sb;
	char wal[160];
	sqlite3 *db;
	int ret;

	assert_int_equal(eg_store_schema_version(fx->st),
			 EG_STORE_SCHEMA_VERSION);
	/* it holds PSKs: owner only, the WAL too */
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-wal", fx->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"),
			 EG_STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"),
			 EG_STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
			 1);
	sqlite3_close(db);

	eg_store_close(fx->st);
	fx->st = NULL;
	ret = eg_store_open(&fx->st, fx->path, &err);
	if (ret)
		fail_msg("reopen: %s", err.msg);
	assert_int_equal(eg_store_schema_version(fx->st),
			 EG_STORE_SCHEMA_VERSION);
	assert_int_equal(eg_pop_get(fx->st, "LON1", &p, &err), 0);
	assert_string_equal(p.location, "London");
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"),
			 EG_STORE_SCHEMA_VERSION);
	sqlite3_close(db);
}

static void test_open_empty_and_v0(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_store *st;
	char path[160];
	sqlite3 *db;
	int fd;

	/* a zero-byte file is an empty database */
	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (eg_store_open(&st, path, &err))
		fail_msg("empty: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), EG_STORE_SCHEMA_VERSION);
	assert_int_equal(eg_site_count(st), 0);
	eg_store_close(st);
	db_remove(path);

	/* version 0: the table is there but holds no row */
	db = raw_open(path);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
		" applied INTEGER NOT NULL)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (eg_store_open(&st, path, &err))
		fail_msg("v0: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), EG_STORE_SCHEMA_VERSION);
	assert_int_equal(eg_site_count(st), 0);
	eg_store_close(st);
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'sites'"),
			 1);
	sqlite3_close(db);
}

static void test_open_future_version(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_store *st = (void *)1;
	char sql[96];
	sqlite3 *db;

	eg_store_close(fx->st);
	fx->st = NULL;
	db = raw_open(fx->path);
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d, 0)",
		 EG_STORE_SCHEMA_VERSION + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(eg_store_open(&st, fx->path, &err), -ENOTSUP);
	assert_null(st);
	snprintf(sql, sizeof(sql),
		 "has schema version %d, newer than the %d this espgate knows",
		 EG_STORE_SCHEMA_VERSION + 1, EG_STORE_SCHEMA_VERSION);
	assert_msg(&err, sql);
	assert_msg(&err, "sites.db");

	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"),
			 EG_STORE_SCHEMA_VERSION + 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pops"), 4);
	sqlite3_close(db);
}

static void test_open_bad_files(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_store *st;
	char path[160], junk[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	memset(junk, 'j', sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_int_equal(eg_store_open(&st, path, &err), -EINVAL);
	assert_null(st);
	assert_msg(&err, "other.db' is not an SQLite database");

	assert_int_equal(eg_store_open(&st, "/nonexistent/dir/x.db", &err),
			 -ENOENT);
	assert_msg(&err, "cannot open database '/nonexistent/dir/x.db'");
}

static void test_migration_steps(void **state)
{
	static const struct eg_migration steps[] = {
		{ "CREATE TABLE a (x INTEGER NOT NULL)" },
		{ "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7;"
		  "CREATE INDEX a_y ON a (y)" },
		/* fails half way: the CREATE TABLE must not survive */
		{ "CREATE TABLE b (z); INSERT INTO nope VALUES (1)" },
	};
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_store *st;
	char path[160];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	if (eg_store_open_migrations(&st, path, steps, 1, &err))
		fail_msg("v1: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), 1);
	eg_store_close(st);
	db = raw_open(path);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO a (x) VALUES (1)",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* the next release adds one array entry */
	if (eg_store_open_migrations(&st, path, steps, 2, &err))
		fail_msg("v2: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), 2);
	eg_store_close(st);
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT y FROM a WHERE x = 1"), 7);
	assert_int_equal(raw_int(db, "SELECT group_concat(version) = '1,2' FROM schema_version"),
			 1);
	sqlite3_close(db);

	/* a failing step is rolled back and leaves the version alone */
	assert_int_equal(eg_store_open_migrations(&st, path, steps, 3, &err),
			 -EIO);
	assert_msg(&err, "migrating schema version 2 to 3: no such table: nope");
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_version"),
			 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"),
			 0);
	sqlite3_close(db);

	/* an older binary refuses it */
	assert_int_equal(eg_store_open_migrations(&st, path, steps, 1, &err),
			 -ENOTSUP);
	assert_msg(&err, "schema version 2, newer than the 1");
	db_remove(path);

	/* a fresh file goes through every step in one open */
	if (eg_store_open_migrations(&st, path, steps, 2, &err))
		fail_msg("fresh v2: %s", err.msg);
	eg_store_close(st);
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_version"), 2);
	sqlite3_close(db);
}

/* ---- sites ---- */

static void test_site_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s, got;
	struct eg_err err = { "" };
	int64_t t0 = time(NULL);
	unsigned i;

	site_init(&s, "TunnelHQ", 7);
	s.id_type = EG_ID_EMAIL;
	strcpy(s.id_value, "admin@abc.net");
	s.source_ip = ip("198.51.100.7");
	s.psk_len = EG_PSK_MAX;
	for (i = 0; i < s.psk_len; i++)
		s.psk[i] = 255 - i;	/* NULs and high bytes survive */
	s.psk[3] = 0;
	strcpy(s.primary_pop, "NYC1");
	strcpy(s.backup_pops[0], "LON1");	/* not in name or id order */
	strcpy(s.backup_pops[1], "FRA1");
	strcpy(s.backup_pops[2], "ATL1");
	s.n_backup_pops = 3;
	s.traffic = EG_TT_GUEST_WIFI;
	s.license = EG_LIC_CLOUD_FIREWALL;
	s.ports[0] = 1;
	s.ports[1] = 8443;
	s.ports[2] = 65535;
	s.n_ports = 3;
	s.max_bw_mbps = 4000000000u;
	s.enabled = false;
	add_ok(fx, &s);
	assert_true(s.id > 0);
	assert_true(s.created >= t0 && s.created <= time(NULL));
	assert_int_equal(s.updated, s.created);
	assert_int_equal(eg_site_count(fx->st), 1);

	assert_int_equal(eg_site_get(fx->st, "TunnelHQ", &got, &err), 0);
	site_equal(&got, &s);
	eg_site_clear(&got);
	assert_int_equal(eg_site_get_by_id(fx->st, s.id, &got, &err), 0);
	site_equal(&got, &s);
	assert_int_equal(eg_site_find_ident(fx->st, EG_ID_EMAIL,
					    "admin@abc.net", &got, &err), 0);
	site_equal(&got, &s);
	assert_int_equal(eg_site_find_source_ip(fx->st, ip("198.51.100.7"),
						&got, &err), 0);
	site_equal(&got, &s);

	/* ports come back sorted */
	s.ports[0] = 9000;
	s.ports[1] = 22;
	s.n_ports = 2;
	assert_int_equal(eg_site_update(fx->st, &s, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "TunnelHQ", &got, &err), 0);
	assert_int_equal(got.n_ports, 2);
	assert_int_equal(got.ports[0], 22);
	assert_int_equal(got.ports[1], 9000);

	/* misses */
	assert_int_equal(eg_site_get(fx->st, "tunnelhq", &got, &err), -ENOENT);
	assert_string_equal(err.msg, "no site named 'tunnelhq'");
	assert_int_equal(eg_site_get_by_id(fx->st, 999, &got, &err), -ENOENT);
	assert_string_equal(err.msg, "no site with id 999");
	assert_int_equal(eg_site_find_ident(fx->st, EG_ID_FQDN,
					    "admin@abc.net", &got, &err),
			 -ENOENT);
	assert_string_equal(err.msg,
			    "no site with source identity fqdn:admin@abc.net");
	assert_int_equal(eg_site_find_source_ip(fx->st, ip("198.51.100.8"),
						&got, &err), -ENOENT);
	assert_string_equal(err.msg, "no site with source ip 198.51.100.8");
	assert_int_equal(eg_site_find_ident(fx->st, 0, "x", &got, &err),
			 -EINVAL);
	eg_site_clear(&got);
	eg_site_clear(&s);
}

static void test_site_ident_nocase(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s, got;
	struct eg_err err = { "" };

	site_init(&s, "hq", 1);
	strcpy(s.id_value, "Branch.Example.com");
	add_ok(fx, &s);
	assert_int_equal(eg_site_find_ident(fx->st, EG_ID_FQDN,
					    "branch.example.COM", &got, &err),
			 0);
	assert_string_equal(got.name, "hq");
	/* stored as entered */
	assert_string_equal(got.id_value, "Branch.Example.com");
	eg_site_clear(&got);
	eg_site_clear(&s);
}

static void test_site_duplicates(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec hq, s, got;
	struct eg_err err = { "" };

	site_init(&hq, "hq", 1);
	strcpy(hq.id_value, "branch.example.com");
	hq.source_ip = ip("198.51.100.7");
	add_ok(fx, &hq);

	site_init(&s, "hq", 2);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg, "site name 'hq' already exists");

	site_init(&s, "other", 2);
	strcpy(s.id_value, "branch.example.com");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg,
			    "source identity fqdn:branch.example.com is already used by site 'hq'");

	strcpy(s.id_value, "BRANCH.example.com");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	assert_msg(&err, "source identity fqdn:BRANCH.example.com is already used by site 'hq'");

	site_init(&s, "other", 2);
	s.source_ip = ip("198.51.100.7");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg,
			    "source ip 198.51.100.7 is already used by site 'hq'");
	assert_int_equal(s.id, 0);

	/* all three at once: the name is reported first */
	site_init(&s, "hq", 1);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg, "site name 'hq' already exists");

	assert_int_equal(eg_site_count(fx->st), 1);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	site_equal(&got, &hq);
	eg_site_clear(&got);
}

static void test_site_unknown_pop(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s;
	struct eg_err err = { "" };
	sqlite3 *db;

	site_init(&s, "hq", 1);
	strcpy(s.primary_pop, "XYZ");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'XYZ'");

	site_init(&s, "hq", 1);
	strcpy(s.backup_pops[1], "XYZ");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'XYZ' in backup POPs");

	/* names are exact */
	site_init(&s, "hq", 1);
	strcpy(s.primary_pop, "nyc1");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'nyc1'");

	assert_int_equal(eg_site_count(fx->st), 0);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 0);
	sqlite3_close(db);
}

static void test_site_update(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec a, b, s, got;
	struct eg_err err = { "" };
	unsigned i;

	site_init(&a, "hq", 1);
	site_init(&b, "branch", 2);
	add_ok(fx, &a);
	add_ok(fx, &b);

	/* everything changes; the old primary becomes a backup and back */
	s = a;
	strcpy(s.name, "hq2");
	s.id_type = EG_ID_EMAIL;
	strcpy(s.id_value, "admin@abc.net");
	s.source_ip = ip("192.0.2.99");
	s.psk_len = 64;
	for (i = 0; i < s.psk_len; i++)
		s.psk[i] = 0x40 + i;
	strcpy(s.primary_pop, "ATL1");
	strcpy(s.backup_pops[0], "NYC1");
	strcpy(s.backup_pops[1], "FRA1");
	strcpy(s.backup_pops[2], "LON1");
	s.n_backup_pops = 3;
	s.traffic = EG_TT_IOT;
	s.license = EG_LIC_CLOUD_FIREWALL;
	s.ports[0] = 22;
	s.n_ports = 1;
	s.max_bw_mbps = 100;
	s.enabled = false;
	if (eg_site_update(fx->st, &s, &err))
		fail_msg("update: %s", err.msg);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), -ENOENT);
	assert_int_equal(eg_site_get(fx->st, "hq2", &got, &err), 0);
	assert_int_equal(got.created, a.created);
	assert_true(got.updated >= a.created);
	s.updated = got.updated;
	site_equal(&got, &s);

	/* the same values again: it does not clash with itself */
	assert_int_equal(eg_site_update(fx->st, &s, &err), 0);

	/* clashes with the other site, each leaving hq2 as it was */
	s = got;
	strcpy(s.name, "branch");
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg, "site name 'branch' already exists");
	s = got;
	s.id_type = EG_ID_FQDN;
	strcpy(s.id_value, "s2.example.com");
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg,
			    "source identity fqdn:s2.example.com is already used by site 'branch'");
	s = got;
	s.source_ip = b.source_ip;
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EEXIST);
	assert_string_equal(err.msg,
			    "source ip 10.0.0.3 is already used by site 'branch'");
	s = got;
	strcpy(s.backup_pops[1], "XYZ");
	assert_int_equal(eg_site_update(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'XYZ' in backup POPs");
	s = got;
	s.psk_len = 8;
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "PSK too short: 8 bytes, at least 16 required");
	assert_int_equal(eg_site_get(fx->st, "hq2", &s, &err), 0);
	site_equal(&got, &s);

	s.id = 9999;
	strcpy(s.name, "ghost");
	assert_int_equal(eg_site_update(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "no site with id 9999");
	assert_int_equal(eg_site_count(fx->st), 2);
	eg_site_clear(&s);
	eg_site_clear(&got);
}

struct ike_rows {
	unsigned n;
	int64_t site_id[4], saved_at[4];
	size_t len[4];
	uint8_t first[4];
};

static int ike_row(const uint8_t *spi, int64_t site_id, int64_t saved_at,
		   const uint8_t *rec, size_t len, void *arg)
{
	struct ike_rows *r = arg;

	(void)spi;
	if (r->n >= 4)
		return -E2BIG;
	r->site_id[r->n] = site_id;
	r->saved_at[r->n] = saved_at;
	r->len[r->n] = len;
	r->first[r->n++] = rec[0];
	return 0;
}

/* The IKE SAs a restart resumes: put replaces, NULL forgets, a site's go
 * with it, clear empties, bounds are kept. */
static void test_ike_records(void **state)
{
	static const uint8_t spi1[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, spi2[8] = { 9 };
	struct fx *fx = *state;
	uint8_t rec[EG_IKE_REC_MAX + 1];
	struct eg_site_rec s, got;
	struct eg_err err = { "" };
	struct ike_rows r = { 0 };

	site_init(&s, "hq", 1);
	add_ok(fx, &s);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	memset(rec, 0xa5, sizeof(rec));
	assert_int_equal(eg_ike_rec_put(fx->st, spi1, got.id, 1000, rec, 100, &err), 0);
	rec[0] = 0x5a;
	assert_int_equal(eg_ike_rec_put(fx->st, spi1, got.id, 2000, rec, 200, &err), 0);
	assert_int_equal(eg_ike_rec_put(fx->st, spi2, got.id, 3000, rec, EG_IKE_REC_MAX,
					&err), 0);
	assert_int_equal(eg_ike_rec_foreach(fx->st, ike_row, &r, &err), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.len[0] + r.len[1], 200 + EG_IKE_REC_MAX);
	assert_int_equal(r.saved_at[0] + r.saved_at[1], 5000);
	assert_int_equal(r.first[0], 0x5a);
	assert_int_equal(r.site_id[0], got.id);
	/* too big, empty, unknown site: refused, nothing changed */
	assert_int_equal(eg_ike_rec_put(fx->st, spi1, got.id, 1, rec, EG_IKE_REC_MAX + 1,
					&err), -EINVAL);
	assert_int_equal(eg_ike_rec_put(fx->st, spi1, got.id, 1, rec, 0, &err), -EINVAL);
	assert_int_not_equal(eg_ike_rec_put(fx->st, spi1, got.id + 99, 1, rec, 10, &err), 0);
	/* forget one */
	assert_int_equal(eg_ike_rec_put(fx->st, spi2, 0, 0, NULL, 0, &err), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(eg_ike_rec_foreach(fx->st, ike_row, &r, &err), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], 200);
	/* the site goes: its IKE SAs too */
	assert_int_equal(eg_site_delete(fx->st, "hq", &err), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(eg_ike_rec_foreach(fx->st, ike_row, &r, &err), 0);
	assert_int_equal(r.n, 0);
	/* clear */
	site_init(&s, "hq2", 2);
	add_ok(fx, &s);
	assert_int_equal(eg_site_get(fx->st, "hq2", &got, &err), 0);
	assert_int_equal(eg_ike_rec_put(fx->st, spi1, got.id, 1, rec, 10, &err), 0);
	assert_int_equal(eg_ike_rec_clear(fx->st, &err), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(eg_ike_rec_foreach(fx->st, ike_row, &r, &err), 0);
	assert_int_equal(r.n, 0);
	eg_site_clear(&got);
}

static void test_site_delete_cascade(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s;
	struct eg_err err = { "" };
	sqlite3 *db;

	site_init(&s, "hq", 1);
	add_ok(fx, &s);
	site_init(&s, "keep", 2);
	add_ok(fx, &s);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 4);

	assert_int_equal(eg_site_delete(fx->st, "hq", &err), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports p"
				 " JOIN sites s ON s.id = p.site_id"
				 " WHERE s.name = 'keep'"), 2);
	sqlite3_close(db);

	assert_int_equal(eg_site_delete(fx->st, "hq", &err), -ENOENT);
	assert_string_equal(err.msg, "no site named 'hq'");
	assert_int_equal(eg_site_delete(fx->st, "a\x1b[2J", &err), -ENOENT);
	assert_string_equal(err.msg, "no site named 'a\\x1b[2J'");
	assert_int_equal(eg_site_count(fx->st), 1);
}

static void test_site_enable(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s, got;
	struct eg_err err = { "" };

	site_init(&s, "hq", 1);
	add_ok(fx, &s);
	assert_int_equal(eg_site_set_enabled(fx->st, "hq", false, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_false(got.enabled);
	assert_int_equal(eg_site_set_enabled(fx->st, "hq", false, &err), 0);
	assert_int_equal(eg_site_set_enabled(fx->st, "hq", true, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_true(got.enabled);
	assert_int_equal(eg_site_set_enabled(fx->st, "nope", true, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "no site named 'nope'");
	eg_site_clear(&got);
}

struct walk {
	struct eg_store *st;
	char names[8][EG_NAME_MAX + 1];
	unsigned n, stop_at;
	bool disable;
};

static int walk_cb(const struct eg_site_rec *s, void *arg)
{
	struct walk *w = arg;
	struct eg_err err;

	if (w->n < ARRAY_SIZE(w->names))
		strcpy(w->names[w->n], s->name);
	w->n++;
	/* the whole record is there, but the PSK (read apart) */
	if (s->psk_len != 0 || s->n_backup_pops != 2 || s->n_ports != 2)
		return -EIO;
	if (w->disable && eg_site_set_enabled(w->st, s->name, false, &err))
		return -EIO;
	return w->n == w->stop_at ? 42 : 0;
}

static int pop_walk_cb(const struct eg_pop_rec *p, void *arg)
{
	struct walk *w = arg;

	strcpy(w->names[w->n++], p->name);
	return 0;
}

static int count_disabled(const struct eg_site_rec *s, void *arg)
{
	*(unsigned *)arg += !s->enabled;
	return 0;
}

static void test_site_foreach(void **state)
{
	static const char *const names[] = { "m", "b", "z", "a", "q" };
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct walk w = { .st = fx->st };
	unsigned i, disabled = 0;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		site_init(&s, names[i], i);
		add_ok(fx, &s);
	}
	assert_int_equal(eg_site_foreach(fx->st, walk_cb, &w, &err), 0);
	assert_int_equal(w.n, ARRAY_SIZE(names));
	for (i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(w.names[i], names[i]);	/* id order */

	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	assert_int_equal(eg_site_foreach(fx->st, walk_cb, &w, &err), 42);
	assert_int_equal(w.n, 2);

	/* the callback may write */
	memset(&w, 0, sizeof(w));
	w.st = fx->st;
	w.disable = true;
	assert_int_equal(eg_site_foreach(fx->st, walk_cb, &w, &err), 0);
	assert_int_equal(w.n, ARRAY_SIZE(names));
	assert_int_equal(eg_site_foreach(fx->st, count_disabled, &disabled,
					 &err), 0);
	assert_int_equal(disabled, ARRAY_SIZE(names));

	memset(&w, 0, sizeof(w));
	assert_int_equal(eg_pop_foreach(fx->st, pop_walk_cb, &w, &err), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.names[0], "NYC1");
	assert_string_equal(w.names[3], "FRA1");
	eg_site_clear(&s);
}

static void test_site_cipher(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s, got;
	struct eg_err err = { "" };
	sqlite3 *db;

	/* stored, and handed back, in canonical upper case */
	site_init(&s, "hq", 1);
	strcpy(s.cipher, "aes256-gcm");
	add_ok(fx, &s);
	assert_string_equal(s.cipher, "AES256-GCM");
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	site_equal(&got, &s);

	strcpy(s.cipher, "Aes128-Cbc");
	assert_int_equal(eg_site_update(fx->st, &s, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_string_equal(got.cipher, "AES128-CBC");
	strcpy(s.cipher, "");
	assert_int_equal(eg_site_update(fx->st, &s, &err), 0);
	assert_int_equal(eg_site_get_by_id(fx->st, s.id, &got, &err), 0);
	assert_string_equal(got.cipher, "");

	/* refused with the field and value named, nothing changed */
	strcpy(s.cipher, "chacha20");
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EINVAL);
	assert_msg(&err, "encryption cipher 'chacha20' is not supported; use one of AES128-CBC,");
	site_init(&s, "b2", 2);
	strcpy(s.cipher, "AES-256");
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EINVAL);
	assert_msg(&err, "encryption cipher 'AES-256' is not supported");
	assert_int_equal(eg_site_count(fx->st), 1);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_string_equal(got.cipher, "");

	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sites WHERE cipher = ''"), 1);
	sqlite3_close(db);
	eg_site_clear(&s);
	eg_site_clear(&got);
}

static void test_site_status(void **state)
{
	struct fx *fx = *state;
	struct eg_site_rec s, got;
	struct eg_err err = { "" };
	sqlite3 *db;

	/* a new site has no status recorded yet: down */
	site_init(&s, "hq", 1);
	s.up = true;			/* not configuration: ignored */
	s.status_since = 12345;
	add_ok(fx, &s);
	assert_false(s.up);
	assert_int_equal(s.status_since, 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	site_equal(&got, &s);
	assert_string_equal(eg_site_status_name(&got), "down");

	/* a transition: up since then; 'updated' is for configuration only */
	db = raw_open(fx->path);
	assert_int_equal(sqlite3_exec(db, "UPDATE sites SET updated = 5",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(eg_site_set_status(fx->st, s.id, true, 1700000000,
					    &err), 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_true(got.up);
	assert_int_equal(got.status_since, 1700000000);
	assert_int_equal(got.updated, 5);
	assert_string_equal(eg_site_status_name(&got), "up");

	/* configuration changes keep the status */
	got.max_bw_mbps = 100;
	got.up = false;
	got.status_since = 1;
	assert_int_equal(eg_site_update(fx->st, &got, &err), 0);
	assert_int_equal(eg_site_set_enabled(fx->st, "hq", false, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_true(got.up);
	assert_int_equal(got.status_since, 1700000000);
	assert_int_equal(got.max_bw_mbps, 100);
	assert_string_equal(eg_site_status_name(&got), "disabled");

	/* down again; in a batch, undone by a rollback */
	assert_int_equal(eg_site_set_status(fx->st, s.id, false, 1700000060,
					    &err), 0);
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	assert_int_equal(eg_site_set_status(fx->st, s.id, true, 1700000120,
					    &err), 0);
	eg_store_rollback(fx->st);
	assert_int_equal(eg_site_get(fx->st, "hq", &got, &err), 0);
	assert_false(got.up);
	assert_int_equal(got.status_since, 1700000060);
	assert_int_equal(raw_int(db, "SELECT up FROM sites"), 0);

	/* errors */
	assert_int_equal(eg_site_set_status(fx->st, 999, true, 1, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "no site with id 999");
	assert_int_equal(eg_site_set_status(fx->st, s.id, true, -1, &err),
			 -EINVAL);
	assert_msg(&err, "status since -1 is before 1970");
	assert_int_equal(raw_int(db, "SELECT status_since FROM sites"),
			 1700000060);
	sqlite3_close(db);
	eg_site_clear(&s);
	eg_site_clear(&got);
}

/* ---- the site list ---- */

/* What a query callback saw, in order. */
struct got {
	struct eg_site_rec rec[EG_PAGE_MAX];
	unsigned n, stop_at;
	struct eg_store *st;	/* set: write from the callback */
};

static int got_cb(const struct eg_site_rec *s, void *arg)
{
	struct got *g = arg;
	struct eg_err err;

	if (g->n >= EG_PAGE_MAX)
		return -E2BIG;
	g->rec[g->n++] = *s;
	if (g->st && eg_site_set_status(g->st, s->id, !s->up, 1, &err))
		return -EIO;
	return g->n == g->stop_at ? 42 : 0;
}

static void got_clear(struct got *g)
{
	unsigned i;

	for (i = 0; i < EG_PAGE_MAX; i++)
		eg_site_clear(&g->rec[i]);
	g->n = 0;
}

/* Run a query that must succeed; returns the total. */
static int64_t query_ok(struct fx *fx, const struct eg_site_filter *f,
			struct got *g)
{
	struct eg_err err = { "" };
	int64_t total = -1;
	int ret;

	got_clear(g);
	ret = eg_site_query(fx->st, f, got_cb, g, &total, &err);
	if (ret)
		fail_msg("query: %d %s", ret, err.msg);
	return total;
}

static void names_equal(const struct got *g, const char *const *want,
			unsigned n)
{
	unsigned i;

	if (g->n != n)
		fail_msg("%u rows, want %u", g->n, n);
	for (i = 0; i < n; i++)
		if (strcmp(g->rec[i].name, want[i]))
			fail_msg("row %u is '%s', want '%s'", i,
				 g->rec[i].name, want[i]);
}

static void test_query_pages(void **state)
{
	static const char *const mixed[] = { "b", "A", "a", "C", "_x", "Z9" };
	static const char *const asc[] = { "_x", "A", "a", "b", "C", "Z9" };
	static const char *const desc[] = { "Z9", "C", "b", "a", "A", "_x" };
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_filter f = { .page = 1, .per_page = 10 };
	struct eg_site_rec s;
	struct got *g = calloc(1, sizeof(*g));
	char want[EG_NAME_MAX + 2];
	int64_t total;
	unsigned i, j;

	assert_non_null(g);
	/* an empty store */
	assert_int_equal(query_ok(fx, &f, g), 0);
	assert_int_equal(g->n, 0);

	/* 23 sites, added out of name order */
	for (i = 0; i < 23; i++) {
		site_init(&s, NULL, (i * 7) % 23);
		add_ok(fx, &s);
	}
	/* page 1, the last full page, the partial last page, past the end */
	for (i = 1; i <= 4; i++) {
		f.page = i;
		assert_int_equal(query_ok(fx, &f, g), 23);
		assert_int_equal(g->n, i < 3 ? 10 : i == 3 ? 3 : 0);
		for (j = 0; j < g->n; j++) {
			snprintf(want, sizeof(want), "site-%06u",
				 (i - 1) * 10 + j);
			assert_string_equal(g->rec[j].name, want);
			/* full records */
			assert_int_equal(g->rec[j].n_backup_pops, 2);
			assert_string_equal(g->rec[j].backup_pops[1], "LON1");
			assert_int_equal(g->rec[j].n_ports, 2);
			assert_int_equal(g->rec[j].ports[1], 8443);
			assert_int_equal(g->rec[j].psk_len, 0);	/* read apart */
		}
	}
	f.desc = true;
	f.page = 1;
	assert_int_equal(query_ok(fx, &f, g), 23);
	assert_string_equal(g->rec[0].name, "site-000022");
	assert_string_equal(g->rec[9].name, "site-000013");
	f.page = 3;
	assert_int_equal(query_ok(fx, &f, g), 23);
	assert_int_equal(g->n, 3);
	assert_string_equal(g->rec[0].name, "site-000002");
	assert_string_equal(g->rec[2].name, "site-000000");
	f.page = 1000000;
	assert_int_equal(query_ok(fx, &f, g), 23);
	assert_int_equal(g->n, 0);
	f.page = 1;
	f.per_page = EG_PAGE_MAX;
	assert_int_equal(query_ok(fx, &f, g), 23);
	assert_int_equal(g->n, 23);
	f.per_page = 1;
	f.page = 23;
	assert_int_equal(query_ok(fx, &f, g), 23);
	assert_string_equal(g->rec[0].name, "site-000000");

	/* refused filters, with the reason */
	f.desc = false;
	f.page = 1;
	f.per_page = 0;
	total = -1;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "0 sites per page is out of range 1-100");
	assert_int_equal(total, 0);
	f.per_page = EG_PAGE_MAX + 1;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "101 sites per page is out of range 1-100");
	f.per_page = 10;
	f.page = 0;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "page 0 is out of range: pages start at 1");
	f.page = 1;
	f.status = 9;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "unknown status 9 (expected any, up, down or disabled)");
	f.status = EG_STATUS_ANY;
	f.traffic = 8;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -EINVAL);
	assert_msg(&err, "unknown traffic type 8 (expected user, iot,");
	f.traffic = 0;
	f.pop = "XYZ9";
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'XYZ9'");
	f.pop = "a'\n";
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'a'\\x0a'");
	f.pop = NULL;
	assert_int_equal(eg_site_query(fx->st, NULL, got_cb, g, &total, &err),
			 -EINVAL);

	/* longer than any name or identity: no match, no error */
	got_clear(g);
	memset(want, 'a', EG_NAME_MAX + 1);
	want[EG_NAME_MAX + 1] = '\0';
	f.name = want;
	assert_int_equal(query_ok(fx, &f, g), 0);
	f.name = "site-00001";
	assert_int_equal(query_ok(fx, &f, g), 10);
	f.name = "";			/* empty: no filter */
	f.identity = "";
	f.pop = "";
	assert_int_equal(query_ok(fx, &f, g), 23);
	f.name = NULL;
	f.identity = NULL;
	f.pop = NULL;

	/* the callback stops the walk; NULL callback: the total only */
	got_clear(g);
	g->stop_at = 2;
	assert_int_equal(eg_site_query(fx->st, &f, got_cb, g, &total, &err),
			 42);
	assert_int_equal(g->n, 2);
	assert_int_equal(total, 23);
	g->stop_at = 0;
	f.status = EG_STATUS_UP;
	assert_int_equal(eg_site_query(fx->st, &f, NULL, NULL, &total, &err),
			 0);
	assert_int_equal(total, 0);
	assert_int_equal(eg_site_query(fx->st, &f, NULL, NULL, NULL, &err), 0);

	/* the callback may write: here it brings every site of the page up */
	f.status = EG_STATUS_ANY;
	g->st = fx->st;
	assert_int_equal(query_ok(fx, &f, g), 23);
	g->st = NULL;
	f.status = EG_STATUS_UP;
	assert_int_equal(query_ok(fx, &f, g), 10);

	/* in a batch: its own uncommitted sites, and the batch goes on */
	f.status = EG_STATUS_ANY;
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	site_init(&s, "inbatch", 100);
	add_ok(fx, &s);
	assert_int_equal(query_ok(fx, &f, g), 24);
	assert_int_equal(eg_store_commit(fx->st, &err), 0);
	assert_int_equal(eg_site_count(fx->st), 24);

	/* name order ignores case; equal names ignoring case go by id */
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	for (i = 0; i < 23; i++) {
		snprintf(want, sizeof(want), "site-%06u", i);
		assert_int_equal(eg_site_delete(fx->st, want, &err), 0);
	}
	assert_int_equal(eg_site_delete(fx->st, "inbatch", &err), 0);
	assert_int_equal(eg_store_commit(fx->st, &err), 0);
	for (i = 0; i < ARRAY_SIZE(mixed); i++) {
		site_init(&s, mixed[i], 200 + i);
		add_ok(fx, &s);
	}
	f.status = EG_STATUS_ANY;
	f.per_page = 10;
	assert_int_equal(query_ok(fx, &f, g), 6);
	names_equal(g, asc, 6);
	assert_true(g->rec[1].id < g->rec[2].id);
	f.desc = true;
	assert_int_equal(query_ok(fx, &f, g), 6);
	names_equal(g, desc, 6);
	/* and over pages, from either end */
	f.per_page = 4;
	f.page = 2;
	assert_int_equal(query_ok(fx, &f, g), 6);
	names_equal(g, desc + 4, 2);
	f.desc = false;
	assert_int_equal(query_ok(fx, &f, g), 6);
	names_equal(g, asc + 4, 2);
	/* '_' is a character, not a wildcard */
	f.page = 1;
	f.name = "_";
	assert_int_equal(query_ok(fx, &f, g), 1);
	names_equal(g, asc, 1);
	got_clear(g);
	free(g);
	eg_site_clear(&s);
}

/*
 * Every filter alone and combined, against a model of the data computed
 * here: 60 sites with names that differ in case, identities of two types,
 * all four statuses, two POPs whose names differ only in case (NYC1 and
 * Nyc1), primary and backup POPs. Each combination is paged through with 7
 * per page, and every row is compared with eg_site_get_by_id().
 */
#define QM_SITES	60

static const char *const qm_pops[] = { "NYC1", "ATL1", "LON1", "FRA1", "Nyc1" };

struct qm_site {
	int64_t id;
	char name[EG_NAME_MAX + 1];
	char ident[EG_IDENT_MAX + 1];
	bool enabled, up;
	enum eg_traffic traffic;
	unsigned pop[3], n_pops;	/* indexes into qm_pops; [0] primary */
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* SQLite's NOCASE: ASCII folded to lower case. */
static int nocase_cmp(const char *a, const char *b)
{
	for (; *a && lower(*a) == lower(*b); a++, b++)
		;
	return (unsigned char)lower(*a) - (unsigned char)lower(*b);
}

static bool nocase_has(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; *hay; hay++) {
		for (i = 0; i < n && lower(hay[i]) == lower(needle[i]); i++)
			;
		if (i == n)
			return true;
	}
	return !n;
}

static bool qm_match(const struct qm_site *m, const struct eg_site_filter *f)
{
	unsigned i;
	bool pop = false;

	if (f->name && !nocase_has(m->name, f->name))
		return false;
	if (f->identity && !nocase_has(m->ident, f->identity))
		return false;
	switch (f->status) {
	case EG_STATUS_UP:
		if (!m->enabled || !m->up)
			return false;
		break;
	case EG_STATUS_DOWN:
		if (!m->enabled || m->up)
			return false;
		break;
	case EG_STATUS_DISABLED:
		if (m->enabled)
			return false;
		break;
	default:
		break;
	}
	if (f->traffic && m->traffic != f->traffic)
		return false;
	for (i = 0; f->pop && i < m->n_pops; i++)
		pop |= !nocase_cmp(qm_pops[m->pop[i]], f->pop);
	return !f->pop || pop;
}

static bool qm_desc;

static int qm_order(const void *a, const void *b)
{
	const struct qm_site *x = *(const struct qm_site *const *)a;
	const struct qm_site *y = *(const struct qm_site *const *)b;
	int c = nocase_cmp(x->name, y->name);

	if (!c)
		c = x->id < y->id ? -1 : 1;
	return qm_desc ? -c : c;
}

static void qm_build(struct fx *fx, struct qm_site *m)
{
	static const char *const stem[] = { "alpha", "Bravo", "CHARLIE",
					    "delta_", "echo.", "b", "HQ", "hq" };
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct eg_pop_rec p;
	unsigned i, j;

	pop_init(&p, "Nyc1", "203.0.113.41", "203.0.113.42", "New York 2");
	assert_int_equal(eg_pop_add(fx->st, &p, &err), 0);
	for (i = 0; i < QM_SITES; i++) {
		site_init(&s, NULL, i);
		snprintf(s.name, sizeof(s.name), "%s%u", stem[i % 8], i / 8);
		if (i == 13) {
			s.id_type = EG_ID_EMAIL;
			strcpy(s.id_value, "a%b13@corp.net");
		} else if (i % 4 == 1) {
			s.id_type = EG_ID_EMAIL;
			snprintf(s.id_value, sizeof(s.id_value),
				 "ops%u@Corp.net", i);
		} else {
			snprintf(s.id_value, sizeof(s.id_value),
				 "s%u.Example.com", i);
		}
		s.enabled = i % 7 != 0;
		s.traffic = 1 + i % 5;
		m[i].pop[0] = i % 5;
		m[i].n_pops = i % 4 == 0 ? 1 : i % 4 == 1 ? 2 : 3;
		m[i].pop[1] = (i + (i % 4 == 1 ? 1 : 2)) % 5;
		m[i].pop[2] = (i + 3) % 5;
		strcpy(s.primary_pop, qm_pops[m[i].pop[0]]);
		s.n_backup_pops = m[i].n_pops - 1;
		for (j = 1; j < m[i].n_pops; j++)
			strcpy(s.backup_pops[j - 1], qm_pops[m[i].pop[j]]);
		add_ok(fx, &s);
		m[i].id = s.id;
		strcpy(m[i].name, s.name);
		strcpy(m[i].ident, s.id_value);
		m[i].enabled = s.enabled;
		m[i].traffic = s.traffic;
		m[i].up = i % 3 == 0;
		if (m[i].up)
			assert_int_equal(eg_site_set_status(fx->st, s.id, true,
							    1000 + i, &err), 0);
	}
	eg_site_clear(&s);
}

static void test_query_filters(void **state)
{
	static const char *const names[] = { NULL, "A", "_", "hq1", "zzz" };
	static const char *const idents[] = { NULL, "example", "CORP", "%" };
	static const char *const pops[] = { NULL, "nyc1", "ATL1", "Nyc1" };
	static const enum eg_traffic traffics[] = { 0, EG_TT_IOT };
	struct fx *fx = *state;
	struct qm_site *m = calloc(QM_SITES, sizeof(*m));
	const struct qm_site *want[QM_SITES];
	struct got *g = calloc(1, sizeof(*g));
	struct eg_err err = { "" };
	struct eg_site_filter f;
	struct eg_site_rec s;
	unsigned a, b, c, d, e, k, i, n, page, queries = 0, nonempty = 0;

	assert_non_null(m);
	assert_non_null(g);
	qm_build(fx, m);
	for (a = 0; a < ARRAY_SIZE(names); a++)
	for (b = 0; b < ARRAY_SIZE(idents); b++)
	for (c = EG_STATUS_ANY; c <= EG_STATUS_DISABLED; c++)
	for (d = 0; d < ARRAY_SIZE(pops); d++)
	for (e = 0; e < ARRAY_SIZE(traffics); e++)
	for (k = 0; k < 2; k++) {
		memset(&f, 0, sizeof(f));
		f.name = names[a];
		f.identity = idents[b];
		f.status = c;
		f.pop = pops[d];
		f.traffic = traffics[e];
		f.desc = k;
		f.per_page = 7;
		for (i = n = 0; i < QM_SITES; i++)
			if (qm_match(&m[i], &f))
				want[n++] = &m[i];
		qm_desc = k;
		qsort(want, n, sizeof(want[0]), qm_order);
		nonempty += n > 0;
		for (page = 1; page <= n / 7 + 2; page++) {
			f.page = page;
			if (query_ok(fx, &f, g) != n)
				fail_msg("name %s ident %s status %u pop %s traffic %d desc %u: total wrong, want %u",
					 f.name, f.identity, c, f.pop,
					 f.traffic, k, n);
			queries++;
			for (i = 0; i < g->n; i++) {
				if ((page - 1) * 7 + i >= n ||
				    g->rec[i].id != want[(page - 1) * 7 + i]->id)
					fail_msg("name %s ident %s status %u pop %s traffic %d desc %u page %u row %u: '%s'",
						 f.name, f.identity, c, f.pop,
						 f.traffic, k, page, i,
						 g->rec[i].name);
				assert_int_equal(eg_site_get_by_id(fx->st,
						 g->rec[i].id, &s, &err), 0);
				site_equal(&g->rec[i], &s);
			}
			i = page * 7 <= n ? 7 : page * 7 - n < 7 ?
				n - (page - 1) * 7 : 0;
			assert_int_equal(g->n, i);
		}
	}
	print_message("    %u filter combinations (%u matching sites), %u queries\n",
		      (unsigned)(ARRAY_SIZE(names) * ARRAY_SIZE(idents) * 4 *
				 ARRAY_SIZE(pops) * ARRAY_SIZE(traffics) * 2),
		      nonempty, queries);
	got_clear(g);
	free(g);
	free(m);
	eg_site_clear(&s);
}

/* ---- POPs ---- */

static void test_pop_crud(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_pop_rec p, q;
	struct eg_site_rec s;

	assert_int_equal(eg_pop_get(fx->st, "NYC1", &p, &err), 0);
	assert_true(p.id > 0);
	assert_string_equal(p.name, "NYC1");
	assert_int_equal(p.gateway_ip, ip("203.0.113.1"));
	assert_int_equal(p.probe_ip, ip("203.0.113.2"));
	assert_string_equal(p.location, "New York");
	assert_true(p.accepting);
	assert_true(p.created > 0);

	pop_init(&q, "NYC1", "192.0.2.1", "192.0.2.2", "");
	assert_int_equal(eg_pop_add(fx->st, &q, &err), -EEXIST);
	assert_string_equal(err.msg, "POP name 'NYC1' already exists");
	pop_init(&q, "NYC:2", "192.0.2.1", "192.0.2.2", "");
	assert_int_equal(eg_pop_add(fx->st, &q, &err), -EINVAL);
	assert_msg(&err, "POP name 'NYC:2' contains ':'");

	/* rename and drain; sites follow the POP by id */
	site_init(&s, "hq", 1);
	add_ok(fx, &s);
	strcpy(p.name, "NYC2");
	p.accepting = false;
	strcpy(p.location, "Secaucus, NJ");
	p.probe_ip = ip("203.0.113.3");
	assert_int_equal(eg_pop_update(fx->st, &p, &err), 0);
	assert_int_equal(eg_pop_get(fx->st, "NYC1", &q, &err), -ENOENT);
	assert_string_equal(err.msg, "no POP named 'NYC1'");
	assert_int_equal(eg_pop_get(fx->st, "NYC2", &q, &err), 0);
	assert_int_equal(q.id, p.id);
	assert_false(q.accepting);
	assert_string_equal(q.location, "Secaucus, NJ");
	assert_int_equal(q.probe_ip, ip("203.0.113.3"));
	assert_int_equal(q.created, p.created);
	assert_int_equal(eg_site_get(fx->st, "hq", &s, &err), 0);
	assert_string_equal(s.primary_pop, "NYC2");

	strcpy(p.name, "ATL1");
	assert_int_equal(eg_pop_update(fx->st, &p, &err), -EEXIST);
	assert_string_equal(err.msg, "POP name 'ATL1' already exists");
	strcpy(p.name, "NYC2");
	p.id = 999;
	assert_int_equal(eg_pop_update(fx->st, &p, &err), -ENOENT);
	assert_string_equal(err.msg, "no POP with id 999");
	eg_site_clear(&s);
}

static int health_collect(const struct eg_health_rec *h, void *arg)
{
	struct eg_health_rec *out = arg;
	unsigned i = 0;

	while (out[i].id)
		i++;
	out[i] = *h;
	return 0;
}

/* Health checks: stored as given, names unique, each bad field named. */
static void test_health_crud(void **state)
{
	struct fx *fx = *state;
	struct eg_health_rec h = { .service = EG_LIC_WEB_GATEWAY, .http = true,
				   .addr = ip("10.9.0.80"), .port = 80, .path = "/healthz",
				   .expect = 204, .interval = 5, .timeout = 2, .rise = 2,
				   .fall = 3, .name = "web1", .pop = "NYC1" };
	struct eg_health_rec got[4];
	struct eg_err err = { "" };
	static const struct {
		const char *field;
		size_t off;
		uint32_t bad;
		const char *msg;
	} rows[] = {
		{ "interval", offsetof(struct eg_health_rec, interval), 0,
		  "interval 0 s is out of range 1-3600" },
		{ "timeout", offsetof(struct eg_health_rec, timeout), 9,
		  "timeout 9 s must be 1-60 and at most the interval (5 s)" },
		{ "rise", offsetof(struct eg_health_rec, rise), 101, "rise 101 is out of range 1-100" },
		{ "fall", offsetof(struct eg_health_rec, fall), 0, "fall 0 is out of range 1-100" },
	};
	struct eg_health_rec b;
	unsigned i;

	if (eg_health_add(fx->st, &h, &err))
		fail_msg("add: %s", err.msg);
	assert_true(h.id > 0);
	assert_int_equal(eg_health_add(fx->st, &h, &err), -EEXIST);
	assert_string_equal(err.msg, "a health check named 'web1' already exists");
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		b = h;
		snprintf(b.name, sizeof(b.name), "bad%u", i);
		memcpy((char *)&b + rows[i].off, &rows[i].bad, sizeof(uint32_t));
		assert_int_equal(eg_health_add(fx->st, &b, &err), -EINVAL);
		print_message("  %s: %s\n", rows[i].field, err.msg);
		assert_string_equal(err.msg, rows[i].msg);
	}
	b = h;
	snprintf(b.name, sizeof(b.name), "nopath");
	snprintf(b.path, sizeof(b.path), "healthz");
	assert_int_equal(eg_health_add(fx->st, &b, &err), -EINVAL);
	assert_string_equal(err.msg, "path 'healthz' must start with '/'");

	memset(got, 0, sizeof(got));
	assert_int_equal(eg_health_foreach(fx->st, health_collect, got, &err), 0);
	assert_int_equal(got[0].id, h.id);
	assert_int_equal(got[1].id, 0);		/* the refused left nothing */
	assert_string_equal(got[0].name, "web1");
	assert_string_equal(got[0].pop, "NYC1");
	assert_string_equal(got[0].path, "/healthz");
	assert_true(got[0].http);
	assert_int_equal(got[0].addr, h.addr);
	assert_int_equal(got[0].port, 80);
	assert_int_equal(got[0].expect, 204);
	assert_int_equal(got[0].service, EG_LIC_WEB_GATEWAY);
	assert_int_equal(got[0].interval, 5);
	assert_int_equal(got[0].timeout, 2);
	assert_int_equal(got[0].rise, 2);
	assert_int_equal(got[0].fall, 3);
	assert_int_equal(eg_health_delete(fx->st, "WEB1", &err), 0);	/* any case */
	assert_int_equal(eg_health_delete(fx->st, "web1", &err), -ENOENT);
	assert_string_equal(err.msg, "no health check named 'web1'");
}

static void test_pop_delete_refused(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct eg_pop_rec p;

	site_init(&s, "a", 1);		/* NYC1, backups ATL1 LON1 */
	add_ok(fx, &s);
	site_init(&s, "b", 2);
	s.n_backup_pops = 0;
	add_ok(fx, &s);

	assert_int_equal(eg_pop_delete(fx->st, "NYC1", &err), -EBUSY);
	assert_string_equal(err.msg,
			    "POP 'NYC1' is used by 2 sites (2 as primary, 0 as backup POP); move them to another POP first");
	assert_int_equal(eg_pop_delete(fx->st, "ATL1", &err), -EBUSY);
	assert_msg(&err, "POP 'ATL1' is used by 1 site (0 as primary, 1 as backup POP)");
	assert_int_equal(eg_pop_get(fx->st, "NYC1", &p, &err), 0);

	assert_int_equal(eg_pop_delete(fx->st, "FRA1", &err), 0);
	assert_int_equal(eg_pop_get(fx->st, "FRA1", &p, &err), -ENOENT);
	assert_int_equal(eg_pop_delete(fx->st, "FRA1", &err), -ENOENT);
	assert_string_equal(err.msg, "no POP named 'FRA1'");

	assert_int_equal(eg_site_delete(fx->st, "a", &err), 0);
	assert_int_equal(eg_site_delete(fx->st, "b", &err), 0);
	assert_int_equal(eg_pop_delete(fx->st, "NYC1", &err), 0);
	assert_int_equal(eg_pop_delete(fx->st, "ATL1", &err), 0);
	eg_site_clear(&s);
}

/* ---- transactions ---- */

static void test_transactions(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct eg_pop_rec p;
	sqlite3 *db;
	unsigned i;

	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	assert_int_equal(eg_store_begin(fx->st, &err), -EBUSY);
	assert_string_equal(err.msg, "a transaction is already open");
	for (i = 0; i < 3; i++) {
		site_init(&s, NULL, i);
		add_ok(fx, &s);
	}
	pop_init(&p, "SJC1", "192.0.2.1", "192.0.2.2", "San Jose");
	assert_int_equal(eg_pop_add(fx->st, &p, &err), 0);
	assert_int_equal(eg_site_delete(fx->st, "site-000001", &err), 0);
	assert_int_equal(eg_site_count(fx->st), 2);
	eg_store_rollback(fx->st);
	assert_int_equal(eg_site_count(fx->st), 0);
	assert_int_equal(eg_pop_get(fx->st, "SJC1", &p, &err), -ENOENT);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 0);

	assert_int_equal(eg_store_commit(fx->st, &err), -EINVAL);
	assert_string_equal(err.msg, "no transaction is open");
	eg_store_rollback(fx->st);	/* harmless */

	/* a failed call inside a batch leaves no trace; the batch goes on */
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	site_init(&s, "a", 1);
	add_ok(fx, &s);
	site_init(&s, "a", 2);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EEXIST);
	site_init(&s, "c", 3);
	strcpy(s.backup_pops[1], "XYZ");	/* fails after the primary */
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	site_init(&s, "b", 4);
	add_ok(fx, &s);
	/* other connections see nothing before the commit */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sites"), 0);
	assert_int_equal(eg_store_commit(fx->st, &err), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sites"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 4);
	sqlite3_close(db);
	assert_int_equal(eg_site_count(fx->st), 2);

	/* outside a batch each call commits at once */
	site_init(&s, "d", 5);
	add_ok(fx, &s);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sites"), 3);
	sqlite3_close(db);
	eg_site_clear(&s);
}

/*
 * A write that fails half way, after the site row went in, must leave
 * nothing behind, in a batch and outside one. A trigger installed through
 * the raw handle makes port 666 fail on insert.
 */
static void test_partial_failure(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s, a, got;
	sqlite3 *db;

	db = raw_open(fx->path);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TRIGGER test_fail BEFORE INSERT ON site_ports"
		" WHEN NEW.port = 666"
		" BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
		NULL, NULL, NULL), SQLITE_OK);

	site_init(&s, "x", 9);
	s.ports[1] = 666;
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EINVAL);
	assert_string_equal(err.msg, "storing site 'x': injected failure");
	assert_int_equal(eg_site_count(fx->st), 0);

	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	site_init(&a, "a", 1);
	add_ok(fx, &a);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -EINVAL);
	s = a;
	strcpy(s.name, "a2");
	strcpy(s.backup_pops[0], "FRA1");
	s.ports[0] = 666;
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EINVAL);
	site_init(&s, "b", 2);
	add_ok(fx, &s);
	assert_int_equal(eg_store_commit(fx->st, &err), 0);

	assert_int_equal(eg_site_count(fx->st), 2);
	assert_int_equal(eg_site_get(fx->st, "a", &got, &err), 0);
	site_equal(&got, &a);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 4);

	/* and outside a batch */
	assert_int_equal(eg_site_update(fx->st, &s, &err), 0);
	s.ports[1] = 666;
	assert_int_equal(eg_site_update(fx->st, &s, &err), -EINVAL);
	assert_int_equal(eg_site_get(fx->st, "b", &got, &err), 0);
	assert_int_equal(got.n_ports, 2);
	assert_int_equal(got.ports[1], 8443);
	sqlite3_close(db);
	eg_site_clear(&s);
	eg_site_clear(&a);
	eg_site_clear(&got);
}

/* POP ids are cached inside a batch; POP writes and batch ends drop them. */
static void test_batch_pop_cache(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct eg_pop_rec p;

	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	site_init(&s, "a", 1);			/* NYC1, ATL1, LON1 */
	add_ok(fx, &s);
	assert_int_equal(eg_pop_get(fx->st, "ATL1", &p, &err), 0);
	strcpy(p.name, "ATL2");
	assert_int_equal(eg_pop_update(fx->st, &p, &err), 0);
	site_init(&s, "b", 2);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'ATL1' in backup POPs");
	strcpy(s.backup_pops[0], "ATL2");
	add_ok(fx, &s);

	site_init(&s, "c", 3);
	strcpy(s.primary_pop, "FRA1");
	s.n_backup_pops = 0;
	add_ok(fx, &s);
	assert_int_equal(eg_site_delete(fx->st, "c", &err), 0);
	assert_int_equal(eg_pop_delete(fx->st, "FRA1", &err), 0);
	site_init(&s, "d", 4);
	strcpy(s.primary_pop, "FRA1");
	s.n_backup_pops = 0;
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'FRA1'");
	assert_int_equal(eg_store_commit(fx->st, &err), 0);
	assert_int_equal(eg_site_get(fx->st, "a", &s, &err), 0);
	assert_string_equal(s.backup_pops[0], "ATL2");

	/* a POP added in a rolled-back batch is gone from the cache too */
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	pop_init(&p, "NEW1", "192.0.2.1", "192.0.2.2", "");
	assert_int_equal(eg_pop_add(fx->st, &p, &err), 0);
	site_init(&s, "e", 5);
	strcpy(s.primary_pop, "NEW1");
	s.n_backup_pops = 0;
	add_ok(fx, &s);
	eg_store_rollback(fx->st);
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	assert_int_equal(eg_site_add(fx->st, &s, &err), -ENOENT);
	assert_string_equal(err.msg, "unknown POP 'NEW1'");
	eg_store_rollback(fx->st);
	assert_int_equal(eg_site_count(fx->st), 2);
	eg_site_clear(&s);
}

/* ---- the schema on its own ---- */

#define POPID(n)	"(SELECT id FROM pops WHERE name = '" n "')"
#define SITEID(n)	"(SELECT id FROM sites WHERE name = '" n "')"
#define POP_INS(name, gw, probe, loc, acc)				\
	"INSERT INTO pops (name, gateway_ip, probe_ip, location, accepting,"	\
	" created, updated) VALUES (" name ", " gw ", " probe ", " loc ", "	\
	acc ", 0, 0)"
/* a row as the v1 schema took it, PSK inline */
#define SITE_INS_V1(name, type, value, ip, psk, pop, tt, lic, bw, en)	\
	"INSERT INTO sites (name, id_type, id_value, source_ip, psk,"	\
	" primary_pop, traffic_type, license, max_bw_mbps, enabled,"	\
	" created, updated) VALUES (" name ", " type ", " value ", " ip	\
	", " psk ", " pop ", " tt ", " lic ", " bw ", " en ", 0, 0)"
/* v4: the PSK in site_psks */
#define SITE_INS(name, type, value, ip, pop, tt, lic, bw, en)		\
	"INSERT INTO sites (name, id_type, id_value, source_ip,"	\
	" primary_pop, traffic_type, license, max_bw_mbps, enabled,"	\
	" created, updated) VALUES (" name ", " type ", " value ", " ip	\
	", " pop ", " tt ", " lic ", " bw ", " en ", 0, 0)"
#define SITE_OK(name, value, ip)					\
	SITE_INS(name, "'fqdn'", value, ip, POPID("NYC1"),		\
		 "'user'", "'web-gateway'", "0", "1")
#define PSK_SET(site, psk)						\
	"UPDATE site_psks SET psk = " psk " WHERE site_id = " SITEID(site)
#define A65	"replace(hex(zeroblob(65)), '00', 'a')"

static void test_schema_constraints(void **state)
{
	static const struct {
		const char *sql;
		int rc;		/* extended code, 0: must succeed */
	} t[] = {
		/* pops */
		{ POP_INS("'NEW1'", "3405803777", "3405803778", "'x'", "1"), 0 },
		{ POP_INS("'NYC1'", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_UNIQUE },
		{ POP_INS("''", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'a/b'", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("' a'", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'a '", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS(A65, "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("NULL", "3405803777", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_NOTNULL },
		{ POP_INS("'NEW1'", "0", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "4294967295", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "3758096384", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "'x'", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_DATATYPE },
		{ POP_INS("'NEW1'", "1.5", "3405803778", "'x'", "1"), SQLITE_CONSTRAINT_DATATYPE },
		{ POP_INS("'NEW1'", "3405803777", "0", "'x'", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "3405803777", "NULL", "'x'", "1"), SQLITE_CONSTRAINT_NOTNULL },
		{ POP_INS("'NEW1'", "3405803777", "3405803778", A65, "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "3405803777", "3405803778", "'a' || char(10)", "1"), SQLITE_CONSTRAINT_CHECK },
		{ POP_INS("'NEW1'", "3405803777", "3405803778", "'x'", "2"), SQLITE_CONSTRAINT_CHECK },
		/* sites */
		{ SITE_OK("'new'", "'new.example.com'", "3325256800"), 0 },
		{ SITE_OK("'base'", "'new.example.com'", "3325256800"), SQLITE_CONSTRAINT_UNIQUE },
		{ SITE_OK("'a/b'", "'new.example.com'", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("''", "'new.example.com'", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("NULL", "'new.example.com'", "3325256800"), SQLITE_CONSTRAINT_NOTNULL },
		{ SITE_OK("'new'", "'base.example.com'", "3325256800"), SQLITE_CONSTRAINT_UNIQUE },
		{ SITE_OK("'new'", "'BASE.Example.COM'", "3325256800"), SQLITE_CONSTRAINT_UNIQUE },
		{ SITE_OK("'new'", "''", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'a b.example.com'", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'b\xc3\xbc.example.com'", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "replace(hex(zeroblob(128)), '00', 'ab')", "3325256800"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "3325256705"), SQLITE_CONSTRAINT_UNIQUE },
		{ SITE_OK("'new'", "'new.example.com'", "0"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "16777215"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "2130706433"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "3758096389"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "4026531839"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "4294967295"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "4294967296"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "-1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_OK("'new'", "'new.example.com'", "'198.51.100.9'"), SQLITE_CONSTRAINT_DATATYPE },
		{ SITE_OK("'new'", "'new.example.com'", "NULL"), SQLITE_CONSTRAINT_NOTNULL },
		{ SITE_INS("'new'", "'x509'", "'new.example.com'", "3325256800", POPID("NYC1"), "'user'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "NULL", "'new.example.com'", "3325256800", POPID("NYC1"), "'user'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_NOTNULL },
		/* v4: PSKs in a table of their own */
		{ PSK_SET("base", "zeroblob(15)"), SQLITE_CONSTRAINT_CHECK },
		{ PSK_SET("base", "zeroblob(128)"), 0 },
		{ PSK_SET("base", "zeroblob(129)"), SQLITE_CONSTRAINT_CHECK },
		{ PSK_SET("base", "'sixteen-bytes-xx'"), SQLITE_CONSTRAINT_DATATYPE },
		{ PSK_SET("base", "NULL"), SQLITE_CONSTRAINT_NOTNULL },
		{ "INSERT INTO site_psks VALUES (9999, zeroblob(16))", SQLITE_CONSTRAINT_FOREIGNKEY },
		{ "INSERT INTO site_psks VALUES (" SITEID("base") ", zeroblob(16))", SQLITE_CONSTRAINT_PRIMARYKEY },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", "9999", "'user'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_FOREIGNKEY },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", "NULL", "'user'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_NOTNULL },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'video'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'User'", "'web-gateway'", "0", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'guest-wifi'", "'casb'", "0", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'user'", "'web-gateway'", "-1", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'user'", "'web-gateway'", "4294967296", "1"), SQLITE_CONSTRAINT_CHECK },
		{ SITE_INS("'new'", "'fqdn'", "'new.example.com'", "3325256800", POPID("NYC1"), "'user'", "'web-gateway'", "0", "2"), SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET enabled = 5 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET source_ip = 0 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET name = 'small' WHERE name = 'base'", SQLITE_CONSTRAINT_UNIQUE },
		{ "UPDATE sites SET primary_pop = 9999 WHERE name = 'base'", SQLITE_CONSTRAINT_FOREIGNKEY },
		/* v2: cipher in canonical spelling, up, status_since */
		{ "UPDATE sites SET cipher = '' WHERE name = 'base'", 0 },
		{ "UPDATE sites SET cipher = 'AES256-GCM' WHERE name = 'base'", 0 },
		{ "UPDATE sites SET cipher = 'aes256-gcm' WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET cipher = '3DES-CBC' WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET cipher = NULL WHERE name = 'base'", SQLITE_CONSTRAINT_NOTNULL },
		{ "UPDATE sites SET cipher = 1 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET up = 1 WHERE name = 'base'", 0 },
		{ "UPDATE sites SET up = 2 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET up = NULL WHERE name = 'base'", SQLITE_CONSTRAINT_NOTNULL },
		{ "UPDATE sites SET status_since = 1700000000 WHERE name = 'base'", 0 },
		{ "UPDATE sites SET status_since = -1 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET status_since = 'x' WHERE name = 'base'", SQLITE_CONSTRAINT_DATATYPE },
		/* v4: NULL cipher, LAN prefixes, lifetimes and DPD times */
		{ "UPDATE sites SET cipher = 'NULL' WHERE name = 'base'", 0 },
		{ "UPDATE sites SET lan = '10.1.0.0/24,10.2.0.0/16' WHERE name = 'base'", 0 },
		{ "UPDATE sites SET lan = '10.1.0.0/24; DROP' WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET lan = NULL WHERE name = 'base'", SQLITE_CONSTRAINT_NOTNULL },
		{ "UPDATE sites SET ike_lifetime = 40 WHERE name = 'base'", 0 },
		{ "UPDATE sites SET ike_lifetime = 9 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET child_lifetime = 604801 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		{ "UPDATE sites SET dpd_delay = 5, dpd_timeout = 20 WHERE name = 'base'", 0 },
		{ "UPDATE sites SET dpd_timeout = -1 WHERE name = 'base'", SQLITE_CONSTRAINT_CHECK },
		/* backup POPs */
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", " POPID("LON1") ", 2)", 0 },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", " POPID("LON1") ", 0)", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", " POPID("LON1") ", 10)", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", " POPID("ATL1") ", 3)", SQLITE_CONSTRAINT_PRIMARYKEY },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", " POPID("LON1") ", 1)", SQLITE_CONSTRAINT_UNIQUE },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", 9999, 2)", SQLITE_CONSTRAINT_FOREIGNKEY },
		{ "INSERT INTO site_backup_pops VALUES (9999, " POPID("LON1") ", 2)", SQLITE_CONSTRAINT_FOREIGNKEY },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", NULL, 2)", SQLITE_CONSTRAINT_NOTNULL },
		{ "INSERT INTO site_backup_pops VALUES (" SITEID("base") ", 'LON1', 2)", SQLITE_CONSTRAINT_DATATYPE },
		/* ports */
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", 9000)", 0 },
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", 0)", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", 65536)", SQLITE_CONSTRAINT_CHECK },
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", 8080)", SQLITE_CONSTRAINT_PRIMARYKEY },
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", '80')", 0 },	/* STRICT converts lossless text */
		{ "INSERT INTO site_ports VALUES (" SITEID("small") ", 'http')", SQLITE_CONSTRAINT_DATATYPE },
		{ "INSERT INTO site_ports VALUES (9999, 9000)", SQLITE_CONSTRAINT_FOREIGNKEY },
		/* deleting POPs in use: RESTRICT reports through a trigger code */
		{ "DELETE FROM pops WHERE name = 'NYC1'", SQLITE_CONSTRAINT_TRIGGER },
		{ "DELETE FROM pops WHERE name = 'ATL1'", SQLITE_CONSTRAINT_TRIGGER },
		{ "DELETE FROM pops WHERE name = 'FRA1'", 0 },
		/* and the cascade */
		{ "DELETE FROM sites WHERE name = 'base'", 0 },
	};
	static const char *const ciphers[] = EG_CIPHERS;
	struct fx *fx = *state;
	struct eg_site_rec s;
	unsigned i;
	sqlite3 *db;
	int rc;

	site_init(&s, "base", 0);
	strcpy(s.id_value, "base.example.com");
	s.source_ip = htonl(3325256705u);	/* 198.51.100.1 */
	s.n_backup_pops = 1;			/* ATL1 */
	s.n_ports = EG_MAX_CUSTOM_PORTS;
	for (i = 0; i < s.n_ports; i++)
		s.ports[i] = 1 + i;
	add_ok(fx, &s);
	site_init(&s, "small", 1);
	s.n_backup_pops = 0;
	s.n_ports = 1;			/* 8080 */
	add_ok(fx, &s);

	db = raw_open(fx->path);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
				 SQLITE_OK);
		rc = sqlite3_exec(db, t[i].sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			rc = sqlite3_extended_errcode(db);
		if (rc != t[i].rc)
			fail_msg("row %u: got %d (%s), want %d: %s", i, rc,
				 sqlite3_errmsg(db), t[i].rc, t[i].sql);
		if (rc == SQLITE_CONSTRAINT_TRIGGER &&
		    !strstr(sqlite3_errmsg(db), "FOREIGN KEY"))
			fail_msg("row %u: %s", i, sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	/* the schema takes every cipher the C code takes */
	for (i = 0; i < ARRAY_SIZE(ciphers) - 1; i++) {
		char sql[128];

		snprintf(sql, sizeof(sql),
			 "UPDATE sites SET cipher = '%s' WHERE name = 'base'",
			 ciphers[i]);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	}
	/* a cascade really removed the children (kept this time) */
	assert_int_equal(sqlite3_exec(db, "DELETE FROM sites WHERE name = 'base'",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_psks"), 1);
	sqlite3_close(db);
	eg_site_clear(&s);
}

/*
 * A file written by the v1 code (the built-in list cut to one step) is
 * upgraded in place on open: every site, backup POP and port is kept, the
 * new columns read as "any cipher, no status recorded", and the list
 * indexes replace the v1 ones.
 */
static void test_migration_v1_v2(void **state)
{
	static const char *const v1_rows[] = {
		SITE_INS_V1("'Alpha'", "'fqdn'", "'alpha.example.com'", "3325256705", "zeroblob(16)", POPID("NYC1"), "'iot'", "'web-gateway'", "50", "1"),
		SITE_INS_V1("'beta'", "'email'", "'ops@Beta.net'", "3325256706", "randomblob(128)", POPID("LON1"), "'guest-wifi'", "'cloud-firewall'", "0", "0"),
		SITE_INS_V1("'Gamma 3'", "'ipv4'", "'192.0.2.9'", "3325256707", "zeroblob(32)", POPID("ATL1"), "'user'", "'web-gateway'", "4294967295", "1"),
		"UPDATE sites SET created = 1600000000 + id, updated = 1650000000 + id",
		"INSERT INTO site_backup_pops VALUES (" SITEID("Alpha") ", " POPID("FRA1") ", 1), (" SITEID("Alpha") ", " POPID("LON1") ", 2), (" SITEID("beta") ", " POPID("NYC1") ", 1)",
		"INSERT INTO site_ports VALUES (" SITEID("Alpha") ", 8443), (" SITEID("Alpha") ", 22), (" SITEID("Gamma 3") ", 65535)",
	};
	static const char *const pops[] = { "NYC1", "ATL1", "LON1", "FRA1" };
	const struct eg_migration *steps;
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_filter f = { .page = 1, .per_page = 10 };
	struct eg_site_rec s;
	struct eg_pop_rec p;
	struct eg_store *st;
	char path[160];
	unsigned i, n;
	int64_t total;
	sqlite3 *db;

	steps = eg_store_migrations(&n);
	assert_int_equal(n, EG_STORE_SCHEMA_VERSION);
	assert_int_equal(n, 6);
	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	if (eg_store_open_migrations(&st, path, steps, 1, &err))
		fail_msg("v1: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), 1);
	for (i = 0; i < ARRAY_SIZE(pops); i++) {
		pop_init(&p, pops[i], "203.0.113.1", "203.0.113.2", "");
		p.gateway_ip = htonl(0xcb007101 + i);
		if (eg_pop_add(st, &p, &err))
			fail_msg("v1 pop: %s", err.msg);
	}
	eg_store_close(st);
	/* sites as the v1 code wrote them (today's would name v2 columns) */
	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('sites') WHERE name = 'cipher'"),
			 0);
	for (i = 0; i < ARRAY_SIZE(v1_rows); i++)
		if (sqlite3_exec(db, v1_rows[i], NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("v1 row %u: %s", i, sqlite3_errmsg(db));
	sqlite3_close(db);

	if (eg_store_open(&st, path, &err))
		fail_msg("upgrade: %s", err.msg);
	assert_int_equal(eg_store_schema_version(st), EG_STORE_SCHEMA_VERSION);
	assert_int_equal(eg_site_count(st), 3);

	assert_int_equal(eg_site_get(st, "Alpha", &s, &err), 0);
	/* v3: the inner caps come up as "the gateway's default" */
	assert_int_equal(s.flow_cap, 0);
	assert_int_equal(s.device_cap, 0);
	assert_int_equal(s.id_type, EG_ID_FQDN);
	assert_string_equal(s.id_value, "alpha.example.com");
	assert_int_equal(s.source_ip, ip("198.51.100.1"));
	/* v4: the PSK moved to site_psks, whole; LAN and lifetimes default */
	assert_int_equal(s.psk_len, 0);
	assert_int_equal(eg_site_psk_get(st, s.id, s.psk, &s.psk_len, &err), 0);
	assert_int_equal(s.psk_len, 16);
	assert_memory_equal(s.psk, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(s.n_lan, 0);
	assert_int_equal(s.ike_lifetime, 0);
	assert_int_equal(s.dpd_timeout, 0);
	assert_string_equal(s.primary_pop, "NYC1");
	assert_int_equal(s.n_backup_pops, 2);
	assert_string_equal(s.backup_pops[0], "FRA1");
	assert_string_equal(s.backup_pops[1], "LON1");
	assert_int_equal(s.n_ports, 2);
	assert_int_equal(s.ports[0], 22);
	assert_int_equal(s.ports[1], 8443);
	assert_int_equal(s.traffic, EG_TT_IOT);
	assert_int_equal(s.max_bw_mbps, 50);
	assert_true(s.enabled);
	assert_string_equal(s.cipher, "");
	assert_false(s.up);
	assert_int_equal(s.status_since, 0);
	assert_int_equal(s.created, 1600000000 + s.id);
	assert_int_equal(s.updated, 1650000000 + s.id);

	assert_int_equal(eg_site_get(st, "beta", &s, &err), 0);
	assert_int_equal(s.id_type, EG_ID_EMAIL);
	assert_int_equal(eg_site_psk_get(st, s.id, s.psk, &s.psk_len, &err), 0);
	assert_int_equal(s.psk_len, 128);
	assert_int_equal(s.n_backup_pops, 1);
	assert_int_equal(s.n_ports, 0);
	assert_int_equal(s.license, EG_LIC_CLOUD_FIREWALL);
	assert_false(s.enabled);
	assert_string_equal(eg_site_status_name(&s), "disabled");
	assert_int_equal(eg_site_get(st, "Gamma 3", &s, &err), 0);
	assert_int_equal(s.max_bw_mbps, 4294967295u);
	assert_int_equal(s.n_ports, 1);

	/* and the v2 functions work on the upgraded file */
	assert_int_equal(eg_site_set_status(st, s.id, true, 1700000000, &err),
			 0);
	f.status = EG_STATUS_UP;
	assert_int_equal(eg_site_query(st, &f, NULL, NULL, &total, &err), 0);
	assert_int_equal(total, 1);
	f.status = EG_STATUS_ANY;
	f.pop = "nyc1";			/* Alpha's primary, beta's backup */
	assert_int_equal(eg_site_query(st, &f, NULL, NULL, &total, &err), 0);
	assert_int_equal(total, 2);
	site_init(&s, "delta", 4);
	strcpy(s.cipher, "aes128-gcm");
	if (eg_site_add(st, &s, &err))
		fail_msg("add after upgrade: %s", err.msg);
	eg_store_close(st);

	db = raw_open(path);
	assert_int_equal(raw_int(db, "SELECT group_concat(version) = '1,2,3,4,5,6' FROM schema_version"),
			 1);
	/* v1's 3 + delta's 2 of each */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_backup_pops"), 5);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM site_ports"), 5);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('sites_by_name', 'sites_by_status', 'sites_by_traffic', 'sites_primary_pop')"),
			 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('sites_enabled', 'sites_traffic')"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"),
			 0);
	/* a fresh file has the same schema as an upgraded one */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sites'"),
			 7);
	sqlite3_close(db);
	db = raw_open(fx->path);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sites'"),
			 7);
	sqlite3_close(db);
	eg_site_clear(&s);
}

/*
 * Every lookup later code needs goes through an index: a full scan of 100k
 * rows takes milliseconds, an index search microseconds. The site list
 * (queries shaped as eg_site_query() builds them) reads one covering index
 * in list order, never the table, never a sort; a substring filter scans
 * that index, which costs a few milliseconds for 100k sites.
 */
static void test_query_plans(void **state)
{
	static const struct {
		const char *sql;
		const char *want;	/* in the plan */
	} t[] = {
		{ "SELECT id FROM sites WHERE name = 'x'", "INDEX sqlite_autoindex_sites_1 (name=?)" },
		{ "SELECT id FROM sites WHERE id_type = 'fqdn' AND id_value = 'x'", "(id_value=? AND id_type=?)" },
		{ "SELECT id FROM sites WHERE source_ip = 1", "(source_ip=?)" },
		{ "SELECT id FROM sites WHERE id_value = 'x'", "(id_value=?)" },
		{ "SELECT id FROM sites WHERE id_value LIKE 'bra%'", "(id_value>? AND id_value<?)" },
		{ "SELECT name FROM sites WHERE name > 'm' ORDER BY name LIMIT 100", "(name>?)" },
		{ "SELECT id FROM sites s ORDER BY name COLLATE NOCASE, id LIMIT 100 OFFSET 5000", "SCAN s USING COVERING INDEX sites_by_name" },
		{ "SELECT id FROM sites s ORDER BY name COLLATE NOCASE DESC, id DESC LIMIT 100", "SCAN s USING COVERING INDEX sites_by_name" },
		{ "SELECT id FROM sites s WHERE s.enabled = 0 ORDER BY s.name COLLATE NOCASE, s.id LIMIT 100", "COVERING INDEX sites_by_status (enabled=?)" },
		{ "SELECT id FROM sites s WHERE s.enabled = 1 AND s.up = 0 ORDER BY s.name COLLATE NOCASE DESC, s.id DESC LIMIT 100", "COVERING INDEX sites_by_status (enabled=?)" },
		{ "SELECT count(*) FROM sites s WHERE s.enabled = 1 AND s.up = 1", "COVERING INDEX sites_by_status (enabled=?)" },
		{ "SELECT id FROM sites s WHERE s.traffic_type = 'iot' ORDER BY s.name COLLATE NOCASE, s.id LIMIT 100", "COVERING INDEX sites_by_traffic (traffic_type=?)" },
		{ "SELECT id FROM sites s WHERE s.traffic_type = 'iot' AND s.enabled = 1 AND s.up = 1 AND s.primary_pop = 2 ORDER BY s.name COLLATE NOCASE, s.id LIMIT 100", "COVERING INDEX sites_by_" },
		{ "SELECT id FROM sites s WHERE s.name LIKE '%a\\_b%' ESCAPE '\\' AND s.enabled = 1 ORDER BY s.name COLLATE NOCASE, s.id", "COVERING INDEX sites_by_status (enabled=?)" },
		{ "SELECT id FROM sites s WHERE s.id_value LIKE '%corp%' ESCAPE '\\' AND +s.enabled = 1 AND +s.up = 1 AND +s.traffic_type = 'iot' AND s.name LIKE '%a%' ORDER BY s.name COLLATE NOCASE, s.id", "SCAN s USING COVERING INDEX sites_by_name" },
		{ "SELECT count(*) FROM sites s WHERE s.traffic_type = 'iot' AND s.primary_pop = 3", "COVERING INDEX sites_by_traffic (traffic_type=?)" },
		{ "SELECT id FROM sites WHERE primary_pop = 1", "INDEX sites_primary_pop (primary_pop=?)" },
		{ "SELECT s.id FROM sites s JOIN pops p ON p.id = s.primary_pop WHERE s.id IN (SELECT value FROM json_each('[3,1,2]'))", "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)" },
		{ "SELECT b.site_id, p.name FROM site_backup_pops b JOIN pops p ON p.id = b.pop_id WHERE b.site_id IN (SELECT value FROM json_each('[3,1]')) ORDER BY b.site_id, b.pref", "(site_id=?)" },
		{ "SELECT site_id, port FROM site_ports WHERE site_id IN (SELECT value FROM json_each('[3,1]')) ORDER BY site_id, port", "USING PRIMARY KEY (site_id=?)" },
		{ "SELECT site_id FROM site_backup_pops WHERE pop_id = 1", "INDEX site_backup_pops_pop (pop_id=?)" },
		{ "SELECT p.name FROM site_backup_pops b JOIN pops p ON p.id = b.pop_id WHERE b.site_id = 1 ORDER BY b.pref", "(site_id=?)" },
		{ "SELECT port FROM site_ports WHERE site_id = 1 ORDER BY port", "USING PRIMARY KEY (site_id=?)" },
		{ "SELECT name FROM sites WHERE (name = 'a' OR (id_type = 'fqdn' AND id_value = 'b') OR source_ip = 1) AND id <> 0", "MULTI-INDEX OR" },
	};
	struct fx *fx = *state;
	char plan[1024];
	sqlite3_stmt *stmt;
	char sql[512];
	unsigned i;
	sqlite3 *db;

	db = raw_open(fx->path);
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", t[i].sql);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
				 SQLITE_OK);
		plan[0] = '\0';
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			/* the page's ids: at most EG_PAGE_MAX of them */
			if (!strncmp((const char *)sqlite3_column_text(stmt, 3),
				     "SCAN json_each", 14))
				continue;
			strncat(plan, (const char *)sqlite3_column_text(stmt, 3),
				sizeof(plan) - strlen(plan) - 2);
			strcat(plan, ";");
		}
		sqlite3_finalize(stmt);
		if (!strstr(plan, t[i].want) || strstr(plan, "TEMP B-TREE") ||
		    (strstr(plan, "SCAN") && !strstr(t[i].want, "SCAN")))
			fail_msg("%s: plan \"%s\", want \"%s\" and no scan or sort",
				 t[i].sql, plan, t[i].want);
	}
	sqlite3_close(db);
}

/*
 * A speed bound: "not a full scan", not "fast on an idle machine". Built
 * with the sanitizers (make test-asan) everything is several times slower.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SLOWER 10.0
#else
#define SLOWER 1.0
#endif

static void within(const char *what, double got, double bound)
{
	if (got >= bound * SLOWER)
		fail_msg("%s: expected < %.1f, got %.3f", what, bound * SLOWER, got);
}

/* ---- durability and speed ---- */

static void test_durable_after_kill(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s;
	struct eg_pop_rec p;
	struct eg_store *st;
	char path[160], c;
	int pfd[2], wst;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/other.db", fx->dir);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(pfd[0]);
		pop_init(&p, "NYC1", "203.0.113.1", "203.0.113.2", "");
		site_init(&s, "acked", 1);
		s.n_backup_pops = 0;
		if (eg_store_open(&st, path, &err) ||
		    eg_pop_add(st, &p, &err) || eg_site_add(st, &s, &err)) {
			fprintf(stderr, "child: %s\n", err.msg);
			_exit(1);
		}
		/* acknowledged: now die without closing anything */
		if (write(pfd[1], "k", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFSIGNALED(wst));

	if (eg_store_open(&st, path, &err))
		fail_msg("reopen: %s", err.msg);
	assert_int_equal(eg_site_get(st, "acked", &s, &err), 0);
	assert_string_equal(s.primary_pop, "NYC1");
	eg_store_close(st);
	eg_site_clear(&s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BULK_SITES	20000
#define BULK_BATCH	10000	/* a CSV import: < 2 s */

static void test_bulk_insert(void **state)
{
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_rec s, got;
	double t0, t_ins[2], t_name, t_ident, t_ip;
	char id[64];
	unsigned i, n, b;

	/* into an empty store, then into one that holds the first batch */
	for (b = 0; b < 2; b++) {
		t0 = now_s();
		assert_int_equal(eg_store_begin(fx->st, &err), 0);
		for (i = b * BULK_BATCH; i < (b + 1) * BULK_BATCH; i++) {
			site_init(&s, NULL, i);
			if (eg_site_add(fx->st, &s, &err))
				fail_msg("site %u: %s", i, err.msg);
		}
		assert_int_equal(eg_store_commit(fx->st, &err), 0);
		t_ins[b] = now_s() - t0;
	}
	assert_int_equal(eg_site_count(fx->st), BULK_SITES);

	/* lookups, each a full record with POPs and ports */
	n = BULK_SITES / 4;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		site_init(&s, NULL, (i * 7919) % BULK_SITES);
		assert_int_equal(eg_site_get(fx->st, s.name, &got, &err), 0);
	}
	t_name = (now_s() - t0) / n * 1e6;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "s%u.example.com",
			 (i * 7919) % BULK_SITES);
		assert_int_equal(eg_site_find_ident(fx->st, EG_ID_FQDN, id,
						    &got, &err), 0);
	}
	t_ident = (now_s() - t0) / n * 1e6;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		site_init(&s, NULL, (i * 7919) % BULK_SITES);
		assert_int_equal(eg_site_find_source_ip(fx->st, s.source_ip,
							&got, &err), 0);
		assert_string_equal(got.name, s.name);
	}
	t_ip = (now_s() - t0) / n * 1e6;

	print_message("    %d sites in one transaction: %.3f s, the next %d: %.3f s; "
		      "lookup by name %.1f us, identity %.1f us, source ip %.1f us\n",
		      BULK_BATCH, t_ins[0], BULK_BATCH, t_ins[1], t_name,
		      t_ident, t_ip);
	within("first batch insert, s", t_ins[0], 2.0);
	within("second batch insert, s", t_ins[1], 2.0);
	/* a full scan of 20k rows would take milliseconds */
	within("lookup by name, us", t_name, 200);
	within("lookup by identity, us", t_ident, 200);
	within("lookup by source ip, us", t_ip, 200);
	eg_site_clear(&s);
	eg_site_clear(&got);
}

/*
 * The IPSec page over 100,000 sites: any page of 100, filtered and sorted,
 * in < 50 ms end to end; and ipsecd's start (open, then walk all sites)
 * well inside its 2 s. The sites go in as an import would (eg_site_add in
 * one batch), with 80% up and 5% disabled; then the store is reopened, as
 * after a start, and the queries, drawn from a fixed seed, run on it. Each
 * runs three times: the first time is reported, the best must be < 50 ms,
 * so that time slices lost to other processes on a busy machine do not
 * fail it (the CPU time is reported too).
 */
#define SPEED_SITES	100000
#define SPEED_QUERIES	20

static int count_cb(const struct eg_site_rec *s, void *arg)
{
	(void)s;
	++*(unsigned *)arg;
	return 0;
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* CPU time of this process: what a query costs when others want the CPU. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_query_speed(void **state)
{
	static const char *const pops[] = { "NYC1", "ATL1", "LON1", "FRA1" };
	static const char *const stems[] = { "Branch-", "store ", "HQ_",
					     "depot.", "Plant " };
	static const char *const names[] = { "1", "branch", "07", "Store 0",
					     "zz", "_0" };
	static const char *const idents[] = { "example", "gw12", ".site3.",
					      "NOC" };
	static const char *const qpops[] = { "NYC1", "atl1", "Lon1", "FRA1" };
	struct fx *fx = *state;
	struct eg_err err = { "" };
	struct eg_site_filter f, slow = { 0 };
	double t0, c0, t_gen, t_commit, t_open, t_each, t_ms[SPEED_QUERIES];
	double worst = 0, best, worst_best = 0, cpu, worst_cpu = 0;
	struct eg_site_rec s;
	unsigned i, r, rows, pages, n = 0, empty = 0;
	uint32_t x = 20240531;
	int64_t total;

	t0 = now_s();
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	for (i = 0; i < SPEED_SITES; i++) {
		memset(&s, 0, sizeof(s));
		/* 7919 is prime to 100000: every number once, not in id order */
		snprintf(s.name, sizeof(s.name), "%s%06u", stems[i % 5],
			 (i * 7919u) % SPEED_SITES);
		if (i % 4 == 1) {
			s.id_type = EG_ID_EMAIL;
			snprintf(s.id_value, sizeof(s.id_value),
				 "noc%u@site%u.example.net", i, i % 977);
		} else {
			s.id_type = EG_ID_FQDN;
			snprintf(s.id_value, sizeof(s.id_value),
				 "gw%u.site%u.example.com", i, i % 977);
		}
		s.source_ip = htonl(0x0b000001 + i);	/* 11.0.0.1 + i */
		s.psk_len = 32;
		memset(s.psk, 'k', s.psk_len);
		strcpy(s.primary_pop, pops[i % 4]);
		strcpy(s.backup_pops[0], pops[(i + 1) % 4]);
		strcpy(s.backup_pops[1], pops[(i + 2) % 4]);
		s.n_backup_pops = i % 3;
		s.traffic = 1 + i % 5;
		s.license = EG_LIC_WEB_GATEWAY;
		s.ports[0] = 8443;
		s.n_ports = i % 2;
		strcpy(s.cipher, i % 3 ? "AES256-GCM" : "");
		s.enabled = i % 20 != 0;
		if (eg_site_add(fx->st, &s, &err))
			fail_msg("site %u: %s", i, err.msg);
		if (i % 10 < 8 &&
		    eg_site_set_status(fx->st, s.id, true, 1700000000, &err))
			fail_msg("status %u: %s", i, err.msg);
	}
	t_commit = now_s();
	assert_int_equal(eg_store_commit(fx->st, &err), 0);
	t_gen = now_s() - t0;
	t_commit = now_s() - t_commit;

	/* ipsecd's start: a new connection, nothing cached */
	eg_store_close(fx->st);
	fx->st = NULL;
	t0 = now_s();
	if (eg_store_open(&fx->st, fx->path, &err))
		fail_msg("reopen: %s", err.msg);
	t_open = now_s() - t0;
	t0 = now_s();
	rows = 0;
	assert_int_equal(eg_site_foreach(fx->st, count_cb, &rows, &err), 0);
	t_each = now_s() - t0;
	assert_int_equal(rows, SPEED_SITES);

	for (i = 0; i < SPEED_QUERIES; i++) {
		memset(&f, 0, sizeof(f));
		f.name = rnd(&x) % 3 ? NULL : names[rnd(&x) % ARRAY_SIZE(names)];
		if (!(rnd(&x) % 4))
			f.identity = idents[rnd(&x) % ARRAY_SIZE(idents)];
		f.status = rnd(&x) % 4;
		if (!(rnd(&x) % 3))
			f.pop = qpops[rnd(&x) % ARRAY_SIZE(qpops)];
		f.traffic = rnd(&x) % 3 ? 0 : 1 + rnd(&x) % 5;
		f.desc = rnd(&x) % 2;
		/* the first, a middle, the last page, or one past the end */
		f.page = 1;
		f.per_page = EG_PAGE_MAX;
		assert_int_equal(eg_site_query(fx->st, &f, NULL, NULL, &total,
					       &err), 0);
		pages = (total + EG_PAGE_MAX - 1) / EG_PAGE_MAX;
		r = rnd(&x) % 8;
		f.page = r == 0 || !pages ? 1 : r == 1 ? pages :
			 r == 2 ? pages + 1 : 1 + rnd(&x) % pages;
		rows = 0;
		t0 = now_s();
		c0 = cpu_s();
		if (eg_site_query(fx->st, &f, count_cb, &rows, &total, &err))
			fail_msg("query %u: %s", i, err.msg);
		cpu = (cpu_s() - c0) * 1e3;
		t_ms[i] = (now_s() - t0) * 1e3;
		if (cpu > worst_cpu)
			worst_cpu = cpu;
		n += rows;
		empty += !rows;
		assert_true(rows <= EG_PAGE_MAX && total <= SPEED_SITES);
		assert_int_equal(rows, f.page <= pages ? (f.page < pages ? 100 :
				 total - (pages - 1) * 100) : 0);
		best = t_ms[i];
		for (r = 0; r < 2; r++) {
			rows = 0;
			t0 = now_s();
			assert_int_equal(eg_site_query(fx->st, &f, count_cb,
						       &rows, &total, &err), 0);
			t0 = (now_s() - t0) * 1e3;
			if (t0 < best)
				best = t0;
		}
		if (best > worst_best)
			worst_best = best;
		if (t_ms[i] > worst) {
			worst = t_ms[i];
			slow = f;
		}
	}
	qsort(t_ms, SPEED_QUERIES, sizeof(t_ms[0]), cmp_double);
	print_message("    %d sites with status in one transaction: %.2f s (commit %.2f s);"
		      " start: open %.3f s, foreach %.3f s\n"
		      "    %d queries (%u rows, %u empty pages): p50 %.1f ms, max %.1f ms"
		      " (name %s, identity %s, status %d, pop %s, traffic %d, %s, page %u);"
		      " max of the best of three runs %.1f ms, max CPU time %.1f ms\n",
		      SPEED_SITES, t_gen, t_commit, t_open, t_each,
		      SPEED_QUERIES, n, empty,
		      (t_ms[SPEED_QUERIES / 2 - 1] + t_ms[SPEED_QUERIES / 2]) / 2,
		      worst, slow.name, slow.identity, (int)slow.status,
		      slow.pop, (int)slow.traffic, slow.desc ? "desc" : "asc",
		      slow.page, worst_best, worst_cpu);
	within("slowest query (best of three), ms", worst_best, 50);
	/* ipsecd's start has 2 s for this and everything else */
	within("open and scan 100,000 sites, s", t_open + t_each, 1.0);
	eg_site_clear(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_parse),
		cmocka_unit_test(test_addr_port_parse),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_ident_validate),
		cmocka_unit_test(test_site_validate),
		cmocka_unit_test(test_pop_validate),
		cmocka_unit_test(test_site_clear),
		cmocka_unit_test(test_status_cipher_names),
#define DB_TEST(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		DB_TEST(test_open_fresh_reopen),
		DB_TEST(test_open_empty_and_v0),
		DB_TEST(test_open_future_version),
		DB_TEST(test_open_bad_files),
		DB_TEST(test_migration_steps),
		DB_TEST(test_site_roundtrip),
		DB_TEST(test_site_ident_nocase),
		DB_TEST(test_site_duplicates),
		DB_TEST(test_site_unknown_pop),
		DB_TEST(test_site_update),
		DB_TEST(test_site_delete_cascade),
		DB_TEST(test_ike_records),
		DB_TEST(test_site_enable),
		DB_TEST(test_site_foreach),
		DB_TEST(test_site_cipher),
		DB_TEST(test_site_status),
		DB_TEST(test_query_pages),
		DB_TEST(test_query_filters),
		DB_TEST(test_pop_crud),
		DB_TEST(test_health_crud),
		DB_TEST(test_pop_delete_refused),
		DB_TEST(test_transactions),
		DB_TEST(test_partial_failure),
		DB_TEST(test_batch_pop_cache),
		DB_TEST(test_schema_constraints),
		DB_TEST(test_migration_v1_v2),
		DB_TEST(test_query_plans),
		DB_TEST(test_durable_after_kill),
		DB_TEST(test_bulk_insert),
		DB_TEST(test_query_speed),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
