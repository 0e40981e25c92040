/*
 * Compose secrets on one server (lib/deploy/secrets.c), against the real
 * dockerd and Caddy of the harness: a service's `secrets:` are files at
 * /run/secrets/TARGET holding the app's `towlion env` values, with the
 * owner and mode asked for, read-only; the value a service reads as a
 * file is not in its environment nor anywhere `docker inspect` shows, nor
 * in the saved plan; a changed value reaches the next deploy; a preview
 * does not get a production-only value (the file is absent, the preview
 * runs); a value that is not set fails the deploy before anything
 * changes, naming the key; old releases' files go, and destroy leaves
 * none.
 */
#include "tl_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *dir;
	tl_ctx *ctx;
	char app[32], host[96], src[700];
} fixture;

static fixture *F;

static const char COMPOSE[] =
	"services:\n"
	"  app:\n"
	"    image: towlion-test/busybox:latest\n"
	"    init: true\n"
	"    read_only: true\n"
	"    command: [\"sh\", \"-c\", \"mkdir -p /tmp/www && echo ok > /tmp/www/health && "
	"exec httpd -f -p 8000 -h /tmp/www\"]\n"
	"    tmpfs: [/tmp]\n"
	"    secrets:\n"
	"      - mail_key\n"
	"      - source: shared\n"
	"        target: shared.txt\n"
	"        uid: \"1000\"\n"
	"        gid: \"1000\"\n"
	"        mode: 0400\n"
	"secrets:\n"
	"  mail_key:\n"
	"    environment: MAIL_KEY\n"
	"  shared:\n"
	"    environment: SHARED_VALUE\n";

static void set_env(const char *key, const char *value, unsigned flags)
{
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.flags = flags;
	const char *k[] = {key}, *v[] = {value};
	tl_assert_ok(tl_appenv_set(F->ctx, F->app, k, v, 1, &o));
}

static tl_docker_container *web_of(const char *project)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", project);
	const char *filters[] = {f, "towlion.role=web", NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 0));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(
		&c, d, tl_docker_container_name(tl_docker_container_list_at(l, 0))));
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	return c;
}

/* `line` run in the web container of `project`: its exit code, its stdout in *out. */
static int exec_in(const char *project, const char *line, char **out)
{
	tl_docker_container *c = web_of(project);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	const char *argv[] = {"sh", "-c", line, NULL};
	int code = -1;
	tl_buf o = TL_BUF_INIT, e = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &o, &e, d, tl_docker_container_name(c), argv, NULL));
	*out = strdup(o.ptr ? o.ptr : "");
	tl_buf_dispose(&o);
	tl_buf_dispose(&e);
	tl_docker_free(d);
	tl_docker_container_free(c);
	return code;
}

static char *in(const char *project, const char *line)
{
	char *out = NULL;
	int code = exec_in(project, line, &out);
	if (code != 0)
		fail_msg("\"%s\" in %s exited %d: %s", line, project, code, out);
	return out;
}

static const char *app_state(void)
{
	static char s[64];
	snprintf(s, sizeof(s), "apps/%s", F->app);
	return s;
}

static void deploy(void)
{
	tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
	d.path = F->src;
	d.health_timeout_ms = 20000;
	tl_assert_ok(tl_deploy(NULL, F->ctx, F->app, &d));
}

/* The releases that have a directory under <state dir>/secrets, the
 * state dir given under TOWLION_STATE_DIR ("apps/APP"). */
static size_t secret_dirs(const char *state)
{
	char p[800];
	snprintf(p, sizeof(p), "%s/state/%s/secrets", F->dir, state);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Whether `needle` is anywhere in the file (or the files of the directory tree) `path`. */
static int grep_tree(const char *path, const char *needle)
{
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "grep -rqF -- '%s' '%s' 2>/dev/null", needle, path);
	return system(cmd) == 0;
}

static int setup(void **state)
{
	(void)state;
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	F = calloc(1, sizeof(*F));
	F->dir = tl_test_tmpdir();
	F->ctx = tl_test_ctx(1);
	snprintf(F->app, sizeof(F->app), "tsec%ld", (long)getpid());
	snprintf(F->host, sizeof(F->host), "%s.towlion.test", F->app);
	tl_test_ctx_dirs(F->ctx, F->dir, "state apps caddy");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_PREVIEW_DOMAIN", "towlion.test"));
	snprintf(F->src, sizeof(F->src), "%s/src", F->dir);
	char path[800];
	tl_test_sh("mkdir -p '%s'", F->src);
	snprintf(path, sizeof(path), "%s/docker-compose.yml", F->src);
	tl_test_write_file(path, COMPOSE, 0644);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	const char *doms[] = {F->host, NULL};
	o.domains = doms;
	o.drain_ms = 100;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->app, &o));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (!F)
		return 0;
	tl_preview_options po = TL_PREVIEW_OPTIONS_INIT;
	tl_preview_down(NULL, F->ctx, F->app, 5, &po);
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = 1;
	tl_app_destroy(F->ctx, F->app, &d);
	tl_ctx_free(F->ctx);
	tl_test_rmdir(F->dir);
	free(F);
	F = NULL;
	return 0;
}

/* A key with no value fails the deploy before any container starts. */
static void test_unset_value_refused(void **state)
{
	(void)state;
	set_env("SHARED_VALUE", "shared-1", 0);
	tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
	d.path = F->src;
	d.health_timeout_ms = 20000;
	assert_int_equal(tl_deploy(NULL, F->ctx, F->app, &d), TL_ENOTFOUND);
	const char *msg = tl_error_last()->message;
	if (!strstr(msg, "MAIL_KEY") || !strstr(msg, "towlion env set"))
		fail_msg("the refusal does not name the key: %s", msg);
	tl_docker *dk = NULL;
	tl_assert_ok(tl_docker_open(&dk, F->ctx));
	char f[128];
	snprintf(f, sizeof(f), "towlion.project=%s", F->app);
	const char *filters[] = {f, NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, dk, filters, 1));
	assert_int_equal(tl_docker_container_list_count(l), 0);
	tl_docker_container_list_free(l);
	tl_docker_free(dk);
	assert_int_equal(secret_dirs(app_state()), 0);
}

static void test_files_owner_mode_and_nowhere_else(void **state)
{
	(void)state;
	char mail[64];
	snprintf(mail, sizeof(mail), "mail-token-%ld", (long)getpid());
	set_env("MAIL_KEY", mail, TL_APPENV_PRODUCTION_ONLY);
	set_env("SHARED_VALUE", "shared-1", 0);
	deploy();

	char *v = in(F->app, "cat /run/secrets/mail_key");
	assert_string_equal(v, mail);
	free(v);
	v = in(F->app, "cat /run/secrets/shared.txt");
	assert_string_equal(v, "shared-1");
	free(v);
	v = in(F->app, "stat -c '%u:%g %a' /run/secrets/mail_key /run/secrets/shared.txt");
	assert_string_equal(v, "0:0 444\n1000:1000 400\n");
	free(v);
	/* read-only: the app cannot change it */
	char *out = NULL;
	assert_int_not_equal(exec_in(F->app, "echo x > /run/secrets/mail_key", &out), 0);
	free(out);
	/* not in the environment the platform gives it */
	v = in(F->app, "env");
	if (strstr(v, mail) || strstr(v, "shared-1") || strstr(v, "MAIL_KEY"))
		fail_msg("a secret is in the container's environment: %s", v);
	free(v);
	/* nor in what docker inspect shows (labels, env, command) */
	tl_docker_container *c = web_of(F->app);
	tl_buf j = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_json(&j, c));
	if (strstr(j.ptr, mail) || strstr(j.ptr, "shared-1"))
		fail_msg("a secret's value is in docker inspect");
	tl_buf_dispose(&j);
	tl_docker_container_free(c);
	/* nor in the saved plans and history; its one file is the secret's */
	char where[800];
	snprintf(where, sizeof(where), "%s/state/apps/%s/plans", F->dir, F->app);
	assert_false(grep_tree(where, mail));
	snprintf(where, sizeof(where), "%s/state/apps/%s/releases.json", F->dir, F->app);
	assert_false(grep_tree(where, mail));
	snprintf(where, sizeof(where), "%s/state/apps/%s/secrets", F->dir, F->app);
	struct stat st;
	assert_int_equal(stat(where, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(secret_dirs(app_state()), 1);
	/* it still serves through Caddy */
	char url[96];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/health", getenv("TOWLION_HTTP_PORT"));
	long status = 0;
	char *body = tl_test_http("GET", url, F->host, NULL, &status);
	assert_int_equal(status, 200);
	free(body);
}

/* A new value reaches the next deploy; the old release's files go. */
static void test_new_value_next_deploy(void **state)
{
	(void)state;
	set_env("SHARED_VALUE", "shared-2", 0);
	deploy();
	char *v = in(F->app, "cat /run/secrets/shared.txt");
	assert_string_equal(v, "shared-2");
	free(v);
	assert_int_equal(secret_dirs(app_state()), 1);
}

/* A preview runs without the production-only value: its file is absent,
 * the shared one is there. */
static void test_preview_without_production_only(void **state)
{
	(void)state;
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	o.path = F->src;
	o.health_timeout_ms = 20000;
	tl_assert_ok(tl_preview_up(NULL, F->ctx, F->app, 5, &o));
	char project[64];
	snprintf(project, sizeof(project), "%s-pr-5", F->app);
	char *out = NULL;
	assert_int_not_equal(exec_in(project, "test -e /run/secrets/mail_key", &out), 0);
	free(out);
	char *v = in(project, "cat /run/secrets/shared.txt");
	assert_string_equal(v, "shared-2");
	free(v);
	char pstate[128];
	snprintf(pstate, sizeof(pstate), "apps/%s/previews/pr-5", F->app);
	assert_int_equal(secret_dirs(pstate), 1);
	tl_assert_ok(tl_preview_down(NULL, F->ctx, F->app, 5, &o));
	assert_int_equal(secret_dirs(pstate), 0);
}

static void test_destroy_leaves_no_secret(void **state)
{
	(void)state;
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	tl_assert_ok(tl_app_destroy(F->ctx, F->app, &d));
	assert_int_equal(secret_dirs(app_state()), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unset_value_refused),
		cmocka_unit_test(test_files_owner_mode_and_nowhere_else),
		cmocka_unit_test(test_new_value_next_deploy),
		cmocka_unit_test(test_preview_without_production_only),
		cmocka_unit_test(test_destroy_leaves_no_secret),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
