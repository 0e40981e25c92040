/*
 * `towlion alerts check`: evaluate thresholds and keep GitHub in step,
 * one issue per alert key (found by its hidden marker, github.h), opened
 * or updated while the alert fires and closed when it clears; optional
 * e-mail on each change.
 *
 * The keys that fired at the last check are kept in
 * TOWLION_STATE_DIR/alerts.json, so an alert whose subject disappeared (an
 * app destroyed, a certificate gone) is still closed, an e-mail goes out
 * only on a change, and GitHub is asked to close only what may be open.
 * Without that file (first run) every non-firing key is resolved once.
 */
#include "platform_int.h"
#include "towlion/app.h"
#include "towlion/backup.h"
#include "towlion/docker.h"
#include "towlion/github.h"
#include "towlion/pg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ALERT_LABEL "towlion-alert"

int tl_alert_options_init(tl_alert_options *opts, unsigned int version)
{
	tl_alert_options def = TL_ALERT_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_ALERT_OPTIONS_VERSION, "tl_alert_options");
}

typedef struct {
	tl_alert pub;
	char *key, *detail, *action;
	char *title;
	bool was_firing;
} alert_item;

struct tl_alert_report {
	alert_item *v;
	size_t n, cap;
};

size_t tl_alert_report_count(const tl_alert_report *r)
{
	return r ? r->n : 0;
}

const tl_alert *tl_alert_report_at(const tl_alert_report *r, size_t i)
{
	return r && i < r->n ? &r->v[i].pub : NULL;
}

size_t tl_alert_report_firing(const tl_alert_report *r)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		n += r->v[i].pub.firing != 0;
	return n;
}

void tl_alert_report_free(tl_alert_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].detail);
		free(r->v[i].action);
		free(r->v[i].title);
	}
	free(r->v);
	free(r);
}

static alert_item *find_item(tl_alert_report *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].key, key))
			return &r->v[i];
	return NULL;
}

/* Record one evaluation (a key evaluated twice keeps the firing one). */
static int add(tl_alert_report *r, const char *key, bool firing, const char *title,
               const char *fmt, ...) TL__PRINTF(5, 6);
static int add(tl_alert_report *r, const char *key, bool firing, const char *title,
               const char *fmt, ...)
{
	alert_item *it = find_item(r, key);
	if (it && (it->pub.firing || !firing))
		return TL_OK;
	if (!it) {
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			alert_item *v = tl__realloc(r->v, cap * sizeof(*v));
			if (!v)
				return TL_ENOMEM;
			r->v = v;
			r->cap = cap;
		}
		it = &r->v[r->n++];
		memset(it, 0, sizeof(*it));
		if (!(it->key = tl__strdup(key)))
			return TL_ENOMEM;
	}
	tl_buf d = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	tl__buf_vprintf(&d, fmt, ap);
	va_end(ap);
	free(it->detail);
	free(it->title);
	it->detail = tl__buf_detach(&d);
	it->title = tl__strdup(title);
	if (!it->detail || !it->title)
		return TL_ENOMEM;
	it->pub.firing = firing;
	return TL_OK;
}

/* ---- evaluation ----------------------------------------------------------- */

typedef struct {
	double disk_pct, memory_pct;
	int64_t backup_max_age_s;
	int max_restarts, cert_days;
} thresholds;

static int eval_host(tl_alert_report *r, tl_ctx *ctx, const thresholds *t)
{
	const char *data = tl__cfg(ctx, "TOWLION_DATA_DIR");
	char *at = tl__existing_ancestor(data);
	tl__disk d;
	int rc;
	if (!at || tl__probe_disk(&d, at) != TL_OK)
		rc = add(r, "source:disk", true, "cannot measure the disk", "%s",
		         at ? tl_error_last()->message : "out of memory");
	else
		rc = add(r, "disk", d.used_pct > t->disk_pct || d.inodes_pct > t->disk_pct,
		         "disk of the data directory is filling up",
		         "%s: %.1f%% of space and %.1f%% of inodes used (threshold %g%%)", at,
		         d.used_pct, d.inodes_pct, t->disk_pct);
	free(at);
	double mem;
	if (rc == TL_OK) {
		if (tl__probe_memory(&mem, NULL, NULL) != TL_OK)
			rc = add(r, "source:memory", true, "cannot measure memory", "%s",
			         tl_error_last()->message);
		else
			rc = add(r, "memory", mem > t->memory_pct, "memory is running out",
			         "%.1f%% of memory in use (threshold %g%%)", mem, t->memory_pct);
	}
	return rc;
}

static int eval_backups(tl_alert_report *r, tl_ctx *ctx, const thresholds *t, int64_t now)
{
	tl_backup_list *l = NULL;
	tl_pg *pg = NULL;
	tl_pg_db_list *dbs = NULL;
	int rc = TL_OK;
	if (tl_backup_list_get(&l, ctx, NULL) != TL_OK)
		return add(r, "source:backups", true, "cannot list the backups", "%s",
		           tl_error_last()->message);
	if (tl_pg_connect(&pg, ctx) != TL_OK || tl_pg_list(&dbs, pg) != TL_OK)
		rc = add(r, "source:postgres", true, "cannot list the app databases", "%s",
		         tl_error_last()->message);
	else
		rc = add(r, "source:postgres", false, "cannot list the app databases",
		         "PostgreSQL answers");
	/* Every database with backups, and every app database. */
	for (size_t i = 0; rc == TL_OK && i < tl_backup_list_count(l); i++) {
		const tl_backup_info *b = tl_backup_list_at(l, i);
		bool newest = true;
		for (size_t k = 0; k < i && newest; k++)
			newest = strcmp(tl_backup_list_at(l, k)->database, b->database) != 0;
		if (!newest)
			continue;
		char *key = tl__sprintf("backup:%s", b->database);
		int64_t age = now - b->created;
		rc = key ? add(r, key, age > t->backup_max_age_s, "backups are late",
		               "the newest backup of %s is %.1f h old (threshold %.0f h): %s",
		               b->database, (double)age / 3600.0,
		               (double)t->backup_max_age_s / 3600.0, b->file)
		         : TL_ENOMEM;
		free(key);
	}
	for (size_t i = 0; rc == TL_OK && i < tl_pg_db_list_count(dbs); i++) {
		const char *db = tl_pg_db_list_at(dbs, i)->database;
		char *key = tl__sprintf("backup:%s", db);
		if (!key)
			rc = TL_ENOMEM;
		else if (!find_item(r, key)) /* no backup was found above */
			rc = add(r, key, true, "backups are late", "%s has never been backed up", db);
		free(key);
	}
	tl_pg_db_list_free(dbs);
	tl_pg_free(pg);
	tl_backup_list_free(l);
	return rc;
}

static int eval_apps(tl_alert_report *r, tl_ctx *ctx, const thresholds *t, int64_t now)
{
	tl_app_list *apps = NULL;
	tl_docker *d = NULL;
	if (tl_app_list_load(&apps, ctx) != TL_OK)
		return add(r, "source:apps", true, "cannot read the app registry", "%s",
		           tl_error_last()->message);
	int rc = TL_OK;
	if (tl_app_list_count(apps) > 0 && tl_docker_open(&d, ctx) != TL_OK)
		rc = add(r, "source:docker", true, "cannot reach Docker", "%s",
		         tl_error_last()->message);
	else
		rc = add(r, "source:docker", false, "cannot reach Docker", "Docker answers");
	tl__report_begin(ctx);
	for (size_t i = 0; d && rc == TL_OK && i < tl_app_list_count(apps); i++) {
		const char *app = tl_app_name(tl_app_list_at(apps, i));
		tl__app_health h;
		char *hk = tl__sprintf("health:%s", app), *rk = tl__sprintf("restarts:%s", app);
		if (!hk || !rk)
			rc = TL_ENOMEM;
		else if (tl__app_measure(&h, ctx, d, app, now) != TL_OK)
			rc = add(r, "source:docker", true, "cannot reach Docker", "%s",
			         tl_error_last()->message);
		else if ((rc = add(r, hk, !h.healthy, "app is not healthy", "%s: %s", app,
		                   h.healthy ? "healthy"
		                   : *h.why  ? h.why
		                   : h.running ? "its containers run but do not answer"
		                               : "no container running")) == TL_OK)
			rc = add(r, rk, h.restarts > t->max_restarts, "app keeps restarting",
			         "%s: %.0f restarts of its current containers (threshold %d)", app,
			         h.restarts, t->max_restarts);
		free(hk);
		free(rk);
	}
	tl__report_end(ctx);
	tl_docker_free(d);
	tl_app_list_free(apps);
	return rc;
}

static int eval_certs(tl_alert_report *r, tl_ctx *ctx, const thresholds *t, int64_t now)
{
	tl__cert *c = NULL;
	size_t n = 0;
	if (tl__probe_certs(&c, &n, tl__cfg(ctx, "TOWLION_CADDY_DIR")) != TL_OK)
		return add(r, "source:certificates", true, "cannot read the certificates", "%s",
		           tl_error_last()->message);
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		double days = (double)(c[i].not_after - now) / 86400.0;
		/* A subject unfit for a marker key is replaced by its file name. */
		char *key = tl__sprintf("certificate:%s", c[i].subject);
		for (char *p = key ? key + 12 : NULL; p && *p; p++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
				*p = '_';
		rc = key ? add(r, key, days < t->cert_days, "certificate expires soon",
		               "%s %s in %.1f days (threshold %d days): %s", c[i].subject,
		               days < 0 ? "expired" : "expires", days < 0 ? -days : days,
		               t->cert_days, c[i].path)
		         : TL_ENOMEM;
		free(key);
	}
	tl__certs_free(c, n);
	return rc;
}

/* ---- state ------------------------------------------------------------------ */

static char *state_path(tl_ctx *ctx)
{
	return tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "alerts.json");
}

/* The keys firing at the last check; NULL when there was none. */
static json_t *state_load(tl_ctx *ctx)
{
	char *p = state_path(ctx);
	tl_buf b = TL_BUF_INIT;
	json_t *doc = NULL;
	if (p && tl__file_read(&b, p) == TL_OK)
		doc = json_loadb(b.ptr, b.size, 0, NULL);
	if (doc && !json_is_object(json_object_get(doc, "firing"))) {
		json_decref(doc);
		doc = NULL;
	}
	tl_buf_dispose(&b);
	free(p);
	return doc;
}

static int state_save(tl_ctx *ctx, json_t *firing)
{
	char *p = state_path(ctx);
	json_t *doc = json_pack("{s:i, s:I, s:O}", "version", 1, "checked",
	                        (json_int_t)time(NULL), "firing", firing);
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	int rc = p && text ? tl__mkdir_p(tl__cfg(ctx, "TOWLION_STATE_DIR"), 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(p, text, strlen(text), 0600);
	free(text);
	json_decref(doc);
	free(p);
	return rc;
}

/* ---- notification ------------------------------------------------------------- */

static int set_action(alert_item *it, const char *fmt, ...) TL__PRINTF(2, 3);
static int set_action(alert_item *it, const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	tl__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(it->action);
	it->action = tl__buf_detach(&b);
	return it->action ? TL_OK : TL_ENOMEM;
}

static const char *hostname_or(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "the server");
	buf[len - 1] = '\0';
	return buf;
}

/* Keep GitHub in step for one alert. */
static int notify_github(tl_github *gh, const char *repo, alert_item *it, bool dry,
                         const char *host)
{
	char *key = tl__sprintf("alert:%s", it->key);
	char *title = tl__sprintf("[towlion] %s: %s (%s)", it->title, it->key, host);
	char *body = tl__sprintf("**%s** on %s\n\n%s\n\nThis issue is kept by `towlion alerts "
	                         "check`: it is updated while the alert fires and closed when it "
	                         "clears.\n",
	                         it->title, host, it->detail);
	int rc = key && title && body ? TL_OK : TL_ENOMEM;
	tl_github_issue *iss = NULL;
	if (rc)
		goto out;
	if (it->pub.firing) {
		if (dry) {
			rc = set_action(it, "would open or update");
		} else if ((rc = tl_github_issue_upsert(&iss, gh, repo, ALERT_LABEL, key, title,
		                                        body)) == TL_OK) {
			int a = tl_github_issue_action(iss);
			it->pub.issue = tl_github_issue_number(iss);
			rc = set_action(it, "%s", a == TL_GITHUB_CREATED   ? "opened"
			                          : a == TL_GITHUB_UPDATED ? "updated"
			                                                   : "unchanged");
		}
	} else {
		char *comment = tl__sprintf("Cleared: %s", it->detail);
		if (!comment)
			rc = TL_ENOMEM;
		else if (dry)
			rc = set_action(it, "would close if open");
		else if ((rc = tl_github_issue_resolve(&iss, gh, repo, ALERT_LABEL, key, comment)) ==
		         TL_OK) {
			it->pub.issue = tl_github_issue_number(iss);
			rc = set_action(it, "closed");
		} else if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = set_action(it, "none");
		}
		free(comment);
	}
out:
	tl_github_issue_free(iss);
	free(key);
	free(title);
	free(body);
	return rc;
}

int tl_alerts_check(tl_alert_report **out, tl_ctx *ctx, const tl_alert_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	TL__CHECK_VERSION(opts, TL_ALERT_OPTIONS_VERSION, "tl_alert_options");
	tl_alert_options o = TL_ALERT_OPTIONS_INIT;
	if (opts)
		o = *opts;
	thresholds t = {o.disk_pct > 0 ? o.disk_pct : 80, o.memory_pct > 0 ? o.memory_pct : 90,
	                o.backup_max_age_s > 0 ? o.backup_max_age_s : 36 * 3600,
	                o.max_restarts > 0 ? o.max_restarts : 3, o.cert_days > 0 ? o.cert_days : 14};
	bool dry = o.flags & TL_ALERT_DRY_RUN;
	const char *repo = o.github_repo ? o.github_repo : tl__cfg(ctx, "TOWLION_ALERT_REPO");
	tl__mail mail = {o.mail_provider ? o.mail_provider : tl__cfg(ctx, "TOWLION_ALERT_MAIL"),
	                 o.mail_endpoint ? o.mail_endpoint
	                                 : tl__cfg(ctx, "TOWLION_ALERT_MAIL_ENDPOINT"),
	                 o.mail_token ? o.mail_token : tl__cfg(ctx, "TOWLION_ALERT_MAIL_TOKEN"),
	                 o.mail_from ? o.mail_from : tl__cfg(ctx, "TOWLION_ALERT_MAIL_FROM"),
	                 o.mail_to ? o.mail_to : tl__cfg(ctx, "TOWLION_ALERT_MAIL_TO"),
	                 o.mail_region ? o.mail_region : tl__cfg(ctx, "TOWLION_S3_REGION")};
	if (*repo && tl_github_validate_repo(repo))
		return tl_error_last()->code;
	if (*mail.provider && strcmp(mail.provider, "postmark") && strcmp(mail.provider, "ses"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "mail provider \"%s\" is neither postmark nor ses",
		                     mail.provider);
	if (*mail.provider && tl__mail_check_endpoint(mail.endpoint))
		return tl_error_last()->code;
	tl_github *gh = NULL;
	int rc;
	if (*repo && !dry && (rc = tl_github_new(&gh, ctx, NULL)))
		return rc;

	tl_alert_report *r = tl__calloc(1, sizeof(*r));
	json_t *last = state_load(ctx);
	json_t *last_firing = last ? json_object_get(last, "firing") : NULL;
	json_t *now_firing = json_object();
	int64_t now = (int64_t)time(NULL);
	if (!r || !now_firing) {
		rc = TL_ENOMEM;
		goto out;
	}
	if ((rc = tl__step(ctx, "alerts.evaluate", NULL, "evaluating alerts")) ||
	    (rc = eval_host(r, ctx, &t)) || (rc = eval_backups(r, ctx, &t, now)) ||
	    (rc = eval_apps(r, ctx, &t, now)) || (rc = eval_certs(r, ctx, &t, now)))
		goto out;
	/* Keys that fired last time and were not evaluated now: cleared. */
	const char *k;
	json_t *v;
	json_object_foreach(last_firing, k, v)
	{
		if (!find_item(r, k) &&
		    (rc = add(r, k, false, json_string_value(json_object_get(v, "title"))
		                               ? json_string_value(json_object_get(v, "title"))
		                               : "alert",
		              "%s is no longer measured", k)))
			goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		r->v[i].was_firing = last_firing && json_object_get(last_firing, r->v[i].key);

	char host[256];
	hostname_or(host, sizeof(host));
	int first_err = TL_OK, first_class = TL_ERRCLASS_NONE;
	char first_msg[512] = "";
	for (size_t i = 0; i < r->n; i++) {
		alert_item *it = &r->v[i];
		bool changed = it->pub.firing != it->was_firing;
		int arc = set_action(it, "none");
		/* GitHub: every firing alert; a clear only when it may be open. */
		if (arc == TL_OK && *repo && (it->pub.firing || it->was_firing || !last))
			arc = notify_github(gh, repo, it, dry, host);
		if (arc == TL_OK && *mail.provider && changed) {
			char *subj = tl__sprintf("[towlion] %s %s: %s", host,
			                         it->pub.firing ? "ALERT" : "cleared", it->key);
			if (!subj)
				arc = TL_ENOMEM;
			else if (!dry && (arc = tl__mail_send(ctx, &mail, subj, it->detail)) == TL_OK)
				it->pub.mailed = 1;
			free(subj);
		}
		if (arc != TL_OK) {
			if (first_err == TL_OK) {
				first_err = arc;
				first_class = tl_error_last()->klass;
				snprintf(first_msg, sizeof(first_msg), "%s", tl_error_last()->message);
			}
			set_action(it, "error: %s", tl_error_last()->message);
		}
		/* Remember what fires, and a failed clear (to retry it). */
		bool keep = it->pub.firing ? !(arc != TL_OK && !it->was_firing)
		                           : (arc != TL_OK && it->was_firing);
		if (keep)
			json_object_set_new(now_firing, it->key, json_pack("{s:s}", "title", it->title));
		it->pub.key = it->key;
		it->pub.detail = it->detail;
		it->pub.action = it->action ? it->action : "none";
		if ((rc = tl__cancelled(ctx)))
			goto out;
	}
	if (!dry && (rc = state_save(ctx, now_firing)))
		goto out;
	if (first_err != TL_OK) {
		/* Unlike other out-params, the report is handed over with the
		 * error: it says which alert could not be sent and why. */
		tl__error_set(first_err, first_class, "alerts evaluated, but a notification "
		              "failed: %s", first_msg);
		rc = first_err;
	} else {
		tl_error_clear();
	}
	*out = r;
	r = NULL;
out:
	tl_alert_report_free(r);
	json_decref(last);
	json_decref(now_firing);
	tl_github_free(gh);
	return rc;
}
