/* The strict number parsers (lib/core/parse.c): a table of inputs with the
 * value expected, or the error and the words its message must hold. */
#include "tl_test.h"
#include "core/core.h"

#include <string.h>

enum kind { UINT, DUR, DUR_BARE_S, SIZE };

typedef struct {
	enum kind kind;
	const char *text;
	uint64_t min, max;
	int rc;              /* TL_OK or TL_EINVALID */
	uint64_t want;       /* when rc == TL_OK */
	const char *message; /* a part of the message when rc != TL_OK */
} row;

#define U64MAX UINT64_MAX
static const row rows[] = {
	/* whole numbers */
	{UINT, "0", 0, 10, TL_OK, 0, NULL},
	{UINT, "10", 0, 10, TL_OK, 10, NULL},
	{UINT, "007", 0, 10, TL_OK, 7, NULL},
	{UINT, "18446744073709551615", 0, U64MAX, TL_OK, U64MAX, NULL},
	{UINT, "18446744073709551616", 0, U64MAX, TL_EINVALID, 0, "whole number"},
	{UINT, "99999999999999999999999", 0, U64MAX, TL_EINVALID, 0, "whole number"},
	{UINT, "11", 0, 10, TL_EINVALID, 0, "from 0 to 10"},
	{UINT, "0", 1, 10, TL_EINVALID, 0, "from 1 to 10"},
	{UINT, "-1", 0, U64MAX, TL_EINVALID, 0, "\"-1\""},
	{UINT, "+1", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, "", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, " 1", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, "1 ", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, "1\n", 0, 10, TL_EINVALID, 0, "\\x0a"},
	{UINT, "1x", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, "0x10", 0, 100, TL_EINVALID, 0, "whole number"},
	{UINT, "1e3", 0, 10000, TL_EINVALID, 0, "whole number"},
	{UINT, "1.0", 0, 10, TL_EINVALID, 0, "whole number"},
	{UINT, "abc", 0, 10, TL_EINVALID, 0, "whole number"},
	/* durations, unit required */
	{DUR, "10s", 0, U64MAX, TL_OK, 10000, NULL},
	{DUR, "500ms", 0, U64MAX, TL_OK, 500, NULL},
	{DUR, "2m", 0, U64MAX, TL_OK, 120000, NULL},
	{DUR, "1h", 0, U64MAX, TL_OK, 3600000, NULL},
	{DUR, "0s", 0, U64MAX, TL_OK, 0, NULL},
	{DUR, "10", 0, U64MAX, TL_EINVALID, 0, "expected a duration like 10s, 500ms, 2m"},
	{DUR, "abc", 0, U64MAX, TL_EINVALID, 0, "expected a duration like 10s, 500ms, 2m"},
	{DUR, "10s\n}", 0, U64MAX, TL_EINVALID, 0, "\"10s\\x0a}\""},
	{DUR, "-1s", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "1.5s", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "10 s", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "10S", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "10sec", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "s", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "10d", 0, U64MAX, TL_EINVALID, 0, "expected a duration"},
	{DUR, "18446744073709551615h", 0, U64MAX, TL_EINVALID, 0, "use 0 to"},
	{DUR, "100ms", 1000, 86400000, TL_EINVALID, 0, "use 1 to 86400 s"},
	{DUR, "25h", 1000, 86400000, TL_EINVALID, 0, "use 1 to 86400 s"},
	{DUR, "250ms", 100, 1000, TL_OK, 250, NULL},
	{DUR, "50ms", 100, 1000, TL_EINVALID, 0, "use 100 to 1000 ms"},
	/* durations, a bare number in seconds */
	{DUR_BARE_S, "30", 0, U64MAX, TL_OK, 30000, NULL},
	{DUR_BARE_S, "30s", 0, U64MAX, TL_OK, 30000, NULL},
	{DUR_BARE_S, "-1", 0, U64MAX, TL_EINVALID, 0, "a bare number is seconds"},
	{DUR_BARE_S, "4294967296", 1000, 86400000, TL_EINVALID, 0, "use 1 to 86400 s"},
	/* sizes */
	{SIZE, "0", 0, U64MAX, TL_OK, 0, NULL},
	{SIZE, "4096", 0, U64MAX, TL_OK, 4096, NULL},
	{SIZE, "512k", 0, U64MAX, TL_OK, 512ull << 10, NULL},
	{SIZE, "10m", 0, U64MAX, TL_OK, 10ull << 20, NULL},
	{SIZE, "10MB", 0, U64MAX, TL_OK, 10ull << 20, NULL},
	{SIZE, "1g", 0, U64MAX, TL_OK, 1ull << 30, NULL},
	{SIZE, "1.5g", 0, U64MAX, TL_OK, 3ull << 29, NULL},
	{SIZE, "0.5k", 0, U64MAX, TL_OK, 512, NULL},
	{SIZE, "2t", 0, U64MAX, TL_OK, 2ull << 40, NULL},
	{SIZE, "100b", 0, U64MAX, TL_OK, 100, NULL},
	{SIZE, "-5", 0, U64MAX, TL_EINVALID, 0, "expected a size like 4096, 512k"},
	{SIZE, "1.5", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "1.", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, ".5g", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "1.0000001g", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "10x", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "10mm", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "10m\n", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "1e9", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "nan", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "inf", 0, U64MAX, TL_EINVALID, 0, "expected a size"},
	{SIZE, "16777216t", 0, U64MAX, TL_EINVALID, 0, "bytes"},
	{SIZE, "18446744073709551615k", 0, U64MAX, TL_EINVALID, 0, "bytes"},
	{SIZE, "0", 1, U64MAX, TL_EINVALID, 0, "use 1 to"},
	{SIZE, "2g", 0, 1ull << 30, TL_EINVALID, 0, "use 0 to 1073741824 bytes"},
};

static int parse(const row *r, uint64_t *out)
{
	switch (r->kind) {
	case UINT: return tl_parse_uint(out, r->text, r->min, r->max, "--n");
	case DUR: return tl_parse_duration_ms(out, r->text, 0, r->min, r->max, "--interval");
	case DUR_BARE_S:
		return tl_parse_duration_ms(out, r->text, 1000, r->min, r->max, "--timeout");
	case SIZE: return tl_parse_size(out, r->text, r->min, r->max, "--max-body");
	}
	return TL_EINVALID;
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const row *r = &rows[i];
		uint64_t out = 0xdeadbeef;
		tl_error_clear();
		int rc = parse(r, &out);
		if (rc != r->rc)
			fail_msg("row %zu \"%s\": rc %d, want %d (%s)", i, r->text, rc, r->rc,
			         tl_error_last()->message);
		if (rc == TL_OK) {
			if (out != r->want)
				fail_msg("row %zu \"%s\": %llu, want %llu", i, r->text,
				         (unsigned long long)out, (unsigned long long)r->want);
			continue;
		}
		/* Out untouched, the message names the option, never a raw control. */
		assert_int_equal(out, 0xdeadbeef);
		const char *m = tl_error_last()->message;
		assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_INPUT);
		if (!strstr(m, r->message) || !strstr(m, "invalid --"))
			fail_msg("row %zu \"%s\": message \"%s\" lacks \"%s\"", i, r->text, m,
			         r->message);
		for (const char *p = m; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
}

static void test_arguments(void **state)
{
	uint64_t out;
	tl_assert_rc(TL_EINVALID, tl_parse_uint(NULL, "1", 0, 1, "x"));
	tl_assert_rc(TL_EINVALID, tl_parse_uint(&out, NULL, 0, 1, "x"));
	tl_assert_rc(TL_EINVALID, tl_parse_size(&out, "1", 2, 1, "x"));
	tl_assert_rc(TL_EINVALID, tl_parse_duration_ms(&out, NULL, 0, 0, 1, NULL));
	/* The internal size parser keeps its int64 range. */
	int64_t s = 0;
	tl_assert_rc(TL_OK, tl__parse_size(&s, "512m"));
	assert_int_equal(s, 512ll << 20);
	tl_assert_rc(TL_EINVALID, tl__parse_size(&s, "8589934592g"));
}

/* The decimal grammar (cpus) and the digit scanner the library's own
 * formats use: no sign, exponent, hex, inf/nan, space or trailing text. */
static void test_decimal_and_digits(void **state)
{
	static const struct {
		const char *text;
		int rc;
		double want;
	} d[] = {
		{"1.5", TL_OK, 1.5},     {"2", TL_OK, 2},         {"0.25", TL_OK, 0.25},
		{"1.5x", TL_EINVALID, 0}, {"1e3", TL_EINVALID, 0}, {"0x10", TL_EINVALID, 0},
		{"-1", TL_EINVALID, 0},   {"+1", TL_EINVALID, 0},  {"inf", TL_EINVALID, 0},
		{"nan", TL_EINVALID, 0},  {".5", TL_EINVALID, 0},  {"1.", TL_EINVALID, 0},
		{" 1", TL_EINVALID, 0},   {"1\n", TL_EINVALID, 0}, {"", TL_EINVALID, 0},
		{"1025", TL_EINVALID, 0}, {"1.0000000001", TL_EINVALID, 0},
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		double v = -7;
		tl_error_clear();
		int rc = tl__parse_decimal(&v, d[i].text, 0, 1024, "cpus");
		if (rc != d[i].rc)
			fail_msg("\"%s\": rc %d, want %d", d[i].text, rc, d[i].rc);
		if (rc == TL_OK)
			assert_true(v == d[i].want);
		else {
			assert_true(v == -7);
			tl_assert_error_contains("invalid cpus");
		}
	}
	uint64_t n = 0;
	const char *p = "42 7\n";
	assert_true(tl__parse_digits(&n, &p));
	assert_int_equal(n, 42);
	assert_string_equal(p, " 7\n");
	p = "-1";
	assert_false(tl__parse_digits(&n, &p));
	p = "18446744073709551616";
	assert_false(tl__parse_digits(&n, &p));
}

/* The hex scanner (/proc/net/tcp, XML character references): digits of
 * either case only, at most the width asked for. */
static void test_hex_digits(void **state)
{
	uint64_t n = 7;
	const char *p = "1F40 rest";
	assert_true(tl__parse_hex_digits(&n, &p, 4));
	assert_int_equal(n, 0x1F40);
	assert_string_equal(p, " rest");
	p = "ffffffffffffffff";
	assert_true(tl__parse_hex_digits(&n, &p, 16));
	assert_true(n == UINT64_MAX);
	static const char *const bad[] = {"", "+1F", "-1F", " 1F", "g", "1F400"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 7;
		p = bad[i];
		if (tl__parse_hex_digits(&n, &p, 4))
			fail_msg("hex \"%s\" taken", bad[i]);
		assert_ptr_equal(p, bad[i]);
		assert_int_equal(n, 7);
	}
	p = "0x1F"; /* a prefix scanner: the caller sees the 'x' */
	assert_true(tl__parse_hex_digits(&n, &p, 4));
	assert_int_equal(n, 0);
	assert_string_equal(p, "x1F");
	p = "10000000000000000"; /* 17 digits: more than 64 bits whatever the width */
	assert_false(tl__parse_hex_digits(&n, &p, 32));
}

/* Fixed-layout UTC times: backup names, S3 dates, certificates. */
static void test_utc(void **state)
{
	static const struct {
		const char *text, *layout;
		bool ok;
		int64_t want;
	} t[] = {
		{"20261130T044444Z", "%Y%m%dT%H%M%SZ", true, 1796013884},
		{"2026-11-30T04:44:44.123Z", "%Y-%m-%dT%H:%M:%S%fZ", true, 1796013884},
		{"2026-11-30T04:44:44Z", "%Y-%m-%dT%H:%M:%S%fZ", true, 1796013884},
		{"Mon, 30 Nov 2026 04:44:44 GMT", "%a, %d %b %Y %H:%M:%S GMT", true, 1796013884},
		{"261130044444Z", "%y%m%d%H%M%SZ", true, 1796013884},
		{"500101000000Z", "%y%m%d%H%M%SZ", true, -631152000},
		{"20240229000000", "%Y%m%d%H%M%S", true, 1709164800},
		/* what sscanf("%2d") or timegm() let through */
		{"2026113 T044444Z", "%Y%m%dT%H%M%SZ", false, 0},
		{"2026-1-30T04:44:44Z", "%Y-%m-%dT%H:%M:%S%fZ", false, 0},
		{"+026-11-30T04:44:44Z", "%Y-%m-%dT%H:%M:%S%fZ", false, 0},
		{"2026-11-30T04:44:44.Z", "%Y-%m-%dT%H:%M:%S%fZ", false, 0},
		{"2026-11-30T04:44:44.1234567890Z", "%Y-%m-%dT%H:%M:%S%fZ", false, 0},
		{"20230229000000", "%Y%m%d%H%M%S", false, 0},
		{"20261131000000", "%Y%m%d%H%M%S", false, 0},
		{"20261130240000", "%Y%m%d%H%M%S", false, 0},
		{"20261130006000", "%Y%m%d%H%M%S", false, 0},
		{"20261130000060", "%Y%m%d%H%M%S", false, 0},
		{"20260030000000", "%Y%m%d%H%M%S", false, 0},
		{"20261300000000", "%Y%m%d%H%M%S", false, 0},
		{"20261130000000Z", "%Y%m%d%H%M%S", false, 0},
		{"2026113000000", "%Y%m%d%H%M%S", false, 0},
		{"Sun, 30 Nov 2026 04:44:44 GMT", "%a, %d %b %Y %H:%M:%S GMT", false, 0},
		{"Mon, 30 nov 2026 04:44:44 GMT", "%a, %d %b %Y %H:%M:%S GMT", false, 0},
		{"Mon, 30 Nov 2026 04:44:44 UTC", "%a, %d %b %Y %H:%M:%S GMT", false, 0},
		{"2611300444-4Z", "%y%m%d%H%M%SZ", false, 0},
		{"20261130", "%Y%m%d%q", false, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t v = 7;
		bool ok = tl__parse_utc(&v, t[i].text, strlen(t[i].text), t[i].layout);
		if (ok != t[i].ok || (ok && v != t[i].want))
			fail_msg("\"%s\" as %s: %s %lld", t[i].text, t[i].layout, ok ? "ok" : "refused",
			         (long long)v);
		if (!ok)
			assert_int_equal(v, 7);
	}
	/* only the n bytes given: a name's timestamp inside a longer text */
	int64_t v = 0;
	assert_true(tl__parse_utc(&v, "20261130T044444Z.dump.zst", 16, "%Y%m%dT%H%M%SZ"));
	assert_int_equal(v, 1796013884);
	assert_false(tl__parse_utc(&v, "2026", 3, "%Y"));
	assert_false(tl__parse_utc(&v, NULL, 0, "%Y"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_decimal_and_digits),
		cmocka_unit_test(test_hex_digits),
		cmocka_unit_test(test_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
