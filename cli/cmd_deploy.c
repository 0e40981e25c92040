/* towlion deploy / rollback / releases / status: the release engine. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void when(char *out, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static json_t *release_json(const tl_release *r)
{
	json_t *svcs = json_object();
	for (size_t i = 0; i < tl_release_service_count(r); i++) {
		const char *img;
		const char *s = tl_release_service_at(r, i, &img);
		json_object_set_new(svcs, s, json_string(img));
	}
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:o}", "id", tl_release_id(r),
	                 "status", tl_release_status_name(tl_release_status(r)), "created",
	                 (json_int_t)tl_release_created(r), "duration_ms",
	                 (json_int_t)tl_release_duration_ms(r), "source", tl_release_source(r),
	                 "commit", tl_release_commit(r), "requested_by",
	                 tl_release_requested_by(r), "error", tl_release_error(r), "services",
	                 svcs);
}

/* --timeout: a duration, a bare number in seconds, 1 s to a day (0: not
 * given, the library's default). */
static int parse_timeout(cli *c, long *ms, const char *text)
{
	uint64_t v = 0;
	int rc = cli_opt_duration_ms(c, &v, "--timeout", text, 1000, 1000, 86400000);
	*ms = (long)v;
	return rc;
}

static int run_deploy(cli *c)
{
	const char *pos[1], *path = NULL, *git = NULL, *ref = NULL, *timeout = NULL,
	                    *release = NULL;
	cli_opt opts[] = {{"--path", true, &path},       {"--git", true, &git},
	                  {"--ref", true, &ref},         {"--timeout", true, &timeout},
	                  {"--release", true, &release}};
	int rc = cli_parse(c, opts, 5, pos, 1, 1, NULL);
	if (rc)
		return rc;
	if (!path == !git)
		return cli_usage(c, "give --path DIR or --git URL --ref REF");
	if (git && !ref)
		return cli_usage(c, "--git needs --ref (a branch, tag or commit)");
	long t = 0;
	if ((rc = parse_timeout(c, &t, timeout)))
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = path;
	o.git_url = git;
	o.git_ref = ref;
	o.release_id = release;
	o.health_timeout_ms = t;
	o.requested_by = getenv("GITHUB_ACTIONS") ? "github-actions" : "cli";
	if (c->dry_run) {
		tl_buf plan = TL_BUF_INIT;
		if ((rc = tl_deploy_describe(&plan, ctx, pos[0], &o)))
			return cli_fail(c, rc);
		cli_print(c, "would deploy:\n%s\n", plan.ptr);
		json_t *doc = json_loads(plan.ptr, 0, NULL);
		cli_set_result(c, json_pack("{s:b, s:o}", "dry_run", 1, "plan", doc));
		tl_buf_dispose(&plan);
		return 0;
	}
	tl_release *r = NULL;
	if ((rc = tl_deploy(&r, ctx, pos[0], &o)))
		return cli_fail(c, rc);
	cli_print(c, "%s: release %s is live (%.1f s)\n", pos[0], tl_release_id(r),
	          (double)tl_release_duration_ms(r) / 1000.0);
	cli_set_result(c, release_json(r));
	tl_release_free(r);
	return 0;
}

static int run_rollback(cli *c)
{
	const char *pos[1], *to = NULL, *timeout = NULL;
	cli_opt opts[] = {{"--to", true, &to}, {"--timeout", true, &timeout}};
	int rc = cli_parse(c, opts, 2, pos, 1, 1, NULL);
	if (rc)
		return rc;
	long t = 0;
	if ((rc = parse_timeout(c, &t, timeout)))
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_rollback_options o = TL_ROLLBACK_OPTIONS_INIT;
	o.release_id = to;
	o.health_timeout_ms = t;
	o.requested_by = "cli";
	/* The library chooses and checks the release, dry run or not: the
	 * dry run refuses exactly when the real call would. */
	o.dry_run = c->dry_run;
	tl_release *r = NULL;
	if ((rc = tl_rollback(&r, ctx, pos[0], &o)))
		return cli_fail(c, rc);
	if (c->dry_run) {
		cli_print(c, "would roll %s back to %s\n", pos[0], tl_release_id(r));
		cli_set_result(c, json_pack("{s:b, s:s}", "dry_run", 1, "release", tl_release_id(r)));
	} else {
		cli_print(c, "%s: release %s is live again\n", pos[0], tl_release_id(r));
		cli_set_result(c, release_json(r));
	}
	tl_release_free(r);
	return 0;
}

static int run_releases(cli *c)
{
	const char *pos[1];
	int rc = cli_parse(c, NULL, 0, pos, 1, 1, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_release_list *l = NULL;
	if ((rc = tl_release_list_load(&l, ctx, pos[0])))
		return cli_fail(c, rc);
	json_t *arr = json_array();
	if (tl_release_list_count(l) == 0)
		cli_print(c, "%s has no releases yet; deploy it with `towlion deploy %s --path DIR`\n",
		          pos[0], pos[0]);
	else
		cli_print(c, "%-28s %-11s %-24s %s\n", "RELEASE", "STATUS", "DEPLOYED", "SOURCE");
	for (size_t i = 0; i < tl_release_list_count(l); i++) {
		const tl_release *r = tl_release_list_at(l, i);
		char w[40];
		when(w, sizeof(w), tl_release_created(r));
		cli_print(c, "%-28s %-11s %-24s %s\n", tl_release_id(r),
		          tl_release_status_name(tl_release_status(r)), w, tl_release_source(r));
		if (tl_release_status(r) == TL_RELEASE_FAILED && tl_release_error(r)[0])
			cli_print(c, "    %.160s\n", tl_release_error(r));
		json_array_append_new(arr, release_json(r));
	}
	cli_set_result(c, json_pack("{s:s, s:o}", "app", pos[0], "releases", arr));
	tl_release_list_free(l);
	return 0;
}

static json_t *containers_json(const tl_app_status *st, size_t (*count)(const tl_app_status *),
                               const tl_app_container *(*at)(const tl_app_status *, size_t))
{
	json_t *cs = json_array();
	for (size_t i = 0; i < count(st); i++) {
		const tl_app_container *k = at(st, i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "name", k->name,
		                      "service", k->service, "release", k->release, "state",
		                      k->state, "health", k->health, "upstream", k->upstream,
		                      "created", (json_int_t)k->created);
		if (o && k->node && *k->node) { /* swarm: where the task runs */
			json_object_set_new(o, "node", json_string(k->node));
			json_object_set_new(o, "task_state", json_string(k->task_state));
		}
		json_array_append_new(cs, o);
	}
	return cs;
}

static json_t *status_json(const char *app, const tl_app_status *st)
{
	json_t *ups = json_array();
	for (size_t i = 0; i < tl_app_status_route_upstream_count(st); i++)
		json_array_append_new(ups, json_string(tl_app_status_route_upstream_at(st, i)));
	const char *op = tl_app_status_operation(st);
	return json_pack("{s:s, s:s, s:I, s:s, s:b, s:s, s:{s:s, s:o}, s:o, s:o, s:s?}", "app",
	                 app, "release", tl_app_status_release(st), "since",
	                 (json_int_t)tl_app_status_since(st), "url", tl_app_status_url(st),
	                 "healthy", tl_app_status_healthy(st), "reason", tl_app_status_reason(st),
	                 "route", "state", tl_app_route_state_name(tl_app_status_route(st)),
	                 "upstreams", ups, "containers",
	                 containers_json(st, tl_app_status_container_count,
	                                 tl_app_status_container_at),
	                 "leftovers",
	                 containers_json(st, tl_app_status_leftover_count, tl_app_status_leftover_at),
	                 "operation", *op ? op : NULL);
}

static void human_size(char *out, size_t len, int64_t b)
{
	if (b < 0)
		snprintf(out, len, "-");
	else if (b < 1024 * 1024)
		snprintf(out, len, "%lldK", (long long)(b / 1024));
	else if (b < 1024LL * 1024 * 1024)
		snprintf(out, len, "%.1fM", (double)b / (1024.0 * 1024));
	else
		snprintf(out, len, "%.1fG", (double)b / (1024.0 * 1024 * 1024));
}

static void age_text(char *out, size_t len, int64_t since)
{
	long age = since ? (long)(time(NULL) - since) : -1;
	if (age < 0)
		snprintf(out, len, "-");
	else if (age < 60)
		snprintf(out, len, "<1m");
	else if (age < 3600)
		snprintf(out, len, "%ldm", age / 60);
	else if (age < 86400)
		snprintf(out, len, "%ldh", age / 3600);
	else
		snprintf(out, len, "%ldd", age / 86400);
}

static void print_containers(cli *c, const char *title, const tl_app_status *st,
                             size_t (*count)(const tl_app_status *),
                             const tl_app_container *(*at)(const tl_app_status *, size_t))
{
	if (count(st))
		cli_print(c, "  %s:\n", title);
	for (size_t k = 0; k < count(st); k++) {
		const tl_app_container *ct = at(st, k);
		cli_print(c, "    %-34s %-14s %-26s %-10s %-10s %s\n", ct->name, ct->service,
		          ct->release, ct->state, ct->health, ct->upstream);
	}
}

/* A source status read beside the apps, by name (NULL when absent). */
static const tl_status_source *source_of(const tl_status_report *rep, const char *name)
{
	for (size_t i = 0; i < tl_status_source_count(rep); i++)
		if (!strcmp(tl_status_source_at(rep, i)->name, name))
			return tl_status_source_at(rep, i);
	return NULL;
}

static json_t *database_json(const tl_status_app *row, const tl_status_source *pg)
{
	if (pg && !pg->answered)
		return json_pack("{s:b, s:s}", "reachable", 0, "error", pg->error);
	if (!*row->database)
		return json_null();
	return json_pack("{s:s, s:I, s:i}", "name", row->database, "size_bytes",
	                 (json_int_t)row->database_bytes, "connections",
	                 row->database_connections);
}

/* The i-th app of the report: its line (and with `detail` its containers
 * and route); adds its JSON to `apps`. */
static void status_one(cli *c, const tl_status_report *rep, size_t i, bool detail,
                       json_t *apps, json_t *removed)
{
	const tl_status_app *row = tl_status_app_at(rep, i);
	const tl_app_status *st = tl_status_app_state(rep, i);
	const tl_status_source *pg = source_of(rep, "postgres");
	const char *name = row->app, *rel = tl_app_status_release(st);
	int route = tl_app_status_route(st), h = tl_app_status_health(st);
	const char *reason = tl_app_status_reason(st);
	const char *health = h == TL_APP_HEALTH_NONE ? "-"
	                     : h == TL_APP_HEALTH_BAD ? "UNHEALTHY"
	                                              : tl_app_health_name(h);
	char age[32], size[32], bage[32];
	age_text(age, sizeof(age), tl_app_status_since(st));
	human_size(size, sizeof(size), row->database_bytes);
	if (pg && !pg->answered)
		snprintf(size, sizeof(size), "unreachable");
	age_text(bage, sizeof(bage), row->backup_created);
	cli_print(c, "%-16s %-26s %-9s %-5s %-11s %-7s %-3d %s\n", name,
	          *rel ? rel : "(not deployed)", health, age, size, bage, row->previews,
	          tl_app_status_url(st));
	if (*reason)
		cli_print(c, "  why: %s\n", reason);
	if (*tl_app_status_operation(st))
		cli_print(c, "  in progress: %s\n", tl_app_status_operation(st));
	if (detail) {
		cli_print(c, "  route: %s", tl_app_route_state_name(route));
		for (size_t k = 0; k < tl_app_status_route_upstream_count(st); k++)
			cli_print(c, " %s", tl_app_status_route_upstream_at(st, k));
		cli_print(c, "\n");
		print_containers(c, "containers", st, tl_app_status_container_count,
		                 tl_app_status_container_at);
		print_containers(c, "leftovers", st, tl_app_status_leftover_count,
		                 tl_app_status_leftover_at);
	}
	if (tl_app_status_leftover_count(st) && !*tl_app_status_operation(st))
		cli_print(c, "  %zu leftover container(s) of releases that do not serve: `towlion "
		             "status %s --fix` removes them\n",
		          tl_app_status_leftover_count(st), name);
	json_t *doc = status_json(name, st);
	json_object_set_new(doc, "database", database_json(row, pg));
	json_object_set_new(doc, "last_backup",
	                    *row->backup_file
	                        ? json_pack("{s:s, s:I, s:I}", "file", row->backup_file, "created",
	                                    (json_int_t)row->backup_created, "size",
	                                    (json_int_t)row->backup_bytes)
	                        : json_null());
	json_object_set_new(doc, "previews", json_integer(row->previews));
	json_object_set_new(doc, "health", json_string(tl_app_health_name(h)));
	if (removed)
		json_object_set(doc, "removed", removed);
	json_array_append_new(apps, doc);
}

/* --fix: remove the app's leftovers first (--dry-run: name them). */
static int fix_one(cli *c, tl_ctx *ctx, const char *name, json_t **removed)
{
	*removed = json_array();
	if (c->dry_run) {
		tl_app_status *st = NULL;
		int rc = tl_app_status_get(&st, ctx, name);
		for (size_t i = 0; rc == TL_OK && i < tl_app_status_leftover_count(st); i++) {
			const char *n = tl_app_status_leftover_at(st, i)->name;
			cli_print(c, "would remove %s\n", n);
			json_array_append_new(*removed, json_string(n));
		}
		tl_app_status_free(st);
		return rc;
	}
	tl_buf names = TL_BUF_INIT;
	int rc = tl_app_leftovers_remove(&names, ctx, name, 0);
	for (char *p = names.ptr, *nl; rc == TL_OK && p && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		cli_print(c, "removed %s\n", p);
		json_array_append_new(*removed, json_string(p));
	}
	tl_buf_dispose(&names);
	return rc;
}

/* --fix for APP, or for every app: `removed` maps each app to the names
 * of the containers removed (or, with --dry-run, that would be). */
static int fix_all(cli *c, tl_ctx *ctx, const char *only, json_t *removed)
{
	tl_app_list *l = NULL;
	int rc = only ? TL_OK : tl_app_list_load(&l, ctx);
	size_t n = only ? 1 : tl_app_list_count(l);
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		const char *name = only ? only : tl_app_name(tl_app_list_at(l, i));
		json_t *names = NULL;
		rc = fix_one(c, ctx, name, &names);
		json_object_set_new(removed, name, names);
	}
	tl_app_list_free(l);
	return rc;
}

static int run_status(cli *c)
{
	const char *pos[1], *fix = NULL;
	size_t npos = 0;
	cli_opt opts[] = {{"--fix", false, &fix}};
	int rc = cli_parse(c, opts, 1, pos, 0, 1, &npos);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	json_t *removed = json_object();
	if (fix && (rc = fix_all(c, ctx, npos ? pos[0] : NULL, removed))) {
		json_decref(removed);
		return cli_fail(c, rc);
	}
	tl_status_options o = TL_STATUS_OPTIONS_INIT;
	o.app = npos ? pos[0] : NULL;
	tl_status_report *rep = NULL;
	if ((rc = tl_status(&rep, ctx, &o))) {
		json_decref(removed);
		return cli_fail(c, rc);
	}
	json_t *apps = json_array();
	cli_print(c, "%-16s %-26s %-9s %-5s %-11s %-7s %-3s %s\n", "APP", "RELEASE", "HEALTH",
	          "AGE", "DB", "BACKUP", "PRS", "URL");
	for (size_t i = 0; i < tl_status_app_count(rep); i++)
		status_one(c, rep, i, npos > 0, apps,
		           json_object_get(removed, tl_status_app_at(rep, i)->app));
	json_decref(removed);
	const tl_status_source *pg = source_of(rep, "postgres");
	if (pg && !pg->answered)
		cli_print(c, "(PostgreSQL unreachable: %s)\n", pg->error);
	if (!tl_status_app_count(rep))
		cli_print(c, "(no apps yet: `towlion app create NAME`, then `towlion deploy NAME "
		             "--path DIR`)\n");
	cli_set_result(c, json_pack("{s:o}", "apps", apps));
	/* 6 when an app is unhealthy; else 5 when Caddy could not tell, and
	 * stderr says so (stdout is the table, or the JSON). */
	int verdict = tl_status_health(rep) == TL_APP_HEALTH_BAD       ? EXIT_UNHEALTHY
	              : tl_status_health(rep) == TL_APP_HEALTH_UNKNOWN ? EXIT_UNAVAILABLE
	                                                               : 0;
	if (verdict == EXIT_UNAVAILABLE)
		cli_fprint(stderr, "towlion: Caddy did not answer, so whether the apps are "
		                   "routed is unknown (%s)\n",
		           *tl_status_reason(rep) ? tl_status_reason(rep) : "no reason given");
	tl_status_free(rep);
	return verdict;
}

static const cli_verb deploy_verbs[] = {
	{"", "APP (--path DIR | --git URL --ref REF) [--timeout SECONDS] [--release ID]",
	 "build and release APP with a health-gated, zero-downtime switch",
	 "towlion deploy shop --git https://github.com/acme/shop.git --ref 3f2a1bc", true,
	 run_deploy},
};
const cli_group cli_group_deploy = {"deploy", "release an app", deploy_verbs, 1};

static const cli_verb rollback_verbs[] = {
	{"", "APP [--to RELEASE] [--timeout SECONDS]",
	 "put the previous (or a named) release back, from its kept images",
	 "towlion rollback shop --to 20261130T044633Z-3f2a1bc", true, run_rollback},
};
const cli_group cli_group_rollback = {"rollback", "put an earlier release back",
                                      rollback_verbs, 1};

static const cli_verb releases_verbs[] = {
	{"", "APP", "list an app's releases, newest first, failed attempts included",
	 "towlion releases shop --json", false, run_releases},
};
const cli_group cli_group_releases = {"releases", "an app's release history", releases_verbs,
                                      1};

static const cli_verb status_verbs[] = {
	{"", "[APP] [--fix]",
	 "apps at a glance: release, health, age, URL (with APP: its route and containers); "
	 "--fix removes leftover containers of releases that do not serve",
	 "towlion status", false, run_status},
};
const cli_group cli_group_status = {"status", "the platform at a glance", status_verbs, 1};
