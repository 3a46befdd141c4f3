// SPDX-License-Identifier: GPL-2.0
/*
 * test_import.c - CSV import and export of sites (user/import.c).
 *
 * Every test gets a fresh store in a mkdtemp() directory with four POPs
 * (NYC1, ATL1, LON1, FRA1). Bad files are a table: the CSV text and the
 * messages expected, in order; a message matches when it starts with the
 * expected text (so the store's long explanations can be left out), which
 * always includes the "line N: " prefix. After every failed import the
 * store must be exactly as before (compared through an export with PSKs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "import.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define HDR "tunnel name,source identity,source ip address,primary pop," \
	    "failover pop,encryption cipher,psk,maximum bandwidth,enabled\n"
#define PSK "s3cret-psk-long-enough"
/* a good row: name, identity, source ip */
#define ROW(n, id, ip) n "," id "," ip ",NYC1,ATL1,AES128-CBC," PSK ",50,true\n"
/* a row with only the required values */
#define MIN(n, id, ip) n "," id "," ip ",NYC1,,," PSK ",,\n"
#define X10 "xxxxxxxxxx"
#define X64 X10 X10 X10 X10 X10 X10 "xxxx"

struct fx {
	char dir[64];
	char path[128];
	struct eg_store *st;
};

static void db_remove(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[200];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		fail_msg("bad test address %s", s);
	return a.s_addr;
}

static void pops_add(struct eg_store *st)
{
	static const char *const pops[][3] = {
		{ "NYC1", "203.0.113.1", "203.0.113.2" },
		{ "ATL1", "203.0.113.11", "203.0.113.12" },
		{ "LON1", "203.0.113.21", "203.0.113.22" },
		{ "FRA1", "203.0.113.31", "203.0.113.32" },
	};
	struct eg_err err = { "" };
	struct eg_pop_rec p;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(pops); i++) {
		memset(&p, 0, sizeof(p));
		strcpy(p.name, pops[i][0]);
		p.gateway_ip = ip(pops[i][1]);
		p.probe_ip = ip(pops[i][2]);
		p.accepting = true;
		if (eg_pop_add(st, &p, &err))
			fail_msg("pop add: %s", err.msg);
	}
}

static struct eg_store *store_open(const char *dir, const char *file)
{
	struct eg_err err = { "" };
	struct eg_store *st;
	char path[200];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	db_remove(path);
	if (eg_store_open(&st, path, &err))
		fail_msg("open: %s", err.msg);
	pops_add(st);
	return st;
}

static void store_close(struct eg_store *st, const char *dir,
			const char *file)
{
	char path[200];

	eg_store_close(st);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	db_remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/test_import.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->st = store_open(fx->dir, "sites.db");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	store_close(fx->st, fx->dir, "sites.db");
	/* a second store some tests make */
	store_close(NULL, fx->dir, "other.db");
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* An existing site: HQ, fqdn hq.example.com, 198.51.100.7. */
static void add_hq(struct eg_store *st)
{
	struct eg_err err = { "" };
	struct eg_site_rec s;

	memset(&s, 0, sizeof(s));
	strcpy(s.name, "HQ");
	s.id_type = EG_ID_FQDN;
	strcpy(s.id_value, "hq.example.com");
	s.source_ip = ip("198.51.100.7");
	s.psk_len = strlen(PSK);
	memcpy(s.psk, PSK, s.psk_len);
	strcpy(s.primary_pop, "NYC1");
	s.traffic = EG_TT_IOT;
	s.license = EG_LIC_CLOUD_FIREWALL;
	s.enabled = true;
	if (eg_site_add(st, &s, &err))
		fail_msg("add HQ: %s", err.msg);
}

/* The whole store as text, PSKs included: equal text, equal sites. */
static char *snapshot(struct eg_store *st, size_t *len)
{
	struct eg_err err = { "" };
	char *out;

	if (eg_site_export_csv(st, &out, len, true, &err))
		fail_msg("export: %s", err.msg);
	return out;
}

static int import(struct eg_store *st, const char *csv, size_t len, bool dry,
		  struct eg_import_result *res, struct eg_err *err)
{
	return eg_site_import_csv(st, csv, len ? len : strlen(csv), dry, res,
				  err);
}

static void dump_errors(const struct eg_import_result *res)
{
	unsigned i;

	for (i = 0; i < res->n_errors; i++)
		print_message("    %s\n", res->errors[i]);
}

/* res->errors must be want[] (NULL-terminated), each by prefix. */
static void errors_match(const char *name,
			 const struct eg_import_result *res,
			 const char *const *want)
{
	unsigned i, n = 0;

	while (want[n])
		n++;
	for (i = 0; i < n && i < res->n_errors; i++)
		if (strncmp(res->errors[i], want[i], strlen(want[i])))
			break;
	if (i == n && n == res->n_errors)
		return;
	print_message("case '%s': got %u errors:\n", name, res->n_errors);
	dump_errors(res);
	if (i < n)
		fail_msg("case '%s': error %u should start with '%s'", name,
			 i, want[i]);
	fail_msg("case '%s': %u errors, want %u", name, res->n_errors, n);
}

struct icase {
	const char *name;
	const char *csv;
	size_t len;		/* 0: strlen(csv) */
	bool with_hq;		/* the store has site HQ first */
	int rows;		/* data rows read */
	const char *want[20];	/* errors; none: the import succeeds */
};

#define NUL_CSV HDR MIN("n1", "n1.example.com", "198.51.100.1") \
	"n2,n2.example.com,198.51.100.2,NYC1,,,\0" PSK ",,\n"

static const struct icase icases[] = {
	/* ---- values, one problem per line ---- */
	{ "bad values", HDR
	  MIN("a/b", "n1.example.com", "198.51.100.1")
	  MIN("n2", "bad..example.com", "198.51.100.2")
	  MIN("n3", "n3.example.com", "300.1.1.1")
	  "n4,n4.example.com,198.51.100.4,XXX1,,," PSK ",,\n"
	  "n5,n5.example.com,198.51.100.5,NYC1,ATL1;YYY,," PSK ",,\n"
	  "n6,n6.example.com,198.51.100.6,NYC1,,DES," PSK ",,\n"
	  "n7,n7.example.com,198.51.100.7,NYC1,,,short,,\n"
	  "n8,n8.example.com,198.51.100.8,NYC1,,," PSK ",10M,\n"
	  "n9,n9.example.com,198.51.100.9,NYC1,,," PSK ",,maybe\n"
	  "n10,n10.example.com,198.51.100.10,NYC1,,," PSK ",\n"
	  "n11,n11.example.com,198.51.100.11,NYC1,,," PSK ",,,,\n"
	  MIN("n12", "n12.example.com", "224.0.0.1")
	  "n13,n13.example.com,198.51.100.13,NYC1,,," PSK ",4294967296,\n",
	  .rows = 13, .want = {
		"line 2: site name 'a/b' contains '/'",
		"line 3: source identity 'bad..example.com' is not a valid FQDN",
		"line 4: source ip '300.1.1.1' is not a dotted-quad IPv4 address",
		"line 5: unknown POP 'XXX1'",
		"line 6: unknown POP 'YYY' in backup POPs",
		"line 7: encryption cipher 'DES' is not supported; use one of AES128-CBC, AES192-CBC, AES256-CBC, AES128-GCM, AES192-GCM, AES256-GCM, NULL, or leave it empty for any but NULL",
		"line 8: PSK too short: 5 bytes, at least 16 required",
		"line 9: maximum bandwidth '10M' is not a whole number of Mbps from 0 to 4294967295 (empty or 0: no limit)",
		"line 10: enabled 'maybe' is not one of true, false, yes, no, 1, 0 (empty: true)",
		"line 11: 8 fields, but the header has 9 columns",
		"line 12: 11 fields, but the header has 9 columns",
		"line 13: source ip 224.0.0.1 is a multicast address",
		"line 14: maximum bandwidth '4294967296' is not a whole number",
	} },
	{ "more bad values", HDR
	  "n1,n1.example.com,198.51.100.1,NYC1,NYC1,," PSK ",,\n"
	  "n2,n2.example.com,198.51.100.2,NYC1,ATL1; ATL1,," PSK ",,\n"
	  "n3,n3.example.com,198.51.100.3,NYC1,ATL1;;LON1,," PSK ",,\n"
	  "n4,n4.example.com,198.51.100.4,NYC1,A;B;C;D;E;F;G;H;I;J,," PSK ",,\n"
	  "n5,n5.example.com,198.51.100.5,NYC1,,,,,\n"
	  "n6,n6.example.com,198.51.100.6,NYC1,,,"
	  X64 X64 "x,,\n"
	  MIN("", "n7.example.com", "198.51.100.7")
	  MIN(X64 "y", "n8.example.com", "198.51.100.8")
	  "n9,n9.example.com,198.51.100.9,,,," PSK ",,\n"
	  MIN("n10", "", "198.51.100.10")
	  MIN("n11", "a@b@c.com", "198.51.100.11")
	  MIN("n12", "n12.example.com", "")
	  "n13,n13.example.com,198.51.100.13,NYC1,ATL1|LON1 | FRA1,aes256-gcm,"
	  PSK ",0,NO\n"
	  MIN("n14", "n14.example.com", "127.0.0.1")
	  "n15,n15.example.com,198.51.100.15,NYC1,ATL1;,," PSK ",,\n"
	  "n16,n16.example.com,198.51.100.16,NYC1," X64 "z,," PSK ",,\n"
	  MIN("n17", "0.0.0.0", "198.51.100.17"),
	  .rows = 17, .want = {
		"line 2: backup POP 'NYC1' is also the primary POP",
		"line 3: backup POP 'ATL1' is listed twice",
		"line 4: failover pop 'ATL1;;LON1' has an empty POP name (separate names with ';')",
		"line 5: too many backup POPs: 10, at most 9",
		"line 6: PSK is empty: at least 16 bytes required",
		"line 7: PSK too long: 129 bytes, at most 128 allowed",
		"line 8: site name is empty",
		"line 9: site name '" X10 X10 X10 "xxxxxx...' is too long: more than 64 bytes",
		"line 10: primary POP is not set",
		"line 11: source identity is empty",
		"line 12: source identity 'a@b@c.com' is not a valid email ID: more than one '@'",
		"line 13: source ip is empty",
		"line 15: source ip 127.0.0.1 is a loopback address",
		"line 16: failover pop 'ATL1;' has an empty POP name",
		"line 17: backup POP name '" X10 X10 X10 "xxxxxx...' is too long: more than 64 bytes",
		"line 18: source identity 0.0.0.0 is not a usable IPv4 ID",
	} },
	/* every field that fails says so; the store's rules judge the rest */
	{ "several problems in one row", HDR
	  "a/b,n1.example.com,300.1.1.1,NYC1,,,short,xx,maybe\n"
	  "n2,n2..com,198.51.100.2,,,AES,,1.5,\n",
	  .rows = 2, .want = {
		"line 2: source ip '300.1.1.1' is not a dotted-quad",
		"line 2: maximum bandwidth 'xx' is not a whole number",
		"line 2: enabled 'maybe' is not one of",
		"line 2: site name 'a/b' contains '/'",
		"line 3: source identity 'n2..com' is not a valid FQDN",
		"line 3: primary POP is not set",
		"line 3: encryption cipher 'AES' is not supported",
		"line 3: PSK is empty",
		"line 3: maximum bandwidth '1.5' is not a whole number",
	} },
	/* ---- line numbers ---- */
	{ "physical lines", HDR
	  "\n"
	  MIN("\"n1\nx\"", "n1.example.com", "198.51.100.1")
	  "\r\n"
	  MIN("n2", "n2.example.com", "300.1.1.1")
	  MIN("n3", "n3.example.com", "198.51.100.3")
	  "\"n4\",n4.example.com,198.51.100.4,NYC1,,,\"psk,with\n\"\"quotes\"\" and\r\nlines\",,\n"
	  MIN("n5", "n5.example.com", "300.1.1.5"),
	  .rows = 5, .want = {
		"line 3: site name 'n1\\x0ax' contains byte 0x0a",
		"line 6: source ip '300.1.1.1'",
		"line 11: source ip '300.1.1.5'",
	} },
	/* ---- CSV syntax ---- */
	{ "unterminated quote", HDR
	  MIN("n1", "n1.example.com", "198.51.100.1")
	  "n2,\"n2.example.com,198.51.100.2,NYC1,,," PSK ",,\n"
	  MIN("n3", "n3.example.com", "198.51.100.3"),
	  .rows = 2, .want = {
		"line 3: unterminated quoted field 2 (its quote opens on line 3)",
	} },
	{ "stray quote and junk after a quote", HDR
	  "n1,n1.example.com,198.51.100.1,NYC1,,,ab\"cdefghijklmnopq,,\n"
	  "n2,\"n2.example.com\"x,198.51.100.2,NYC1,,," PSK ",,\n"
	  MIN("n3", "n3.example.com", "198.51.100.3"),
	  .rows = 3, .want = {
		"line 2: field 7: a '\"' inside an unquoted field; put the field in quotes and write the quote twice (\"\")",
		"line 3: field 2: text after the closing quote",
	} },
	{ "nul byte", NUL_CSV, sizeof(NUL_CSV) - 1, .rows = 2, .want = {
		"line 3: NUL byte: the input is not text; if it is UTF-16, save it as UTF-8",
	} },
	{ "utf-16 file", "\xff\xfe" "t\0u\0n\0", 8, .want = {
		"line 1: header: NUL byte",
	} },
	/* ---- duplicates inside the file ---- */
	{ "duplicates in the file", HDR
	  ROW("A", "a.example.com", "198.51.100.1")
	  ROW("B", "admin@abc.net", "198.51.100.2")
	  ROW("A", "c.example.com", "198.51.100.3")
	  ROW("D", "Admin@ABC.net", "198.51.100.4")
	  ROW("E", "e.example.com", "198.51.100.2")
	  ROW("A", "admin@abc.NET", "198.51.100.1")
	  ROW("a", "a2.example.com", "198.51.100.8")
	  ROW("ip1", "192.0.2.55", "198.51.100.9")
	  ROW("ip2", "192.0.2.55", "198.51.100.10")
	  "bad,bad.example.com,198.51.100.77,NYC1,,,short,,\n"
	  ROW("ok12", "ok12.example.com", "198.51.100.77")
	  ROW("F", "A.EXAMPLE.COM", "198.51.100.12"),
	  .rows = 12, .want = {
		"line 4: site name 'A' is also on line 2",
		"line 5: source identity email:Admin@ABC.net is also on line 3",
		"line 6: source ip 198.51.100.2 is also on line 3",
		"line 7: site name 'A' is also on line 2",
		"line 7: source identity email:admin@abc.NET is also on line 3",
		"line 7: source ip 198.51.100.1 is also on line 2",
		"line 10: source identity ipv4:192.0.2.55 is also on line 9",
		"line 11: PSK too short: 5 bytes",
		"line 12: source ip 198.51.100.77 is also on line 11",
		"line 13: source identity fqdn:A.EXAMPLE.COM is also on line 2",
	} },
	/* ---- conflicts with sites in the store ---- */
	{ "conflicts with the store", HDR
	  ROW("HQ", "x.example.com", "198.51.100.20")
	  ROW("B", "HQ.Example.com", "198.51.100.21")
	  ROW("C", "c.example.com", "198.51.100.7")
	  ROW("D", "d.example.com", "198.51.100.22")
	  ROW("hq", "hq.example.com", "198.51.100.7"),
	  .with_hq = true, .rows = 5, .want = {
		"line 2: site name 'HQ' already exists",
		"line 3: source identity fqdn:HQ.Example.com is already used by site 'HQ'",
		"line 4: source ip 198.51.100.7 is already used by site 'HQ'",
		"line 6: source identity fqdn:hq.example.com is also on line 3",
		"line 6: source identity fqdn:hq.example.com is already used by site 'HQ'",
		"line 6: source ip 198.51.100.7 is also on line 4",
		"line 6: source ip 198.51.100.7 is already used by site 'HQ'",
	} },
	/* ---- header ---- */
	{ "missing psk", "tunnel name,source identity,source ip address,"
	  "primary pop,failover pop,encryption cipher,maximum bandwidth,enabled\n"
	  "n1,n1.example.com,198.51.100.1,NYC1,,,,\n", .want = {
		"line 1: header: missing column 'psk'",
	} },
	{ "missing several", "\n\nPSK,tunnel name\n" PSK ",n1\n", .want = {
		"line 3: header: missing columns 'source identity', 'source ip address', 'primary pop'",
	} },
	{ "duplicate column", "tunnel name,source identity,source ip address,"
	  "primary pop,psk, Tunnel Name\n", .want = {
		"line 1: header: duplicate column 'tunnel name' (columns 1 and 6)",
	} },
	{ "unknown and unnamed columns", "tunnel name,source identity,"
	  "source ip address,primary pop,psk,foo,\n", .want = {
		"line 1: header: unknown column 'foo' (expected: tunnel name, source identity, source ip address, primary pop, failover pop, encryption cipher, psk, maximum bandwidth, enabled)",
		"line 1: header: column 7 has no name",
	} },
	{ "no header, a data row", ROW("A", "a.example.com", "198.51.100.1")
	  ROW("B", "b.example.com", "198.51.100.2"), .want = {
		"line 1: header: no known column name; the first line must name the columns: tunnel name, source identity, source ip address, primary pop, failover pop, encryption cipher, psk, maximum bandwidth, enabled",
	} },
	{ "header with a bad quote", "\"tunnel name,psk\nx,y\n", .want = {
		"line 1: header: unterminated quoted field 1 (its quote opens on line 1)",
	} },
	{ "empty file", "", .want = {
		"line 1: no header: the first line must name the columns: tunnel name, source identity, source ip address, primary pop, failover pop, encryption cipher, psk, maximum bandwidth, enabled",
	} },
	{ "only a bom and empty lines", "\xef\xbb\xbf\r\n\r\n", .want = {
		"line 1: no header",
	} },
	/* ---- good files ---- */
	{ "header only", HDR, .rows = 0 },
	{ "header only, no newline", "tunnel name,source identity,"
	  "source ip address,primary pop,psk", .rows = 0 },
	{ "any order, case and blanks", " PSK ,Tunnel Name,\"SOURCE IDENTITY\" ,"
	  "  source ip address\t,primary POP\n"
	  PSK ",X,x.example.com,198.51.100.5,NYC1\n", .rows = 1 },
	{ "bom, crlf, empty rows", "\xef\xbb\xbf" "tunnel name,source identity,"
	  "source ip address,primary pop,failover pop,encryption cipher,psk,"
	  "maximum bandwidth,enabled\r\n\r\n,,,,,,,,\r\n"
	  "TunnelHQ,admin@abc.net,198.51.100.7,NYC1,ATL1,AES128-CBC,"
	  "s3cret-psk-long-enough,50,true\r\n , ,,,,,,,\r\n   \r\n"
	  "B,b.example.com,198.51.100.8,NYC1,,,\" " PSK " \",,Yes", .rows = 2 },
};

static void test_import_table(void **state)
{
	struct fx *fx = *state;
	struct eg_import_result res;
	struct eg_err err;
	size_t before_len, after_len;
	char *before, *after;
	unsigned i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(icases); i++) {
		const struct icase *c = &icases[i];
		struct eg_store *st = store_open(fx->dir, "other.db");

		if (c->with_hq)
			add_hq(st);
		before = snapshot(st, &before_len);
		ret = import(st, c->csv, c->len, false, &res, &err);
		errors_match(c->name, &res, c->want);
		if (c->want[0]) {
			assert_int_equal(ret, -EINVAL);
			assert_int_equal(res.imported, 0);
			assert_null(res.ids);
			assert_int_equal(res.total_errors, res.n_errors);
			assert_non_null(strstr(err.msg, "nothing was imported"));
			/* nothing written */
			after = snapshot(st, &after_len);
			assert_string_equal(before, after);
			eg_site_export_free(after, after_len);
		} else {
			if (ret)
				fail_msg("case '%s': %d %s", c->name, ret,
					 err.msg);
			assert_int_equal(res.imported, c->rows);
			assert_int_equal(eg_site_count(st), c->rows);
		}
		if (res.rows != (unsigned)c->rows)
			fail_msg("case '%s': %u rows, want %d", c->name,
				 res.rows, c->rows);
		eg_site_export_free(before, before_len);
		eg_import_result_free(&res);
		store_close(st, fx->dir, "other.db");
	}
}

/* The good rows above, as stored. */
static void test_import_values(void **state)
{
	struct fx *fx = *state;
	const char *csv = HDR
		"TunnelHQ,admin@abc.net,198.51.100.7,NYC1,ATL1,AES128-CBC,"
		"s3cret-psk-long-enough,50,true\n"
		"B,192.0.2.9,198.51.100.8,NYC1,ATL1|LON1 | FRA1,aes256-gcm,"
		"\" " PSK " \",0,NO\n"
		"C,c.example.com,198.51.100.9,LON1,,,\"a,b\"\"c\nd" PSK "\",,\n";
	struct eg_import_result res;
	struct eg_err err;
	struct eg_site_rec s;

	assert_int_equal(import(fx->st, csv, 0, false, &res, &err), 0);
	assert_int_equal(res.rows, 3);
	assert_int_equal(res.imported, 3);
	assert_int_equal(res.n_errors, 0);

	assert_int_equal(eg_site_get(fx->st, "TunnelHQ", &s, &err), 0);
	assert_int_equal(s.id, res.ids[0]);
	assert_int_equal(s.id_type, EG_ID_EMAIL);
	assert_string_equal(s.id_value, "admin@abc.net");
	assert_int_equal(s.source_ip, ip("198.51.100.7"));
	assert_string_equal(s.primary_pop, "NYC1");
	assert_int_equal(s.n_backup_pops, 1);
	assert_string_equal(s.backup_pops[0], "ATL1");
	assert_string_equal(s.cipher, "AES128-CBC");
	assert_int_equal(s.psk_len, 0);		/* read apart: */
	assert_int_equal(eg_site_psk_get(fx->st, s.id, s.psk, &s.psk_len, &err), 0);
	assert_int_equal(s.psk_len, strlen(PSK));
	assert_memory_equal(s.psk, PSK, s.psk_len);
	assert_int_equal(s.max_bw_mbps, 50);
	assert_true(s.enabled);
	assert_int_equal(s.traffic, EG_TT_USER);
	assert_int_equal(s.license, EG_LIC_WEB_GATEWAY);
	assert_int_equal(s.n_ports, 0);

	assert_int_equal(eg_site_get(fx->st, "B", &s, &err), 0);
	assert_int_equal(s.id, res.ids[1]);
	assert_int_equal(s.id_type, EG_ID_IPV4);
	assert_int_equal(s.n_backup_pops, 3);
	assert_string_equal(s.backup_pops[0], "ATL1");
	assert_string_equal(s.backup_pops[1], "LON1");
	assert_string_equal(s.backup_pops[2], "FRA1");
	assert_string_equal(s.cipher, "AES256-GCM");
	/* blanks inside the quotes belong to the PSK */
	assert_int_equal(eg_site_psk_get(fx->st, s.id, s.psk, &s.psk_len, &err), 0);
	assert_int_equal(s.psk_len, strlen(PSK) + 2);
	assert_memory_equal(s.psk, " " PSK " ", s.psk_len);
	assert_int_equal(s.max_bw_mbps, 0);
	assert_false(s.enabled);

	assert_int_equal(eg_site_get(fx->st, "C", &s, &err), 0);
	assert_int_equal(s.id_type, EG_ID_FQDN);
	assert_string_equal(s.cipher, "");
	assert_int_equal(eg_site_psk_get(fx->st, s.id, s.psk, &s.psk_len, &err), 0);
	assert_int_equal(s.psk_len, strlen("a,b\"c\nd" PSK));
	assert_memory_equal(s.psk, "a,b\"c\nd" PSK, s.psk_len);
	assert_true(s.enabled);
	eg_site_clear(&s);
	eg_import_result_free(&res);
}

/* 5 good rows and 1 bad one: nothing is written, whatever the order. */
static void test_all_or_nothing(void **state)
{
	static const char *const bad[] = { "first", "middle", "last" };
	struct fx *fx = *state;
	struct eg_import_result res;
	char csv[2048], *before, *after;
	size_t before_len, after_len, o;
	struct eg_err err;
	unsigned k, i, n;

	add_hq(fx->st);
	before = snapshot(fx->st, &before_len);
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		o = snprintf(csv, sizeof(csv), HDR);
		for (i = 0, n = 0; i < 6; i++) {
			if (i == k * 5 / 2) {
				o += snprintf(csv + o, sizeof(csv) - o,
					      "bad,bad.example.com,198.51.100.99,NYC1,,,"
					      PSK ",,maybe\n");
				continue;
			}
			o += snprintf(csv + o, sizeof(csv) - o,
				      "g%u,g%u.example.com,198.51.100.%u,NYC1,,,"
				      PSK ",,\n", n, n, n + 1);
			n++;
		}
		assert_int_equal(import(fx->st, csv, 0, false, &res, &err),
				 -EINVAL);
		if (res.n_errors != 1 || res.rows != 6)
			fail_msg("bad row %s: %u errors, %u rows", bad[k],
				 res.n_errors, res.rows);
		assert_int_equal(res.imported, 0);
		assert_int_equal(eg_site_count(fx->st), 1);
		after = snapshot(fx->st, &after_len);
		assert_string_equal(before, after);
		eg_site_export_free(after, after_len);
		eg_import_result_free(&res);
	}
	eg_site_export_free(before, before_len);
}

/*
 * A row that passes every check but fails in the store (here a trigger
 * stands for a concurrent change): the rows before it are rolled back.
 */
static void test_insert_failure_rolls_back(void **state)
{
	struct fx *fx = *state;
	const char *csv = HDR
		MIN("A", "a.example.com", "198.51.100.1")
		MIN("B", "b.example.com", "198.51.100.2")
		MIN("C", "c.example.com", "198.51.100.3")
		MIN("D", "d.example.com", "198.51.100.4")
		MIN("E", "e.example.com", "198.51.100.5")
		MIN("F", "f.example.com", "198.51.100.6");
	struct eg_import_result res;
	struct eg_err err;
	char path[200];
	sqlite3 *db;

	add_hq(fx->st);
	snprintf(path, sizeof(path), "%s/sites.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TRIGGER t_no_e BEFORE INSERT ON sites"
		" WHEN NEW.name = 'E' BEGIN SELECT RAISE(ABORT, 'no E'); END",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(import(fx->st, csv, 0, false, &res, &err), -EINVAL);
	if (res.n_errors != 1 || strncmp(res.errors[0], "line 6: ", 8) ||
	    !strstr(res.errors[0], "no E")) {
		dump_errors(&res);
		fail_msg("want one error on line 6");
	}
	assert_int_equal(res.imported, 0);
	assert_null(res.ids);
	assert_int_equal(eg_site_count(fx->st), 1);
	assert_int_equal(eg_site_get(fx->st, "A", &(struct eg_site_rec){ 0 },
				     &err), -ENOENT);
	eg_import_result_free(&res);

	/* the store is usable after the rollback */
	assert_int_equal(import(fx->st, HDR MIN("A", "a.example.com",
						"198.51.100.1"), 0, false,
				&res, &err), 0);
	assert_int_equal(res.imported, 1);
	eg_import_result_free(&res);
}

static void test_dry_run(void **state)
{
	struct fx *fx = *state;
	const char *good = HDR
		ROW("A", "a.example.com", "198.51.100.1")
		ROW("B", "b.example.com", "198.51.100.2")
		ROW("C", "c.example.com", "198.51.100.3")
		ROW("D", "d.example.com", "198.51.100.4")
		ROW("E", "e.example.com", "198.51.100.5");
	const char *bad = HDR
		ROW("A", "a.example.com", "198.51.100.1")
		ROW("HQ", "b.example.com", "198.51.100.2");
	struct eg_import_result res;
	size_t before_len, after_len;
	char *before, *after;
	struct eg_err err;

	add_hq(fx->st);
	before = snapshot(fx->st, &before_len);
	assert_int_equal(import(fx->st, good, 0, true, &res, &err), 0);
	assert_int_equal(res.rows, 5);
	assert_int_equal(res.imported, 0);
	assert_null(res.ids);
	assert_int_equal(res.n_errors, 0);
	eg_import_result_free(&res);

	assert_int_equal(import(fx->st, bad, 0, true, &res, &err), -EINVAL);
	assert_int_equal(res.n_errors, 1);
	assert_string_equal(res.errors[0],
			    "line 3: site name 'HQ' already exists");
	assert_string_equal(err.msg, "1 error in the CSV; nothing was imported");
	eg_import_result_free(&res);

	after = snapshot(fx->st, &after_len);
	assert_string_equal(before, after);
	assert_int_equal(eg_site_count(fx->st), 1);
	eg_site_export_free(before, before_len);
	eg_site_export_free(after, after_len);
}

/* At most EG_IMPORT_MAX_ERRORS messages, then how many more. */
static void test_error_cap(void **state)
{
	struct fx *fx = *state;
	struct eg_import_result res;
	size_t o, size = 2000 * 80;
	struct eg_err err;
	char *csv = malloc(size);
	unsigned i;

	assert_non_null(csv);
	o = snprintf(csv, size, HDR);
	for (i = 0; i < 1500; i++)
		o += snprintf(csv + o, size - o,
			      "s%u,s%u.example.com,10.%u.%u.1,NYC1,,," PSK
			      ",lots,\n", i, i, i / 256, i % 256);
	assert_int_equal(import(fx->st, csv, o, false, &res, &err), -EINVAL);
	assert_int_equal(res.rows, 1500);
	assert_int_equal(res.total_errors, 1500);
	assert_int_equal(res.n_errors, EG_IMPORT_MAX_ERRORS + 1);
	assert_string_equal(res.errors[0],
			    "line 2: maximum bandwidth 'lots' is not a whole number of Mbps from 0 to 4294967295 (empty or 0: no limit)");
	assert_true(!strncmp(res.errors[EG_IMPORT_MAX_ERRORS - 1],
			     "line 1001: ", 11));
	assert_string_equal(res.errors[EG_IMPORT_MAX_ERRORS],
			    "... and 500 more errors");
	assert_string_equal(err.msg,
			    "1500 errors in the CSV; nothing was imported");
	eg_import_result_free(&res);
	free(csv);
}

/* More than EG_IMPORT_MAX_ROWS rows: reading stops, and that is shown. */
static void test_row_cap(void **state)
{
	struct fx *fx = *state;
	size_t n = EG_IMPORT_MAX_ROWS + 5, o, size = sizeof(HDR) + 2 * n;
	struct eg_import_result res;
	struct eg_err err;
	char *csv = malloc(size);
	size_t i;

	assert_non_null(csv);
	o = snprintf(csv, size, HDR);
	for (i = 0; i < n; i++) {
		csv[o++] = 'x';
		csv[o++] = '\n';
	}
	assert_int_equal(import(fx->st, csv, o, false, &res, &err), -EINVAL);
	assert_int_equal(res.rows, EG_IMPORT_MAX_ROWS);
	/* one per row, plus the limit */
	assert_int_equal(res.total_errors, EG_IMPORT_MAX_ROWS + 1);
	assert_int_equal(res.n_errors, EG_IMPORT_MAX_ERRORS + 2);
	assert_string_equal(res.errors[0],
			    "line 2: 1 field, but the header has 9 columns");
	assert_string_equal(res.errors[EG_IMPORT_MAX_ERRORS],
			    "line 1000002: more than 1000000 rows; split the file");
	assert_string_equal(res.errors[EG_IMPORT_MAX_ERRORS + 1],
			    "... and 999000 more errors");
	eg_import_result_free(&res);
	free(csv);
}

static void test_limits(void **state)
{
	struct fx *fx = *state;
	size_t len = EG_IMPORT_MAX_BYTES + 1, o;
	struct eg_import_result res;
	struct eg_err err;
	char *csv;

	/* over the size cap: refused before reading */
	csv = malloc(len);
	assert_non_null(csv);
	memset(csv, 'x', len);
	assert_int_equal(import(fx->st, csv, len, false, &res, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "at most 33554432"));
	assert_int_equal(res.n_errors, 0);
	eg_import_result_free(&res);

	/* a field over 64 KiB (a PSK would be refused anyway) */
	o = snprintf(csv, len, HDR "n1,n1.example.com,198.51.100.1,NYC1,,,");
	memset(csv + o, 'p', EG_IMPORT_FIELD_MAX + 1);
	o += EG_IMPORT_FIELD_MAX + 1;
	o += sprintf(csv + o, ",,\n" MIN("n2", "n2.example.com", "1.2.3"));
	assert_int_equal(import(fx->st, csv, o, false, &res, &err), -EINVAL);
	assert_int_equal(res.n_errors, 2);
	assert_string_equal(res.errors[0],
			    "line 2: field 7 is longer than 65536 bytes");
	assert_true(!strncmp(res.errors[1], "line 3: source ip '1.2.3'", 25));
	eg_import_result_free(&res);
	free(csv);

	/* a batch already open: the import cannot be all-or-nothing */
	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	assert_int_equal(import(fx->st, HDR MIN("n1", "n1.example.com",
						"198.51.100.1"), 0, false,
				&res, &err), -EBUSY);
	assert_int_equal(res.imported, 0);
	eg_import_result_free(&res);
	eg_store_rollback(fx->st);
	assert_int_equal(eg_site_count(fx->st), 0);
}

/* ---- export ---- */

static void site_set(struct eg_site_rec *s, const char *name,
		     enum eg_id_type t, const char *id, const char *addr,
		     const char *psk, size_t psk_len)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->name, name);
	s->id_type = t;
	strcpy(s->id_value, id);
	s->source_ip = ip(addr);
	memcpy(s->psk, psk, psk_len);
	s->psk_len = psk_len;
	strcpy(s->primary_pop, "NYC1");
	s->traffic = EG_TT_USER;
	s->license = EG_LIC_WEB_GATEWAY;
	s->enabled = true;
}

static void add(struct eg_store *st, struct eg_site_rec *s)
{
	struct eg_err err = { "" };

	if (eg_site_add(st, s, &err))
		fail_msg("add %s: %s", s->name, err.msg);
}

/* Sites with every feature the CSV carries, in a fresh store. */
static void sites_varied(struct eg_store *st)
{
	static const char odd_psk[] = " psk, with \"quotes\"\r\nand lines\t";
	static const char bin_psk[] = "\x01\x02\xff\xfe utf8 Zürich 0123";
	struct eg_site_rec s;

	site_set(&s, "TunnelHQ", EG_ID_EMAIL, "admin@abc.net", "198.51.100.7",
		 PSK, strlen(PSK));
	strcpy(s.backup_pops[0], "ATL1");
	s.n_backup_pops = 1;
	strcpy(s.cipher, "AES128-CBC");
	s.max_bw_mbps = 50;
	add(st, &s);

	site_set(&s, "Branch 2", EG_ID_FQDN, "Branch2.Example.com",
		 "198.51.100.8", odd_psk, sizeof(odd_psk) - 1);
	strcpy(s.primary_pop, "LON1");
	strcpy(s.backup_pops[0], "FRA1");
	strcpy(s.backup_pops[1], "NYC1");
	strcpy(s.backup_pops[2], "ATL1");
	s.n_backup_pops = 3;
	strcpy(s.cipher, "AES256-GCM");
	s.max_bw_mbps = 4294967295u;
	s.enabled = false;
	add(st, &s);

	site_set(&s, "ip-id", EG_ID_IPV4, "192.0.2.10", "192.0.2.10",
		 bin_psk, sizeof(bin_psk) - 1);
	add(st, &s);
	eg_site_clear(&s);
}

static void site_same(const struct eg_site_rec *a, const struct eg_site_rec *b)
{
	unsigned i;

	assert_string_equal(a->name, b->name);
	assert_int_equal(a->id_type, b->id_type);
	assert_string_equal(a->id_value, b->id_value);
	assert_int_equal(a->source_ip, b->source_ip);
	assert_int_equal(a->psk_len, b->psk_len);
	assert_memory_equal(a->psk, b->psk, a->psk_len);
	assert_string_equal(a->primary_pop, b->primary_pop);
	assert_int_equal(a->n_backup_pops, b->n_backup_pops);
	for (i = 0; i < a->n_backup_pops; i++)
		assert_string_equal(a->backup_pops[i], b->backup_pops[i]);
	assert_string_equal(a->cipher, b->cipher);
	assert_int_equal(a->max_bw_mbps, b->max_bw_mbps);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->traffic, b->traffic);
	assert_int_equal(a->license, b->license);
	assert_int_equal(a->n_ports, b->n_ports);
}

struct cmp {
	struct eg_store *other;
	unsigned n;
};

static int cmp_site(const struct eg_site_rec *s, void *arg)
{
	struct cmp *c = arg;
	struct eg_err err;
	struct eg_site_rec o;

	if (eg_site_get(c->other, s->name, &o, &err))
		fail_msg("'%s' was not imported: %s", s->name, err.msg);
	site_same(s, &o);
	eg_site_clear(&o);
	c->n++;
	return 0;
}

static void test_export_format(void **state)
{
	struct fx *fx = *state;
	struct eg_err err;
	struct eg_site_rec s;
	size_t len;
	char *out;

	/* no site: the header alone */
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, false, &err),
			 0);
	assert_string_equal(out, "tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled\r\n");
	assert_int_equal(len, strlen(out));
	eg_site_export_free(out, len);

	sites_varied(fx->st);
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, true, &err),
			 0);
	assert_string_equal(out,
		"tunnel name,source identity,source ip address,primary pop,failover pop,encryption cipher,psk,maximum bandwidth,enabled\r\n"
		"TunnelHQ,admin@abc.net,198.51.100.7,NYC1,ATL1,AES128-CBC,s3cret-psk-long-enough,50,true\r\n"
		"Branch 2,Branch2.Example.com,198.51.100.8,LON1,FRA1;NYC1;ATL1,AES256-GCM,\" psk, with \"\"quotes\"\"\r\nand lines\t\",4294967295,false\r\n"
		"ip-id,192.0.2.10,192.0.2.10,NYC1,,,\x01\x02\xff\xfe utf8 Zürich 0123,,true\r\n");
	eg_site_export_free(out, len);

	/* without the PSKs: the column stays, empty */
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, false, &err),
			 0);
	assert_non_null(strstr(out, "\r\nTunnelHQ,admin@abc.net,198.51.100.7,NYC1,ATL1,AES128-CBC,,50,true\r\n"));
	assert_null(strstr(out, "s3cret"));
	assert_null(strstr(out, "quotes"));
	eg_site_export_free(out, len);

	/* a PSK that CSV text cannot carry */
	site_set(&s, "nul", EG_ID_FQDN, "nul.example.com", "198.51.100.30",
		 "0123456789\0abcdef", 17);
	add(fx->st, &s);
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, true, &err),
			 -EINVAL);
	assert_null(out);
	assert_string_equal(err.msg, "site 'nul': its PSK holds a NUL byte and cannot be written as CSV text");
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, false, &err),
			 0);
	eg_site_export_free(out, len);
	eg_site_clear(&s);
}

/* export (with PSKs) -> import into a fresh store: the same sites. */
static void test_round_trip(void **state)
{
	struct fx *fx = *state;
	struct eg_import_result res;
	struct cmp c = { 0 };
	struct eg_err err;
	size_t len, len2;
	char *out, *out2;

	sites_varied(fx->st);
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, true, &err),
			 0);
	c.other = store_open(fx->dir, "other.db");
	if (import(c.other, out, len, false, &res, &err)) {
		dump_errors(&res);
		fail_msg("import: %s", err.msg);
	}
	assert_int_equal(res.imported, 3);
	eg_import_result_free(&res);
	assert_int_equal(eg_site_foreach(fx->st, cmp_site, &c, &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(eg_site_count(c.other), 3);
	/* and the text of the second export is the same */
	assert_int_equal(eg_site_export_csv(c.other, &out2, &len2, true, &err),
			 0);
	assert_string_equal(out, out2);
	eg_site_export_free(out2, len2);
	eg_site_export_free(out, len);

	/* without the PSKs the file cannot be imported back, and says why */
	assert_int_equal(eg_site_export_csv(fx->st, &out, &len, false, &err),
			 0);
	store_close(c.other, fx->dir, "other.db");
	c.other = store_open(fx->dir, "other.db");
	assert_int_equal(import(c.other, out, len, false, &res, &err),
			 -EINVAL);
	errors_match("export without psk", &res, (const char *const[]){
		"line 2: PSK is empty", "line 3: PSK is empty",
		"line 4: PSK is empty", NULL });
	eg_import_result_free(&res);
	eg_site_export_free(out, len);
	store_close(c.other, fx->dir, "other.db");
}

struct seen {
	unsigned n;
	int64_t ids[8];
	char names[8][EG_NAME_MAX + 1];
};

static int on_added(const struct eg_site_rec *s, void *arg)
{
	struct seen *x = arg;

	assert_true(x->n < 8);
	assert_int_equal(s->psk_len, 0);	/* PSKs are read apart */
	x->ids[x->n] = s->id;
	strcpy(x->names[x->n++], s->name);
	return x->n == 2 && !strcmp(s->name, "stop") ? 42 : 0;
}

/* What ipsecd does after an import: each new site to the data path. */
static void test_foreach_added(void **state)
{
	struct fx *fx = *state;
	struct eg_import_result res;
	struct seen x = { 0 };
	struct eg_err err;
	unsigned i;

	add_hq(fx->st);
	assert_int_equal(import(fx->st, HDR
				MIN("c", "c.example.com", "198.51.100.3")
				MIN("a", "a.example.com", "198.51.100.1")
				MIN("b", "b.example.com", "198.51.100.2"),
				0, false, &res, &err), 0);
	assert_int_equal(res.imported, 3);
	assert_int_equal(eg_import_foreach_added(fx->st, &res, on_added, &x,
						 &err), 0);
	assert_int_equal(x.n, 3);
	assert_string_equal(x.names[0], "c");
	assert_string_equal(x.names[1], "a");
	assert_string_equal(x.names[2], "b");
	for (i = 0; i < 3; i++)
		assert_int_equal(x.ids[i], res.ids[i]);
	eg_import_result_free(&res);

	/* cb's non-zero stops the walk */
	assert_int_equal(import(fx->st, HDR
				MIN("s1", "s1.example.com", "198.51.100.11")
				MIN("stop", "s2.example.com", "198.51.100.12")
				MIN("s3", "s3.example.com", "198.51.100.13"),
				0, false, &res, &err), 0);
	x.n = 0;
	assert_int_equal(eg_import_foreach_added(fx->st, &res, on_added, &x,
						 &err), 42);
	assert_int_equal(x.n, 2);
	eg_import_result_free(&res);

	/* a dry run added nothing */
	assert_int_equal(import(fx->st, HDR
				MIN("d", "d.example.com", "198.51.100.4"),
				0, true, &res, &err), 0);
	x.n = 0;
	assert_int_equal(eg_import_foreach_added(fx->st, &res, on_added, &x,
						 &err), 0);
	assert_int_equal(x.n, 0);
	eg_import_result_free(&res);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define SPEED_ROWS	10000
#define SPEED_STORED	1000

/* ASan and UBSan make everything several times slower (make test-asan) */
#if defined(__SANITIZE_ADDRESS__)
#define SLOWER 10.0
#else
#define SLOWER 1.0
#endif

/*
 * 10,000 rows into a store that already has 1,000 sites (so that every
 * row is looked up there), checks and inserts, in under 2 s (README).
 */
static void test_speed(void **state)
{
	struct fx *fx = *state;
	size_t size = SPEED_ROWS * 160 + sizeof(HDR), o;
	struct eg_import_result res;
	struct eg_site_rec s;
	double t0, t_dry, t_all;
	struct eg_err err;
	char *csv, name[32];
	unsigned i;

	assert_int_equal(eg_store_begin(fx->st, &err), 0);
	for (i = 0; i < SPEED_STORED; i++) {
		snprintf(name, sizeof(name), "old-%u", i);
		site_set(&s, name, EG_ID_FQDN, "x.example.com", "192.0.2.1",
			 PSK, strlen(PSK));
		snprintf(s.id_value, sizeof(s.id_value), "old%u.example.com",
			 i);
		s.source_ip = htonl(0xac100000 + i);	/* 172.16/12 */
		add(fx->st, &s);
	}
	assert_int_equal(eg_store_commit(fx->st, &err), 0);

	csv = malloc(size);
	assert_non_null(csv);
	o = snprintf(csv, size, HDR);
	for (i = 0; i < SPEED_ROWS; i++)
		o += snprintf(csv + o, size - o,
			      "site-%05u,%s%u%s,10.%u.%u.1,NYC1,ATL1;LON1,%s,"
			      "psk-%08x-%08x-%08x,%u,%s\n",
			      i, i % 3 ? "s" : "user", i,
			      i % 3 ? ".example.com" : "@example.com",
			      i >> 8, i & 255,
			      i % 2 ? "AES256-GCM" : "", i * 2654435761u,
			      i, ~i, i % 1000, i % 7 ? "true" : "false");

	t0 = now_s();
	assert_int_equal(import(fx->st, csv, o, true, &res, &err), 0);
	t_dry = now_s() - t0;
	assert_int_equal(res.rows, SPEED_ROWS);
	eg_import_result_free(&res);

	t0 = now_s();
	if (import(fx->st, csv, o, false, &res, &err)) {
		dump_errors(&res);
		fail_msg("import: %s", err.msg);
	}
	t_all = now_s() - t0;
	assert_int_equal(res.imported, SPEED_ROWS);
	eg_import_result_free(&res);
	assert_int_equal(eg_site_count(fx->st), SPEED_ROWS + SPEED_STORED);
	assert_int_equal(eg_site_get(fx->st, "site-09999", &s, &err), 0);
	assert_int_equal(s.id_type, EG_ID_EMAIL);
	assert_string_equal(s.id_value, "user9999@example.com");
	assert_string_equal(s.cipher, "AES256-GCM");
	assert_true(s.enabled);	/* 9999 % 7 != 0 */
	assert_string_equal(s.backup_pops[1], "LON1");
	eg_site_clear(&s);

	OPENSSL_cleanse(csv, o);
	free(csv);
	print_message("    %u rows (%zu bytes) into %u sites: check only %.3f s, check + insert %.3f s\n",
		      SPEED_ROWS, o, SPEED_STORED, t_dry, t_all);
	if (t_all >= 2.0 * SLOWER)
		fail_msg("import of %u rows took %.3f s, limit %.0f s", SPEED_ROWS,
			 t_all, 2.0 * SLOWER);
}

int main(void)
{
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_import_table),
		T(test_import_values),
		T(test_all_or_nothing),
		T(test_insert_failure_rolls_back),
		T(test_dry_run),
		T(test_error_cap),
		T(test_row_cap),
		T(test_limits),
		T(test_export_format),
		T(test_round_trip),
		T(test_foreach_added),
		T(test_speed),
	};

	return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
