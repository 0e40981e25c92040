/* Shared helpers for libtowlion's cmocka tests. */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "towlion/towlion.h"

/* Assert a tl_result, printing the library's last error when it differs. */
#define tl_assert_rc(expected, expr)                                               \
	do {                                                                           \
		int tl__rc_ = (expr);                                                      \
		if (tl__rc_ != (expected))                                                 \
			print_error("%s returned %d (%s), expected %d: %s\n", #expr, tl__rc_,  \
			            tl_strerror(tl__rc_), (expected), tl_error_last()->message); \
		assert_int_equal(tl__rc_, (expected));                                     \
	} while (0)

#define tl_assert_ok(expr) tl_assert_rc(TL_OK, expr)

/* The last error's message contains `needle`. */
#define tl_assert_error_contains(needle)                                           \
	do {                                                                           \
		const char *tl__m_ = tl_error_last()->message;                             \
		if (!strstr(tl__m_, (needle)))                                             \
			print_error("error message \"%s\" lacks \"%s\"\n", tl__m_, (needle));  \
		assert_non_null(strstr(tl__m_, (needle)));                                 \
	} while (0)

/* For a test that needs a service: returns the value of env variable
 * `var`. When it is unset the test is skipped on a developer's machine
 * and FAILS under CI=true (a CI run must not pass by skipping). */
const char *tl_test_require_env(const char *var);
#define TL_TEST_REQUIRE(var) tl_test_require_env(var)

/* A fresh temporary directory (removed by tl_test_rmdir). */
char *tl_test_tmpdir(void);
void tl_test_rmdir(char *dir);

/* Write a file with content (asserts on failure). */
void tl_test_write_file(const char *path, const char *content, int mode);
/* Read a whole file into a malloc'd string, NULL when missing. */
char *tl_test_read_file(const char *path);

/* One HTTP request (libcurl, a fresh connection, 5 s timeout unless the
 * thread set another, below) with an optional Host header and JSON body;
 * the body answered (malloc'd), or NULL when no answer came. `status`
 * (may be NULL) gets the HTTP status. */
char *tl_test_http(const char *method, const char *url, const char *host, const char *body,
                   long *status);
/* For the calling thread: tl_test_http's whole-request timeout (5000 ms
 * unless set; a client loop under CI load sets more, as a slow answer is
 * not a failed one), and curl's message for its last request that got no
 * answer ("" when it got one). */
void tl_test_http_set_timeout(long ms);
const char *tl_test_http_error(void);

/* Run a shell command line built with printf formatting (test set-up
 * only: copying trees, git fixtures); fails the test when it fails. */
void tl_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* This process's peak resident memory (VmHWM) in KiB; and the same after
 * resetting the peak to the current size (/proc/self/clear_refs 5), as
 * the baseline of a memory bound. */
long tl_test_peak_kib(void);
long tl_test_peak_reset_kib(void);

/* A context that ignores /etc/towlion and the environment, except for
 * TOWLION_* variables when `with_env` is set (harness tests). */
tl_ctx *tl_test_ctx(int with_env);
/* Point the context's directories under `dir`: `which` names them,
 * space-separated, among "state apps backups caddy" (TOWLION_STATE_DIR,
 * _APPS_DIR, _BACKUP_DIR, _CADDY_DIR), each set to DIR/name. */
void tl_test_ctx_dirs(tl_ctx *ctx, const char *dir, const char *which);

/* units.c: whether the suite runs with TOWLION_ENGINE=swarm
 * (tests/cluster/csuite), and the units of `project` (of `role`, or all):
 * its containers on one server (stopped ones too), its Swarm services on a
 * swarm. */
bool tl_test_swarm(void);
size_t tl_test_count_units(tl_ctx *ctx, const char *project, const char *role);
/* The units labelled `label` ("k=v"): counted, and removed by hand when
 * `remove` (what an operator or a crash could do). */
size_t tl_test_units_labelled(tl_ctx *ctx, const char *label, bool remove);
/* The label `label` of the one unit of `project` in `role` (asserts there
 * is one); malloc'd. */
char *tl_test_unit_label(tl_ctx *ctx, const char *project, const char *role, const char *label);
/* Skip the running test under swarm, saying why (what it checks is the
 * single-server engine's own). */
#define TL_TEST_NOT_ON_SWARM(why)                                                  \
	do {                                                                       \
		if (tl_test_swarm()) {                                             \
			print_message("skipped on swarm: %s\n", (why));             \
			skip();                                                    \
		}                                                                  \
	} while (0)

#endif
