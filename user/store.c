// SPDX-License-Identifier: GPL-2.0
/*
 * store.c - the site and POP database (SQLite).
 *
 * One connection per struct eg_store, used by one thread at a time. The file
 * is in WAL mode with synchronous=FULL, so a call that returned 0 survives a
 * crash of the process or of the machine. Writes outside a batch are one
 * transaction each (BEGIN IMMEDIATE .. COMMIT); inside a batch each call is a
 * savepoint, so a failed call leaves no trace and the batch can go on.
 *
 * C code validates first so that the operator gets a precise message; the
 * schema repeats every rule it can express (CHECK, UNIQUE, FOREIGN KEY,
 * triggers) so that a bug or a hand-edited database cannot store a site the
 * data path would choke on. All SQL is static, or for the site list joined
 * from static fragments, and takes values through bound parameters only.
 *
 * PSKs are bound with SQLITE_STATIC (no copy on our side) and copied out only
 * into the caller's record. SQLite's page cache still holds them; the file is
 * created 0600 and secure_delete overwrites deleted rows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "store.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define EG_BUSY_TIMEOUT_MS	5000
#define QUOTE_MAX		72

/* Name rules of validate.c, for CHECK constraints (names are ASCII). */
#define NAME_CHECK(c)							\
	"length(" c ") BETWEEN 1 AND 64"				\
	" AND " c " NOT GLOB '*[^A-Za-z0-9._ -]*'"			\
	" AND " c " NOT LIKE ' %' AND " c " NOT LIKE '% '"
/* Host-order IPv4 that may be a peer address: not 0/8, 224/4, broadcast. */
#define UNICAST_CHECK(c)						\
	c " BETWEEN 16777216 AND 4294967294"				\
	" AND " c " NOT BETWEEN 3758096384 AND 4026531839"
#define NOT_LOOPBACK_CHECK(c)						\
	c " NOT BETWEEN 2130706432 AND 2147483647"

/*
 * Schema version 1. IPv4 addresses are INTEGER in host order, so that the
 * range checks above are plain comparisons. Identity values collate NOCASE:
 * "Branch.Example.COM" and "branch.example.com" are the same IKE peer.
 * At most 9 distinct backup POPs per site follows from pref 1..9 with
 * UNIQUE (site_id, pref) and the primary key. Two rules span rows and are
 * left to eg_site_validate(): a backup POP is not the primary, and a site
 * has at most 32 ports. As triggers they made a bulk import ~40% slower.
 */
static const char schema_v1[] =
	"CREATE TABLE pops ("
	" id		INTEGER PRIMARY KEY,"
	" name		TEXT NOT NULL UNIQUE CHECK (" NAME_CHECK("name") "),"
	" gateway_ip	INTEGER NOT NULL CHECK (" UNICAST_CHECK("gateway_ip") "),"
	" probe_ip	INTEGER NOT NULL CHECK (" UNICAST_CHECK("probe_ip") "),"
	" location	TEXT NOT NULL DEFAULT '' CHECK ("
	"   length(CAST(location AS BLOB)) <= 64"
	"   AND location NOT GLOB '*[' || char(1) || '-' || char(31) ||"
	"                         char(127) || ']*'),"
	" accepting	INTEGER NOT NULL DEFAULT 1 CHECK (accepting IN (0, 1)),"
	" created	INTEGER NOT NULL CHECK (created >= 0),"
	" updated	INTEGER NOT NULL CHECK (updated >= 0)"
	") STRICT;"

	"CREATE TABLE sites ("
	" id		INTEGER PRIMARY KEY,"
	" name		TEXT NOT NULL UNIQUE CHECK (" NAME_CHECK("name") "),"
	" id_type	TEXT NOT NULL CHECK (id_type IN ('ipv4', 'fqdn', 'email')),"
	" id_value	TEXT NOT NULL COLLATE NOCASE CHECK ("
	"   length(id_value) BETWEEN 1 AND 255"
	"   AND id_value NOT GLOB '*[^!-~]*'),"
	" source_ip	INTEGER NOT NULL UNIQUE CHECK (" UNICAST_CHECK("source_ip")
	"   AND " NOT_LOOPBACK_CHECK("source_ip") "),"
	" psk		BLOB NOT NULL CHECK (length(psk) BETWEEN 16 AND 128),"
	" primary_pop	INTEGER NOT NULL REFERENCES pops (id) ON DELETE RESTRICT,"
	" traffic_type	TEXT NOT NULL CHECK (traffic_type IN"
	"   ('user', 'iot', 'mixed', 'machine', 'guest-wifi')),"
	" license	TEXT NOT NULL CHECK (license IN"
	"   ('web-gateway', 'cloud-firewall')),"
	" max_bw_mbps	INTEGER NOT NULL DEFAULT 0 CHECK ("
	"   max_bw_mbps BETWEEN 0 AND 4294967295),"
	" enabled	INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
	" created	INTEGER NOT NULL CHECK (created >= 0),"
	" updated	INTEGER NOT NULL CHECK (updated >= 0),"
	/* value first: the index also serves searches by value alone */
	" UNIQUE (id_value, id_type)"
	") STRICT;"
	/* name, identity and source_ip are indexed by their UNIQUE */
	"CREATE INDEX sites_enabled ON sites (enabled, name);"
	"CREATE INDEX sites_primary_pop ON sites (primary_pop, name);"
	"CREATE INDEX sites_traffic ON sites (traffic_type, name);"

	"CREATE TABLE site_backup_pops ("
	" site_id	INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,"
	" pop_id	INTEGER NOT NULL REFERENCES pops (id) ON DELETE RESTRICT,"
	" pref		INTEGER NOT NULL CHECK (pref BETWEEN 1 AND 9),"
	" PRIMARY KEY (site_id, pop_id),"
	" UNIQUE (site_id, pref)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX site_backup_pops_pop ON site_backup_pops (pop_id);"

	"CREATE TABLE site_ports ("
	" site_id	INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,"
	" port		INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
	" PRIMARY KEY (site_id, port)"
	") STRICT, WITHOUT ROWID;";

/*
 * Schema version 2: the CSV's encryption cipher (canonical spelling, '' =
 * any) and the data-path status that ipsecd writes on transitions;
 * status_since 0 means no transition recorded yet (every row migrated from
 * v1 and every new site until ipsecd sees it).
 *
 * Indexes for the site list (eg_site_query): each is ordered by name
 * ignoring case, then id, a total order, so that pages neither repeat nor
 * skip a site; each carries the columns the filters test, so that no scan
 * reads the table. sites_by_status and sites_by_traffic serve an equality
 * filter; sites_by_name serves everything else and alone carries the
 * identity, for its substring filter. They replace v1's sites_enabled and
 * sites_traffic, which sort by exact name. sites_primary_pop stays: the
 * foreign key and POP deletion look sites up by it.
 *
 * A CHECK cannot be altered in place in SQLite: a new cipher means a new
 * migration that rebuilds the table.
 */
static const char schema_v2[] =
	"ALTER TABLE sites ADD COLUMN cipher TEXT NOT NULL DEFAULT '' CHECK ("
	"   cipher IN ('', 'AES128-CBC', 'AES192-CBC', 'AES256-CBC',"
	"   'AES128-GCM', 'AES192-GCM', 'AES256-GCM'));"
	"ALTER TABLE sites ADD COLUMN up INTEGER NOT NULL DEFAULT 0"
	" CHECK (up IN (0, 1));"
	"ALTER TABLE sites ADD COLUMN status_since INTEGER NOT NULL DEFAULT 0"
	" CHECK (status_since >= 0);"
	"DROP INDEX sites_enabled;"
	"DROP INDEX sites_traffic;"
	"CREATE INDEX sites_by_name ON sites (name COLLATE NOCASE, id,"
	" enabled, up, traffic_type, primary_pop, id_value);"
	"CREATE INDEX sites_by_status ON sites (enabled, name COLLATE NOCASE,"
	" id, up, traffic_type, primary_pop);"
	"CREATE INDEX sites_by_traffic ON sites (traffic_type,"
	" name COLLATE NOCASE, id, enabled, up, primary_pop);";

/*
 * Schema version 3: per-site limits of the inner (TC) program; 0 means
 * the gateway's default (ipsecd --flow-cap / --device-cap).
 */
static const char schema_v3[] =
	"ALTER TABLE sites ADD COLUMN flow_cap INTEGER NOT NULL DEFAULT 0"
	" CHECK (flow_cap BETWEEN 0 AND 1000000);"
	"ALTER TABLE sites ADD COLUMN device_cap INTEGER NOT NULL DEFAULT 0"
	" CHECK (device_cap BETWEEN 0 AND 1000000);";

/*
 * Schema version 4:
 *  - PSKs move to a table of their own, read only when a site
 *    authenticates (eg_site_psk_get()): listing or scanning sites no
 *    longer pulls every PSK into SQLite's page cache;
 *  - the cipher may be 'NULL' (ESP without encryption, only when a site
 *    names it): the column is rebuilt, as its CHECK cannot be altered;
 *  - the site's LAN prefixes ('' = the private ranges) and its lifetimes
 *    and DPD times in seconds (0 = the gateway's default).
 * ALTER TABLE DROP COLUMN rewrites rows without firing foreign keys.
 */
static const char schema_v4[] =
	"CREATE TABLE site_psks ("
	" site_id	INTEGER PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,"
	" psk		BLOB NOT NULL CHECK (length(psk) BETWEEN 16 AND 128)"
	") STRICT;"
	"INSERT INTO site_psks (site_id, psk) SELECT id, psk FROM sites;"
	"ALTER TABLE sites DROP COLUMN psk;"
	"ALTER TABLE sites ADD COLUMN cipher_v4 TEXT NOT NULL DEFAULT '' CHECK ("
	"   cipher_v4 IN ('', 'AES128-CBC', 'AES192-CBC', 'AES256-CBC',"
	"   'AES128-GCM', 'AES192-GCM', 'AES256-GCM', 'NULL'));"
	"UPDATE sites SET cipher_v4 = cipher;"
	"ALTER TABLE sites DROP COLUMN cipher;"
	"ALTER TABLE sites RENAME COLUMN cipher_v4 TO cipher;"
	"ALTER TABLE sites ADD COLUMN lan TEXT NOT NULL DEFAULT '' CHECK ("
	"   length(lan) <= 160 AND lan NOT GLOB '*[^0-9./,]*');"
	"ALTER TABLE sites ADD COLUMN ike_lifetime INTEGER NOT NULL DEFAULT 0"
	" CHECK (ike_lifetime = 0 OR ike_lifetime BETWEEN 10 AND 604800);"
	"ALTER TABLE sites ADD COLUMN child_lifetime INTEGER NOT NULL DEFAULT 0"
	" CHECK (child_lifetime = 0 OR child_lifetime BETWEEN 10 AND 604800);"
	"ALTER TABLE sites ADD COLUMN dpd_delay INTEGER NOT NULL DEFAULT 0"
	" CHECK (dpd_delay BETWEEN 0 AND 86400);"
	"ALTER TABLE sites ADD COLUMN dpd_timeout INTEGER NOT NULL DEFAULT 0"
	" CHECK (dpd_timeout BETWEEN 0 AND 86400);";

/*
 * v5: the IKE SAs that a restart resumes (ike_persist.c's records, keys
 * included: the file is 0600 and secure_delete overwrites what goes), by
 * our SPI; saved_at is the wall clock in ms. A site's go with it.
 */
static const char schema_v5[] =
	"CREATE TABLE ike_sas ("
	" spi		BLOB PRIMARY KEY CHECK (length(spi) = 8),"
	" site_id	INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,"
	" saved_at	INTEGER NOT NULL,"
	" rec		BLOB NOT NULL CHECK (length(rec) BETWEEN 1 AND 12288)"
	") STRICT;"
	"CREATE INDEX ike_sas_site ON ike_sas (site_id);";

/* v6: downstream health checks (health.c), by name. */
static const char schema_v6[] =
	"CREATE TABLE health_checks ("
	" id		INTEGER PRIMARY KEY,"
	" name		TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	" pop		TEXT NOT NULL DEFAULT '',"
	" service	TEXT NOT NULL CHECK (service IN ('web-gateway', 'cloud-firewall')),"
	" kind		TEXT NOT NULL CHECK (kind IN ('tcp', 'http')),"
	" addr		INTEGER NOT NULL,"
	" port		INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
	" path		TEXT NOT NULL DEFAULT '/',"
	" expect	INTEGER NOT NULL DEFAULT 200 CHECK (expect BETWEEN 100 AND 599),"
	" interval_s	INTEGER NOT NULL CHECK (interval_s BETWEEN 1 AND 3600),"
	" timeout_s	INTEGER NOT NULL CHECK (timeout_s BETWEEN 1 AND 60),"
	" rise		INTEGER NOT NULL CHECK (rise BETWEEN 1 AND 100),"
	" fall		INTEGER NOT NULL CHECK (fall BETWEEN 1 AND 100)"
	") STRICT;";

/* Version i + 1 is reached by applying migrations[i]. Append, never edit. */
static const struct eg_migration migrations[] = {
	{ .sql = schema_v1 },
	{ .sql = schema_v2 },
	{ .sql = schema_v3 },
	{ .sql = schema_v4 },
	{ .sql = schema_v5 },
	{ .sql = schema_v6 },
};

_Static_assert(ARRAY_SIZE(migrations) == EG_STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

#define SITE_COLS							\
	"s.id, s.name, s.id_type, s.id_value, s.source_ip, s.lan, p.name,"	\
	" s.traffic_type, s.license, s.max_bw_mbps, s.enabled, s.created,"	\
	" s.updated, s.cipher, s.up, s.status_since, s.flow_cap,"		\
	" s.device_cap, s.ike_lifetime, s.child_lifetime, s.dpd_delay,"		\
	" s.dpd_timeout"							\
	" FROM sites s JOIN pops p ON p.id = s.primary_pop"
/* ?1 of the page queries: a JSON array of site ids */
#define PAGE_IDS	" IN (SELECT value FROM json_each(?1))"
#define POP_COLS							\
	"id, name, gateway_ip, probe_ip, location, accepting, created, updated"	\
	" FROM pops"

enum stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_SITE_CONFLICTS, ST_SITE_EXISTS, ST_SITE_INSERT, ST_SITE_UPDATE,
	ST_SITE_BY_NAME, ST_SITE_BY_ID, ST_SITE_BY_IDENT, ST_SITE_BY_IP,
	ST_SITE_DELETE, ST_SITE_DELETE_ID, ST_SITE_SET_ENABLED, ST_SITE_COUNT,
	ST_SITE_SET_STATUS, ST_READ_BEGIN, ST_SITE_MAX_ID, ST_POP_IDS_NOCASE,
	ST_POP_BACKUP_SITES, ST_POP_PRIMARY_SITES, ST_PAGE_SITES,
	ST_PAGE_BACKUPS, ST_PAGE_PORTS,
	ST_BACKUPS_GET, ST_BACKUPS_DELETE, ST_BACKUP_INSERT,
	ST_PORTS_GET, ST_PORTS_DELETE, ST_PORT_INSERT,
	ST_POP_ID, ST_POP_BY_NAME, ST_POP_NAME_TAKEN, ST_POP_EXISTS,
	ST_POP_INSERT, ST_POP_UPDATE, ST_POP_USERS, ST_POP_DELETE,
	ST_PSK_PUT, ST_PSK_GET,
	ST_IKE_PUT, ST_IKE_DEL, ST_IKE_ALL, ST_IKE_CLEAR,
	ST_HC_INSERT, ST_HC_DELETE, ST_HC_ALL, ST_HC_COUNT,
	ST__MAX
};

static const char *const stmt_sql[ST__MAX] = {
	[ST_BEGIN]		= "BEGIN IMMEDIATE",
	[ST_COMMIT]		= "COMMIT",
	[ST_ROLLBACK]		= "ROLLBACK",
	[ST_SAVEPOINT]		= "SAVEPOINT eg_op",
	[ST_RELEASE]		= "RELEASE eg_op",
	[ST_ROLLBACK_TO]	= "ROLLBACK TO eg_op",
	/* one pass over three unique indexes (multi-index OR) */
	[ST_SITE_CONFLICTS]	=
		"SELECT name, name = ?1, id_type = ?2 AND id_value = ?3,"
		" source_ip = ?4 FROM sites"
		" WHERE (name = ?1 OR (id_type = ?2 AND id_value = ?3)"
		" OR source_ip = ?4) AND id <> ?5",
	[ST_SITE_EXISTS]	= "SELECT 1 FROM sites WHERE id = ?1",
	[ST_SITE_INSERT]	=
		"INSERT INTO sites (name, id_type, id_value, source_ip, lan,"
		" primary_pop, traffic_type, license, max_bw_mbps, enabled,"
		" cipher, created, updated, flow_cap, device_cap, ike_lifetime,"
		" child_lifetime, dpd_delay, dpd_timeout)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?12, ?14, ?15, ?16, ?17, ?18, ?19)",
	[ST_SITE_UPDATE]	=
		"UPDATE sites SET name = ?1, id_type = ?2, id_value = ?3,"
		" source_ip = ?4, lan = ?5, primary_pop = ?6,"
		" traffic_type = ?7, license = ?8, max_bw_mbps = ?9,"
		" enabled = ?10, cipher = ?11, updated = ?12, flow_cap = ?14,"
		" device_cap = ?15, ike_lifetime = ?16, child_lifetime = ?17,"
		" dpd_delay = ?18, dpd_timeout = ?19 WHERE id = ?13",
	[ST_PSK_PUT]		=
		"INSERT INTO site_psks (site_id, psk) VALUES (?1, ?2)"
		" ON CONFLICT (site_id) DO UPDATE SET psk = excluded.psk",
	[ST_PSK_GET]		= "SELECT psk FROM site_psks WHERE site_id = ?1",
	[ST_IKE_PUT]		=
		"INSERT INTO ike_sas (spi, site_id, saved_at, rec)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (spi) DO UPDATE SET"
		" site_id = excluded.site_id, saved_at = excluded.saved_at,"
		" rec = excluded.rec",
	[ST_IKE_DEL]		= "DELETE FROM ike_sas WHERE spi = ?1",
	[ST_IKE_ALL]		= "SELECT spi, site_id, saved_at, rec FROM ike_sas",
	[ST_IKE_CLEAR]		= "DELETE FROM ike_sas",
	[ST_HC_INSERT]		=
		"INSERT INTO health_checks (name, pop, service, kind, addr, port,"
		" path, expect, interval_s, timeout_s, rise, fall)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_HC_DELETE]		= "DELETE FROM health_checks WHERE name = ?1",
	[ST_HC_ALL]		=
		"SELECT id, name, pop, service, kind, addr, port, path, expect,"
		" interval_s, timeout_s, rise, fall FROM health_checks ORDER BY name",
	[ST_HC_COUNT]		= "SELECT count(*) FROM health_checks",
	[ST_SITE_BY_NAME]	= "SELECT " SITE_COLS " WHERE s.name = ?1",
	[ST_SITE_BY_ID]		= "SELECT " SITE_COLS " WHERE s.id = ?1",
	[ST_SITE_BY_IDENT]	= "SELECT " SITE_COLS
				  " WHERE s.id_type = ?1 AND s.id_value = ?2",
	[ST_SITE_BY_IP]		= "SELECT " SITE_COLS " WHERE s.source_ip = ?1",
	[ST_SITE_DELETE]	= "DELETE FROM sites WHERE name = ?1",
	[ST_SITE_DELETE_ID]	= "DELETE FROM sites WHERE id = ?1",
	[ST_SITE_SET_ENABLED]	=
		"UPDATE sites SET enabled = ?2, updated = ?3 WHERE name = ?1",
	[ST_SITE_COUNT]		= "SELECT count(*) FROM sites",
	/* runtime state, not configuration: 'updated' stays */
	[ST_SITE_SET_STATUS]	=
		"UPDATE sites SET up = ?2, status_since = ?3 WHERE id = ?1",
	[ST_READ_BEGIN]		= "BEGIN",
	[ST_SITE_MAX_ID]	= "SELECT coalesce(max(id), 0) FROM sites",
	/* the exact spelling first */
	[ST_POP_IDS_NOCASE]	=
		"SELECT id FROM pops WHERE name = ?1 COLLATE NOCASE"
		" ORDER BY name <> ?1, id",
	[ST_POP_BACKUP_SITES]	=
		"SELECT site_id FROM site_backup_pops WHERE pop_id = ?1",
	[ST_POP_PRIMARY_SITES]	= "SELECT id FROM sites WHERE primary_pop = ?1",
	[ST_PAGE_SITES]		= "SELECT " SITE_COLS " WHERE s.id" PAGE_IDS,
	[ST_PAGE_BACKUPS]	=
		"SELECT b.site_id, p.name FROM site_backup_pops b"
		" JOIN pops p ON p.id = b.pop_id"
		" WHERE b.site_id" PAGE_IDS " ORDER BY b.site_id, b.pref",
	[ST_PAGE_PORTS]		=
		"SELECT site_id, port FROM site_ports"
		" WHERE site_id" PAGE_IDS " ORDER BY site_id, port",
	[ST_BACKUPS_GET]	=
		"SELECT p.name FROM site_backup_pops b"
		" JOIN pops p ON p.id = b.pop_id"
		" WHERE b.site_id = ?1 ORDER BY b.pref",
	[ST_BACKUPS_DELETE]	= "DELETE FROM site_backup_pops WHERE site_id = ?1",
	[ST_BACKUP_INSERT]	=
		"INSERT INTO site_backup_pops (site_id, pop_id, pref)"
		" VALUES (?1, ?2, ?3)",
	[ST_PORTS_GET]		=
		"SELECT port FROM site_ports WHERE site_id = ?1 ORDER BY port",
	[ST_PORTS_DELETE]	= "DELETE FROM site_ports WHERE site_id = ?1",
	[ST_PORT_INSERT]	=
		"INSERT INTO site_ports (site_id, port) VALUES (?1, ?2)",
	[ST_POP_ID]		= "SELECT id FROM pops WHERE name = ?1",
	[ST_POP_BY_NAME]	= "SELECT " POP_COLS " WHERE name = ?1",
	[ST_POP_NAME_TAKEN]	=
		"SELECT 1 FROM pops WHERE name = ?1 AND id <> ?2",
	[ST_POP_EXISTS]		= "SELECT 1 FROM pops WHERE id = ?1",
	[ST_POP_INSERT]		=
		"INSERT INTO pops (name, gateway_ip, probe_ip, location,"
		" accepting, created, updated)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	[ST_POP_UPDATE]		=
		"UPDATE pops SET name = ?1, gateway_ip = ?2, probe_ip = ?3,"
		" location = ?4, accepting = ?5, updated = ?6 WHERE id = ?7",
	/* a POP is never both primary and backup of one site (trigger) */
	[ST_POP_USERS]		=
		"SELECT (SELECT count(*) FROM sites WHERE primary_pop = ?1),"
		" (SELECT count(*) FROM site_backup_pops WHERE pop_id = ?1)",
	[ST_POP_DELETE]		= "DELETE FROM pops WHERE id = ?1",
};

#define POP_CACHE_MAX	16

struct eg_store {
	sqlite3 *db;
	int version;
	sqlite3_stmt *stmt[ST__MAX];	/* prepared on first use */
	char path[256];			/* for messages only */
	/*
	 * POP name -> id, only inside a batch: BEGIN IMMEDIATE keeps other
	 * writers out, and our own POP writes empty it.
	 */
	bool in_batch;
	unsigned n_pops;
	struct {
		int64_t id;
		char name[EG_NAME_MAX + 1];
	} pops[POP_CACHE_MAX];
	/* site ids for eg_site_in_set(), during eg_site_query() only */
	uint8_t *set;
	int64_t set_bits;
};

/* The transaction of one API call. */
struct op {
	bool own;	/* we opened the transaction (not inside a batch) */
	bool sp;	/* we opened a savepoint inside the caller's batch */
};

static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return EEXIST;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return EBUSY;
		}
		return EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_CANTOPEN:
		return ENOENT;
	case SQLITE_NOTADB:
		return EINVAL;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return EINVAL;
	}
	return EIO;
}

/* Fail with the connection's last error: "<what>: <sqlite message>". */
static int db_fail(struct eg_store *st, struct eg_err *err, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));
static int db_fail(struct eg_store *st, struct eg_err *err, const char *fmt,
		   ...)
{
	int rc = sqlite3_extended_errcode(st->db);
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if ((rc & 0xff) == SQLITE_BUSY)
		return eg_fail(err, EBUSY,
			       "%s: database is locked by another process", what);
	if (rc == SQLITE_NOTADB)
		return eg_fail(err, EINVAL, "'%s' is not an SQLite database",
			       st->path);
	return eg_fail(err, sqlite_errno(rc), "%s: %s", what,
		       sqlite3_errmsg(st->db));
}

static int stmt_get(struct eg_store *st, enum stmt_id id, sqlite3_stmt **out,
		    struct eg_err *err)
{
	int rc;

	if (!st->stmt[id]) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return db_fail(st, err, "preparing query %d", id);
	}
	*out = st->stmt[id];
	return 0;
}

/* Make a cached statement ready for its next use; drops PSK bindings. */
static void stmt_done(sqlite3_stmt *stmt)
{
	if (stmt) {
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
}

/* Run a statement without parameters or rows (transaction control). */
static int run(struct eg_store *st, enum stmt_id id, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, id, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = db_fail(st, err, "%s", stmt_sql[id]);
	stmt_done(stmt);
	return ret;
}

/*
 * Outside a batch, open a transaction. Inside one, open a savepoint only
 * when the call makes several writes that it cannot undo itself (multi):
 * a savepoint copies every page it touches, which makes a bulk import much
 * slower. A single statement is atomic on its own.
 */
static int op_begin(struct eg_store *st, struct op *op, bool multi,
		    struct eg_err *err)
{
	op->own = sqlite3_get_autocommit(st->db);
	op->sp = !op->own && multi;
	if (op->own)
		return run(st, ST_BEGIN, err);
	return op->sp ? run(st, ST_SAVEPOINT, err) : 0;
}

/* Commit on ret == 0, else undo everything since op_begin(). */
static int op_end(struct eg_store *st, struct op *op, int ret,
		  struct eg_err *err)
{
	if (!op->own && !op->sp)
		return ret;
	if (!ret) {
		ret = run(st, op->own ? ST_COMMIT : ST_RELEASE, err);
		if (!ret)
			return 0;
	}
	if (op->own) {
		if (!sqlite3_get_autocommit(st->db))
			run(st, ST_ROLLBACK, NULL);
	} else {
		run(st, ST_ROLLBACK_TO, NULL);
		run(st, ST_RELEASE, NULL);
	}
	return ret;
}

/* Step a statement that returns at most one row: 1 row, 0 none, -errno. */
static int step_row(struct eg_store *st, sqlite3_stmt *stmt,
		    struct eg_err *err, const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(st, err, "%s", what);
}

static int step_done(struct eg_store *st, sqlite3_stmt *stmt,
		     struct eg_err *err, const char *what)
{
	if (sqlite3_step(stmt) == SQLITE_DONE)
		return 0;
	return db_fail(st, err, "%s", what);
}

static int bind_fail(struct eg_store *st, struct eg_err *err)
{
	return db_fail(st, err, "binding query parameters");
}

/* Copy a TEXT column into a char array of size bytes. */
static int col_text(sqlite3_stmt *stmt, int col, char *dst, size_t size,
		    struct eg_err *err)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);
	size_t n = sqlite3_column_bytes(stmt, col);

	if (!t || n >= size)
		return eg_fail(err, EIO,
			       "database holds a bad value in column %s",
			       sqlite3_column_name(stmt, col));
	memcpy(dst, t, n);
	dst[n] = '\0';
	return 0;
}

static uint32_t col_ipv4(sqlite3_stmt *stmt, int col)
{
	return htonl((uint32_t)sqlite3_column_int64(stmt, col));
}

static const char *ipv4_str(uint32_t be_addr, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = be_addr };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* ---- opening and migrations ---- */

static void sql_in_set(sqlite3_context *ctx, int argc, sqlite3_value **argv);

static int version_read(struct eg_store *st, int *version, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret, rc;

	rc = sqlite3_prepare_v2(st->db,
				"SELECT count(*) FROM sqlite_schema"
				" WHERE type = 'table' AND name = 'schema_version'",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		ret = db_fail(st, err, "reading database '%s'", st->path);
		goto out;
	}
	*version = 0;
	ret = 0;
	if (!sqlite3_column_int(stmt, 0))
		goto out;
	sqlite3_finalize(stmt);
	rc = sqlite3_prepare_v2(st->db,
				"SELECT coalesce(max(version), 0) FROM schema_version",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		ret = db_fail(st, err, "reading the schema version of '%s'",
			      st->path);
		goto out;
	}
	*version = sqlite3_column_int(stmt, 0);
out:
	sqlite3_finalize(stmt);
	return ret;
}

static int too_new(struct eg_store *st, int version, unsigned known,
		   struct eg_err *err)
{
	return eg_fail(err, ENOTSUP,
		       "database '%s' has schema version %d, newer than the %u this espgate knows; use a newer espgate or another database",
		       st->path, version, known);
}

static int exec(struct eg_store *st, const char *sql, struct eg_err *err,
		const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	return db_fail(st, err, "%s", what);
}

/* Apply one step, from the version found inside its own transaction. */
static int migrate_step(struct eg_store *st, const struct eg_migration *steps,
			unsigned n, bool *done, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char what[96];
	int ret, v;

	ret = exec(st, "BEGIN IMMEDIATE", err, "locking the database");
	if (ret)
		return ret;
	ret = exec(st,
		   "CREATE TABLE IF NOT EXISTS schema_version ("
		   " version INTEGER PRIMARY KEY CHECK (version > 0),"
		   " applied INTEGER NOT NULL)",
		   err, "creating table schema_version");
	if (ret)
		goto out;
	ret = version_read(st, &v, err);
	if (ret)
		goto out;
	if (v < 0 || (unsigned)v > n) {
		ret = too_new(st, v, n, err);
		goto out;
	}
	*done = (unsigned)v == n;
	if (*done)
		goto out;
	snprintf(what, sizeof(what), "migrating schema version %d to %d", v,
		 v + 1);
	ret = exec(st, steps[v].sql, err, what);
	if (ret)
		goto out;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO schema_version (version, applied)"
			       " VALUES (?1, ?2)", -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_bind_int(stmt, 1, v + 1) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, time(NULL)) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE)
		ret = db_fail(st, err, "%s", what);
out:
	sqlite3_finalize(stmt);
	if (!ret)
		ret = exec(st, "COMMIT", err, "committing the migration");
	if (ret && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int pragma(struct eg_store *st, const char *sql, const char *want,
		  struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const unsigned char *got;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		ret = db_fail(st, err, "%s on '%s'", sql, st->path);
		goto out;
	}
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		got = sqlite3_column_text(stmt, 0);
		if (want && (!got || strcmp((const char *)got, want)))
			ret = eg_fail(err, EIO,
				      "%s on '%s' gave '%s', wanted '%s'", sql,
				      st->path, got ? (const char *)got : "",
				      want);
		break;
	case SQLITE_DONE:
		if (want)
			ret = eg_fail(err, EIO, "%s on '%s' is not supported",
				      sql, st->path);
		break;
	default:
		ret = db_fail(st, err, "%s on '%s'", sql, st->path);
	}
out:
	sqlite3_finalize(stmt);
	return ret;
}

int eg_store_open_migrations(struct eg_store **stp, const char *path,
			     const struct eg_migration *steps, unsigned n_steps,
			     struct eg_err *err)
{
	struct eg_store *st;
	char q[QUOTE_MAX];
	bool done = false;
	int ret, fd, v;

	*stp = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return eg_fail(err, ENOMEM, "out of memory");
	eg_escape(st->path, sizeof(st->path), path);

	/* create it ourselves: it holds PSKs, so not world-readable */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		eg_fail(err, -ret, "cannot open database '%s': %s",
			eg_escape(q, sizeof(q), path), strerror(-ret));
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			    NULL) != SQLITE_OK) {
		ret = st->db ? db_fail(st, err, "cannot open database '%s'",
				       st->path)
			     : eg_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(st->db, EG_BUSY_TIMEOUT_MS);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	/* the POP filter of eg_site_query(); not for triggers or views */
	if (sqlite3_create_function_v2(st->db, "eg_site_in_set", 1,
				       SQLITE_UTF8 | SQLITE_DIRECTONLY, st,
				       sql_in_set, NULL, NULL,
				       NULL) != SQLITE_OK) {
		ret = db_fail(st, err, "opening database '%s'", st->path);
		goto out;
	}

	ret = pragma(st, "PRAGMA foreign_keys = ON", NULL, err);
	if (!ret)
		ret = pragma(st, "PRAGMA foreign_keys", "1", err);
	if (!ret)
		ret = pragma(st, "PRAGMA synchronous = FULL", NULL, err);
	if (!ret)
		ret = pragma(st, "PRAGMA secure_delete = ON", NULL, err);
	/* big batches stay in memory until COMMIT: no spills to the WAL */
	if (!ret)
		ret = pragma(st, "PRAGMA cache_size = -65536", NULL, err);
	/* savepoint journals of batched calls too */
	if (!ret)
		ret = pragma(st, "PRAGMA temp_store = MEMORY", NULL, err);
	if (ret)
		goto out;

	/* refuse a newer schema before changing anything in the file */
	ret = version_read(st, &v, err);
	if (ret)
		goto out;
	if (v < 0 || (unsigned)v > n_steps) {
		ret = too_new(st, v, n_steps, err);
		goto out;
	}
	ret = pragma(st, "PRAGMA journal_mode = WAL", "wal", err);
	if (ret)
		goto out;
	done = (unsigned)v == n_steps;
	while (!done && !ret)
		ret = migrate_step(st, steps, n_steps, &done, err);
	if (ret)
		goto out;
	st->version = n_steps;
	*stp = st;
out:
	if (ret)
		eg_store_close(st);
	return ret;
}

const struct eg_migration *eg_store_migrations(unsigned *n)
{
	*n = ARRAY_SIZE(migrations);
	return migrations;
}

int eg_store_open(struct eg_store **st, const char *path, struct eg_err *err)
{
	int ret;

	ret = eg_store_open_migrations(st, path, migrations,
				       ARRAY_SIZE(migrations), err);
	if (ret)
		return ret;
	/*
	 * Read the list indexes into the page cache (a column that only the
	 * index holds makes each a full scan; count(*) would read the smallest
	 * index whatever INDEXED BY says), so that the first page of the site
	 * list after a start costs what the next does. Best effort: a failure
	 * shows again, with a message, where it matters.
	 */
	sqlite3_exec((*st)->db,
		     "SELECT sum(length(id_value)) FROM sites"
		     " INDEXED BY sites_by_name;"
		     "SELECT sum(up) FROM sites INDEXED BY sites_by_status;"
		     "SELECT sum(up) FROM sites INDEXED BY sites_by_traffic;"
		     "SELECT sum(primary_pop) FROM sites"
		     " INDEXED BY sites_primary_pop;"
		     "SELECT sum(pop_id) FROM site_backup_pops"
		     " INDEXED BY site_backup_pops_pop",
		     NULL, NULL, NULL);
	return 0;
}

void eg_store_close(struct eg_store *st)
{
	unsigned i;

	if (!st)
		return;
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	free(st->set);
	/* an open batch is rolled back */
	sqlite3_close_v2(st->db);
	free(st);
}

int eg_store_schema_version(struct eg_store *st)
{
	return st->version;
}

/* ---- transactions ---- */

int eg_store_begin(struct eg_store *st, struct eg_err *err)
{
	int ret;

	if (!sqlite3_get_autocommit(st->db))
		return eg_fail(err, EBUSY, "a transaction is already open");
	ret = run(st, ST_BEGIN, err);
	st->n_pops = 0;
	st->in_batch = !ret;
	return ret;
}

int eg_store_commit(struct eg_store *st, struct eg_err *err)
{
	int ret;

	if (sqlite3_get_autocommit(st->db))
		return eg_fail(err, EINVAL, "no transaction is open");
	ret = run(st, ST_COMMIT, err);
	if (ret)
		eg_store_rollback(st);
	st->in_batch = false;
	return ret;
}

void eg_store_rollback(struct eg_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		run(st, ST_ROLLBACK, NULL);
	st->in_batch = false;
}

/* ---- sites ---- */

static void ident_str(enum eg_id_type t, const char *value, char *buf,
		      size_t size)
{
	char q[QUOTE_MAX];
	const char *tn = eg_id_type_name(t);

	snprintf(buf, size, "%s:%s", tn ? tn : "?",
		 eg_escape(q, sizeof(q), value));
}

/* Report a site that already has this name, identity or source ip. */
static int site_conflicts(struct eg_store *st, const struct eg_site_rec *s,
			  int64_t self, struct eg_err *err)
{
	bool by_name = false, by_ident = false, by_ip = false;
	char ident_other[EG_NAME_MAX + 1], ip_other[EG_NAME_MAX + 1];
	char id[QUOTE_MAX + 8], a[INET_ADDRSTRLEN];
	sqlite3_stmt *stmt = NULL;
	int ret, rc;

	ret = stmt_get(st, ST_SITE_CONFLICTS, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, s->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, eg_id_type_name(s->id_type), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 3, s->id_value, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 4, ntohl(s->source_ip)) ||
	    sqlite3_bind_int64(stmt, 5, self)) {
		ret = bind_fail(st, err);
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_int(stmt, 1))
			by_name = true;
		if (sqlite3_column_int(stmt, 2) && !by_ident) {
			by_ident = true;
			ret = col_text(stmt, 0, ident_other,
				       sizeof(ident_other), err);
		}
		if (sqlite3_column_int(stmt, 3) && !by_ip) {
			by_ip = true;
			ret = ret ?: col_text(stmt, 0, ip_other,
					      sizeof(ip_other), err);
		}
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		ret = db_fail(st, err, "checking site '%s' for duplicates",
			      s->name);
		goto out;
	}
	if (by_name) {
		ret = eg_fail(err, EEXIST, "site name '%s' already exists",
			      s->name);
	} else if (by_ident) {
		ident_str(s->id_type, s->id_value, id, sizeof(id));
		ret = eg_fail(err, EEXIST,
			      "source identity %s is already used by site '%s'",
			      id, ident_other);
	} else if (by_ip) {
		ret = eg_fail(err, EEXIST,
			      "source ip %s is already used by site '%s'",
			      ipv4_str(s->source_ip, a), ip_other);
	}
out:
	stmt_done(stmt);
	return ret;
}

/* The cache is only good while our batch holds the write lock. */
static bool pop_cache_live(struct eg_store *st)
{
	if (st->in_batch && sqlite3_get_autocommit(st->db))
		st->in_batch = false;	/* SQLite rolled the batch back */
	return st->in_batch;
}

static int pop_id(struct eg_store *st, const char *name, const char *role,
		  int64_t *id, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	bool cache = pop_cache_live(st);
	unsigned i;
	int ret;

	for (i = 0; cache && i < st->n_pops; i++) {
		if (!strcmp(st->pops[i].name, name)) {
			*id = st->pops[i].id;
			return 0;
		}
	}
	ret = stmt_get(st, ST_POP_ID, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC)) {
		ret = bind_fail(st, err);
		goto out;
	}
	ret = step_row(st, stmt, err, "looking up a POP");
	if (ret == 1) {
		*id = sqlite3_column_int64(stmt, 0);
		ret = 0;
		if (cache && st->n_pops < POP_CACHE_MAX &&
		    strlen(name) <= EG_NAME_MAX) {
			st->pops[st->n_pops].id = *id;
			strcpy(st->pops[st->n_pops++].name, name);
		}
	} else if (!ret) {
		ret = eg_fail(err, ENOENT, "unknown POP '%s'%s", name, role);
	}
out:
	stmt_done(stmt);
	return ret;
}

static int site_write_fail(struct eg_store *st, const struct eg_site_rec *s,
			   struct eg_err *err);

/* Bind ?1..?11, ?14..?19 of ST_SITE_INSERT / ST_SITE_UPDATE; s is valid. */
static int site_bind(struct eg_store *st, sqlite3_stmt *stmt,
		     const struct eg_site_rec *s, int64_t primary,
		     struct eg_err *err)
{
	char lan[EG_LAN_MAX * 19 + 1];

	eg_lan_str(s, lan, sizeof(lan));
	if (sqlite3_bind_text(stmt, 1, s->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, eg_id_type_name(s->id_type), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 3, s->id_value, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 4, ntohl(s->source_ip)) ||
	    sqlite3_bind_text(stmt, 5, lan, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(stmt, 6, primary) ||
	    sqlite3_bind_text(stmt, 7, eg_traffic_name(s->traffic), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 8, eg_license_name(s->license), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 9, s->max_bw_mbps) ||
	    sqlite3_bind_int(stmt, 10, s->enabled) ||
	    sqlite3_bind_text(stmt, 11, eg_cipher_name(s->cipher), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 14, s->flow_cap) ||
	    sqlite3_bind_int64(stmt, 15, s->device_cap) ||
	    sqlite3_bind_int64(stmt, 16, s->ike_lifetime) ||
	    sqlite3_bind_int64(stmt, 17, s->child_lifetime) ||
	    sqlite3_bind_int64(stmt, 18, s->dpd_delay) ||
	    sqlite3_bind_int64(stmt, 19, s->dpd_timeout))
		return bind_fail(st, err);
	return 0;
}

/* Store the PSK of site id (a site written without one keeps its own). */
static int psk_write(struct eg_store *st, int64_t id,
		     const struct eg_site_rec *s, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (!s->psk_len)
		return 0;
	ret = stmt_get(st, ST_PSK_PUT, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, id) ||
	    sqlite3_bind_blob(stmt, 2, s->psk, s->psk_len, SQLITE_STATIC))
		ret = bind_fail(st, err);
	else if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = site_write_fail(st, s, err);
	stmt_done(stmt);
	return ret;
}

int eg_site_psk_get(struct eg_store *st, int64_t id, uint8_t *psk,
		    size_t *len, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const void *p;
	size_t n;
	int ret;

	*len = 0;
	ret = stmt_get(st, ST_PSK_GET, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, id)) {
		ret = bind_fail(st, err);
		goto out;
	}
	ret = step_row(st, stmt, err, "reading a PSK");
	if (ret < 0)
		goto out;
	if (ret == 0) {
		ret = eg_fail(err, ENOENT, "site %lld has no PSK", (long long)id);
		goto out;
	}
	p = sqlite3_column_blob(stmt, 0);
	n = sqlite3_column_bytes(stmt, 0);
	if (!p || n < EG_PSK_MIN || n > EG_PSK_MAX) {
		ret = eg_fail(err, EIO, "database holds a PSK of %zu bytes", n);
		goto out;
	}
	memcpy(psk, p, n);
	*len = n;
	ret = 0;
out:
	stmt_done(stmt);
	return ret;
}

/* Map a constraint the C checks missed (a bug, or a race) to a message. */
static int site_write_fail(struct eg_store *st, const struct eg_site_rec *s,
			   struct eg_err *err)
{
	int rc = sqlite3_extended_errcode(st->db);

	if (rc == SQLITE_CONSTRAINT_UNIQUE &&
	    strstr(sqlite3_errmsg(st->db), "sites.name"))
		return eg_fail(err, EEXIST, "site name '%s' already exists",
			       s->name);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return db_fail(st, err,
			       "site '%s' clashes with an existing site",
			       s->name);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return eg_fail(err, ENOENT,
			       "site '%s' refers to a POP that does not exist",
			       s->name);
	return db_fail(st, err, "storing site '%s'", s->name);
}

/* Replace the backup POPs and ports of a site. */
static int site_children_write(struct eg_store *st, int64_t site_id,
			       const struct eg_site_rec *s,
			       const int64_t *backup_ids, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	unsigned i;
	int ret;

	ret = stmt_get(st, ST_BACKUP_INSERT, &stmt, err);
	if (ret)
		return ret;
	for (i = 0; i < s->n_backup_pops; i++) {
		if (sqlite3_bind_int64(stmt, 1, site_id) ||
		    sqlite3_bind_int64(stmt, 2, backup_ids[i]) ||
		    sqlite3_bind_int(stmt, 3, i + 1)) {
			ret = bind_fail(st, err);
			goto out;
		}
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			ret = site_write_fail(st, s, err);
			goto out;
		}
		sqlite3_reset(stmt);
	}
	stmt_done(stmt);

	ret = stmt_get(st, ST_PORT_INSERT, &stmt, err);
	if (ret)
		return ret;
	for (i = 0; i < s->n_ports; i++) {
		if (sqlite3_bind_int64(stmt, 1, site_id) ||
		    sqlite3_bind_int(stmt, 2, s->ports[i])) {
			ret = bind_fail(st, err);
			goto out;
		}
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			ret = site_write_fail(st, s, err);
			goto out;
		}
		sqlite3_reset(stmt);
	}
out:
	stmt_done(stmt);
	return ret;
}

static int site_children_delete(struct eg_store *st, int64_t site_id,
				struct eg_err *err)
{
	static const enum stmt_id ids[] = { ST_BACKUPS_DELETE,
					    ST_PORTS_DELETE };
	sqlite3_stmt *stmt = NULL;
	unsigned i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(ids) && !ret; i++) {
		ret = stmt_get(st, ids[i], &stmt, err);
		if (ret)
			break;
		if (sqlite3_bind_int64(stmt, 1, site_id))
			ret = bind_fail(st, err);
		else
			ret = step_done(st, stmt, err,
					"replacing site POPs and ports");
		stmt_done(stmt);
	}
	return ret;
}

/* Checks and POP ids shared by add and update; self is 0 for add. */
static int site_prepare(struct eg_store *st, const struct eg_site_rec *s,
			int64_t self, int64_t *primary, int64_t *backups,
			struct eg_err *err)
{
	unsigned i;
	int ret;

	ret = site_conflicts(st, s, self, err);
	if (ret)
		return ret;
	ret = pop_id(st, s->primary_pop, "", primary, err);
	for (i = 0; !ret && i < s->n_backup_pops; i++)
		ret = pop_id(st, s->backup_pops[i], " in backup POPs",
			     &backups[i], err);
	return ret;
}

/* Inside a batch, undo a half-added site (its children go by cascade). */
static void site_add_undo(struct eg_store *st, int64_t id)
{
	sqlite3_stmt *stmt = NULL;

	if (stmt_get(st, ST_SITE_DELETE_ID, &stmt, NULL))
		return;
	if (!sqlite3_bind_int64(stmt, 1, id))
		sqlite3_step(stmt);
	stmt_done(stmt);
}

int eg_site_add(struct eg_store *st, struct eg_site_rec *s, struct eg_err *err)
{
	int64_t primary, backups[EG_MAX_BACKUP_POPS], now = time(NULL), id = 0;
	sqlite3_stmt *stmt = NULL;
	struct op op;
	int ret;

	ret = eg_site_validate(s, err);
	if (ret)
		return ret;
	/*
	 * No savepoint: the checks write nothing, a failed statement undoes
	 * itself, and site_add_undo() removes a site whose children failed.
	 */
	ret = op_begin(st, &op, false, err);
	if (ret)
		return ret;
	ret = site_prepare(st, s, 0, &primary, backups, err);
	if (ret)
		goto out;
	ret = stmt_get(st, ST_SITE_INSERT, &stmt, err);
	if (ret)
		goto out;
	ret = site_bind(st, stmt, s, primary, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 12, now)) {
		ret = bind_fail(st, err);
		goto out;
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = site_write_fail(st, s, err);
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
	stmt_done(stmt);
	stmt = NULL;
	ret = psk_write(st, id, s, err);
	if (!ret)
		ret = site_children_write(st, id, s, backups, err);
	if (ret && !op.own)
		site_add_undo(st, id);
out:
	stmt_done(stmt);
	ret = op_end(st, &op, ret, err);
	if (!ret) {
		/* as stored: canonical cipher, no status recorded yet */
		const char *cipher = eg_cipher_name(s->cipher);

		strcpy(s->cipher, cipher);
		s->id = id;
		s->up = false;
		s->status_since = 0;
		s->created = now;
		s->updated = now;
	}
	return ret;
}

static int site_exists(struct eg_store *st, int64_t id, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_SITE_EXISTS, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, id))
		ret = bind_fail(st, err);
	else
		ret = step_row(st, stmt, err, "looking up a site");
	if (!ret)
		ret = eg_fail(err, ENOENT, "no site with id %lld",
			      (long long)id);
	stmt_done(stmt);
	return ret < 0 ? ret : 0;
}

int eg_site_update(struct eg_store *st, const struct eg_site_rec *s,
		   struct eg_err *err)
{
	int64_t primary, backups[EG_MAX_BACKUP_POPS], now = time(NULL);
	sqlite3_stmt *stmt = NULL;
	struct op op;
	int ret;

	ret = eg_site_validate(s, err);
	if (ret)
		return ret;
	ret = op_begin(st, &op, true, err);
	if (ret)
		return ret;
	ret = site_exists(st, s->id, err);
	if (ret)
		goto out;
	ret = site_prepare(st, s, s->id, &primary, backups, err);
	if (ret)
		goto out;
	/* POPs and ports are replaced as a whole */
	ret = site_children_delete(st, s->id, err);
	if (ret)
		goto out;
	ret = stmt_get(st, ST_SITE_UPDATE, &stmt, err);
	if (ret)
		goto out;
	ret = site_bind(st, stmt, s, primary, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 12, now) ||
	    sqlite3_bind_int64(stmt, 13, s->id)) {
		ret = bind_fail(st, err);
		goto out;
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = site_write_fail(st, s, err);
		goto out;
	}
	stmt_done(stmt);
	stmt = NULL;
	ret = psk_write(st, s->id, s, err);
	if (!ret)
		ret = site_children_write(st, s->id, s, backups, err);
out:
	stmt_done(stmt);
	return op_end(st, &op, ret, err);
}

/* Fill s from the current row of a SITE_COLS query, without POPs and ports. */
static int site_cols(sqlite3_stmt *row, struct eg_site_rec *s,
		     struct eg_err *err)
{
	char tmp[32], lan[EG_LAN_MAX * 19 + 1];
	int ret;

	eg_site_clear(s);
	s->id = sqlite3_column_int64(row, 0);
	ret = col_text(row, 1, s->name, sizeof(s->name), err);
	if (!ret)
		ret = col_text(row, 2, tmp, sizeof(tmp), err);
	if (!ret && eg_id_type_parse(tmp, &s->id_type))
		ret = eg_fail(err, EIO, "database holds identity type '%s'",
			      tmp);
	if (!ret)
		ret = col_text(row, 3, s->id_value, sizeof(s->id_value), err);
	if (ret)
		goto out;
	s->source_ip = col_ipv4(row, 4);
	ret = col_text(row, 5, lan, sizeof(lan), err);
	if (!ret && eg_lan_parse(lan, s, err))
		ret = eg_fail(err, EIO, "database holds LAN prefixes '%s'", lan);
	if (!ret)
		ret = col_text(row, 6, s->primary_pop, sizeof(s->primary_pop), err);
	if (!ret)
		ret = col_text(row, 7, tmp, sizeof(tmp), err);
	if (!ret && eg_traffic_parse(tmp, &s->traffic))
		ret = eg_fail(err, EIO, "database holds traffic type '%s'",
			      tmp);
	if (!ret)
		ret = col_text(row, 8, tmp, sizeof(tmp), err);
	if (!ret && eg_license_parse(tmp, &s->license))
		ret = eg_fail(err, EIO, "database holds license '%s'", tmp);
	if (!ret)
		ret = col_text(row, 13, s->cipher, sizeof(s->cipher), err);
	if (ret)
		goto out;
	s->max_bw_mbps = sqlite3_column_int64(row, 9);
	s->enabled = sqlite3_column_int(row, 10);
	s->created = sqlite3_column_int64(row, 11);
	s->updated = sqlite3_column_int64(row, 12);
	s->up = sqlite3_column_int(row, 14);
	s->status_since = sqlite3_column_int64(row, 15);
	s->flow_cap = sqlite3_column_int64(row, 16);
	s->device_cap = sqlite3_column_int64(row, 17);
	s->ike_lifetime = sqlite3_column_int64(row, 18);
	s->child_lifetime = sqlite3_column_int64(row, 19);
	s->dpd_delay = sqlite3_column_int64(row, 20);
	s->dpd_timeout = sqlite3_column_int64(row, 21);
out:
	if (ret)
		eg_site_clear(s);
	return ret;
}

/* Append the backup POP name in column col of row to s. */
static int site_add_backup(struct eg_site_rec *s, sqlite3_stmt *row, int col,
			   struct eg_err *err)
{
	int ret;

	if (s->n_backup_pops >= EG_MAX_BACKUP_POPS)
		return eg_fail(err, EIO, "site '%s' has too many backup POPs",
			       s->name);
	ret = col_text(row, col, s->backup_pops[s->n_backup_pops],
		       sizeof(s->backup_pops[0]), err);
	if (!ret)
		s->n_backup_pops++;
	return ret;
}

/* Append the port in column col of row to s. */
static int site_add_port(struct eg_site_rec *s, sqlite3_stmt *row, int col,
			 struct eg_err *err)
{
	if (s->n_ports >= EG_MAX_CUSTOM_PORTS)
		return eg_fail(err, EIO, "site '%s' has too many ports",
			       s->name);
	s->ports[s->n_ports++] = sqlite3_column_int(row, col);
	return 0;
}

/*
 * Fill s from the current row of a SITE_COLS query, with POPs and ports:
 * one query each, fine for one site (lists read them in bulk).
 */
static int site_row(struct eg_store *st, sqlite3_stmt *row,
		    struct eg_site_rec *s, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret, rc = SQLITE_DONE;

	ret = site_cols(row, s, err);
	if (ret)
		return ret;

	/* row is still stepped, so these read the same snapshot */
	ret = stmt_get(st, ST_BACKUPS_GET, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 1, s->id)) {
		ret = bind_fail(st, err);
		goto out;
	}
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ret = site_add_backup(s, stmt, 0, err);
	if (ret)
		goto out;
	if (rc != SQLITE_DONE) {
		ret = db_fail(st, err, "reading backup POPs of '%s'", s->name);
		goto out;
	}
	stmt_done(stmt);

	ret = stmt_get(st, ST_PORTS_GET, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 1, s->id)) {
		ret = bind_fail(st, err);
		goto out;
	}
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ret = site_add_port(s, stmt, 0, err);
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(st, err, "reading ports of '%s'", s->name);
out:
	stmt_done(stmt);
	if (ret)
		eg_site_clear(s);
	return ret;
}

/* Run a bound lookup; 0 found, -ENOENT (no message) or other -errno. */
static int site_fetch(struct eg_store *st, sqlite3_stmt *stmt,
		      struct eg_site_rec *s, struct eg_err *err)
{
	int ret = step_row(st, stmt, err, "looking up a site");

	if (ret == 1)
		ret = site_row(st, stmt, s, err);
	else if (!ret)
		ret = -ENOENT;
	stmt_done(stmt);
	return ret;
}

int eg_site_get(struct eg_store *st, const char *name, struct eg_site_rec *s,
		struct eg_err *err)
{
	char q[QUOTE_MAX];
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_SITE_BY_NAME, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC)) {
		stmt_done(stmt);
		return bind_fail(st, err);
	}
	ret = site_fetch(st, stmt, s, err);
	if (ret == -ENOENT)
		ret = eg_fail(err, ENOENT, "no site named '%s'",
			      eg_escape(q, sizeof(q), name));
	return ret;
}

int eg_site_get_by_id(struct eg_store *st, int64_t id, struct eg_site_rec *s,
		      struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_SITE_BY_ID, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, id)) {
		stmt_done(stmt);
		return bind_fail(st, err);
	}
	ret = site_fetch(st, stmt, s, err);
	if (ret == -ENOENT)
		ret = eg_fail(err, ENOENT, "no site with id %lld",
			      (long long)id);
	return ret;
}

int eg_site_find_ident(struct eg_store *st, enum eg_id_type t,
		       const char *value, struct eg_site_rec *s,
		       struct eg_err *err)
{
	char id[QUOTE_MAX + 8];
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (!eg_id_type_name(t))
		return eg_fail(err, EINVAL, "unknown source identity type %d",
			       (int)t);
	ret = stmt_get(st, ST_SITE_BY_IDENT, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, eg_id_type_name(t), -1,
			      SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC)) {
		stmt_done(stmt);
		return bind_fail(st, err);
	}
	ret = site_fetch(st, stmt, s, err);
	if (ret == -ENOENT) {
		ident_str(t, value, id, sizeof(id));
		ret = eg_fail(err, ENOENT, "no site with source identity %s",
			      id);
	}
	return ret;
}

int eg_site_find_source_ip(struct eg_store *st, uint32_t be_addr,
			   struct eg_site_rec *s, struct eg_err *err)
{
	char a[INET_ADDRSTRLEN];
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_SITE_BY_IP, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, ntohl(be_addr))) {
		stmt_done(stmt);
		return bind_fail(st, err);
	}
	ret = site_fetch(st, stmt, s, err);
	if (ret == -ENOENT)
		ret = eg_fail(err, ENOENT, "no site with source ip %s",
			      ipv4_str(be_addr, a));
	return ret;
}

/* DELETE / UPDATE of one site by name; ?1 is the name. */
static int site_by_name_write(struct eg_store *st, enum stmt_id id,
			      const char *name, int enabled, struct eg_err *err)
{
	char q[QUOTE_MAX];
	sqlite3_stmt *stmt = NULL;
	struct op op;
	int ret;

	ret = op_begin(st, &op, false, err);
	if (ret)
		return ret;
	ret = stmt_get(st, id, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC) ||
	    (id == ST_SITE_SET_ENABLED &&
	     (sqlite3_bind_int(stmt, 2, enabled) ||
	      sqlite3_bind_int64(stmt, 3, time(NULL)))))
		ret = bind_fail(st, err);
	else
		ret = step_done(st, stmt, err, "changing a site");
	if (!ret && !sqlite3_changes(st->db))
		ret = eg_fail(err, ENOENT, "no site named '%s'",
			      eg_escape(q, sizeof(q), name));
	stmt_done(stmt);
out:
	return op_end(st, &op, ret, err);
}

int eg_site_delete(struct eg_store *st, const char *name, struct eg_err *err)
{
	/* backup POPs and ports go with it (ON DELETE CASCADE) */
	return site_by_name_write(st, ST_SITE_DELETE, name, 0, err);
}

int eg_site_set_enabled(struct eg_store *st, const char *name, bool enabled,
			struct eg_err *err)
{
	return site_by_name_write(st, ST_SITE_SET_ENABLED, name, enabled, err);
}

/* Move a child scan (site id in column 0) past site s, adding its rows. */
static int children_merge(struct eg_store *st, sqlite3_stmt *stmt, int *rc,
			  struct eg_site_rec *s, bool backups,
			  struct eg_err *err)
{
	int64_t id;
	int ret;

	if (*rc == SQLITE_OK)		/* not stepped yet */
		*rc = sqlite3_step(stmt);
	while (*rc == SQLITE_ROW &&
	       (id = sqlite3_column_int64(stmt, 0)) <= s->id) {
		if (id == s->id) {
			ret = backups ? site_add_backup(s, stmt, 1, err) :
					site_add_port(s, stmt, 1, err);
			if (ret)
				return ret;
		}
		*rc = sqlite3_step(stmt);
	}
	if (*rc != SQLITE_ROW && *rc != SQLITE_DONE)
		return db_fail(st, err, "listing sites");
	return 0;
}

/*
 * Sites, backup POPs and ports are three scans in site id order, merged
 * here: no query per site. Not cached: cb may start another foreach. The
 * site scan is started first; while it runs the connection keeps its read
 * snapshot, so the other two read the same one (cb's own writes may show,
 * as they would in any open SELECT).
 */
int eg_site_foreach(struct eg_store *st, eg_site_cb cb, void *arg,
		    struct eg_err *err)
{
	static const char *const sql[] = {
		"SELECT " SITE_COLS " ORDER BY s.id",
		("SELECT b.site_id, p.name FROM site_backup_pops b"
		 " JOIN pops p ON p.id = b.pop_id ORDER BY b.site_id, b.pref"),
		"SELECT site_id, port FROM site_ports ORDER BY site_id, port",
	};
	sqlite3_stmt *stmt[ARRAY_SIZE(sql)] = { NULL };
	int rc[ARRAY_SIZE(sql)] = { SQLITE_OK };
	struct eg_site_rec s;
	int ret = 0;
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(sql); i++) {
		if (sqlite3_prepare_v2(st->db, sql[i], -1, &stmt[i],
				       NULL) != SQLITE_OK) {
			ret = db_fail(st, err, "listing sites");
			goto out;
		}
	}
	while ((rc[0] = sqlite3_step(stmt[0])) == SQLITE_ROW) {
		ret = site_cols(stmt[0], &s, err);
		if (!ret)
			ret = children_merge(st, stmt[1], &rc[1], &s, true,
					     err);
		if (!ret)
			ret = children_merge(st, stmt[2], &rc[2], &s, false,
					     err);
		if (!ret)
			ret = cb(&s, arg);
		eg_site_clear(&s);
		if (ret)
			goto out;
	}
	if (rc[0] != SQLITE_DONE)
		ret = db_fail(st, err, "listing sites");
out:
	for (i = 0; i < ARRAY_SIZE(sql); i++)
		sqlite3_finalize(stmt[i]);
	return ret;
}

int eg_site_set_status(struct eg_store *st, int64_t id, bool up, int64_t since,
		       struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (since < 0)
		return eg_fail(err, EINVAL,
			       "status since %lld is before 1970 (unix seconds expected)",
			       (long long)since);
	/* one statement: atomic on its own, in a batch or not */
	ret = stmt_get(st, ST_SITE_SET_STATUS, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, id) || sqlite3_bind_int(stmt, 2, up) ||
	    sqlite3_bind_int64(stmt, 3, since))
		ret = bind_fail(st, err);
	else
		ret = step_done(st, stmt, err, "recording a site status");
	if (!ret && !sqlite3_changes(st->db))
		ret = eg_fail(err, ENOENT, "no site with id %lld",
			      (long long)id);
	stmt_done(stmt);
	return ret;
}

/* ---- the site list ---- */

/*
 * eg_site_query(), as the IPSec page uses it:
 *  - Order: name ignoring case (SQLite's NOCASE: ASCII A-Z folded to a-z,
 *    so "_x" < "Alpha" < "beta" < "Zulu"), then id: "HQ" and "hq" come in
 *    the order they were created, and a page boundary never falls between
 *    two rows that compare equal. desc reverses both.
 *  - Name and identity match as substrings ignoring ASCII case; '%' and '_'
 *    are plain characters. A filter longer than any name (identity)
 *    matches nothing. "" is no filter, for the POP too.
 *  - Status: up = enabled and up, down = enabled and not up, disabled =
 *    not enabled. POP: primary or backup, name ignoring case; when several
 *    POPs share that name ignoring case, a site of any of them matches. An
 *    unknown POP is -ENOENT.
 *  - A page past the end gives no rows and the real total. cb NULL: total
 *    only; total NULL: not wanted.
 *
 * It runs in four steps, inside one read transaction:
 *  1. POP filter: the sites with the POP as backup (and as primary, for
 *     the other POPs when several match the name ignoring case) go into a
 *     bitmap that eg_site_in_set(id) tests, so the filter is
 *     "s.primary_pop = :pop OR eg_site_in_set(s.id)" evaluated in the scan.
 *     "s.id IN (SELECT site_id ...)" costs an ephemeral b-tree probe per
 *     row: 3x slower over 100k sites.
 *  2. count(*) of the matches.
 *  3. the ids of the page: LIMIT/OFFSET over an index in list order. A page
 *     in the second half is read from the other end, so that at most half
 *     of the matches are stepped over.
 *     With a substring filter, 2 and 3 are one pass instead: each scanned
 *     row costs a LIKE, so all matching ids are stepped through once,
 *     counted, and the page's kept (100k rows: one scan of ~12 ms instead of
 *     up to two; a sparse match no longer scans everything twice).
 *  4. the page's rows, backup POPs and ports: one query each for all ids.
 * Callbacks run after the transaction ends, so they may write.
 *
 * The filters are fixed SQL fragments joined with AND; values are bound.
 * Every index of the list holds name (case ignored), id, enabled, up,
 * traffic type and primary POP, so every scan stays in one index. Only
 * sites_by_name holds the identity: with an identity filter, a '+' on the
 * status and traffic terms keeps the planner off the other two.
 */
#define LIST_SQL_MAX	640
#define SET_MAX_ID	(1LL << 28)	/* a 32 MiB bitmap at worst */

struct sql_buf {
	char s[LIST_SQL_MAX];
	size_t n;
};

static void sql_add(struct sql_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sql_add(struct sql_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	/* a cut statement fails to prepare; never with these fragments */
	if (n > 0)
		b->n += (size_t)n < sizeof(b->s) - b->n ?
			(size_t)n : sizeof(b->s) - b->n - 1;
}

/* name_pat, ident_pat: NULL when not filtering on them. */
static void list_where(struct sql_buf *b, const struct eg_site_filter *f,
		       const char *name_pat, const char *ident_pat)
{
	bool by_name = name_pat, by_ident = ident_pat;
	const char *plus = by_ident ? "+" : "";
	const char *and = " WHERE ";

	if (by_name) {
		sql_add(b, "%ss.name LIKE :name ESCAPE '\\'", and);
		and = " AND ";
	}
	if (by_ident) {
		sql_add(b, "%ss.id_value LIKE :ident ESCAPE '\\'", and);
		and = " AND ";
	}
	if (f->status == EG_STATUS_DISABLED) {
		sql_add(b, "%s%ss.enabled = 0", and, plus);
		and = " AND ";
	} else if (f->status != EG_STATUS_ANY) {
		sql_add(b, "%s%ss.enabled = 1 AND %ss.up = %d", and, plus, plus,
			f->status == EG_STATUS_UP);
		and = " AND ";
	}
	if (f->traffic) {
		sql_add(b, "%s%ss.traffic_type = :traffic", and, plus);
		and = " AND ";
	}
	if (f->pop && *f->pop)
		sql_add(b, "%s(s.primary_pop = :pop OR eg_site_in_set(s.id))",
			and);
}

/* "%s%" LIKE pattern for substring s, or false when s is too long. */
static bool like_pattern(const char *s, size_t max, char *buf)
{
	size_t o = 0;

	if (strlen(s) > max)
		return false;
	buf[o++] = '%';
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '%';
	buf[o] = '\0';
	return true;
}

static void sql_in_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct eg_store *st = sqlite3_user_data(ctx);
	sqlite3_int64 id = sqlite3_value_int64(argv[0]);

	(void)argc;
	sqlite3_result_int(ctx, st->set && id >= 0 && id < st->set_bits &&
				((st->set[id >> 3] >> (id & 7)) & 1));
}

/* Add the ids a one-parameter query returns (column 0) to the set. */
static int set_add_query(struct eg_store *st, enum stmt_id q, int64_t param,
			 struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int64_t id;
	int ret, rc;

	ret = stmt_get(st, q, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int64(stmt, 1, param)) {
		ret = bind_fail(st, err);
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (id >= 0 && id < st->set_bits)
			st->set[id >> 3] |= 1 << (id & 7);
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "reading the sites of a POP");
out:
	stmt_done(stmt);
	return ret;
}

/*
 * Step 1: *pop = the POP named name (the exact spelling if there is one);
 * the set = sites with it as backup, and with any other POP of that name
 * ignoring case as primary or backup.
 */
static int list_pop_set(struct eg_store *st, const char *name, int64_t *pop,
			struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char q[QUOTE_MAX];
	int64_t id, max;
	bool found = false;
	int ret, rc = SQLITE_DONE;

	ret = stmt_get(st, ST_SITE_MAX_ID, &stmt, err);
	if (ret)
		return ret;
	ret = step_row(st, stmt, err, "listing sites");
	max = ret == 1 ? sqlite3_column_int64(stmt, 0) : 0;
	stmt_done(stmt);
	stmt = NULL;
	if (ret < 0)
		return ret;
	if (max < 0 || max >= SET_MAX_ID)
		return eg_fail(err, EOVERFLOW,
			       "site id %lld is too large for the POP filter",
			       (long long)max);
	st->set_bits = max + 1;
	st->set = calloc(max / 8 + 1, 1);
	if (!st->set)
		return eg_fail(err, ENOMEM, "out of memory");

	ret = stmt_get(st, ST_POP_IDS_NOCASE, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC)) {
		ret = bind_fail(st, err);
		goto out;
	}
	while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (!found)
			*pop = id;
		else
			ret = set_add_query(st, ST_POP_PRIMARY_SITES, id, err);
		if (!ret)
			ret = set_add_query(st, ST_POP_BACKUP_SITES, id, err);
		found = true;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(st, err, "looking up a POP");
	if (!ret && !found)
		ret = eg_fail(err, ENOENT, "unknown POP '%s'",
			      eg_escape(q, sizeof(q), name));
out:
	stmt_done(stmt);
	return ret;
}

static int list_bind(struct eg_store *st, sqlite3_stmt *stmt,
		     const struct eg_site_filter *f, const char *name_pat,
		     const char *ident_pat, int64_t pop, struct eg_err *err)
{
	int i;

#define BIND(what, call)						\
	do {								\
		i = sqlite3_bind_parameter_index(stmt, what);		\
		if (i && (call))					\
			return bind_fail(st, err);			\
	} while (0)
	BIND(":name", sqlite3_bind_text(stmt, i, name_pat, -1, SQLITE_STATIC));
	BIND(":ident", sqlite3_bind_text(stmt, i, ident_pat, -1,
					 SQLITE_STATIC));
	BIND(":traffic", sqlite3_bind_text(stmt, i, eg_traffic_name(f->traffic),
					   -1, SQLITE_STATIC));
	BIND(":pop", sqlite3_bind_int64(stmt, i, pop));
#undef BIND
	return 0;
}

/* Step 4: fill recs[i] for ids[i], i < n. */
static int list_fetch(struct eg_store *st, const int64_t *ids, unsigned n,
		      struct eg_site_rec *recs, struct eg_err *err)
{
	static const enum stmt_id q[] = { ST_PAGE_SITES, ST_PAGE_BACKUPS,
					  ST_PAGE_PORTS };
	char json[EG_PAGE_MAX * 21 + 2];
	bool filled[EG_PAGE_MAX] = { false };
	sqlite3_stmt *stmt = NULL;
	unsigned i, k, slot = 0;
	size_t o = 0;
	int64_t id;
	int ret = 0, rc = SQLITE_DONE;

	json[o++] = '[';
	for (i = 0; i < n; i++)
		o += snprintf(json + o, sizeof(json) - o, "%s%lld",
			      i ? "," : "", (long long)ids[i]);
	snprintf(json + o, sizeof(json) - o, "]");

	for (k = 0; k < ARRAY_SIZE(q) && !ret; k++) {
		ret = stmt_get(st, q[k], &stmt, err);
		if (ret)
			break;
		if (sqlite3_bind_text(stmt, 1, json, -1, SQLITE_STATIC))
			ret = bind_fail(st, err);
		while (!ret && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			id = sqlite3_column_int64(stmt, 0);
			/* children come grouped by site: try the last one */
			if (ids[slot] != id)
				for (slot = 0; slot < n && ids[slot] != id;
				     slot++)
					;
			if (slot == n) {
				slot = 0;
				continue;
			}
			if (k == 0) {
				ret = site_cols(stmt, &recs[slot], err);
				filled[slot] = !ret;
			} else if (k == 1) {
				ret = site_add_backup(&recs[slot], stmt, 1,
						      err);
			} else {
				ret = site_add_port(&recs[slot], stmt, 1, err);
			}
		}
		if (!ret && rc != SQLITE_DONE)
			ret = db_fail(st, err, "listing sites");
		stmt_done(stmt);
		stmt = NULL;
		/* the page's ids came from the same snapshot */
		for (i = 0; k == 0 && !ret && i < n; i++)
			if (!filled[i])
				ret = eg_fail(err, EIO,
					      "site %lld vanished while listing",
					      (long long)ids[i]);
	}
	return ret;
}

static int list_prepare(struct eg_store *st, struct sql_buf *sql,
			const struct eg_site_filter *f, const char *name_pat,
			const char *ident_pat, int64_t pop,
			sqlite3_stmt **stmt, struct eg_err *err)
{
	int ret;

	if (sqlite3_prepare_v2(st->db, sql->s, -1, stmt, NULL) != SQLITE_OK)
		return db_fail(st, err, "listing sites");
	ret = list_bind(st, *stmt, f, name_pat, ident_pat, pop, err);
	if (ret) {
		sqlite3_finalize(*stmt);
		*stmt = NULL;
	}
	return ret;
}

static void list_order(struct sql_buf *sql, bool desc)
{
	const char *dir = desc ? "DESC" : "ASC";

	sql_add(sql, " ORDER BY s.name COLLATE NOCASE %s, s.id %s", dir, dir);
}

/* Steps 2 and 3 for substring filters: all matches, once. */
static int list_one_pass(struct eg_store *st, const struct eg_site_filter *f,
			 const char *name_pat, const char *ident_pat,
			 int64_t pop, int64_t off, int64_t *ids, unsigned *n,
			 int64_t *n_all, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	struct sql_buf sql = { .n = 0 };
	int ret, rc;

	sql_add(&sql, "SELECT s.id FROM sites s");
	list_where(&sql, f, name_pat, ident_pat);
	list_order(&sql, f->desc);
	ret = list_prepare(st, &sql, f, name_pat, ident_pat, pop, &stmt, err);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (*n_all >= off && *n < f->per_page)
			ids[(*n)++] = sqlite3_column_int64(stmt, 0);
		++*n_all;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "listing sites");
	sqlite3_finalize(stmt);
	return ret;
}

/* Steps 2 and 3 otherwise: count(*), then LIMIT/OFFSET; ids NULL: count. */
static int list_two_pass(struct eg_store *st, const struct eg_site_filter *f,
			 int64_t pop, int64_t off, int64_t *ids, unsigned *n,
			 int64_t *n_all, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	struct sql_buf sql = { .n = 0 };
	int ret, rc = SQLITE_DONE;
	int64_t tmp, skip;
	unsigned i, want;
	bool rev;

	sql_add(&sql, "SELECT count(*) FROM sites s");
	list_where(&sql, f, NULL, NULL);
	ret = list_prepare(st, &sql, f, NULL, NULL, pop, &stmt, err);
	if (ret)
		return ret;
	ret = step_row(st, stmt, err, "counting sites");
	if (ret == 1)
		*n_all = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (ret < 0)
		return ret;
	ret = 0;
	if (!ids || off >= *n_all)
		return 0;

	/* from the nearer end: then at most half of the matches are skipped */
	want = *n_all - off < f->per_page ? *n_all - off : f->per_page;
	skip = *n_all - off - want;
	rev = skip < off;
	if (!rev)
		skip = off;
	sql.n = 0;
	sql_add(&sql, "SELECT s.id FROM sites s");
	list_where(&sql, f, NULL, NULL);
	list_order(&sql, f->desc != rev);
	sql_add(&sql, " LIMIT :limit OFFSET :offset");
	ret = list_prepare(st, &sql, f, NULL, NULL, pop, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_int(stmt, sqlite3_bind_parameter_index(stmt, ":limit"),
			     want) ||
	    sqlite3_bind_int64(stmt,
			       sqlite3_bind_parameter_index(stmt, ":offset"),
			       skip)) {
		sqlite3_finalize(stmt);
		return bind_fail(st, err);
	}
	while (*n < want && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(stmt, 0);
	if (*n < want && rc != SQLITE_DONE)
		ret = db_fail(st, err, "listing sites");
	sqlite3_finalize(stmt);
	for (i = 0; rev && i < *n / 2; i++) {
		tmp = ids[i];
		ids[i] = ids[*n - 1 - i];
		ids[*n - 1 - i] = tmp;
	}
	return ret;
}

static int list_check(const struct eg_site_filter *f, struct eg_err *err)
{
	if (!f)
		return eg_fail(err, EINVAL, "no site filter given");
	if (f->page < 1)
		return eg_fail(err, EINVAL,
			       "page %u is out of range: pages start at 1",
			       f->page);
	if (f->per_page < 1 || f->per_page > EG_PAGE_MAX)
		return eg_fail(err, EINVAL,
			       "%u sites per page is out of range 1-%d",
			       f->per_page, EG_PAGE_MAX);
	if ((unsigned)f->status > EG_STATUS_DISABLED)
		return eg_fail(err, EINVAL,
			       "unknown status %d (expected any, up, down or disabled)",
			       (int)f->status);
	if (f->traffic && !eg_traffic_name(f->traffic))
		return eg_fail(err, EINVAL,
			       "unknown traffic type %d (expected user, iot, mixed, machine or guest-wifi)",
			       (int)f->traffic);
	return 0;
}

int eg_site_query(struct eg_store *st, const struct eg_site_filter *f,
		  eg_site_cb cb, void *arg, int64_t *total, struct eg_err *err)
{
	char name_pat[2 * EG_NAME_MAX + 3], ident_pat[2 * EG_IDENT_MAX + 3];
	int64_t ids[EG_PAGE_MAX], n_all = 0, off, pop = 0;
	struct eg_site_rec *recs = NULL;
	bool by_name, by_ident, own = false;
	unsigned n = 0, i;
	int ret;

	if (total)
		*total = 0;
	ret = list_check(f, err);
	if (ret)
		return ret;
	by_name = f->name && *f->name;
	by_ident = f->identity && *f->identity;
	/* longer than any value: nothing matches */
	if ((by_name && !like_pattern(f->name, EG_NAME_MAX, name_pat)) ||
	    (by_ident && !like_pattern(f->identity, EG_IDENT_MAX, ident_pat)))
		return 0;

	if (sqlite3_get_autocommit(st->db)) {
		ret = run(st, ST_READ_BEGIN, err);
		if (ret)
			return ret;
		own = true;
	}
	if (f->pop && *f->pop) {
		ret = list_pop_set(st, f->pop, &pop, err);
		if (ret)
			goto out;
	}

	off = (int64_t)(f->page - 1) * f->per_page;
	if (by_name || by_ident)
		ret = list_one_pass(st, f, by_name ? name_pat : NULL,
				    by_ident ? ident_pat : NULL, pop, off, ids,
				    &n, &n_all, err);
	else
		ret = list_two_pass(st, f, pop, off, cb ? ids : NULL, &n,
				    &n_all, err);
	if (ret || !n || !cb)
		goto out;

	/* step 4: the rows */
	recs = calloc(n ?: 1, sizeof(*recs));
	if (!recs) {
		ret = eg_fail(err, ENOMEM, "out of memory");
		goto out;
	}
	ret = list_fetch(st, ids, n, recs, err);
out:
	free(st->set);
	st->set = NULL;
	st->set_bits = 0;
	if (own && !ret)
		ret = run(st, ST_COMMIT, err);
	if (own && !sqlite3_get_autocommit(st->db))
		run(st, ST_ROLLBACK, NULL);
	if (!ret && total)
		*total = n_all;
	for (i = 0; !ret && recs && i < n; i++)
		ret = cb(&recs[i], arg);
	for (i = 0; recs && i < n; i++)
		eg_site_clear(&recs[i]);
	free(recs);
	return ret;
}

int64_t eg_site_count(struct eg_store *st)
{
	sqlite3_stmt *stmt = NULL;
	int64_t n;
	int ret;

	ret = stmt_get(st, ST_SITE_COUNT, &stmt, NULL);
	if (ret)
		return ret;
	ret = step_row(st, stmt, NULL, "counting sites");
	n = ret == 1 ? sqlite3_column_int64(stmt, 0) : (ret ?: -EIO);
	stmt_done(stmt);
	return n;
}

/* ---- POPs ---- */

static int pop_row(sqlite3_stmt *row, struct eg_pop_rec *p,
		   struct eg_err *err)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->id = sqlite3_column_int64(row, 0);
	ret = col_text(row, 1, p->name, sizeof(p->name), err);
	if (!ret)
		ret = col_text(row, 4, p->location, sizeof(p->location), err);
	p->gateway_ip = col_ipv4(row, 2);
	p->probe_ip = col_ipv4(row, 3);
	p->accepting = sqlite3_column_int(row, 5);
	p->created = sqlite3_column_int64(row, 6);
	p->updated = sqlite3_column_int64(row, 7);
	return ret;
}

static int pop_name_taken(struct eg_store *st, const char *name, int64_t self,
			  struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_POP_NAME_TAKEN, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 2, self))
		ret = bind_fail(st, err);
	else
		ret = step_row(st, stmt, err, "looking up a POP");
	if (ret == 1)
		ret = eg_fail(err, EEXIST, "POP name '%s' already exists",
			      name);
	stmt_done(stmt);
	return ret;
}

static int pop_bind(struct eg_store *st, sqlite3_stmt *stmt,
		    const struct eg_pop_rec *p, int64_t now,
		    struct eg_err *err)
{
	if (sqlite3_bind_text(stmt, 1, p->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 2, ntohl(p->gateway_ip)) ||
	    sqlite3_bind_int64(stmt, 3, ntohl(p->probe_ip)) ||
	    sqlite3_bind_text(stmt, 4, p->location, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int(stmt, 5, p->accepting) ||
	    sqlite3_bind_int64(stmt, 6, now))
		return bind_fail(st, err);
	return 0;
}

static int pop_write_fail(struct eg_store *st, const struct eg_pop_rec *p,
			  struct eg_err *err)
{
	if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_UNIQUE)
		return eg_fail(err, EEXIST, "POP name '%s' already exists",
			       p->name);
	return db_fail(st, err, "storing POP '%s'", p->name);
}

int eg_pop_add(struct eg_store *st, struct eg_pop_rec *p, struct eg_err *err)
{
	int64_t now = time(NULL), id = 0;
	sqlite3_stmt *stmt = NULL;
	struct op op;
	int ret;

	ret = eg_pop_validate(p, err);
	if (ret)
		return ret;
	ret = op_begin(st, &op, false, err);
	if (ret)
		return ret;
	ret = pop_name_taken(st, p->name, 0, err);
	if (ret)
		goto out;
	ret = stmt_get(st, ST_POP_INSERT, &stmt, err);
	if (ret)
		goto out;
	ret = pop_bind(st, stmt, p, now, err);
	if (ret)
		goto out;
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		ret = pop_write_fail(st, p, err);
		goto out;
	}
	id = sqlite3_last_insert_rowid(st->db);
out:
	stmt_done(stmt);
	st->n_pops = 0;		/* POPs changed: drop cached ids */
	ret = op_end(st, &op, ret, err);
	if (!ret) {
		p->id = id;
		p->created = now;
		p->updated = now;
	}
	return ret;
}

int eg_pop_update(struct eg_store *st, const struct eg_pop_rec *p,
		  struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	struct op op;
	int ret;

	ret = eg_pop_validate(p, err);
	if (ret)
		return ret;
	ret = op_begin(st, &op, false, err);
	if (ret)
		return ret;
	ret = stmt_get(st, ST_POP_EXISTS, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 1, p->id))
		ret = bind_fail(st, err);
	else
		ret = step_row(st, stmt, err, "looking up a POP");
	stmt_done(stmt);
	stmt = NULL;
	if (!ret)
		ret = eg_fail(err, ENOENT, "no POP with id %lld",
			      (long long)p->id);
	if (ret < 0)
		goto out;
	ret = pop_name_taken(st, p->name, p->id, err);
	if (ret)
		goto out;
	ret = stmt_get(st, ST_POP_UPDATE, &stmt, err);
	if (ret)
		goto out;
	ret = pop_bind(st, stmt, p, time(NULL), err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 7, p->id)) {
		ret = bind_fail(st, err);
		goto out;
	}
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = pop_write_fail(st, p, err);
out:
	stmt_done(stmt);
	st->n_pops = 0;		/* POPs changed: drop cached ids */
	return op_end(st, &op, ret, err);
}

int eg_pop_get(struct eg_store *st, const char *name, struct eg_pop_rec *p,
	       struct eg_err *err)
{
	char q[QUOTE_MAX];
	sqlite3_stmt *stmt = NULL;
	int ret;

	ret = stmt_get(st, ST_POP_BY_NAME, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC))
		ret = bind_fail(st, err);
	else
		ret = step_row(st, stmt, err, "looking up a POP");
	if (ret == 1)
		ret = pop_row(stmt, p, err);
	else if (!ret)
		ret = eg_fail(err, ENOENT, "no POP named '%s'",
			      eg_escape(q, sizeof(q), name));
	stmt_done(stmt);
	return ret;
}

int eg_pop_delete(struct eg_store *st, const char *name, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int64_t id, primary, backup;
	char q[QUOTE_MAX];
	struct op op;
	int ret;

	ret = op_begin(st, &op, false, err);
	if (ret)
		return ret;
	ret = pop_id(st, name, "", &id, err);
	if (ret == -ENOENT)
		ret = eg_fail(err, ENOENT, "no POP named '%s'",
			      eg_escape(q, sizeof(q), name));
	if (ret)
		goto out;
	ret = stmt_get(st, ST_POP_USERS, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 1, id))
		ret = bind_fail(st, err);
	else
		ret = step_row(st, stmt, err, "counting sites of a POP");
	if (ret < 0)
		goto out;
	primary = sqlite3_column_int64(stmt, 0);
	backup = sqlite3_column_int64(stmt, 1);
	stmt_done(stmt);
	stmt = NULL;
	if (primary + backup) {
		ret = eg_fail(err, EBUSY,
			      "POP '%s' is used by %lld site%s (%lld as primary, %lld as backup POP); move them to another POP first",
			      name, (long long)(primary + backup),
			      primary + backup == 1 ? "" : "s",
			      (long long)primary, (long long)backup);
		goto out;
	}
	ret = stmt_get(st, ST_POP_DELETE, &stmt, err);
	if (ret)
		goto out;
	if (sqlite3_bind_int64(stmt, 1, id))
		ret = bind_fail(st, err);
	else if (sqlite3_step(stmt) != SQLITE_DONE)
		/* RESTRICT reports SQLITE_CONSTRAINT_TRIGGER */
		ret = (sqlite3_extended_errcode(st->db) & 0xff) ==
			SQLITE_CONSTRAINT &&
			strstr(sqlite3_errmsg(st->db), "FOREIGN KEY") ?
			eg_fail(err, EBUSY, "POP '%s' is still used by sites",
				name) :
			db_fail(st, err, "deleting POP '%s'", name);
out:
	stmt_done(stmt);
	st->n_pops = 0;		/* POPs changed: drop cached ids */
	return op_end(st, &op, ret, err);
}

int eg_pop_foreach(struct eg_store *st, eg_pop_cb cb, void *arg,
		   struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	struct eg_pop_rec p;
	int ret = 0, rc;

	if (sqlite3_prepare_v2(st->db, "SELECT " POP_COLS " ORDER BY id", -1,
			       &stmt, NULL) != SQLITE_OK) {
		ret = db_fail(st, err, "listing POPs");
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ret = pop_row(stmt, &p, err);
		if (!ret)
			ret = cb(&p, arg);
		if (ret)
			goto out;
	}
	if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "listing POPs");
out:
	sqlite3_finalize(stmt);
	return ret;
}

/* ---- IKE SA records (restart without outage) ---------------------------------- */

int eg_ike_rec_put(struct eg_store *st, const uint8_t spi[EG_IKE_SPI_LEN],
		   int64_t site_id, int64_t saved_at, const uint8_t *rec,
		   size_t len, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret;

	if (rec && (!len || len > EG_IKE_REC_MAX))
		return eg_fail(err, EINVAL, "IKE SA record of %zu bytes", len);
	ret = stmt_get(st, rec ? ST_IKE_PUT : ST_IKE_DEL, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_blob(stmt, 1, spi, EG_IKE_SPI_LEN, SQLITE_STATIC) ||
	    (rec && (sqlite3_bind_int64(stmt, 2, site_id) ||
		     sqlite3_bind_int64(stmt, 3, saved_at) ||
		     sqlite3_bind_blob(stmt, 4, rec, len, SQLITE_STATIC))))
		ret = bind_fail(st, err);
	else if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = db_fail(st, err, rec ? "saving an IKE SA" : "forgetting an IKE SA");
	stmt_done(stmt);
	return ret;
}

int eg_ike_rec_foreach(struct eg_store *st, eg_ike_rec_cb cb, void *arg,
		       struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret, rc;

	ret = stmt_get(st, ST_IKE_ALL, &stmt, err);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const void *spi = sqlite3_column_blob(stmt, 0);
		const void *rec = sqlite3_column_blob(stmt, 3);
		size_t n = sqlite3_column_bytes(stmt, 3);

		if (!spi || sqlite3_column_bytes(stmt, 0) != EG_IKE_SPI_LEN || !rec ||
		    n > EG_IKE_REC_MAX)
			continue;	/* the schema's CHECKs make this a bug */
		ret = cb(spi, sqlite3_column_int64(stmt, 1),
			 sqlite3_column_int64(stmt, 2), rec, n, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(st, err, "reading the saved IKE SAs");
	stmt_done(stmt);
	return ret;
}

int eg_ike_rec_clear(struct eg_store *st, struct eg_err *err)
{
	return run(st, ST_IKE_CLEAR, err);
}

/* ---- downstream health checks -------------------------------------------------- */

int eg_health_add(struct eg_store *st, struct eg_health_rec *h, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char q[QUOTE_MAX];
	int ret, rc;

	ret = eg_health_validate(h, err);
	if (ret)
		return ret;
	ret = stmt_get(st, ST_HC_COUNT, &stmt, err);
	if (ret)
		return ret;
	rc = step_row(st, stmt, err, "counting health checks");
	if (rc > 0 && sqlite3_column_int64(stmt, 0) >= EG_HEALTH_MAX)
		rc = eg_fail(err, EINVAL, "already %d health checks, the most there may be",
			     EG_HEALTH_MAX);
	stmt_done(stmt);
	if (rc < 0)
		return rc;
	ret = stmt_get(st, ST_HC_INSERT, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, h->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, h->pop, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 3, eg_license_name(h->service), -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 4, h->http ? "http" : "tcp", -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 5, ntohl(h->addr)) ||
	    sqlite3_bind_int(stmt, 6, h->port) ||
	    sqlite3_bind_text(stmt, 7, h->path, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int(stmt, 8, h->expect) ||
	    sqlite3_bind_int64(stmt, 9, h->interval) ||
	    sqlite3_bind_int64(stmt, 10, h->timeout) ||
	    sqlite3_bind_int64(stmt, 11, h->rise) ||
	    sqlite3_bind_int64(stmt, 12, h->fall))
		ret = bind_fail(st, err);
	else if (((rc = sqlite3_step(stmt)) & 0xff) == SQLITE_CONSTRAINT)
		ret = eg_fail(err, EEXIST, "a health check named '%s' already exists",
			      eg_escape(q, sizeof(q), h->name));
	else if (rc != SQLITE_DONE)
		ret = db_fail(st, err, "adding a health check");
	else
		h->id = sqlite3_last_insert_rowid(st->db);
	stmt_done(stmt);
	return ret;
}

int eg_health_delete(struct eg_store *st, const char *name, struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	char q[QUOTE_MAX];
	int ret;

	ret = stmt_get(st, ST_HC_DELETE, &stmt, err);
	if (ret)
		return ret;
	if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC))
		ret = bind_fail(st, err);
	else if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = db_fail(st, err, "deleting a health check");
	else if (!sqlite3_changes(st->db))
		ret = eg_fail(err, ENOENT, "no health check named '%s'",
			      eg_escape(q, sizeof(q), name));
	stmt_done(stmt);
	return ret;
}

int eg_health_foreach(struct eg_store *st, eg_health_rec_cb cb, void *arg,
		      struct eg_err *err)
{
	sqlite3_stmt *stmt = NULL;
	struct eg_health_rec h;
	int ret, rc;

	ret = stmt_get(st, ST_HC_ALL, &stmt, err);
	if (ret)
		return ret;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		h.id = sqlite3_column_int64(stmt, 0);
		snprintf(h.name, sizeof(h.name), "%s", (const char *)sqlite3_column_text(stmt, 1));
		snprintf(h.pop, sizeof(h.pop), "%s", (const char *)sqlite3_column_text(stmt, 2));
		if (eg_license_parse((const char *)sqlite3_column_text(stmt, 3), &h.service))
			continue;	/* the schema's CHECK makes this a bug */
		h.http = !strcmp((const char *)sqlite3_column_text(stmt, 4), "http");
		h.addr = htonl((uint32_t)sqlite3_column_int64(stmt, 5));
		h.port = sqlite3_column_int(stmt, 6);
		snprintf(h.path, sizeof(h.path), "%s", (const char *)sqlite3_column_text(stmt, 7));
		h.expect = sqlite3_column_int(stmt, 8);
		h.interval = sqlite3_column_int64(stmt, 9);
		h.timeout = sqlite3_column_int64(stmt, 10);
		h.rise = sqlite3_column_int64(stmt, 11);
		h.fall = sqlite3_column_int64(stmt, 12);
		ret = cb(&h, arg);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = db_fail(st, err, "listing health checks");
	stmt_done(stmt);
	return ret;
}
