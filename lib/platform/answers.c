/*
 * `platform up` is done when each shared service answers towlion the way
 * the next command will use it, not when Docker calls it healthy: a
 * PostgreSQL login with TOWLION_PG_URL, a Redis AUTH and PING with
 * TOWLION_REDIS_URL, a signed S3 request (ListBuckets) with the admin
 * keys, and Caddy's admin API on its socket. With the towlion.conf that
 * `platform init` wrote, those are the generated passwords; so `db
 * create`, `redis create` and `s3 bucket create` work right after.
 *
 * Each is retried until the shared deadline (a server may still be
 * initialising behind a healthy check); the error names the service,
 * what it said last, and the container's last log lines.
 */
#include "platform_int.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "towlion/pg.h"
#include "towlion/redis.h"
#include "towlion/s3.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINES 15

static int ask_postgres(tl_ctx *ctx)
{
	tl_pg *pg = NULL;
	int rc = tl_pg_connect(&pg, ctx);
	tl_pg_free(pg);
	return rc;
}

static int ask_redis(tl_ctx *ctx)
{
	/* connect = AUTH with the URL's user and password, then PING */
	tl_redis *r = NULL;
	int rc = tl_redis_connect(&r, ctx);
	tl_redis_free(r);
	return rc;
}

static int ask_s3(tl_ctx *ctx)
{
	tl_s3 *s3 = NULL;
	tl_s3_options o = TL_S3_OPTIONS_INIT;
	o.timeout_ms = 5000;
	o.connect_timeout_ms = 2000;
	tl_s3_bucket_list *l = NULL;
	int rc = tl_s3_new(&s3, ctx, &o);
	if (rc == TL_OK)
		rc = tl_s3_bucket_list_get(&l, s3);
	tl_s3_bucket_list_free(l);
	tl_s3_free(s3);
	return rc;
}

static int ask_caddy(tl_ctx *ctx)
{
	tl_caddy_upstreams *u = NULL;
	int rc = tl_caddy_upstreams_get(&u, ctx);
	tl_caddy_upstreams_free(u);
	return rc;
}

static const struct {
	const char *service;
	int (*ask)(tl_ctx *ctx);
	const char *how; /* for the report */
	const char *key; /* what towlion reaches it with */
} askers[] = {
	{"postgres", ask_postgres, "login with TOWLION_PG_URL", "TOWLION_PG_URL"},
	{"redis", ask_redis, "AUTH and PING with TOWLION_REDIS_URL", "TOWLION_REDIS_URL"},
	{"s3", ask_s3, "signed ListBuckets with TOWLION_S3_ACCESS_KEY", "TOWLION_S3_ENDPOINT"},
	{"caddy", ask_caddy, "admin API at TOWLION_CADDY_ADMIN", "TOWLION_CADDY_ADMIN"},
};

/* Errors that waiting does not mend: say them at once. */
static bool final(int rc)
{
	/* A refused password stays refused (PostgreSQL's data directory keeps
	 * the password of its first start, platform.env may have changed). */
	return rc == TL_EAUTH || rc == TL_EINVALID || rc == TL_EUNSUPPORTED || rc == TL_ENOMEM || rc == TL_EUSER;
}

/* The error of `service` not answering, with its container's last lines. */
static int not_answering(tl_docker *d, const char *service, const char *key, int rc,
                         const char *last, long waited)
{
	char name[64];
	snprintf(name, sizeof(name), "towlion-%s", service);
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT, logs = TL_BUF_INIT;
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	lo.tail = LOG_LINES;
	if (d && tl_docker_container_logs(&out, &err, d, name, &lo) == TL_OK) {
		/* Both streams, each indented under the message. */
		const tl_buf *streams[] = {&out, &err};
		for (size_t s = 0; s < 2; s++)
			for (const char *p = streams[s]->ptr; p && *p;) {
				size_t n = strcspn(p, "\n");
				tl__buf_printf(&logs, "\n    %.*s", (int)n, p);
				p += n + (p[n] == '\n');
			}
	}
	rc = tl__error_set(rc == TL_ETIMEOUT || rc == TL_EUNAVAILABLE ? TL_EUNAVAILABLE
	                   : rc == TL_EAUTH ? TL_EAUTH
	                                    : TL_EUNHEALTHY,
	                   TL_ERRCLASS_DOCKER,
	                   "platform service %s does not answer towlion after %ld ms (%s): %s; "
	                   "see `docker logs %s`%s%s",
	                   service, waited, key, last, name, logs.size ? "; its last lines:" : "",
	                   logs.size ? logs.ptr : " (no log lines)");
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_buf_dispose(&logs);
	return rc;
}

int tl__plat_wait_answers(tl_platform_report *r, tl_ctx *ctx, tl_docker *d,
                          const tl__plat *p, const char *service, long timeout_ms)
{
	unsigned flags = p->flags;
	const char *root = p->root;
	size_t i = 0;
	while (i < TL__ARRAY_SIZE(askers) && strcmp(askers[i].service, service))
		i++;
	if (i == TL__ARRAY_SIZE(askers))
		return TL_OK; /* a collector: Docker's health is all there is */
	/* A trial tree (--root) or unpublished ports: the configuration
	 * does not lead to these containers, so asking would ask others. */
	if (flags & TL_PLATFORM_NO_PORTS && strcmp(service, "caddy"))
		return tl__plat_step(r, "answers", service, 0, "not asked (no host ports)");
	if (*root)
		return tl__plat_step(r, "answers", service, 0, "not asked (a trial under --root)");
	int64_t t0 = tl__clock_ms();
	char last[512] = "";
	for (int tries = 1;; tries++) {
		int rc = askers[i].ask(ctx);
		if (rc == TL_OK)
			return tl__plat_step(r, "answers", service, 0, "%s (%ld ms, %d %s)",
			                     askers[i].how, (long)(tl__clock_ms() - t0), tries,
			                     tries == 1 ? "try" : "tries");
		snprintf(last, sizeof(last), "%s", tl_error_last()->message);
		long ms = (long)(tl__clock_ms() - t0);
		if (final(rc) || ms > timeout_ms)
			return rc == TL_EUSER ? rc
			                      : not_answering(d, service, askers[i].key, rc, last, ms);
		if ((rc = tl__cancelled(ctx)))
			return rc;
		usleep(500 * 1000);
	}
}
