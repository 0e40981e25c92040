/* towlion db: the apps' databases and roles, and the previews' schemas. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Connect (printing the error on failure). */
static int open_pg(cli *c, tl_pg **pg)
{
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	int rc = tl_pg_connect(pg, ctx);
	return rc ? cli_fail(c, rc) : 0;
}

/* What an operation did, or would do under --dry-run. */
static void show_report(cli *c, const tl_pg_report *r)
{
	size_t n = tl_pg_report_action_count(r);
	int dry = tl_pg_report_dry_run(r);
	json_t *actions = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(actions, json_string(tl_pg_report_action(r, i)));
	cli_set_result(c, json_pack("{s:s, s:s, s:s, s:s?, s:s, s:b, s:o}", "app",
	                            tl_pg_report_app(r), "database", tl_pg_report_database(r),
	                            "role", tl_pg_report_role(r), "schema", tl_pg_report_schema(r),
	                            "env_file", tl_pg_report_env_path(r), "dry_run", dry,
	                            "actions", actions));
	if (dry)
		cli_print(c, "plan (--dry-run: nothing was changed):\n");
	/* On a terminal the steps were shown as they happened. */
	for (size_t i = 0; i < n && (dry || !c->tty || c->quiet); i++)
		cli_print(c, "  %s%s\n", dry ? "would " : "", tl_pg_report_action(r, i));
	if (!n)
		cli_print(c, "nothing to do: everything is in place\n");
	const char *schema = tl_pg_report_schema(r);
	cli_print(c, "%s %s%s%s: database %s, role %s, DATABASE_URL in %s\n",
	          schema ? "preview of" : "app", tl_pg_report_app(r), schema ? ", schema " : "",
	          schema ? schema : "", tl_pg_report_database(r), tl_pg_report_role(r),
	          tl_pg_report_env_path(r));
}

typedef int (*app_fn)(tl_pg_report **, tl_pg *, const char *, const tl_pg_options *);

static int run_app_op(cli *c, app_fn fn, const tl_pg_options *opts, const char *app)
{
	tl_pg *pg = NULL;
	int rc = open_pg(c, &pg);
	if (rc)
		return rc;
	tl_pg_report *r = NULL;
	if ((rc = fn(&r, pg, app, opts)) != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		show_report(c, r);
		rc = 0;
	}
	tl_pg_report_free(r);
	tl_pg_free(pg);
	return rc;
}

static void base_opts(cli *c, tl_pg_options *o)
{
	tl_pg_options_init(o, TL_PG_OPTIONS_VERSION);
	if (c->dry_run)
		o->flags |= TL_PG_DRY_RUN;
}

static int run_create(cli *c)
{
	const char *limit = NULL, *app = NULL, *standalone = NULL;
	cli_opt opts[] = {{"--connection-limit", true, &limit}, {"--standalone", false, &standalone}};
	int rc = cli_parse(c, opts, 2, &app, 1, 1, NULL);
	if (rc)
		return rc;
	tl_pg_options o;
	base_opts(c, &o);
	if (!standalone)
		o.flags |= TL_PG_REGISTERED_ONLY;
	/* 0: no limit */
	if ((rc = cli_opt_int(c, &o.connection_limit, "--connection-limit", limit, 0, 100000)))
		return rc;
	return run_app_op(c, tl_pg_app_create, &o, app);
}

static int run_rotate(cli *c)
{
	const char *app = NULL;
	int rc = cli_parse(c, NULL, 0, &app, 1, 1, NULL);
	if (rc)
		return rc;
	tl_pg_options o;
	base_opts(c, &o);
	return run_app_op(c, tl_pg_app_rotate, &o, app);
}

static int run_drop(cli *c)
{
	const char *yes = NULL, *app = NULL;
	cli_opt opts[] = {{"--yes", false, &yes}};
	int rc = cli_parse(c, opts, 1, &app, 1, 1, NULL);
	if (rc)
		return rc;
	tl_pg_options o;
	base_opts(c, &o);
	/* A plan needs no confirmation; a drop does. */
	if (yes || c->dry_run)
		o.flags |= TL_PG_CONFIRM;
	else
		return cli_usage(c, "dropping deletes all of %s's data: add --yes to confirm", app);
	return run_app_op(c, tl_pg_app_drop, &o, app);
}

static int run_url(cli *c)
{
	const char *app = NULL, *prs = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}};
	int rc = cli_parse(c, opts, 1, &app, 1, 1, NULL);
	if (rc)
		return rc;
	uint32_t pr = 0;
	if (prs && tl_parse_pr(&pr, prs) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_buf url = TL_BUF_INIT;
	if ((rc = tl_pg_database_url(&url, ctx, app, pr)) != TL_OK)
		return cli_fail(c, rc);
	/* The only command that prints a secret: the caller asked for it. */
	cli_set_result(c, json_pack("{s:s, s:s}", "app", app, "database_url", url.ptr));
	cli_print(c, "%s\n", url.ptr);
	memset(url.ptr, 0, url.size);
	tl_buf_dispose(&url);
	return 0;
}

static int run_list(cli *c)
{
	int rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_pg *pg = NULL;
	if ((rc = open_pg(c, &pg)))
		return rc;
	tl_pg_db_list *l = NULL;
	if ((rc = tl_pg_list(&l, pg)) != TL_OK) {
		rc = cli_fail(c, rc);
		tl_pg_free(pg);
		return rc;
	}
	json_t *arr = json_array();
	size_t n = tl_pg_db_list_count(l);
	if (n)
		cli_print(c, "%-24s %-28s %-30s %10s %6s %6s %8s\n", "APP", "DATABASE", "OWNER",
		          "SIZE", "CONNS", "LIMIT", "PREVIEWS");
	for (size_t i = 0; i < n; i++) {
		const tl_pg_db_info *d = tl_pg_db_list_at(l, i);
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:i}", "app", d->app, "database",
			               d->database, "owner", d->owner, "size_bytes",
			               (json_int_t)d->size_bytes, "connections", d->connections,
			               "connection_limit", d->connection_limit, "previews", d->previews));
		char size[32], lim[16];
		snprintf(size, sizeof(size), "%.1f MiB", (double)d->size_bytes / (1024.0 * 1024.0));
		snprintf(lim, sizeof(lim), "%d", d->connection_limit);
		cli_print(c, "%-24s %-28s %-30s %10s %6d %6s %8d\n", d->app, d->database, d->owner,
		          size, d->connections, d->connection_limit < 0 ? "-" : lim, d->previews);
	}
	if (!n)
		cli_print(c, "no app databases\n");
	cli_set_result(c, json_pack("{s:o}", "databases", arr));
	tl_pg_db_list_free(l);
	tl_pg_free(pg);
	return 0;
}

static int run_schema(cli *c)
{
	const char *pos[2] = {NULL, NULL}, *prs = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}};
	int rc = cli_parse(c, opts, 1, pos, 2, 2, NULL);
	if (rc)
		return rc;
	int create = !strcmp(pos[0], "create");
	if (!create && strcmp(pos[0], "drop"))
		return cli_usage(c, "unknown action '%s' (create or drop)", pos[0]);
	uint32_t pr = 0;
	if (!prs)
		return cli_usage(c, "--pr N is required");
	if (tl_parse_pr(&pr, prs) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	tl_pg_options o;
	base_opts(c, &o);
	tl_pg *pg = NULL;
	if ((rc = open_pg(c, &pg)))
		return rc;
	tl_pg_report *r = NULL;
	rc = create ? tl_pg_preview_create(&r, pg, pos[1], pr, &o)
	            : tl_pg_preview_drop(&r, pg, pos[1], pr, &o);
	if (rc != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		show_report(c, r);
		rc = 0;
	}
	tl_pg_report_free(r);
	tl_pg_free(pg);
	return rc;
}

static const cli_verb verbs[] = {
	{"create", "APP [--connection-limit N] [--standalone]",
	 "create the app's role and database (owned by the role, closed to others) and write "
	 "its DATABASE_URL into the app's env file; does nothing when they exist. APP must be "
	 "a registered app unless --standalone (a database no app destroy removes)",
	 "towlion db create shop", true, run_create},
	{"list", "", "list the apps' databases: owner, size, connections, previews",
	 "towlion db list --json", false, run_list},
	{"url", "APP [--pr N]",
	 "print the app's (or a preview's) DATABASE_URL, password included",
	 "towlion db url shop", false, run_url},
	{"rotate", "APP", "give the app's role a new password and write the new DATABASE_URL",
	 "towlion db rotate shop", true, run_rotate},
	{"drop", "APP --yes",
	 "drop the app's database (ending its sessions), its previews' roles and its role",
	 "towlion db drop shop --yes", true, run_drop},
	{"schema", "create|drop APP --pr N",
	 "create or drop a preview's schema pr_N and role in the app's database",
	 "towlion db schema create shop --pr 42", true, run_schema},
};

const cli_group cli_group_db = {"db", "the apps' databases in the shared PostgreSQL", verbs,
                                sizeof(verbs) / sizeof(verbs[0])};
