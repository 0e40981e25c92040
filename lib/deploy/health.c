/*
 * The health gate: GET the health path of a new container until it answers
 * 2xx (and {"status":"ok"} when the answer is a JSON object with a status),
 * polling tightly so a release that is ready is switched to at once.
 */
#include "deploy_int.h"
#include "core/http.h"

#include <jansson.h>
#include <string.h>
#include <time.h>

/* One probe may take this long: on a loaded server a healthy release can
 * take more than a second to answer (the e2e server test saw every 1 s
 * probe of a busybox app time out for 3 minutes at a load of 190); the
 * deploy's own timeout still bounds the whole wait. */
#define PROBE_TIMEOUT_MS 5000
/* A refused connection costs a few microseconds: poll tightly. Whether the
 * container still runs is a Docker API call, which on a busy daemon takes
 * longer than the app needs to start: ask that only every ALIVE_EVERY_MS,
 * not after each failed probe (it set the pace of the gate before). */
#define POLL_MS 10
#define ALIVE_EVERY_MS 250
/* The answer is the tenant's: {"status":"ok"} needs a few bytes, an
 * endless or huge body makes the probe fail instead of filling memory. */
#define PROBE_MAX_BODY (64u * 1024)

/* One probe: TL_OK when healthy; otherwise TL_EUNHEALTHY with why. */
static int probe(tl_ctx *ctx, const char *url, long timeout_ms, const char *service,
                 tl_buf *why)
{
	tl__http_req req = {.url = url, .timeout_ms = timeout_ms,
	                    .connect_timeout_ms = timeout_ms, .service = service,
	                    .klass = TL_ERRCLASS_DEPLOY, .max_body = PROBE_MAX_BODY};
	tl__http_resp resp;
	int rc = tl__http_do(ctx, &resp, &req);
	tl__buf_clear(why);
	if (rc == TL_EUSER)
		return rc;
	if (rc) {
		tl__buf_puts(why, tl_error_last()->message);
		return TL_EUNHEALTHY;
	}
	rc = TL_OK;
	if (resp.status < 200 || resp.status > 299) {
		tl__buf_printf(why, "%s answered HTTP %ld", url, resp.status);
		rc = TL_EUNHEALTHY;
	} else {
		json_t *j = json_loadb(resp.body.ptr ? resp.body.ptr : "", resp.body.size, 0, NULL);
		json_t *st = json_is_object(j) ? json_object_get(j, "status") : NULL;
		if (st && !(json_is_string(st) && strcmp(json_string_value(st), "ok") == 0)) {
			tl__buf_printf(why, "%s answered %.200s", url, resp.body.ptr);
			rc = TL_EUNHEALTHY;
		}
		json_decref(j);
	}
	tl__http_resp_dispose(&resp);
	return rc;
}

int tl__health_wait(tl_ctx *ctx, const char *hostport, const char *path, long timeout_ms,
                    const tl__container_alive_fn alive, void *alive_payload)
{
	char *url = tl__sprintf("http://%s%s", hostport, path);
	if (!url)
		return TL_ENOMEM;
	tl_buf why = TL_BUF_INIT;
	int64_t deadline = tl__clock_ms() + timeout_ms;
	int64_t alive_at = tl__clock_ms() + ALIVE_EVERY_MS;
	int rc;
	for (;;) {
		rc = probe(ctx, url, PROBE_TIMEOUT_MS, "the new release", &why);
		if (rc != TL_EUNHEALTHY)
			break;
		/* A container that exited will never answer: stop waiting. */
		if (alive && tl__clock_ms() >= alive_at && !alive(alive_payload)) {
			rc = tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DEPLOY,
			                   "the container exited before %s answered", url);
			break;
		}
		if (tl__clock_ms() >= deadline) {
			rc = tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DEPLOY,
			                   "%s did not become healthy within %ld ms (last: %s)", url,
			                   timeout_ms, why.ptr ? why.ptr : "no answer");
			break;
		}
		if (tl__clock_ms() >= alive_at)
			alive_at = tl__clock_ms() + ALIVE_EVERY_MS;
		tl__sleep_ms(POLL_MS);
	}
	tl_buf_dispose(&why);
	free(url);
	return rc;
}

int tl__health_once(tl_ctx *ctx, const char *hostport, const char *path, long timeout_ms)
{
	char *url = tl__sprintf("http://%s%s", hostport, path);
	if (!url)
		return TL_ENOMEM;
	tl_buf why = TL_BUF_INIT;
	int rc = probe(ctx, url, timeout_ms, "the container", &why);
	if (rc == TL_EUNHEALTHY)
		tl__error_set(rc, TL_ERRCLASS_DEPLOY, "%s", why.ptr ? why.ptr : "no answer");
	tl_buf_dispose(&why);
	free(url);
	return rc;
}
