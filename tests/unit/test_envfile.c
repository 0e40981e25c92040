/* The env-file parser and editor. */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tl_envfile *parse(const char *text)
{
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_parse(&env, text, strlen(text), "test.env"));
	return env;
}

typedef struct {
	const char *text, *key, *value;
} value_case;

static const value_case values[] = {
	{"A=1", "A", "1"},
	{"A=hello world", "A", "hello world"},
	{"A = spaced", "A", "spaced"},
	{"export A=exported", "A", "exported"},
	{"export\tA=tab", "A", "tab"},
	{"A=", "A", ""},
	{"A=''", "A", ""},
	{"A=\"\"", "A", ""},
	{"A='single $HOME \\n'", "A", "single $HOME \\n"},
	{"A=\"double \\\"q\\\" \\\\ \\$HOME\"", "A", "double \"q\" \\ $HOME"},
	{"A=\"line1\\nline2\\ttab\"", "A", "line1\nline2\ttab"},
	{"A=\"multi\nline\"", "A", "multi\nline"},
	{"A='multi\r\nline'", "A", "multi\nline"},
	{"A=value # comment", "A", "value"},
	{"A=value#not-comment", "A", "value#not-comment"},
	{"A='quoted # kept' # comment", "A", "quoted # kept"},
	{"A=\"x\"   ", "A", "x"},
	{"A=trailing   ", "A", "trailing"},
	{"A=crlf\r\n", "A", "crlf"},
	{"_UNDER_9=ok", "_UNDER_9", "ok"},
	{"URL=postgresql://u:p%40ss@db:5432/x?sslmode=disable", "URL",
	 "postgresql://u:p%40ss@db:5432/x?sslmode=disable"},
	{"A=\"unknown \\q escape\"", "A", "unknown \\q escape"},
	{"A=it's", "A", "it's"},
	{"A=a=b=c", "A", "a=b=c"},
	{"exporter=1", "exporter", "1"},
	{"A=#", "A", "#"}, /* Compose: a comment starts at " #" */
	{"1A=x", "1A", "x"},
	{"A.B=1", "A.B", "1"},
	{"A=ü ñ 😀", "A", "ü ñ 😀"},
};

static void test_values(void **state)
{
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		tl_envfile *env = parse(values[i].text);
		const char *v = tl_envfile_get(env, values[i].key);
		if (!v || strcmp(v, values[i].value) != 0)
			fail_msg("case %zu [%s]: got [%s], want [%s]", i, values[i].text,
			         v ? v : "(null)", values[i].value);
		tl_envfile_free(env);
	}
}

typedef struct {
	const char *text;
	unsigned line;
	const char *needle;
} error_case;

static const error_case errors[] = {
	{"A='unterminated", 1, "unterminated single"},
	{"OK=1\nB=\"open\nstill open", 2, "unterminated double"},
	{"A x", 1, "expected '='"},
	{"=value", 1, "expected KEY=VALUE"},
	{"A='x' junk", 1, "after the closing quote"},
	{"\n\n# c\nA B=1", 4, "expected '='"},
	{"export =1", 1, "expected KEY=VALUE"},
	{"A:B", 1, "expected '='"},
	{"BARE", 1, "never passes its own environment"},
	{"ü=1", 1, "expected KEY=VALUE"},
	{"OK=1\r\nBAD LINE\r\n", 2, "expected '='"},
	{"A=\"x\"y", 1, "after the closing quote"},
};

static void test_errors_name_file_and_line(void **state)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		tl_envfile *env = NULL;
		int rc = tl_envfile_parse(&env, errors[i].text, strlen(errors[i].text), "app.env");
		if (rc != TL_EINVALID)
			fail_msg("case %zu [%s] parsed", i, errors[i].text);
		assert_null(env);
		char where[32];
		snprintf(where, sizeof(where), "app.env:%u:", errors[i].line);
		tl_assert_error_contains(where);
		tl_assert_error_contains(errors[i].needle);
	}
	tl_envfile *env = NULL;
	tl_assert_rc(TL_EINVALID, tl_envfile_parse(&env, "A=1\0B=2", 7, "nul.env"));
	tl_assert_error_contains("NUL");
}

/* A parse error names file, line and column and never quotes a byte of the
 * file: an env file holds secrets, and --env-file can be pointed at any
 * file (a line of /etc/shadow starts with a user name). */
static void test_errors_quote_nothing(void **state)
{
	static const struct {
		const char *text, *where, *secret;
	} cases[] = {
		{"OK=1\nsk_live_9f8e7d6c5b4a token\n", "secrets.env:2:22:", "sk_live"},
		{"daemon:*:19000:0:99999:7:::\n", "secrets.env:1:7:", "daemon"},
		{"A=1\nB='hunter2' hunter3\n", "secrets.env:2:13:", "hunter"},
		{"PASSWORD=\"s3cr3t-no-end\n", "secrets.env:1:10:", "s3cr3t"},
		{"\x1b[2J=x\n", "secrets.env:1:1:", "[2J"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_envfile *env = NULL;
		tl_assert_rc(TL_EINVALID, tl_envfile_parse(&env, cases[i].text,
		                                           strlen(cases[i].text), "secrets.env"));
		const char *m = tl_error_last()->message;
		if (!strstr(m, cases[i].where))
			fail_msg("case %zu: \"%s\" does not name %s", i, m, cases[i].where);
		if (strstr(m, cases[i].secret))
			fail_msg("case %zu: \"%s\" quotes the file", i, m);
	}
}

static void test_duplicates_last_wins_with_warning(void **state)
{
	tl_envfile *env = parse("A=1\nB=2\nA=3\n");
	assert_string_equal(tl_envfile_get(env, "A"), "3");
	assert_int_equal(tl_envfile_count(env), 2);
	assert_int_equal(tl_envfile_warning_count(env), 1);
	assert_non_null(strstr(tl_envfile_warning(env, 0), "test.env:3"));
	assert_non_null(strstr(tl_envfile_warning(env, 0), "line 1"));
	assert_null(tl_envfile_warning(env, 1));
	assert_int_equal(tl_envfile_line(env, "A"), 3);
	const char *k, *v;
	tl_assert_ok(tl_envfile_at(env, 0, &k, &v));
	assert_string_equal(k, "B");
	tl_assert_ok(tl_envfile_at(env, 1, &k, &v));
	assert_string_equal(k, "A");
	assert_string_equal(v, "3");
	tl_assert_rc(TL_ENOTFOUND, tl_envfile_at(env, 2, &k, &v));
	tl_envfile_free(env);
}

static void test_edit_keeps_comments_and_order(void **state)
{
	const char *orig = "# app settings\n"
	                   "export DEBUG=false   # keep me\n"
	                   "\n"
	                   "NAME='My App'\r\n"
	                   "DATABASE_URL=old\n"
	                   "# trailing comment\n";
	tl_envfile *env = parse(orig);
	tl_assert_ok(tl_envfile_set(env, "DATABASE_URL", "postgresql://u:p@h/db"));
	tl_assert_ok(tl_envfile_set(env, "SECRET", "has space and 'quote'"));
	tl_assert_ok(tl_envfile_set(env, "MULTI", "a\nb$c\"d"));
	tl_assert_ok(tl_envfile_set(env, "EMPTY", ""));
	tl_buf out = TL_BUF_INIT;
	tl_assert_ok(tl_envfile_render(&out, env));
	assert_string_equal(out.ptr, "# app settings\n"
	                             "export DEBUG=false   # keep me\n"
	                             "\n"
	                             "NAME='My App'\r\n"
	                             "DATABASE_URL=postgresql://u:p@h/db\n"
	                             "# trailing comment\n"
	                             "SECRET=\"has space and 'quote'\"\n"
	                             "MULTI=\"a\\nb\\$c\\\"d\"\n"
	                             "EMPTY=\n");
	/* What we write reads back to the same values. */
	tl_envfile *again = parse(out.ptr);
	assert_string_equal(tl_envfile_get(again, "SECRET"), "has space and 'quote'");
	assert_string_equal(tl_envfile_get(again, "MULTI"), "a\nb$c\"d");
	assert_string_equal(tl_envfile_get(again, "NAME"), "My App");
	assert_string_equal(tl_envfile_get(again, "EMPTY"), "");
	tl_envfile_free(again);

	tl_assert_ok(tl_envfile_unset(env, "NAME"));
	tl_assert_rc(TL_ENOTFOUND, tl_envfile_unset(env, "NAME"));
	assert_null(tl_envfile_get(env, "NAME"));
	tl_assert_rc(TL_EINVALID, tl_envfile_set(env, "BAD KEY", "x"));
	tl_assert_rc(TL_EINVALID, tl_envfile_set(env, "9X", "x"));
	tl_assert_rc(TL_EINVALID, tl_envfile_set(env, "", "x"));
	tl_buf_dispose(&out);
	tl_envfile_free(env);
}

static void test_set_on_duplicate_updates_live_entry(void **state)
{
	tl_envfile *env = parse("A=1\nA=2\n");
	tl_assert_ok(tl_envfile_set(env, "A", "3"));
	tl_buf out = TL_BUF_INIT;
	tl_assert_ok(tl_envfile_render(&out, env));
	assert_string_equal(out.ptr, "A=1\nA=3\n");
	tl_buf_dispose(&out);
	tl_envfile_free(env);
}

/* What towlion writes reads back the same under Compose's rules, for
 * values that sit on their edges (a trailing backslash cannot end a
 * single-quoted value; $ and # must stay literal; octal-looking text). */
static void test_written_values_read_back(void **state)
{
	static const char *const awkward[] = {
		"a b\\", "\\", "x'y\\", "$HOME #x", "#", "\\0101", "a\\'b", "\\$", "${A:-b}",
		" lead", "tab\there", "\xef\xbb\xbf",
	};
	for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
		tl_envfile *env = parse("");
		tl_assert_ok(tl_envfile_set(env, "K", awkward[i]));
		tl_buf out = TL_BUF_INIT;
		tl_assert_ok(tl_envfile_render(&out, env));
		tl_envfile *again = NULL;
		tl_envfile_options o = TL_ENVFILE_OPTIONS_INIT;
		for (int mode = 0; mode < 2; mode++) {
			o.flags = mode ? TL_ENVFILE_INTERPOLATE : 0;
			tl_assert_ok(tl_envfile_parse_with(&again, out.ptr, out.size, "w", &o));
			if (strcmp(tl_envfile_get(again, "K"), awkward[i]))
				fail_msg("[%s] written as [%s] reads back as [%s] (mode %d)", awkward[i],
				         out.ptr, tl_envfile_get(again, "K"), mode);
			tl_envfile_free(again);
		}
		tl_buf_dispose(&out);
		tl_envfile_free(env);
	}
}

static void test_open_save_mode_and_atomic(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/app.env", dir);
	tl_envfile *env = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_envfile_open(&env, path, 0));
	tl_assert_ok(tl_envfile_open(&env, path, TL_ENVFILE_CREATE));
	assert_int_equal(tl_envfile_count(env), 0);
	tl_assert_ok(tl_envfile_set(env, "TOKEN", "s3cr3t"));
	mode_t old = umask(0);
	tl_assert_ok(tl_envfile_save(env, NULL, 0600));
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tl_envfile_free(env);

	/* Comments survive an open/set/save cycle; no temp file is left. */
	tl_test_write_file(path, "# keep\nTOKEN=s3cr3t\nOTHER=1\n", 0644);
	tl_assert_ok(tl_envfile_open(&env, path, 0));
	tl_assert_ok(tl_envfile_set(env, "TOKEN", "new"));
	tl_assert_ok(tl_envfile_save(env, NULL, 0600));
	tl_envfile_free(env);
	char *text = tl_test_read_file(path);
	assert_string_equal(text, "# keep\nTOKEN=new\nOTHER=1\n");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	tl_test_rmdir(dir);
}

static void test_bad_arguments(void **state)
{
	tl_envfile *env = NULL;
	tl_assert_rc(TL_EINVALID, tl_envfile_parse(NULL, "A=1", 3, NULL));
	tl_assert_rc(TL_EINVALID, tl_envfile_parse(&env, NULL, 3, NULL));
	tl_assert_ok(tl_envfile_parse(&env, NULL, 0, NULL));
	assert_int_equal(tl_envfile_count(env), 0);
	tl_assert_rc(TL_EINVALID, tl_envfile_save(env, NULL, 0600)); /* no path */
	tl_envfile_free(env);
	tl_envfile_free(NULL);
	assert_null(tl_envfile_get(NULL, "A"));
	tl_assert_rc(TL_EINVALID, tl_envfile_open(&env, "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_duplicates_last_wins_with_warning),
		cmocka_unit_test(test_edit_keeps_comments_and_order),
		cmocka_unit_test(test_set_on_duplicate_updates_live_entry),
		cmocka_unit_test(test_written_values_read_back),
		cmocka_unit_test(test_open_save_mode_and_atomic),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_errors_quote_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
