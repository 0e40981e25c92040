/*
 * Tenant isolation, bind mounts, against the real dockerd and Caddy of the
 * harness (docs/security.md, "Bind mounts"). A hostile tenant tries to make
 * Docker mount the host's "/" or another app's directory by planting a
 * symlink where a later container's bind source was checked:
 *
 * - a preview's release command tries it for real, and cannot (its binds
 *   are read-only); its container sees its own files only, even when the
 *   next push rewrites the checkout with those links and the container
 *   restarts (a preview binds a copy the platform owns);
 * - a trusted app's release command (its `./` is read-write) plants it for
 *   real; the app container is not created, with a clear error;
 * - an outside writer swaps the data directory, or a directory in the
 *   middle of the path, for a link between the plan and the create;
 * - committed links (at the end or in the middle) and ".." are refused
 *   before anything is created.
 *
 * After every attack the other tenant (the victim app) still serves, and
 * the test looks from inside the containers that exist that nothing
 * outside the hostile app's directory is visible. Fixtures:
 * tests/isolation/binds/.
 */
#include "tl_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURES TL_TEST_SOURCE_DIR "/tests/isolation/binds"

typedef struct {
	char *dir;
	tl_ctx *ctx;
	char victim[32], hostile[32], network[48];
	char victim_host[96], victim_dir[700], secret[64];
	/* the outside writer, armed for one deploy: at the step that starts
	 * the app service, replace `swap` (relative to swap_dir) by a link */
	char swap_dir[700], swap[32], swap_to[700];
	int swapped;
} fixture;

static fixture *F;

static int on_event(const tl_event *ev, void *payload)
{
	(void)payload;
	if (ev->type != TL_EVENT_STEP || !F->swap[0] || F->swapped || !ev->step ||
	    strcmp(ev->step, "deploy.start"))
		return 0;
	char path[760], moved[780];
	snprintf(path, sizeof(path), "%s/%s", F->swap_dir, F->swap);
	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(F->swap_to, path), 0);
	F->swapped = 1;
	return 0;
}

/* A fresh copy of the tenant app under the test's directory, with one of
 * the compose files and its @TARGET@ filled in. */
static char *copy_app(const char *name, const char *compose, const char *target)
{
	static char d[700];
	snprintf(d, sizeof(d), "%s/%s", F->dir, name);
	tl_test_sh("set -e; rm -rf '%s'; mkdir -p '%s/deploy'; cp -a '%s/app/.' '%s/';"
	           "sed 's|@TARGET@|%s|' '%s/compose-%s.yml' > '%s/deploy/docker-compose.yml'",
	           d, d, FIXTURES, d, target, FIXTURES, compose, d);
	return d;
}

static size_t count_project(const char *project, int all)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", project);
	const char *filters[] = {f, NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, all));
	size_t n = tl_docker_container_list_count(l);
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	return n;
}

/* Run a shell line in the web container of `project`: its exit code, and
 * its stdout in `out` (may be NULL); -1 when it could not run (the
 * container is not running). */
static int try_exec_in(const char *project, const char *line, tl_buf *out)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", project);
	const char *filters[] = {f, "towlion.role=web", NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 1));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	const char *name = tl_docker_container_name(tl_docker_container_list_at(l, 0));
	const char *argv[] = {"sh", "-c", line, NULL};
	int code = -1;
	tl_buf o = TL_BUF_INIT, e = TL_BUF_INIT;
	if (tl_docker_exec(&code, &o, &e, d, name, argv, NULL) != TL_OK)
		code = -1;
	if (out)
		*out = o;
	else
		tl_buf_dispose(&o);
	tl_buf_dispose(&e);
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	return code;
}

static int exec_in(const char *project, const char *line, tl_buf *out)
{
	int code = try_exec_in(project, line, out);
	if (code < 0)
		fail_msg("cannot run \"%s\" in %s: %s", line, project, tl_error_last()->message);
	return code;
}

static void assert_victim_serves(void)
{
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", getenv("TOWLION_HTTP_PORT"));
	long status = 0;
	char *body = tl_test_http("GET", url, F->victim_host, NULL, &status);
	if (!body || status != 200 || !strstr(body, "tenant victim"))
		fail_msg("the victim app answered HTTP %ld \"%s\"", status, body ? body : "(nothing)");
	free(body);
	assert_int_equal(count_project(F->victim, 0), 1);
}

static int preview_up(uint32_t pr, const char *dir)
{
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	o.path = dir;
	/* With a repository: an update without one trips over a use after
	 * free in tl_preview_up (pv->repo freed, then copied from prev, the
	 * same record); the PR comment goes to the GitHub stand-in. */
	o.repo = "acme/binds";
	o.health_timeout_ms = 15000;
	return tl_preview_up(NULL, F->ctx, F->hostile, pr, &o);
}

static void preview_down(uint32_t pr)
{
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	tl_assert_ok(tl_preview_down(NULL, F->ctx, F->hostile, pr, &o));
}

static char *project_of(uint32_t pr)
{
	static char p[64];
	snprintf(p, sizeof(p), "%s-pr-%u", F->hostile, pr);
	return p;
}

static int is_link(const char *dir, const char *rel)
{
	char p[800];
	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	struct stat st;
	return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	F = calloc(1, sizeof(*F));
	F->dir = tl_test_tmpdir();
	F->ctx = tl_test_ctx(1);
	long pid = (long)getpid();
	snprintf(F->victim, sizeof(F->victim), "tbv%ld", pid);
	snprintf(F->hostile, sizeof(F->hostile), "tbh%ld", pid);
	snprintf(F->network, sizeof(F->network), "tl-binds-%ld", pid);
	snprintf(F->victim_host, sizeof(F->victim_host), "%s.towlion.test", F->victim);
	snprintf(F->secret, sizeof(F->secret), "SECRET-%ld", pid);
	tl_test_ctx_dirs(F->ctx, F->dir, "state apps caddy");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_NETWORK", F->network));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PREVIEW_DOMAIN", "towlion.test"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PREVIEW_MAX", "20"));
	tl_ctx_set_event_cb(F->ctx, on_event, NULL);

	/* The victim: another app, with a secret in its directory (and in an
	 * etc/ that a hijacked conf/etc bind would show). */
	snprintf(F->victim_dir, sizeof(F->victim_dir), "%s", copy_app("victim", "victim", ""));
	tl_test_sh("set -e; mkdir -p '%s/etc'; echo top > '%s/%s'; echo etc > '%s/etc/%s'",
	           F->victim_dir, F->victim_dir, F->secret, F->victim_dir, F->secret);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	const char *doms[] = {F->victim_host, NULL};
	o.domains = doms;
	o.drain_ms = 100;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->victim, &o));
	char hhost[96];
	snprintf(hhost, sizeof(hhost), "%s.towlion.test", F->hostile);
	const char *hdoms[] = {hhost, NULL};
	o.domains = hdoms;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->hostile, &o));
	tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
	d.path = F->victim_dir;
	d.health_timeout_ms = 15000;
	tl_assert_ok(tl_deploy(NULL, F->ctx, F->victim, &d));
	assert_victim_serves();
	return 0;
}

static int teardown(void **state)
{
	if (!F)
		return 0;
	/* Previews a failed assertion left behind (down of a missing one is
	 * fine), then both apps. */
	tl_ctx_set_event_cb(F->ctx, NULL, NULL);
	tl_preview_options po = TL_PREVIEW_OPTIONS_INIT;
	for (uint32_t pr = 10; pr < 50; pr++)
		tl_preview_down(NULL, F->ctx, F->hostile, pr, &po);
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = 1;
	tl_app_destroy(F->ctx, F->hostile, &d);
	tl_app_destroy(F->ctx, F->victim, &d);
	tl_docker *dk = NULL;
	if (tl_docker_open(&dk, F->ctx) == TL_OK)
		tl_docker_network_remove(dk, F->network);
	tl_docker_free(dk);
	tl_ctx_free(F->ctx);
	tl_test_rmdir(F->dir);
	free(F);
	F = NULL;
	return 0;
}

/* ---- attacks ------------------------------------------------------------ */

/* A preview's release command tries to plant data -> "/" and conf -> the
 * victim's directory: its checkout is read-only in every container, so
 * the links never appear, and its container sees its own files only. */
static void test_preview_release_command_cannot_plant(void **state)
{
	char target[700];
	snprintf(target, sizeof(target), "%s", F->victim_dir);
	const char *targets[] = {"/", target};
	for (uint32_t i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "pv-plant-%u", i);
		char *dir = copy_app(name, "preview", targets[i]);
		tl_assert_ok(preview_up(10 + i, dir));
		/* on the host: nothing was planted */
		assert_false(is_link(dir, "data"));
		assert_false(is_link(dir, "conf"));
		/* inside: the binds show the app's own files, read-only */
		const char *proj = project_of(10 + i);
		tl_buf out = TL_BUF_INIT;
		assert_int_equal(exec_in(proj, "ls -A /data; ls -A /conf", &out), 0);
		if (!out.ptr || strcmp(out.ptr, "inside.txt\ninside.txt\n"))
			fail_msg("the preview sees more than its own files: \"%s\"", out.ptr);
		tl_buf_dispose(&out);
		char line[300];
		snprintf(line, sizeof(line),
		         "test -e /data/%s || test -e /conf/%s || test -e /conf/passwd || "
		         "test -e /conf/hostname || touch /src/x || touch /data/x || touch /conf/x",
		         F->secret, F->secret);
		assert_int_not_equal(exec_in(proj, line, NULL), 0);
		/* The next push rewrites the checkout in place (as git does):
		 * data and conf become links. The running container then crashes
		 * on purpose; Docker restarts it and resolves its binds again,
		 * and must still find the preview's own files. */
		tl_test_sh("set -e; cd '%s'; mv data data.old; ln -s '%s' data; mv conf conf.old;"
		           "ln -s '%s' conf", dir, targets[i], targets[i]);
		tl_buf before = TL_BUF_INIT, after = TL_BUF_INIT;
		assert_int_equal(exec_in(proj, "cut -d' ' -f22 /proc/1/stat", &before), 0);
		try_exec_in(proj, "kill -9 -1", NULL); /* the crash may cut the exec short */
		int up = 0;
		for (int t = 0; t < 100 && !up; t++) {
			usleep(200000);
			up = try_exec_in(proj, "cut -d' ' -f22 /proc/1/stat", &after) == 0 &&
			     after.ptr && strcmp(after.ptr, before.ptr);
			if (!up)
				tl_buf_dispose(&after);
		}
		if (!up)
			fail_msg("the preview's container did not come back after its crash");
		tl_buf_dispose(&before);
		tl_buf_dispose(&after);
		assert_int_equal(exec_in(proj, "ls -A /data; ls -A /conf", &out), 0);
		if (!out.ptr || strcmp(out.ptr, "inside.txt\ninside.txt\n"))
			fail_msg("after a restart the preview sees more than its own files: \"%s\"",
			         out.ptr);
		tl_buf_dispose(&out);
		assert_int_not_equal(exec_in(proj, line, NULL), 0);
		assert_victim_serves();
		preview_down(10 + i);
		assert_int_equal(count_project(proj, 1), 0);
	}
}

/* The app's own deploy (trusted) binds its checkout read-write, so its
 * release command plants the links for real; the bind of ../data is
 * checked again right before the app container is created, and refused. */
static void test_trusted_release_command_plants_refused(void **state)
{
	char target[700];
	snprintf(target, sizeof(target), "%s", F->victim_dir);
	const char *targets[] = {"/", target};
	for (int i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "tr-plant-%d", i);
		char *dir = copy_app(name, "trusted", targets[i]);
		tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
		d.path = dir;
		d.health_timeout_ms = 15000;
		tl_assert_rc(TL_EINVALID, tl_deploy(NULL, F->ctx, F->hostile, &d));
		/* the attack itself happened: the release command could write
		 * (data is a mount point in the release container itself, so
		 * whether it could move data depends on the kernel; conf it can) */
		assert_true(is_link(dir, "conf"));
		const char *first = is_link(dir, "data") ? "/data" : "/conf";
		char want[64];
		snprintf(want, sizeof(want), "%s is not the path that was checked", first);
		tl_assert_error_contains(strcmp(first, "/data") ? "/conf/etc is not the path" : want);
		snprintf(want, sizeof(want), "%s is a symbolic link", first);
		tl_assert_error_contains(want);
		tl_assert_error_contains("so no container was created");
		/* and nothing of the hostile app exists, running or not */
		assert_int_equal(count_project(F->hostile, 1), 0);
		assert_victim_serves();
	}
}

/* An outside writer replaces the data directory (the end of a bind
 * source) or conf (a directory in the middle of one) by a link after the
 * plan was made, right before the create: refused, nothing created. */
static void test_preview_bind_swapped_before_create(void **state)
{
	const char *swaps[] = {"data", "conf", "data"};
	const char *tos[] = {"/", F->victim_dir, "../victim"};
	for (uint32_t i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "pv-swap-%u", i);
		char *dir = copy_app(name, "preview", "/nowhere");
		snprintf(F->swap_dir, sizeof(F->swap_dir), "%s", dir);
		snprintf(F->swap, sizeof(F->swap), "%s", swaps[i]);
		snprintf(F->swap_to, sizeof(F->swap_to), "%s", tos[i]);
		F->swapped = 0;
		int rc = preview_up(20 + i, dir);
		F->swap[0] = '\0';
		assert_true(F->swapped);
		if (rc != TL_EINVALID)
			fail_msg("preview up with %s swapped for a link returned %d: %s", swaps[i], rc,
			         tl_error_last()->message);
		tl_assert_error_contains("is not the path that was checked");
		tl_assert_error_contains(i == 1 ? "/conf is a symbolic link" : "/data is a symbolic link");
		assert_int_equal(count_project(project_of(20 + i), 1), 0);
		assert_victim_serves();
		preview_down(20 + i);
	}
}

/* Links committed in the checkout (at the end of a path, in its middle)
 * and ".." are refused when the compose file is checked: nothing runs. */
static void test_preview_committed_escapes_refused(void **state)
{
	struct {
		const char *compose, *target, *link, *link_to, *why;
	} cases[] = {
		{"preview", "/", "data", "/", "is a symbolic link to the absolute path /"},
		{"preview", "/", "data", "../victim", "climbs above"},
		{"preview", "/", "conf", "../victim", "climbs above"},
		{"preview", "/", "conf", "/etc", "absolute path /etc"},
		{"dotdot", "victim", NULL, NULL, "is outside the app directory"},
	};
	for (uint32_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "pv-commit-%u", i);
		char *dir = copy_app(name, cases[i].compose, cases[i].target);
		if (cases[i].link)
			tl_test_sh("set -e; cd '%s'; rm -rf '%s'; ln -s '%s' '%s'", dir, cases[i].link,
			           cases[i].link_to, cases[i].link);
		tl_assert_rc(TL_EINVALID, preview_up(30 + i, dir));
		tl_assert_error_contains(cases[i].why);
		assert_int_equal(count_project(project_of(30 + i), 1), 0);
		assert_victim_serves();
		preview_down(30 + i);
	}
}

/* A preview's binds are copies, one set per release: a file bind works,
 * a change in the checkout after the deploy does not reach the container,
 * and the copies of releases that have no container left are removed
 * (at most the serving release's and the newest remain). */
static void test_preview_binds_are_pruned_copies(void **state)
{
	char *dir = copy_app("pv-copies", "preview", "/nowhere");
	for (int k = 0; k < 3; k++)
		tl_assert_ok(preview_up(40, dir));
	const char *proj = project_of(40);
	tl_buf out = TL_BUF_INIT;
	assert_int_equal(exec_in(proj, "cat /inside.txt; ls -A /data", &out), 0);
	assert_string_equal(out.ptr, "inside the app\ninside.txt\n");
	tl_buf_dispose(&out);
	tl_test_sh("echo late > '%s/data/late.txt'", dir);
	assert_int_equal(exec_in(proj, "ls -A /data", &out), 0);
	assert_string_equal(out.ptr, "inside.txt\n");
	tl_buf_dispose(&out);
	char binds[900];
	snprintf(binds, sizeof(binds), "%s/state/apps/%s/previews/pr-40/binds", F->dir,
	         F->hostile);
	DIR *d = opendir(binds);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 2);
	assert_victim_serves();
	preview_down(40);
	struct stat st;
	assert_int_not_equal(stat(binds, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preview_release_command_cannot_plant),
		cmocka_unit_test(test_trusted_release_command_plants_refused),
		cmocka_unit_test(test_preview_bind_swapped_before_create),
		cmocka_unit_test(test_preview_committed_escapes_refused),
		cmocka_unit_test(test_preview_binds_are_pruned_copies),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
