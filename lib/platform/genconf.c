/*
 * TOWLION_STATE_DIR/towlion.conf: what `platform init` generated, said in
 * towlion's own configuration keys, so that every towlion command reaches
 * the platform's services with their passwords (lib/core/ctx.c reads it
 * under /etc/towlion/towlion.conf and the environment).
 *
 * The values follow from platform.env and the service table: PostgreSQL,
 * Redis and the object store are published on the host's loopback
 * (services.c), Caddy's admin API is a unix socket in a 0700 directory of
 * the state dir that the Caddy container gets bound at the same path
 * (lifecycle.c), so no tenant and no TCP port reaches it.
 *
 * A rerun keeps what is already right, says which keys it changed (never
 * their values) and leaves keys an admin added to the file alone.
 */
#include "platform_int.h"
#include "core/url.h"
#include "towlion/envfile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CADDY_ADMIN_DIR "caddy-admin"

char *tl__plat_caddy_admin_socket(tl_ctx *ctx)
{
	return tl__sprintf("%s/" CADDY_ADMIN_DIR "/admin.sock", tl__cfg(ctx, "TOWLION_STATE_DIR"));
}

/* "scheme://user:PASSWORD@rest", the user and password percent-encoded. */
static char *url_with_password(const char *scheme, const char *user, const char *password,
                               const char *rest)
{
	tl_buf b = TL_BUF_INIT;
	int rc = tl__url_put_userinfo(&b, scheme, user, password);
	if (rc == TL_OK)
		rc = tl__buf_puts(&b, rest);
	if (rc) {
		tl__buf_dispose_secret(&b);
		return NULL;
	}
	return tl__buf_detach(&b);
}

typedef struct {
	const char *key;
	char *value;
} conf_entry;

/* The keys and values init generates from platform.env (`env`). */
static int generate(conf_entry *e, size_t *n, tl_ctx *ctx, const tl_envfile *env)
{
	const char *pg = tl_envfile_get(env, "POSTGRES_PASSWORD");
	const char *redis = tl_envfile_get(env, "REDIS_PASSWORD");
	const char *ak = tl_envfile_get(env, "AWS_ACCESS_KEY_ID");
	const char *sk = tl_envfile_get(env, "AWS_SECRET_ACCESS_KEY");
	if (!pg || !redis || !ak || !sk)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "platform.env lacks a generated secret; run `towlion platform "
		                     "init` again");
	size_t i = 0;
	e[i].key = "TOWLION_PG_URL";
	e[i++].value = url_with_password("postgresql", "postgres", pg, "127.0.0.1:5432/postgres");
	e[i].key = "TOWLION_REDIS_URL";
	e[i++].value = url_with_password("redis", "default", redis, "127.0.0.1:6379");
	e[i].key = "TOWLION_S3_ENDPOINT";
	e[i++].value = tl__strdup("http://127.0.0.1:9000");
	e[i].key = "TOWLION_S3_APP_ENDPOINT";
	e[i++].value = tl__strdup("http://s3:9000");
	e[i].key = "TOWLION_S3_ADMIN_API";
	e[i++].value = tl__strdup("iam");
	e[i].key = "TOWLION_S3_ACCESS_KEY";
	e[i++].value = tl__strdup(ak);
	e[i].key = "TOWLION_S3_SECRET_KEY";
	e[i++].value = tl__strdup(sk);
	char *sock = tl__plat_caddy_admin_socket(ctx);
	e[i].key = "TOWLION_CADDY_ADMIN";
	e[i++].value = sock ? tl__sprintf("unix://%s", sock) : NULL;
	free(sock);
	*n = i;
	for (size_t k = 0; k < i; k++)
		if (!e[k].value)
			return TL_ENOMEM;
	return TL_OK;
}

int tl__plat_write_conf(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p,
                        const tl_envfile *platform_env)
{
	bool dry = p->flags & TL_PLATFORM_DRY_RUN;
	conf_entry e[16] = {{0}};
	size_t n = 0;
	char *path = tl__path_join(p->state, TL__GENERATED_CONFIG_NAME);
	tl_envfile *conf = NULL;
	int rc = path ? generate(e, &n, ctx, platform_env) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl_envfile_open(&conf, path, TL_ENVFILE_CREATE);
	bool changed = false;
	for (size_t i = 0; i < n && rc == TL_OK; i++) {
		const char *cur = tl_envfile_get(conf, e[i].key);
		if (cur && !strcmp(cur, e[i].value))
			continue;
		changed = true;
		if ((rc = tl_envfile_set(conf, e[i].key, e[i].value)) == TL_OK)
			rc = tl__plat_step(r, "config", e[i].key, 1, cur ? "updated" : "set");
	}
	struct stat st;
	bool loose = stat(path ? path : "", &st) == 0 && (st.st_mode & 0077);
	if (rc == TL_OK && (changed || loose)) {
		if (!dry)
			rc = tl_envfile_save(conf, path, 0600);
		if (rc == TL_OK)
			rc = tl__plat_step(r, "write", path, 1, "0600, %s",
			                   changed ? "towlion's configuration" : "mode fixed");
	} else if (rc == TL_OK) {
		rc = tl__plat_step(r, "write", path, 0, "up to date");
	}
	/* The socket's directory: only root (the host's towlion and Caddy,
	 * which runs as root in its container) may enter it. */
	char *sock = rc ? NULL : tl__plat_caddy_admin_socket(ctx);
	if (rc == TL_OK && !sock)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		*strrchr(sock, '/') = '\0';
		char *dir = *p->root ? tl__path_join(p->root, sock + 1) : tl__strdup(sock);
		rc = dir ? TL_OK : TL_ENOMEM;
		if (rc == TL_OK && stat(dir, &st) != 0) {
			if (!dry)
				rc = tl__mkdir_p(dir, 0700);
			if (rc == TL_OK)
				rc = tl__plat_step(r, "mkdir", dir, 1, "0700, Caddy's admin socket");
		}
		free(dir);
	}
	free(sock);
	/* This context reads it now, as every later command will. */
	if (rc == TL_OK && !dry && !*p->root)
		rc = tl__ctx_load_generated(ctx);
	for (size_t i = 0; i < n; i++)
		tl__free_secret(e[i].value);
	tl_envfile_free(conf);
	free(path);
	return rc;
}
