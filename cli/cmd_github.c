/* towlion github: a few GitHub calls for operators and workflows (the
 * token comes from TOWLION_GITHUB_TOKEN, the API from TOWLION_GITHUB_API). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (1u << 20)

static int parse_number(cli *c, const char *text, uint32_t *out)
{
	if (!text || tl_parse_pr(out, text) != TL_OK)
		return cli_usage(c, "a pull request number is 1..2147483648, not '%s'",
		                 text ? text : "");
	return 0;
}

/* The whole file ("-": standard input), at most BODY_MAX bytes. */
static char *read_body(cli *c, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		cli_error(c, EXIT_FAILED, "cannot read %s: %m", path);
		return NULL;
	}
	char *buf = malloc(BODY_MAX + 1);
	size_t n = buf ? fread(buf, 1, BODY_MAX + 1, f) : 0;
	bool err = !buf || ferror(f);
	if (f != stdin)
		fclose(f);
	if (err || n > BODY_MAX || memchr(buf, '\0', n)) {
		cli_error(c, EXIT_FAILED, "%s: %s", path,
		          err ? "cannot read it" : n > BODY_MAX ? "larger than 1 MiB" : "not text");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static tl_github *client(cli *c, int *rc)
{
	tl_ctx *ctx = cli_ctx(c);
	tl_github *gh = NULL;
	if (!ctx || tl_github_new(&gh, ctx, NULL) != TL_OK) {
		*rc = cli_fail(c, tl_error_last()->code);
		return NULL;
	}
	return gh;
}

static int run_pr(cli *c)
{
	const char *pos[2];
	uint32_t number = 0;
	int rc = cli_parse(c, NULL, 0, pos, 2, 2, NULL);
	if (rc || (rc = parse_number(c, pos[1], &number)))
		return rc;
	if (tl_github_validate_repo(pos[0]) != TL_OK)
		return cli_fail(c, TL_EINVALID);
	tl_github *gh = client(c, &rc);
	if (!gh)
		return rc;
	tl_github_pr *pr = NULL;
	if ((rc = tl_github_pr_get(&pr, gh, pos[0], number)) != TL_OK) {
		tl_github_free(gh);
		return cli_fail(c, rc);
	}
	cli_print(c, "%s#%u %s\n  head %s (%s) -> %s\n  %s\n  %s\n", pos[0], number,
	          tl_github_pr_state_name(pr), tl_github_pr_head_ref(pr), tl_github_pr_head_sha(pr),
	          tl_github_pr_base_ref(pr), tl_github_pr_title(pr), tl_github_pr_url(pr));
	cli_set_result(c, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "repo", pos[0],
	                            "number", (json_int_t)number, "state",
	                            tl_github_pr_state_name(pr), "head_sha",
	                            tl_github_pr_head_sha(pr), "head_ref", tl_github_pr_head_ref(pr),
	                            "base_ref", tl_github_pr_base_ref(pr), "title",
	                            tl_github_pr_title(pr), "url", tl_github_pr_url(pr)));
	tl_github_pr_free(pr);
	tl_github_free(gh);
	return 0;
}

static int run_comment(cli *c)
{
	const char *pos[1], *pr = NULL, *file = NULL, *text = NULL, *key = "comment";
	cli_opt opts[] = {{"--pr", true, &pr},
	                  {"--body-file", true, &file},
	                  {"--body", true, &text},
	                  {"--key", true, &key}};
	uint32_t number = 0;
	int rc = cli_parse(c, opts, 4, pos, 1, 1, NULL);
	if (rc)
		return rc;
	if (!pr)
		return cli_usage(c, "--pr N is required");
	if ((rc = parse_number(c, pr, &number)))
		return rc;
	if (!file == !text)
		return cli_usage(c, "give the body with exactly one of --body-file F and --body TEXT");
	tl_buf marker = TL_BUF_INIT;
	if (tl_github_validate_repo(pos[0]) != TL_OK || tl_github_marker(&marker, key) != TL_OK)
		return cli_fail(c, TL_EINVALID);
	char *body = file ? read_body(c, file) : strdup(text);
	if (!body) {
		tl_buf_dispose(&marker);
		return EXIT_FAILED;
	}
	tl_github *gh = client(c, &rc);
	tl_github_comment *cm = NULL;
	if (!gh) {
		/* rc is set */
	} else if (c->dry_run) {
		/* Read only: which comment would be edited, if any. */
		rc = tl_github_comment_find(&cm, gh, pos[0], number, key);
		if (rc == TL_OK || rc == TL_ENOTFOUND) {
			if (cm)
				cli_print(c, "would edit comment %lld on %s#%u (%s), marked %s\n",
				          (long long)tl_github_comment_id(cm), pos[0], number,
				          tl_github_comment_url(cm), marker.ptr);
			else
				cli_print(c, "would post a new comment on %s#%u, marked %s\n", pos[0],
				          number, marker.ptr);
			cli_print(c, "%s\n", body);
			cli_set_result(c, json_pack("{s:s, s:I, s:s, s:s, s:o, s:s, s:b}", "repo", pos[0],
			                            "number", (json_int_t)number, "key", key, "action",
			                            cm ? "edit" : "create", "comment_id",
			                            cm ? json_integer(tl_github_comment_id(cm)) : json_null(),
			                            "body", body, "dry_run", 1));
			rc = 0;
		} else {
			rc = cli_fail(c, rc);
		}
	} else if ((rc = tl_github_comment_upsert(&cm, gh, pos[0], number, key, body)) != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		int created = tl_github_comment_created(cm);
		cli_print(c, "%s comment %lld on %s#%u: %s\n", created ? "posted" : "edited",
		          (long long)tl_github_comment_id(cm), pos[0], number, tl_github_comment_url(cm));
		cli_set_result(c, json_pack("{s:s, s:I, s:s, s:s, s:I, s:s}", "repo", pos[0], "number",
		                            (json_int_t)number, "key", key, "action",
		                            created ? "created" : "edited", "comment_id",
		                            (json_int_t)tl_github_comment_id(cm), "url",
		                            tl_github_comment_url(cm)));
	}
	tl_github_comment_free(cm);
	tl_github_free(gh);
	tl_buf_dispose(&marker);
	free(body);
	return rc;
}

static const cli_verb verbs[] = {
	{"comment", "OWNER/REPO --pr N (--body-file F | --body TEXT) [--key KEY]",
	 "create or edit THE comment of KEY (default \"comment\") on a pull request: one "
	 "comment per key, found by a hidden marker and edited in place",
	 "towlion github comment acme/web --pr 12 --key deploy --body-file summary.md", true,
	 run_comment},
	{"pr", "OWNER/REPO N", "show a pull request's state (open, closed, merged) and head",
	 "towlion github pr acme/web 12 --json", false, run_pr},
};

const cli_group cli_group_github = {"github", "pull request comments and state on GitHub",
                                    verbs, 2};
