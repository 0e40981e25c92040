/*
 * Releases against the real dockerd, PostgreSQL and Caddy of the harness:
 * deploy, zero-downtime switch under load, refused releases that change
 * nothing, rollback, serialised and killed deploys, workers, migrations,
 * destroy.
 */
#include "tl_test.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	char *dir;      /* temp dir: state, apps, caddy, copies of the examples */
	tl_ctx *ctx;
	char app[32];
	char host[64];
	char src[512];  /* copy of examples/apps */
} fixture;

static fixture *F;

/* ---- helpers ---------------------------------------------------------- */

static void set_version(const char *app_dir, const char *version)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/deploy/.env", app_dir);
	char content[128];
	snprintf(content, sizeof(content), "APP_VERSION=%s\n", version);
	tl_test_write_file(path, content, 0600);
}

static char *app_dir(const char *name)
{
	static char path[700];
	snprintf(path, sizeof(path), "%s/%s", F->src, name);
	return path;
}

/* GET http://<host><path> through Caddy; the body, or NULL on failure. */
static char *get_through_caddy(CURL *c, const char *host, const char *path, long *status)
{
	(void)c;
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", getenv("TOWLION_HTTP_PORT"), path);
	return tl_test_http("GET", url, host, NULL, status);
}

static void assert_serves(const char *expected)
{
	CURL *c = curl_easy_init();
	long status;
	char *body = NULL;
	/* The route is live when the call returns; allow a moment for the
	 * first connection only. */
	for (int i = 0; i < 20; i++) {
		free(body);
		body = get_through_caddy(c, F->host, "/", &status);
		if (body && status == 200 && strstr(body, expected))
			break;
		usleep(100000);
	}
	if (!body || !strstr(body, expected))
		fail_msg("expected \"%s\" through Caddy, got HTTP %ld \"%s\"", expected, status,
		         body ? body : "(no answer)");
	free(body);
	curl_easy_cleanup(c);
}

/* Units of a project (containers on one server, services on a swarm), by
 * label, through the library. */
static size_t count_containers(const char *project, const char *role)
{
	return tl_test_count_units(F->ctx, project, role);
}

static tl_release *deploy_path(const char *dir, int expect)
{
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = dir;
	o.health_timeout_ms = 8000;
	o.requested_by = "test";
	tl_release *r = NULL;
	tl_assert_rc(expect, tl_deploy(&r, F->ctx, F->app, &o));
	return r;
}

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	F = calloc(1, sizeof(*F));
	F->dir = tl_test_tmpdir();
	F->ctx = tl_test_ctx(1);
	snprintf(F->app, sizeof(F->app), "tdep%ld", (long)getpid());
	snprintf(F->host, sizeof(F->host), "%s.towlion.test", F->app);
	char p[600];
	const char *subdirs[] = {"state", "apps", "caddy"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", F->dir, subdirs[i]);
		tl_assert_ok(tl_ctx_config_set(F->ctx, keys[i], p));
	}
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_UPSTREAM_MODE", "loopback"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_NETWORK", "towlion-test"));
	snprintf(F->src, sizeof(F->src), "%s/src", F->dir);
	tl_test_sh("mkdir -p %s && cp -r %s/examples/apps/. %s/", F->src, TL_TEST_SOURCE_DIR, F->src);
	tl_app_options o = TL_APP_OPTIONS_INIT;
	const char *doms[] = {F->host, NULL};
	o.domains = doms;
	o.drain_ms = 300;
	o.keep_images = 3;
	tl_assert_ok(tl_app_create(NULL, F->ctx, F->app, &o));
	return 0;
}

static int teardown(void **state)
{
	if (!F)
		return 0;
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

/* ---- tests -------------------------------------------------------------- */

static void test_deploy_v1_through_caddy(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release *r = deploy_path(app_dir("hello"), TL_OK);
	assert_int_equal(tl_release_status(r), TL_RELEASE_ACTIVE);
	assert_int_equal(tl_release_service_count(r), 1);
	const char *img = NULL;
	assert_string_equal(tl_release_service_at(r, 0, &img), "app");
	assert_non_null(strstr(img, tl_release_id(r)));
	tl_release_free(r);
	assert_serves("hello 1.0.0");
	assert_int_equal(count_containers(F->app, "web"), 1);
}

typedef struct {
	volatile int stop;
	int total, failed, v1, v2, switched_back;
	char last_failure[256];
} load_state;

static void *load_loop(void *p)
{
	load_state *ls = p;
	tl_test_http_set_timeout(20000);
	CURL *c = curl_easy_init();
	int seen_v2 = 0;
	while (!ls->stop || ls->total < 2000) {
		long status;
		char *body = get_through_caddy(c, F->host, "/", &status);
		ls->total++;
		if (!body || status != 200) {
			ls->failed++;
			snprintf(ls->last_failure, sizeof(ls->last_failure), "HTTP %ld: %s", status,
			         body ? body : tl_test_http_error());
		} else if (strstr(body, "hello 2.0.0")) {
			ls->v2++;
			seen_v2 = 1;
		} else if (strstr(body, "hello 1.0.0")) {
			ls->v1++;
			if (seen_v2)
				ls->switched_back++;
		} else {
			ls->failed++;
			snprintf(ls->last_failure, sizeof(ls->last_failure), "body: %s", body);
		}
		free(body);
		if (ls->total > 20000)
			break;
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void test_zero_downtime_switch_under_load(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	assert_serves("hello 1.0.0");
	load_state ls = {0};
	pthread_t t;
	pthread_create(&t, NULL, load_loop, &ls);
	usleep(300000);
	set_version(app_dir("hello"), "2.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	ls.stop = 1;
	pthread_join(t, NULL);
	print_message("load: %d requests, %d failed, %d v1, %d v2\n", ls.total, ls.failed, ls.v1,
	              ls.v2);
	if (ls.failed)
		fail_msg("%d of %d requests failed during the switch (last: %s)", ls.failed,
		         ls.total, ls.last_failure);
	assert_true(ls.total >= 2000);
	assert_true(ls.v1 > 0);
	assert_true(ls.v2 > 0);
	assert_int_equal(ls.switched_back, 0);
	assert_serves("hello 2.0.0");
	/* The old release drained and went. */
	assert_int_equal(count_containers(F->app, "web"), 1);
}

typedef struct {
	volatile int done;
	int rc;
} deploy_thread;

static void *deploy_v2(void *p)
{
	deploy_thread *t = p;
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = app_dir("hello");
	o.health_timeout_ms = 8000;
	tl_release *r = NULL;
	t->rc = tl_deploy(&r, F->ctx, F->app, &o);
	tl_release_free(r);
	t->done = 1;
	return NULL;
}

/* The loopback port of the project's one web container; its own context,
 * as F->ctx belongs to the deploy running meanwhile. */
static int web_host_port(void)
{
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	char f1[128];
	snprintf(f1, sizeof(f1), "towlion.project=%s", F->app);
	const char *filters[] = {f1, "towlion.role=web", NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 0));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(
	    &c, d, tl_docker_container_id(tl_docker_container_list_at(l, 0))));
	int port = tl_docker_container_host_port(c, "8000", NULL);
	tl_docker_container_free(c);
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	assert_true(port > 0);
	return port;
}

/* A request the old release is still answering when the drain time is
 * over (a slow page on a loaded machine; Caddy's swap does not wait for
 * what its old configuration proxies) is answered, not cut: the deploy
 * waits for the old container's open connections before it stops it. */
static void test_drain_waits_for_open_requests(void **state)
{
	TL_TEST_NOT_ON_SWARM("the swarm engine drains for a fixed time: a task's connections "
	                     "cannot be counted from the manager (docs/cluster.md)");
	set_version(app_dir("hello"), "1.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	/* Half a request to v1: its handler waits for the end of the headers. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(web_host_port())};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	const char *head = "GET / HTTP/1.0\r\nHost: old\r\n";
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));

	set_version(app_dir("hello"), "2.0.0");
	deploy_thread t = {0};
	pthread_t th;
	pthread_create(&th, NULL, deploy_v2, &t);
	/* v2 serves, and five drain times (300 ms) later the deploy still
	 * waits for the open request. */
	long status = 0;
	char *body = NULL;
	for (int i = 0; i < 600 && !t.done; i++) {
		free(body);
		body = get_through_caddy(NULL, F->host, "/", &status);
		if (body && status == 200 && strstr(body, "hello 2.0.0"))
			break;
		usleep(100000);
	}
	assert_non_null(body);
	assert_non_null(strstr(body, "hello 2.0.0"));
	free(body);
	usleep(1500000);
	assert_false(t.done);

	assert_int_equal(write(fd, "\r\n", 2), 2);
	char answer[512] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(answer) - 1 && (n = read(fd, answer + got, sizeof(answer) - 1 - got)) > 0)
		got += (size_t)n;
	answer[got] = '\0';
	close(fd);
	assert_non_null(strstr(answer, "200 OK"));
	assert_non_null(strstr(answer, "hello 1.0.0"));
	pthread_join(th, NULL);
	tl_assert_ok(t.rc);
	assert_int_equal(count_containers(F->app, "web"), 1);
	assert_serves("hello 2.0.0");
}

static void test_unhealthy_release_changes_nothing(void **state)
{
	set_version(app_dir("hello"), "2.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	deploy_path(app_dir("broken-health"), TL_EUNHEALTHY);
	tl_assert_error_contains("keeps serving");
	tl_assert_error_contains("database unreachable"); /* the container's log */
	assert_serves("hello 2.0.0");
	assert_int_equal(count_containers(F->app, NULL), 1);
	/* The attempt is in the history as failed, with its reason. */
	tl_release_list *l = NULL;
	tl_assert_ok(tl_release_list_load(&l, F->ctx, F->app));
	const tl_release *last = tl_release_list_at(l, 0);
	assert_int_equal(tl_release_status(last), TL_RELEASE_FAILED);
	assert_non_null(strstr(tl_release_error(last), "not healthy"));
	assert_int_equal(tl_release_status(tl_release_list_at(l, 1)), TL_RELEASE_ACTIVE);
	tl_release_list_free(l);
}

static void test_failed_release_command_changes_nothing(void **state)
{
	set_version(app_dir("hello"), "2.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	size_t before = count_containers(F->app, NULL);
	deploy_path(app_dir("broken-release"), TL_ERROR);
	tl_assert_error_contains("release command");
	tl_assert_error_contains("already exists"); /* its stderr */
	assert_serves("hello 2.0.0");
	assert_int_equal(count_containers(F->app, NULL), before);
}

static void test_rollback(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release *r1 = deploy_path(app_dir("hello"), TL_OK);
	set_version(app_dir("hello"), "2.0.0");
	tl_release *r2 = deploy_path(app_dir("hello"), TL_OK);
	assert_serves("hello 2.0.0");
	/* The dry run names the release the real call then puts back, and
	 * changes nothing. */
	tl_rollback_options dry = TL_ROLLBACK_OPTIONS_INIT;
	dry.dry_run = 1;
	tl_release *plan = NULL;
	size_t before = count_containers(F->app, NULL);
	tl_assert_ok(tl_rollback(&plan, F->ctx, F->app, &dry));
	assert_string_equal(tl_release_id(plan), tl_release_id(r1));
	tl_release_free(plan);
	assert_serves("hello 2.0.0");
	assert_int_equal(count_containers(F->app, NULL), before);
	tl_release_list *hist = NULL;
	tl_assert_ok(tl_release_list_load(&hist, F->ctx, F->app));
	assert_string_equal(tl_release_id(tl_release_list_at(hist, 0)), tl_release_id(r2));
	tl_release_list_free(hist);

	tl_release *back = NULL;
	tl_assert_ok(tl_rollback(&back, F->ctx, F->app, NULL));
	assert_string_equal(tl_release_id(back), tl_release_id(r1));
	assert_serves("hello 1.0.0");
	assert_int_equal(count_containers(F->app, NULL), 1);
	/* Rolling back to what serves is refused; an unknown release too. */
	tl_rollback_options o = TL_ROLLBACK_OPTIONS_INIT;
	o.release_id = tl_release_id(r1);
	tl_assert_rc(TL_EINVALID, tl_rollback(NULL, F->ctx, F->app, &o));
	o.release_id = "20000101T000000Z-nope";
	tl_assert_rc(TL_ENOTFOUND, tl_rollback(NULL, F->ctx, F->app, &o));
	tl_release_free(back);
	tl_release_free(r2);
	tl_release_free(r1);
}

/* Refuse in the dry run exactly as the real call would: with `rc` and the
 * same message, changing nothing. */
static void assert_dry_run_refuses_as_real(const char *release_id, int rc, const char *why)
{
	tl_rollback_options o = TL_ROLLBACK_OPTIONS_INIT;
	o.release_id = release_id;
	o.dry_run = 1;
	tl_release *plan = NULL;
	tl_assert_rc(rc, tl_rollback(&plan, F->ctx, F->app, &o));
	assert_null(plan);
	tl_assert_error_contains(why);
	char dry_msg[1024];
	snprintf(dry_msg, sizeof(dry_msg), "%s", tl_error_last()->message);
	o.dry_run = 0;
	tl_assert_rc(rc, tl_rollback(NULL, F->ctx, F->app, &o));
	assert_string_equal(tl_error_last()->message, dry_msg);
}

/* What the CLI's dry run used to decide alone (any release of the
 * history by id, the first superseded one after the active) promised
 * rollbacks the engine refuses: to the release that serves, to one whose
 * images were pruned. The library's dry run takes the engine's path and
 * refuses both, with the real call's error. */
static void test_rollback_dry_run_refuses_as_the_real_call(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release *r1 = deploy_path(app_dir("hello"), TL_OK);
	set_version(app_dir("hello"), "2.0.0");
	tl_release *r2 = deploy_path(app_dir("hello"), TL_OK);
	assert_dry_run_refuses_as_real(tl_release_id(r2), TL_EINVALID, "is serving already");
	/* r1's image goes (as pruning beyond keep-images would). */
	const char *image = NULL;
	tl_release_service_at(r1, 0, &image);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, F->ctx));
	tl_assert_ok(tl_docker_image_remove(d, image, 1));
	tl_docker_free(d);
	assert_dry_run_refuses_as_real(NULL, TL_ENOTFOUND, "was pruned");
	assert_dry_run_refuses_as_real(tl_release_id(r1), TL_ENOTFOUND, "was pruned");
	/* Unknown: refused by both, by the same words. */
	assert_dry_run_refuses_as_real("20000101T000000Z-nope", TL_ENOTFOUND, "has no release");
	assert_serves("hello 2.0.0");
	/* An old caller's version-1 struct has no dry_run: it rolls back for
	 * real (here: refused, the image is gone). */
	tl_rollback_options v1 = TL_ROLLBACK_OPTIONS_INIT;
	v1.version = 1;
	v1.dry_run = 1; /* beyond a v1 struct: never read */
	tl_assert_rc(TL_ENOTFOUND, tl_rollback(NULL, F->ctx, F->app, &v1));
	tl_release_free(r2);
	tl_release_free(r1);
}

static void child_deploy(const char *dir, int kill_pipe)
{
	tl_ctx *ctx = NULL;
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	if (tl_ctx_new(&ctx, &co))
		_exit(10);
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR",
	                      "TOWLION_UPSTREAM_MODE", "TOWLION_TLS", "TOWLION_NETWORK"};
	for (size_t i = 0; i < 6; i++)
		tl_ctx_config_set(ctx, keys[i], tl_ctx_config_get(F->ctx, keys[i]));
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = dir;
	o.health_timeout_ms = 8000;
	if (kill_pipe >= 0)
		dup2(kill_pipe, 99);
	int rc = tl_deploy(NULL, ctx, F->app, &o);
	_exit(rc == TL_OK ? 0 : 20 - rc);
}

static void test_concurrent_deploys_serialise(void **state)
{
	set_version(app_dir("hello"), "2.0.0");
	pid_t a = fork();
	if (a == 0)
		child_deploy(app_dir("hello"), -1);
	pid_t b = fork();
	if (b == 0)
		child_deploy(app_dir("hello"), -1);
	int sa, sb;
	waitpid(a, &sa, 0);
	waitpid(b, &sb, 0);
	assert_true(WIFEXITED(sa) && WIFEXITED(sb));
	assert_int_equal(WEXITSTATUS(sa), 0);
	assert_int_equal(WEXITSTATUS(sb), 0);
	assert_serves("hello 2.0.0");
	assert_int_equal(count_containers(F->app, NULL), 1);
}

static int on_step_kill(const tl_event *ev, void *p)
{
	/* The child tells the parent when it reaches the health wait. */
	if (ev->type == TL_EVENT_STEP && ev->step && !strcmp(ev->step, "deploy.health"))
		(void)!write(99, "H", 1);
	return 0;
}

static void test_killed_deploy_then_new_deploy_converges(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	int p[2];
	assert_int_equal(pipe(p), 0);
	set_version(app_dir("hello"), "2.0.0");
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		tl_ctx *ctx = NULL;
		tl_ctx_options co = TL_CTX_OPTIONS_INIT;
		co.flags = TL_CTX_NO_CONFIG_FILE;
		co.event_cb = on_step_kill;
		if (tl_ctx_new(&ctx, &co))
			_exit(10);
		const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR",
		                      "TOWLION_UPSTREAM_MODE", "TOWLION_TLS", "TOWLION_NETWORK"};
		for (size_t i = 0; i < 6; i++)
			tl_ctx_config_set(ctx, keys[i], tl_ctx_config_get(F->ctx, keys[i]));
		dup2(p[1], 99);
		tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
		o.path = app_dir("hello");
		tl_deploy(NULL, ctx, F->app, &o);
		_exit(0);
	}
	close(p[1]);
	char ch;
	assert_int_equal(read(p[0], &ch, 1), 1);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	close(p[0]);
	/* Killed between starting the new container and switching: v1 still
	 * serves, and a new container is left behind. */
	assert_serves("hello 1.0.0");
	assert_int_equal(count_containers(F->app, NULL), 2);
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	assert_serves("hello 2.0.0");
	assert_int_equal(count_containers(F->app, NULL), 1);
}

static void test_worker_recreated_on_new_image(void **state)
{
	set_version(app_dir("hello-worker"), "1.0.0");
	tl_release *r1 = deploy_path(app_dir("hello-worker"), TL_OK);
	assert_int_equal(tl_release_service_count(r1), 2);
	assert_int_equal(count_containers(F->app, "worker"), 1);
	set_version(app_dir("hello-worker"), "2.0.0");
	tl_release *r2 = deploy_path(app_dir("hello-worker"), TL_OK);
	assert_int_equal(count_containers(F->app, "worker"), 1);
	assert_int_equal(count_containers(F->app, "web"), 1);
	/* The worker that runs is the new release's. */
	char *rel = tl_test_unit_label(F->ctx, F->app, "worker", "towlion.release");
	assert_string_equal(rel, tl_release_id(r2));
	free(rel);
	assert_serves("hello 2.0.0");
	tl_release_free(r1);
	tl_release_free(r2);
}

static int collect_events(const tl_event *ev, void *p)
{
	tl_buf *all = p;
	const char *parts[] = {ev->message, ev->step, ev->subject};
	for (int i = 0; i < 3; i++)
		if (parts[i]) {
			size_t n = strlen(parts[i]);
			char *q = realloc(all->ptr, all->size + n + 2);
			memcpy(q + all->size, parts[i], n);
			q[all->size + n] = '\n';
			q[all->size + n + 1] = '\0';
			all->ptr = q;
			all->size += n + 1;
		}
	return 0;
}

static void assert_path_serves(const char *path, const char *expected)
{
	CURL *c = curl_easy_init();
	long status;
	char *body = get_through_caddy(c, F->host, path, &status);
	if (!body || !strstr(body, expected))
		fail_msg("%s%s answered HTTP %ld \"%s\", expected \"%s\"", F->host, path, status,
		         body ? body : "(nothing)", expected);
	free(body);
	curl_easy_cleanup(c);
}

static void test_path_routes_switch_together(void **state)
{
	set_version(app_dir("fullstack"), "1.0.0");
	tl_release_free(deploy_path(app_dir("fullstack"), TL_OK));
	assert_path_serves("/api/items", "{\"api\":\"1.0.0\"}");
	assert_path_serves("/", "hello frontend-1.0.0");
	assert_int_equal(count_containers(F->app, "web"), 2);
	set_version(app_dir("fullstack"), "2.0.0");
	tl_release_free(deploy_path(app_dir("fullstack"), TL_OK));
	assert_path_serves("/api/items", "{\"api\":\"2.0.0\"}");
	assert_path_serves("/", "hello frontend-2.0.0");
	assert_int_equal(count_containers(F->app, "web"), 2);
	tl_app_status *st = NULL;
	tl_assert_ok(tl_app_status_get(&st, F->ctx, F->app));
	assert_true(tl_app_status_healthy(st));
	tl_app_status_free(st);
}

static void test_image_scan_blocks_or_warns(void **state)
{
	/* A stand-in for trivy that finds one CRITICAL vulnerability. */
	char scanner[700], cmd[800];
	snprintf(scanner, sizeof(scanner), "%s/fake-trivy", F->dir);
	tl_test_write_file(scanner,
	                   "#!/bin/sh\n"
	                   "echo \"scanned $1\" >&2\n"
	                   "echo '{\"Results\":[{\"Vulnerabilities\":[{\"VulnerabilityID\":"
	                   "\"CVE-2026-0001\",\"Severity\":\"CRITICAL\"}]}]}'\n",
	                   0755);
	snprintf(cmd, sizeof(cmd), "%s {image}", scanner);
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_SCAN_COMMAND", cmd));
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_SCAN_POLICY", "block"));
	set_version(app_dir("hello"), "1.0.0");
	deploy_path(app_dir("hello"), TL_ECONFLICT);
	tl_assert_error_contains("scan");
	assert_int_equal(count_containers(F->app, NULL), 0);
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_SCAN_POLICY", "warn"));
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	assert_serves("hello 1.0.0");
	tl_assert_ok(tl_ctx_config_set(F->ctx, "TOWLION_SCAN_COMMAND", ""));
}

static void test_release_command_migrates_database(void **state)
{
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_assert_ok(tl_pg_app_create(NULL, pg, F->app, NULL));
	tl_pg_free(pg);
	set_version(app_dir("hello-migrate"), "3.0.0");
	tl_buf events = TL_BUF_INIT;
	tl_ctx_set_event_cb(F->ctx, collect_events, &events);
	tl_release_free(deploy_path(app_dir("hello-migrate"), TL_OK));
	tl_ctx_set_event_cb(F->ctx, NULL, NULL);
	/* No secret in any event: not the app's password, not the admin's. */
	tl_buf dburl = TL_BUF_INIT;
	tl_assert_ok(tl_pg_database_url(&dburl, F->ctx, F->app, 0));
	char *pw = strchr(strchr(dburl.ptr, ':') + 3, ':') + 1;
	*strchr(pw, '@') = '\0';
	assert_true(strlen(pw) >= 16);
	assert_true(events.size > 100);
	assert_null(strstr(events.ptr, pw));
	assert_null(strstr(events.ptr, "postgresql://"));
	tl_buf_dispose(&dburl);
	tl_buf_dispose(&events);
	assert_serves("hello 3.0.0");
	/* The table the release command made, owned by the app's role. */
	tl_buf url = TL_BUF_INIT;
	tl_assert_ok(tl_pg_database_url(&url, F->ctx, F->app, 0));
	/* Apps reach PostgreSQL at TOWLION_PG_APP_HOST (the bridge); from the
	 * host we use the admin URL's address with the app's credentials. */
	PGconn *admin = PQconnectdb(getenv("TOWLION_PG_URL"));
	assert_int_equal(PQstatus(admin), CONNECTION_OK);
	char db[128];
	snprintf(db, sizeof(db), "%s_db", F->app);
	char conninfo[1024];
	snprintf(conninfo, sizeof(conninfo), "%s", getenv("TOWLION_PG_URL"));
	PQfinish(admin);
	char *slash = strrchr(conninfo, '/');
	snprintf(slash + 1, sizeof(conninfo) - (size_t)(slash + 1 - conninfo), "%s", db);
	PGconn *c = PQconnectdb(conninfo);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, "SELECT count(*), pg_get_userbyid(relowner) FROM visits, "
	                          "pg_class WHERE relname = 'visits' GROUP BY 2");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "1");
	char role[128];
	snprintf(role, sizeof(role), "%s_user", F->app);
	assert_string_equal(PQgetvalue(res, 0, 1), role);
	PQclear(res);
	PQfinish(c);
	tl_buf_dispose(&url);
}

static void test_destroy_purge_drops_data(void **state)
{
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, F->ctx));
	tl_assert_ok(tl_pg_app_create(NULL, pg, F->app, NULL));
	tl_pg_free(pg);
	set_version(app_dir("hello"), "1.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	/* A copy a restore keeps beside the database, owned by the app. */
	PGconn *c = PQconnectdb(getenv("TOWLION_PG_URL"));
	char sql[300];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s_db__pre_restore_1 OWNER %s_user", F->app,
	         F->app);
	PGresult *r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	d.purge = 1;
	tl_assert_ok(tl_app_destroy(F->ctx, F->app, &d));
	snprintf(sql, sizeof(sql),
	         "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_db%%'), "
	         "(SELECT count(*) FROM pg_roles WHERE rolname = '%s_user')",
	         F->app, F->app);
	r = PQexec(c, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	assert_string_equal(PQgetvalue(r, 0, 1), "0");
	PQclear(r);
	PQfinish(c);
	assert_int_equal(count_containers(F->app, NULL), 0);
}

static void test_destroy_removes_everything(void **state)
{
	set_version(app_dir("hello"), "1.0.0");
	tl_release_free(deploy_path(app_dir("hello"), TL_OK));
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	tl_assert_rc(TL_EINVALID, tl_app_destroy(F->ctx, F->app, &d)); /* no confirm */
	assert_serves("hello 1.0.0");
	d.confirm = 1;
	tl_assert_ok(tl_app_destroy(F->ctx, F->app, &d));
	assert_int_equal(count_containers(F->app, NULL), 0);
	tl_app *a = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_app_open(&a, F->ctx, F->app));
	tl_caddy_sites *sites = NULL;
	tl_assert_ok(tl_caddy_list(&sites, F->ctx));
	for (size_t i = 0; i < tl_caddy_sites_count(sites); i++)
		assert_string_not_equal(tl_caddy_sites_at(sites, i)->site, F->app);
	tl_caddy_sites_free(sites);
	tl_docker *dk = NULL;
	tl_assert_ok(tl_docker_open(&dk, F->ctx));
	char f1[128];
	snprintf(f1, sizeof(f1), "towlion.project=%s", F->app);
	const char *filters[] = {f1, NULL};
	tl_docker_image_list *il = NULL;
	tl_assert_ok(tl_docker_image_list_by_label(&il, dk, filters));
	assert_int_equal(tl_docker_image_list_count(il), 0);
	tl_docker_image_list_free(il);
	tl_docker_free(dk);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("TL_TEST_FILTER"))
		cmocka_set_test_filter(getenv("TL_TEST_FILTER"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_deploy_v1_through_caddy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_downtime_switch_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_waits_for_open_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhealthy_release_changes_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_failed_release_command_changes_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_dry_run_refuses_as_the_real_call, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_deploys_serialise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_deploy_then_new_deploy_converges, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_worker_recreated_on_new_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_routes_switch_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_scan_blocks_or_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_command_migrates_database, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_destroy_removes_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_purge_drops_data, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
