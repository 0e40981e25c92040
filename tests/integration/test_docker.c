/* The Docker client against the harness's real dockerd: build the hello
 * example app, run it with a published port, talk HTTP to it, read its
 * logs from both streams, exec in it, and the failures (bad build step,
 * missing image, name conflict, missing socket). Everything created is
 * labelled towlion.test=1 and towlion.app=<APP> and removed at the end. */
#include "tl_test.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "towlion/docker.h"

#define APP "tltest-docker"
#define BUSYBOX "towlion-test/busybox:latest"

static char g_tag[128];   /* the hello image built once */
static char g_prefix[64]; /* container names */

typedef struct {
	tl_buf out;  /* OUTPUT lines */
	int steps;
	int progress;
	int cancel_after; /* cancel after this many output lines (0: never) */
	int lines;
} events;

static int on_event(const tl_event *ev, void *p)
{
	events *e = p;
	if (ev->type == TL_EVENT_OUTPUT) {
		e->lines++;
		size_t n = strlen(ev->message);
		char *line = malloc(n + 2);
		memcpy(line, ev->message, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		tl_buf tmp = e->out;
		size_t need = tmp.size + n + 2;
		tmp.ptr = realloc(tmp.ptr, need);
		memcpy(tmp.ptr + tmp.size, line, n + 2);
		tmp.size += n + 1;
		tmp.asize = need;
		e->out = tmp;
		free(line);
		if (e->cancel_after && e->lines >= e->cancel_after)
			return 1;
	} else if (ev->type == TL_EVENT_STEP) {
		e->steps++;
	} else if (ev->type == TL_EVENT_PROGRESS) {
		e->progress++;
	}
	return 0;
}

typedef struct {
	tl_ctx *ctx;
	tl_docker *d;
	events ev;
} fixture;

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	fixture *f = calloc(1, sizeof(*f));
	f->ctx = tl_test_ctx(1);
	tl_ctx_set_event_cb(f->ctx, on_event, &f->ev);
	tl_assert_ok(tl_docker_open(&f->d, f->ctx));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	tl_docker_free(f->d);
	tl_ctx_free(f->ctx);
	tl_buf_dispose(&f->ev.out);
	free(f);
	return 0;
}

static void reset_events(fixture *f)
{
	tl_buf_dispose(&f->ev.out);
	memset(&f->ev, 0, sizeof(f->ev));
}

static const char *const test_labels[] = {"towlion.test=1", "towlion.app=" APP, NULL};

/* A container from the busybox image running `cmd` (sh -c), labelled. */
static void run_busybox(fixture *f, tl_buf *id, const char *name, const char *cmd, int tty)
{
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, BUSYBOX));
	char full[128];
	snprintf(full, sizeof(full), "%s-%s", g_prefix, name);
	tl_assert_ok(tl_docker_container_spec_set_name(s, full));
	const char *argv[] = {"sh", "-c", cmd, NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", APP));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", name));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_spec_set_tty(s, tty));
	tl_assert_ok(tl_docker_container_create(id, f->d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(f->d, id->ptr));
}

static void test_open_and_version(void **state)
{
	fixture *f = *state;
	assert_string_equal(tl_docker_api_version(f->d), "1.41");
	assert_true(strlen(tl_docker_server_api_version(f->d)) >= 4);
	tl_buf v = TL_BUF_INIT, os = TL_BUF_INIT;
	tl_assert_ok(tl_docker_version(&v, &os, f->d));
	assert_true(v.size > 0);
	assert_non_null(strstr(os.ptr, "linux/"));
	tl_buf_dispose(&v);
	tl_buf_dispose(&os);
}

static void test_missing_socket(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST",
	                               "unix:///tmp/towlion-no-such-dir/docker.sock"));
	tl_docker *d = (tl_docker *)0x1;
	tl_assert_rc(TL_EUNAVAILABLE, tl_docker_open(&d, ctx));
	assert_ptr_equal(d, (tl_docker *)0x1); /* untouched on failure */
	tl_assert_error_contains("/tmp/towlion-no-such-dir/docker.sock");
	tl_assert_error_contains("dockerd");
	tl_assert_error_contains("TOWLION_DOCKER_HOST");
	/* a socket file nobody listens on */
	char *dir = tl_test_tmpdir();
	tl_buf host = TL_BUF_INIT;
	char path[512];
	snprintf(path, sizeof(path), "%s/dead.sock", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "tcp://127.0.0.1:1"));
	tl_assert_rc(TL_EUNAVAILABLE, tl_docker_open(&d, ctx));
	tl_assert_error_contains("127.0.0.1:1");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "ssh://server"));
	tl_assert_rc(TL_EINVALID, tl_docker_open(&d, ctx));
	tl_buf_dispose(&host);
	tl_test_rmdir(dir);
	tl_ctx_free(ctx);
}

static void test_build_hello(void **state)
{
	fixture *f = *state;
	reset_events(f);
	tl_docker_build_spec *b = NULL;
	tl_assert_ok(tl_docker_build_spec_new(&b, TL_TEST_SOURCE_DIR "/examples/apps/hello"));
	tl_assert_ok(tl_docker_build_spec_add_tag(b, g_tag));
	tl_assert_ok(tl_docker_build_spec_add_arg(b, "APP_VERSION", "2.3.4"));
	tl_assert_ok(tl_docker_build_spec_add_label(b, "towlion.test", "1"));
	tl_assert_ok(tl_docker_build_spec_add_label(b, "towlion.app", APP));
	tl_buf id = TL_BUF_INIT;
	tl_assert_ok(tl_docker_image_build(&id, f->d, b));
	tl_docker_build_spec_free(b);
	assert_true(strncmp(id.ptr, "sha256:", 7) == 0);
	/* the build's lines came through events, the context as progress */
	assert_non_null(strstr(f->ev.out.ptr, "Step 1/"));
	assert_true(f->ev.progress > 0);
	assert_true(f->ev.steps > 0);
	tl_docker_image *img = NULL;
	tl_assert_ok(tl_docker_image_inspect(&img, f->d, g_tag));
	assert_string_equal(tl_docker_image_id(img), id.ptr);
	assert_string_equal(tl_docker_image_label(img, "towlion.app"), APP);
	assert_true(tl_docker_image_size(img) > 0);
	assert_int_equal(tl_docker_image_tag_count(img), 1);
	assert_string_equal(tl_docker_image_tag_at(img, 0), g_tag);
	tl_docker_image_free(img);
	/* .dockerignore kept README.md out of the image's context */
	tl_docker_image_list *l = NULL;
	const char *filt[] = {"towlion.app=" APP, NULL};
	tl_assert_ok(tl_docker_image_list_by_label(&l, f->d, filt));
	assert_true(tl_docker_image_list_count(l) >= 1);
	tl_docker_image_list_free(l);
	tl_buf_dispose(&id);
}

typedef struct {
	tl_buf body;
} http_res;

static size_t http_write(char *d, size_t s, size_t n, void *p)
{
	http_res *r = p;
	size_t len = s * n;
	r->body.ptr = realloc(r->body.ptr, r->body.size + len + 1);
	memcpy(r->body.ptr + r->body.size, d, len);
	r->body.size += len;
	r->body.ptr[r->body.size] = '\0';
	return len;
}

static long http_get(const char *url, tl_buf *body)
{
	http_res r = {TL_BUF_INIT};
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 3000L);
	long status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	*body = r.body;
	return status;
}

static void test_run_hello(void **state)
{
	fixture *f = *state;
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, g_tag));
	char name[128];
	snprintf(name, sizeof(name), "%s-web", g_prefix);
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	tl_assert_ok(tl_docker_container_spec_add_port(s, 8000, "tcp", "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", APP));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "app"));
	tl_assert_ok(tl_docker_container_spec_add_env(s, "GREETING", "hi there"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_spec_set_restart(s, "unless-stopped", 0));
	tl_assert_ok(tl_docker_container_spec_set_memory(s, 64 * 1024 * 1024));
	tl_assert_ok(tl_docker_container_spec_set_cpus(s, 0.5));
	tl_assert_ok(tl_docker_container_spec_add_tmpfs(s, "/scratch", "size=1m"));
	tl_assert_ok(tl_docker_container_spec_add_extra_host(s, "db.internal:10.9.8.7"));
	tl_assert_ok(tl_docker_container_spec_set_stop(s, "SIGTERM", 5));
	const char *hc[] = {"CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health",
	                    NULL};
	tl_assert_ok(tl_docker_container_spec_set_healthcheck(s, hc, 1000, 2000, 3, 0));
	tl_buf json = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_spec_json(&json, s));
	assert_non_null(strstr(json.ptr, "GREETING=***")); /* env values masked */
	assert_null(strstr(json.ptr, "hi there"));
	tl_buf_dispose(&json);
	tl_buf id = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_create(&id, f->d, s));
	/* the same name again is a conflict */
	tl_buf id2 = TL_BUF_INIT;
	tl_assert_rc(TL_ECONFLICT, tl_docker_container_create(&id2, f->d, s));
	tl_assert_error_contains(name);
	assert_int_equal(tl_error_last()->upstream_code, 409);
	assert_int_equal(id2.size, 0);
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(f->d, name));
	tl_assert_ok(tl_docker_container_start(f->d, name)); /* already running: fine */

	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, f->d, name));
	assert_string_equal(tl_docker_container_id(c), id.ptr);
	assert_string_equal(tl_docker_container_name(c), name);
	assert_string_equal(tl_docker_container_image(c), g_tag);
	assert_true(tl_docker_container_running(c));
	assert_string_equal(tl_docker_container_label(c, "towlion.service"), "app");
	assert_null(tl_docker_container_label(c, "nope"));
	tl_buf hip = TL_BUF_INIT;
	int port = tl_docker_container_host_port(c, "8000/tcp", &hip);
	assert_true(port > 0);
	assert_string_equal(hip.ptr, "127.0.0.1");
	assert_int_equal(tl_docker_container_host_port(c, "9999", NULL), 0);
	assert_true(strlen(tl_docker_container_ip(c, NULL)) >= 7);
	assert_true(tl_docker_container_created(c) > 1600000000);
	tl_docker_container_free(c);
	tl_buf_dispose(&hip);

	/* HTTP through the published port */
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	tl_buf body = TL_BUF_INIT;
	long st = 0;
	for (int i = 0; i < 100 && st != 200; i++) {
		tl_buf_dispose(&body);
		st = http_get(url, &body);
		if (st != 200)
			usleep(100000);
	}
	assert_int_equal(st, 200);
	assert_string_equal(body.ptr, "{\"status\":\"ok\"}\n");
	tl_buf_dispose(&body);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(http_get(url, &body), 200);
	assert_string_equal(body.ptr, "hello 2.3.4\n");
	tl_buf_dispose(&body);

	/* logs: the start line on stdout, the request lines on stderr */
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	for (int i = 0; i < 50; i++) {
		tl_assert_ok(tl_docker_container_logs(&out, &err, f->d, name, NULL));
		if (err.ptr && strstr(err.ptr, "GET / 200"))
			break;
		usleep(100000);
	}
	assert_non_null(strstr(out.ptr, "hello 2.3.4 listening on :8000\n"));
	assert_null(strstr(out.ptr, "GET /health"));
	assert_non_null(strstr(err.ptr, "GET /health 200\n"));
	assert_non_null(strstr(err.ptr, "GET / 200\n"));
	assert_null(strstr(err.ptr, "listening"));
	tl_docker_logs_options lo;
	tl_assert_ok(tl_docker_logs_options_init(&lo, TL_DOCKER_LOGS_OPTIONS_VERSION));
	lo.tail = 1;
	lo.no_stdout = 1;
	tl_assert_ok(tl_docker_container_logs(&out, &err, f->d, name, &lo));
	assert_int_equal(out.size, 0);
	assert_string_equal(err.ptr, "GET / 200\n");
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);

	/* list by label, with health from the status line */
	tl_docker_container_list *l = NULL;
	const char *filt[] = {"towlion.app=" APP, "towlion.service=app", NULL};
	const char *health = "";
	for (int i = 0; i < 100; i++) {
		tl_docker_container_list_free(l);
		tl_assert_ok(tl_docker_container_list_by_label(&l, f->d, filt, 0));
		assert_int_equal(tl_docker_container_list_count(l), 1);
		health = tl_docker_container_health(tl_docker_container_list_at(l, 0));
		if (!strcmp(health, "healthy"))
			break;
		usleep(100000);
	}
	assert_string_equal(health, "healthy");
	const tl_docker_container *e = tl_docker_container_list_at(l, 0);
	assert_string_equal(tl_docker_container_name(e), name);
	assert_string_equal(tl_docker_container_state(e), "running");
	assert_int_equal(tl_docker_container_host_port(e, "8000", NULL), port);
	assert_null(tl_docker_container_list_at(l, 1));
	tl_docker_container_list_free(l);
	tl_buf_dispose(&id);
}

static void test_exec(void **state)
{
	fixture *f = *state;
	char name[128];
	snprintf(name, sizeof(name), "%s-web", g_prefix);
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; echo $GREETING $X; exit 3", NULL};
	const char *env[] = {"X=from-exec", NULL};
	tl_docker_exec_options o;
	tl_assert_ok(tl_docker_exec_options_init(&o, TL_DOCKER_EXEC_OPTIONS_VERSION));
	o.env = env;
	int code = -1;
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &out, &err, f->d, name, argv, &o));
	assert_int_equal(code, 3);
	assert_string_equal(out.ptr, "out\nhi there from-exec\n");
	assert_string_equal(err.ptr, "err\n");
	/* stdin, then EOF */
	const char *cat[] = {"sh", "-c", "tr a-z A-Z; echo done", NULL};
	tl_assert_ok(tl_docker_exec_options_init(&o, TL_DOCKER_EXEC_OPTIONS_VERSION));
	o.stdin_data = "hello stdin\n";
	o.stdin_len = 12;
	tl_assert_ok(tl_docker_exec(&code, &out, &err, f->d, name, cat, &o));
	assert_int_equal(code, 0);
	assert_string_equal(out.ptr, "HELLO STDIN\ndone\n");
	/* a larger stdin than any pipe buffer */
	size_t big = 1 << 20;
	char *data = malloc(big);
	memset(data, 'z', big);
	const char *wc[] = {"wc", "-c", NULL};
	o.stdin_data = data;
	o.stdin_len = big;
	tl_assert_ok(tl_docker_exec(&code, &out, &err, f->d, name, wc, &o));
	assert_int_equal(atoi(out.ptr), (int)big);
	free(data);
	/* a TTY: one raw stream */
	tl_assert_ok(tl_docker_exec_options_init(&o, TL_DOCKER_EXEC_OPTIONS_VERSION));
	o.tty = 1;
	const char *tty[] = {"sh", "-c", "echo on-tty; echo also >&2", NULL};
	tl_assert_ok(tl_docker_exec(&code, &out, &err, f->d, name, tty, &o));
	assert_non_null(strstr(out.ptr, "on-tty"));
	assert_non_null(strstr(out.ptr, "also"));
	assert_int_equal(err.size, 0);
	/* output as events when no buffers are given */
	reset_events(f);
	const char *ev[] = {"sh", "-c", "echo line1; echo line2", NULL};
	tl_assert_ok(tl_docker_exec(&code, NULL, NULL, f->d, name, ev, NULL));
	assert_string_equal(f->ev.out.ptr, "line1\nline2\n");
	/* a command that does not exist */
	const char *nope[] = {"/no/such/cmd", NULL};
	/* Docker runs it and reports the failure as exit status 126 with the
	 * runtime's message in the output */
	tl_assert_ok(tl_docker_exec(&code, &out, &err, f->d, name, nope, NULL));
	assert_true(code == 126 || code == 127);
	assert_true(strstr(out.ptr ? out.ptr : "", "/no/such/cmd") ||
	            strstr(err.ptr ? err.ptr : "", "/no/such/cmd"));
	/* the timeout */
	tl_assert_ok(tl_docker_exec_options_init(&o, TL_DOCKER_EXEC_OPTIONS_VERSION));
	o.timeout_ms = 300;
	const char *slow[] = {"sleep", "5", NULL};
	tl_assert_rc(TL_ETIMEOUT, tl_docker_exec(&code, &out, &err, f->d, name, slow, &o));
	/* a missing container */
	tl_assert_rc(TL_ENOTFOUND,
	             tl_docker_exec(&code, &out, &err, f->d, "tltest-no-such-container", argv, NULL));
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
}

static void test_failures(void **state)
{
	fixture *f = *state;
	/* a missing image */
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/no-such-image:latest"));
	tl_buf id = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_create(&id, f->d, s));
	tl_assert_error_contains("no-such-image");
	assert_int_equal(tl_error_last()->upstream_code, 404);
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_DOCKER);
	tl_docker_container_spec_free(s);
	tl_docker_container *c = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_inspect(&c, f->d, "tltest-none"));
	assert_null(c);
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_stop(f->d, "tltest-none", 1));
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_logs(&id, NULL, f->d, "tltest-none", NULL));
	tl_docker_image *img = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_docker_image_inspect(&img, f->d, "towlion-test/nope:1"));
	/* names that could escape the request path are refused before Docker */
	tl_assert_rc(TL_EINVALID, tl_docker_container_inspect(&c, f->d, "../../version"));
	tl_assert_rc(TL_EINVALID, tl_docker_container_inspect(&c, f->d, "a b"));
	tl_assert_rc(TL_EINVALID, tl_docker_container_inspect(&c, f->d, "x?all=1"));
	/* a failing build step */
	char *dir = tl_test_tmpdir();
	char p[512];
	snprintf(p, sizeof(p), "%s/Dockerfile", dir);
	tl_test_write_file(p,
	                   "FROM " BUSYBOX "\n"
	                   /* the step before the failure stays as a cached image:
	                    * labelled, so that cleanup() finds it */
	                   "LABEL towlion.test=1 towlion.app=" APP "\n"
	                   "RUN echo about to fail && exit 7\n"
	                   "RUN echo never\n",
	                   0644);
	tl_docker_build_spec *b = NULL;
	tl_assert_ok(tl_docker_build_spec_new(&b, dir));
	tl_assert_ok(tl_docker_build_spec_add_label(b, "towlion.test", "1"));
	tl_assert_ok(tl_docker_build_spec_add_label(b, "towlion.app", APP));
	reset_events(f);
	tl_assert_rc(TL_ERROR, tl_docker_image_build(&id, f->d, b));
	/* Docker's own step counter (the labels add steps) and the step text */
	tl_assert_error_contains("Step 3/");
	tl_assert_error_contains(": RUN echo about to fail && exit 7");
	tl_assert_error_contains("returned a non-zero code: 7");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_DOCKER);
	assert_non_null(strstr(f->ev.out.ptr, "about to fail"));
	/* a bad instruction, and a base image that does not exist */
	tl_test_write_file(p, "FROM " BUSYBOX "\nFROBNICATE now\n", 0644);
	/* Docker refuses it up front with HTTP 400: its message, our code */
	tl_assert_rc(TL_EINVALID, tl_docker_image_build(&id, f->d, b));
	tl_assert_error_contains("unknown instruction: FROBNICATE");
	assert_int_equal(tl_error_last()->upstream_code, 400);
	tl_test_write_file(p, "FROM towlion-test/no-such-base:latest\n", 0644);
	int rc = tl_docker_image_build(&id, f->d, b);
	assert_true(rc != TL_OK);
	tl_assert_error_contains("no-such-base");
	/* no Dockerfile at all */
	unlink(p);
	tl_assert_rc(TL_ENOTFOUND, tl_docker_image_build(&id, f->d, b));
	tl_assert_error_contains("Dockerfile");
	tl_assert_rc(TL_EINVALID, tl_docker_build_spec_set_dockerfile(b, "../Dockerfile"));
	tl_docker_build_spec_free(b);
	tl_test_rmdir(dir);
	tl_buf_dispose(&id);
}

static void test_lifecycle(void **state)
{
	fixture *f = *state;
	tl_buf id = TL_BUF_INIT;
	run_busybox(f, &id, "life", "trap 'exit 42' TERM; while true; do sleep 0.1; done", 0);
	char name[128], renamed[128];
	snprintf(name, sizeof(name), "%s-life", g_prefix);
	snprintf(renamed, sizeof(renamed), "%s-life2", g_prefix);
	tl_assert_ok(tl_docker_container_rename(f->d, name, renamed));
	tl_docker_container *c = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_inspect(&c, f->d, name));
	tl_assert_ok(tl_docker_container_restart(f->d, renamed, 5));
	tl_assert_ok(tl_docker_container_stop(f->d, renamed, 5));
	tl_assert_ok(tl_docker_container_stop(f->d, renamed, 5)); /* stopped already: fine */
	int code = -1;
	tl_assert_ok(tl_docker_container_wait(&code, f->d, renamed, 10000));
	assert_int_equal(code, 42);
	tl_assert_ok(tl_docker_container_inspect(&c, f->d, renamed));
	assert_false(tl_docker_container_running(c));
	assert_string_equal(tl_docker_container_state(c), "exited");
	assert_int_equal(tl_docker_container_exit_code(c), 42);
	tl_docker_container_free(c);
	tl_assert_rc(TL_ECONFLICT, tl_docker_container_kill(f->d, renamed, NULL));
	/* exec into a stopped container is a conflict */
	const char *argv[] = {"true", NULL};
	tl_assert_rc(TL_ECONFLICT, tl_docker_exec(&code, NULL, NULL, f->d, renamed, argv, NULL));
	tl_assert_ok(tl_docker_container_start(f->d, renamed));
	tl_assert_ok(tl_docker_container_kill(f->d, renamed, "SIGKILL"));
	tl_assert_ok(tl_docker_container_wait(&code, f->d, renamed, 10000));
	assert_int_equal(code, 137);
	tl_assert_ok(tl_docker_container_remove(f->d, renamed, TL_DOCKER_REMOVE_VOLUMES));
	tl_assert_rc(TL_ENOTFOUND, tl_docker_container_remove(f->d, renamed, 0));
	/* wait with a timeout on a container that keeps running */
	run_busybox(f, &id, "waiter", "sleep 30", 0);
	tl_assert_rc(TL_ETIMEOUT, tl_docker_container_wait(&code, f->d, id.ptr, 300));
	/* removing a running container needs force */
	tl_assert_rc(TL_ECONFLICT, tl_docker_container_remove(f->d, id.ptr, 0));
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_buf_dispose(&id);
}

static void test_logs_follow_and_tty(void **state)
{
	fixture *f = *state;
	tl_buf id = TL_BUF_INIT;
	run_busybox(f, &id, "ticker",
	            "i=0; while true; do i=$((i+1)); echo tick $i; echo tock $i >&2; sleep 0.05; done",
	            0);
	reset_events(f);
	f->ev.cancel_after = 6;
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	lo.follow = 1;
	tl_assert_rc(TL_EUSER, tl_docker_container_logs(NULL, NULL, f->d, id.ptr, &lo));
	assert_true(f->ev.lines >= 6);
	assert_non_null(strstr(f->ev.out.ptr, "tick 1\n"));
	assert_non_null(strstr(f->ev.out.ptr, "tock 1\n"));
	/* A cancelled context stays cancelled (core's rule): go on with a new
	 * one. The ticker goes away in cleanup(). */
	tl_buf_dispose(&id);
}

static void test_logs_tty_and_bulk(void **state)
{
	fixture *f = *state;
	tl_buf id = TL_BUF_INIT, out = TL_BUF_INIT;
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	lo.follow = 1;
	/* follow needs the event stream */
	tl_assert_rc(TL_EINVALID, tl_docker_container_logs(&out, NULL, f->d, "x", &lo));
	/* follow ends by itself when the container stops */
	tl_ctx *ctx = tl_test_ctx(1);
	events ev = {0};
	tl_ctx_set_event_cb(ctx, on_event, &ev);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	run_busybox(f, &id, "short", "echo one; sleep 0.3; echo two", 0);
	tl_assert_ok(tl_docker_container_logs(NULL, NULL, d, id.ptr, &lo));
	assert_string_equal(ev.out.ptr, "one\ntwo\n");
	tl_assert_ok(tl_docker_container_remove(d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_docker_free(d);
	tl_ctx_free(ctx);
	tl_buf_dispose(&ev.out);
	/* a TTY container: raw stream, all of it on stdout */
	run_busybox(f, &id, "tty", "echo to-out; echo to-err >&2", 1);
	int code;
	tl_assert_ok(tl_docker_container_wait(&code, f->d, id.ptr, 10000));
	tl_buf err = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_logs(&out, &err, f->d, id.ptr, NULL));
	assert_non_null(strstr(out.ptr, "to-out"));
	assert_non_null(strstr(out.ptr, "to-err"));
	assert_int_equal(err.size, 0);
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	/* lots of output: frames split across reads */
	run_busybox(f, &id, "bulk", "seq 1 20000; seq 1 5000 >&2", 0);
	tl_assert_ok(tl_docker_container_wait(&code, f->d, id.ptr, 20000));
	tl_assert_ok(tl_docker_container_logs(&out, &err, f->d, id.ptr, NULL));
	assert_true(tl__str_endswith(out.ptr, "19999\n20000\n"));
	assert_non_null(strstr(err.ptr, "\n4999\n5000\n"));
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_buf_dispose(&id);
}

static void test_networks(void **state)
{
	fixture *f = *state;
	char net[128];
	snprintf(net, sizeof(net), "%s-net", g_prefix);
	int created = -1;
	tl_assert_ok(tl_docker_network_ensure(&created, f->d, net, test_labels));
	assert_int_equal(created, 1);
	tl_assert_ok(tl_docker_network_ensure(&created, f->d, net, test_labels));
	assert_int_equal(created, 0);
	tl_buf id = TL_BUF_INIT;
	run_busybox(f, &id, "netted", "sleep 60", 0);
	const char *aliases[] = {"api", "api-v2", NULL};
	tl_assert_ok(tl_docker_network_connect(f->d, net, id.ptr, aliases));
	tl_assert_ok(tl_docker_network_connect(f->d, net, id.ptr, aliases)); /* again: fine */
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, f->d, id.ptr));
	assert_true(strlen(tl_docker_container_ip(c, net)) >= 7);
	tl_docker_container_free(c);
	/* another container on the network resolves the alias */
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, BUSYBOX));
	const char *argv[] = {"sh", "-c", "sleep 60", NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", APP));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_spec_set_network(s, net));
	tl_assert_ok(tl_docker_container_spec_add_alias(s, "client"));
	tl_buf id2 = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_create(&id2, f->d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(f->d, id2.ptr));
	const char *ping[] = {"ping", "-c", "1", "-W", "2", "api-v2", NULL};
	int code = -1;
	tl_buf out = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &out, NULL, f->d, id2.ptr, ping, NULL));
	assert_int_equal(code, 0);
	/* in use: cannot be removed */
	tl_assert_rc(TL_ECONFLICT, tl_docker_network_remove(f->d, net));
	tl_assert_ok(tl_docker_network_disconnect(f->d, net, id.ptr, 0));
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_assert_ok(tl_docker_container_remove(f->d, id2.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_assert_ok(tl_docker_network_remove(f->d, net));
	tl_assert_rc(TL_ENOTFOUND, tl_docker_network_remove(f->d, net));
	tl_buf_dispose(&id);
	tl_buf_dispose(&id2);
	tl_buf_dispose(&out);
}

static void test_images_tag_import_prune(void **state)
{
	fixture *f = *state;
	char repo[128];
	snprintf(repo, sizeof(repo), "tltest/retag-%d", (int)getpid());
	tl_assert_ok(tl_docker_image_tag(f->d, g_tag, repo, "v1"));
	char ref[160];
	snprintf(ref, sizeof(ref), "%s:v1", repo);
	tl_docker_image *img = NULL;
	tl_assert_ok(tl_docker_image_inspect(&img, f->d, ref));
	tl_docker_image_free(img);
	tl_assert_ok(tl_docker_image_remove(f->d, ref, 0));
	tl_assert_rc(TL_ENOTFOUND, tl_docker_image_remove(f->d, ref, 0));

	/* import a root filesystem tar (made with the library's own writer via
	 * a build context is overkill: a plain file tar is enough) */
	char *dir = tl_test_tmpdir();
	char p[512], tarp[512];
	snprintf(p, sizeof(p), "%s/rootfs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/rootfs/hello.txt", dir);
	tl_test_write_file(p, "imported\n", 0644);
	snprintf(tarp, sizeof(tarp), "%s/rootfs.tar", dir);
	snprintf(p, sizeof(p), "%s/rootfs", dir);
	const char *targv[] = {"tar", "-C", p, "-cf", tarp, ".", NULL};
	tl__spawn_opts so = {.argv = targv, .timeout_ms = 10000};
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &so));
	assert_int_equal(r.exit_status, 0);
	tl__spawn_result_dispose(&r);
	snprintf(ref, sizeof(ref), "tltest/imported-%d:v1", (int)getpid());
	const char *changes[] = {"LABEL towlion.test=1", "LABEL towlion.app=" APP,
	                         "CMD [\"/hello.txt\"]", NULL};
	tl_buf id = TL_BUF_INIT;
	tl_assert_ok(tl_docker_image_import(&id, f->d, tarp, ref, changes));
	assert_true(strncmp(id.ptr, "sha256:", 7) == 0);
	tl_assert_ok(tl_docker_image_inspect(&img, f->d, ref));
	assert_string_equal(tl_docker_image_id(img), id.ptr);
	assert_string_equal(tl_docker_image_label(img, "towlion.test"), "1");
	tl_docker_image_free(img);
	tl_assert_rc(TL_ENOTFOUND, tl_docker_image_import(&id, f->d, "/no/such.tar", ref, NULL));
	tl_test_rmdir(dir);

	/* prune needs a filter; with ours it removes only our unused images */
	uint64_t freed = 0;
	tl_assert_rc(TL_EINVALID, tl_docker_image_prune(&freed, f->d, NULL));
	char lab[96];
	snprintf(lab, sizeof(lab), "towlion.app=%s", APP);
	const char *filt[] = {"towlion.test=1", lab, NULL};
	tl_assert_ok(tl_docker_image_prune(&freed, f->d, filt));
	tl_assert_rc(TL_ENOTFOUND, tl_docker_image_inspect(&img, f->d, ref));
	tl_assert_ok(tl_docker_image_inspect(&img, f->d, BUSYBOX)); /* untouched */
	tl_docker_image_free(img);
	tl_buf_dispose(&id);
}

static void cleanup(void)
{
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) == TL_OK) {
		tl_docker_container_list *l = NULL;
		if (tl_docker_container_list_by_label(&l, d, test_labels, 1) == TL_OK)
			for (size_t i = 0; i < tl_docker_container_list_count(l); i++)
				tl_docker_container_remove(d, tl_docker_container_id(
				                                  tl_docker_container_list_at(l, i)),
				                           TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
		tl_docker_container_list_free(l);
		char net[128];
		snprintf(net, sizeof(net), "%s-net", g_prefix);
		tl_docker_network_remove(d, net);
		tl_docker_image_remove(d, g_tag, 1);
		tl_docker_image_list *il = NULL;
		if (tl_docker_image_list_by_label(&il, d, test_labels) == TL_OK)
			for (size_t i = 0; i < tl_docker_image_list_count(il); i++)
				tl_docker_image_remove(d, tl_docker_image_id(tl_docker_image_list_at(il, i)), 1);
		tl_docker_image_list_free(il);
		tl_docker_free(d);
	}
	tl_ctx_free(ctx);
}

int main(void)
{
	snprintf(g_tag, sizeof(g_tag), "tltest/hello:%d", (int)getpid());
	snprintf(g_prefix, sizeof(g_prefix), "tltest-docker-%d", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_socket),
		cmocka_unit_test_setup_teardown(test_open_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_follow_and_tty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logs_tty_and_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_images_tag_import_prune, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (getenv("TOWLION_DOCKER_HOST"))
		cleanup();
	return rc;
}
