/*
 * A service's secrets (compose `secrets:`, lib/compose/secrets.c): files
 * at /run/secrets/TARGET holding one of the app's values. The plan keeps
 * only where each value comes from (its key); the value is looked up at
 * every deploy, rollback and restart (tl__svc_secrets_resolve), as the
 * environment is, and never written into a saved plan or an event.
 *
 * A value a service reads as a secret is not also put in that service's
 * environment by the platform (it would show in `docker inspect` and
 * /proc/PID/environ, which is what a secret file avoids); the compose
 * file's own `environment:` is left as written.
 *
 * On one server each file is written under the app's state directory,
 * <state>/secrets/<release>/<service>/<target> (directories 0700, the
 * file with the secret's owner and mode), and bind-mounted read-only; on
 * a swarm each is a Docker secret (lib/cluster/secret.c). What no unit
 * uses any more is removed (tl__secret_files_prune, the engines'
 * prune_secrets).
 */
#include "deploy_int.h"
#include "towlion/appenv.h"
#include "towlion/envfile.h"

#include <dirent.h>
#include <sys/stat.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

void tl__svc_secrets_free(tl__svc *s)
{
	for (size_t i = 0; i < s->nsecrets; i++) {
		free(s->secrets[i].target);
		free(s->secrets[i].env_key);
		tl__free_secret(s->secrets[i].value);
	}
	free(s->secrets);
	s->secrets = NULL;
	s->nsecrets = 0;
}

static int add(tl__svc *s, const char *target, const char *env_key, json_int_t uid,
               json_int_t gid, json_int_t mode)
{
	tl__svc_secret *v = realloc(s->secrets, (s->nsecrets + 1) * sizeof(*v));
	if (!v)
		return tl__error_oom();
	s->secrets = v;
	tl__svc_secret *n = &v[s->nsecrets];
	memset(n, 0, sizeof(*n));
	n->target = tl__strdup(target);
	n->env_key = tl__strdup(env_key);
	n->uid = (int)uid;
	n->gid = (int)gid;
	n->mode = (int)mode;
	s->nsecrets++;
	return n->target && n->env_key ? TL_OK : tl__error_oom();
}

int tl__svc_secrets_from_compose(tl__svc *out, const tl_compose_service *s)
{
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_secret_count(s); i++) {
		const char *target = NULL, *key = NULL;
		int uid = 0, gid = 0, mode = 0;
		rc = tl_compose_service_secret_at(s, i, NULL, &target, &key, &uid, &gid, &mode);
		if (rc == TL_OK)
			rc = add(out, target, key, uid, gid, mode);
	}
	return rc;
}

json_t *tl__svc_secrets_json(const tl__svc *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->nsecrets; i++) {
		const tl__svc_secret *x = &s->secrets[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:i}", "target", x->target,
		                                   "environment", x->env_key, "uid", x->uid, "gid",
		                                   x->gid, "mode", x->mode));
	}
	return a;
}

/* A saved plan's secrets: the same bounds as the compose reader's. */
int tl__svc_secrets_from_json(tl__svc *s, const json_t *a, const char *what, size_t svc)
{
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o) {
		const char *target = json_string_value(json_object_get(o, "target"));
		const char *key = json_string_value(json_object_get(o, "environment"));
		json_t *u = json_object_get(o, "uid"), *g = json_object_get(o, "gid"),
		       *m = json_object_get(o, "mode");
		json_int_t uid = json_integer_value(u), gid = json_integer_value(g),
		           mode = json_integer_value(m);
		if (!target || !*target || strchr(target, '/') || !strcmp(target, "..") || !key ||
		    !*key || !json_is_integer(u) || !json_is_integer(g) || !json_is_integer(m) ||
		    uid < 0 || uid > 2147483647 || gid < 0 || gid > 2147483647 || mode < 0 ||
		    mode > 0777)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
			                     "%s: service %zu: secret %zu is malformed; deploy the "
			                     "release again instead",
			                     what, svc, i);
		int rc = add(s, target, key, uid, gid, mode);
		if (rc)
			return rc;
	}
	return TL_OK;
}

bool tl__svc_secret_key(const tl__svc *s, const char *key)
{
	for (size_t i = 0; i < s->nsecrets; i++)
		if (!strcmp(s->secrets[i].env_key, key))
			return true;
	return false;
}

int tl__svc_secrets_resolve(tl_ctx *ctx, tl__svc *s, const tl_appenv *settings,
                            const tl_envfile *env, const char *app_domain, bool production)
{
	for (size_t i = 0; i < s->nsecrets; i++) {
		tl__svc_secret *x = &s->secrets[i];
		tl__free_secret(x->value);
		x->value = NULL;
		/* the platform's values win, as in the environment */
		const char *v = env ? tl_envfile_get(env, x->env_key) : NULL;
		if (!v && !strcmp(x->env_key, "APP_DOMAIN"))
			v = app_domain;
		bool held_back = false;
		for (size_t k = 0; !v && k < tl_appenv_count(settings); k++) {
			if (strcmp(tl_appenv_key_at(settings, k), x->env_key))
				continue;
			if (production || !tl_appenv_production_only_at(settings, k))
				v = tl_appenv_value_at(settings, k);
			else
				held_back = true;
		}
		if (held_back) {
			/* a preview runs a branch's code: no production-only value */
			int rc = tl__log(ctx, TL_LOG_WARN,
			                 "service %s: secret %s is left out: %s is production-only",
			                 s->name, x->target, x->env_key);
			if (rc)
				return rc;
			continue;
		}
		if (!v)
			return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
			                     "service %s: secret %s: the app has no value %s (set it "
			                     "with `towlion env set APP %s=...`)",
			                     s->name, x->target, x->env_key, x->env_key);
		if (!(x->value = tl__strdup(v)))
			return tl__error_oom();
	}
	return TL_OK;
}

/* <state>/secrets[/<release>[/<service>]] */
static char *secrets_dir(const char *state_dir, const char *release, const char *service)
{
	char *base = tl__path_join(state_dir, "secrets");
	char *rel = base && release ? tl__path_join(base, release) : NULL;
	char *svc = rel && service ? tl__path_join(rel, service) : NULL;
	char *out = service ? svc : release ? rel : base;
	if (out != base)
		free(base);
	if (out != rel)
		free(rel);
	if (out != svc)
		free(svc);
	return out;
}

int tl__secret_files_write(char **dir, const tl__project *p, const char *release,
                           const tl__svc *s)
{
	*dir = NULL;
	size_t given = 0;
	for (size_t i = 0; i < s->nsecrets; i++)
		given += s->secrets[i].value != NULL;
	if (!given)
		return TL_OK;
	char *base = secrets_dir(p->state_dir, NULL, NULL);
	char *d = secrets_dir(p->state_dir, release, s->name);
	int rc = base && d ? tl__mkdir_p(d, 0700) : TL_ENOMEM;
	/* the directories stay root's alone: a file is reached through its
	 * bind mount, never by walking them */
	char *rel = rc == TL_OK ? secrets_dir(p->state_dir, release, NULL) : NULL;
	if (rc == TL_OK && (chmod(base, 0700) || !rel || chmod(rel, 0700) || chmod(d, 0700)))
		rc = rel ? tl__error_os(TL_EIO, errno, "cannot make %s private", d) : TL_ENOMEM;
	free(rel);
	for (size_t i = 0; rc == TL_OK && i < s->nsecrets; i++) {
		const tl__svc_secret *x = &s->secrets[i];
		if (!x->value)
			continue;
		char *path = tl__path_join(d, x->target);
		rc = path ? tl__file_write_atomic(path, x->value, strlen(x->value), 0600) : TL_ENOMEM;
		if (rc == TL_OK && (chown(path, (uid_t)x->uid, (gid_t)x->gid) ||
		                    chmod(path, (mode_t)x->mode)))
			rc = tl__error_os(TL_EIO, errno, "cannot give the secret file %s its owner "
			                  "%d:%d and mode %o", path, x->uid, x->gid, (unsigned)x->mode);
		free(path);
	}
	free(base);
	if (rc) {
		free(d);
		return rc;
	}
	*dir = d;
	return TL_OK;
}

int tl__secret_files_prune(const tl__project *p, char *const *live)
{
	if (!p->state_dir)
		return TL_OK; /* a teardown of what has no state (left over by a kill) */
	char *base = secrets_dir(p->state_dir, NULL, NULL);
	if (!base)
		return TL_ENOMEM;
	DIR *dir = opendir(base);
	int rc = TL_OK;
	if (!dir) {
		rc = errno == ENOENT ? TL_OK : tl__error_os(TL_EIO, errno, "cannot read %s", base);
		free(base);
		return rc;
	}
	struct dirent *e;
	while (rc == TL_OK && (e = readdir(dir))) {
		if (e->d_name[0] == '.' || tl__strv_contains(live, e->d_name))
			continue;
		char *gone = tl__path_join(base, e->d_name);
		rc = gone ? tl__rm_rf(gone, base) : TL_ENOMEM;
		free(gone);
	}
	closedir(dir);
	free(base);
	return rc;
}
