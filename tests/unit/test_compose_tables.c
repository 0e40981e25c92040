/* The Compose-compatibility tables of tests/compose/: interpolation.table
 * (compose values) and envfile.table (.env and env_file files), each case
 * an input and the value Docker Compose yields, or the error towlion gives
 * (see the head of each table for its format). */
#include "tl_test.h"

#include "core/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(line, cond, ...)                                                           \
	do {                                                                                 \
		if (!(cond)) {                                                                   \
			print_error("%s:%u: ", table, line);                                         \
			print_error(__VA_ARGS__);                                                    \
			print_error("\n");                                                           \
			failures++;                                                                  \
		}                                                                                \
	} while (0)

/* Undo the table's C escapes (\t \n \r \\ \xNN) in place; the length,
 * as a value may hold what C strings cannot show. */
static size_t unescape(char *s)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*w++ = *p;
			continue;
		}
		switch (*++p) {
		case 't': *w++ = '\t'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 'x': {
			char hex[3] = {p[1], p[1] ? p[2] : 0, 0};
			*w++ = (char)strtoul(hex, NULL, 16);
			p += 2;
			break;
		}
		default: *w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Split a line at tabs (empty fields count) into at most `max`
 * unescaped fields. */
static size_t fields(char *line, char **f, size_t *len, size_t max)
{
	size_t n = 0;
	for (char *t = line; t && n < max;) {
		char *tab = strchr(t, '\t');
		if (tab)
			*tab = '\0';
		f[n] = t;
		len[n++] = unescape(t);
		t = tab ? tab + 1 : NULL;
	}
	return n;
}

/* The next line of *text (cut in place), or NULL at the end. */
static char *next_line(char **text)
{
	char *l = *text;
	if (!l || !*l)
		return NULL;
	char *nl = strchr(l, '\n');
	if (nl)
		*nl = '\0';
	*text = nl ? nl + 1 : NULL;
	return l;
}

typedef struct {
	char *name[32], *value[32];
	size_t n;
} vars;

static const char *lookup(const char *name, void *p)
{
	vars *v = p;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->name[i], name))
			return v->value[i];
	return NULL;
}

/* "var NAME VALUE": true when the line was one. */
static int var_line(vars *v, char **f, size_t n)
{
	if (n < 2 || strcmp(f[0], "var") || v->n >= 32)
		return 0;
	v->name[v->n] = f[1];
	v->value[v->n++] = n > 2 ? f[2] : "";
	return 1;
}

static char *read_table(const char *table)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/compose/%s", TL_TEST_SOURCE_DIR, table);
	char *text = tl_test_read_file(path);
	assert_non_null(text);
	return text;
}

static void test_interpolation_table(void **state)
{
	const char *table = "interpolation.table";
	char *text = read_table(table);
	vars v = {0};
	unsigned line = 0, cases = 0;
	failures = 0;
	for (char *rest = text, *l; (l = next_line(&rest));) {
		line++;
		char *f[4];
		size_t len[4];
		if (l[0] == '#' || l[0] == '\0')
			continue;
		size_t n = fields(l, f, len, 4);
		if (var_line(&v, f, n))
			continue;
		CHECK(line, n >= 2, "a case is INPUT, TAB, =VALUE or !ERROR");
		if (n < 2)
			continue;
		cases++;
		tl_buf out = TL_BUF_INIT, missing = TL_BUF_INIT;
		int rc = tl__interpolate(&out, f[0], len[0], lookup, &v, &missing, 0);
		const char *want_missing = n > 2 && !strncmp(f[2], "missing=", 8) ? f[2] + 8 : "";
		if (f[1][0] == '=') {
			CHECK(line, rc == TL_OK, "[%s]: %s", f[0], tl_error_last()->message);
			CHECK(line, rc || (out.size == len[1] - 1 && !memcmp(out.ptr, f[1] + 1, out.size)),
			      "[%s]: got [%s], want [%s]", f[0], out.ptr, f[1] + 1);
			CHECK(line, rc || !strcmp(missing.ptr ? missing.ptr : "", want_missing),
			      "[%s]: missing [%s], want [%s]", f[0], missing.ptr ? missing.ptr : "",
			      want_missing);
		} else {
			CHECK(line, rc == TL_EINVALID, "[%s]: not refused", f[0]);
			CHECK(line, rc != TL_EINVALID || strstr(tl_error_last()->message, f[1] + 1),
			      "[%s]: \"%s\" does not say \"%s\"", f[0], tl_error_last()->message,
			      f[1] + 1);
		}
		tl_buf_dispose(&out);
		tl_buf_dispose(&missing);
	}
	free(text);
	assert_true(cases >= 40);
	assert_int_equal(failures, 0);
}

static int has_warning(const tl_envfile *env, const char *needle)
{
	for (size_t i = 0; i < tl_envfile_warning_count(env); i++)
		if (strstr(tl_envfile_warning(env, i), needle))
			return 1;
	return 0;
}

static void test_envfile_table(void **state)
{
	const char *table = "envfile.table";
	char *text = read_table(table);
	vars v = {0};
	tl_envfile_options o = TL_ENVFILE_OPTIONS_INIT;
	o.lookup = lookup;
	o.payload = &v;
	unsigned line = 0, cases = 0;
	failures = 0;
	for (char *rest = text, *l; (l = next_line(&rest));) {
		line++;
		char *f[4];
		size_t len[4];
		if (l[0] == '#' || l[0] == '\0')
			continue;
		size_t n = fields(l, f, len, 4);
		if (var_line(&v, f, n))
			continue;
		if (n == 2 && !strcmp(f[0], "mode")) {
			o.flags = !strcmp(f[1], "interpolate") ? TL_ENVFILE_INTERPOLATE : 0;
			continue;
		}
		CHECK(line, n >= 3, "a case is TEXT, KEY, =VALUE or unset or !ERROR");
		if (n < 3)
			continue;
		cases++;
		tl_envfile *env = NULL;
		int rc = tl_envfile_parse_with(&env, f[0], len[0], "case.env", &o);
		if (f[2][0] == '!') {
			const char *m = tl_error_last()->message;
			CHECK(line, rc == TL_EINVALID, "[%s]: not refused", f[0]);
			CHECK(line, rc != TL_EINVALID || strstr(m, f[2] + 1), "[%s]: \"%s\" does not say \"%s\"",
			      f[0], m, f[2] + 1);
			/* issue 22: an env file's error quotes nothing of it */
			CHECK(line, rc != TL_EINVALID || !strstr(m, "s3cr3t"), "[%s]: \"%s\" quotes the file",
			      f[0], m);
		} else {
			CHECK(line, rc == TL_OK, "[%s]: %s", f[0], tl_error_last()->message);
			const char *got = env ? tl_envfile_get(env, f[1]) : NULL;
			if (!strcmp(f[2], "unset"))
				CHECK(line, !got, "[%s]: %s is set", f[0], f[1]);
			else
				CHECK(line, got && strlen(got) == len[2] - 1 && !strcmp(got, f[2] + 1),
				      "[%s]: %s is [%s], want [%s]", f[0], f[1], got ? got : "(unset)",
				      f[2] + 1);
			if (n > 3 && !strncmp(f[3], "warning=", 8))
				CHECK(line, env && has_warning(env, f[3] + 8), "[%s]: no warning \"%s\"",
				      f[0], f[3] + 8);
			for (size_t i = 0; env && i < tl_envfile_warning_count(env); i++)
				CHECK(line, !strstr(tl_envfile_warning(env, i), "s3cr3t"),
				      "[%s]: warning \"%s\" quotes the file", f[0], tl_envfile_warning(env, i));
			/* an untouched file is written back byte for byte (BOM included),
			 * with a final newline */
			tl_buf again = TL_BUF_INIT;
			int nl = len[0] && f[0][len[0] - 1] != '\n';
			if (env && tl_envfile_render(&again, env) == TL_OK)
				CHECK(line, again.size == len[0] + (size_t)nl && !memcmp(again.ptr, f[0], len[0]),
				      "[%s]: renders as [%s]", f[0], again.ptr);
			tl_buf_dispose(&again);
		}
		tl_envfile_free(env);
	}
	free(text);
	assert_true(cases >= 40);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpolation_table),
		cmocka_unit_test(test_envfile_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
