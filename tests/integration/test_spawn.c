/* Spawning real processes: argv only, pipes, env, timeouts that kill the
 * whole process group, signals, cancellation. */
#include "tl_test.h"

#include "core/core.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl__spawn_opts capture(const char *const *argv)
{
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.stdout_mode = TL__STDIO_BUFFER;
	o.stderr_mode = TL__STDIO_BUFFER;
	return o;
}

static void test_exit_status_and_streams(void **state)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	tl__spawn_opts o = capture(argv);
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_true(r.exited);
	assert_int_equal(r.exit_status, 3);
	assert_string_equal(r.out.ptr, "out\n");
	assert_string_equal(r.err.ptr, "err\n");
	char d[64];
	assert_string_equal(tl__spawn_describe(&r, d, sizeof(d)), "exit status 3");
	tl__spawn_result_dispose(&r);
}

static void test_no_shell_interpretation(void **state)
{
	/* Metacharacters in an argument reach the program verbatim. */
	const char *argv[] = {"printf", "%s", "$(id); rm -rf / `x` | y > z", NULL};
	tl__spawn_opts o = capture(argv);
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_string_equal(r.out.ptr, "$(id); rm -rf / `x` | y > z");
	tl__spawn_result_dispose(&r);
}

static void test_stdin_large_roundtrip(void **state)
{
	size_t n = 4 << 20; /* larger than any pipe buffer: no deadlock */
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	const char *argv[] = {"cat", NULL};
	tl__spawn_opts o = capture(argv);
	o.stdin_mode = TL__STDIO_BUFFER;
	o.in = data;
	o.in_len = n;
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.out.size, n);
	assert_memory_equal(r.out.ptr, data, n);
	tl__spawn_result_dispose(&r);
	/* A child that does not read its stdin does not kill us (SIGPIPE). */
	const char *t[] = {"true", NULL};
	o.argv = t;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.exit_status, 0);
	tl__spawn_result_dispose(&r);
	free(data);
}

static void test_env_and_cwd(void **state)
{
	const char *env[] = {"TL_TEST_SECRET=from-env", "HOME=/nowhere", NULL};
	const char *argv[] = {"sh", "-c", "echo \"$TL_TEST_SECRET $HOME $(pwd)\"", NULL};
	tl__spawn_opts o = capture(argv);
	o.env = env;
	o.cwd = "/tmp";
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_string_equal(r.out.ptr, "from-env /nowhere /tmp\n");
	tl__spawn_result_dispose(&r);
	/* A clean environment has only what we pass. */
	const char *argv2[] = {"/usr/bin/env", NULL};
	o = capture(argv2);
	o.env = env;
	o.clean_env = true;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_string_equal(r.out.ptr, "TL_TEST_SECRET=from-env\nHOME=/nowhere\n");
	tl__spawn_result_dispose(&r);
}

static bool process_gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	char *stat = tl_test_read_file(path);
	if (!stat)
		return true;
	/* A zombie waiting for its reaper is dead too. */
	char *close_paren = strrchr(stat, ')');
	bool zombie = close_paren && close_paren[2] == 'Z';
	free(stat);
	return zombie;
}

static void test_timeout_kills_process_group(void **state)
{
	char *dir = tl_test_tmpdir();
	char pidfile[512];
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", dir);
	char script[1024];
	snprintf(script, sizeof(script), "sleep 60 & echo $! > %s; wait", pidfile);
	const char *argv[] = {"sh", "-c", script, NULL};
	tl__spawn_opts o = capture(argv);
	o.timeout_ms = 300;
	tl__spawn_result r;
	tl_assert_rc(TL_ETIMEOUT, tl__spawn(&r, NULL, &o));
	assert_true(r.timed_out);
	tl_assert_error_contains("300 ms");
	char *gp = tl_test_read_file(pidfile);
	assert_non_null(gp);
	pid_t grandchild = (pid_t)atol(gp);
	free(gp);
	for (int i = 0; i < 100 && !process_gone(grandchild); i++)
		usleep(20000);
	assert_true(process_gone(grandchild));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);
}

static void test_killed_by_signal(void **state)
{
	const char *argv[] = {"sh", "-c", "kill -9 $$", NULL};
	tl__spawn_opts o = capture(argv);
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_false(r.exited);
	assert_int_equal(r.signal, SIGKILL);
	char d[64];
	assert_non_null(strstr(tl__spawn_describe(&r, d, sizeof(d)), "signal 9"));
	tl__spawn_result_dispose(&r);
}

static void test_missing_program(void **state)
{
	const char *argv[] = {"towlion-no-such-program", NULL};
	tl__spawn_opts o = capture(argv);
	tl__spawn_result r;
	tl_assert_rc(TL_ENOTFOUND, tl__spawn(&r, NULL, &o));
	tl_assert_error_contains("towlion-no-such-program");
	const char *abs[] = {"/nonexistent/bin/x", NULL};
	o.argv = abs;
	tl_assert_rc(TL_ENOTFOUND, tl__spawn(&r, NULL, &o));
	tl_assert_rc(TL_EINVALID, tl__spawn(&r, NULL, NULL));
}

typedef struct {
	int lines;
	int cancel_at;
	char first[64];
} event_log;

static int on_output(const tl_event *ev, void *p)
{
	event_log *log = p;
	if (ev->type != TL_EVENT_OUTPUT)
		return 0;
	if (log->lines++ == 0)
		snprintf(log->first, sizeof(log->first), "%s|%s", ev->message,
		         ev->subject ? ev->subject : "");
	return log->cancel_at && log->lines >= log->cancel_at;
}

static void test_output_events_and_cancel(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	event_log log = {0};
	tl_ctx_set_event_cb(ctx, on_output, &log);
	const char *argv[] = {"sh", "-c", "printf 'one\\r\\ntwo\\nthree'", NULL};
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.stdout_mode = TL__STDIO_EVENTS;
	o.subject = "build";
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, ctx, &o));
	assert_int_equal(log.lines, 3); /* the last line has no newline */
	assert_string_equal(log.first, "one|build");
	tl__spawn_result_dispose(&r);

	/* Cancelling from the callback kills the process. */
	event_log log2 = {0, 2, ""};
	tl_ctx_set_event_cb(ctx, on_output, &log2);
	const char *forever[] = {"sh", "-c", "while true; do echo tick; sleep 0.05; done", NULL};
	o.argv = forever;
	tl_assert_rc(TL_EUSER, tl__spawn(&r, ctx, &o));
	assert_int_equal(log2.lines, 2);
	tl__spawn_result_dispose(&r);
	tl_ctx_free(ctx);
}

static void test_output_to_file(void **state)
{
	char *dir = tl_test_tmpdir();
	char out[512];
	snprintf(out, sizeof(out), "%s/dump.out", dir);
	const char *argv[] = {"echo", "to a file", NULL};
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.stdout_mode = TL__STDIO_FILE;
	o.out_path = out;
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	char *text = tl_test_read_file(out);
	assert_string_equal(text, "to a file\n");
	free(text);
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_and_streams),
		cmocka_unit_test(test_no_shell_interpretation),
		cmocka_unit_test(test_stdin_large_roundtrip),
		cmocka_unit_test(test_env_and_cwd),
		cmocka_unit_test(test_timeout_kills_process_group),
		cmocka_unit_test(test_killed_by_signal),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_output_events_and_cancel),
		cmocka_unit_test(test_output_to_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
