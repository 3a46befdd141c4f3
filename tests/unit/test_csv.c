// SPDX-License-Identifier: GPL-2.0
/*
 * test_csv.c - the RFC 4180 reader and writer (user/csv.c).
 *
 * Reader cases are a table: input bytes, limits, and the expected sequence
 * of records and errors written as text, one per line:
 *   "3:[a][b]"   a record that starts on line 3 with fields "a" and "b"
 *   "4!reason"   a bad record that starts on line 4
 * Field bytes are shown with \n, \r, \t and \xNN escapes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DUMP_MAX	4096

static size_t show(char *out, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = s[i];

		if (c == '\n')
			o += snprintf(out + o, size - o, "\\n");
		else if (c == '\r')
			o += snprintf(out + o, size - o, "\\r");
		else if (c == '\t')
			o += snprintf(out + o, size - o, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			o += snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

/* Read everything; records and errors as text (see the top). */
static void dump(struct eg_csv_reader *r, char *out, size_t size)
{
	struct eg_err err;
	size_t o = 0;
	unsigned i;
	int ret;

	out[0] = '\0';
	while ((ret = eg_csv_next(r, &err)) != 0) {
		if (ret == -EINVAL) {
			o += snprintf(out + o, size - o, "%u!%s\n", r->rec_line,
				      err.msg);
			continue;
		}
		assert_int_equal(ret, 1);
		o += snprintf(out + o, size - o, "%u:", r->rec_line);
		for (i = 0; i < r->n_fields; i++) {
			const struct eg_csv_field *f = &r->fields[i];

			/* NUL-terminated at len, and no NUL inside */
			assert_int_equal(f->s[f->len], '\0');
			assert_int_equal(strlen(f->s), f->len);
			out[o++] = '[';
			o += show(out + o, size - o, f->s, f->len);
			out[o++] = ']';
		}
		out[o++] = '\n';
		out[o] = '\0';
		assert_true(o < size - 64);
	}
	/* the end is sticky */
	assert_int_equal(eg_csv_next(r, &err), 0);
}

struct rcase {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	size_t field_max;	/* 0: default */
	unsigned fields_max;	/* 0: default */
	const char *want;
};

#define NUL_MSG "NUL byte: the input is not text; if it is UTF-16, save it as UTF-8"

static const struct rcase rcases[] = {
	{ "simple", "a,b,c\n1,2,3\n", .want = "1:[a][b][c]\n2:[1][2][3]\n" },
	{ "no final newline", "a,b\n1,2", .want = "1:[a][b]\n2:[1][2]\n" },
	{ "crlf", "a,b\r\n1,2\r\n", .want = "1:[a][b]\n2:[1][2]\n" },
	{ "crlf no final", "a,b\r\n1,2", .want = "1:[a][b]\n2:[1][2]\n" },
	{ "lone cr", "a\rb\r\rc", .want = "1:[a]\n2:[b]\n4:[c]\n" },
	{ "mixed breaks", "a\r\nb\nc\rd", .want = "1:[a]\n2:[b]\n3:[c]\n4:[d]\n" },
	{ "bom", "\xef\xbb\xbf" "a,b\n", .want = "1:[a][b]\n" },
	{ "bom only at start", "x\n\xef\xbb\xbfy\n",
	  .want = "1:[x]\n2:[\\xef\\xbb\\xbfy]\n" },
	{ "bom alone", "\xef\xbb\xbf", .want = "" },
	{ "empty input", "", .want = "" },
	{ "only breaks", "\n\r\n\r", .want = "" },
	{ "empty lines counted", "\n\na\n\n\nb\n", .want = "3:[a]\n6:[b]\n" },
	{ "empty crlf lines", "\r\n\r\na\r\n\r\nb", .want = "3:[a]\n5:[b]\n" },
	{ "comma in quotes", "\"a,b\",c\n", .want = "1:[a,b][c]\n" },
	{ "doubled quotes", "\"say \"\"hi\"\"\",x\n",
	  .want = "1:[say \"hi\"][x]\n" },
	{ "only a doubled quote", "\"\"\"\"\n", .want = "1:[\"]\n" },
	{ "newline in quotes", "\"l1\nl2\",x\nnext\n",
	  .want = "1:[l1\\nl2][x]\n3:[next]\n" },
	{ "crlf in quotes is one line", "\"a\r\nb\",c\r\nd\r\n",
	  .want = "1:[a\\r\\nb][c]\n3:[d]\n" },
	{ "cr in quotes", "\"a\rb\"\nc", .want = "1:[a\\rb]\n3:[c]\n" },
	{ "empty fields", ",,\n", .want = "1:[][][]\n" },
	{ "trailing comma", "a,\n", .want = "1:[a][]\n" },
	{ "quoted empty", "\"\"\n\"\",\"\"\n", .want = "1:[]\n2:[][]\n" },
	{ "blanks trimmed", "  a  , b\t,\t c \n", .want = "1:[a][b][c]\n" },
	{ "inner blanks kept", "a b , c  d\n", .want = "1:[a b][c  d]\n" },
	{ "blanks kept in quotes", "\" a \",  \"b\"  ,c\n",
	  .want = "1:[ a ][b][c]\n" },
	{ "blank line is a record", "   \nx\n", .want = "1:[]\n2:[x]\n" },
	{ "utf-8 passes", "Zürich,東京\n",
	  .want = "1:[Z\\xc3\\xbcrich][\\xe6\\x9d\\xb1\\xe4\\xba\\xac]\n" },
	{ "unterminated quote", "a,\"bc\nd\n",
	  .want = "1!unterminated quoted field 2 (its quote opens on line 1)\n" },
	{ "unterminated after good", "ok\n\n\"x,y",
	  .want = "1:[ok]\n3!unterminated quoted field 1 (its quote opens on line 3)\n" },
	{ "unterminated by a doubled quote", "\"ab\"\"\n",
	  .want = "1!unterminated quoted field 1 (its quote opens on line 1)\n" },
	{ "stray quote", "ab\"c,d\nnext\n",
	  .want = "1!field 1: a '\"' inside an unquoted field; put the field in quotes and write the quote twice (\"\")\n2:[next]\n" },
	{ "text after closing quote", "x,\"ab\"c,d\ny\n",
	  .want = "1!field 2: text after the closing quote; a quote inside a quoted field is written twice (\"\")\n2:[y]\n" },
	{ "skipped record keeps line count", "\"a\"x,\"m\nn\"\nz\n",
	  .want = "1!field 1: text after the closing quote; a quote inside a quoted field is written twice (\"\")\n3:[z]\n" },
	{ "nul", "a,b\nc\0d\ne\n", 10,
	  .want = "1:[a][b]\n2!" NUL_MSG "\n" },
	{ "nul in quotes", "\"a\nb\0\"\n", 7,
	  .want = "1!NUL byte (on line 2): the input is not text; if it is UTF-16, save it as UTF-8\n" },
	{ "nul after quote", "\"a\"\0\n", 5, .want = "1!" NUL_MSG "\n" },
	{ "utf-16", "\xff\xfe" "a\0,\0b\0", 8, .want = "1!" NUL_MSG "\n" },
	{ "field at the limit", "12345678,x\n", 0, 8,
	  .want = "1:[12345678][x]\n" },
	{ "field over the limit", "123456789,x\nz\n", 0, 8,
	  .want = "1!field 1 is longer than 8 bytes\n2:[z]\n" },
	{ "quoted over the limit", "y,\"ab\ncd\ne\",x\nz\n", 0, 4,
	  .want = "1!field 2 is longer than 4 bytes\n4:[z]\n" },
	{ "trimmed blanks do not count", "  1234  \n", 0, 4,
	  .want = "1:[1234]\n" },
	{ "fields at the limit", "a,b,c\n", 0, 0, 3, .want = "1:[a][b][c]\n" },
	{ "too many fields", "a,b,c,d\ne\n", 0, 0, 3,
	  .want = "1!more than 3 fields\n2:[e]\n" },
	{ "first error wins", "a\"b,\"c\"d\nz", .want =
	  "1!field 1: a '\"' inside an unquoted field; put the field in quotes and write the quote twice (\"\")\n2:[z]\n" },
};

static void test_reader_table(void **state)
{
	char got[DUMP_MAX];
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rcases); i++) {
		const struct rcase *c = &rcases[i];
		struct eg_csv_reader r;

		eg_csv_reader_init(&r, c->in, c->len ? c->len : strlen(c->in));
		if (c->field_max)
			r.field_max = c->field_max;
		if (c->fields_max)
			r.fields_max = c->fields_max;
		dump(&r, got, sizeof(got));
		eg_csv_reader_free(&r);
		if (strcmp(got, c->want))
			fail_msg("case '%s':\n got:\n%s want:\n%s", c->name, got,
				 c->want);
	}
}

/* The default limit is 64 KiB per field, counted after unquoting. */
static void test_reader_default_field_max(void **state)
{
	size_t n = EG_CSV_FIELD_MAX, len;
	struct eg_csv_reader r;
	struct eg_err err;
	char *in;

	(void)state;
	in = malloc(2 * n + 64);
	assert_non_null(in);
	/* one at the limit, quoted, with a doubled quote inside */
	in[0] = '"';
	memset(in + 1, 'a', n + 1);
	in[1] = '"';
	in[2] = '"';
	len = n + 2;
	len += sprintf(in + len, "\",x\n");
	/* one byte over */
	memset(in + len, 'b', n + 1);
	len += n + 1;
	len += sprintf(in + len, "\nlast");

	eg_csv_reader_init(&r, in, len);
	assert_int_equal(eg_csv_next(&r, &err), 1);
	assert_int_equal(r.n_fields, 2);
	assert_int_equal(r.fields[0].len, n);
	assert_int_equal(r.fields[0].s[0], '"');
	assert_true(r.fields[0].quoted);
	assert_string_equal(r.fields[1].s, "x");
	assert_int_equal(eg_csv_next(&r, &err), -EINVAL);
	assert_int_equal(r.rec_line, 2);
	assert_string_equal(err.msg, "field 1 is longer than 65536 bytes");
	assert_int_equal(eg_csv_next(&r, &err), 1);
	assert_string_equal(r.fields[0].s, "last");
	assert_false(r.fields[0].quoted);
	assert_int_equal(eg_csv_next(&r, &err), 0);
	eg_csv_reader_free(&r);
	free(in);
}

/* Fields stay valid until the next call, whatever the buffer growth. */
static void test_reader_many_fields(void **state)
{
	struct eg_csv_reader r;
	struct eg_err err;
	char in[4096], want[8];
	size_t o = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < EG_CSV_FIELDS_MAX; i++)
		o += sprintf(in + o, "%s%u", i ? "," : "", i * 1000);
	eg_csv_reader_init(&r, in, o);
	assert_int_equal(eg_csv_next(&r, &err), 1);
	assert_int_equal(r.n_fields, EG_CSV_FIELDS_MAX);
	for (i = 0; i < r.n_fields; i++) {
		snprintf(want, sizeof(want), "%u", i * 1000);
		assert_string_equal(r.fields[i].s, want);
	}
	eg_csv_reader_free(&r);
}

struct wcase {
	const char *name;
	const char *fields[8];	/* NULL-terminated */
	const char *want;
};

static const struct wcase wcases[] = {
	{ "plain", { "a", "b", NULL }, "a,b\r\n" },
	{ "comma", { "a,b", "c", NULL }, "\"a,b\",c\r\n" },
	{ "quote", { "say \"hi\"", NULL }, "\"say \"\"hi\"\"\"\r\n" },
	{ "newlines", { "l1\nl2", "x\ry", NULL }, "\"l1\nl2\",\"x\ry\"\r\n" },
	{ "edge blanks", { " lead", "trail ", "\ttab", "in side", NULL },
	  "\" lead\",\"trail \",\"\ttab\",in side\r\n" },
	{ "empty fields", { "", "", NULL }, ",\r\n" },
	{ "one empty field", { "", NULL }, "\"\"\r\n" },
	{ "no field", { NULL }, "\"\"\r\n" },
	{ "utf-8 untouched", { "Zürich", NULL }, "Zürich\r\n" },
};

static void test_writer_table(void **state)
{
	struct eg_csv_writer w;
	unsigned i, j;
	size_t len;
	char *out;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(wcases); i++) {
		eg_csv_writer_init(&w);
		for (j = 0; wcases[i].fields[j]; j++)
			assert_int_equal(eg_csv_put_str(&w,
							wcases[i].fields[j]), 0);
		assert_int_equal(eg_csv_end(&w), 0);
		assert_int_equal(eg_csv_take(&w, &out, &len), 0);
		if (strcmp(out, wcases[i].want))
			fail_msg("case '%s': got '%s'", wcases[i].name, out);
		assert_int_equal(len, strlen(out));
		eg_csv_text_free(out, len);
	}
	/* nothing written: an empty text, not NULL */
	eg_csv_writer_init(&w);
	assert_int_equal(eg_csv_take(&w, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 0);
	eg_csv_text_free(out, len);
}

/* Random records from a nasty alphabet: write, read back, same fields. */
static void test_round_trip(void **state)
{
	static const char alpha[] = "a,\"\r\n \tx";
	struct eg_csv_writer w;
	struct eg_csv_reader r;
	struct eg_err err;
	char f[64][16];
	unsigned n[64], rec, i, j, lens[64];
	size_t len;
	char *out;

	(void)state;
	srand(4180);
	for (rec = 0; rec < 2000; rec++) {
		unsigned nf = 1 + rand() % 6;

		eg_csv_writer_init(&w);
		for (i = 0; i < nf; i++) {
			lens[i] = rand() % 8;
			for (j = 0; j < lens[i]; j++)
				f[i][j] = alpha[rand() % (sizeof(alpha) - 1)];
			f[i][lens[i]] = '\0';
			assert_int_equal(eg_csv_put(&w, f[i], lens[i]), 0);
		}
		assert_int_equal(eg_csv_end(&w), 0);
		/* a second record checks where the first one ended */
		assert_int_equal(eg_csv_put_str(&w, "end"), 0);
		assert_int_equal(eg_csv_end(&w), 0);
		assert_int_equal(eg_csv_take(&w, &out, &len), 0);

		eg_csv_reader_init(&r, out, len);
		assert_int_equal(eg_csv_next(&r, &err), 1);
		assert_int_equal(r.rec_line, 1);
		if (r.n_fields != nf)
			fail_msg("record %u: %u fields, want %u: '%s'", rec,
				 r.n_fields, nf, out);
		for (i = 0; i < nf; i++) {
			n[i] = r.fields[i].len;
			assert_int_equal(n[i], lens[i]);
			assert_memory_equal(r.fields[i].s, f[i], lens[i]);
		}
		assert_int_equal(eg_csv_next(&r, &err), 1);
		assert_string_equal(r.fields[0].s, "end");
		assert_int_equal(eg_csv_next(&r, &err), 0);
		eg_csv_reader_free(&r);
		eg_csv_text_free(out, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_table),
		cmocka_unit_test(test_reader_default_field_max),
		cmocka_unit_test(test_reader_many_fields),
		cmocka_unit_test(test_writer_table),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
