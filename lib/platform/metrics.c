/*
 * `towlion metrics`: the platform's state in the Prometheus text format.
 *
 * Apps are read from the registry and their containers from Docker (by
 * the towlion.app label; preview containers, labelled towlion.pr, are left
 * out): up = a container runs, healthy = every running container that has
 * a health check reports healthy, release age = since the oldest running
 * container of the newest release started, restarts = Docker's restart
 * counts summed. Database sizes come from the pg module (libpq), backups
 * from the backup module's listing. A source that cannot be read shows as
 * towlion_scrape_up{source=...} 0 and leaves its series out.
 */
#include "platform_int.h"
#include "towlion/app.h"
#include "towlion/backup.h"
#include "towlion/deploy.h"
#include "towlion/docker.h"
#include "towlion/pg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int tl_metrics_options_init(tl_metrics_options *opts, unsigned int version)
{
	tl_metrics_options def = TL_METRICS_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_METRICS_OPTIONS_VERSION, "tl_metrics_options");
}

/* A label value, escaped as the exposition format wants. */
static void label(tl_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			tl__buf_putc(b, '\\');
		if (*v == '\n') {
			tl__buf_puts(b, "\\n");
			continue;
		}
		tl__buf_putc(b, *v);
	}
}

static void head(tl_buf *b, const char *name, const char *type, const char *help)
{
	tl__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(tl_buf *b, const char *name, const char *lname, const char *lvalue,
                   double v)
{
	tl__buf_puts(b, name);
	if (lname) {
		tl__buf_printf(b, "{%s=\"", lname);
		label(b, lvalue);
		tl__buf_puts(b, "\"}");
	}
	tl__buf_printf(b, " %.17g\n", v);
}

typedef struct {
	const char *name;
	tl__app_health h;
} app_state;

static int64_t restart_count(tl_docker *d, const char *id)
{
	tl_docker_container *c = NULL;
	tl_buf js = TL_BUF_INIT;
	int64_t n = 0;
	if (tl_docker_container_inspect(&c, d, id) == TL_OK &&
	    tl_docker_container_json(&js, c) == TL_OK) {
		json_t *doc = json_loadb(js.ptr, js.size, 0, NULL);
		n = json_integer_value(json_object_get(doc, "RestartCount"));
		json_decref(doc);
	}
	tl_buf_dispose(&js);
	tl_docker_container_free(c);
	return n;
}

/* The app's figures from what tl_app_status_get says of it (its active
 * release's containers inspected, its route as Caddy has it, its health
 * path asked), not from Docker's list alone: a removed container or a
 * route that points elsewhere is not healthy here either. */
int tl__app_measure(tl__app_health *s, tl_ctx *ctx, tl_docker *d, const char *app, int64_t now)
{
	tl_app_status *st = NULL;
	int rc = tl_app_status_get(&st, ctx, app);
	if (rc)
		return rc;
	memset(s, 0, sizeof(*s));
	int running = 0;
	for (size_t i = 0; i < tl_app_status_container_count(st); i++) {
		const tl_app_container *c = tl_app_status_container_at(st, i);
		s->restarts += (double)restart_count(d, c->name);
		running += !strcmp(c->state, "running");
	}
	s->running = running;
	s->up = running > 0;
	s->healthy = tl_app_status_healthy(st) != 0;
	int64_t since = tl_app_status_since(st);
	s->release_age = since ? (double)(now - since) : -1;
	snprintf(s->why, sizeof(s->why), "%s", tl_app_status_reason(st));
	tl_app_status_free(st);
	return TL_OK;
}

static void emit_apps(tl_buf *b, tl_ctx *ctx, int64_t now, bool *docker_up, bool *apps_up)
{
	tl_app_list *apps = NULL;
	tl_docker *d = NULL;
	*apps_up = tl_app_list_load(&apps, ctx) == TL_OK;
	*docker_up = tl_docker_open(&d, ctx) == TL_OK;
	size_t n = tl_app_list_count(apps);
	app_state *st = n ? tl__calloc(n, sizeof(*st)) : NULL;
	tl__report_begin(ctx);
	for (size_t i = 0; st && i < n; i++) {
		st[i].name = tl_app_name(tl_app_list_at(apps, i));
		if (*docker_up && tl__app_measure(&st[i].h, ctx, d, st[i].name, now) != TL_OK)
			*docker_up = false;
	}
	tl__report_end(ctx);
	if (st && *docker_up) {
		head(b, "towlion_app_up", "gauge", "1 when a container of the app is running.");
		for (size_t i = 0; i < n; i++)
			sample(b, "towlion_app_up", "app", st[i].name, st[i].h.up);
		head(b, "towlion_app_healthy", "gauge",
		     "1 when every running container of the app passes its health check.");
		for (size_t i = 0; i < n; i++)
			sample(b, "towlion_app_healthy", "app", st[i].name, st[i].h.healthy);
		head(b, "towlion_app_release_age_seconds", "gauge",
		     "Seconds since the running release of the app started.");
		for (size_t i = 0; i < n; i++)
			if (st[i].h.release_age >= 0)
				sample(b, "towlion_app_release_age_seconds", "app", st[i].name,
				       st[i].h.release_age);
		head(b, "towlion_app_restarts_total", "counter",
		     "Restarts of the app's current containers, as Docker counts them.");
		for (size_t i = 0; i < n; i++)
			sample(b, "towlion_app_restarts_total", "app", st[i].name, st[i].h.restarts);
	}
	free(st);
	tl_docker_free(d);
	tl_app_list_free(apps);
}

static void emit_databases(tl_buf *b, tl_ctx *ctx, bool *pg_up)
{
	tl_pg *pg = NULL;
	tl_pg_db_list *l = NULL;
	*pg_up = tl_pg_connect(&pg, ctx) == TL_OK && tl_pg_list(&l, pg) == TL_OK;
	if (*pg_up) {
		head(b, "towlion_database_size_bytes", "gauge", "Size of the app database.");
		for (size_t i = 0; i < tl_pg_db_list_count(l); i++) {
			const tl_pg_db_info *db = tl_pg_db_list_at(l, i);
			sample(b, "towlion_database_size_bytes", "database", db->database,
			       (double)db->size_bytes);
		}
	}
	tl_pg_db_list_free(l);
	tl_pg_free(pg);
}

static void emit_backups(tl_buf *b, tl_ctx *ctx, int64_t now, bool *ok)
{
	tl_backup_list *l = NULL;
	*ok = tl_backup_list_get(&l, ctx, NULL) == TL_OK;
	if (!*ok)
		return;
	size_t n = tl_backup_list_count(l);
	/* The list is newest first: the first entry of each database. */
	const tl_backup_info **newest = n ? tl__calloc(n, sizeof(*newest)) : NULL;
	size_t k = 0;
	for (size_t i = 0; newest && i < n; i++) {
		const tl_backup_info *bi = tl_backup_list_at(l, i);
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = !strcmp(newest[j]->database, bi->database);
		if (!seen)
			newest[k++] = bi;
	}
	head(b, "towlion_backup_last_age_seconds", "gauge",
	     "Seconds since the newest backup of the database started.");
	for (size_t j = 0; j < k; j++)
		sample(b, "towlion_backup_last_age_seconds", "database", newest[j]->database,
		       (double)(now - newest[j]->created));
	head(b, "towlion_backup_last_size_bytes", "gauge",
	     "Size on disk of the newest backup of the database.");
	for (size_t j = 0; j < k; j++)
		sample(b, "towlion_backup_last_size_bytes", "database", newest[j]->database,
		       (double)newest[j]->size);
	free(newest);
	tl_backup_list_free(l);
}

static void emit_host(tl_buf *b, tl_ctx *ctx, bool *disk_ok, bool *mem_ok)
{
	const char *data = tl__cfg(ctx, "TOWLION_DATA_DIR");
	char *at = tl__existing_ancestor(data);
	tl__disk d;
	*disk_ok = at && tl__probe_disk(&d, at) == TL_OK;
	if (*disk_ok) {
		head(b, "towlion_disk_used_bytes", "gauge",
		     "Bytes used on the file system of the data directory.");
		sample(b, "towlion_disk_used_bytes", "path", data, (double)d.used);
		head(b, "towlion_disk_total_bytes", "gauge",
		     "Size of the file system of the data directory.");
		sample(b, "towlion_disk_total_bytes", "path", data, (double)d.total);
		head(b, "towlion_disk_used_ratio", "gauge",
		     "Share of the data directory's file system in use (0..1, like df).");
		sample(b, "towlion_disk_used_ratio", "path", data, d.used_pct / 100.0);
		head(b, "towlion_disk_inodes_used_ratio", "gauge",
		     "Share of the data directory's inodes in use (0..1).");
		sample(b, "towlion_disk_inodes_used_ratio", "path", data, d.inodes_pct / 100.0);
	}
	free(at);
	double mem;
	*mem_ok = tl__probe_memory(&mem, NULL, NULL) == TL_OK;
	if (*mem_ok) {
		head(b, "towlion_memory_used_ratio", "gauge",
		     "Share of memory in use (MemTotal - MemAvailable) / MemTotal.");
		sample(b, "towlion_memory_used_ratio", NULL, NULL, mem / 100.0);
	}
}

int tl_metrics_render(tl_buf *out, tl_ctx *ctx, const tl_metrics_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	TL__CHECK_VERSION(opts, TL_METRICS_OPTIONS_VERSION, "tl_metrics_options");
	int64_t now = (int64_t)time(NULL);
	tl_buf b = TL_BUF_INIT;
	bool docker_up, apps_up, pg_up, backups_up, disk_up, mem_up;
	int rc = tl__step(ctx, "metrics.collect", NULL, "collecting metrics");
	if (rc)
		return rc;
	emit_apps(&b, ctx, now, &docker_up, &apps_up);
	emit_databases(&b, ctx, &pg_up);
	emit_backups(&b, ctx, now, &backups_up);
	emit_host(&b, ctx, &disk_up, &mem_up);
	const struct {
		const char *name;
		bool up;
	} src[] = {{"apps", apps_up},       {"docker", docker_up}, {"postgres", pg_up},
	           {"backups", backups_up}, {"disk", disk_up},     {"memory", mem_up}};
	head(&b, "towlion_scrape_up", "gauge", "1 when the source could be read.");
	for (size_t i = 0; i < TL__ARRAY_SIZE(src); i++)
		sample(&b, "towlion_scrape_up", "source", src[i].name, src[i].up);
	/* The sources' failures are reported as series, not as the error. */
	tl_error_clear();
	if (!b.ptr)
		return tl__error_oom();
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}
