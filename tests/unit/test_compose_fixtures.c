/* The compose reader against the fixture files in tests/compose/: every
 * good file loads and yields the expected plan, every broken or hostile
 * one is refused with the expected message and line (see
 * tests/compose/README.md for the .expect format). */
#include "tl_test.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "towlion/compose.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                                 \
		if (!(cond)) {                                                                   \
			print_error("%s: ", name);                                                   \
			print_error(__VA_ARGS__);                                                    \
			print_error("\n");                                                           \
			failures++;                                                                  \
		}                                                                                \
	} while (0)

/* Walk a dot path with @name lookups in arrays. */
static json_t *walk(json_t *j, const char *path)
{
	char *copy = strdup(path);
	char *save = NULL;
	for (char *seg = strtok_r(copy, ".", &save); seg && j; seg = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j) && seg[0] == '@') {
			size_t i;
			json_t *e, *found = NULL;
			json_array_foreach(j, i, e) {
				const char *n = json_string_value(json_object_get(e, "name"));
				if (n && !strcmp(n, seg + 1))
					found = e;
			}
			j = found;
		} else if (json_is_array(j)) {
			j = json_array_get(j, strtoul(seg, NULL, 10));
		} else {
			j = json_object_get(j, seg);
		}
	}
	free(copy);
	return j;
}

static char *replace_dir(const char *s, const char *dir)
{
	tl_buf b = TL_BUF_INIT;
	size_t cap = strlen(s) * 2 + strlen(dir) * 8 + 16;
	b.ptr = malloc(cap);
	b.ptr[0] = '\0';
	for (const char *p = s; *p;) {
		if (!strncmp(p, "$DIR", 4)) {
			strcat(b.ptr, dir);
			p += 4;
		} else if (!strncmp(p, "$ROOT", 5)) {
			strncat(b.ptr, dir, (size_t)(strrchr(dir, '/') - dir));
			p += 5;
		} else {
			size_t l = strlen(b.ptr);
			b.ptr[l] = *p++;
			b.ptr[l + 1] = '\0';
		}
	}
	return b.ptr;
}

static void run_fixture(const char *dir, const char *name)
{
	char path[1400], expect_path[1400];
	snprintf(path, sizeof(path), "%s/%s.yml", dir, name);
	snprintf(expect_path, sizeof(expect_path), "%s/%s.expect", dir, name);
	char *expect = tl_test_read_file(expect_path);
	CHECK(expect != NULL, "missing %s", expect_path);
	if (!expect)
		return;
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	tl_buf vars_text = TL_BUF_INIT;
	char envfile[1400] = "";
	/* first pass: the load options */
	char *copy = strdup(expect);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "policy strict"))
			o.policy = TL_COMPOSE_STRICT;
		else if (!strncmp(line, "var ", 4)) {
			size_t l = vars_text.size, n = strlen(line + 4);
			vars_text.ptr = realloc(vars_text.ptr, l + n + 2);
			memcpy(vars_text.ptr + l, line + 4, n);
			vars_text.ptr[l + n] = '\n';
			vars_text.ptr[l + n + 1] = '\0';
			vars_text.size = l + n + 1;
		} else if (!strncmp(line, "envfile ", 8)) {
			snprintf(envfile, sizeof(envfile), "%s/%s", dir, line + 8);
			o.env_file = envfile;
			o.flags &= ~TL_COMPOSE_NO_ENV_FILE;
		}
	}
	free(copy);
	tl_envfile *vars = NULL;
	if (vars_text.size) {
		tl_assert_ok(tl_envfile_parse(&vars, vars_text.ptr, vars_text.size, "vars"));
		o.vars = vars;
	}
	tl_compose *c = NULL;
	int rc = tl_compose_load(&c, path, &o);
	char *message = strdup(tl_error_last()->message);
	json_t *plan = NULL;
	if (rc == TL_OK) {
		tl_buf js = TL_BUF_INIT;
		tl_assert_ok(tl_compose_to_json(&js, c));
		plan = json_loads(js.ptr, 0, NULL);
		tl_buf_dispose(&js);
	}
	/* second pass: the expectations */
	copy = strdup(expect);
	save = NULL;
	int checked = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "result ", 7)) {
			const char *want = line + 7;
			int code = !strcmp(want, "OK") ? TL_OK : !strcmp(want, "EINVALID") ? TL_EINVALID
			                                                                  : 999;
			CHECK(rc == code, "expected %s, got %s: %s", want, tl_strerror(rc), message);
			checked++;
		} else if (!strncmp(line, "error ", 6)) {
			CHECK(rc != TL_OK && strstr(message, line + 6), "error \"%s\" lacks \"%s\"", message,
			      line + 6);
			checked++;
		} else if (!strncmp(line, "line ", 5)) {
			char want[600];
			snprintf(want, sizeof(want), "%s.yml:%s:", name, line + 5);
			CHECK(rc != TL_OK && strstr(message, want), "error \"%s\" is not at %s", message,
			      want);
			checked++;
		} else if (!strncmp(line, "warnings ", 9)) {
			size_t n = c ? tl_compose_warning_count(c) : 0;
			CHECK(n == strtoul(line + 9, NULL, 10), "%zu warnings, expected %s", n, line + 9);
			for (size_t i = 0; c && n != strtoul(line + 9, NULL, 10) && i < n; i++)
				print_error("  warning: %s\n", tl_compose_warning_at(c, i));
			checked++;
		} else if (!strncmp(line, "warning ", 8)) {
			int found = 0;
			for (size_t i = 0; c && i < tl_compose_warning_count(c); i++)
				found |= strstr(tl_compose_warning_at(c, i), line + 8) != NULL;
			CHECK(found, "no warning contains \"%s\"", line + 8);
			checked++;
		} else if (!strncmp(line, "json ", 5)) {
			char *eq = strstr(line, " = ");
			CHECK(eq != NULL, "bad json line %s", line);
			if (!eq || !plan)
				continue;
			*eq = '\0';
			char *value = replace_dir(eq + 3, dir);
			json_error_t je;
			json_t *want = json_loads(value, JSON_DECODE_ANY, &je);
			CHECK(want != NULL, "bad JSON value %s: %s", value, je.text);
			json_t *got = walk(plan, line + 5);
			char *gots = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : strdup("(none)");
			/* compare numbers by value (0.5 vs 0.50), everything else exactly */
			int same = want && got && (json_equal(want, got) ||
			                           (json_is_number(want) && json_is_number(got) &&
			                            json_number_value(want) == json_number_value(got)));
			CHECK(same, "%s is %s, expected %s", line + 5, gots, value);
			free(gots);
			free(value);
			json_decref(want);
			checked++;
		}
	}
	CHECK(checked > 0, "the .expect file checks nothing");
	free(copy);
	json_decref(plan);
	free(message);
	tl_compose_free(c);
	tl_envfile_free(vars);
	free(vars_text.ptr);
	free(expect);
}

static int run_dir(const char *sub, int want_ok)
{
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/tests/compose/%s", TL_TEST_SOURCE_DIR, sub);
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".yml"))
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(l - 4), e->d_name);
		int before = failures;
		run_fixture(dir, name);
		if (failures == before)
			print_message("ok   %s/%s\n", sub, name);
		n++;
	}
	closedir(d);
	(void)want_ok;
	return n;
}

static void test_good_files(void **state)
{
	failures = 0;
	int n = run_dir("good", 1);
	assert_true(n >= 15);
	assert_int_equal(failures, 0);
}

static void test_bad_files(void **state)
{
	failures = 0;
	int n = run_dir("bad", 0);
	assert_true(n >= 20);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
