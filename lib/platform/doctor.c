/*
 * The doctor: is every service the platform depends on reachable, and if
 * not, why and what to do. Each check is independent and bounded by a
 * short timeout, so one dead service never hides the state of the others.
 */
#include "core/core.h"
#include "core/http.h"
#include "core/url.h"
#include "cluster/doctor_check.h"
#include "platform_int.h"
#include "towlion/app.h"
#include "towlion/deploy.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK_TIMEOUT_MS 3000

typedef struct {
	tl_check pub;
	char *name, *detail, *hint;
} check_item;

struct tl_doctor_report {
	check_item *items;
	size_t n;
};

/* The result of one check (platform_int.h), and its shorthand. */
typedef tl__outcome outcome;
#define say tl__say

/* Docker: GET /_ping and /version over the configured endpoint. */
static void check_docker(tl_ctx *ctx, outcome *o)
{
	const char *host = tl__cfg(ctx, "TOWLION_DOCKER_HOST");
	const char *sock = NULL;
	char *base = NULL;
	if (tl__str_startswith(host, "unix://")) {
		sock = host + 7;
		base = tl__strdup("http://localhost");
	} else if (tl__str_startswith(host, "tcp://")) {
		base = tl__sprintf("http://%s", host + 6);
	} else {
		say(o, TL_CHECK_FAIL, "set TOWLION_DOCKER_HOST to unix:///path/docker.sock",
		    "unsupported TOWLION_DOCKER_HOST \"%s\"", host);
		return;
	}
	char *url = base ? tl__sprintf("%s/version", base) : NULL;
	tl__http_req req = {.url = url, .unix_socket = sock, .timeout_ms = CHECK_TIMEOUT_MS,
	                    .service = "Docker", .klass = TL_ERRCLASS_DOCKER};
	tl__http_resp resp;
	if (!url) {
		say(o, TL_CHECK_FAIL, "", "out of memory");
	} else if (tl__http_do(ctx, &resp, &req) != TL_OK) {
		say(o, TL_CHECK_FAIL,
		    "start dockerd (systemctl start docker) or point TOWLION_DOCKER_HOST at its "
		    "socket",
		    "%s", tl_error_last()->message);
	} else {
		json_t *v = resp.status == 200 ? json_loadb(resp.body.ptr, resp.body.size, 0, NULL)
		                               : NULL;
		const char *ver = v ? json_string_value(json_object_get(v, "Version")) : NULL;
		const char *api = v ? json_string_value(json_object_get(v, "ApiVersion")) : NULL;
		if (ver && api)
			say(o, TL_CHECK_OK, "", "Docker %s, API %s at %s", ver, api, host);
		else
			say(o, TL_CHECK_FAIL, "check that TOWLION_DOCKER_HOST points at dockerd",
			    "%s answered HTTP %ld without a Docker version", host, resp.status);
		json_decref(v);
		tl__http_resp_dispose(&resp);
	}
	free(url);
	free(base);
}

static void check_postgres(tl_ctx *ctx, outcome *o)
{
	const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {tl__cfg(ctx, "TOWLION_PG_URL"), "3", "towlion-doctor", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c) {
		say(o, TL_CHECK_FAIL, "", "out of memory");
		return;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		bool auth = strstr(msg, "password") || strstr(msg, "authentication");
		say(o, TL_CHECK_FAIL,
		    auth ? "check the user and password in TOWLION_PG_URL"
		         : "start PostgreSQL or fix the host and port in TOWLION_PG_URL",
		    "%s", msg);
	} else {
		int v = PQserverVersion(c);
		say(o, v >= 150000 ? TL_CHECK_OK : TL_CHECK_WARN,
		    v >= 150000 ? "" : "PostgreSQL 15 or newer is expected",
		    "PostgreSQL %d.%d at %s:%s", v / 10000, v % 100, PQhost(c), PQport(c));
	}
	PQfinish(c);
}

static void check_redis(tl_ctx *ctx, outcome *o)
{
	tl__url u;
	if (tl__url_parse(&u, tl__cfg(ctx, "TOWLION_REDIS_URL"), "TOWLION_REDIS_URL")) {
		say(o, TL_CHECK_FAIL, "fix TOWLION_REDIS_URL", "%s", tl_error_last()->message);
		return;
	}
	struct timeval tv = {CHECK_TIMEOUT_MS / 1000, 0};
	redisContext *r = redisConnectWithTimeout(u.host, u.port ? u.port : 6379, tv);
	redisReply *rep = NULL;
	if (!r || r->err) {
		say(o, TL_CHECK_FAIL, "start Redis or fix TOWLION_REDIS_URL",
		    "cannot reach Redis at %s:%d: %s", u.host, u.port ? u.port : 6379,
		    r ? r->errstr : "out of memory");
		goto out;
	}
	redisSetTimeout(r, tv);
	if (u.password) {
		rep = u.user && *u.user ? redisCommand(r, "AUTH %s %s", u.user, u.password)
		                        : redisCommand(r, "AUTH %s", u.password);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			say(o, TL_CHECK_FAIL, "check the user and password in TOWLION_REDIS_URL",
			    "Redis at %s:%d refused the login: %s", u.host, u.port,
			    rep ? rep->str : r->errstr);
			goto out;
		}
		freeReplyObject(rep);
	}
	rep = redisCommand(r, "PING");
	if (!rep || rep->type == REDIS_REPLY_ERROR)
		say(o, TL_CHECK_FAIL, "check the credentials in TOWLION_REDIS_URL",
		    "Redis at %s:%d did not answer PING: %s", u.host, u.port,
		    rep ? rep->str : r->errstr);
	else
		say(o, TL_CHECK_OK, "", "Redis answers at %s:%d", u.host, u.port);
out:
	freeReplyObject(rep);
	redisFree(r);
	tl__url_dispose(&u);
}

/* `any_status`: any answer short of a server error shows the service is
 * there (S3 answers 403 to an unsigned request); a 5xx never does. */
static void check_http(tl_ctx *ctx, outcome *o, const char *service, const char *base,
                       const char *path, const char *hint, bool any_status)
{
	/* unix:///path (Caddy's admin socket): Caddy 2.6 wants an empty Host. */
	const char *sock = !strncmp(base, "unix:///", 8) ? base + 7 : NULL;
	char *url = sock ? tl__sprintf("http://localhost%s", path) : tl__sprintf("%s%s", base, path);
	const char *hdrs[] = {"Host;", NULL};
	tl__http_req req = {.url = url, .unix_socket = sock, .headers = sock ? hdrs : NULL,
	                    .timeout_ms = CHECK_TIMEOUT_MS, .service = service,
	                    .klass = TL_ERRCLASS_HTTP};
	tl__http_resp resp;
	if (!url)
		say(o, TL_CHECK_FAIL, "", "out of memory");
	else if (tl__http_do(ctx, &resp, &req) != TL_OK)
		say(o, TL_CHECK_FAIL, hint, "%s", tl_error_last()->message);
	else {
		if (any_status ? resp.status < 500 : resp.status == 200)
			say(o, TL_CHECK_OK, "", "%s answers at %s (HTTP %ld)", service, base,
			    resp.status);
		else
			say(o, TL_CHECK_FAIL, hint, "%s at %s answered HTTP %ld", service, base,
			    resp.status);
		tl__http_resp_dispose(&resp);
	}
	free(url);
}

static void check_caddy(tl_ctx *ctx, outcome *o)
{
	check_http(ctx, o, "Caddy admin API", tl__cfg(ctx, "TOWLION_CADDY_ADMIN"), "/config/",
	           "start Caddy or fix TOWLION_CADDY_ADMIN", false);
}

static void check_s3(tl_ctx *ctx, outcome *o)
{
	const char *ep = tl__cfg(ctx, "TOWLION_S3_ENDPOINT");
	if (!*ep) {
		say(o, TL_CHECK_SKIP, "set TOWLION_S3_ENDPOINT to use object storage",
		    "no S3 endpoint configured");
		return;
	}
	/* Any HTTP answer short of 5xx (403 included) shows an S3 server is there. */
	check_http(ctx, o, "S3", ep, "/", "start the S3 server or fix TOWLION_S3_ENDPOINT",
	           true);
}

static void check_dirs(tl_ctx *ctx, outcome *o)
{
	const char *keys[] = {"TOWLION_DATA_DIR", "TOWLION_APPS_DIR", "TOWLION_STATE_DIR"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(keys); i++) {
		const char *d = tl__cfg(ctx, keys[i]);
		struct stat st;
		if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
			say(o, TL_CHECK_WARN, "run `towlion platform init` to create the layout",
			    "%s (%s) does not exist", d, keys[i]);
			return;
		}
		if (access(d, W_OK) != 0) {
			say(o, TL_CHECK_WARN, "run towlion as the user that owns the platform",
			    "%s (%s) is not writable", d, keys[i]);
			return;
		}
	}
	say(o, TL_CHECK_OK, "", "%s, %s and %s exist", tl__cfg(ctx, "TOWLION_DATA_DIR"),
	    tl__cfg(ctx, "TOWLION_APPS_DIR"), tl__cfg(ctx, "TOWLION_STATE_DIR"));
}

/* The apps as tl_app_status_get() sees them: each release's containers
 * and the route Caddy has. An app that is not serving fails the check. */
static void check_apps(tl_ctx *ctx, outcome *o)
{
	tl_app_list *l = NULL;
	if (tl_app_list_load(&l, ctx) != TL_OK) {
		say(o, TL_CHECK_FAIL, "check TOWLION_STATE_DIR", "cannot list the apps: %s",
		    tl_error_last()->message);
		return;
	}
	tl_buf bad = TL_BUF_INIT, unknown = TL_BUF_INIT, left = TL_BUF_INIT;
	size_t deployed = 0, healthy = 0;
	int status = TL_CHECK_OK;
	tl__report_begin(ctx);
	for (size_t i = 0; i < tl_app_list_count(l); i++) {
		const char *name = tl_app_name(tl_app_list_at(l, i));
		tl_app_status *st = NULL;
		if (tl_app_status_get(&st, ctx, name) != TL_OK) {
			tl__buf_printf(&bad, "%s%s: %s", bad.size ? "; " : "", name,
			               tl_error_last()->message);
			status = TL_CHECK_FAIL;
			continue;
		}
		int h = tl_app_status_health(st);
		deployed += h != TL_APP_HEALTH_NONE;
		if (h == TL_APP_HEALTH_OK) {
			healthy++;
		} else if (h == TL_APP_HEALTH_UNKNOWN) {
			tl__buf_printf(&unknown, "%s%s", unknown.size ? ", " : "", name);
			if (status == TL_CHECK_OK)
				status = TL_CHECK_WARN;
		} else if (h == TL_APP_HEALTH_BAD) {
			tl__buf_printf(&bad, "%s%s: %s", bad.size ? "; " : "", name,
			               tl_app_status_reason(st));
			status = TL_CHECK_FAIL;
		}
		if (tl_app_status_leftover_count(st) && !*tl_app_status_operation(st)) {
			tl__buf_printf(&left, "%s%s", left.size ? ", " : "", name);
			if (status == TL_CHECK_OK)
				status = TL_CHECK_WARN;
		}
		tl_app_status_free(st);
	}
	tl__report_end(ctx);
	tl_buf d = TL_BUF_INIT;
	tl__buf_printf(&d, "%zu of %zu deployed app%s healthy", healthy, deployed,
	               deployed == 1 ? "" : "s");
	if (bad.size)
		tl__buf_printf(&d, "; NOT healthy: %s", bad.ptr);
	if (unknown.size)
		tl__buf_printf(&d, "; health unknown (Caddy does not answer): %s", unknown.ptr);
	if (left.size)
		tl__buf_printf(&d, "; leftover containers: %s", left.ptr);
	const char *hint = bad.size ? "see `towlion status APP`; `towlion deploy APP` or "
	                              "`towlion rollback APP` puts a healthy release back"
	                   : unknown.size ? "start Caddy, then `towlion route reload`"
	                   : left.size    ? "`towlion status APP --fix` removes leftovers"
	                                  : "";
	if (!tl_app_list_count(l))
		say(o, TL_CHECK_SKIP, "", "no apps yet");
	else
		say(o, status, hint, "%s", d.ptr ? d.ptr : "");
	tl_buf_dispose(&d);
	tl_buf_dispose(&bad);
	tl_buf_dispose(&unknown);
	tl_buf_dispose(&left);
	tl_app_list_free(l);
}

static const struct {
	const char *name;
	void (*fn)(tl_ctx *, outcome *);
	void (*server_fn)(tl_ctx *, const tl_doctor_options *, outcome *);
	unsigned int group;
} checks[] = {
	{"directories", check_dirs, NULL, TL_DOCTOR_SERVICES},
	{"docker", check_docker, NULL, TL_DOCTOR_SERVICES},
	{"postgres", check_postgres, NULL, TL_DOCTOR_SERVICES},
	{"redis", check_redis, NULL, TL_DOCTOR_SERVICES},
	{"caddy", check_caddy, NULL, TL_DOCTOR_SERVICES},
	{"s3", check_s3, NULL, TL_DOCTOR_SERVICES},
	{"os", NULL, tl__check_os, TL_DOCTOR_SERVER},
	{"disk", NULL, tl__check_disk, TL_DOCTOR_SERVER},
	{"ports", NULL, tl__check_ports, TL_DOCTOR_SERVER},
	{"backups", NULL, tl__check_backups, TL_DOCTOR_SERVER},
	{"certificates", NULL, tl__check_certs, TL_DOCTOR_SERVER},
	/* A server's setting, not a service: tl_doctor_run keeps its six rows. */
	{"engine", tl__cluster_check_engine, NULL, TL_DOCTOR_SERVER},
	{"apps", check_apps, NULL, TL_DOCTOR_APPS},
};

int tl_doctor_options_init(tl_doctor_options *opts, unsigned int version)
{
	tl_doctor_options def = TL_DOCTOR_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_DOCTOR_OPTIONS_VERSION, "tl_doctor_options");
}

/* The service checks only, as this function always did. */
int tl_doctor_run(tl_doctor_report **out, tl_ctx *ctx)
{
	tl_doctor_options o = TL_DOCTOR_OPTIONS_INIT;
	o.checks = TL_DOCTOR_SERVICES;
	return tl_doctor_run_with(out, ctx, &o);
}

int tl_doctor_run_with(tl_doctor_report **out, tl_ctx *ctx, const tl_doctor_options *opts)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	TL__CHECK_VERSION(opts, TL_DOCTOR_OPTIONS_VERSION, "tl_doctor_options");
	tl_doctor_options o = TL_DOCTOR_OPTIONS_INIT;
	if (opts)
		o = *opts;
	if (!o.checks)
		o.checks = TL_DOCTOR_ALL;
	if (o.disk_warn_pct <= 0)
		o.disk_warn_pct = 80;
	if (o.backup_max_age_s <= 0)
		o.backup_max_age_s = 36 * 3600;
	if (o.cert_warn_days <= 0)
		o.cert_warn_days = 14;
	tl_doctor_report *r = tl__calloc(1, sizeof(*r));
	if (!r || !(r->items = tl__calloc(TL__ARRAY_SIZE(checks), sizeof(*r->items)))) {
		free(r);
		return TL_ENOMEM;
	}
	int rc = TL_OK;
	for (size_t i = 0; i < TL__ARRAY_SIZE(checks) && rc == TL_OK; i++) {
		if (!(checks[i].group & o.checks))
			continue;
		if ((rc = tl__step(ctx, "doctor.check", checks[i].name, "checking %s",
		                   checks[i].name)))
			break;
		outcome oc = {TL_CHECK_FAIL, TL_BUF_INIT, ""};
		int64_t t0 = tl__clock_ms();
		if (checks[i].fn)
			checks[i].fn(ctx, &oc);
		else
			checks[i].server_fn(ctx, &o, &oc);
		check_item *it = &r->items[r->n++];
		it->name = tl__strdup(checks[i].name);
		it->detail = tl__buf_detach(&oc.detail);
		it->hint = tl__strdup(oc.hint ? oc.hint : "");
		if (!it->name || !it->detail || !it->hint)
			rc = TL_ENOMEM;
		it->pub = (tl_check){it->name, oc.status, it->detail, it->hint, (double)(tl__clock_ms() - t0)};
		if (rc == TL_OK)
			rc = tl__cancelled(ctx);
	}
	/* The checks leave their failures in the last error; the report is
	 * what counts, so do not leave a stale one behind. */
	if (rc) {
		tl_doctor_report_free(r);
		return rc;
	}
	tl_error_clear();
	*out = r;
	return TL_OK;
}

size_t tl_doctor_report_count(const tl_doctor_report *r)
{
	return r ? r->n : 0;
}

const tl_check *tl_doctor_report_at(const tl_doctor_report *r, size_t i)
{
	return (r && i < r->n) ? &r->items[i].pub : NULL;
}

int tl_doctor_report_worst(const tl_doctor_report *r)
{
	int worst = TL_CHECK_OK;
	for (size_t i = 0; r && i < r->n; i++) {
		int s = r->items[i].pub.status;
		if (s != TL_CHECK_SKIP && s > worst)
			worst = s;
	}
	return worst;
}

void tl_doctor_report_free(tl_doctor_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].detail);
		free(r->items[i].hint);
	}
	free(r->items);
	free(r);
}

const char *tl_check_status_name(int status)
{
	switch (status) {
	case TL_CHECK_OK: return "ok";
	case TL_CHECK_WARN: return "warn";
	case TL_CHECK_FAIL: return "fail";
	case TL_CHECK_SKIP: return "skip";
	default: return "unknown";
	}
}
