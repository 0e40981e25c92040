/* Limits on untrusted input, on the real dockerd: a tenant's build step
 * that prints 1 GiB without a newline, a container that logs 1 GiB
 * without one, a command whose output has no end, and a health endpoint
 * whose body never ends. Each attack is tried for real; the library's
 * memory (VmHWM of this process) must stay flat, the call must end with
 * the right result or a clear error naming the limit, and another tenant
 * must keep working. (docs/security.md, "Limits on untrusted input";
 * fixtures in tests/isolation/caps/) */
#include "tl_test.h"

#include "core/core.h"
#include "deploy/deploy_int.h"
#include "docker/docker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUSYBOX "towlion-test/busybox:latest"
#define FIXTURES TL_TEST_SOURCE_DIR "/tests/isolation/caps"
/* the bound on growth of this process's peak memory while a tenant
 * floods it (the library's own buffers are 64 KiB to 16 MiB) */
#define MEM_BOUND_KIB (64 * 1024)

static char g_prefix[64];

typedef struct {
	int n;
	int cut;
	size_t longest;
	char last[200];
} events;

typedef struct {
	tl_ctx *ctx;
	tl_docker *d;
	events ev;
} fixture;

static int on_event(const tl_event *e, void *p)
{
	events *ev = p;
	if (e->type != TL_EVENT_OUTPUT)
		return 0;
	size_t l = strlen(e->message);
	ev->n++;
	if (l > ev->longest)
		ev->longest = l;
	if (strstr(e->message, "[... line cut: longer than"))
		ev->cut++;
	snprintf(ev->last, sizeof(ev->last), "%s", l > 150 ? e->message + l - 150 : e->message);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

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
	free(f);
	return 0;
}

static void name_of(char *out, size_t cap, const char *what)
{
	snprintf(out, cap, "%s-%s", g_prefix, what);
}

/* A labelled container of `image` running argv (NULL: its CMD), with
 * port 8000 published on loopback when `port` is set. */
static void run(fixture *f, tl_buf *id, const char *image, const char *what,
                const char *const *argv, int port)
{
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, image));
	char name[128];
	name_of(name, sizeof(name), what);
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	if (argv)
		tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test.caps", g_prefix));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	if (port)
		tl_assert_ok(tl_docker_container_spec_add_port(s, 8000, "tcp", "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_create(id, f->d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(f->d, id->ptr));
}

static void build(fixture *f, tl_buf *image_id, const char *dir, const char *tag)
{
	tl_docker_build_spec *b = NULL;
	tl_assert_ok(tl_docker_build_spec_new(&b, dir));
	tl_assert_ok(tl_docker_build_spec_add_tag(b, tag));
	tl_assert_ok(tl_docker_build_spec_add_label(b, "towlion.test.caps", g_prefix));
	tl_assert_ok(tl_docker_build_spec_set_timeout(b, 600000));
	tl_assert_ok(tl_docker_build_spec_set_no_cache(b, 1));
	tl_assert_ok(tl_docker_image_build(image_id, f->d, b));
	tl_docker_build_spec_free(b);
}

/* The other tenant: a container that says hello and is read back. */
static void other_tenant_works(fixture *f)
{
	tl_buf id = TL_BUF_INIT, out = TL_BUF_INIT;
	const char *argv[] = {"echo", "other tenant fine", NULL};
	run(f, &id, BUSYBOX, "other", argv, 0);
	int code = -1;
	tl_assert_ok(tl_docker_container_wait(&code, f->d, id.ptr, 60000));
	assert_int_equal(code, 0);
	tl_assert_ok(tl_docker_container_logs(&out, NULL, f->d, id.ptr, NULL));
	assert_string_equal(out.ptr, "other tenant fine\n");
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_buf_dispose(&id);
	tl_buf_dispose(&out);
}

/* A Dockerfile RUN step prints 1 GiB without a newline. */
static void test_build_gib_without_newline(void **state)
{
	fixture *f = *state;
	char tag[160];
	snprintf(tag, sizeof(tag), "towlion-test/%s-gib:latest", g_prefix);
	memset(&f->ev, 0, sizeof(f->ev));
	tl_buf img = TL_BUF_INIT;
	long base = tl_test_peak_reset_kib();
	long t0 = now_ms();
	build(f, &img, FIXTURES "/gib-build", tag);
	long grew = tl_test_peak_kib() - base;
	print_message("1 GiB build step: %ld ms, %d output events, longest %zu bytes, "
	              "peak memory +%ld KiB\n", now_ms() - t0, f->ev.n, f->ev.longest, grew);
	assert_true(tl__str_startswith(img.ptr, "sha256:"));
	assert_true(grew < MEM_BOUND_KIB);
	assert_int_equal(f->ev.cut, 1);
	assert_true(f->ev.longest <= DK_LINE_MAX + 64);
	tl_assert_ok(tl_docker_image_remove(f->d, tag, 1));
	other_tenant_works(f);
	tl_buf_dispose(&img);
}

/* A container logs 1 GiB without a newline: read as events the memory
 * stays flat; read into buffers the call fails naming the limit. */
static void test_logs_gib_without_newline(void **state)
{
	fixture *f = *state;
	tl_buf id = TL_BUF_INIT;
	const char *argv[] = {"sh", "-c",
	                      "yes aaaaaaaaaaaaaaa | tr -d '\\n' | head -c 1073741824; echo; "
	                      "echo logged-after-the-flood",
	                      NULL};
	run(f, &id, BUSYBOX, "logflood", argv, 0);
	int code = -1;
	tl_assert_ok(tl_docker_container_wait(&code, f->d, id.ptr, 300000));
	assert_int_equal(code, 0);

	memset(&f->ev, 0, sizeof(f->ev));
	long base = tl_test_peak_reset_kib();
	long t0 = now_ms();
	tl_assert_ok(tl_docker_container_logs(NULL, NULL, f->d, id.ptr, NULL));
	long grew = tl_test_peak_kib() - base;
	print_message("1 GiB of logs as events: %ld ms, %d events, peak memory +%ld KiB\n",
	              now_ms() - t0, f->ev.n, grew);
	assert_true(grew < MEM_BOUND_KIB);
	assert_int_equal(f->ev.cut, 1);
	assert_string_equal(f->ev.last, "logged-after-the-flood");

	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	base = tl_test_peak_reset_kib();
	tl_assert_rc(TL_EIO, tl_docker_container_logs(&out, &err, f->d, id.ptr, NULL));
	tl_assert_error_contains("larger than 16777216 bytes (the limit");
	grew = tl_test_peak_kib() - base;
	print_message("1 GiB of logs into buffers: refused, peak memory +%ld KiB\n", grew);
	assert_true(grew < MEM_BOUND_KIB);
	assert_null(out.ptr); /* the caller's buffers are untouched */
	assert_null(err.ptr);
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	other_tenant_works(f);
	tl_buf_dispose(&id);
}

/* A command in a tenant's container whose output never ends. */
static void test_exec_endless_output(void **state)
{
	fixture *f = *state;
	tl_buf id = TL_BUF_INIT;
	const char *argv[] = {"sleep", "600", NULL};
	run(f, &id, BUSYBOX, "execflood", argv, 0);
	const char *flood[] = {"sh", "-c", "yes aaaaaaaaaaaaaaa | tr -d '\\n'", NULL};
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	int code = -1;
	long base = tl_test_peak_reset_kib();
	tl_assert_rc(TL_EIO, tl_docker_exec(&code, &out, &err, f->d, id.ptr, flood, NULL));
	tl_assert_error_contains("larger than 16777216 bytes (the limit");
	long grew = tl_test_peak_kib() - base;
	print_message("endless exec output into buffers: refused, peak memory +%ld KiB\n", grew);
	assert_true(grew < MEM_BOUND_KIB);
	assert_null(out.ptr);

	/* as events: 256 MiB on one line, then a line */
	const char *big[] = {"sh", "-c",
	                     "yes aaaaaaaaaaaaaaa | tr -d '\\n' | head -c 268435456; echo; "
	                     "echo exec-after-the-flood",
	                     NULL};
	memset(&f->ev, 0, sizeof(f->ev));
	base = tl_test_peak_reset_kib();
	tl_assert_ok(tl_docker_exec(&code, NULL, NULL, f->d, id.ptr, big, NULL));
	grew = tl_test_peak_kib() - base;
	assert_int_equal(code, 0);
	assert_true(grew < MEM_BOUND_KIB);
	assert_int_equal(f->ev.cut, 1);
	assert_string_equal(f->ev.last, "exec-after-the-flood");
	tl_assert_ok(tl_docker_container_remove(f->d, id.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_buf_dispose(&id);
}

static int host_port(fixture *f, const char *id)
{
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, f->d, id));
	int port = tl_docker_container_host_port(c, "8000/tcp", NULL);
	tl_docker_container_free(c);
	assert_true(port > 0);
	return port;
}

/* The health gate against a body that never ends: unhealthy, with the
 * limit named, memory flat; a proper tenant next to it is healthy. */
static void test_health_endless_body(void **state)
{
	fixture *f = *state;
	char tag[160];
	snprintf(tag, sizeof(tag), "towlion-test/%s-http:latest", g_prefix);
	tl_buf img = TL_BUF_INIT, bad = TL_BUF_INIT, good = TL_BUF_INIT;
	build(f, &img, FIXTURES "/endless-http", tag);
	run(f, &bad, tag, "endless", NULL, 1);
	run(f, &good, tag, "proper", NULL, 1);
	char hp_bad[64], hp_good[64];
	snprintf(hp_bad, sizeof(hp_bad), "127.0.0.1:%d", host_port(f, bad.ptr));
	snprintf(hp_good, sizeof(hp_good), "127.0.0.1:%d", host_port(f, good.ptr));
	/* the proper one first: it also proves the image serves */
	tl_assert_ok(tl__health_wait(f->ctx, hp_good, "/health", 20000, NULL, NULL));

	long base = tl_test_peak_reset_kib();
	long t0 = now_ms();
	tl_assert_rc(TL_EUNHEALTHY, tl__health_wait(f->ctx, hp_bad, "/endless", 3000, NULL, NULL));
	long ms = now_ms() - t0, grew = tl_test_peak_kib() - base;
	print_message("endless health body: unhealthy after %ld ms, peak memory +%ld KiB\n", ms,
	              grew);
	tl_assert_error_contains("larger than 65536 bytes (the limit)");
	assert_true(grew < 16 * 1024);
	assert_true(ms < 10000);
	/* and the other tenant is still healthy */
	tl_assert_ok(tl__health_wait(f->ctx, hp_good, "/health", 5000, NULL, NULL));

	tl_assert_ok(tl_docker_container_remove(f->d, bad.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_assert_ok(tl_docker_container_remove(f->d, good.ptr, TL_DOCKER_REMOVE_FORCE));
	tl_assert_ok(tl_docker_image_remove(f->d, tag, 1));
	tl_buf_dispose(&img);
	tl_buf_dispose(&bad);
	tl_buf_dispose(&good);
}

/* Whatever a failed test left behind: only this run's own objects. */
static void cleanup(void)
{
	char label[128];
	snprintf(label, sizeof(label), "towlion.test.caps=%s", g_prefix);
	const char *labels[] = {label, NULL};
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) == TL_OK) {
		tl_docker_container_list *l = NULL;
		if (tl_docker_container_list_by_label(&l, d, labels, 1) == TL_OK)
			for (size_t i = 0; i < tl_docker_container_list_count(l); i++)
				tl_docker_container_remove(
					d, tl_docker_container_id(tl_docker_container_list_at(l, i)),
					TL_DOCKER_REMOVE_FORCE);
		tl_docker_container_list_free(l);
		tl_docker_image_list *il = NULL;
		if (tl_docker_image_list_by_label(&il, d, labels) == TL_OK)
			for (size_t i = 0; i < tl_docker_image_list_count(il); i++)
				tl_docker_image_remove(d, tl_docker_image_id(tl_docker_image_list_at(il, i)),
				                       1);
		tl_docker_image_list_free(il);
		tl_docker_free(d);
	}
	tl_ctx_free(ctx);
}

int main(void)
{
	snprintf(g_prefix, sizeof(g_prefix), "caps-%ld", (long)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_endless_body),
		cmocka_unit_test(test_exec_endless_output),
		cmocka_unit_test(test_logs_gib_without_newline),
		cmocka_unit_test(test_build_gib_without_newline),
	};
	int failed = cmocka_run_group_tests(tests, setup, teardown);
	if (getenv("TOWLION_DOCKER_HOST"))
		cleanup();
	return failed;
}
