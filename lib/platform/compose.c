/*
 * The platform compose file, rendered from the service table (services.c).
 * Strings are emitted double-quoted with YAML escapes, and every '$' is
 * doubled so that compose never interpolates what we wrote.
 */
#include "platform_int.h"
#include "towlion/app.h"
#include "towlion/envfile.h"
#include "docker/logrotate.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void q(tl_buf *b, const char *s)
{
	tl__buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			tl__buf_putc(b, '\\');
		if (*s == '$')
			tl__buf_putc(b, '$');
		if (*s == '\n') {
			tl__buf_puts(b, "\\n");
			continue;
		}
		tl__buf_putc(b, *s);
	}
	tl__buf_putc(b, '"');
}

static void qlist(tl_buf *b, const char *const *v)
{
	tl__buf_putc(b, '[');
	for (size_t i = 0; v[i]; i++) {
		if (i)
			tl__buf_puts(b, ", ");
		q(b, v[i]);
	}
	tl__buf_puts(b, "]\n");
}

/* "{http}" and "{https}" in a port mapping are the configured ports. */
static char *port_spec(tl_ctx *ctx, const char *spec)
{
	tl_buf b = TL_BUF_INIT;
	while (*spec) {
		if (!strncmp(spec, "{http}", 6)) {
			tl__buf_puts(&b, tl__cfg(ctx, "TOWLION_HTTP_PORT"));
			spec += 6;
		} else if (!strncmp(spec, "{https}", 7)) {
			tl__buf_puts(&b, tl__cfg(ctx, "TOWLION_HTTPS_PORT"));
			spec += 7;
		} else {
			tl__buf_putc(&b, *spec++);
		}
	}
	return tl__buf_detach(&b);
}

char *tl__plat_mount_source(const tl__plat *p, const char *rel)
{
	if (rel[0] == '/')
		return tl__strdup(rel);
	if (!strncmp(rel, "caddy", 5) && (rel[5] == '\0' || rel[5] == '/'))
		return rel[5] ? tl__path_join(p->caddy, rel + 6) : tl__strdup(p->caddy);
	return tl__path_join(p->data, rel);
}

static const tl__plat_service *svc_named(const char *name)
{
	for (size_t i = 0; i < tl__plat_nservices; i++)
		if (!strcmp(tl__plat_services[i].name, name))
			return &tl__plat_services[i];
	return NULL;
}

static void limits(tl_buf *b, double cpus, int64_t memory)
{
	tl__buf_printf(b,
	               "    deploy:\n      resources:\n        limits:\n"
	               "          cpus: \"%.2f\"\n          memory: %lldM\n",
	               cpus, (long long)(memory / (1024 * 1024)));
}

/* Docker's json-file driver with the size cap every towlion container
 * gets (TOWLION_LOG_MAX_SIZE/_FILE, checked by the caller). */
static void logging(tl_buf *b, tl_ctx *ctx)
{
	const char *size, *files;
	if (tl__log_rotation(&size, &files, ctx) || !strcmp(size, "0"))
		return;
	tl__buf_puts(b, "    logging:\n      driver: json-file\n      options:\n        max-size: ");
	q(b, size);
	tl__buf_puts(b, "\n        max-file: ");
	q(b, files);
	tl__buf_putc(b, '\n');
}

/* Caddy's admin socket path when TOWLION_CADDY_ADMIN is unix:///path
 * and `s` is Caddy; NULL otherwise. */
static const char *admin_socket(tl_ctx *ctx, const tl__plat_service *s)
{
	const char *a = tl__cfg(ctx, "TOWLION_CADDY_ADMIN");
	if (strcmp(s->name, "caddy") || strncmp(a, "unix:///", 8) || !a[8])
		return NULL;
	return a + 7;
}

static void service(tl_buf *b, tl_ctx *ctx, const tl__plat *p, const tl__plat_service *s,
                    const char *const *cmd, const char *const *env_files, bool with_profile)
{
	tl__buf_printf(b, "  %s:\n    image: ", s->name);
	q(b, tl__plat_image(p, s));
	tl__buf_printf(b, "\n    container_name: towlion-%s%s%s\n",
	               p->standalone_app ? p->standalone_app : "", p->standalone_app ? "-" : "",
	               s->name);
	tl__buf_puts(b, "    restart: unless-stopped\n    init: true\n");
	if (with_profile && s->profiles) {
		/* Compose runs a service when any of its profiles is on. */
		tl__buf_puts(b, "    profiles: [");
		for (unsigned bit = 1, n = 0; bit <= s->profiles; bit <<= 1)
			if (s->profiles & bit)
				tl__buf_printf(b, "%s%s", n++ ? ", " : "", tl__plat_profile_name(bit));
		tl__buf_puts(b, "]\n");
	}
	if (cmd) {
		tl__buf_puts(b, "    command: ");
		qlist(b, cmd);
	}
	const char *const *keys = NULL;
	if (s->env_file && env_files && !p->standalone_app &&
	    tl__plat_env_keys(&keys, s->name) == TL_OK) {
		/* Only the secrets this service needs (netplan.c). */
		char *own = keys ? tl__plat_service_env(p, s->name) : NULL;
		if (own) {
			const char *files[] = {own, NULL};
			tl__buf_puts(b, "    env_file: ");
			qlist(b, files);
		}
		free(own);
	} else if (s->env_file && env_files) {
		tl__buf_puts(b, "    env_file: ");
		qlist(b, env_files);
	}
	if (s->env) {
		tl__buf_puts(b, "    environment:\n");
		for (size_t i = 0; s->env[i]; i++) {
			const char *eq = strchr(s->env[i], '=');
			tl__buf_printf(b, "      %.*s: ", (int)(eq - s->env[i]), s->env[i]);
			q(b, eq + 1);
			tl__buf_putc(b, '\n');
		}
		char *root_url = tl__plat_root_url(ctx, s->name);
		if (root_url) {
			tl__buf_puts(b, "      GF_SERVER_ROOT_URL: ");
			q(b, root_url);
			tl__buf_putc(b, '\n');
		}
		free(root_url);
	}
	const char *sock = admin_socket(ctx, s);
	if (s->mounts || sock) {
		tl__buf_puts(b, "    volumes:\n");
		if (sock) {
			/* The admin socket's directory, at the same path inside:
			 * TOWLION_CADDY_ADMIN names it for both sides. */
			char *dir = tl__strndup(sock, (size_t)(strrchr(sock, '/') - sock));
			char *v = dir ? tl__sprintf("%s:%s", dir, dir) : NULL;
			tl__buf_puts(b, "      - ");
			q(b, v ? v : "");
			tl__buf_putc(b, '\n');
			free(dir);
			free(v);
		}
		for (size_t i = 0; s->mounts && s->mounts[i].rel; i++) {
			char *src = tl__plat_mount_source(p, s->mounts[i].rel);
			char *v = src ? tl__sprintf("%s:%s%s", src, s->mounts[i].target,
			                            s->mounts[i].read_only ? ":ro" : "")
			              : NULL;
			tl__buf_puts(b, "      - ");
			q(b, v ? v : "");
			tl__buf_putc(b, '\n');
			free(src);
			free(v);
		}
	}
	if (s->ports && !(p->flags & TL_PLATFORM_NO_PORTS)) {
		tl__buf_puts(b, "    ports:\n");
		for (size_t i = 0; s->ports[i]; i++) {
			if (sock && tl__str_endswith(s->ports[i], ":2019"))
				continue; /* the admin API is on the socket only */
			char *ps = port_spec(ctx, s->ports[i]);
			tl__buf_puts(b, "      - ");
			q(b, ps ? ps : "");
			tl__buf_putc(b, '\n');
			free(ps);
		}
	}
	if (s->health) {
		tl__buf_puts(b, "    healthcheck:\n      test: ");
		const char *sock_health[] = {"CMD", "test", "-S", sock, NULL};
		qlist(b, sock ? sock_health : s->health);
		tl__buf_puts(b, "      interval: 10s\n      timeout: 5s\n      retries: 5\n"
		                "      start_period: 30s\n");
	}
	limits(b, s->cpus, s->memory);
	logging(b, ctx);
	tl__buf_printf(b, "    labels:\n      towlion.platform: \"1\"\n      towlion.service: %s\n",
	               s->name);
	if (s->depends && !p->standalone_app) {
		tl__buf_puts(b, "    depends_on:\n");
		for (size_t i = 0; s->depends[i]; i++) {
			const tl__plat_service *d = svc_named(s->depends[i]);
			tl__buf_printf(b, "      %s:\n        condition: %s\n", s->depends[i],
			               d && d->health ? "service_healthy" : "service_started");
		}
	}
	/* Tenants never join these (netplan.c); the standalone file is one
	 * app's own server. */
	unsigned nets = p->standalone_app ? TL__PLAT_NET_EDGE : tl__plat_networks(s->name);
	tl__buf_printf(b, "    networks: [%s%s%s]\n", nets & TL__PLAT_NET_EDGE ? "towlion" : "",
	               nets == (TL__PLAT_NET_EDGE | TL__PLAT_NET_INTERNAL) ? ", " : "",
	               nets & TL__PLAT_NET_INTERNAL ? "internal" : "");
}

static int render_shared(tl_buf *b, tl_ctx *ctx, const tl__plat *p)
{
	const char *env_files[] = {p->env_file, NULL};
	tl__buf_puts(b, "# The Towlion platform services, written by `towlion platform compose`.\n"
	                "# Secrets come from platform.env (0600); none is written here.\n"
	                "# The optional services start with COMPOSE_PROFILES=logs,metrics\n"
	                "# (either one also starts grafana; docs/observability.md).\n"
	                "services:\n");
	for (size_t i = 0; i < tl__plat_nservices; i++)
		service(b, ctx, p, &tl__plat_services[i], tl__plat_services[i].cmd, env_files, true);
	tl__buf_puts(b, "networks:\n  towlion:\n    external: true\n    name: ");
	q(b, tl__cfg(ctx, "TOWLION_NETWORK"));
	/* The collectors' network: no tenant on it, no route out. */
	char *internal = tl__plat_internal_network(ctx);
	if (!internal)
		return TL_ENOMEM;
	tl__buf_puts(b, "\n  internal:\n    internal: true\n    name: ");
	q(b, internal);
	tl__buf_putc(b, '\n');
	free(internal);
	if (strncmp(tl__cfg(ctx, "TOWLION_CADDY_ADMIN"), "unix:///", 8))
		return tl__log(ctx, TL_LOG_WARN,
		               "TOWLION_CADDY_ADMIN is not a unix socket: Caddy's admin API in a "
		               "container listens on an address every network Caddy joins can "
		               "reach; set TOWLION_CADDY_ADMIN=unix://%s/caddy-admin/admin.sock",
		               p->state);
	return TL_OK;
}

/* The domain a standalone app answers on. */
static int standalone_domain(char **out, tl_ctx *ctx, const char *app)
{
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, app);
	if (rc == TL_OK && tl_app_domain_count(a) > 0) {
		*out = tl__strdup(tl_app_domain_at(a, 0));
		tl_app_free(a);
		return *out ? TL_OK : TL_ENOMEM;
	}
	tl_app_free(a);
	if (rc && rc != TL_ENOTFOUND)
		return rc;
	const char *dom = tl__cfg(ctx, "TOWLION_DOMAIN");
	if (!*dom)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s is not registered and TOWLION_DOMAIN is not set: "
		                     "the standalone file needs the app's domain",
		                     app);
	*out = tl__sprintf("%s.%s", app, dom);
	return *out ? TL_OK : TL_ENOMEM;
}

char *tl__plat_standalone_env(const tl__plat *p)
{
	return tl__sprintf("%s/standalone/%s.env", p->state, p->standalone_app);
}

static int render_standalone(tl_buf *b, tl_ctx *ctx, const tl__plat *p)
{
	const char *app = p->standalone_app;
	char *domain = NULL, *appdir = NULL, *app_env = NULL, *sa_env = NULL;
	int rc = standalone_domain(&domain, ctx, app);
	if (rc)
		return rc;
	appdir = tl__path_join(p->apps, app);
	app_env = appdir ? tl__path_join(appdir, ".env") : NULL;
	sa_env = tl__plat_standalone_env(p);
	if (!appdir || !app_env || !sa_env) {
		rc = TL_ENOMEM;
		goto out;
	}
	const char *env_files[] = {p->env_file, NULL};
	tl__buf_printf(b, "# %s with its own platform services, written by\n"
	                  "# `towlion platform compose --standalone %s`. Secrets come from\n"
	                  "# platform.env and %s.env (0600); none is written here.\n"
	                  "services:\n",
	               app, app, app);
	/* The app: built from its checkout, the web service of the app
	 * contract (port 8000), with DATABASE_URL & co from the standalone
	 * env file that compose_write derives from platform.env. */
	tl__buf_puts(b, "  app:\n    build: ");
	q(b, appdir);
	const char *img = NULL;
	for (size_t i = 0; p->images && p->images[i]; i++)
		if (!strncmp(p->images[i], "app=", 4))
			img = p->images[i] + 4;
	char *dflt = tl__sprintf("towlion-standalone/%s:latest", app);
	tl__buf_puts(b, "\n    image: ");
	q(b, img ? img : dflt ? dflt : "");
	free(dflt);
	tl__buf_printf(b, "\n    container_name: towlion-%s-app\n"
	                  "    restart: unless-stopped\n    init: true\n    env_file: [",
	               app);
	struct stat st;
	if (stat(app_env, &st) == 0) {
		q(b, app_env);
		tl__buf_puts(b, ", ");
	}
	q(b, sa_env);
	tl__buf_puts(b, "]\n    environment:\n      APP_DOMAIN: ");
	q(b, domain);
	tl__buf_puts(b, "\n    depends_on:\n      postgres:\n        condition: service_healthy\n"
	                "      redis:\n        condition: service_healthy\n"
	                "      s3:\n        condition: service_healthy\n");
	limits(b, 1.0, 1024LL * 1024 * 1024);
	logging(b, ctx);
	tl__buf_printf(b, "    labels:\n      towlion.app: %s\n      towlion.service: app\n"
	                  "    networks: [towlion]\n",
	               app);
	const char *names[] = {"postgres", "redis", "s3", "caddy"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(names); i++) {
		const tl__plat_service *s = svc_named(names[i]);
		if (!strcmp(names[i], "caddy")) {
			const char *cmd[] = {"caddy", "reverse-proxy", "--from", domain, "--to",
			                     "app:8000", NULL};
			service(b, ctx, p, s, cmd, env_files, false);
			tl__buf_puts(b, "    depends_on: [app]\n");
		} else {
			service(b, ctx, p, s, s->cmd, env_files, false);
		}
	}
	tl__buf_puts(b, "networks:\n  towlion: {}\n");
out:
	free(domain);
	free(appdir);
	free(app_env);
	free(sa_env);
	return rc;
}

int tl_platform_compose_render(tl_buf *out, tl_ctx *ctx, const tl_platform_options *opts)
{
	TL__CHECK_ARG(out);
	tl__plat p;
	int rc = tl__plat_open(&p, ctx, opts);
	if (rc)
		return rc;
	tl_buf b = TL_BUF_INIT;
	const char *size, *files;
	rc = tl__log_rotation(&size, &files, ctx);
	if (rc == TL_OK)
		rc = p.standalone_app ? render_standalone(&b, ctx, &p) : render_shared(&b, ctx, &p);
	if (rc == TL_OK && !b.ptr)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		tl_buf_dispose(out);
		*out = b;
	} else {
		tl_buf_dispose(&b);
	}
	tl__plat_dispose(&p);
	return rc;
}

/* The standalone env file: the app's service URLs, derived from the
 * platform secrets (its own postgres superuser: the database is the app's
 * alone in this mode). */
static int write_standalone_env(tl__plat *p, const char *bucket)
{
	tl_envfile *penv = NULL, *env = NULL;
	char *path = tl__plat_standalone_env(p), *dir = NULL;
	int rc = path ? tl_envfile_open(&penv, p->env_file, 0) : TL_ENOMEM;
	if (rc == TL_ENOTFOUND)
		tl__error_set(rc, TL_ERRCLASS_CONFIG,
		              "%s does not exist: run `towlion platform init` first", p->env_file);
	if (rc == TL_OK)
		rc = tl_envfile_open(&env, path, TL_ENVFILE_CREATE);
	if (rc == TL_OK) {
		const char *pg = tl_envfile_get(penv, "POSTGRES_PASSWORD");
		const char *rd = tl_envfile_get(penv, "REDIS_PASSWORD");
		/* One app alone on its own platform: the store's admin keys are
		 * its own (no other tenant, no backups, share that store). */
		const char *mu = tl_envfile_get(penv, "AWS_ACCESS_KEY_ID");
		const char *mp = tl_envfile_get(penv, "AWS_SECRET_ACCESS_KEY");
		if (!pg || !rd || !mu || !mp) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "%s lacks a secret: run `towlion platform init`",
			                   p->env_file);
		} else {
			char *db = tl__sprintf("postgresql://postgres:%s@postgres:5432/postgres", pg);
			char *rurl = tl__sprintf("redis://:%s@redis:6379/0", rd);
			if (!db || !rurl ||
			    (rc = tl_envfile_set(env, "DATABASE_URL", db)) ||
			    (rc = tl_envfile_set(env, "REDIS_URL", rurl)) ||
			    (rc = tl_envfile_set(env, "S3_ENDPOINT", "http://s3:9000")) ||
			    (rc = tl_envfile_set(env, "S3_ACCESS_KEY", mu)) ||
			    (rc = tl_envfile_set(env, "S3_SECRET_KEY", mp)) ||
			    (rc = tl_envfile_set(env, "S3_BUCKET", bucket)))
				rc = rc ? rc : TL_ENOMEM;
			tl__free_secret(db);
			tl__free_secret(rurl);
		}
	}
	if (rc == TL_OK && (dir = tl__sprintf("%s/standalone", p->state)) &&
	    (rc = tl__mkdir_p(dir, 0700)) == TL_OK)
		rc = tl_envfile_save(env, path, 0600);
	free(dir);
	free(path);
	tl_envfile_free(env);
	tl_envfile_free(penv);
	return rc;
}

/* Each service's own env file: only the platform.env keys it needs
 * (netplan.c), 0600 in a 0700 directory. */
static int write_service_envs(tl_ctx *ctx, tl__plat *p)
{
	tl_envfile *penv = NULL;
	int rc = tl_envfile_open(&penv, p->env_file, 0);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		return tl__log(ctx, TL_LOG_WARN,
		               "%s does not exist yet: the services' env files are written once "
		               "`towlion platform init` made it",
		               p->env_file);
	}
	char *dir = rc ? NULL : tl__sprintf("%s/platform-env", p->state);
	if (rc == TL_OK)
		rc = dir ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < tl__plat_nservices; i++) {
		const tl__plat_service *s = &tl__plat_services[i];
		const char *const *keys = NULL;
		if (!s->env_file || tl__plat_env_keys(&keys, s->name) != TL_OK || !keys)
			continue;
		tl_envfile *own = NULL;
		char *path = tl__plat_service_env(p, s->name);
		rc = path ? tl_envfile_open(&own, path, TL_ENVFILE_CREATE) : TL_ENOMEM;
		for (size_t k = 0; rc == TL_OK && keys[k]; k++) {
			const char *v = tl_envfile_get(penv, keys[k]);
			if (!v)
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
				                   "%s lacks %s (for %s): run `towlion platform init`",
				                   p->env_file, keys[k], s->name);
			else
				rc = tl_envfile_set(own, keys[k], v);
		}
		if (rc == TL_OK)
			rc = tl_envfile_save(own, path, 0600);
		tl_envfile_free(own);
		free(path);
	}
	free(dir);
	tl_envfile_free(penv);
	return rc;
}

int tl_platform_compose_write(tl_buf *written, tl_ctx *ctx, const char *path,
                              const tl_platform_options *opts)
{
	tl__plat p;
	int rc = tl__plat_open(&p, ctx, opts);
	if (rc)
		return rc;
	tl_buf text = TL_BUF_INIT;
	char *dest = path ? tl__strdup(path)
	           : p.standalone_app ? tl__sprintf("%s/%s-compose.yml", p.state, p.standalone_app)
	                              : tl__path_join(p.state, "platform-compose.yml");
	if (!dest) {
		rc = TL_ENOMEM;
		goto out;
	}
	if ((rc = tl_platform_compose_render(&text, ctx, opts)))
		goto out;
	if (p.flags & TL_PLATFORM_DRY_RUN)
		goto done;
	if (p.standalone_app) {
		char *bucket = tl__sprintf("%s-uploads", p.standalone_app);
		rc = bucket ? write_standalone_env(&p, bucket) : TL_ENOMEM;
		free(bucket);
		if (rc)
			goto out;
	}
	if (!p.standalone_app && (rc = write_service_envs(ctx, &p)))
		goto out;
	/* The directory of Caddy's admin socket: the host's only (0700). */
	const char *admin = tl__cfg(ctx, "TOWLION_CADDY_ADMIN");
	if (!p.standalone_app && !strncmp(admin, "unix:///", 8) && admin[8]) {
		char *sdir = tl__strndup(admin + 7, (size_t)(strrchr(admin + 7, '/') - (admin + 7)));
		rc = sdir ? tl__mkdir_p(sdir, 0700) : TL_ENOMEM;
		free(sdir);
		if (rc)
			goto out;
	}
	if ((rc = tl__file_write_atomic(dest, text.ptr, text.size, 0644)))
		goto out;
done:
	rc = tl__step(ctx, "platform.compose", dest, "%s %s",
	              p.flags & TL_PLATFORM_DRY_RUN ? "would write" : "wrote", dest);
	if (rc == TL_OK && written) {
		tl__buf_clear(written);
		rc = tl__buf_puts(written, dest);
	}
out:
	free(dest);
	tl_buf_dispose(&text);
	tl__plat_dispose(&p);
	return rc;
}
