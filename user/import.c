// SPDX-License-Identifier: GPL-2.0
/*
 * import.c - sites to and from CSV (see import.h for the format).
 *
 * An import reads the text twice. The first pass checks every row and keeps
 * no records, only the keys that must be unique (names, identities, source
 * IPs) with the line that used them first, so memory grows with the keys and
 * not with whole site records (about 1.4 KiB each). The second pass, run
 * only when the first found nothing wrong, reads the rows again and inserts
 * them in one transaction.
 *
 * A row is checked field by field, so that one run reports all its problems:
 * a field that does not parse gets its own message and a valid stand-in
 * value, then eg_site_validate() judges the whole record, so that the rules
 * and messages are those of the store. Conflicts with stored sites are
 * looked up one key at a time (three indexed lookups per row, none when the
 * store has no site), so the first pass only reads: a dry run writes
 * nothing and takes no write lock. eg_site_add() checks again inside the
 * transaction, which catches a change made between the two passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "csv.h"
#include "import.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define QUOTE_MAX	72	/* bytes of a value quoted in a message */
#define MSG_MAX		512

enum col {
	COL_NAME, COL_IDENT, COL_SRCIP, COL_PRIMARY, COL_FAILOVER, COL_CIPHER,
	COL_PSK, COL_BW, COL_ENABLED, COL__MAX
};

/* In export order, which is the cloud service's order. */
static const struct {
	const char *name;
	bool required;
} cols[COL__MAX] = {
	[COL_NAME]	= { "tunnel name", true },
	[COL_IDENT]	= { "source identity", true },
	[COL_SRCIP]	= { "source ip address", true },
	[COL_PRIMARY]	= { "primary pop", true },
	[COL_FAILOVER]	= { "failover pop", false },
	[COL_CIPHER]	= { "encryption cipher", false },
	[COL_PSK]	= { "psk", true },
	[COL_BW]	= { "maximum bandwidth", false },
	[COL_ENABLED]	= { "enabled", false },
};

static const char *const ciphers[] = EG_CIPHERS;

/* ---- a set of byte-string keys, each with the line that added it ---- */

struct kent {
	uint64_t hash;
	size_t off;		/* key bytes in the arena */
	uint32_t len;
	unsigned line;		/* 0: free slot */
};

struct kset {
	struct kent *tab;
	size_t cap, n;		/* cap is a power of two */
	char *arena;
	size_t alen, acap;
};

static uint64_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static struct kent *kset_slot(const struct kset *ks, const void *key,
			      size_t len, uint64_t h)
{
	size_t i = h & (ks->cap - 1);
	struct kent *e;

	for (;; i = (i + 1) & (ks->cap - 1)) {
		e = &ks->tab[i];
		if (!e->line)
			return e;
		if (e->hash == h && e->len == len &&
		    !memcmp(ks->arena + e->off, key, len))
			return e;
	}
}

static int kset_grow(struct kset *ks)
{
	size_t cap = ks->cap ? ks->cap * 2 : 1024, i;
	struct kent *old = ks->tab, *tab, *e;

	tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -ENOMEM;
	ks->tab = tab;
	for (i = 0; i < ks->cap; i++) {
		if (!old[i].line)
			continue;
		/* same arena, so a free slot is found by hash alone */
		for (e = &tab[old[i].hash & (cap - 1)]; e->line;
		     e = e == &tab[cap - 1] ? tab : e + 1)
			;
		*e = old[i];
	}
	free(old);
	ks->cap = cap;
	return 0;
}

/*
 * Add key unless present: 0 added, 1 present (*line = its line), -ENOMEM.
 * Keys are names and identities, never secrets.
 */
static int kset_add(struct kset *ks, const void *key, size_t len,
		    unsigned line, unsigned *prev)
{
	uint64_t h = hash_bytes(key, len);
	struct kent *e;
	size_t acap;
	char *a;
	int ret;

	if (ks->n * 2 >= ks->cap) {
		ret = kset_grow(ks);
		if (ret)
			return ret;
	}
	e = kset_slot(ks, key, len, h);
	if (e->line) {
		*prev = e->line;
		return 1;
	}
	if (ks->alen + len > ks->acap) {
		acap = ks->acap ? ks->acap : 4096;
		while (acap < ks->alen + len)
			acap *= 2;
		a = realloc(ks->arena, acap);
		if (!a)
			return -ENOMEM;
		ks->arena = a;
		ks->acap = acap;
	}
	memcpy(ks->arena + ks->alen, key, len);
	e->hash = h;
	e->off = ks->alen;
	e->len = len;
	e->line = line;
	ks->alen += len;
	ks->n++;
	return 0;
}

static bool kset_has(const struct kset *ks, const void *key, size_t len)
{
	return ks->cap && kset_slot(ks, key, len, hash_bytes(key, len))->line;
}

static void kset_free(struct kset *ks)
{
	free(ks->tab);
	free(ks->arena);
	memset(ks, 0, sizeof(*ks));
}

/* ---- import state and messages ---- */

struct imp {
	struct eg_store *st;
	struct eg_import_result *res;
	unsigned errs_cap;
	int fatal;		/* -errno of a failure that stops everything */
	struct eg_err fatal_err;
	int col[COL__MAX];	/* field index of each column, -1 absent */
	unsigned n_cols;	/* fields of each record */
	unsigned header_line;
	bool store_empty;	/* no stored site: no conflict to look up */
	bool inserting;		/* second pass: values known to be good */
	struct kset pops, names, idents, ips;
};

/*
 * Report a problem: "line N: ...". Only the first EG_IMPORT_MAX_ERRORS are
 * kept, unless must (the one that stops the reading).
 */
static void imp_verror(struct imp *im, bool must, unsigned line,
		       const char *fmt, va_list ap)
{
	struct eg_import_result *res = im->res;
	char msg[MSG_MAX], **e;
	unsigned cap;

	res->total_errors++;
	if ((!must && res->n_errors >= EG_IMPORT_MAX_ERRORS) || im->fatal)
		return;
	if (res->n_errors == im->errs_cap) {
		cap = im->errs_cap ? im->errs_cap * 2 : 16;
		/* room for the "... more" line too */
		e = realloc(res->errors, (cap + 1) * sizeof(*e));
		if (!e)
			goto nomem;
		res->errors = e;
		im->errs_cap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (asprintf(&res->errors[res->n_errors], "line %u: %s", line, msg) < 0)
		goto nomem;
	res->n_errors++;
	return;
nomem:
	im->fatal = eg_fail(&im->fatal_err, ENOMEM, "out of memory");
}

static void imp_error(struct imp *im, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void imp_error(struct imp *im, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	imp_verror(im, false, line, fmt, ap);
	va_end(ap);
}

static void imp_error_must(struct imp *im, unsigned line, const char *fmt,
			   ...) __attribute__((format(printf, 3, 4)));
static void imp_error_must(struct imp *im, unsigned line, const char *fmt,
			   ...)
{
	va_list ap;

	va_start(ap, fmt);
	imp_verror(im, true, line, fmt, ap);
	va_end(ap);
}

static void imp_fatal(struct imp *im, int ret, const struct eg_err *e)
{
	if (im->fatal)
		return;
	im->fatal = ret;
	im->fatal_err = *e;
}

/* "email:admin@abc.net", as the store names an identity. */
static const char *ident_str(enum eg_id_type t, const char *v, char *buf,
			     size_t size)
{
	char q[QUOTE_MAX];

	snprintf(buf, size, "%s:%s", eg_id_type_name(t),
		 eg_escape(q, sizeof(q), v));
	return buf;
}

static const char *ip_str(uint32_t be_addr, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = be_addr };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* ---- header ---- */

/* ASCII only: a locale must not change how a file is read. */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ascii_caseeq(const char *s, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!name[i] || ascii_lower(s[i]) != ascii_lower(name[i]))
			return false;
	return !name[len];
}

#define COLUMNS "tunnel name, source identity, source ip address, " \
		"primary pop, failover pop, encryption cipher, psk, " \
		"maximum bandwidth, enabled"

static int header_parse(struct imp *im, const struct eg_csv_reader *r)
{
	unsigned i, c, known = 0, n_missing = 0;
	unsigned line = r->rec_line, errs = im->res->total_errors;
	char q[QUOTE_MAX], missing[256];
	size_t o = 0;

	for (c = 0; c < COL__MAX; c++)
		im->col[c] = -1;
	im->n_cols = r->n_fields;
	for (i = 0; i < r->n_fields; i++)
		for (c = 0; c < COL__MAX; c++)
			if (ascii_caseeq(r->fields[i].s, r->fields[i].len,
					 cols[c].name))
				known++;
	if (!known) {
		/* most likely a data row: say what a header looks like */
		imp_error(im, line,
			  "header: no known column name; the first line must name the columns: " COLUMNS);
		return -EINVAL;
	}
	for (i = 0; i < r->n_fields; i++) {
		const struct eg_csv_field *f = &r->fields[i];

		for (c = 0; c < COL__MAX &&
		     !ascii_caseeq(f->s, f->len, cols[c].name); c++)
			;
		if (c == COL__MAX && !f->len)
			imp_error(im, line, "header: column %u has no name",
				  i + 1);
		else if (c == COL__MAX)
			imp_error(im, line,
				  "header: unknown column '%s' (expected: " COLUMNS ")",
				  eg_escape(q, sizeof(q), f->s));
		else if (im->col[c] >= 0)
			imp_error(im, line,
				  "header: duplicate column '%s' (columns %d and %u)",
				  cols[c].name, im->col[c] + 1, i + 1);
		else
			im->col[c] = i;
	}
	for (c = 0; c < COL__MAX; c++) {
		if (!cols[c].required || im->col[c] >= 0)
			continue;
		o += snprintf(missing + o, sizeof(missing) - o, "%s'%s'",
			      n_missing ? ", " : "", cols[c].name);
		n_missing++;
	}
	if (n_missing)
		imp_error(im, line, "header: missing column%s %s",
			  n_missing > 1 ? "s" : "", missing);
	return im->res->total_errors == errs ? 0 : -EINVAL;
}

/* ---- one row ---- */

static const struct eg_csv_field no_field = { .s = "", .len = 0 };

static const struct eg_csv_field *fld(const struct imp *im,
				      const struct eg_csv_reader *r,
				      enum col c)
{
	return im->col[c] >= 0 ? &r->fields[im->col[c]] : &no_field;
}

static bool all_empty(const struct eg_csv_reader *r)
{
	unsigned i;

	for (i = 0; i < r->n_fields; i++)
		if (r->fields[i].len)
			return false;
	return true;
}

/* A name column (site, POP) that must fit EG_NAME_MAX. */
static int name_fits(struct imp *im, unsigned line, const char *what,
		     const char *s, size_t len)
{
	char q[QUOTE_MAX], shown[EG_NAME_MAX + 1];

	if (len <= EG_NAME_MAX)
		return 0;
	memcpy(shown, s, EG_NAME_MAX);
	shown[EG_NAME_MAX] = '\0';
	imp_error(im, line, "%s '%s' is too long: more than %d bytes", what,
		  eg_escape(q, 40, shown), EG_NAME_MAX);
	return -EINVAL;
}

static int pop_known(struct imp *im, unsigned line, const char *name,
		     size_t len, const char *role)
{
	char q[QUOTE_MAX], shown[EG_NAME_MAX + 1];

	if (im->inserting || kset_has(&im->pops, name, len))
		return 0;
	memcpy(shown, name, len);
	shown[len] = '\0';
	imp_error(im, line, "unknown POP '%s'%s", eg_escape(q, sizeof(q), shown),
		  role);
	return -EINVAL;
}

/* "ATL1;LON1" (or '|'): backup POPs in preference order. */
static int backups_parse(struct imp *im, unsigned line,
			 const struct eg_csv_field *f, struct eg_site_rec *s)
{
	const char *p = f->s, *end = f->s + f->len, *a, *b;
	char q[QUOTE_MAX];
	unsigned n = 0, i;
	int ret = 0;

	if (!f->len)
		return 0;
	for (a = p; a <= end; a++)
		if (a == end || *a == ';' || *a == '|')
			n++;
	if (n > EG_MAX_BACKUP_POPS) {
		imp_error(im, line, "too many backup POPs: %u, at most %d", n,
			  EG_MAX_BACKUP_POPS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		for (b = p; b < end && *b != ';' && *b != '|'; b++)
			;
		for (a = p; a < b && (*a == ' ' || *a == '\t'); a++)
			;
		p = b + 1;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b) {
			imp_error(im, line,
				  "failover pop '%s' has an empty POP name (separate names with ';')",
				  eg_escape(q, sizeof(q), f->s));
			ret = -EINVAL;
			continue;
		}
		if (name_fits(im, line, "backup POP name", a, b - a) ||
		    pop_known(im, line, a, b - a, " in backup POPs")) {
			ret = -EINVAL;
			continue;
		}
		memcpy(s->backup_pops[i], a, b - a);
		s->backup_pops[i][b - a] = '\0';
	}
	if (!ret)
		s->n_backup_pops = n;
	return ret;
}

static enum eg_id_type ident_type(const char *v)
{
	uint32_t a;

	if (!eg_ipv4_parse(v, &a))
		return EG_ID_IPV4;
	return strchr(v, '@') ? EG_ID_EMAIL : EG_ID_FQDN;
}

static int cipher_parse(struct imp *im, unsigned line, const char *v,
			struct eg_site_rec *s)
{
	const char *name = eg_cipher_name(v);	/* "" (any) for "" */
	char q[QUOTE_MAX], list[128];
	size_t o = 0;
	unsigned i;

	if (name) {
		snprintf(s->cipher, sizeof(s->cipher), "%s", name);
		return 0;
	}
	/* the store's wording (cipher_validate() in validate.c) */
	for (i = 0; ciphers[i] && o < sizeof(list); i++)
		o += snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
			      ciphers[i]);
	imp_error(im, line,
		  "encryption cipher '%s' is not supported; use one of %s, or leave it empty for any but NULL",
		  eg_escape(q, sizeof(q), v), list);
	return -EINVAL;
}

static int bw_parse(struct imp *im, unsigned line, const char *v,
		    struct eg_site_rec *s)
{
	char q[QUOTE_MAX];
	uint64_t n = 0;
	const char *p;

	for (p = v; *p >= '0' && *p <= '9' && n <= UINT32_MAX; p++)
		n = n * 10 + (*p - '0');
	if (!*p && n <= UINT32_MAX) {
		s->max_bw_mbps = n;	/* empty: 0, no limit */
		return 0;
	}
	imp_error(im, line,
		  "maximum bandwidth '%s' is not a whole number of Mbps from 0 to %u (empty or 0: no limit)",
		  eg_escape(q, sizeof(q), v), UINT32_MAX);
	return -EINVAL;
}

static int enabled_parse(struct imp *im, unsigned line, const char *v,
			 struct eg_site_rec *s)
{
	static const char *const yes[] = { "", "true", "yes", "1" };
	static const char *const no[] = { "false", "no", "0" };
	char q[QUOTE_MAX];
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (ascii_caseeq(v, strlen(v), yes[i])) {
			s->enabled = true;
			return 0;
		}
	}
	for (i = 0; i < ARRAY_SIZE(no); i++) {
		if (ascii_caseeq(v, strlen(v), no[i])) {
			s->enabled = false;
			return 0;
		}
	}
	imp_error(im, line,
		  "enabled '%s' is not one of true, false, yes, no, 1, 0 (empty: true)",
		  eg_escape(q, sizeof(q), v));
	return -EINVAL;
}

/* Stand-ins for fields that failed, valid so that validation goes on. */
#define STANDIN_NAME	"x"
#define STANDIN_IDENT	"standin.invalid"
#define STANDIN_IP	htonl(0xc0000201)	/* 192.0.2.1 */
#define STANDIN_POP	"x"

enum { KEY_NAME = 1, KEY_IDENT = 2, KEY_IP = 4 };

/*
 * Fill s from the record in r. Returns the number of problems reported;
 * *keys says which of name, identity and source ip hold the file's values
 * (for the duplicate checks).
 */
static unsigned row_parse(struct imp *im, const struct eg_csv_reader *r,
			  struct eg_site_rec *s, unsigned *keys)
{
	unsigned line = r->rec_line, errs = im->res->total_errors;
	const struct eg_csv_field *f;
	bool primary_ok = false;
	struct eg_err e;

	eg_site_clear(s);
	*keys = 0;
	s->traffic = EG_TT_USER;
	s->license = EG_LIC_WEB_GATEWAY;

	f = fld(im, r, COL_NAME);
	if (!name_fits(im, line, "site name", f->s, f->len)) {
		memcpy(s->name, f->s, f->len + 1);
		*keys |= f->len ? KEY_NAME : 0;
	} else {
		strcpy(s->name, STANDIN_NAME);
	}

	f = fld(im, r, COL_IDENT);
	s->id_type = ident_type(f->s);
	if (!eg_ident_validate(s->id_type, f->s, &e)) {
		memcpy(s->id_value, f->s, f->len + 1);
		*keys |= KEY_IDENT;
	} else {
		imp_error(im, line, "%s", e.msg);
		s->id_type = EG_ID_FQDN;
		strcpy(s->id_value, STANDIN_IDENT);
	}

	f = fld(im, r, COL_SRCIP);
	if (!f->len) {
		imp_error(im, line, "source ip is empty");
		s->source_ip = STANDIN_IP;
	} else if (eg_ipv4_parse_field("source ip", f->s, &s->source_ip, &e)) {
		imp_error(im, line, "%s", e.msg);
		s->source_ip = STANDIN_IP;
	} else {
		*keys |= KEY_IP;
	}

	f = fld(im, r, COL_PRIMARY);
	if (!f->len)
		imp_error(im, line, "primary POP is not set");
	else if (!name_fits(im, line, "primary POP name", f->s, f->len) &&
		 !pop_known(im, line, f->s, f->len, ""))
		primary_ok = true;
	if (primary_ok)
		memcpy(s->primary_pop, f->s, f->len + 1);
	else
		strcpy(s->primary_pop, STANDIN_POP);

	/* backups are only judged against a real primary */
	if (backups_parse(im, line, fld(im, r, COL_FAILOVER), s) ||
	    !primary_ok)
		s->n_backup_pops = 0;

	cipher_parse(im, line, fld(im, r, COL_CIPHER)->s, s);

	f = fld(im, r, COL_PSK);
	if (f->len && f->len <= EG_PSK_MAX) {
		memcpy(s->psk, f->s, f->len);
		s->psk_len = f->len;
	} else {
		if (!f->len)
			imp_error(im, line,
				  "PSK is empty: at least %d bytes required",
				  EG_PSK_MIN);
		else
			imp_error(im, line,
				  "PSK too long: %zu bytes, at most %d allowed",
				  f->len, EG_PSK_MAX);
		memset(s->psk, 'x', EG_PSK_MIN);
		s->psk_len = EG_PSK_MIN;
	}

	bw_parse(im, line, fld(im, r, COL_BW)->s, s);
	enabled_parse(im, line, fld(im, r, COL_ENABLED)->s, s);

	/* the store's own rules, on the values that parsed */
	if (!im->inserting && eg_site_validate(s, &e))
		imp_error(im, line, "%s", e.msg);
	return im->res->total_errors - errs;
}

/* Lowercased identity with its type: the store's uniqueness rule. */
static size_t ident_key(const struct eg_site_rec *s, char *key)
{
	size_t i, n = strlen(s->id_value);

	key[0] = (char)s->id_type;
	for (i = 0; i < n; i++)
		key[i + 1] = ascii_lower(s->id_value[i]);
	return n + 1;
}

/* Names, identities and source IPs used twice, or used by a stored site. */
static void row_keys(struct imp *im, unsigned line, struct eg_site_rec *s,
		     unsigned keys)
{
	char q[QUOTE_MAX], id[QUOTE_MAX + 8], a[INET_ADDRSTRLEN];
	char key[EG_IDENT_MAX + 2];
	struct eg_site_rec other;
	unsigned prev;
	struct eg_err e;
	int ret;

	if (keys & KEY_NAME) {
		ret = kset_add(&im->names, s->name, strlen(s->name), line,
			       &prev);
		if (ret > 0)
			imp_error(im, line, "site name '%s' is also on line %u",
				  eg_escape(q, sizeof(q), s->name), prev);
		else if (ret < 0)
			goto nomem;
		ret = im->store_empty ? -ENOENT :
		      eg_site_get(im->st, s->name, &other, &e);
		if (!ret)
			imp_error(im, line, "site name '%s' already exists",
				  eg_escape(q, sizeof(q), s->name));
		else if (ret != -ENOENT)
			imp_fatal(im, ret, &e);
		eg_site_clear(&other);
	}
	if (keys & KEY_IDENT) {
		ident_str(s->id_type, s->id_value, id, sizeof(id));
		ret = kset_add(&im->idents, key, ident_key(s, key), line,
			       &prev);
		if (ret > 0)
			imp_error(im, line, "source identity %s is also on line %u",
				  id, prev);
		else if (ret < 0)
			goto nomem;
		ret = im->store_empty ? -ENOENT :
		      eg_site_find_ident(im->st, s->id_type, s->id_value,
					 &other, &e);
		if (!ret)
			imp_error(im, line,
				  "source identity %s is already used by site '%s'",
				  id, other.name);
		else if (ret != -ENOENT)
			imp_fatal(im, ret, &e);
		eg_site_clear(&other);
	}
	if (keys & KEY_IP) {
		ip_str(s->source_ip, a);
		ret = kset_add(&im->ips, &s->source_ip, sizeof(s->source_ip),
			       line, &prev);
		if (ret > 0)
			imp_error(im, line, "source ip %s is also on line %u", a,
				  prev);
		else if (ret < 0)
			goto nomem;
		ret = im->store_empty ? -ENOENT :
		      eg_site_find_source_ip(im->st, s->source_ip, &other, &e);
		if (!ret)
			imp_error(im, line,
				  "source ip %s is already used by site '%s'", a,
				  other.name);
		else if (ret != -ENOENT)
			imp_fatal(im, ret, &e);
		eg_site_clear(&other);
	}
	return;
nomem:
	im->fatal = im->fatal ?: eg_fail(&im->fatal_err, ENOMEM,
					 "out of memory");
}

/* ---- the two passes ---- */

static int pop_collect(const struct eg_pop_rec *p, void *arg)
{
	unsigned prev;

	return kset_add(arg, p->name, strlen(p->name), 1, &prev) < 0 ?
	       -ENOMEM : 0;
}

/*
 * Read up to the header; 1 when it is good and r is at the first row,
 * 0 when there were errors (reported), -errno on failure.
 */
static int header_read(struct imp *im, struct eg_csv_reader *r)
{
	struct eg_err e;
	int ret;

	ret = eg_csv_next(r, &e);
	if (ret == 0) {
		imp_error(im, 1,
			  "no header: the first line must name the columns: " COLUMNS);
		return 0;
	}
	if (ret == -EINVAL) {
		imp_error(im, r->rec_line, "header: %s", e.msg);
		return 0;
	}
	if (ret < 0)
		return ret;
	return header_parse(im, r) ? 0 : 1;
}

static int pass_check(struct imp *im, const char *csv, size_t len)
{
	struct eg_import_result *res = im->res;
	struct eg_csv_reader r;
	struct eg_site_rec s;
	unsigned keys;
	struct eg_err e;
	int64_t n;
	int ret;

	ret = eg_pop_foreach(im->st, pop_collect, &im->pops, &e);
	if (ret) {
		imp_fatal(im, ret, &e);
		return ret;
	}
	n = eg_site_count(im->st);
	if (n < 0) {
		ret = eg_fail(&e, (int)-n, "counting sites: %s",
			      strerror((int)-n));
		imp_fatal(im, ret, &e);
		return ret;
	}
	im->store_empty = !n;

	eg_csv_reader_init(&r, csv, len);
	r.field_max = EG_IMPORT_FIELD_MAX;
	ret = header_read(im, &r);
	if (ret <= 0)
		goto out;
	while (!im->fatal) {
		ret = eg_csv_next(&r, &e);
		if (!ret)
			break;
		if (ret == -EINVAL) {
			res->rows++;
			imp_error(im, r.rec_line, "%s", e.msg);
			continue;
		}
		if (ret < 0)
			goto out;
		if (all_empty(&r))
			continue;
		if (++res->rows > EG_IMPORT_MAX_ROWS) {
			res->rows--;
			imp_error_must(im, r.rec_line,
				  "more than %u rows; split the file",
				  EG_IMPORT_MAX_ROWS);
			break;
		}
		if (r.n_fields != im->n_cols) {
			imp_error(im, r.rec_line,
				  "%u field%s, but the header has %u columns",
				  r.n_fields, r.n_fields == 1 ? "" : "s",
				  im->n_cols);
			continue;
		}
		row_parse(im, &r, &s, &keys);
		row_keys(im, r.rec_line, &s, keys);
		eg_site_clear(&s);
	}
	ret = 0;
out:
	eg_csv_reader_free(&r);
	if (ret < 0 && !im->fatal)
		im->fatal = eg_fail(&im->fatal_err, -ret, "reading the CSV: %s",
				    strerror(-ret));
	return im->fatal;
}

/* Insert every row in one transaction; rows were checked by pass_check(). */
static int pass_insert(struct imp *im, const char *csv, size_t len)
{
	struct eg_import_result *res = im->res;
	struct eg_csv_reader r;
	struct eg_site_rec s;
	unsigned keys, n = 0;
	struct eg_err e;
	int ret;

	res->ids = calloc(res->rows ? res->rows : 1, sizeof(*res->ids));
	if (!res->ids)
		return im->fatal = eg_fail(&im->fatal_err, ENOMEM,
					   "out of memory");
	ret = eg_store_begin(im->st, &e);
	if (ret) {
		imp_fatal(im, ret, &e);
		return ret;
	}
	im->inserting = true;
	eg_csv_reader_init(&r, csv, len);
	r.field_max = EG_IMPORT_FIELD_MAX;
	ret = header_read(im, &r);
	while (ret > 0 && !im->fatal) {
		ret = eg_csv_next(&r, &e);
		if (ret <= 0)
			break;
		if (all_empty(&r))
			continue;
		if (n == res->rows || r.n_fields != im->n_cols ||
		    row_parse(im, &r, &s, &keys)) {
			/* pass_check() passed this very text */
			ret = eg_fail(&e, EIO, "CSV changed during the import");
			imp_fatal(im, ret, &e);
			break;
		}
		ret = eg_site_add(im->st, &s, &e);
		if (!ret)
			res->ids[n++] = s.id;
		else if (ret == -EEXIST || ret == -ENOENT || ret == -EINVAL)
			/* a concurrent change; the batch goes on */
			imp_error(im, r.rec_line, "%s", e.msg);
		else
			imp_fatal(im, ret, &e);
		eg_site_clear(&s);
		ret = 1;
	}
	eg_csv_reader_free(&r);
	if (ret < 0 && !im->fatal)
		im->fatal = eg_fail(&im->fatal_err, -ret, "reading the CSV: %s",
				    strerror(-ret));
	if (im->fatal || res->total_errors) {
		eg_store_rollback(im->st);
		return im->fatal;
	}
	ret = eg_store_commit(im->st, &e);
	if (ret) {
		imp_fatal(im, ret, &e);
		return ret;
	}
	res->imported = n;
	return 0;
}

int eg_site_import_csv(struct eg_store *st, const char *csv, size_t len,
		       bool dry_run, struct eg_import_result *res,
		       struct eg_err *err)
{
	struct imp im = { .st = st, .res = res };
	int ret;

	memset(res, 0, sizeof(*res));
	if (len > EG_IMPORT_MAX_BYTES)
		return eg_fail(err, EFBIG,
			       "CSV is %zu bytes, at most %u: split the file",
			       len, EG_IMPORT_MAX_BYTES);
	ret = pass_check(&im, csv, len);
	if (!ret && !res->total_errors && !dry_run)
		ret = pass_insert(&im, csv, len);
	if (ret) {
		if (err)
			*err = im.fatal_err;
		goto out;
	}
	if (res->total_errors) {
		ret = eg_fail(err, EINVAL,
			      "%u error%s in the CSV; nothing was imported",
			      res->total_errors,
			      res->total_errors == 1 ? "" : "s");
		if (res->total_errors > res->n_errors &&
		    asprintf(&res->errors[res->n_errors],
			     "... and %u more errors",
			     res->total_errors - res->n_errors) >= 0)
			res->n_errors++;
	}
out:
	kset_free(&im.pops);
	kset_free(&im.names);
	kset_free(&im.idents);
	kset_free(&im.ips);
	if (ret) {
		free(res->ids);
		res->ids = NULL;
		res->imported = 0;
	}
	return ret;
}

void eg_import_result_free(struct eg_import_result *res)
{
	unsigned i;

	for (i = 0; i < res->n_errors; i++)
		free(res->errors[i]);
	free(res->errors);
	free(res->ids);
	memset(res, 0, sizeof(*res));
}

int eg_import_foreach_added(struct eg_store *st,
			    const struct eg_import_result *res,
			    eg_site_cb cb, void *arg, struct eg_err *err)
{
	struct eg_site_rec s;
	unsigned i;
	int ret = 0;

	for (i = 0; i < res->imported && !ret; i++) {
		ret = eg_site_get_by_id(st, res->ids[i], &s, err);
		if (!ret)
			ret = cb(&s, arg);
		eg_site_clear(&s);
	}
	return ret;
}

/* ---- export ---- */

struct exp {
	struct eg_csv_writer w;
	struct eg_store *st;
	bool with_psk;
	struct eg_err *err;
};

static int export_row(const struct eg_site_rec *s, void *arg)
{
	struct exp *x = arg;
	char a[INET_ADDRSTRLEN], bw[16];
	char backups[EG_MAX_BACKUP_POPS * (EG_NAME_MAX + 1) + 1];
	size_t o = 0;
	unsigned i;

	for (i = 0; i < s->n_backup_pops && i < EG_MAX_BACKUP_POPS; i++)
		o += snprintf(backups + o, sizeof(backups) - o, "%s%s",
			      i ? ";" : "", s->backup_pops[i]);
	backups[o] = '\0';
	if (s->max_bw_mbps)
		snprintf(bw, sizeof(bw), "%u", s->max_bw_mbps);
	else
		bw[0] = '\0';
	uint8_t psk[EG_PSK_MAX];
	size_t psk_len = 0;
	int ret;

	if (x->with_psk) {
		/* PSKs are kept apart in the store and read one at a time */
		ret = eg_site_psk_get(x->st, s->id, psk, &psk_len, x->err);
		if (ret)
			return ret;
		if (memchr(psk, '\0', psk_len)) {
			OPENSSL_cleanse(psk, sizeof(psk));
			return eg_fail(x->err, EINVAL,
				       "site '%s': its PSK holds a NUL byte and cannot be written as CSV text",
				       s->name);
		}
	}
	eg_csv_put_str(&x->w, s->name);
	eg_csv_put_str(&x->w, s->id_value);
	eg_csv_put_str(&x->w, ip_str(s->source_ip, a));
	eg_csv_put_str(&x->w, s->primary_pop);
	eg_csv_put_str(&x->w, backups);
	eg_csv_put_str(&x->w, s->cipher);
	eg_csv_put(&x->w, (const char *)psk, psk_len);
	OPENSSL_cleanse(psk, sizeof(psk));
	eg_csv_put_str(&x->w, bw);
	eg_csv_put_str(&x->w, s->enabled ? "true" : "false");
	if (eg_csv_end(&x->w))
		return eg_fail(x->err, ENOMEM, "out of memory");
	return 0;
}

int eg_site_export_csv(struct eg_store *st, char **out, size_t *len,
		       bool with_psk, struct eg_err *err)
{
	struct exp x = { .st = st, .with_psk = with_psk, .err = err };
	unsigned c;
	int ret;

	*out = NULL;
	*len = 0;
	eg_csv_writer_init(&x.w);
	for (c = 0; c < COL__MAX; c++)
		eg_csv_put_str(&x.w, cols[c].name);
	if (eg_csv_end(&x.w)) {
		ret = eg_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	ret = eg_site_foreach(st, export_row, &x, err);
	if (ret)
		goto out;
	ret = eg_csv_take(&x.w, out, len);
	if (ret)
		eg_fail(err, -ret, "out of memory");
out:
	eg_csv_writer_free(&x.w);
	return ret;
}

void eg_site_export_free(char *out, size_t len)
{
	eg_csv_text_free(out, len);
}
