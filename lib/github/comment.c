/* Comments on pull requests and issues, and the one marked comment per PR
 * that is found page by page and edited in place. */
#include "github_internal.h"

#include <stdlib.h>
#include <string.h>

int64_t tl_github_comment_id(const tl_github_comment *c)
{
	return c ? c->id : 0;
}

const char *tl_github_comment_url(const tl_github_comment *c)
{
	return c && c->url ? c->url : "";
}

const char *tl_github_comment_body(const tl_github_comment *c)
{
	return c && c->body ? c->body : "";
}

int tl_github_comment_created(const tl_github_comment *c)
{
	return c ? c->created : 0;
}

void tl_github_comment_free(tl_github_comment *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->body);
	free(c);
}

int tl__github_comment_from_json(tl_github_comment **out, json_t *j, int created)
{
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	if (!json_is_object(j) || id <= 0)
		return tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
		                     "GitHub answered a comment without an id");
	tl_github_comment *c = tl__calloc(1, sizeof(*c));
	if (!c)
		return TL_ENOMEM;
	c->id = (int64_t)id;
	c->created = created;
	c->url = tl__github_dup(j, "html_url");
	c->body = tl__github_dup(j, "body");
	if (!c->url || !c->body) {
		tl_github_comment_free(c);
		return TL_ENOMEM;
	}
	*out = c;
	return TL_OK;
}

/* Hand the comment to the caller, or free it when out is NULL. */
static void give(tl_github_comment **out, tl_github_comment *c)
{
	if (out)
		*out = c;
	else
		tl_github_comment_free(c);
}

static int check_number(uint32_t number)
{
	if (tl_validate_pr(number) != TL_OK) {
		tl__error_prefix("pull request or issue number");
		return TL_EINVALID;
	}
	return TL_OK;
}

/* Walk the comments of repo#number for the first whose body starts with
 * `marker` AND whose author is the token's own user (self.c: anyone can
 * write a marked comment): TL_OK with *found set, or NULL when there is
 * none. */
static int find_marked(tl_github_comment **found, tl_github *gh, const char *repo,
                       uint32_t number, const char *marker, const char *what)
{
	int rc = tl__github_self(gh);
	if (rc)
		return rc;
	tl_buf path = TL_BUF_INIT;
	rc = tl__buf_printf(&path, "/repos/%s/issues/%u/comments?per_page=%u", repo, number,
	                    gh->per_page);
	tl_buf next = TL_BUF_INIT;
	int pages = 0;
	tl_github_comment *hit = NULL;
	while (rc == TL_OK && !hit) {
		if (++pages > GH_PAGES_MAX) {
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                   "cannot %s: more than %d pages of comments", what,
			                   GH_PAGES_MAX);
			break;
		}
		tl__github_answer a;
		rc = tl__github_call(gh, &a, "GET", path.ptr, next.size ? next.ptr : NULL, NULL, what);
		if (rc)
			break;
		if (!json_is_array(a.json)) {
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                   "cannot %s: GitHub answered something else than a list", what);
		} else {
			size_t i;
			json_t *item;
			json_array_foreach(a.json, i, item) {
				if (tl__github_body_has_marker(tl__github_str(item, "body"), marker) &&
				    tl__github_authored_by_self(gh, item)) {
					rc = tl__github_comment_from_json(&hit, item, 0);
					break;
				}
			}
		}
		bool more = a.next.size > 0;
		if (rc == TL_OK && more)
			rc = tl__buf_set(&next, a.next.ptr, a.next.size);
		tl__github_answer_dispose(&a);
		if (!more)
			break;
	}
	tl_buf_dispose(&path);
	tl_buf_dispose(&next);
	if (rc == TL_OK)
		*found = hit;
	else
		tl_github_comment_free(hit);
	return rc;
}

int tl_github_comment_find(tl_github_comment **out, tl_github *gh, const char *repo,
                           uint32_t number, const char *key)
{
	TL__CHECK_ARG(out);
	int rc = tl__github_check_common(gh, repo);
	tl_buf marker = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = check_number(number);
	if (rc == TL_OK)
		rc = tl_github_marker(&marker, key);
	char *what = rc ? NULL : tl__sprintf("find the comment %s on %s#%u", key, repo, number);
	if (rc == TL_OK && !what)
		rc = TL_ENOMEM;
	tl_github_comment *hit = NULL;
	if (rc == TL_OK)
		rc = find_marked(&hit, gh, repo, number, marker.ptr, what);
	if (rc == TL_OK && !hit)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_GITHUB,
		                   "%s#%u has no comment marked %s", repo, number, marker.ptr);
	if (rc == TL_OK)
		*out = hit;
	free(what);
	tl_buf_dispose(&marker);
	return rc;
}

static int post(tl_github_comment **out, tl_github *gh, const char *repo, uint32_t number,
                const char *text)
{
	char *path = tl__sprintf("/repos/%s/issues/%u/comments", repo, number);
	char *what = tl__sprintf("post a comment on %s#%u", repo, number);
	json_t *body = json_pack("{s:s}", "body", text);
	int rc = path && what && body ? TL_OK : tl__error_oom();
	tl__github_answer a = {0};
	if (rc == TL_OK)
		rc = tl__github_call(gh, &a, "POST", path, NULL, body, what);
	tl_github_comment *c = NULL;
	if (rc == TL_OK)
		rc = tl__github_comment_from_json(&c, a.json, 1);
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_INFO, "posted comment %lld on %s#%u", (long long)c->id, repo,
		        number);
		give(out, c);
	}
	tl__github_answer_dispose(&a);
	json_decref(body);
	free(path);
	free(what);
	return rc;
}

static int patch(tl_github_comment **out, tl_github *gh, const char *repo, int64_t id,
                 const char *text)
{
	char *path = tl__sprintf("/repos/%s/issues/comments/%lld", repo, (long long)id);
	char *what = tl__sprintf("edit comment %lld on %s", (long long)id, repo);
	json_t *body = json_pack("{s:s}", "body", text);
	int rc = path && what && body ? TL_OK : tl__error_oom();
	tl__github_answer a = {0};
	if (rc == TL_OK)
		rc = tl__github_call(gh, &a, "PATCH", path, NULL, body, what);
	tl_github_comment *c = NULL;
	if (rc == TL_OK)
		rc = tl__github_comment_from_json(&c, a.json, 0);
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_INFO, "edited comment %lld on %s", (long long)id, repo);
		give(out, c);
	}
	tl__github_answer_dispose(&a);
	json_decref(body);
	free(path);
	free(what);
	return rc;
}

int tl_github_comment_create(tl_github_comment **out, tl_github *gh, const char *repo,
                             uint32_t number, const char *body)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc == TL_OK)
		rc = check_number(number);
	if (rc)
		return rc;
	TL__CHECK_ARG(body && *body);
	return post(out, gh, repo, number, body);
}

int tl_github_comment_edit(tl_github_comment **out, tl_github *gh, const char *repo,
                           int64_t id, const char *body)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc)
		return rc;
	TL__CHECK_ARG(id > 0 && body && *body);
	return patch(out, gh, repo, id, body);
}

int tl_github_comment_delete(tl_github *gh, const char *repo, int64_t id)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc)
		return rc;
	TL__CHECK_ARG(id > 0);
	char *path = tl__sprintf("/repos/%s/issues/comments/%lld", repo, (long long)id);
	char *what = tl__sprintf("delete comment %lld on %s", (long long)id, repo);
	rc = path && what ? TL_OK : tl__error_oom();
	tl__github_answer a = {0};
	if (rc == TL_OK)
		rc = tl__github_call(gh, &a, "DELETE", path, NULL, NULL, what);
	if (rc == TL_OK)
		tl__log(gh->ctx, TL_LOG_INFO, "deleted comment %lld on %s", (long long)id, repo);
	tl__github_answer_dispose(&a);
	free(path);
	free(what);
	return rc;
}

int tl_github_comment_upsert(tl_github_comment **out, tl_github *gh, const char *repo,
                             uint32_t number, const char *key, const char *body)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc == TL_OK)
		rc = check_number(number);
	if (rc)
		return rc;
	TL__CHECK_ARG(body);
	tl_buf marker = TL_BUF_INIT, text = TL_BUF_INIT;
	rc = tl_github_marker(&marker, key);
	if (rc == TL_OK)
		rc = tl__github_marked_body(&text, key, body);
	tl_github_comment *old = NULL;
	if (rc == TL_OK) {
		char *what = tl__sprintf("find the comment %s on %s#%u", key, repo, number);
		rc = what ? find_marked(&old, gh, repo, number, marker.ptr, what) : TL_ENOMEM;
		free(what);
	}
	if (rc == TL_OK && old)
		rc = patch(out, gh, repo, old->id, text.ptr);
	else if (rc == TL_OK)
		rc = post(out, gh, repo, number, text.ptr);
	tl_github_comment_free(old);
	tl_buf_dispose(&marker);
	tl_buf_dispose(&text);
	return rc;
}
