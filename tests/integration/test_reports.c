/*
 * A report over every app asks Docker for the containers once
 * (tl__report_begin: lib/docker/snapshot.c), against the harness's real
 * dockerd, and still tells what is:
 *  - tl_status and tl_metrics_render over three apps send one container
 *    list to Docker, where each app alone sends one of its own; the
 *    answers are the same as each app asked alone;
 *  - apps named as prefixes of each other ("rp<pid>" and "rp<pid>-2")
 *    never see each other's containers through the shared list;
 *  - a container removed by hand between two reports is gone from the
 *    second; one removed through the context inside a report is gone
 *    from the apps asked after it (a change drops the list).
 * The apps have no release: their containers are leftovers, listed by
 * name, which is what the shared list must get exactly right.
 * Everything created is labelled towlion.test=reports and removed.
 */
#include "tl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "towlion/docker.h"

#define BUSYBOX "towlion-test/busybox:latest"
#define NAPPS 3

static char *tmp;
static tl_ctx *ctx;
static char apps[NAPPS][40]; /* "rp<pid>", "rp<pid>-2" and "rp<pid>-3" */
/* Containers per app: the prefix "rp<pid>" one, two of "rp<pid>-2", none. */
static const int want[NAPPS] = {1, 2, 0};
static char names[3][64];

static unsigned long lists_now(void)
{
	unsigned long lists = 0;
	tl__ctx_docker_counts(ctx, NULL, &lists);
	return lists;
}

/* A stopped-at-will busybox carrying the labels the platform sets. */
static void make_container(tl_docker *d, const char *name, const char *project)
{
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, BUSYBOX));
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	const char *argv[] = {"sleep", "300", NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "reports"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.project", project));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "web"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.release", "r-gone"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_buf id = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_create(&id, d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(d, id.ptr));
	tl_buf_dispose(&id);
}

static void remove_quietly(tl_docker *d, const char *name)
{
	if (tl_docker_container_remove(d, name, TL_DOCKER_REMOVE_FORCE) != TL_OK)
		tl_error_clear();
}

static int setup(void **state)
{
	(void)state;
	if (!TL_TEST_REQUIRE("TOWLION_DOCKER_HOST"))
		return -1;
	tmp = tl_test_tmpdir();
	ctx = tl_test_ctx(1);
	tl_test_ctx_dirs(ctx, tmp, "state apps backups caddy");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "towlion.test"));
	snprintf(apps[0], sizeof(apps[0]), "rp%d", (int)getpid());
	snprintf(apps[1], sizeof(apps[1]), "rp%d-2", (int)getpid());
	snprintf(apps[2], sizeof(apps[2]), "rp%d-3", (int)getpid());
	for (size_t i = 0; i < NAPPS; i++)
		tl_assert_ok(tl_app_create(NULL, ctx, apps[i], NULL));
	snprintf(names[0], sizeof(names[0]), "%s-web-a", apps[0]);
	snprintf(names[1], sizeof(names[1]), "%s-web-b", apps[1]);
	snprintf(names[2], sizeof(names[2]), "%s-web-c", apps[1]);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	make_container(d, names[0], apps[0]);
	make_container(d, names[1], apps[1]);
	make_container(d, names[2], apps[1]);
	tl_docker_free(d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!ctx)
		return 0;
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) == TL_OK)
		for (size_t i = 0; i < 3; i++)
			remove_quietly(d, names[i]);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	tl_test_rmdir(tmp);
	ctx = NULL;
	return 0;
}

/* The leftover names of `st`, sorted, joined by spaces. */
static void leftovers_of(char *out, size_t size, const tl_app_status *st)
{
	const char *v[8] = {0};
	size_t n = tl_app_status_leftover_count(st);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		v[i] = tl_app_status_leftover_at(st, i)->name;
	for (size_t i = 1; i < n; i++) /* insertion sort: two at most */
		for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
			const char *t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", v[i]);
}

/* Each app's leftovers, each app asked alone: one list per app. */
static void test_alone_each_app_lists_once(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAPPS; i++) {
		unsigned long before = lists_now();
		tl_app_status *st = NULL;
		tl_assert_ok(tl_app_status_get(&st, ctx, apps[i]));
		assert_int_equal(lists_now() - before, 1);
		assert_int_equal(tl_app_status_leftover_count(st), want[i]);
		tl_app_status_free(st);
	}
}

/* The whole report: one list, and every app's own containers only
 * ("rp<pid>" does not take "rp<pid>-2"'s, though its name is a prefix). */
static void test_report_lists_once_and_keeps_apps_apart(void **state)
{
	(void)state;
	unsigned long before = lists_now();
	tl_status_report *r = NULL;
	tl_assert_ok(tl_status(&r, ctx, NULL));
	assert_int_equal(lists_now() - before, 1);
	assert_int_equal(tl_status_app_count(r), NAPPS);
	char got[256], expect[256];
	for (size_t i = 0; i < NAPPS; i++) {
		const tl_status_app *row = tl_status_app_at(r, i);
		const tl_app_status *st = tl_status_app_state(r, i);
		leftovers_of(got, sizeof(got), st);
		size_t k = 0;
		while (k < NAPPS && strcmp(apps[k], row->app))
			k++;
		assert_true(k < NAPPS);
		if (k == 0)
			snprintf(expect, sizeof(expect), "%s", names[0]);
		else if (k == 1)
			snprintf(expect, sizeof(expect), "%s %s", names[1], names[2]);
		else
			expect[0] = '\0';
		assert_string_equal(got, expect);
	}
	tl_status_free(r);

	/* metrics over the same apps: one list too (its inspects are of
	 * the active release's containers: none here). */
	before = lists_now();
	tl_buf m = TL_BUF_INIT;
	tl_assert_ok(tl_metrics_render(&m, ctx, NULL));
	assert_int_equal(lists_now() - before, 1);
	char line[128];
	snprintf(line, sizeof(line), "towlion_app_up{app=\"%s\"} 0", apps[1]);
	assert_non_null(strstr(m.ptr, line));
	tl_buf_dispose(&m);
}

/* Removed by hand (another context, as `docker rm` would) between two
 * reports: the second does not show it. */
static void test_removed_between_reports_shows(void **state)
{
	(void)state;
	tl_ctx *other = tl_test_ctx(1);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, other));
	tl_assert_ok(tl_docker_container_remove(d, names[2], TL_DOCKER_REMOVE_FORCE));
	tl_docker_free(d);
	tl_ctx_free(other);

	tl_status_report *r = NULL;
	tl_assert_ok(tl_status(&r, ctx, NULL));
	for (size_t i = 0; i < tl_status_app_count(r); i++)
		if (!strcmp(tl_status_app_at(r, i)->app, apps[1])) {
			const tl_app_status *st = tl_status_app_state(r, i);
			assert_int_equal(tl_app_status_leftover_count(st), 1);
			assert_string_equal(tl_app_status_leftover_at(st, 0)->name, names[1]);
		}
	tl_status_free(r);
}

/* Inside one report, a removal through the context drops the list: the
 * app asked after it lists again and sees the container gone. */
static void test_change_inside_a_report_drops_the_list(void **state)
{
	(void)state;
	unsigned long before = lists_now();
	tl__report_begin(ctx);
	tl__report_begin(ctx); /* nested: the inner end keeps the list */
	tl_app_status *st = NULL;
	tl_assert_ok(tl_app_status_get(&st, ctx, apps[0]));
	assert_int_equal(tl_app_status_leftover_count(st), 1);
	tl_app_status_free(st);
	tl__report_end(ctx);
	tl_assert_ok(tl_app_status_get(&st, ctx, apps[1]));
	assert_int_equal(tl_app_status_leftover_count(st), 1);
	tl_app_status_free(st);
	assert_int_equal(lists_now() - before, 1);

	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_assert_ok(tl_docker_container_remove(d, names[0], TL_DOCKER_REMOVE_FORCE));
	tl_docker_free(d);
	tl_assert_ok(tl_app_status_get(&st, ctx, apps[0]));
	assert_int_equal(tl_app_status_leftover_count(st), 0);
	tl_app_status_free(st);
	tl__report_end(ctx);
	/* remove lists nothing: the one after it is the second list. */
	assert_int_equal(lists_now() - before, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alone_each_app_lists_once),
		cmocka_unit_test(test_report_lists_once_and_keeps_apps_apart),
		cmocka_unit_test(test_removed_between_reports_shows),
		cmocka_unit_test(test_change_inside_a_report_drops_the_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
