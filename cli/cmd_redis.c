/* towlion redis: the apps' ACL users and key prefixes in the shared Redis. */
#include "cli.h"

#include <string.h>

static int open_redis(cli *c, tl_redis **r)
{
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	int rc = tl_redis_connect(r, ctx);
	return rc ? cli_fail(c, rc) : 0;
}

static int parse_pr(cli *c, const char *prs, uint32_t *pr)
{
	*pr = 0;
	if (prs && tl_parse_pr(pr, prs) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	return 0;
}

static void show_report(cli *c, const char *app, uint32_t pr, const tl_redis_report *r)
{
	size_t n = tl_redis_report_action_count(r);
	int dry = tl_redis_report_dry_run(r);
	json_t *actions = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(actions, json_string(tl_redis_report_action(r, i)));
	cli_set_result(c, json_pack("{s:s, s:i, s:s, s:s, s:s, s:b, s:I, s:o}", "app", app, "pr",
	                            (int)pr, "user", tl_redis_report_user(r), "prefix",
	                            tl_redis_report_prefix(r), "env_file",
	                            tl_redis_report_env_path(r), "dry_run", dry, "keys_deleted",
	                            (json_int_t)tl_redis_report_keys_deleted(r), "actions",
	                            actions));
	if (dry)
		cli_print(c, "plan (--dry-run: nothing was changed):\n");
	for (size_t i = 0; i < n && (dry || !c->tty || c->quiet); i++)
		cli_print(c, "  %s%s\n", dry ? "would " : "", tl_redis_report_action(r, i));
	if (!n)
		cli_print(c, "nothing to do: everything is in place\n");
	cli_print(c, "Redis user %s, keys and channels %s*, env file %s\n",
	          tl_redis_report_user(r), tl_redis_report_prefix(r), tl_redis_report_env_path(r));
}

typedef int (*op_fn)(tl_redis_report **, tl_redis *, const char *, uint32_t,
                     const tl_redis_options *);

static int run_op(cli *c, op_fn fn, const char *app, uint32_t pr, unsigned int flags)
{
	tl_redis_options o;
	tl_redis_options_init(&o, TL_REDIS_OPTIONS_VERSION);
	o.flags = flags | (c->dry_run ? TL_REDIS_DRY_RUN : 0);
	tl_redis *r = NULL;
	int rc = open_redis(c, &r);
	if (rc)
		return rc;
	tl_redis_report *rep = NULL;
	if ((rc = fn(&rep, r, app, pr, &o)) != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		show_report(c, app, pr, rep);
		rc = 0;
	}
	tl_redis_report_free(rep);
	tl_redis_free(r);
	return rc;
}

static int run_create(cli *c)
{
	const char *app = NULL, *prs = NULL, *rotate = NULL, *standalone = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}, {"--rotate", false, &rotate},
	                  {"--standalone", false, &standalone}};
	int rc = cli_parse(c, opts, 3, &app, 1, 1, NULL);
	uint32_t pr = 0;
	if (rc || (rc = parse_pr(c, prs, &pr)))
		return rc;
	return run_op(c, tl_redis_create, app, pr,
	              (rotate ? TL_REDIS_ROTATE : 0) |
	                  (standalone ? 0 : TL_REDIS_REGISTERED_ONLY));
}

static int run_drop(cli *c)
{
	const char *app = NULL, *prs = NULL, *purge = NULL, *yes = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}, {"--purge", false, &purge}, {"--yes", false, &yes}};
	int rc = cli_parse(c, opts, 3, &app, 1, 1, NULL);
	uint32_t pr = 0;
	if (rc || (rc = parse_pr(c, prs, &pr)))
		return rc;
	if (purge && !yes && !c->dry_run)
		return cli_usage(c, "--purge deletes every key of %s: add --yes to confirm", app);
	return run_op(c, tl_redis_drop, app, pr, purge ? TL_REDIS_PURGE : 0);
}

static int run_stats(cli *c)
{
	const char *app = NULL, *prs = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}};
	int rc = cli_parse(c, opts, 1, &app, 1, 1, NULL);
	uint32_t pr = 0;
	if (rc || (rc = parse_pr(c, prs, &pr)))
		return rc;
	tl_redis *r = NULL;
	if ((rc = open_redis(c, &r)))
		return rc;
	tl_redis_stats *s = NULL;
	if ((rc = tl_redis_stats_get(&s, r, app, pr)) != TL_OK) {
		rc = cli_fail(c, rc);
		tl_redis_free(r);
		return rc;
	}
	json_t *queues = json_array();
	size_t n = tl_redis_stats_queue_count(s);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(queues, json_pack("{s:s, s:I}", "name",
		                                        tl_redis_stats_queue_name(s, i), "length",
		                                        (json_int_t)tl_redis_stats_queue_length(s, i)));
	cli_set_result(c, json_pack("{s:s, s:i, s:b, s:I, s:I, s:I, s:I, s:o}", "app", app, "pr",
	                            (int)pr, "user_exists", tl_redis_stats_user_exists(s),
	                            "used_memory", (json_int_t)tl_redis_stats_used_memory(s),
	                            "connected_clients",
	                            (json_int_t)tl_redis_stats_connected_clients(s), "app_clients",
	                            (json_int_t)tl_redis_stats_app_clients(s), "app_keys",
	                            (json_int_t)tl_redis_stats_app_keys(s), "queues", queues));
	cli_print(c, "server: %.1f MiB used, %llu clients (Redis %s)\n",
	          (double)tl_redis_stats_used_memory(s) / (1024.0 * 1024.0),
	          (unsigned long long)tl_redis_stats_connected_clients(s),
	          tl_redis_server_version(r));
	cli_print(c, "%s: user %s, %llu clients, %llu keys\n", app,
	          tl_redis_stats_user_exists(s) ? "present" : "missing",
	          (unsigned long long)tl_redis_stats_app_clients(s),
	          (unsigned long long)tl_redis_stats_app_keys(s));
	if (n)
		cli_print(c, "%-32s %10s\n", "QUEUE", "LENGTH");
	for (size_t i = 0; i < n; i++)
		cli_print(c, "%-32s %10llu\n", tl_redis_stats_queue_name(s, i),
		          (unsigned long long)tl_redis_stats_queue_length(s, i));
	tl_redis_stats_free(s);
	tl_redis_free(r);
	return 0;
}

static const cli_verb verbs[] = {
	{"create", "APP [--pr N] [--rotate] [--standalone]",
	 "create the app's (or preview's) ACL user, limited to keys and channels under "
	 "APP: (or APP-pr-N:), and write REDIS_URL and REDIS_KEY_PREFIX into its env file; "
	 "keeps an existing password unless --rotate. APP must be a registered app unless "
	 "--standalone",
	 "towlion redis create shop", true, run_create},
	{"drop", "APP [--pr N] [--purge --yes]",
	 "delete the ACL user (disconnecting its clients) and the env file keys; the data "
	 "stays unless --purge",
	 "towlion redis drop shop --pr 42 --purge --yes", true, run_drop},
	{"stats", "APP [--pr N]",
	 "memory and clients of the server; the app's clients, keys and Celery queue lengths",
	 "towlion redis stats shop --json", false, run_stats},
};

const cli_group cli_group_redis = {"redis", "the apps' users and key prefixes in the shared Redis",
                                   verbs, sizeof(verbs) / sizeof(verbs[0])};
