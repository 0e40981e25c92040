/* Issues found by a marker and a label: one open issue per alert, opened,
 * updated in place and closed when the alert clears. */
#include "github_internal.h"

#include <stdlib.h>
#include <string.h>

uint32_t tl_github_issue_number(const tl_github_issue *i)
{
	return i ? i->number : 0;
}

#define ISSUE_STRING(fn, field)                 \
	const char *fn(const tl_github_issue *i)    \
	{                                           \
		return i && i->field ? i->field : "";  \
	}
ISSUE_STRING(tl_github_issue_state, state)
ISSUE_STRING(tl_github_issue_title, title)
ISSUE_STRING(tl_github_issue_body, body)
ISSUE_STRING(tl_github_issue_url, url)

int tl_github_issue_action(const tl_github_issue *i)
{
	return i ? i->action : -1;
}

void tl_github_issue_free(tl_github_issue *i)
{
	if (!i)
		return;
	free(i->state);
	free(i->title);
	free(i->body);
	free(i->url);
	free(i);
}

int tl__github_issue_from_json(tl_github_issue **out, json_t *j, int action)
{
	json_int_t n = json_integer_value(json_object_get(j, "number"));
	if (!json_is_object(j) || n <= 0 || n > (json_int_t)TL_PR_MAX)
		return tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
		                     "GitHub answered an issue without a valid number");
	tl_github_issue *i = tl__calloc(1, sizeof(*i));
	if (!i)
		return TL_ENOMEM;
	i->number = (uint32_t)n;
	i->action = action;
	i->state = tl__github_dup(j, "state");
	i->title = tl__github_dup(j, "title");
	i->body = tl__github_dup(j, "body"); /* null body: "" */
	i->url = tl__github_dup(j, "html_url");
	if (!i->state || !i->title || !i->body || !i->url) {
		tl_github_issue_free(i);
		return TL_ENOMEM;
	}
	*out = i;
	return TL_OK;
}

static void give(tl_github_issue **out, tl_github_issue *i)
{
	if (out)
		*out = i;
	else
		tl_github_issue_free(i);
}

static int check_args(tl_github *gh, const char *repo, const char *label, const char *key)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc == TL_OK && label)
		rc = tl__github_validate_label(label);
	tl_buf m = TL_BUF_INIT;
	if (rc == TL_OK && key)
		rc = tl_github_marker(&m, key);
	tl_buf_dispose(&m);
	return rc;
}

static int check_title(const char *title)
{
	if (!title || !*title || strlen(title) > 256 || strchr(title, '\n'))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "an issue title is 1..256 characters on one line");
	return TL_OK;
}

/* The first open issue (not PR) with `label` whose body starts with the
 * marker of `key`; *found is NULL when there is none. */
static int find_open(tl_github_issue **found, tl_github *gh, const char *repo,
                     const char *label, const char *key)
{
	tl_buf marker = TL_BUF_INIT, path = TL_BUF_INIT, enc = TL_BUF_INIT, next = TL_BUF_INIT;
	int rc = tl_github_marker(&marker, key);
	if (rc == TL_OK)
		rc = tl__buf_printf(&path, "/repos/%s/issues?state=open&per_page=%u", repo,
		                    gh->per_page);
	if (rc == TL_OK && label) {
		/* Percent-encode by hand: labels may hold spaces and ':'. */
		for (const unsigned char *p = (const unsigned char *)label; rc == TL_OK && *p; p++)
			rc = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			             (*p >= '0' && *p <= '9') || strchr("-._~", *p)
			         ? tl__buf_putc(&enc, (char)*p)
			         : tl__buf_printf(&enc, "%%%02X", *p);
		if (rc == TL_OK)
			rc = tl__buf_printf(&path, "&labels=%s", enc.ptr);
	}
	char *what = rc ? NULL : tl__sprintf("look for the open issue %s on %s", key, repo);
	if (rc == TL_OK && !what)
		rc = TL_ENOMEM;
	tl_github_issue *hit = NULL;
	for (int pages = 0; rc == TL_OK && !hit;) {
		if (++pages > GH_PAGES_MAX) {
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB, "cannot %s: more than %d pages",
			                   what, GH_PAGES_MAX);
			break;
		}
		tl__github_answer a;
		rc = tl__github_call(gh, &a, "GET", path.ptr, next.size ? next.ptr : NULL, NULL, what);
		if (rc)
			break;
		if (!json_is_array(a.json))
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                   "cannot %s: GitHub answered something else than a list", what);
		size_t i;
		json_t *item;
		json_array_foreach(a.json, i, item) {
			if (rc || hit)
				break;
			/* The issues list holds pull requests too. */
			if (json_object_get(item, "pull_request") ||
			    strcmp(tl__github_str(item, "state"), "open") != 0)
				continue;
			if (tl__github_body_has_marker(tl__github_str(item, "body"), marker.ptr))
				rc = tl__github_issue_from_json(&hit, item, TL_GITHUB_FOUND);
		}
		bool more = a.next.size > 0;
		if (rc == TL_OK && more)
			rc = tl__buf_set(&next, a.next.ptr, a.next.size);
		tl__github_answer_dispose(&a);
		if (!more)
			break;
	}
	free(what);
	tl_buf_dispose(&marker);
	tl_buf_dispose(&path);
	tl_buf_dispose(&enc);
	tl_buf_dispose(&next);
	if (rc == TL_OK)
		*found = hit;
	else
		tl_github_issue_free(hit);
	return rc;
}

int tl_github_issue_find(tl_github_issue **out, tl_github *gh, const char *repo,
                         const char *label, const char *key)
{
	TL__CHECK_ARG(out);
	int rc = check_args(gh, repo, label, key);
	if (rc)
		return rc;
	TL__CHECK_ARG(key);
	tl_github_issue *hit = NULL;
	if ((rc = find_open(&hit, gh, repo, label, key)) != TL_OK)
		return rc;
	if (!hit)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_GITHUB,
		                     "%s has no open issue marked %s%s%s", repo, key,
		                     label ? " with label " : "", label ? label : "");
	*out = hit;
	return TL_OK;
}

/* POST or PATCH an issue with `doc` (borrowed); the answer becomes *out. */
static int send(tl_github_issue **out, tl_github *gh, const char *method, const char *path,
                json_t *doc, const char *what, int action)
{
	tl__github_answer a = {0};
	int rc = doc ? tl__github_call(gh, &a, method, path, NULL, doc, what) : tl__error_oom();
	tl_github_issue *i = NULL;
	if (rc == TL_OK)
		rc = tl__github_issue_from_json(&i, a.json, action);
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_INFO, "%s: %s", what, i->url);
		give(out, i);
	}
	tl__github_answer_dispose(&a);
	return rc;
}

int tl_github_issue_create(tl_github_issue **out, tl_github *gh, const char *repo,
                           const char *label, const char *key, const char *title,
                           const char *body)
{
	int rc = check_args(gh, repo, label, key);
	if (rc == TL_OK)
		rc = check_title(title);
	if (rc)
		return rc;
	TL__CHECK_ARG(key && body);
	tl_buf text = TL_BUF_INIT;
	rc = tl__github_marked_body(&text, key, body);
	json_t *doc = rc ? NULL : json_pack("{s:s, s:s}", "title", title, "body", text.ptr);
	if (doc && label)
		json_object_set_new(doc, "labels", json_pack("[s]", label));
	char *path = tl__sprintf("/repos/%s/issues", repo);
	char *what = tl__sprintf("open the issue %s on %s", key, repo);
	if (rc == TL_OK)
		rc = path && what ? send(out, gh, "POST", path, doc, what, TL_GITHUB_CREATED)
		                  : TL_ENOMEM;
	json_decref(doc);
	free(path);
	free(what);
	tl_buf_dispose(&text);
	return rc;
}

int tl_github_issue_update(tl_github_issue **out, tl_github *gh, const char *repo,
                           uint32_t number, const char *key, const char *title,
                           const char *body)
{
	int rc = check_args(gh, repo, NULL, key);
	if (rc == TL_OK && title)
		rc = check_title(title);
	if (rc == TL_OK && tl_validate_pr(number) != TL_OK)
		rc = TL_EINVALID;
	if (rc)
		return rc;
	TL__CHECK_ARG(!body || key);
	tl_buf text = TL_BUF_INIT;
	json_t *doc = json_object();
	if (body && (rc = tl__github_marked_body(&text, key, body)) == TL_OK && doc)
		json_object_set_new(doc, "body", json_string(text.ptr));
	if (title && doc)
		json_object_set_new(doc, "title", json_string(title));
	char *path = tl__sprintf("/repos/%s/issues/%u", repo, number);
	char *what = tl__sprintf("update issue %s#%u", repo, number);
	if (rc == TL_OK)
		rc = path && what ? send(out, gh, "PATCH", path, doc, what, TL_GITHUB_UPDATED)
		                  : TL_ENOMEM;
	json_decref(doc);
	free(path);
	free(what);
	tl_buf_dispose(&text);
	return rc;
}

int tl_github_issue_upsert(tl_github_issue **out, tl_github *gh, const char *repo,
                           const char *label, const char *key, const char *title,
                           const char *body)
{
	int rc = check_args(gh, repo, label, key);
	if (rc == TL_OK)
		rc = check_title(title);
	if (rc)
		return rc;
	TL__CHECK_ARG(key && body);
	tl_github_issue *old = NULL;
	tl_buf text = TL_BUF_INIT;
	rc = tl__github_marked_body(&text, key, body);
	if (rc == TL_OK)
		rc = find_open(&old, gh, repo, label, key);
	if (rc == TL_OK && !old) {
		rc = tl_github_issue_create(out, gh, repo, label, key, title, body);
	} else if (rc == TL_OK && !strcmp(old->title, title) && !strcmp(old->body, text.ptr)) {
		/* Already as asked: no edit (alerts are checked every few minutes). */
		old->action = TL_GITHUB_UNCHANGED;
		give(out, old);
		old = NULL;
	} else if (rc == TL_OK) {
		rc = tl_github_issue_update(out, gh, repo, old->number, key,
		                            strcmp(old->title, title) ? title : NULL, body);
	}
	tl_github_issue_free(old);
	tl_buf_dispose(&text);
	return rc;
}

int tl_github_issue_close(tl_github_issue **out, tl_github *gh, const char *repo,
                          uint32_t number, const char *comment)
{
	int rc = tl__github_check_common(gh, repo);
	if (rc == TL_OK && tl_validate_pr(number) != TL_OK)
		rc = TL_EINVALID;
	if (rc)
		return rc;
	TL__CHECK_ARG(!comment || *comment);
	if (comment && (rc = tl_github_comment_create(NULL, gh, repo, number, comment)) != TL_OK)
		return rc;
	json_t *doc = json_pack("{s:s, s:s}", "state", "closed", "state_reason", "completed");
	char *path = tl__sprintf("/repos/%s/issues/%u", repo, number);
	char *what = tl__sprintf("close issue %s#%u", repo, number);
	rc = path && what ? send(out, gh, "PATCH", path, doc, what, TL_GITHUB_CLOSED) : TL_ENOMEM;
	json_decref(doc);
	free(path);
	free(what);
	return rc;
}

int tl_github_issue_resolve(tl_github_issue **out, tl_github *gh, const char *repo,
                            const char *label, const char *key, const char *comment)
{
	tl_github_issue *open = NULL;
	int rc = tl_github_issue_find(&open, gh, repo, label, key);
	if (rc == TL_OK)
		rc = tl_github_issue_close(out, gh, repo, open->number, comment);
	tl_github_issue_free(open);
	return rc;
}
