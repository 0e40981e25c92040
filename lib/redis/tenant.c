/* Per-app ACL users: create (idempotent), drop (optionally purging keys),
 * and the env file keys REDIS_URL and REDIS_KEY_PREFIX. */
#include "redis_internal.h"
#include "core/appenv.h"
#include "core/url.h"
#include "towlion/app.h"
#include "towlion/validate.h"

#include <stdarg.h>

#include <stdlib.h>
#include <string.h>

#define PASSWORD_LEN 32

struct tl_redis_report {
	char *user, *prefix, *env_path;
	int dry_run;
	uint64_t keys_deleted;
	char **actions; /* NULL-terminated (tl__strv_*) */
	size_t count;
};

const char *tl_redis_report_user(const tl_redis_report *r) { return r ? r->user : NULL; }
const char *tl_redis_report_prefix(const tl_redis_report *r) { return r ? r->prefix : NULL; }
const char *tl_redis_report_env_path(const tl_redis_report *r) { return r ? r->env_path : NULL; }
int tl_redis_report_dry_run(const tl_redis_report *r) { return r ? r->dry_run : 0; }
uint64_t tl_redis_report_keys_deleted(const tl_redis_report *r) { return r ? r->keys_deleted : 0; }
size_t tl_redis_report_action_count(const tl_redis_report *r) { return r ? r->count : 0; }
const char *tl_redis_report_action(const tl_redis_report *r, size_t i)
{
	return r && i < r->count ? r->actions[i] : NULL;
}

void tl_redis_report_free(tl_redis_report *r)
{
	if (!r)
		return;
	free(r->user);
	free(r->prefix);
	free(r->env_path);
	tl__strv_free(r->actions);
	free(r);
}

static int action(tl_redis_report *rep, tl_ctx *ctx, const char *fmt, ...) TL__PRINTF(3, 4);

static int action(tl_redis_report *rep, tl_ctx *ctx, const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == TL_OK)
		rc = tl__strv_push(&rep->actions, b.ptr ? b.ptr : "");
	tl_buf_dispose(&b);
	if (rc)
		return rc;
	const char *line = rep->actions[rep->count++];
	return tl__log(ctx, TL_LOG_INFO, "%s%s", rep->dry_run ? "would " : "", line);
}

int tl_redis_options_init(tl_redis_options *opts, unsigned int version)
{
	tl_redis_options def = TL_REDIS_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_REDIS_OPTIONS_VERSION, "tl_redis_options");
}

static int report_new(tl_redis_report **out, tl_redis *r, const char *app, uint32_t pr,
                      unsigned int flags)
{
	tl_buf user = TL_BUF_INIT, prefix = TL_BUF_INIT, path = TL_BUF_INIT;
	int rc = tl_redis_names(&user, &prefix, app, pr);
	if (!rc)
		rc = pr ? tl_preview_env_path(&path, r->ctx, app, pr)
		        : tl_app_env_path(&path, r->ctx, app);
	tl_redis_report *rep = rc ? NULL : tl__calloc(1, sizeof(*rep));
	if (!rc && !rep)
		rc = TL_ENOMEM;
	if (!rc) {
		rep->user = tl__buf_detach(&user);
		rep->prefix = tl__buf_detach(&prefix);
		rep->env_path = tl__buf_detach(&path);
		rep->dry_run = (flags & TL_REDIS_DRY_RUN) != 0;
		if (!rep->user || !rep->prefix || !rep->env_path)
			rc = TL_ENOMEM;
	}
	tl_buf_dispose(&user);
	tl_buf_dispose(&prefix);
	tl_buf_dispose(&path);
	if (rc) {
		tl_redis_report_free(rep);
		return rc;
	}
	*out = rep;
	return TL_OK;
}

/* The password of `user` in the env file's REDIS_URL, if it is there. */
static int env_password(char **out, const char *path, const char *user)
{
	*out = NULL;
	tl_buf url = TL_BUF_INIT;
	int rc = tl__appenv_get(&url, path, "REDIS_URL");
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		return TL_OK;
	}
	if (rc)
		return rc;
	tl__url u;
	rc = tl__url_parse(&u, url.ptr, "REDIS_URL");
	tl__buf_dispose_secret(&url);
	if (rc) {
		/* A broken URL is no password: it will be replaced. */
		tl_error_clear();
		return TL_OK;
	}
	if (u.user && strcmp(u.user, user) == 0 && u.password && *u.password) {
		*out = u.password;
		u.password = NULL;
	}
	tl__url_dispose(&u);
	return TL_OK;
}

/* Whether `list` (space-separated, as ACL GETUSER gives it) has `tok`. */
static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; (p = strstr(p, tok)) != NULL; p++)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Whether the user exists; whether it is an app's user (its keys include
 * the prefix: a user of Redis or of the platform is never taken over);
 * and whether its rules are exactly ours with `password` (NULL: any). */
static int user_state(bool *exists, bool *ours, bool *matches, tl_redis *r, const char *user,
                      const char *prefix, const char *password)
{
	const char *canonical = NULL;
	int rc = tl__redis_rules_canonical(&canonical, r);
	if (rc)
		return rc;
	const char *argv[] = {"ACL", "GETUSER", user};
	redisReply *rep = NULL;
	if ((rc = tl__redis_cmd(&rep, r, "ACL GETUSER", 3, argv)))
		return rc;
	*exists = rep->type == REDIS_REPLY_ARRAY;
	*matches = *ours = false;
	if (*exists) {
		char keys[128], channels[128], hash[65];
		snprintf(keys, sizeof(keys), "~%s*", prefix);
		snprintf(channels, sizeof(channels), "&%s*", prefix);
		if (password)
			tl__redis_password_hash(hash, password);
		bool on = false, pw = false, cmds = false, k = false, ch = false, sel = true;
		for (size_t i = 0; i + 1 < rep->elements; i += 2) {
			const char *name = rep->element[i]->str;
			redisReply *v = rep->element[i + 1];
			if (!name)
				continue;
			if (!strcmp(name, "flags") && v->type == REDIS_REPLY_ARRAY) {
				for (size_t j = 0; j < v->elements; j++)
					if (v->element[j]->str && !strcmp(v->element[j]->str, "on"))
						on = true;
			} else if (!strcmp(name, "passwords") && v->type == REDIS_REPLY_ARRAY) {
				pw = v->elements == 1 &&
				     (!password || (v->element[0]->str && !strcmp(v->element[0]->str, hash)));
			} else if (!strcmp(name, "commands") && v->str) {
				cmds = !strcmp(v->str, canonical);
			} else if (!strcmp(name, "keys") && v->str) {
				k = !strcmp(v->str, keys);
				*ours = has_token(v->str, keys);
			} else if (!strcmp(name, "channels") && v->str) {
				ch = !strcmp(v->str, channels);
			} else if (!strcmp(name, "selectors") && v->type == REDIS_REPLY_ARRAY) {
				sel = v->elements == 0; /* a selector would widen the rules */
			}
		}
		*matches = on && pw && cmds && k && ch && sel;
	}
	freeReplyObject(rep);
	return TL_OK;
}

/* A user that exists but is not an app's (keys not under the prefix, and
 * no password of it in the app's env file) is Redis's, the platform's or
 * an operator's. */
static int refuse_foreign(const char *user, const char *prefix)
{
	return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_REDIS,
	                     "Redis user \"%s\" exists and is not an app's user (its keys are "
	                     "not \"%s*\"): it is not taken over; choose another app name",
	                     user, prefix);
}

static int set_user(tl_redis *r, const char *user, const char *prefix, const char *password)
{
	const char *const *rules = NULL;
	size_t n = 0;
	int rc = tl__redis_tenant_rules(&rules, &n, r);
	if (rc)
		return rc;
	char *pass = tl__sprintf(">%s", password);
	char *keys = tl__sprintf("~%s*", prefix);
	char *chans = tl__sprintf("&%s*", prefix);
	rc = pass && keys && chans ? TL_OK : TL_ENOMEM;
	if (!rc) {
		/* `reset` first, so nothing of an older definition survives
		 * (other passwords, keys, channels, selectors); then ours. */
		const char *argv[64] = {"ACL", "SETUSER", user,  "reset",  "on",
		                        pass,  keys,      "resetchannels", chans, "+@all"};
		int argc = 10;
		for (size_t i = 0; i < n && argc < 64; i++)
			argv[argc++] = rules[i];
		redisReply *rep = NULL;
		rc = tl__redis_cmd(&rep, r, "ACL SETUSER", argc, argv);
		freeReplyObject(rep);
	}
	tl__free_secret(pass);
	free(keys);
	free(chans);
	return rc;
}

static int create_locked(tl_redis_report **out, tl_redis *r, const char *app, uint32_t pr,
                         const tl_redis_options *opts, bool *acl_changed)
{
	TL__CHECK_ARG(r);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	if (opts) {
		TL__CHECK_VERSION(opts, TL_REDIS_OPTIONS_VERSION, "tl_redis_options");
		o = *opts;
	}
	TL__CHECK_ARG((o.flags & ~(TL_REDIS_DRY_RUN | TL_REDIS_ROTATE |
	                           TL_REDIS_REGISTERED_ONLY)) == 0);
	const char *apphost = tl__cfg(r->ctx, "TOWLION_REDIS_APP_HOST");
	int rc = tl_validate_hostport(apphost);
	if (rc) {
		tl__error_prefix("TOWLION_REDIS_APP_HOST");
		return rc;
	}
	tl_redis_report *rep = NULL;
	if ((rc = report_new(&rep, r, app, pr, o.flags)))
		return rc;
	char *password = NULL;
	bool exists = false, ours = false, matches = false, fresh = false;
	rc = tl__redis_check_user(r, rep->user);
	if (!rc)
		rc = env_password(&password, rep->env_path, rep->user);
	if (!rc && (o.flags & TL_REDIS_ROTATE)) {
		tl__free_secret(password);
		password = NULL;
	}
	if (!rc)
		rc = user_state(&exists, &ours, &matches, r, rep->user, rep->prefix, password);
	/* An app's user: keys under its prefix, or its password in the app's
	 * env file (rules someone widened are put back below). */
	if (!rc && exists && !ours && !password)
		rc = refuse_foreign(rep->user, rep->prefix);
	if (!rc && exists && !password && !(o.flags & TL_REDIS_ROTATE))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_REDIS,
		                   "Redis user \"%s\" exists but %s has no REDIS_URL with its "
		                   "password: rotate the password (TL_REDIS_ROTATE, "
		                   "towlion redis create --rotate)", rep->user, rep->env_path);
	if (!rc && !password) {
		fresh = true;
		password = tl__malloc(PASSWORD_LEN + 1);
		rc = password ? tl__secret_generate(password, PASSWORD_LEN) : TL_ENOMEM;
	}
	tl_buf url = TL_BUF_INIT;
	if (!rc)
		rc = tl_redis_url_build(&url, rep->user, password, apphost, 0);
	/* The env file first: if writing it fails, the user is not changed
	 * and the old password keeps working. */
	tl_buf old_url = TL_BUF_INIT, old_prefix = TL_BUF_INIT;
	if (!rc) {
		tl__appenv_get(&old_url, rep->env_path, "REDIS_URL");
		tl__appenv_get(&old_prefix, rep->env_path, "REDIS_KEY_PREFIX");
		tl_error_clear();
		bool env_same = old_url.ptr && !strcmp(old_url.ptr, url.ptr) && old_prefix.ptr &&
		                !strcmp(old_prefix.ptr, rep->prefix);
		if (!env_same) {
			rc = action(rep, r->ctx, "write REDIS_URL and REDIS_KEY_PREFIX to %s",
			            rep->env_path);
			if (!rc && !rep->dry_run) {
				const char *keys[] = {"REDIS_URL", "REDIS_KEY_PREFIX"};
				const char *values[] = {url.ptr, rep->prefix};
				rc = tl__appenv_set(r->ctx, rep->env_path, keys, values, 2);
			}
		}
	}
	if (!rc && (!exists || !matches || fresh)) {
		rc = action(rep, r->ctx,
		            exists ? (fresh ? "set a new password and the rules of Redis user \"%s\""
		                            : "reset the rules of Redis user \"%s\"")
		                   : "create Redis user \"%s\" (keys and channels %s*)",
		            rep->user, rep->prefix);
		if (!rc && !rep->dry_run) {
			rc = set_user(r, rep->user, rep->prefix, password);
			*acl_changed = true;
		}
	}
	tl__buf_dispose_secret(&url);
	tl__buf_dispose_secret(&old_url);
	tl_buf_dispose(&old_prefix);
	tl__free_secret(password);
	if (rc || !out)
		tl_redis_report_free(rep);
	else
		*out = rep;
	return rc;
}

/* UNLINK one batch of keys a SCAN found; counts them into *payload. */
static int unlink_batch(tl_redis *r, const redisReply *keys, void *payload)
{
	uint64_t *deleted = payload;
	size_t n = keys->elements + 1;
	const char **argv = tl__calloc(n, sizeof(char *));
	size_t *lens = tl__calloc(n, sizeof(size_t));
	int rc = TL_OK;
	if (!argv || !lens) {
		rc = TL_ENOMEM;
	} else {
		argv[0] = "UNLINK";
		lens[0] = 6;
		for (size_t i = 0; i < keys->elements; i++) {
			argv[i + 1] = keys->element[i]->str;
			lens[i + 1] = keys->element[i]->len;
		}
		redisReply *u = redisCommandArgv(r->c, (int)n, argv, lens);
		if (!u)
			rc = tl__redis_error_conn(r->c, "UNLINK", r->where);
		else if (u->type == REDIS_REPLY_ERROR)
			rc = tl__redis_error_reply("UNLINK", u->str);
		else
			*deleted += (uint64_t)u->integer;
		freeReplyObject(u);
	}
	free(argv);
	free(lens);
	return rc;
}

/* Delete every key under `prefix`, SCAN + UNLINK batch by batch. */
static int purge_keys(uint64_t *deleted, tl_redis *r, const char *prefix)
{
	*deleted = 0;
	return tl__redis_scan_prefix(r, prefix, NULL, unlink_batch, deleted);
}

static int drop_locked(tl_redis_report **out, tl_redis *r, const char *app, uint32_t pr,
                       const tl_redis_options *opts, bool *acl_changed)
{
	TL__CHECK_ARG(r);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	if (opts) {
		TL__CHECK_VERSION(opts, TL_REDIS_OPTIONS_VERSION, "tl_redis_options");
		o = *opts;
	}
	TL__CHECK_ARG((o.flags & ~(TL_REDIS_DRY_RUN | TL_REDIS_PURGE)) == 0);
	tl_redis_report *rep = NULL;
	int rc = report_new(&rep, r, app, pr, o.flags);
	if (rc)
		return rc;
	bool exists = false, ours = false, matches = false;
	rc = tl__redis_check_user(r, rep->user);
	if (!rc)
		rc = user_state(&exists, &ours, &matches, r, rep->user, rep->prefix, NULL);
	if (!rc && exists && !ours) {
		char *password = NULL;
		rc = env_password(&password, rep->env_path, rep->user);
		if (!rc && !password)
			rc = refuse_foreign(rep->user, rep->prefix);
		tl__free_secret(password);
	}
	if (!rc && exists) {
		rc = action(rep, r->ctx, "delete Redis user \"%s\" (its clients are disconnected)",
		            rep->user);
		if (!rc && !rep->dry_run) {
			const char *argv[] = {"ACL", "DELUSER", rep->user};
			redisReply *x = NULL;
			rc = tl__redis_cmd(&x, r, "ACL DELUSER", 3, argv);
			freeReplyObject(x);
			*acl_changed = true;
		}
	}
	if (!rc) {
		tl_buf cur = TL_BUF_INIT;
		int has = tl__appenv_get(&cur, rep->env_path, "REDIS_URL") == TL_OK;
		tl__buf_dispose_secret(&cur);
		has = has || tl__appenv_get(&cur, rep->env_path, "REDIS_KEY_PREFIX") == TL_OK;
		tl_buf_dispose(&cur);
		tl_error_clear();
		if (has) {
			rc = action(rep, r->ctx, "remove REDIS_URL and REDIS_KEY_PREFIX from %s",
			            rep->env_path);
			if (!rc && !rep->dry_run) {
				const char *keys[] = {"REDIS_URL", "REDIS_KEY_PREFIX"};
				rc = tl__appenv_unset(r->ctx, rep->env_path, keys, 2);
			}
		}
	}
	if (!rc && (o.flags & TL_REDIS_PURGE)) {
		if (rep->dry_run) {
			rc = action(rep, r->ctx, "delete every key under \"%s\"", rep->prefix);
		} else {
			rc = purge_keys(&rep->keys_deleted, r, rep->prefix);
			if (!rc && rep->keys_deleted) {
				rc = action(rep, r->ctx, "deleted %llu keys under \"%s\"",
				            (unsigned long long)rep->keys_deleted, rep->prefix);
			}
		}
	}
	if (rc || !out)
		tl_redis_report_free(rep);
	else
		*out = rep;
	return rc;
}

/* Operations on one app's users are serialised across processes (a lock
 * file in the app's state directory): two concurrent creates would
 * otherwise each write a password and each set another. */
static int app_lock(tl__lock **lock, tl_redis *r, const char *app)
{
	tl_buf path = TL_BUF_INIT;
	int rc = tl_app_env_path(&path, r->ctx, app);
	char *slash = rc ? NULL : strrchr(path.ptr, '/');
	if (slash) {
		*slash = '\0';
		rc = tl__mkdir_p(path.ptr, 0700);
		if (!rc)
			rc = tl__lock_acquire(lock, r->ctx, path.ptr, "redis", 30000);
	}
	tl_buf_dispose(&path);
	return rc;
}

/* ACL SETUSER and DELUSER change only the running server. When it keeps
 * its users in an ACL file, save it, so they survive a restart; when it
 * does not, say so (rewriting redis.conf is left to its owner). Saved
 * after every create and drop, also when nothing changed: a run killed
 * between SETUSER and SAVE left a user the file lacks, which the next
 * run finds already right. */
static int persist_acl(tl_redis *r, bool changed)
{
	const char *argv[] = {"CONFIG", "GET", "aclfile"};
	redisReply *rep = NULL;
	int rc = tl__redis_cmd(&rep, r, "CONFIG GET aclfile", 3, argv);
	if (rc)
		return rc;
	bool has_file = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	                rep->element[1]->str && *rep->element[1]->str;
	char *file = has_file ? tl__strdup(rep->element[1]->str) : NULL;
	freeReplyObject(rep);
	if (!has_file)
		return tl__log(r->ctx, changed ? TL_LOG_WARN : TL_LOG_DEBUG,
		               "Redis at %s has no aclfile: the app users live until it restarts "
		               "(configure aclfile, or run CONFIG REWRITE)", r->where);
	const char *save[] = {"ACL", "SAVE"};
	rc = tl__redis_cmd(&rep, r, "ACL SAVE", 2, save);
	freeReplyObject(rep);
	if (!rc)
		rc = tl__log(r->ctx, changed ? TL_LOG_INFO : TL_LOG_DEBUG, "saved the Redis ACL file %s",
		             file ? file : "");
	free(file);
	return rc;
}

typedef int (*locked_fn)(tl_redis_report **, tl_redis *, const char *, uint32_t,
                         const tl_redis_options *, bool *);

static int run_locked(locked_fn fn, tl_redis_report **out, tl_redis *r, const char *app,
                      uint32_t pr, const tl_redis_options *opts)
{
	TL__CHECK_ARG(r);
	TL__CHECK_VERSION(opts, TL_REDIS_OPTIONS_VERSION, "tl_redis_options");
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	bool dry = opts && (opts->flags & TL_REDIS_DRY_RUN);
	tl__lock *lock = NULL;
	if (!dry && (rc = app_lock(&lock, r, app)))
		return rc;
	bool changed = false;
	tl_redis_report *rep = NULL;
	rc = fn(&rep, r, app, pr, opts, &changed);
	if (!rc && !dry)
		rc = persist_acl(r, changed);
	tl__lock_release(lock);
	if (rc || !out)
		tl_redis_report_free(rep);
	else
		*out = rep;
	return rc;
}

int tl_redis_create(tl_redis_report **out, tl_redis *r, const char *app, uint32_t pr,
                    const tl_redis_options *opts)
{
	/* Before the lock: taking it makes the app's state directory. A bad
	 * or reserved name is told as such first. */
	TL__CHECK_VERSION(opts, TL_REDIS_OPTIONS_VERSION, "tl_redis_options");
	if (r && opts && (opts->flags & TL_REDIS_REGISTERED_ONLY)) {
		tl_buf user = TL_BUF_INIT, prefix = TL_BUF_INIT;
		int rc = tl_redis_names(&user, &prefix, app, pr);
		if (!rc)
			rc = tl__redis_check_user(r, user.ptr);
		if (!rc)
			rc = tl__app_require_registered(r->ctx, app, "Redis user", "--standalone");
		tl_buf_dispose(&user);
		tl_buf_dispose(&prefix);
		if (rc)
			return rc;
	}
	return run_locked(create_locked, out, r, app, pr, opts);
}

int tl_redis_drop(tl_redis_report **out, tl_redis *r, const char *app, uint32_t pr,
                  const tl_redis_options *opts)
{
	return run_locked(drop_locked, out, r, app, pr, opts);
}
