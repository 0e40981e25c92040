/* The state of a pull request: open, closed or merged, and its head. */
#include "github_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"open", "closed", "merged"};

uint32_t tl_github_pr_number(const tl_github_pr *pr)
{
	return pr ? pr->number : 0;
}

int tl_github_pr_state_get(const tl_github_pr *pr)
{
	return pr ? pr->state : -1;
}

const char *tl_github_pr_state_name(const tl_github_pr *pr)
{
	return pr ? state_names[pr->state] : "";
}

#define PR_STRING(fn, field)                      \
	const char *fn(const tl_github_pr *pr)        \
	{                                             \
		return pr && pr->field ? pr->field : ""; \
	}
PR_STRING(tl_github_pr_head_sha, head_sha)
PR_STRING(tl_github_pr_head_ref, head_ref)
PR_STRING(tl_github_pr_base_ref, base_ref)
PR_STRING(tl_github_pr_title, title)
PR_STRING(tl_github_pr_url, url)

void tl_github_pr_free(tl_github_pr *pr)
{
	if (!pr)
		return;
	free(pr->head_sha);
	free(pr->head_ref);
	free(pr->base_ref);
	free(pr->title);
	free(pr->url);
	free(pr);
}

int tl_github_pr_get(tl_github_pr **out, tl_github *gh, const char *repo, uint32_t number)
{
	TL__CHECK_ARG(out);
	int rc = tl__github_check_common(gh, repo);
	if (rc)
		return rc;
	if (tl_validate_pr(number) != TL_OK)
		return TL_EINVALID;
	char *path = tl__sprintf("/repos/%s/pulls/%u", repo, number);
	char *what = tl__sprintf("read pull request %s#%u", repo, number);
	tl__github_answer a = {0};
	rc = path && what ? tl__github_call(gh, &a, "GET", path, NULL, NULL, what) : TL_ENOMEM;
	json_t *j = a.json;
	const char *state = rc ? "" : tl__github_str(j, "state");
	if (rc == TL_OK && strcmp(state, "open") != 0 && strcmp(state, "closed") != 0)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
		                   "cannot %s: GitHub answered state \"%.40s\"", what, state);
	tl_github_pr *pr = rc ? NULL : tl__calloc(1, sizeof(*pr));
	if (rc == TL_OK && !pr)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		json_t *head = json_object_get(j, "head"), *base = json_object_get(j, "base");
		pr->number = number;
		/* A merged PR is closed with merged=true (merged_at set). */
		pr->state = !strcmp(state, "open") ? TL_GITHUB_PR_OPEN
		            : json_is_true(json_object_get(j, "merged")) ||
		                      json_is_string(json_object_get(j, "merged_at"))
		                ? TL_GITHUB_PR_MERGED
		                : TL_GITHUB_PR_CLOSED;
		pr->head_sha = tl__github_dup(head, "sha");
		pr->head_ref = tl__github_dup(head, "ref");
		pr->base_ref = tl__github_dup(base, "ref");
		pr->title = tl__github_dup(j, "title");
		pr->url = tl__github_dup(j, "html_url");
		if (!pr->head_sha || !pr->head_ref || !pr->base_ref || !pr->title || !pr->url)
			rc = TL_ENOMEM;
	}
	if (rc == TL_OK)
		*out = pr;
	else
		tl_github_pr_free(pr);
	tl__github_answer_dispose(&a);
	free(path);
	free(what);
	return rc;
}
