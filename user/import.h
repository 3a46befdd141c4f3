/* SPDX-License-Identifier: GPL-2.0 */
/*
 * import.h - sites to and from CSV, in the cloud service's IPSec page
 * format:
 *
 *   tunnel name,source identity,source ip address,primary pop,failover pop,
 *   encryption cipher,psk,maximum bandwidth,enabled
 *
 * (one line) with rows such as
 *
 *   TunnelHQ,admin@abc.net,198.51.100.7,NYC1,ATL1,AES128-CBC,s3cret-psk-long-enough,50,true
 *
 * The CSV syntax is RFC 4180 as read by csv.h (BOM, CRLF/LF, quoted fields,
 * blanks around unquoted fields dropped).
 *
 * Header: the first non-empty line. Column names are matched ignoring ASCII
 * case and surrounding blanks, in any order. Required: tunnel name, source
 * identity, source ip address, primary pop, psk. Optional, empty when left
 * out: failover pop, encryption cipher, maximum bandwidth, enabled. A column
 * that is not one of the nine, or that appears twice, is an error: a typo
 * in a column name must not silently drop the data under it.
 *
 * Columns:
 *   tunnel name        the site name (store rules: [A-Za-z0-9._ -], 1..64)
 *   source identity    its type is inferred: a dotted quad is ipv4, a value
 *                      with '@' is email, anything else fqdn
 *   source ip address  strict dotted quad
 *   primary pop        name of an existing POP
 *   failover pop       backup POPs in preference order, separated by ';'
 *                      (export writes ';'; '|' is read the same way: neither
 *                      can be part of a POP name); blanks around each name
 *                      are dropped; empty = none; at most 9
 *   encryption cipher  empty = any, else one of EG_CIPHERS, case ignored
 *                      (stored in the table's spelling)
 *   psk                16..128 bytes, taken as is: quote it to keep
 *                      leading or trailing blanks
 *   maximum bandwidth  whole Mbps, 0..4294967295; empty or 0 = no limit
 *   enabled            true/false, yes/no, 1/0, case ignored; empty = true
 * Traffic type (user), license (web-gateway) and custom ports (none) are not
 * in the format and take these defaults on import; export leaves them out.
 * A row whose fields are all empty (",,,,,,,," as spreadsheets write it) is
 * skipped like an empty line.
 */
#ifndef EG_IMPORT_H
#define EG_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define EG_IMPORT_MAX_BYTES	(32U << 20)	/* the control socket's cap */
#define EG_IMPORT_MAX_ROWS	1000000		/* data rows of one file */
#define EG_IMPORT_MAX_ERRORS	1000		/* messages kept, then a count */
#define EG_IMPORT_FIELD_MAX	(64U << 10)	/* bytes of one CSV field */

struct eg_import_result {
	unsigned rows;		/* data rows read (empty lines not counted) */
	unsigned imported;	/* sites inserted: 0 on error or dry run */
	int64_t *ids;		/* their ids in file order, imported of them */
	/*
	 * "line N: reason", N the physical line (from 1, the header included)
	 * where the record starts, in line order. At most EG_IMPORT_MAX_ERRORS
	 * of them; when more were found the last entry says how many more.
	 */
	char **errors;
	unsigned n_errors;	/* entries in errors[] */
	unsigned total_errors;	/* problems found, shown or not */
};

/*
 * Import the CSV text csv[0..len) into st, all rows or none.
 *
 * Every row is read and checked first: CSV syntax, header, values (with the
 * store's validators, so the messages are the ones site add gives), names,
 * identities and source IPs used twice in the file or already in the store,
 * unknown POPs. Then, unless there was an error or dry_run is set, all rows
 * are inserted in one transaction (eg_store_begin .. eg_store_commit); a
 * failure there (a concurrent change) rolls everything back and is reported
 * like the others. A file with a header and no rows is fine: 0 imported.
 *
 * Returns 0 (res->imported sites inserted, their ids in res->ids; with
 * dry_run nothing is written and imported is 0), -EINVAL when the file has
 * errors (res->errors lists them, nothing was written, err->msg sums up), or
 * another -errno (-EFBIG input over EG_IMPORT_MAX_BYTES, -ENOMEM, -EBUSY
 * database locked or a batch already open, -EIO) with the reason in err.
 * res is always filled in and must be freed with eg_import_result_free().
 *
 * Secrets: PSKs pass only through buffers that are wiped before they are
 * freed; the caller wipes csv.
 *
 * After a successful import, ipsecd must give the new sites to the data path
 * (BPF maps, IKE): eg_import_foreach_added() hands it each one.
 */
int eg_site_import_csv(struct eg_store *st, const char *csv, size_t len,
		       bool dry_run, struct eg_import_result *res,
		       struct eg_err *err);
void eg_import_result_free(struct eg_import_result *res);

/*
 * Call cb for each site of a successful import, read back from the store by
 * id in file order (full records, PSK included, wiped after cb). Call it
 * right after the import, before other changes to the store. cb returning
 * non-zero stops the walk and that value is returned; the import itself is
 * committed whatever cb does.
 */
int eg_import_foreach_added(struct eg_store *st,
			    const struct eg_import_result *res,
			    eg_site_cb cb, void *arg, struct eg_err *err);

/*
 * Export every site as CSV in id order: the header above, columns in that
 * order, CRLF line ends, fields quoted when needed, 0 Mbps written as an
 * empty field. The psk column stays empty unless with_psk: a file for
 * re-import needs the PSKs, but the admin has to ask for them. A PSK that
 * cannot be written as CSV text (it holds a NUL byte) fails the export
 * with -EINVAL rather than be written wrong.
 *
 * *out is NUL-terminated text of *len bytes; free it with
 * eg_site_export_free(), which wipes it (it may hold PSKs).
 */
int eg_site_export_csv(struct eg_store *st, char **out, size_t *len,
		       bool with_psk, struct eg_err *err);
void eg_site_export_free(char *out, size_t len);

#endif /* EG_IMPORT_H */
