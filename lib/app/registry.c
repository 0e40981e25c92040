/*
 * The app registry: one JSON file per app in the state dir. Creation is
 * serialised by the "registry" lock so two processes cannot register the
 * same name or the same domain for two apps.
 */
#include "core/core.h"
#include "towlion/app.h"
#include "towlion/validate.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REGISTRY_LOCK_TIMEOUT_MS 30000

struct tl_app {
	char *name;
	char **domains;
	size_t ndomains;
	char *web_service, *health_path, *release_command;
	int port, drain_ms, keep_images;
	int64_t created;
	char *dir;
};

struct tl_app_list {
	tl_app **apps;
	size_t n;
};

int tl_app_options_init(tl_app_options *opts, unsigned int version)
{
	tl_app_options def = TL_APP_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_APP_OPTIONS_VERSION, "tl_app_options");
}

static char *apps_root(const tl_ctx *ctx)
{
	return tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "apps");
}

static char *app_dir(const tl_ctx *ctx, const char *name)
{
	char *dir = NULL;
	return tl__app_path(&dir, ctx, name, NULL) ? NULL : dir;
}

void tl_app_free(tl_app *a)
{
	if (!a)
		return;
	free(a->name);
	for (size_t i = 0; i < a->ndomains; i++)
		free(a->domains[i]);
	free(a->domains);
	free(a->web_service);
	free(a->health_path);
	free(a->release_command);
	free(a->dir);
	free(a);
}

/* The most tl_app_create takes, and so the most an app.json may hold. */
#define DRAIN_MS_MAX TL_APP_DRAIN_MS_MAX
#define KEEP_IMAGES_MAX TL_APP_KEEP_IMAGES_MAX

static char *opt_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? tl__strdup(s) : NULL;
}

/* A whole number of the record from lo to hi, or `def` when absent; a
 * string, a fraction or a value out of range names the file (a cast took
 * "8000" as 0 and 4294975296 as 8000). */
static int opt_int(int64_t *out, json_t *j, const char *key, int64_t lo, int64_t hi,
                   int64_t def, const char *path)
{
	json_t *v = json_object_get(j, key);
	if (!v) {
		*out = def;
		return TL_OK;
	}
	json_int_t n = json_integer_value(v);
	if (!json_is_integer(v) || n < lo || n > hi)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s: \"%s\" is not a whole number from %lld to %lld", path, key,
		                     (long long)lo, (long long)hi);
	*out = n;
	return TL_OK;
}

/* Build an app from its JSON; TL_EINVALID naming the file when malformed. */
static int from_json(tl_app **out, json_t *j, const char *path, const char *dir)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	json_t *doms = json_object_get(j, "domains");
	if (!name || tl_validate_app_name(name) != TL_OK || !json_is_array(doms))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s: not a valid app registry file (name or domains "
		                     "missing or invalid)",
		                     path);
	tl_app *a = tl__calloc(1, sizeof(*a));
	if (!a)
		return TL_ENOMEM;
	int rc = TL_OK;
	a->name = tl__strdup(name);
	a->dir = tl__strdup(dir);
	a->domains = tl__calloc(json_array_size(doms) + 1, sizeof(char *));
	if (!a->name || !a->dir || !a->domains)
		rc = TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < json_array_size(doms); i++) {
		const char *d = json_string_value(json_array_get(doms, i));
		if (!d || tl_validate_domain(d) != TL_OK)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s: domain %zu is not a valid domain", path, i);
		else if (!(a->domains[a->ndomains++] = tl__strdup(d)))
			rc = TL_ENOMEM;
	}
	a->web_service = opt_str(j, "web_service");
	a->health_path = opt_str(j, "health_path");
	a->release_command = opt_str(j, "release_command");
	/* the bounds tl_app_create enforces; keep_images 0 was "the default" */
	int64_t port = 0, drain = 0, keep = 0;
	if (rc == TL_OK)
		rc = opt_int(&port, j, "port", 0, 65535, 0, path);
	if (rc == TL_OK)
		rc = opt_int(&drain, j, "drain_ms", 0, DRAIN_MS_MAX, TL_APP_DRAIN_MS_DEFAULT, path);
	if (rc == TL_OK)
		rc = opt_int(&keep, j, "keep_images", 0, KEEP_IMAGES_MAX, 0, path);
	if (rc == TL_OK)
		rc = opt_int(&a->created, j, "created", 0, INT64_MAX, 0, path);
	a->port = (int)port;
	a->drain_ms = (int)drain;
	a->keep_images = keep ? (int)keep : TL_APP_KEEP_IMAGES_DEFAULT;
	if (rc) {
		tl_app_free(a);
		return rc;
	}
	*out = a;
	return TL_OK;
}

static json_t *to_json(const tl_app *a)
{
	json_t *doms = json_array();
	for (size_t i = 0; i < a->ndomains; i++)
		json_array_append_new(doms, json_string(a->domains[i]));
	json_t *j = json_pack("{s:i, s:s, s:o, s:I, s:i, s:i}", "schema", 1, "name", a->name,
	                      "domains", doms, "created", (json_int_t)a->created, "drain_ms",
	                      a->drain_ms, "keep_images", a->keep_images);
	if (!j)
		return NULL;
	if (a->web_service)
		json_object_set_new(j, "web_service", json_string(a->web_service));
	if (a->port)
		json_object_set_new(j, "port", json_integer(a->port));
	if (a->health_path)
		json_object_set_new(j, "health_path", json_string(a->health_path));
	if (a->release_command)
		json_object_set_new(j, "release_command", json_string(a->release_command));
	return j;
}

static int load(tl_app **out, const tl_ctx *ctx, const char *name)
{
	char *dir = app_dir(ctx, name);
	char *path = dir ? tl__path_join(dir, "app.json") : NULL;
	int rc = path ? TL_OK : TL_ENOMEM;
	json_t *j = NULL;
	if (rc == TL_OK) {
		json_error_t jerr;
		j = json_load_file(path, 0, &jerr);
		if (!j && access(path, F_OK) != 0)
			rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG,
			                   "no app named %s; create it with `towlion app create %s`",
			                   name, name);
		else if (!j)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "%s:%d: %s", path,
			                   jerr.line, jerr.text);
	}
	if (rc == TL_OK)
		rc = from_json(out, j, path, dir);
	json_decref(j);
	free(path);
	free(dir);
	return rc;
}

int tl_app_open(tl_app **out, tl_ctx *ctx, const char *name)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	int rc = tl_validate_app_name(name);
	return rc ? rc : load(out, ctx, name);
}

int tl__app_require_registered(tl_ctx *ctx, const char *name, const char *what,
                               const char *standalone_hint)
{
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, name);
	tl_app_free(a);
	if (rc == TL_ENOTFOUND)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT,
		                   "%s is no registered app: register it first (towlion app create "
		                   "%s DOMAIN), or ask for a standalone %s (%s)",
		                   name, name, what, standalone_hint);
	return rc;
}

static int cmp_app(const void *a, const void *b)
{
	return strcmp((*(tl_app *const *)a)->name, (*(tl_app *const *)b)->name);
}

int tl_app_list_load(tl_app_list **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_app_list *l = tl__calloc(1, sizeof(*l));
	char *root = apps_root(ctx);
	if (!l || !root) {
		free(l);
		free(root);
		return TL_ENOMEM;
	}
	int rc = TL_OK;
	DIR *d = opendir(root);
	if (!d && errno != ENOENT)
		rc = tl__error_os(0, errno, "cannot read the app registry %s", root);
	size_t cap = 0;
	for (struct dirent *e; rc == TL_OK && d && (e = readdir(d));) {
		if (e->d_name[0] == '.' || tl_validate_app_name(e->d_name) != TL_OK)
			continue;
		tl_app *a = NULL;
		int lrc = load(&a, ctx, e->d_name);
		if (lrc == TL_ENOTFOUND)
			continue; /* a directory with only an env file, e.g. db create */
		if (lrc) {
			rc = lrc;
			break;
		}
		if (l->n == cap) {
			cap = cap ? cap * 2 : 16;
			tl_app **p = tl__realloc(l->apps, cap * sizeof(*p));
			if (!p) {
				tl_app_free(a);
				rc = TL_ENOMEM;
				break;
			}
			l->apps = p;
		}
		l->apps[l->n++] = a;
	}
	if (d)
		closedir(d);
	free(root);
	if (rc) {
		tl_app_list_free(l);
		return rc;
	}
	tl_error_clear(); /* skipped entries left their "not found" behind */
	if (l->n)
		qsort(l->apps, l->n, sizeof(*l->apps), cmp_app);
	*out = l;
	return TL_OK;
}

size_t tl_app_list_count(const tl_app_list *l)
{
	return l ? l->n : 0;
}

const tl_app *tl_app_list_at(const tl_app_list *l, size_t i)
{
	return (l && i < l->n) ? l->apps[i] : NULL;
}

void tl_app_list_free(tl_app_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		tl_app_free(l->apps[i]);
	free(l->apps);
	free(l);
}

/* The app of another name that already answers on `domain`, if any. */
static int domain_owner(char **owner, tl_ctx *ctx, const char *domain, const char *self)
{
	tl_app_list *l = NULL;
	int rc = tl_app_list_load(&l, ctx);
	if (rc)
		return rc;
	*owner = NULL;
	for (size_t i = 0; i < l->n && !*owner; i++) {
		if (!strcmp(l->apps[i]->name, self))
			continue;
		for (size_t k = 0; k < l->apps[i]->ndomains; k++)
			if (!strcmp(l->apps[i]->domains[k], domain))
				*owner = tl__strdup(l->apps[i]->name);
	}
	tl_app_list_free(l);
	return TL_OK;
}

static int check_options(const tl_app_options *o)
{
	if (o->port < 0 || o->port > 65535)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid port %d: use 1 to 65535", o->port);
	if (o->health_path && o->health_path[0] != '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid health path \"%s\": it must start with '/'",
		                     o->health_path);
	if (o->health_path && strpbrk(o->health_path, " \t\r\n\"'\\{}"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid health path \"%s\": no spaces, quotes or braces",
		                     o->health_path);
	if (o->web_service && (tl_validate_app_name(o->web_service) != TL_OK &&
	                       strspn(o->web_service, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
	                           strlen(o->web_service)))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid web service name \"%s\"", o->web_service);
	if (o->release_command && strchr(o->release_command, '\n'))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "the release command must be one line");
	if (o->keep_images < 0 || o->keep_images > KEEP_IMAGES_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "keep_images must be 1 to 100");
	if (o->drain_ms > DRAIN_MS_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "drain time must be at most 10 minutes");
	return TL_OK;
}

static int fill(tl_app *a, tl_ctx *ctx, const char *name, const tl_app_options *o)
{
	size_t n = 0;
	while (o->domains && o->domains[n])
		n++;
	a->name = tl__strdup(name);
	a->domains = tl__calloc(n ? n : 1, sizeof(char *));
	if (!a->name || !a->domains)
		return TL_ENOMEM;
	if (n == 0) {
		const char *base = tl__cfg(ctx, "TOWLION_DOMAIN");
		if (!*base)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "app %s has no domain: give one (--domain) or set "
			                     "TOWLION_DOMAIN",
			                     name);
		if (!(a->domains[0] = tl__sprintf("%s.%s", name, base)))
			return TL_ENOMEM;
		a->ndomains = 1;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = tl_validate_domain(o->domains[i]);
		if (rc)
			return rc;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(o->domains[k], o->domains[i]))
				return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
				                     "domain %s is given twice", o->domains[i]);
		if (!(a->domains[a->ndomains++] = tl__strdup(o->domains[i])))
			return TL_ENOMEM;
	}
	if ((o->web_service && !(a->web_service = tl__strdup(o->web_service))) ||
	    (o->health_path && !(a->health_path = tl__strdup(o->health_path))) ||
	    (o->release_command && !(a->release_command = tl__strdup(o->release_command))))
		return TL_ENOMEM;
	a->port = o->port;
	a->drain_ms = o->drain_ms < 0 ? TL_APP_DRAIN_MS_DEFAULT : o->drain_ms;
	a->keep_images = o->keep_images ? o->keep_images : TL_APP_KEEP_IMAGES_DEFAULT;
	a->created = (int64_t)time(NULL);
	return TL_OK;
}

static int save(const tl_app *a)
{
	json_t *j = to_json(a);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	char *path = tl__path_join(a->dir, "app.json");
	int rc = (text && path) ? tl__mkdir_p(a->dir, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	json_decref(j);
	free(text);
	free(path);
	return rc;
}

int tl_app_create(tl_app **out, tl_ctx *ctx, const char *name, const tl_app_options *opts)
{
	tl_app_options def = TL_APP_OPTIONS_INIT;
	TL__CHECK_ARG(ctx);
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_APP_OPTIONS_VERSION, "tl_app_options");
	int rc = tl_validate_app_name(name);
	if (rc == TL_OK)
		rc = check_options(opts);
	tl_app *a = rc ? NULL : tl__calloc(1, sizeof(*a));
	if (rc == TL_OK && !a)
		rc = TL_ENOMEM;
	if (rc == TL_OK)
		rc = fill(a, ctx, name, opts);
	if (rc == TL_OK && !(a->dir = app_dir(ctx, name)))
		rc = TL_ENOMEM;
	tl__lock *lock = NULL;
	char *locks = rc ? NULL : tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	if (rc == TL_OK)
		rc = locks ? tl__lock_acquire(&lock, ctx, locks, "registry",
		                              REGISTRY_LOCK_TIMEOUT_MS)
		           : TL_ENOMEM;
	if (rc == TL_OK) {
		tl_app *existing = NULL;
		int lrc = load(&existing, ctx, name);
		tl_app_free(existing);
		if (lrc == TL_OK)
			rc = tl__error_set(TL_EEXISTS, TL_ERRCLASS_INPUT, "app %s exists already",
			                   name);
		else if (lrc != TL_ENOTFOUND)
			rc = lrc;
	}
	for (size_t i = 0; rc == TL_OK && i < a->ndomains; i++) {
		char *owner = NULL;
		rc = domain_owner(&owner, ctx, a->domains[i], name);
		if (rc == TL_OK && owner)
			rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_INPUT,
			                   "domain %s belongs to app %s already", a->domains[i],
			                   owner);
		free(owner);
	}
	if (rc == TL_OK)
		rc = save(a);
	if (rc == TL_OK)
		tl__log(ctx, TL_LOG_INFO, "registered app %s (%s)", name, a->domains[0]);
	tl__lock_release(lock);
	free(locks);
	if (rc || !out) {
		tl_app_free(a);
		return rc;
	}
	*out = a;
	return TL_OK;
}

int tl_app_unregister(tl_ctx *ctx, const char *name)
{
	TL__CHECK_ARG(ctx);
	int rc = tl_validate_app_name(name);
	if (rc)
		return rc;
	char *dir = app_dir(ctx, name);
	char *json = dir ? tl__path_join(dir, "app.json") : NULL;
	char *hist = dir ? tl__path_join(dir, "releases.json") : NULL;
	if (!json || !hist)
		rc = TL_ENOMEM;
	else if (unlink(json) != 0)
		rc = errno == ENOENT ? tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG,
		                                     "no app named %s", name)
		                     : tl__error_os(0, errno, "cannot remove %s", json);
	if (rc == TL_OK) {
		unlink(hist);
		rmdir(dir); /* only when nothing else (env files) is left */
	}
	free(dir);
	free(json);
	free(hist);
	return rc;
}

const char *tl_app_name(const tl_app *a) { return a ? a->name : NULL; }
size_t tl_app_domain_count(const tl_app *a) { return a ? a->ndomains : 0; }
const char *tl_app_domain_at(const tl_app *a, size_t i)
{
	return (a && i < a->ndomains) ? a->domains[i] : NULL;
}
const char *tl_app_web_service(const tl_app *a) { return a ? a->web_service : NULL; }
int tl_app_port(const tl_app *a) { return a ? a->port : 0; }
const char *tl_app_health_path(const tl_app *a) { return a ? a->health_path : NULL; }
const char *tl_app_release_command(const tl_app *a)
{
	return a ? a->release_command : NULL;
}
int tl_app_drain_ms(const tl_app *a) { return a ? a->drain_ms : 0; }
int tl_app_keep_images(const tl_app *a) { return a ? a->keep_images : 0; }
int64_t tl_app_created(const tl_app *a) { return a ? a->created : 0; }
const char *tl_app_state_dir(const tl_app *a) { return a ? a->dir : NULL; }
