// SPDX-License-Identifier: GPL-2.0
/*
 * csv.c - RFC 4180 CSV reader and writer over memory buffers (see csv.h).
 *
 * The reader walks the input once, byte by byte, and copies the value of
 * each field (quotes removed, doubled quotes undone) into one buffer per
 * record. The buffers can hold PSKs, so they are never realloc()ed: a bigger
 * one is allocated, the old one wiped and freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "csv.h"

/* Grow a buffer that may hold secrets to at least need bytes. */
static int secret_grow(char **buf, size_t used, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 256;
	char *nb;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > ((size_t)-1) / 2)
			return -ENOMEM;
		n *= 2;
	}
	nb = malloc(n);
	if (!nb)
		return -ENOMEM;
	if (*buf) {
		memcpy(nb, *buf, used);
		OPENSSL_cleanse(*buf, *cap);
		free(*buf);
	}
	*buf = nb;
	*cap = n;
	return 0;
}

/* ---- reader ---- */

void eg_csv_reader_init(struct eg_csv_reader *r, const char *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->end = data + len;
	r->line = 1;
	r->field_max = EG_CSV_FIELD_MAX;
	r->fields_max = EG_CSV_FIELDS_MAX;
	/* a UTF-8 byte order mark, as spreadsheets write it */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		r->p += 3;
}

void eg_csv_reader_free(struct eg_csv_reader *r)
{
	if (r->buf) {
		OPENSSL_cleanse(r->buf, r->buf_cap);
		free(r->buf);
	}
	free(r->fields);
	free(r->offs);
	r->buf = NULL;
	r->fields = NULL;
	r->offs = NULL;
	r->buf_cap = r->buf_len = 0;
	r->offs_cap = r->n_fields = 0;
	r->done = true;
}

static bool is_break(char c)
{
	return c == '\n' || c == '\r';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Consume the line break at r->p: CRLF, LF or a lone CR. */
static void eat_break(struct eg_csv_reader *r)
{
	if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
		r->p++;
	r->p++;
	r->line++;
}

static void skip_blanks(struct eg_csv_reader *r)
{
	while (r->p < r->end && is_blank(*r->p))
		r->p++;
}

/* A NUL byte ends the input: it is not text. */
static int nul_fail(struct eg_csv_reader *r, struct eg_err *err)
{
	unsigned line = r->line;

	r->done = true;
	r->p = r->end;
	if (line != r->rec_line)
		return eg_fail(err, EINVAL,
			       "NUL byte (on line %u): the input is not text; if it is UTF-16, save it as UTF-8",
			       line);
	return eg_fail(err, EINVAL,
		       "NUL byte: the input is not text; if it is UTF-16, save it as UTF-8");
}

/*
 * Append len bytes to the value of the field being read, which already has
 * *n bytes (stored or not). Bytes past field_max are counted, not stored.
 */
static int put(struct eg_csv_reader *r, bool keep, const char *s, size_t len,
	       size_t *n)
{
	size_t room, k;
	int ret;

	if (keep && *n < r->field_max) {
		room = r->field_max - *n;
		k = len < room ? len : room;
		ret = secret_grow(&r->buf, r->buf_len, &r->buf_cap,
				  r->buf_len + k + 1);
		if (ret)
			return ret;
		memcpy(r->buf + r->buf_len, s, k);
		r->buf_len += k;
	}
	*n += len;
	return 0;
}

/* Make room for one more field in fields[] and offs[]. */
static int fields_room(struct eg_csv_reader *r)
{
	struct eg_csv_field *f;
	unsigned n;
	size_t *o;

	if (r->n_fields < r->offs_cap)
		return 0;
	n = r->offs_cap ? r->offs_cap * 2 : 16;
	if (n > r->fields_max)
		n = r->fields_max;
	f = realloc(r->fields, n * sizeof(*f));
	if (!f)
		return -ENOMEM;
	r->fields = f;
	o = realloc(r->offs, n * sizeof(*o));
	if (!o)
		return -ENOMEM;
	r->offs = o;
	r->offs_cap = n;
	return 0;
}

/*
 * Read one field; r->p is left at the ',' or line break that ends it, or at
 * the end. *bad is set with the reason in err on the first problem of the
 * record; the rest of the record is still read, but not kept.
 */
static int field(struct eg_csv_reader *r, bool *bad, struct eg_err *err)
{
	unsigned idx = r->n_fields + 1, open;
	const char *s, *e;
	bool keep, quoted = false, stray = false;
	size_t n = 0;
	int ret;

	if (!*bad && r->n_fields >= r->fields_max) {
		*bad = true;
		eg_fail(err, EINVAL, "more than %u fields", r->fields_max);
	}
	keep = !*bad;
	skip_blanks(r);
	if (r->p < r->end && *r->p == '"') {
		/* RFC 4180 2.5-2.7: line breaks, commas, "" inside quotes */
		quoted = true;
		open = r->line;
		r->p++;
		for (;;) {
			if (r->p >= r->end) {
				r->done = true;
				return eg_fail(err, EINVAL,
					       "unterminated quoted field %u (its quote opens on line %u)",
					       idx, open);
			}
			s = r->p;
			while (r->p < r->end && *r->p != '"' && *r->p &&
			       !is_break(*r->p))
				r->p++;
			ret = put(r, keep, s, r->p - s, &n);
			if (ret)
				return ret;
			if (r->p >= r->end)
				continue;
			if (!*r->p)
				return nul_fail(r, err);
			if (is_break(*r->p)) {
				/* kept verbatim; CRLF counts as one line */
				if (*r->p == '\r' && r->p + 1 < r->end &&
				    r->p[1] == '\n') {
					ret = put(r, keep, r->p, 2, &n);
					r->p += 2;
				} else {
					ret = put(r, keep, r->p, 1, &n);
					r->p++;
				}
				r->line++;
				if (ret)
					return ret;
				continue;
			}
			/* a quote: doubled, or the closing one */
			if (r->p + 1 < r->end && r->p[1] == '"') {
				ret = put(r, keep, r->p, 1, &n);
				if (ret)
					return ret;
				r->p += 2;
				continue;
			}
			r->p++;
			break;
		}
		skip_blanks(r);
		if (r->p < r->end && *r->p != ',' && !is_break(*r->p)) {
			if (!*r->p)
				return nul_fail(r, err);
			if (!*bad) {
				*bad = true;
				eg_fail(err, EINVAL,
					"field %u: text after the closing quote; a quote inside a quoted field is written twice (\"\")",
					idx);
			}
			/* skip the rest of the field */
			while (r->p < r->end && *r->p != ',' &&
			       !is_break(*r->p)) {
				if (!*r->p)
					return nul_fail(r, err);
				r->p++;
			}
		}
	} else {
		s = r->p;
		while (r->p < r->end && *r->p != ',' && !is_break(*r->p)) {
			if (*r->p == '"')
				stray = true;
			else if (!*r->p)
				return nul_fail(r, err);
			r->p++;
		}
		for (e = r->p; e > s && is_blank(e[-1]); e--)
			;
		if (stray && !*bad) {
			*bad = true;
			eg_fail(err, EINVAL,
				"field %u: a '\"' inside an unquoted field; put the field in quotes and write the quote twice (\"\")",
				idx);
		}
		ret = put(r, keep && !*bad, s, e - s, &n);
		if (ret)
			return ret;
	}
	if (n > r->field_max && !*bad) {
		*bad = true;
		eg_fail(err, EINVAL, "field %u is longer than %zu bytes", idx,
			r->field_max);
	}
	if (*bad)
		return 0;
	ret = fields_room(r);
	if (ret)
		return ret;
	/* the value is the last n bytes of buf; end it with a NUL */
	ret = secret_grow(&r->buf, r->buf_len, &r->buf_cap, r->buf_len + 1);
	if (ret)
		return ret;
	r->buf[r->buf_len++] = '\0';
	r->offs[r->n_fields] = r->buf_len - 1 - n;
	r->fields[r->n_fields].len = n;
	r->fields[r->n_fields].quoted = quoted;
	r->n_fields++;
	return 0;
}

int eg_csv_next(struct eg_csv_reader *r, struct eg_err *err)
{
	bool bad = false;
	unsigned i;
	int ret;

	if (r->done)
		return 0;
	/* empty lines between records */
	while (r->p < r->end && is_break(*r->p))
		eat_break(r);
	if (r->p >= r->end) {
		r->done = true;
		return 0;
	}
	r->rec_line = r->line;
	r->n_fields = 0;
	r->buf_len = 0;
	for (;;) {
		ret = field(r, &bad, err);
		if (ret) {
			r->n_fields = 0;
			return ret;
		}
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end)
			eat_break(r);
		break;
	}
	if (bad) {
		r->n_fields = 0;
		return -EINVAL;
	}
	/* buf does not move any more: point the fields into it */
	for (i = 0; i < r->n_fields; i++)
		r->fields[i].s = r->buf + r->offs[i];
	return 1;
}

/* ---- writer ---- */

void eg_csv_writer_init(struct eg_csv_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void eg_csv_writer_free(struct eg_csv_writer *w)
{
	if (w->buf) {
		OPENSSL_cleanse(w->buf, w->cap);
		free(w->buf);
	}
	memset(w, 0, sizeof(*w));
}

void eg_csv_text_free(char *text, size_t len)
{
	if (!text)
		return;
	OPENSSL_cleanse(text, len + 1);
	free(text);
}

static int w_fail(struct eg_csv_writer *w, int ret)
{
	if (!w->err)
		w->err = ret;
	return w->err;
}

/* Room for extra more bytes and the NUL. */
static int w_room(struct eg_csv_writer *w, size_t extra)
{
	int ret;

	if (extra > ((size_t)-1) / 4)
		return w_fail(w, -ENOMEM);
	ret = secret_grow(&w->buf, w->len, &w->cap, w->len + extra + 1);
	return ret ? w_fail(w, ret) : 0;
}

static bool needs_quotes(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	if (is_blank(s[0]) || is_blank(s[len - 1]))
		return true;
	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || is_break(s[i]))
			return true;
	return false;
}

int eg_csv_put(struct eg_csv_writer *w, const char *s, size_t len)
{
	bool q = needs_quotes(s, len);
	size_t i;
	int ret;

	if (w->err)
		return w->err;
	/* separator, quotes, every byte doubled at worst */
	ret = w_room(w, 1 + 2 + 2 * len);
	if (ret)
		return ret;
	if (w->n_fields)
		w->buf[w->len++] = ',';
	if (q) {
		w->buf[w->len++] = '"';
		for (i = 0; i < len; i++) {
			if (s[i] == '"')
				w->buf[w->len++] = '"';
			w->buf[w->len++] = s[i];
		}
		w->buf[w->len++] = '"';
	} else {
		memcpy(w->buf + w->len, s, len);
		w->len += len;
	}
	w->buf[w->len] = '\0';
	w->n_fields++;
	w->last_empty = !len;
	return 0;
}

int eg_csv_put_str(struct eg_csv_writer *w, const char *s)
{
	return eg_csv_put(w, s, strlen(s));
}

int eg_csv_end(struct eg_csv_writer *w)
{
	int ret;

	if (w->err)
		return w->err;
	ret = w_room(w, 4);
	if (ret)
		return ret;
	/* a lone empty field would be an empty line, which readers skip */
	if (w->n_fields == 0 || (w->n_fields == 1 && w->last_empty)) {
		w->buf[w->len++] = '"';
		w->buf[w->len++] = '"';
	}
	w->buf[w->len++] = '\r';
	w->buf[w->len++] = '\n';
	w->buf[w->len] = '\0';
	w->n_fields = 0;
	return 0;
}

int eg_csv_take(struct eg_csv_writer *w, char **out, size_t *len)
{
	int ret = w->err;

	*out = NULL;
	*len = 0;
	if (!ret && !w->buf)
		ret = w_room(w, 0);
	if (ret) {
		eg_csv_writer_free(w);
		return ret;
	}
	w->buf[w->len] = '\0';
	*out = w->buf;
	*len = w->len;
	/* eg_csv_text_free() wipes len + 1 bytes: nothing past was written */
	w->buf = NULL;
	eg_csv_writer_free(w);
	return 0;
}
