/* Emitting events to the context's callback, and cancellation. */
#include "config.h"

#include <string.h>

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
