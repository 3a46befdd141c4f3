/* SPDX-License-Identifier: GPL-2.0 */
/*
 * csv.h - an RFC 4180 CSV reader and writer, over memory buffers.
 *
 * Reader, what it accepts (RFC 4180 section 2, plus what spreadsheets write):
 * - records end with CRLF, LF or a lone CR; the last one may lack it;
 * - a UTF-8 byte order mark at the very start is skipped;
 * - empty physical lines are skipped (they still count for line numbers);
 * - a field in double quotes may hold commas, line breaks and doubled
 *   quotes (""), kept verbatim;
 * - spaces and tabs around a field are dropped, inside the quotes they are
 *   kept: to keep a leading or trailing space, quote the field;
 * - bytes are passed through as they are (no charset check).
 * What it refuses: a NUL byte (the input is not text, often UTF-16), a quote
 * inside an unquoted field (abc"def), anything but spaces between a closing
 * quote and the next comma, a quote that is never closed, a field longer
 * than field_max bytes and a record of more than fields_max fields.
 *
 * A bad record is reported and skipped whole, so that the caller can go on
 * and report the next one; a NUL byte or an unterminated quote end the input
 * (nothing after them can be read reliably).
 *
 * Writer: fields separated by ',', records ended by CRLF (RFC 4180), a field
 * quoted when it holds ',', '"', CR or LF or starts or ends with a space or
 * a tab (the reader would drop those), quotes doubled.
 *
 * Both keep values in buffers they own; those may hold secrets (PSKs), so
 * they are wiped with OPENSSL_cleanse() before being freed or grown.
 */
#ifndef EG_CSV_H
#define EG_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

#define EG_CSV_FIELD_MAX	(64U << 10)	/* bytes of one field, default */
#define EG_CSV_FIELDS_MAX	64		/* fields of one record, default */

struct eg_csv_field {
	const char *s;		/* NUL-terminated, holds no NUL */
	size_t len;
	bool quoted;		/* was in double quotes */
};

struct eg_csv_reader {
	const char *p, *end;	/* input not yet read */
	unsigned line;		/* physical line of p, from 1 */
	unsigned rec_line;	/* line where the last record started */
	size_t field_max;	/* limits, may be lowered after init */
	unsigned fields_max;
	bool done;		/* end of input, or a fatal error */
	/* the last record */
	struct eg_csv_field *fields;
	unsigned n_fields;
	/* private: the unquoted values of the last record */
	char *buf;
	size_t buf_len, buf_cap;
	size_t *offs;		/* offset of each field in buf while parsing */
	unsigned offs_cap;
};

/* Read len bytes at data, which must stay valid until the reader is freed. */
void eg_csv_reader_init(struct eg_csv_reader *r, const char *data, size_t len);
/*
 * Read the next record into r->fields / r->n_fields, valid until the next
 * call. Returns 1 for a record, 0 at the end of the input, -EINVAL for a bad
 * record (the reason in err, its first line in r->rec_line; call again for
 * the next record), -ENOMEM.
 */
int eg_csv_next(struct eg_csv_reader *r, struct eg_err *err);
/* Wipe and free what the reader holds (not the input). */
void eg_csv_reader_free(struct eg_csv_reader *r);

struct eg_csv_writer {
	char *buf;		/* NUL-terminated text so far */
	size_t len, cap;
	unsigned n_fields;	/* fields in the current record */
	bool last_empty;	/* the last field written was empty */
	int err;		/* first failure, sticky (-ENOMEM) */
};

void eg_csv_writer_init(struct eg_csv_writer *w);
/* Append one field of len bytes to the current record; 0 or -ENOMEM. */
int eg_csv_put(struct eg_csv_writer *w, const char *s, size_t len);
int eg_csv_put_str(struct eg_csv_writer *w, const char *s);
/* End the current record (CRLF); 0 or the sticky error. */
int eg_csv_end(struct eg_csv_writer *w);
/*
 * Hand the text over: *out (NUL-terminated, *len bytes without the NUL)
 * belongs to the caller, who wipes and frees it with eg_csv_text_free().
 * Returns the sticky error instead if there was one, and frees the text.
 */
int eg_csv_take(struct eg_csv_writer *w, char **out, size_t *len);
/* Wipe and free what the writer holds. */
void eg_csv_writer_free(struct eg_csv_writer *w);
/* Wipe and free a text from eg_csv_take() (len bytes plus its NUL). */
void eg_csv_text_free(char *text, size_t len);

#endif /* EG_CSV_H */
