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
	if (c->dry_run) {
		tl_release_list *l = NULL;
		if ((rc = tl_release_list_load(&l, ctx, pos[0])))
			return cli_fail(c, rc);
		const char *target = NULL;
		for (size_t i = 0, past = 0; !target && i < tl_release_list_count(l); i++) {
			const tl_release *r = tl_release_list_at(l, i);
			if (to ? !strcmp(tl_release_id(r), to) : past &&
			                 tl_release_status(r) == TL_RELEASE_SUPERSEDED)
				target = tl_release_id(r);
			if (tl_release_status(r) == TL_RELEASE_ACTIVE)
				past = 1;
		}
		if (!target) {
			rc = to ? cli_error(c, EXIT_NOTFOUND, "%s has no release %s; see 'towlion releases %s'",
			                    pos[0], to, pos[0])
			        : cli_error(c, EXIT_NOTFOUND,
			                    "%s has no earlier release to roll back to; see 'towlion "
			                    "releases %s'", pos[0], pos[0]);
			tl_release_list_free(l);
			return rc;
		}
		cli_print(c, "would roll %s back to %s\n", pos[0], target);
		cli_set_result(c, json_pack("{s:b, s:s}", "dry_run", 1, "release", target));
		tl_release_list_free(l);
		return 0;
	}
	tl_rollback_options o = TL_ROLLBACK_OPTIONS_INIT;
	o.release_id = to;
	o.health_timeout_ms = t;
	o.requested_by = "cli";
	tl_release *r = NULL;
	if ((rc = tl_rollback(&r, ctx, pos[0], &o)))
		return cli_fail(c, rc);
	cli_print(c, "%s: release %s is live again\n", pos[0], tl_release_id(r));
	cli_set_result(c, release_json(r));
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
		json_array_append_new(cs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "name",
		                                     k->name, "service", k->service, "release",
		                                     k->release, "state", k->state, "health",
		                                     k->health, "upstream", k->upstream, "created",
		                                     (json_int_t)k->created));
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

/* What the platform knows beside the apps: database sizes, newest
 * backups, previews. Each part is best effort: a service that does not
 * answer leaves its column empty (doctor says why), except PostgreSQL,
 * whose silence is said as such ("unreachable" is not "no database"). */
typedef struct {
	char *pg_error; /* why PostgreSQL did not answer, or NULL */
	tl_pg_db_list *dbs;
	tl_backup_list *backups;
	tl_preview_list *previews;
} extras;

static void extras_load(extras *x, tl_ctx *ctx)
{
	tl_pg *pg = NULL;
	if (tl_pg_connect(&pg, ctx) != TL_OK || tl_pg_list(&x->dbs, pg) != TL_OK)
		x->pg_error = strdup(tl_error_last()->message);
	tl_pg_free(pg);
	tl_backup_list_get(&x->backups, ctx, NULL);
	tl_preview_list_load(&x->previews, ctx, NULL);
	tl_error_clear();
}

static void extras_free(extras *x)
{
	free(x->pg_error);
	tl_pg_db_list_free(x->dbs);
	tl_backup_list_free(x->backups);
	tl_preview_list_free(x->previews);
}

static const tl_pg_db_info *db_of(const extras *x, const char *app)
{
	for (size_t i = 0; i < tl_pg_db_list_count(x->dbs); i++)
		if (!strcmp(tl_pg_db_list_at(x->dbs, i)->app, app))
			return tl_pg_db_list_at(x->dbs, i);
	return NULL;
}

static const tl_backup_info *newest_backup(const extras *x, const char *database)
{
	/* The list is newest first. */
	for (size_t i = 0; database && i < tl_backup_list_count(x->backups); i++)
		if (!strcmp(tl_backup_list_at(x->backups, i)->database, database))
			return tl_backup_list_at(x->backups, i);
	return NULL;
}

static size_t previews_of(const extras *x, const char *app)
{
	size_t n = 0;
	for (size_t i = 0; i < tl_preview_list_count(x->previews); i++)
		n += !strcmp(tl_preview_app(tl_preview_list_at(x->previews, i)), app);
	return n;
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

/* One app's line (and with `detail` its containers and route); adds its
 * JSON to `apps`. Returns the app's verdict: 0 healthy or not deployed,
 * EXIT_UNAVAILABLE when Caddy could not say, EXIT_UNHEALTHY. */
static int status_one(cli *c, const tl_app_status *st, const char *name, const extras *x,
                      bool detail, json_t *apps, json_t *removed)
{
	const char *rel = tl_app_status_release(st);
	int route = tl_app_status_route(st), h = tl_app_status_health(st);
	const char *reason = tl_app_status_reason(st);
	int verdict = h == TL_APP_HEALTH_BAD       ? EXIT_UNHEALTHY
	              : h == TL_APP_HEALTH_UNKNOWN ? EXIT_UNAVAILABLE
	                                           : 0;
	const char *health = h == TL_APP_HEALTH_NONE ? "-"
	                     : h == TL_APP_HEALTH_BAD ? "UNHEALTHY"
	                                              : tl_app_health_name(h);
	const tl_pg_db_info *db = db_of(x, name);
	const tl_backup_info *bk = newest_backup(x, db ? db->database : NULL);
	char age[32], size[32], bage[32];
	age_text(age, sizeof(age), tl_app_status_since(st));
	human_size(size, sizeof(size), db ? db->size_bytes : -1);
	if (x->pg_error)
		snprintf(size, sizeof(size), "unreachable");
	age_text(bage, sizeof(bage), bk ? bk->created : 0);
	size_t prs = previews_of(x, name);
	cli_print(c, "%-16s %-26s %-9s %-5s %-11s %-7s %-3zu %s\n", name,
	          *rel ? rel : "(not deployed)", health, age, size, bage, prs,
	          tl_app_status_url(st));
	if (*reason)
		cli_print(c, "  why: %s\n", reason);
	if (*tl_app_status_operation(st))
		cli_print(c, "  in progress: %s\n", tl_app_status_operation(st));
	if (detail) {
		cli_print(c, "  route: %s", tl_app_route_state_name(route));
		for (size_t i = 0; i < tl_app_status_route_upstream_count(st); i++)
			cli_print(c, " %s", tl_app_status_route_upstream_at(st, i));
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
	json_object_set_new(doc, "database",
	                    x->pg_error ? json_pack("{s:b, s:s}", "reachable", 0, "error",
	                                            x->pg_error)
	                    : db ? json_pack("{s:s, s:I, s:i}", "name", db->database, "size_bytes",
	                                     (json_int_t)db->size_bytes, "connections",
	                                     db->connections)
	                         : json_null());
	json_object_set_new(doc, "last_backup",
	                    bk ? json_pack("{s:s, s:I, s:I}", "file", bk->file, "created",
	                                   (json_int_t)bk->created, "size", (json_int_t)bk->size)
	                       : json_null());
	json_object_set_new(doc, "previews", json_integer((json_int_t)prs));
	json_object_set_new(doc, "health", json_string(tl_app_health_name(h)));
	if (removed)
		json_object_set(doc, "removed", removed);
	json_array_append_new(apps, doc);
	return verdict;
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
	tl_app_list *l = NULL;
	if ((rc = tl_app_list_load(&l, ctx)))
		return cli_fail(c, rc);
	extras x = {0};
	extras_load(&x, ctx);
	json_t *apps = json_array();
	int verdict = 0, found = 0;
	char *unknown = NULL; /* why the first app's route could not be told */
	cli_print(c, "%-16s %-26s %-9s %-5s %-11s %-7s %-3s %s\n", "APP", "RELEASE", "HEALTH",
	          "AGE", "DB", "BACKUP", "PRS", "URL");
	for (size_t i = 0; i < tl_app_list_count(l); i++) {
		const char *name = tl_app_name(tl_app_list_at(l, i));
		if (npos && strcmp(name, pos[0]))
			continue;
		found = 1;
		json_t *removed = NULL;
		tl_app_status *st = NULL;
		if ((fix && (rc = fix_one(c, ctx, name, &removed))) ||
		    (rc = tl_app_status_get(&st, ctx, name))) {
			json_decref(removed);
			tl_app_list_free(l);
			extras_free(&x);
			json_decref(apps);
			free(unknown);
			return cli_fail(c, rc);
		}
		int v = status_one(c, st, name, &x, npos > 0, apps, removed);
		if (v == EXIT_UNAVAILABLE && !unknown)
			unknown = strdup(tl_app_status_reason(st) ? tl_app_status_reason(st) : "");
		if (v == EXIT_UNHEALTHY || !verdict)
			verdict = v ? v : verdict;
		json_decref(removed);
		tl_app_status_free(st);
	}
	tl_app_list_free(l);
	if (x.pg_error)
		cli_print(c, "(PostgreSQL unreachable: %s)\n", x.pg_error);
	extras_free(&x);
	if (npos && !found) {
		json_decref(apps);
		tl_app *a = NULL;
		rc = tl_app_open(&a, ctx, pos[0]); /* the registry's own message */
		tl_app_free(a);
		return cli_fail(c, rc ? rc : TL_ENOTFOUND);
	}
	if (!found)
		cli_print(c, "(no apps yet: `towlion app create NAME`, then `towlion deploy NAME "
		             "--path DIR`)\n");
	cli_set_result(c, json_pack("{s:o}", "apps", apps));
	/* 6 when an app is unhealthy; else 5 when Caddy could not tell, and
	 * stderr says so (stdout is the table, or the JSON). */
	if (verdict == EXIT_UNAVAILABLE)
		cli_fprint(stderr, "towlion: Caddy did not answer, so whether the apps are "
		                   "routed is unknown (%s)\n",
		           unknown && *unknown ? unknown : "no reason given");
	free(unknown);
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
