/* towlion preview: pull request environments. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *preview_json(const tl_preview *p)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "app",
	                 tl_preview_app(p), "pr", (json_int_t)tl_preview_pr(p), "source",
	                 tl_preview_source(p), "commit", tl_preview_commit(p), "release",
	                 tl_preview_release(p), "url", tl_preview_url(p), "repo",
	                 tl_preview_repo(p), "created", (json_int_t)tl_preview_created(p),
	                 "updated", (json_int_t)tl_preview_updated(p), "comment_url",
	                 tl_preview_comment_url(p));
}

static int get_pr(cli *c, const char *text, uint32_t *pr)
{
	if (!text)
		return cli_usage(c, "--pr N is required");
	if (tl_parse_pr(pr, text) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	return 0;
}

static int run_up(cli *c)
{
	const char *pos[1], *prs = NULL, *git = NULL, *ref = NULL, *path = NULL, *repo = NULL,
	                    *timeout = NULL;
	cli_opt opts[] = {{"--pr", true, &prs},     {"--git", true, &git},
	                  {"--ref", true, &ref},    {"--path", true, &path},
	                  {"--repo", true, &repo},  {"--timeout", true, &timeout}};
	int rc = cli_parse(c, opts, 6, pos, 1, 1, NULL);
	uint32_t pr = 0;
	if (rc || (rc = get_pr(c, prs, &pr)))
		return rc;
	if (!path == !git)
		return cli_usage(c, "give --git URL --ref REF, or --path DIR");
	if (git && !ref)
		return cli_usage(c, "--git needs --ref (e.g. refs/pull/%u/head)", pr);
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (c->dry_run) {
		cli_print(c, "would bring up the preview of %s PR %u at pr-%u.preview.%s.%s from %s\n",
		          pos[0], pr, pr, pos[0], tl_ctx_config_get(ctx, "TOWLION_PREVIEW_DOMAIN"),
		          git ? git : path);
		cli_set_result(c, json_pack("{s:b, s:s, s:I}", "dry_run", 1, "app", pos[0], "pr",
		                            (json_int_t)pr));
		return 0;
	}
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	o.git_url = git;
	o.git_ref = ref;
	o.path = path;
	o.repo = repo;
	uint64_t timeout_ms = 0;
	if ((rc = cli_opt_duration_ms(c, &timeout_ms, "--timeout", timeout, 1000, 1000,
	                              86400000)))
		return rc;
	o.health_timeout_ms = (long)timeout_ms;
	tl_preview *p = NULL;
	if ((rc = tl_preview_up(&p, ctx, pos[0], pr, &o)))
		return cli_fail(c, rc);
	cli_print(c, "preview of %s PR %u is live at %s\n", pos[0], pr, tl_preview_url(p));
	cli_set_result(c, preview_json(p));
	tl_preview_free(p);
	return 0;
}

static int run_down(cli *c)
{
	const char *pos[1], *prs = NULL, *repo = NULL;
	cli_opt opts[] = {{"--pr", true, &prs}, {"--repo", true, &repo}};
	int rc = cli_parse(c, opts, 2, pos, 1, 1, NULL);
	uint32_t pr = 0;
	if (rc || (rc = get_pr(c, prs, &pr)))
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (c->dry_run) {
		cli_print(c, "would remove the preview of %s PR %u (containers, images, route, "
		             "schema, role, Redis user, checkout)\n",
		          pos[0], pr);
		cli_set_result(c, json_pack("{s:b, s:s, s:I}", "dry_run", 1, "app", pos[0], "pr",
		                            (json_int_t)pr));
		return 0;
	}
	tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
	o.repo = repo;
	int existed = 0;
	if ((rc = tl_preview_down(&existed, ctx, pos[0], pr, &o)))
		return cli_fail(c, rc);
	cli_print(c, existed ? "preview of %s PR %u removed\n"
	                     : "%s PR %u had no preview; nothing to do\n",
	          pos[0], pr);
	cli_set_result(c, json_pack("{s:s, s:I, s:b}", "app", pos[0], "pr", (json_int_t)pr,
	                            "existed", existed));
	return 0;
}

static int run_list(cli *c)
{
	const char *pos[1];
	size_t npos = 0;
	int rc = cli_parse(c, NULL, 0, pos, 0, 1, &npos);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_preview_list *l = NULL;
	if ((rc = tl_preview_list_load(&l, ctx, npos ? pos[0] : NULL)))
		return cli_fail(c, rc);
	json_t *arr = json_array();
	if (!tl_preview_list_count(l))
		cli_print(c, "no previews\n");
	else
		cli_print(c, "%-16s %-6s %-8s %-40s %s\n", "APP", "PR", "AGE", "URL", "SOURCE");
	time_t now = time(NULL);
	for (size_t i = 0; i < tl_preview_list_count(l); i++) {
		const tl_preview *p = tl_preview_list_at(l, i);
		long age = (long)(now - tl_preview_created(p));
		char a[32];
		if (age < 3600)
			snprintf(a, sizeof(a), "%ldm", age / 60);
		else if (age < 86400)
			snprintf(a, sizeof(a), "%ldh", age / 3600);
		else
			snprintf(a, sizeof(a), "%ldd", age / 86400);
		cli_print(c, "%-16s %-6u %-8s %-40s %s\n", tl_preview_app(p), tl_preview_pr(p), a,
		          tl_preview_url(p), tl_preview_source(p));
		json_array_append_new(arr, preview_json(p));
	}
	cli_set_result(c, json_pack("{s:o}", "previews", arr));
	tl_preview_list_free(l);
	return 0;
}

static int run_gc(cli *c)
{
	const char *days = NULL, *no_github = NULL;
	cli_opt opts[] = {{"--older-than", true, &days}, {"--no-github", false, &no_github}};
	int rc = cli_parse(c, opts, 2, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_preview_gc_options o = TL_PREVIEW_GC_OPTIONS_INIT;
	if ((rc = cli_opt_int(c, &o.older_than_days, "--older-than (days)", days, 1, 36500)))
		return rc;
	o.check_github = !no_github;
	o.dry_run = c->dry_run;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_buf removed = TL_BUF_INIT;
	if ((rc = tl_preview_gc(&removed, ctx, &o)))
		return cli_fail(c, rc);
	json_t *arr = json_array();
	for (char *s = removed.ptr, *nl; s && *s; s = nl + 1) {
		nl = strchr(s, '\n');
		json_array_append_new(arr, json_stringn(s, (size_t)(nl - s)));
		cli_print(c, "%s %.*s\n", c->dry_run ? "would remove" : "removed", (int)(nl - s), s);
	}
	if (!removed.size)
		cli_print(c, "no stale previews\n");
	cli_set_result(c, json_pack("{s:b, s:o}", "dry_run", c->dry_run, "removed", arr));
	tl_buf_dispose(&removed);
	return 0;
}

static const cli_verb verbs[] = {
	{"up", "APP --pr N (--git URL --ref REF | --path DIR) [--repo OWNER/NAME] [--timeout S]",
	 "create or update the preview of a pull request",
	 "towlion preview up shop --pr 7 --git https://github.com/acme/shop.git --ref "
	 "refs/pull/7/head --repo acme/shop",
	 true, run_up},
	{"down", "APP --pr N [--repo OWNER/NAME]", "remove a pull request's preview",
	 "towlion preview down shop --pr 7", true, run_down},
	{"list", "[APP]", "list previews with their URL, age and source", "towlion preview list",
	 false, run_list},
	{"gc", "[--older-than DAYS] [--no-github]",
	 "remove previews of closed pull requests (asks GitHub) and old ones",
	 "towlion preview gc --older-than 7", true, run_gc},
};

const cli_group cli_group_preview = {"preview", "pull request environments", verbs,
                                     sizeof(verbs) / sizeof(verbs[0])};
