/*
 * `platform up` / `platform down`: the platform services as containers,
 * through the Docker API, from the same table as the compose file.
 */
#include "platform_int.h"
#include "towlion/validate.h"
#include "towlion/docker.h"
#include "towlion/envfile.h"
#include "docker/logrotate.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "127.0.0.1:9000:9000" or "80:80" -> host ip, host port, container port */
static int parse_port(const char *spec, char *ip, size_t iplen, int *host, int *cont)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *parts[3];
	int n = 0;
	for (char *s = buf, *t; n < 3 && (t = strsep(&s, ":"));)
		parts[n++] = t;
	if (n < 2)
		return TL_EINVALID;
	snprintf(ip, iplen, "%s", n == 3 ? parts[0] : "");
	uint64_t h, c;
	if (tl_parse_uint(&h, parts[n - 2], 1, 65535, "host port") ||
	    tl_parse_uint(&c, parts[n - 1], 1, 65535, "container port"))
		return TL_EINVALID;
	*host = (int)h;
	*cont = (int)c;
	return TL_OK;
}

static int build_spec(tl_docker_container_spec **out, tl_ctx *ctx, const tl__plat *p,
                      const tl__plat_service *s, const tl_envfile *env)
{
	tl_docker_container_spec *sp = NULL;
	char *name = tl__sprintf("towlion-%s", s->name), *internal = NULL;
	int rc = name ? tl_docker_container_spec_new(&sp, tl__plat_image(p, s)) : TL_ENOMEM;
	if (rc)
		goto out;
	/* Its first network at create (netplan.c); Caddy joins the internal
	 * one too, in up_one(). */
	internal = tl__plat_internal_network(ctx);
	const char *net = tl__plat_networks(s->name) & TL__PLAT_NET_EDGE
	                      ? tl__cfg(ctx, "TOWLION_NETWORK")
	                      : internal;
	if (!internal) {
		rc = TL_ENOMEM;
		goto out;
	}
	if ((rc = tl_docker_container_spec_set_name(sp, name)) ||
	    (rc = tl_docker_container_spec_add_label(sp, "towlion.platform", "1")) ||
	    (rc = tl_docker_container_spec_add_label(sp, "towlion.service", s->name)) ||
	    (rc = tl_docker_container_spec_set_network(sp, net)) ||
	    (rc = tl_docker_container_spec_add_alias(sp, s->name)) ||
	    (rc = tl_docker_container_spec_set_restart(sp, "unless-stopped", 0)) ||
	    (rc = tl_docker_container_spec_set_init(sp, 1)) ||
	    (rc = tl_docker_container_spec_set_cpus(sp, s->cpus)) ||
	    (rc = tl_docker_container_spec_set_memory(sp, s->memory)))
		goto out;
	if (s->cmd && (rc = tl_docker_container_spec_set_cmd(sp, s->cmd)))
		goto out;
	if ((rc = tl__docker_spec_rotate_logs(sp, ctx)))
		goto out;
	/* Caddy's admin API on a unix socket (TOWLION_CADDY_ADMIN=unix:///path):
	 * its directory at the same path inside, no admin port anywhere. */
	const char *admin = tl__cfg(ctx, "TOWLION_CADDY_ADMIN");
	const char *sock = !strcmp(s->name, "caddy") && !strncmp(admin, "unix:///", 8) && admin[8]
	                       ? admin + 7
	                       : NULL;
	const char *sock_health[] = {"CMD", "test", "-S", sock, NULL};
	if (sock) {
		char *sdir = tl__strndup(sock, (size_t)(strrchr(sock, '/') - sock));
		rc = sdir ? tl__mkdir_p(sdir, 0700) : TL_ENOMEM;
		if (rc == TL_OK)
			rc = tl_docker_container_spec_add_bind(sp, sdir, sdir, 0);
		free(sdir);
		if (rc)
			goto out;
	}
	if (s->health && (rc = tl_docker_container_spec_set_healthcheck(
	                      sp, sock ? sock_health : s->health, 2000, 5000, 30, 0)))
		goto out;
	for (size_t i = 0; s->env && s->env[i] && rc == TL_OK; i++) {
		const char *eq = strchr(s->env[i], '=');
		char *k = tl__strndup(s->env[i], (size_t)(eq - s->env[i]));
		rc = k ? tl_docker_container_spec_add_env(sp, k, eq + 1) : TL_ENOMEM;
		free(k);
	}
	char *root_url = tl__plat_root_url(ctx, s->name);
	if (root_url && rc == TL_OK)
		rc = tl_docker_container_spec_add_env(sp, "GF_SERVER_ROOT_URL", root_url);
	free(root_url);
	/* Secrets travel in the create request's Env (as env_file does),
	 * never on a command line and never in events. */
	const char *const *keys = NULL;
	bool only_keys = tl__plat_env_keys(&keys, s->name) == TL_OK;
	for (size_t i = 0; s->env_file && rc == TL_OK && i < tl_envfile_count(env); i++) {
		const char *k, *v;
		bool wanted_key = !only_keys;
		if ((rc = tl_envfile_at(env, i, &k, &v)) != TL_OK)
			break;
		for (size_t n = 0; only_keys && keys && keys[n] && !wanted_key; n++)
			wanted_key = !strcmp(keys[n], k);
		if (wanted_key) /* only the secrets this service needs (netplan.c) */
			rc = tl_docker_container_spec_add_env(sp, k, v);
	}
	for (size_t i = 0; s->mounts && s->mounts[i].rel && rc == TL_OK; i++) {
		char *src = tl__plat_mount_source(p, s->mounts[i].rel);
		struct stat st;
		/* A host view a collector reads (/var/log...) that this machine
		 * lacks is left out rather than failing the service. */
		if (src && s->mounts[i].rel[0] == '/' && stat(src, &st) != 0)
			rc = tl__log(ctx, TL_LOG_WARN, "%s: %s does not exist, not mounted", s->name, src);
		else
			rc = src ? tl_docker_container_spec_add_bind(sp, src, s->mounts[i].target,
			                                             s->mounts[i].read_only)
			         : TL_ENOMEM;
		free(src);
	}
	for (size_t i = 0; !(p->flags & TL_PLATFORM_NO_PORTS) && s->ports && s->ports[i] &&
	                   rc == TL_OK;
	     i++) {
		char ip[64], spec[128];
		int host, cont;
		if (sock && tl__str_endswith(s->ports[i], ":2019"))
			continue; /* the admin API is on the socket only */
		snprintf(spec, sizeof(spec), "%s", s->ports[i]);
		if (strstr(spec, "{http}") || strstr(spec, "{https}")) {
			const char *port = tl__cfg(ctx, strstr(spec, "{https}") ? "TOWLION_HTTPS_PORT"
			                                                        : "TOWLION_HTTP_PORT");
			snprintf(spec, sizeof(spec), "%s:%s", port, port);
		}
		if (parse_port(spec, ip, sizeof(ip), &host, &cont))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                   "bad port mapping \"%s\" for %s", spec, s->name);
		else
			rc = tl_docker_container_spec_add_port(sp, cont, "tcp", *ip ? ip : NULL, host);
	}
out:
	free(internal);
	free(name);
	if (rc)
		tl_docker_container_spec_free(sp);
	else
		*out = sp;
	return rc;
}

/* Wait until the container is healthy (or running without a check). */
static int wait_healthy(tl_ctx *ctx, tl_docker *d, const char *name, long timeout_ms,
                        tl_buf *state)
{
	int64_t t0 = tl__clock_ms();
	for (;;) {
		tl_docker_container *c = NULL;
		int rc = tl_docker_container_inspect(&c, d, name);
		if (rc)
			return rc;
		const char *h = tl_docker_container_health(c);
		const char *st = tl_docker_container_state(c);
		bool running = tl_docker_container_running(c);
		bool healthy = running && (!*h || !strcmp(h, "healthy"));
		bool stopped = !running && (!strcmp(st, "exited") || !strcmp(st, "dead"));
		tl__buf_clear(state);
		tl__buf_printf(state, "%s%s%s", st, *h ? ", " : "", h);
		tl_docker_container_free(c);
		if (healthy)
			return TL_OK;
		if (stopped)
			return tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DOCKER,
			                     "platform service container %s stopped (%s); see "
			                     "`docker logs %s`",
			                     name, state->ptr, name);
		if (tl__clock_ms() - t0 > timeout_ms)
			return tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DOCKER,
			                     "platform service container %s is not healthy after %ld "
			                     "ms (%s); see `docker logs %s`",
			                     name, timeout_ms, state->ptr, name);
		if ((rc = tl__cancelled(ctx)))
			return rc;
		usleep(250 * 1000);
	}
}

/* Make one service's container exist and run. */
static int up_one(tl_platform_report *r, tl_ctx *ctx, tl_docker *d, const tl__plat *p,
                  const tl__plat_service *s, const tl_envfile *env)
{
	bool dry = p->flags & TL_PLATFORM_DRY_RUN;
	char *name = tl__sprintf("towlion-%s", s->name);
	const char *image = tl__plat_image(p, s);
	tl_docker_container *c = NULL;
	tl_docker_container_spec *sp = NULL;
	int rc = name ? tl_docker_container_inspect(&c, d, name) : TL_ENOMEM;
	if (rc && rc != TL_ENOTFOUND)
		goto out;
	if (rc == TL_OK && (!tl_docker_container_label(c, "towlion.platform") ||
	                    strcmp(tl_docker_container_label(c, "towlion.service"), s->name))) {
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
		                   "a container named %s exists but is not the platform's %s "
		                   "service; rename or remove it",
		                   name, s->name);
		goto out;
	}
	if (rc == TL_OK && strcmp(tl_docker_container_image(c), image)) {
		/* Another image (an upgrade): replace the container; the data
		 * lives in the binds. */
		if ((rc = tl__plat_step(r, "remove", name, 1, "image %s -> %s",
		                        tl_docker_container_image(c), image)))
			goto out;
		if (!dry && (rc = tl_docker_container_remove(d, name, TL_DOCKER_REMOVE_FORCE)))
			goto out;
		tl_docker_container_free(c);
		c = NULL;
		rc = TL_ENOTFOUND;
	}
	if (rc == TL_ENOTFOUND) {
		if ((rc = build_spec(&sp, ctx, p, s, env)) ||
		    (!dry && (rc = tl_docker_container_create(NULL, d, sp))) ||
		    (rc = tl__plat_step(r, "create", name, 1, "%s", image)))
			goto out;
		if (!dry && tl__plat_networks(s->name) ==
		                (TL__PLAT_NET_EDGE | TL__PLAT_NET_INTERNAL)) {
			char *internal = tl__plat_internal_network(ctx);
			const char *alias[] = {s->name, NULL};
			rc = internal ? tl_docker_network_connect(d, internal, name, alias) : TL_ENOMEM;
			free(internal);
			if (rc)
				goto out;
		}
	} else if ((rc = tl__plat_step(r, "create", name, 0, "exists (%s)", image))) {
		goto out;
	}
	bool running = c && tl_docker_container_running(c);
	if ((rc = tl__plat_step(r, "start", name, !running, running ? "running" : "started")) ||
	    dry || (!running && (rc = tl_docker_container_start(d, name))))
		goto out;
	tl_buf state = TL_BUF_INIT;
	int64_t t0 = tl__clock_ms();
	if ((rc = wait_healthy(ctx, d, name, p->timeout_ms, &state)) == TL_OK)
		rc = tl__plat_step(r, "healthy", name, 0, "%s", state.ptr);
	tl_buf_dispose(&state);
	/* Healthy to Docker; then answering towlion, within the same time. */
	if (rc == TL_OK) {
		long spent = (long)(tl__clock_ms() - t0);
		rc = tl__plat_wait_answers(r, ctx, d, p, s->name,
		                           p->timeout_ms > spent ? p->timeout_ms - spent : 0);
	}
out:
	tl_docker_container_spec_free(sp);
	tl_docker_container_free(c);
	free(name);
	return rc;
}

int tl_platform_up(tl_platform_report **out, tl_ctx *ctx, const tl_platform_options *opts)
{
	tl__plat p;
	int rc = tl__plat_open(&p, ctx, opts);
	if (rc)
		return rc;
	tl_platform_report *r = tl__plat_report_new();
	tl_envfile *env = NULL;
	tl_docker *d = NULL;
	if (!r) {
		rc = TL_ENOMEM;
		goto out;
	}
	unsigned profiles = 0;
	if ((rc = tl__plat_profiles(&profiles, ctx, p.flags)))
		goto out;
	if ((rc = tl_envfile_open(&env, p.env_file, 0))) {
		if (rc == TL_ENOTFOUND)
			tl__error_set(rc, TL_ERRCLASS_CONFIG,
			              "%s does not exist: run `towlion platform init` first", p.env_file);
		goto out;
	}
	if ((rc = tl_docker_open(&d, ctx)))
		goto out;
	const char *net = tl__cfg(ctx, "TOWLION_NETWORK");
	int created = 0;
	const char *labels[] = {"towlion.platform=1", NULL};
	if (!(p.flags & TL_PLATFORM_DRY_RUN) &&
	    (rc = tl_docker_network_ensure(&created, d, net, labels)))
		goto out;
	if ((rc = tl__plat_step(r, "network", net, created, created ? "created" : "exists")))
		goto out;
	/* The collectors' network: internal (no route out), no tenant on it. */
	char *internal = tl__plat_internal_network(ctx);
	created = 0;
	if (!internal)
		rc = TL_ENOMEM;
	else if (!(p.flags & TL_PLATFORM_DRY_RUN))
		rc = tl_docker_network_ensure_internal(&created, d, internal, labels);
	if (rc == TL_OK)
		rc = tl__plat_step(r, "network", internal, created, created ? "created" : "exists");
	free(internal);
	if (rc)
		goto out;
	for (size_t i = 0; i < tl__plat_nservices && rc == TL_OK; i++) {
		const tl__plat_service *s = &tl__plat_services[i];
		if (!tl__plat_service_wanted(s, profiles))
			continue;
		if ((rc = tl__step(ctx, "platform.up", s->name, "starting %s", s->name)) == TL_OK)
			rc = up_one(r, ctx, d, &p, s, env);
	}
	/* grafana.<domain> and storage.<domain> (observe.c). */
	if (rc == TL_OK)
		rc = tl__plat_routes(r, ctx, &p, profiles);
	/* Apps still on the flat network of an older platform move to their
	 * own networks now that Caddy runs (live, without a failed request). */
	if (rc == TL_OK && !(p.flags & TL_PLATFORM_DRY_RUN)) {
		tl_platform_report *mr = NULL;
		tl_platform_options mo = TL_PLATFORM_OPTIONS_INIT;
		rc = tl_platform_migrate_networks(&mr, ctx, &mo);
		for (size_t i = 0; rc == TL_OK && i < tl_platform_report_count(mr); i++) {
			const tl_platform_step *st = tl_platform_report_at(mr, i);
			if (st->changed)
				rc = tl__plat_step(r, st->action, st->subject, 1, "%s", st->detail);
		}
		tl_platform_report_free(mr);
	}
out:
	tl_docker_free(d);
	tl_envfile_free(env);
	tl__plat_dispose(&p);
	if (rc || !out)
		tl_platform_report_free(r);
	else
		*out = r;
	return rc;
}

int tl_platform_down(tl_platform_report **out, tl_ctx *ctx, const tl_platform_options *opts)
{
	tl__plat p;
	int rc = tl__plat_open(&p, ctx, opts);
	if (rc)
		return rc;
	bool dry = p.flags & TL_PLATFORM_DRY_RUN;
	tl_platform_report *r = tl__plat_report_new();
	tl_docker *d = NULL;
	if (!r) {
		rc = TL_ENOMEM;
		goto out;
	}
	if ((rc = tl_docker_open(&d, ctx)))
		goto out;
	/* Reverse start order: the proxy and collectors before the stores. */
	for (size_t k = tl__plat_nservices; k-- > 0 && rc == TL_OK;) {
		const tl__plat_service *s = &tl__plat_services[k];
		char *name = tl__sprintf("towlion-%s", s->name);
		tl_docker_container *c = NULL;
		if (!name) {
			rc = TL_ENOMEM;
			break;
		}
		rc = tl_docker_container_inspect(&c, d, name);
		if (rc == TL_ENOTFOUND) {
			rc = TL_OK;
		} else if (rc == TL_OK && !tl_docker_container_label(c, "towlion.platform")) {
			rc = tl__plat_step(r, "remove", name, 0, "not a platform container: left alone");
		} else if (rc == TL_OK &&
		           (rc = tl__step(ctx, "platform.down", s->name, "stopping %s", s->name)) ==
		               TL_OK) {
			bool running = tl_docker_container_running(c);
			if (!dry && running)
				rc = tl_docker_container_stop(d, name, 30);
			if (rc == TL_OK)
				rc = tl__plat_step(r, "stop", name, running, running ? "stopped" : "not running");
			if (rc == TL_OK && !dry)
				rc = tl_docker_container_remove(d, name, 0);
			if (rc == TL_OK)
				rc = tl__plat_step(r, "remove", name, 1, "removed (data kept)");
		}
		tl_docker_container_free(c);
		free(name);
	}
out:
	tl_docker_free(d);
	tl__plat_dispose(&p);
	if (rc || !out)
		tl_platform_report_free(r);
	else
		*out = r;
	return rc;
}
