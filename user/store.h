/* SPDX-License-Identifier: GPL-2.0 */
/*
 * store.h - the site and POP database (SQLite), owned by ipsecd.
 *
 * Every function returns 0 or -errno. On failure a human-readable reason is
 * left in err (struct eg_err), phrased for the operator: it names the field
 * and the bad value ("source ip '300.1.1.1' is not a dotted-quad IPv4
 * address"). Constraints live in the schema as well as here: C validates
 * first to give a good message, the schema is the backstop.
 */
#ifndef EG_STORE_H
#define EG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_NAME_MAX		64	/* site and POP names, bytes */
#define EG_IDENT_MAX		255	/* source identity value, bytes */
#define EG_PSK_MIN		16	/* bytes; shorter PSKs are rejected */
#define EG_PSK_MAX		128
#define EG_MAX_BACKUP_POPS	9
#define EG_MAX_CUSTOM_PORTS	32
#define EG_LOCATION_MAX		64
#define EG_STORE_SCHEMA_VERSION	6
#define EG_CAP_MAX		1000000	/* per-site flow/device cap bound */
#define EG_CIPHER_MAX		16
#define EG_PAGE_MAX		100	/* sites per page, the IPSec page's limit */
/* accepted "encryption cipher" values (CSV and site add/edit); what each
 * means for the IKE and the Child SAs: ikev2_cipher_policy() */
#define EG_CIPHERS { "AES128-CBC", "AES192-CBC", "AES256-CBC", "AES128-GCM", \
		     "AES192-GCM", "AES256-GCM", "NULL", NULL }
#define EG_LAN_MAX		8	/* LAN prefixes per site */
#define EG_LIFETIME_MIN		10	/* s, shortest IKE/Child SA lifetime */
#define EG_LIFETIME_MAX		(7 * 86400)
#define EG_DPD_MAX		86400	/* s */

struct eg_err {
	char msg[256];
};

/* Set err->msg printf-style; returns -errcode so callers can `return eg_fail(...)`. */
int eg_fail(struct eg_err *err, int errcode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum eg_id_type { EG_ID_IPV4 = 1, EG_ID_FQDN, EG_ID_EMAIL };
enum eg_traffic { EG_TT_USER = 1, EG_TT_IOT, EG_TT_MIXED, EG_TT_MACHINE,
		  EG_TT_GUEST_WIFI };
enum eg_license { EG_LIC_WEB_GATEWAY = 1, EG_LIC_CLOUD_FIREWALL };

/* An IPv4 prefix, address masked, network byte order. */
struct eg_prefix {
	uint32_t addr;
	uint8_t len;
};

struct eg_site_rec {
	int64_t id;			/* 0 until stored */
	char name[EG_NAME_MAX + 1];
	enum eg_id_type id_type;
	char id_value[EG_IDENT_MAX + 1];
	uint32_t source_ip;		/* network byte order */
	uint8_t psk[EG_PSK_MAX];	/* wiped by eg_site_clear(); on reads
					 * empty: eg_site_psk_get() */
	size_t psk_len;
	char primary_pop[EG_NAME_MAX + 1];
	char backup_pops[EG_MAX_BACKUP_POPS][EG_NAME_MAX + 1];
	unsigned n_backup_pops;
	enum eg_traffic traffic;
	enum eg_license license;
	uint16_t ports[EG_MAX_CUSTOM_PORTS];	/* custom TCP ports, host order */
	unsigned n_ports;
	uint32_t max_bw_mbps;		/* 0 = no limit configured */
	uint32_t flow_cap;		/* concurrent inner flows; 0 = default */
	uint32_t device_cap;		/* inner source addresses; 0 = default */
	/* The site's LAN (schema v4): the inner source addresses it may use,
	 * its Child SAs' TSi are narrowed to them. None: the private ranges
	 * (eg_site_lan()). */
	struct eg_prefix lan[EG_LAN_MAX];
	unsigned n_lan;
	/* seconds; 0 = the gateway's default (schema v4) */
	uint32_t ike_lifetime, child_lifetime, dpd_delay, dpd_timeout;
	char cipher[EG_CIPHER_MAX + 1];	/* CSV "encryption cipher": "" = any of
					 * the table, else one of EG_CIPHERS */
	bool enabled;
	/* Data-path status kept by ipsecd (schema v2): up = keepalive or IKE
	 * seen in the last minute; changes are written on transitions only. */
	bool up;
	int64_t status_since;		/* unix seconds of the last transition */
	int64_t created, updated;	/* unix seconds */
};

/* Site status as listed and filtered: disabled wins over up/down. */
enum eg_status { EG_STATUS_ANY = 0, EG_STATUS_UP, EG_STATUS_DOWN,
		 EG_STATUS_DISABLED };
int eg_status_parse(const char *s, enum eg_status *st);
const char *eg_site_status_name(const struct eg_site_rec *s);

/*
 * A page of the site list (the IPSec page: filters combine with AND).
 * Answered from indexes: name order, enabled/up, primary POP, traffic type.
 */
struct eg_site_filter {
	const char *name;		/* substring of the name, ignoring case */
	const char *identity;		/* substring of the source identity */
	enum eg_status status;		/* EG_STATUS_ANY = any */
	const char *pop;		/* primary or backup POP, exact name */
	enum eg_traffic traffic;	/* 0 = any */
	bool desc;			/* sort by name descending */
	unsigned page;			/* from 1 */
	unsigned per_page;		/* 1..EG_PAGE_MAX */
};

struct eg_pop_rec {
	int64_t id;
	char name[EG_NAME_MAX + 1];
	uint32_t gateway_ip;		/* network byte order */
	uint32_t probe_ip;		/* network byte order */
	char location[EG_LOCATION_MAX + 1];
	bool accepting;			/* false while drained */
	int64_t created, updated;
};

struct eg_store;

/* Open (creating and migrating) the database at path. */
int eg_store_open(struct eg_store **st, const char *path, struct eg_err *err);
void eg_store_close(struct eg_store *st);
int eg_store_schema_version(struct eg_store *st);

/*
 * Value helpers shared with ipsecctl: parse (ASCII case ignored; ' ' and '_'
 * read as '-') and name the enums; a name is NULL for an out-of-range value.
 */
int eg_id_type_parse(const char *s, enum eg_id_type *t);
const char *eg_id_type_name(enum eg_id_type t);
int eg_traffic_parse(const char *s, enum eg_traffic *t);
const char *eg_traffic_name(enum eg_traffic t);
int eg_license_parse(const char *s, enum eg_license *l);
const char *eg_license_name(enum eg_license l);
/*
 * Canonical spelling of an encryption cipher, ASCII case ignored: one of
 * EG_CIPHERS, "" for "" (any); NULL when s is none of them.
 */
const char *eg_cipher_name(const char *s);
/* Strict dotted-quad parse (no leading zeros, no shorthand). */
int eg_ipv4_parse(const char *s, uint32_t *be_addr);
/* The same, with a message naming field ("source ip '300.1.1.1' is not ..."). */
int eg_ipv4_parse_field(const char *field, const char *s, uint32_t *be_addr,
			struct eg_err *err);
/* "ADDR:PORT": a strict dotted quad and a port 0-65535 (host order; 0 is
 * for a listener that takes any free port). */
int eg_addr_port_parse(const char *s, uint32_t *be_addr, uint16_t *port);
/*
 * Copy s into buf for quoting in a message: printable ASCII kept, anything
 * else as \xNN, cut with "..." when it does not fit. Returns buf.
 */
const char *eg_escape(char *buf, size_t size, const char *s);
/*
 * The site's LAN prefixes into out (EG_LAN_MAX): its own, or when it has
 * none the RFC 1918 ranges 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
 * Returns how many.
 */
unsigned eg_site_lan(const struct eg_site_rec *s, struct eg_prefix *out);
/* Parse "10.1.0.0/24,10.2.0.0/16" (or "" for none) into s->lan; message in
 * err naming the bad prefix. Host bits must be zero. */
int eg_lan_parse(const char *str, struct eg_site_rec *s, struct eg_err *err);
/* Render s->lan as "a/n,b/m" ("" when none) into buf. */
const char *eg_lan_str(const struct eg_site_rec *s, char *buf, size_t size);
/* Is pop (a POP name, ASCII case ignored) the site's primary or a backup? */
bool eg_site_has_pop(const struct eg_site_rec *s, const char *pop);
/* Validate an identity value for its type; message in err. */
int eg_ident_validate(enum eg_id_type t, const char *value, struct eg_err *err);

/* Validate every field of a site record (no database access). */
int eg_site_validate(const struct eg_site_rec *s, struct eg_err *err);
void eg_site_clear(struct eg_site_rec *s);	/* wipes the PSK, zeroes all */
/* Validate every field of a POP record (no database access). */
int eg_pop_validate(const struct eg_pop_rec *p, struct eg_err *err);

/*
 * Sites. Names are matched exactly. Source identities are unique and looked
 * up per type ignoring ASCII case (DNS names and email IDs are not case
 * sensitive in practice). Ports come back in ascending order, backup POPs
 * in preference order.
 */
int eg_site_add(struct eg_store *st, struct eg_site_rec *s, struct eg_err *err);
int eg_site_update(struct eg_store *st, const struct eg_site_rec *s,
		   struct eg_err *err);		/* by s->id */
int eg_site_get(struct eg_store *st, const char *name, struct eg_site_rec *s,
		struct eg_err *err);
int eg_site_get_by_id(struct eg_store *st, int64_t id, struct eg_site_rec *s,
		      struct eg_err *err);
/*
 * PSKs are kept apart (schema v4) and read only here: site records from
 * the functions above come with psk_len 0. An eg_site_update() with
 * psk_len 0 keeps the stored PSK. The caller wipes psk.
 */
int eg_site_psk_get(struct eg_store *st, int64_t id, uint8_t *psk,
		    size_t *len, struct eg_err *err);
int eg_site_delete(struct eg_store *st, const char *name, struct eg_err *err);
int eg_site_set_enabled(struct eg_store *st, const char *name, bool enabled,
			struct eg_err *err);
/* Look a site up by its IKE identity (exact match on type and value). */
int eg_site_find_ident(struct eg_store *st, enum eg_id_type t,
		       const char *value, struct eg_site_rec *s,
		       struct eg_err *err);
/* Look a site up by its source (outer) IPv4 address, network byte order. */
int eg_site_find_source_ip(struct eg_store *st, uint32_t be_addr,
			   struct eg_site_rec *s, struct eg_err *err);

/*
 * Iterate over all sites ordered by id; cb returning non-zero stops and that
 * value is returned. cb may call other store functions.
 */
typedef int (*eg_site_cb)(const struct eg_site_rec *s, void *arg);
int eg_site_foreach(struct eg_store *st, eg_site_cb cb, void *arg,
		    struct eg_err *err);
int64_t eg_site_count(struct eg_store *st);	/* or -errno */
/* One page of sites matching f, in name order; *total = all matches. */
int eg_site_query(struct eg_store *st, const struct eg_site_filter *f,
		  eg_site_cb cb, void *arg, int64_t *total, struct eg_err *err);
/* Record a status transition (ipsecd's scan of the XDP counters). */
int eg_site_set_status(struct eg_store *st, int64_t id, bool up, int64_t since,
		       struct eg_err *err);

/* POPs. */
int eg_pop_add(struct eg_store *st, struct eg_pop_rec *p, struct eg_err *err);
int eg_pop_update(struct eg_store *st, const struct eg_pop_rec *p,
		  struct eg_err *err);
int eg_pop_get(struct eg_store *st, const char *name, struct eg_pop_rec *p,
	       struct eg_err *err);
int eg_pop_delete(struct eg_store *st, const char *name, struct eg_err *err);
typedef int (*eg_pop_cb)(const struct eg_pop_rec *p, void *arg);
int eg_pop_foreach(struct eg_store *st, eg_pop_cb cb, void *arg,
		   struct eg_err *err);

/*
 * IKE SAs saved for a restart that keeps the tunnels: opaque records of
 * the IKE engine (ike_persist.c) under our SPI, with the wall clock (ms)
 * of the save. put with rec NULL forgets one; clear forgets all (a full
 * teardown). Records hold keys: the file is 0600, secure_delete is on.
 */
#define EG_IKE_SPI_LEN	8
#define EG_IKE_REC_MAX	12288
int eg_ike_rec_put(struct eg_store *st, const uint8_t spi[EG_IKE_SPI_LEN],
		   int64_t site_id, int64_t saved_at, const uint8_t *rec,
		   size_t len, struct eg_err *err);
typedef int (*eg_ike_rec_cb)(const uint8_t *spi, int64_t site_id, int64_t saved_at,
			     const uint8_t *rec, size_t len, void *arg);
int eg_ike_rec_foreach(struct eg_store *st, eg_ike_rec_cb cb, void *arg,
		       struct eg_err *err);
int eg_ike_rec_clear(struct eg_store *st, struct eg_err *err);

/*
 * Downstream health checks (schema v6): a TCP connect or an HTTP GET to a
 * service behind the POP. service says which sites depend on it: a
 * web-gateway check holds web-gateway and cloud-firewall sites, a
 * cloud-firewall check only cloud-firewall sites. pop "" runs on every
 * gateway, else only on the gateway of that POP.
 */
#define EG_HEALTH_PATH_MAX	128
#define EG_HEALTH_MAX		64	/* checks per store */
struct eg_health_rec {
	int64_t id;
	char name[EG_NAME_MAX + 1];
	char pop[EG_NAME_MAX + 1];
	enum eg_license service;
	bool http;			/* else a TCP connect */
	uint32_t addr;			/* network order */
	uint16_t port;			/* host order */
	char path[EG_HEALTH_PATH_MAX + 1];	/* HTTP: what to GET */
	uint16_t expect;		/* HTTP: the status that means up */
	uint32_t interval, timeout;	/* seconds */
	uint32_t rise, fall;		/* consecutive results to change */
};
int eg_health_validate(const struct eg_health_rec *h, struct eg_err *err);
int eg_health_add(struct eg_store *st, struct eg_health_rec *h, struct eg_err *err);
int eg_health_delete(struct eg_store *st, const char *name, struct eg_err *err);
typedef int (*eg_health_rec_cb)(const struct eg_health_rec *h, void *arg);
int eg_health_foreach(struct eg_store *st, eg_health_rec_cb cb, void *arg,
		      struct eg_err *err);

/*
 * Transactions, for all-or-nothing batches (enable/disable/delete, import).
 * Inside a batch a call that fails leaves no trace and the batch goes on;
 * a commit that fails rolls the whole batch back.
 */
int eg_store_begin(struct eg_store *st, struct eg_err *err);
int eg_store_commit(struct eg_store *st, struct eg_err *err);
void eg_store_rollback(struct eg_store *st);

/*
 * Schema migrations: step i (0-based) takes the schema from version i to
 * i + 1, in one transaction. eg_store_open() uses the built-in list; this
 * lets tests exercise the machinery with their own list.
 */
struct eg_migration {
	const char *sql;	/* one or more statements, no BEGIN/COMMIT */
};
int eg_store_open_migrations(struct eg_store **st, const char *path,
			     const struct eg_migration *steps, unsigned n_steps,
			     struct eg_err *err);
/* The built-in list (*n = EG_STORE_SCHEMA_VERSION), e.g. to make an old file. */
const struct eg_migration *eg_store_migrations(unsigned *n);

#endif /* EG_STORE_H */
