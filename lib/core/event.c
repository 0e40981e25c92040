/* Emitting events to the context's callback, and cancellation. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The test hook (tests/faults): TOWLION_TEST_PAUSE_AT=STEP[#N] makes the
 * process stop itself at the Nth (default: first) emission of step STEP,
 * after writing "PID STEP\n" to the file TOWLION_TEST_PAUSE_FILE, so that
 * a test can SIGKILL it exactly there instead of racing a timer. Read
 * from the environment only (never from a config file), and inert unless
 * both variables are set. Not an interface: only for fault injection.
 * TOWLION_TEST_TRACE_FILE=PATH appends every step's name to PATH, which is
 * how the suite learns the steps of an operation.
 */
void tl__test_pause_at(const char *step)
{
	static int seen;
	const char *trace = getenv("TOWLION_TEST_TRACE_FILE");
	if (trace && *trace && step) {
		FILE *f = fopen(trace, "ae");
		if (f) {
			fprintf(f, "%s\n", step);
			fclose(f);
		}
	}
	const char *want = getenv("TOWLION_TEST_PAUSE_AT");
	const char *file = getenv("TOWLION_TEST_PAUSE_FILE");
	if (!want || !*want || !file || !*file || !step)
		return;
	const char *hash = strchr(want, '#');
	size_t len = hash ? (size_t)(hash - want) : strlen(want);
	if (strlen(step) != len || strncmp(step, want, len))
		return;
	uint64_t nth = 1;
	const char *np = hash ? hash + 1 : NULL;
	if (np && (!tl__parse_digits(&nth, &np) || *np))
		return; /* STEP#junk names no emission */
	if ((uint64_t)++seen != nth)
		return;
	char line[256];
	int n = snprintf(line, sizeof(line), "%ld %s\n", (long)getpid(), step);
	if (n > 0 && (size_t)n < sizeof(line) &&
	    tl__file_write_atomic(file, line, (size_t)n, 0600) == TL_OK)
		raise(SIGSTOP);
}

static int emit(tl_ctx *ctx, const tl_event *ev)
{
	if (!ctx)
		return TL_OK;
	if (!ctx->cancelled && ctx->event_cb &&
	    ctx->event_cb(ev, ctx->event_payload) != 0)
		ctx->cancelled = true;
	return tl__cancelled(ctx);
}

int tl__cancelled(tl_ctx *ctx)
{
	if (ctx && ctx->cancelled)
		return tl__error_set(TL_EUSER, TL_ERRCLASS_NONE,
		                     "operation cancelled by the caller");
	return TL_OK;
}

void tl__ctx_reset_cancel(tl_ctx *ctx)
{
	if (ctx)
		ctx->cancelled = false;
}

void tl_ctx_clear_cancel(tl_ctx *ctx)
{
	tl__ctx_reset_cancel(ctx);
}

int tl__log(tl_ctx *ctx, int level, const char *fmt, ...)
{
	if (!ctx || !ctx->event_cb)
		return tl__cancelled(ctx);
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tl_event ev = {TL_EVENT_VERSION, TL_EVENT_LOG, level, msg, NULL, 0, 0, NULL};
	return emit(ctx, &ev);
}

int tl__step(tl_ctx *ctx, const char *step, const char *subject, const char *fmt, ...)
{
	tl__test_pause_at(step);
	if (!ctx || !ctx->event_cb)
		return tl__cancelled(ctx);
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tl_event ev = {TL_EVENT_VERSION, TL_EVENT_STEP, TL_LOG_INFO, msg, step, 0, 0,
	               subject};
	return emit(ctx, &ev);
}

int tl__progress(tl_ctx *ctx, const char *step, uint64_t done, uint64_t total)
{
	tl_event ev = {TL_EVENT_VERSION, TL_EVENT_PROGRESS, TL_LOG_INFO, "", step, done,
	               total, NULL};
	return emit(ctx, &ev);
}

int tl__output(tl_ctx *ctx, int level, const char *subject, const char *line)
{
	tl_event ev = {TL_EVENT_VERSION, TL_EVENT_OUTPUT, level, line, NULL, 0, 0,
	               subject};
	return emit(ctx, &ev);
}
