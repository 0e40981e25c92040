/*
 * Observability, as the optional profiles draw it (docs/observability.md):
 *
 * - Grafana comes provisioned: its data sources (Loki and Prometheus by
 *   service name on the platform's internal network) and a dashboards
 *   provider with towlion's own dashboard. init writes them under the data
 *   dir; grafana mounts them read-only, so nothing in the container (nor a
 *   Grafana admin in the UI) can change what the next start reads.
 * - node-exporter's textfile directory, where `towlion metrics --textfile`
 *   writes towlion's series for Prometheus to scrape through the node job.
 * - The platform's own routes: grafana.<domain> to Grafana (when a profile
 *   runs it) and storage.<domain> to the object store, set after `platform
 *   up` through the routing module like any app's.
 *
 * These files are towlion's, not the operator's: init rewrites them when
 * they differ (the Prometheus and Promtail files, which operators tune,
 * are kept once written: layout.c).
 */
#include "platform_int.h"
#include "towlion/caddy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char datasources_yml[] =
	"# Written by `towlion platform init`, which rewrites it: Grafana's data\n"
	"# sources on the platform's internal network (docs/observability.md).\n"
	"apiVersion: 1\n"
	"datasources:\n"
	"  - name: Prometheus\n"
	"    uid: towlion-prometheus\n"
	"    type: prometheus\n"
	"    access: proxy\n"
	"    url: http://prometheus:9090\n"
	"    isDefault: true\n"
	"    editable: false\n"
	"  - name: Loki\n"
	"    uid: towlion-loki\n"
	"    type: loki\n"
	"    access: proxy\n"
	"    url: http://loki:3100\n"
	"    editable: false\n";

static const char dashboards_yml[] =
	"# Written by `towlion platform init`, which rewrites it: the dashboards\n"
	"# towlion ships, read-only in Grafana.\n"
	"apiVersion: 1\n"
	"providers:\n"
	"  - name: towlion\n"
	"    orgId: 1\n"
	"    folder: Towlion\n"
	"    type: file\n"
	"    disableDeletion: true\n"
	"    allowUiUpdates: false\n"
	"    options:\n"
	"      path: /var/lib/towlion-dashboards\n";

/* One dashboard: towlion's own series (node-exporter's textfile collector
 * brings them in) and the containers' logs from Loki. */
#define PANEL(id, x, y, title, ds, expr)                                                   \
	"    {\"id\": " #id ", \"type\": \"timeseries\", \"title\": \"" title "\",\n"        \
	"     \"gridPos\": {\"x\": " #x ", \"y\": " #y ", \"w\": 12, \"h\": 8},\n"            \
	"     \"datasource\": {\"type\": \"prometheus\", \"uid\": \"" ds "\"},\n"            \
	"     \"targets\": [{\"refId\": \"A\", \"expr\": \"" expr "\"}]},\n"

static const char dashboard_json[] =
	"{\n"
	"  \"uid\": \"towlion-platform\",\n"
	"  \"title\": \"Towlion platform\",\n"
	"  \"schemaVersion\": 39,\n"
	"  \"time\": {\"from\": \"now-6h\", \"to\": \"now\"},\n"
	"  \"panels\": [\n"
	PANEL(1, 0, 0, "Apps healthy", "towlion-prometheus", "towlion_app_healthy")
	PANEL(2, 12, 0, "App restarts", "towlion-prometheus", "towlion_app_restarts_total")
	PANEL(3, 0, 8, "Disk used", "towlion-prometheus", "towlion_disk_used_ratio")
	PANEL(4, 12, 8, "Newest backup age (s)", "towlion-prometheus",
	      "towlion_backup_last_age_seconds")
	"    {\"id\": 5, \"type\": \"logs\", \"title\": \"Container logs\",\n"
	"     \"gridPos\": {\"x\": 0, \"y\": 16, \"w\": 24, \"h\": 10},\n"
	"     \"datasource\": {\"type\": \"loki\", \"uid\": \"towlion-loki\"},\n"
	"     \"targets\": [{\"refId\": \"A\", \"expr\": \"{job=\\\"containers\\\"}\"}]}\n"
	"  ]\n"
	"}\n";

static const struct {
	const char *rel; /* under the data dir */
	const char *text;
} files[] = {
	{"grafana-provisioning/datasources/towlion.yaml", datasources_yml},
	{"grafana-provisioning/dashboards/towlion.yaml", dashboards_yml},
	{"grafana-dashboards/towlion-platform.json", dashboard_json},
};

/* Directories, 0755: Grafana (uid 472) and node-exporter read them. The
 * provisioning kinds Grafana looks for and we do not use exist empty, so
 * it does not log their absence at every start. */
static const char *const dirs[] = {
	"grafana-provisioning/datasources", "grafana-provisioning/dashboards",
	"grafana-provisioning/plugins",     "grafana-provisioning/alerting",
	"grafana-dashboards",               "node-exporter/textfile",
};

static int ensure_dir(tl_platform_report *r, const tl__plat *p, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return TL_OK;
		return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_INPUT,
		                     "%s exists and is not a directory; move it away and run "
		                     "`towlion platform init` again",
		                     path);
	}
	if (errno != ENOENT)
		return tl__error_os(TL_EIO, errno, "cannot look at %s", path);
	int rc = p->flags & TL_PLATFORM_DRY_RUN ? TL_OK : tl__mkdir_p(path, 0755);
	if (rc == TL_OK && !(p->flags & TL_PLATFORM_DRY_RUN) && chmod(path, 0755) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot set the mode of %s", path);
	return rc ? rc : tl__plat_step(r, "mkdir", path, 1, "0755");
}

/* Write `text` at `path` (0644, atomically) unless it already says so. */
static int rewrite(tl_platform_report *r, const tl__plat *p, const char *path, const char *text)
{
	tl_buf cur = TL_BUF_INIT;
	int rc = tl__file_read(&cur, path);
	if (rc && rc != TL_ENOTFOUND)
		return rc;
	bool existed = rc == TL_OK;
	bool same = existed && cur.size == strlen(text) && !memcmp(cur.ptr, text, cur.size);
	tl_buf_dispose(&cur);
	if (same)
		return tl__plat_step(r, "write", path, 0, "up to date");
	if (!(p->flags & TL_PLATFORM_DRY_RUN) &&
	    (rc = tl__file_write_atomic(path, text, strlen(text), 0644)))
		return rc;
	return tl__plat_step(r, "write", path, 1, "0644%s", existed ? ", updated" : "");
}

int tl__plat_observe_files(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p)
{
	int rc = tl__step(ctx, "platform.observe", p->data, "Grafana provisioning");
	for (size_t i = 0; rc == TL_OK && i < TL__ARRAY_SIZE(dirs); i++) {
		char *path = tl__plat_data(p, dirs[i]);
		rc = path ? ensure_dir(r, p, path) : TL_ENOMEM;
		free(path);
	}
	for (size_t i = 0; rc == TL_OK && i < TL__ARRAY_SIZE(files); i++) {
		char *path = tl__plat_data(p, files[i].rel);
		rc = path ? rewrite(r, p, path, files[i].text) : TL_ENOMEM;
		free(path);
	}
	return rc;
}

/* ---- the platform's own routes ---------------------------------------- */

char *tl__plat_root_url(tl_ctx *ctx, const char *service)
{
	const char *dom = tl__cfg(ctx, "TOWLION_DOMAIN");
	if (strcmp(service, "grafana") || !*dom)
		return NULL;
	bool plain = !strcmp(tl__cfg(ctx, "TOWLION_TLS"), "off");
	return tl__sprintf("%s://grafana.%s/", plain ? "http" : "https", dom);
}

/* Whether the site file `site` is the platform's route to `host` (or
 * absent): an app may be called "grafana" or "storage", and its site is
 * then never replaced nor removed here. */
static int site_is_ours(bool *ours, bool *exists, tl_ctx *ctx, const char *site,
                        const char *host)
{
	tl_caddy_sites *sites = NULL;
	int rc = tl_caddy_list(&sites, ctx);
	if (rc)
		return rc;
	*exists = false;
	*ours = true;
	for (size_t i = 0; i < tl_caddy_sites_count(sites); i++) {
		const tl_caddy_site *s = tl_caddy_sites_at(sites, i);
		if (strcmp(s->site, site))
			continue;
		*exists = true;
		*ours = s->nhosts == 1 && !strcmp(s->hosts[0], host);
	}
	tl_caddy_sites_free(sites);
	return TL_OK;
}

/* One route: `site` answers <site>.<domain> and goes to `upstream`; with
 * `upstream` NULL the platform's route is taken away. A route that
 * cannot be made (an app holds the name or the host) is a warning: the
 * services run either way. */
static int route(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p, const char *site,
                 const char *upstream)
{
	char *host = tl__sprintf("%s.%s", site, tl__cfg(ctx, "TOWLION_DOMAIN"));
	if (!host)
		return TL_ENOMEM;
	bool ours = true, exists = false;
	int rc = site_is_ours(&ours, &exists, ctx, site, host);
	if (rc == TL_OK && !ours) {
		rc = tl__log(ctx, TL_LOG_WARN,
		             "the site %s is not the platform's route to %s (an app of that "
		             "name?): left alone, %s is not routed",
		             site, host, host);
		if (rc == TL_OK)
			rc = tl__plat_step(r, "route", host, 0, "not routed: site %s is an app's", site);
	} else if (rc == TL_OK && !upstream) {
		if (exists && !(p->flags & TL_PLATFORM_DRY_RUN))
			rc = tl_caddy_route_remove(NULL, ctx, site);
		if (rc == TL_OK)
			rc = tl__plat_step(r, "route", host, exists,
			                   exists ? "removed (no profile runs it)" : "none");
	} else if (rc == TL_OK) {
		tl_caddy_route rt = TL_CADDY_ROUTE_INIT;
		const char *hosts[] = {host};
		const char *ups[] = {upstream};
		rt.site = site;
		rt.hosts = hosts;
		rt.nhosts = 1;
		rt.upstreams = ups;
		rt.nupstreams = 1;
		tl_buf cur = TL_BUF_INIT, want = TL_BUF_INIT;
		char *file = tl__sprintf("%s/sites/%s.caddy", tl__cfg(ctx, "TOWLION_CADDY_DIR"), site);
		/* Set only when it changes: up stays idempotent. */
		rc = file ? tl_caddy_render_site(&want, ctx, &rt) : TL_ENOMEM;
		bool same = false;
		if (rc == TL_OK) {
			same = tl__file_read(&cur, file) == TL_OK && cur.size == want.size &&
			       !memcmp(cur.ptr, want.ptr, cur.size);
			tl_error_clear(); /* a missing file is no error here */
		}
		if (rc == TL_OK && !same && !(p->flags & TL_PLATFORM_DRY_RUN))
			rc = tl_caddy_route_set(ctx, &rt);
		if (rc == TL_ECONFLICT) {
			rc = tl__log(ctx, TL_LOG_WARN, "%s is not routed: %s", host,
			             tl_error_last()->message);
			if (rc == TL_OK)
				rc = tl__plat_step(r, "route", host, 0, "not routed: another site has it");
		} else if (rc == TL_OK) {
			rc = tl__plat_step(r, "route", host, !same, "-> %s", upstream);
		}
		free(file);
		tl_buf_dispose(&cur);
		tl_buf_dispose(&want);
	}
	free(host);
	return rc;
}

int tl__plat_routes(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p, unsigned profiles)
{
	if (!*tl__cfg(ctx, "TOWLION_DOMAIN"))
		return tl__plat_step(r, "route", "grafana, storage", 0,
		                     "skipped: TOWLION_DOMAIN is not set");
	/* A trial (under a root, or next to another platform without ports):
	 * the Caddy the context names is not this platform's. */
	if (*p->root || (p->flags & TL_PLATFORM_NO_PORTS))
		return tl__plat_step(r, "route", "grafana, storage", 0,
		                     "skipped: a trial platform routes nothing in the live Caddy");
	/* Caddy in its container reaches both by service name (it joins the
	 * internal network for Grafana). Caddy on the host (loopback mode)
	 * reaches the port the object store publishes on 127.0.0.1; Grafana,
	 * only on the internal network, publishes none (Docker publishes no
	 * port of a container only on an internal network): no route then. */
	bool loopback = !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "loopback");
	int rc = route(r, ctx, p, "storage", loopback ? "127.0.0.1:9000" : "s3:9000");
	bool grafana = false;
	for (size_t i = 0; i < tl__plat_nservices; i++)
		if (!strcmp(tl__plat_services[i].name, "grafana"))
			grafana = tl__plat_service_wanted(&tl__plat_services[i], profiles);
	if (rc == TL_OK && grafana && loopback)
		rc = tl__log(ctx, TL_LOG_WARN,
		             "grafana.%s is not routed: Caddy on the host cannot reach Grafana on "
		             "the internal network (TOWLION_UPSTREAM_MODE=network routes it)",
		             tl__cfg(ctx, "TOWLION_DOMAIN"));
	if (rc == TL_OK)
		rc = route(r, ctx, p, "grafana", grafana && !loopback ? "grafana:3000" : NULL);
	return rc;
}
