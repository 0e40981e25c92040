/* Who the token is: the only author whose marked comments the client
 * edits. Anyone who may comment on a pull request can write a comment
 * that starts with our marker (a tenant's PR author, certainly); editing
 * it would put our text (the preview URL) under their name, or let them
 * steer which comment we keep. So a marked comment counts only when its
 * author is the token's own user. */
#include "github_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tl__github_self(tl_github *gh)
{
	if (gh->self_login)
		return TL_OK;
	tl__github_answer a;
	int rc = tl__github_call(gh, &a, "GET", "/user", NULL, NULL, "find out which user the token is");
	if (rc == TL_OK) {
		json_int_t id = json_integer_value(json_object_get(a.json, "id"));
		const char *login = tl__github_str(a.json, "login");
		if (id <= 0 || !*login)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                   "GitHub answered GET /user without an id and login");
		else if (!(gh->self_login = tl__strdup(login)))
			rc = TL_ENOMEM;
		else
			gh->self_id = (int64_t)id;
		tl__github_answer_dispose(&a);
		return rc;
	}
	/* A GitHub App installation token (GitHub Actions' GITHUB_TOKEN) may
	 * not read /user: the operator names its bot in TOWLION_GITHUB_USER. */
	const char *conf = tl__cfg(gh->ctx, "TOWLION_GITHUB_USER");
	long status = tl_error_last()->upstream_code;
	if ((status == 403 || status == 404) && *conf) {
		tl_error_clear();
		gh->self_id = 0;
		gh->self_login = tl__strdup(conf);
		return gh->self_login ? TL_OK : TL_ENOMEM;
	}
	if (status == 403 || status == 404) {
		/* (copies: the new message is written where the old one is) */
		char *msg = tl__strdup(tl_error_last()->message);
		char *up = tl__strdup(tl_error_last()->upstream);
		rc = tl__error_set_upstream(TL_EAUTH, TL_ERRCLASS_GITHUB, up ? up : "", status,
		                            "%s; without knowing who the token is no marked comment "
		                            "is edited: set TOWLION_GITHUB_USER to the token's login "
		                            "(for GitHub Actions' GITHUB_TOKEN: github-actions[bot])",
		                            msg ? msg : "GET /user refused");
		free(msg);
		free(up);
	}
	return rc;
}

bool tl__github_authored_by_self(const tl_github *gh, json_t *item)
{
	json_t *user = json_object_get(item, "user");
	if (!json_is_object(user) || !gh->self_login)
		return false;
	if (gh->self_id > 0)
		return json_integer_value(json_object_get(user, "id")) == gh->self_id;
	/* Logins are case-insensitive on GitHub. */
	return strcasecmp(tl__github_str(user, "login"), gh->self_login) == 0;
}
