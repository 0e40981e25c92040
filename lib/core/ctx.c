/* The context: configuration from defaults, file, environment and API. */
#include "config.h"
#include "towlion/envfile.h"
#include "towlion/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tl__config_index(const char *key)
{
	if (!key)
		return -1;
	for (size_t i = 0; i < tl__config_key_n; i++)
		if (strcmp(tl__config_keys[i].name, key) == 0)
			return (int)i;
	return -1;
}

size_t tl_config_key_count(void)
{
	return tl__config_key_n;
}

/* "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db".
 * The userinfo ends at the LAST '@' before the path, as tl__url_parse()
 * reads it (a hand-written password may hold '@'): masking at the first
 * one would show the rest of such a password. An '@' further on (after a
 * '/', which the parser would not take as userinfo but a password can
 * hold) masks up to it too: better hide too much than a secret. */
static char *mask_url(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *start = scheme ? scheme + 3 : url;
	const char *at = strrchr(start, '@');
	if (!at)
		return tl__strdup(url);
	const char *colon = memchr(start, ':', (size_t)(at - start));
	if (!colon)
		return tl__strdup(url);
	return tl__sprintf("%.*s***%s", (int)(colon + 1 - url), url, at);
}

/* A value as an error message may show it: secrets never, URLs masked. */
static char *shown_value(const char *key, const char *v)
{
	int idx = tl__config_index(key);
	int kind = idx >= 0 ? tl__config_keys[idx].kind : TL__KEY_PLAIN;
	if (kind == TL__KEY_SECRET)
		return tl__strdup("(secret, not shown)");
	if (kind == TL__KEY_URL)
		return mask_url(v);
	return tl__strdup(v);
}

/* Recompute the effective and display value of every key. */
static int recompute(tl_ctx *ctx)
{
	for (size_t i = 0; i < tl__config_key_n; i++) {
		const tl__config_key *k = &tl__config_keys[i];
		tl__config_slot *s = &ctx->slots[i];
		char *shown;
		if (s->value) {
			shown = tl__strdup(s->value);
		} else if (k->base) {
			/* Bases come earlier in the table, so they are computed. */
			int b = tl__config_index(k->base);
			const char *bv = ctx->slots[b].shown;
			shown = (*bv || *k->def) ? tl__sprintf("%s%s", bv, bv[0] ? k->def : "")
			                         : tl__strdup("");
		} else {
			shown = tl__strdup(k->def);
		}
		if (!shown)
			return TL_ENOMEM;
		char *masked;
		if (k->kind == TL__KEY_SECRET)
			masked = tl__strdup(*shown ? "(set)" : "");
		else if (k->kind == TL__KEY_URL)
			masked = mask_url(shown);
		else
			masked = tl__strdup(shown);
		if (!masked) {
			free(shown);
			return TL_ENOMEM;
		}
		tl__free_secret(s->shown);
		free(s->masked);
		s->shown = shown;
		s->masked = masked;
	}
	return TL_OK;
}

/* The strict grammar of parse.c; the caller words the error. */
static bool is_uint(const char *v, uint64_t min, uint64_t max)
{
	uint64_t n;
	bool ok = tl_parse_uint(&n, v, min, max, NULL) == TL_OK;
	tl_error_clear();
	return ok;
}

static bool is_port(const char *v) { return *v != '0' && is_uint(v, 1, 65535); }

static bool is_count(const char *v) { return is_uint(v, 0, 100000); }

static bool is_cpus(const char *v)
{
	double n;
	bool ok = tl__parse_decimal(&n, v, 0, 1024, NULL) == TL_OK;
	tl_error_clear();
	return ok;
}

/* Check a value for a key; `where` says where it came from. */
static int check_value(const char *key, const char *v, const char *where)
{
	const char *why = NULL;
	if (strchr(v, '\n'))
		why = "a value cannot contain a newline";
	else if (!strcmp(key, "TOWLION_TLS") && strcmp(v, "auto") &&
	         strcmp(v, "internal") && strcmp(v, "off"))
		why = "must be auto, internal or off";
	else if (!strcmp(key, "TOWLION_UPSTREAM_MODE") && strcmp(v, "network") &&
	         strcmp(v, "loopback"))
		why = "must be network or loopback";
	else if ((!strcmp(key, "TOWLION_HTTP_PORT") || !strcmp(key, "TOWLION_HTTPS_PORT") ||
	          !strcmp(key, "TOWLION_REGISTRY_PORT")) &&
	         !is_port(v))
		why = "must be a port number 1..65535";
	else if (!strcmp(key, "TOWLION_CADDY_ADMIN_LISTEN") && *v &&
	         tl_validate_hostport(v) != TL_OK &&
	         !(!strncmp(v, "unix//", 6) && v[6] && !strpbrk(v, " \t\"'{}")))
		why = "must be host:port (e.g. 127.0.0.1:2019) or a unix socket as Caddy "
		      "writes it (unix//run/caddy-admin/admin.sock)";
	else if (!strcmp(key, "TOWLION_ENGINE") && strcmp(v, "docker") && strcmp(v, "swarm"))
		why = "must be docker or swarm";
	else if (!strcmp(key, "TOWLION_SCAN_POLICY") && strcmp(v, "warn") && strcmp(v, "block"))
		why = "must be warn or block";
	else if (!strcmp(key, "TOWLION_PREVIEW_CPUS") && !is_cpus(v))
		why = "must be a number of CPUs such as 0.5 (0: no limit)";
	else if (!strcmp(key, "TOWLION_PREVIEW_MEMORY") && tl__parse_size(&(int64_t){0}, v))
		why = "must be a size such as 512m or 1g (0: no limit)";
	else if ((!strcmp(key, "TOWLION_BACKUP_KEEP_DAYS") ||
	          !strcmp(key, "TOWLION_BACKUP_KEEP_LAST") || !strcmp(key, "TOWLION_PREVIEW_MAX")) &&
	         !is_count(v))
		why = "must be a whole number >= 0";
	else if ((!strcmp(key, "TOWLION_DOMAIN") || !strcmp(key, "TOWLION_PREVIEW_DOMAIN")) &&
	         *v && tl_validate_domain(v) != TL_OK)
		why = tl_error_last()->message;
	else if ((!strcmp(key, "TOWLION_DATA_DIR") || !strcmp(key, "TOWLION_APPS_DIR") ||
	          !strcmp(key, "TOWLION_STATE_DIR") || !strcmp(key, "TOWLION_CADDY_DIR") ||
	          !strcmp(key, "TOWLION_BACKUP_DIR")) &&
	         *v != '/')
		why = "must be an absolute path";
	if (!why)
		return TL_OK;
	char reason[512];
	snprintf(reason, sizeof(reason), "%s", why);
	char *shown = shown_value(key, v);
	/* A newline in the value would forge a line of the message. */
	for (char *p = shown; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	int rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "%s: %s=\"%s\": %s", where, key,
	                       shown ? shown : "", reason);
	tl__free_secret(shown);
	return rc;
}

static int slot_set(tl_ctx *ctx, int idx, const char *value, int source)
{
	char *copy = tl__strdup(value);
	if (!copy)
		return TL_ENOMEM;
	tl__free_secret(ctx->slots[idx].value);
	ctx->slots[idx].value = copy;
	ctx->slots[idx].source = source;
	return TL_OK;
}

/* Keys the generated file may not set: they say where it is. */
static bool locates_generated(const char *key)
{
	return !strcmp(key, "TOWLION_DATA_DIR") || !strcmp(key, "TOWLION_STATE_DIR");
}

/* Take the keys of a parsed file into the slots. A generated file
 * (`source` TL_CONFIG_FROM_STATE) only fills keys nothing else has set. */
static int load_keys(tl_ctx *ctx, tl_envfile *env, const char *path, int source)
{
	int rc = TL_OK;
	for (size_t i = 0; i < tl_envfile_count(env) && rc == TL_OK; i++) {
		const char *key, *value;
		tl_envfile_at(env, i, &key, &value);
		char where[600];
		snprintf(where, sizeof(where), "%s:%u", path, tl_envfile_line(env, key));
		int idx = tl__config_index(key);
		if (idx < 0)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s: unknown key %s (see docs/configuration.md "
			                   "for the keys)",
			                   where, key);
		else if (source == TL_CONFIG_FROM_STATE && locates_generated(key))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s: %s cannot be set in the generated file (it says "
			                   "where that file is); set it in %s or the environment",
			                   where, key, TL_CONFIG_DEFAULT_PATH);
		else if ((rc = check_value(key, value, where)) == TL_OK &&
		         !(source == TL_CONFIG_FROM_STATE && ctx->slots[idx].value))
			rc = slot_set(ctx, idx, value, source);
	}
	return rc;
}

static int load_file(tl_ctx *ctx, const char *path, bool must_exist)
{
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, path, 0);
	if (rc == TL_ENOTFOUND && !must_exist)
		return TL_OK;
	if (rc == TL_ENOTFOUND)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG,
		                     "config file %s does not exist; create it or pass "
		                     "another with --config",
		                     path);
	if (rc)
		return rc;
	rc = load_keys(ctx, env, path, TL_CONFIG_FROM_FILE);
	if (rc == TL_OK) {
		ctx->config_path = tl__strdup(path);
		if (!ctx->config_path)
			rc = TL_ENOMEM;
	}
	tl_envfile_free(env);
	return rc;
}

/* Read the generated file through one descriptor, checked first: it holds
 * the platform's passwords, so one that others may read or write, or that
 * is not ours (or root's), is refused rather than used. */
static int read_generated(tl_buf *out, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return TL_ENOTFOUND;
	if (fd < 0 && errno == EACCES)
		return tl__error_os(TL_EAUTH, errno,
		                    "cannot read the generated configuration %s: run towlion "
		                    "as the user that ran `towlion platform init` (root on a "
		                    "server), or set TOWLION_STATE_DIR",
		                    path);
	if (fd < 0)
		return tl__error_os(TL_EIO, errno, "cannot open the generated configuration %s%s",
		                    path, errno == ELOOP ? " (a symbolic link is refused)" : "");
	struct stat st;
	int rc = TL_OK;
	if (fstat(fd, &st) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot look at %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "the generated configuration %s is not a regular file", path);
	else if (st.st_mode & 0077)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "the generated configuration %s has mode %04o: it holds "
		                   "passwords and must be 0600: check what it says, then chmod "
		                   "600 it",
		                   path, (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "the generated configuration %s belongs to uid %u, neither "
		                   "this user nor root: refused",
		                   path, (unsigned)st.st_uid);
	else if (st.st_size > 1024 * 1024)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "the generated configuration %s is larger than 1 MiB", path);
	tl_buf b = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = tl__buf_grow(&b, (size_t)st.st_size + 1);
	while (rc == TL_OK && b.size < (size_t)st.st_size) {
		ssize_t n = read(fd, b.ptr + b.size, (size_t)st.st_size - b.size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = tl__error_os(TL_EIO, errno, "cannot read %s", path);
		else if (n == 0)
			break; /* shrank meanwhile: what is there */
		else
			b.size += (size_t)n;
	}
	close(fd);
	if (rc)
		tl__buf_dispose_secret(&b);
	else
		*out = b;
	return rc;
}

int tl__ctx_load_generated(tl_ctx *ctx)
{
	/* Forget what an earlier read took from it (platform init rereads). */
	for (size_t i = 0; i < tl__config_key_n; i++) {
		tl__config_slot *s = &ctx->slots[i];
		if (s->value && s->source == TL_CONFIG_FROM_STATE) {
			tl__free_secret(s->value);
			s->value = NULL;
		}
	}
	int rc = recompute(ctx);
	char *path = rc ? NULL : tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"),
	                                       TL__GENERATED_CONFIG_NAME);
	if (!path)
		return rc ? rc : TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	tl_envfile *env = NULL;
	rc = read_generated(&text, path);
	if (rc == TL_ENOTFOUND) {
		rc = TL_OK; /* no `platform init` yet: nothing to add */
	} else if (rc == TL_OK &&
	           (rc = tl_envfile_parse(&env, text.ptr ? text.ptr : "", text.size, path)) ==
	               TL_OK) {
		rc = load_keys(ctx, env, path, TL_CONFIG_FROM_STATE);
	}
	tl_envfile_free(env);
	tl__buf_dispose_secret(&text);
	free(path);
	if (rc == TL_OK)
		rc = recompute(ctx);
	return rc;
}

static int load_env(tl_ctx *ctx)
{
	for (size_t i = 0; i < tl__config_key_n; i++) {
		const char *v = getenv(tl__config_keys[i].name);
		if (!v)
			continue;
		char where[128];
		snprintf(where, sizeof(where), "environment variable %s",
		         tl__config_keys[i].name);
		int rc = check_value(tl__config_keys[i].name, v, where);
		if (rc == TL_OK)
			rc = slot_set(ctx, (int)i, v, TL_CONFIG_FROM_ENV);
		if (rc)
			return rc;
	}
	return TL_OK;
}

int tl_ctx_options_init(tl_ctx_options *opts, unsigned int version)
{
	tl_ctx_options def = TL_CTX_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_CTX_OPTIONS_VERSION, "tl_ctx_options");
}

int tl_ctx_new(tl_ctx **out, const tl_ctx_options *opts)
{
	tl_ctx_options def = TL_CTX_OPTIONS_INIT;
	TL__CHECK_ARG(out);
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_CTX_OPTIONS_VERSION, "tl_ctx_options");

	int rc = tl_init();
	if (rc < 0)
		return rc;
	tl_ctx *ctx = tl__calloc(1, sizeof(*ctx));
	if (ctx)
		ctx->slots = tl__calloc(tl__config_key_n, sizeof(*ctx->slots));
	if (!ctx || !ctx->slots) {
		free(ctx);
		tl_shutdown();
		return TL_ENOMEM;
	}
	ctx->event_cb = opts->event_cb;
	ctx->event_payload = opts->event_payload;

	rc = TL_OK;
	if (!(opts->flags & TL_CTX_NO_CONFIG_FILE)) {
		const char *path = opts->config_path ? opts->config_path
		                                     : TL_CONFIG_DEFAULT_PATH;
		rc = load_file(ctx, path, opts->config_path != NULL);
	}
	if (rc == TL_OK && !(opts->flags & TL_CTX_NO_ENV))
		rc = load_env(ctx);
	/* The generated file comes last but fills only what the admin's file
	 * and the environment left unset: defaults < generated < file < env. */
	if (rc == TL_OK && !(opts->flags & TL_CTX_NO_CONFIG_FILE))
		rc = tl__ctx_load_generated(ctx);
	if (rc == TL_OK)
		rc = recompute(ctx);
	if (rc) {
		tl_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return TL_OK;
}

void tl__caddy_snapshot_begin(tl_ctx *ctx)
{
	ctx->caddy_snapshot++;
}

void tl__caddy_snapshot_end(tl_ctx *ctx)
{
	if (ctx->caddy_snapshot > 0 && --ctx->caddy_snapshot == 0) {
		json_decref(ctx->caddy_config);
		ctx->caddy_config = NULL;
	}
}

void **tl__caddy_snapshot_slot(tl_ctx *ctx)
{
	return ctx->caddy_snapshot > 0 ? &ctx->caddy_config : NULL;
}

void tl__docker_snapshot_begin(tl_ctx *ctx)
{
	ctx->docker_snapshot++;
}

void tl__docker_snapshot_end(tl_ctx *ctx)
{
	if (ctx->docker_snapshot > 0 && --ctx->docker_snapshot == 0)
		tl__docker_snapshot_drop(ctx);
}

void **tl__docker_snapshot_slot(tl_ctx *ctx)
{
	return ctx->docker_snapshot > 0 ? &ctx->docker_containers : NULL;
}

void tl__docker_snapshot_drop(tl_ctx *ctx)
{
	json_decref(ctx->docker_containers);
	ctx->docker_containers = NULL;
}

void tl__report_begin(tl_ctx *ctx)
{
	tl__caddy_snapshot_begin(ctx);
	tl__docker_snapshot_begin(ctx);
}

void tl__report_end(tl_ctx *ctx)
{
	tl__docker_snapshot_end(ctx);
	tl__caddy_snapshot_end(ctx);
}

void tl__ctx_docker_count(tl_ctx *ctx, bool list)
{
	ctx->docker_requests++;
	ctx->docker_lists += list;
}

void tl__ctx_docker_counts(const tl_ctx *ctx, unsigned long *requests, unsigned long *lists)
{
	if (requests)
		*requests = ctx ? ctx->docker_requests : 0;
	if (lists)
		*lists = ctx ? ctx->docker_lists : 0;
}

void tl_ctx_free(tl_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < tl__config_key_n; i++) {
		tl__free_secret(ctx->slots[i].value);
		tl__free_secret(ctx->slots[i].shown);
		free(ctx->slots[i].masked);
	}
	free(ctx->slots);
	free(ctx->config_path);
	tl__strv_free(ctx->destroyed);
	tl__strv_free(ctx->purged);
	json_decref(ctx->caddy_config);
	json_decref(ctx->docker_containers);
	free(ctx);
	tl_shutdown();
}

int tl__ctx_remember_destroyed(tl_ctx *ctx, const char *app, bool purged)
{
	int rc = tl__strv_contains(ctx->destroyed, app) ? TL_OK
	                                                : tl__strv_push(&ctx->destroyed, app);
	if (rc == TL_OK && purged && !tl__strv_contains(ctx->purged, app))
		rc = tl__strv_push(&ctx->purged, app);
	return rc;
}

bool tl__ctx_destroyed(const tl_ctx *ctx, const char *app, bool *purged)
{
	if (purged)
		*purged = ctx && tl__strv_contains(ctx->purged, app);
	return ctx && tl__strv_contains(ctx->destroyed, app);
}

const char *tl_ctx_config_get(const tl_ctx *ctx, const char *key)
{
	int idx = tl__config_index(key);
	if (!ctx || idx < 0)
		return NULL;
	return ctx->slots[idx].shown;
}

const char *tl__cfg(const tl_ctx *ctx, const char *key)
{
	const char *v = tl_ctx_config_get(ctx, key);
	return v ? v : "";
}

int tl_ctx_config_set(tl_ctx *ctx, const char *key, const char *value)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(key);
	TL__CHECK_ARG(value);
	int idx = tl__config_index(key);
	if (idx < 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "unknown configuration key %s", key);
	int rc = check_value(key, value, "tl_ctx_config_set");
	if (rc == TL_OK)
		rc = slot_set(ctx, idx, value, TL_CONFIG_FROM_API);
	if (rc == TL_OK)
		rc = recompute(ctx);
	return rc;
}

int tl_ctx_config_at(const tl_ctx *ctx, size_t i, int reveal, const char **key,
                     const char **value, const char **description, int *source)
{
	TL__CHECK_ARG(ctx);
	if (i >= tl__config_key_n)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT,
		                     "configuration key index %zu out of range", i);
	if (key)
		*key = tl__config_keys[i].name;
	if (value)
		*value = reveal ? ctx->slots[i].shown : ctx->slots[i].masked;
	if (description)
		*description = tl__config_keys[i].description;
	if (source)
		*source = ctx->slots[i].value ? ctx->slots[i].source : TL_CONFIG_FROM_DEFAULT;
	return TL_OK;
}

const char *tl_ctx_config_path(const tl_ctx *ctx)
{
	return ctx ? ctx->config_path : NULL;
}

void tl_ctx_set_event_cb(tl_ctx *ctx, tl_event_cb cb, void *payload)
{
	if (!ctx)
		return;
	ctx->event_cb = cb;
	ctx->event_payload = payload;
}
