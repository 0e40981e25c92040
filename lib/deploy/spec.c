/*
 * The Docker side of a service: the container spec every container of a
 * release gets (labels, env, mounts, limits, network, ports), and the
 * message of a failed container with its last log lines.
 */
#include "runtime.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "bindsnap.h"
#include "mount_entry.h"
#include "core/pathwalk.h"
#include "docker/logrotate.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- labels and names ------------------------------------------------ */

int tl__label_filter(char ***out, const tl__project *p, const char *release)
{
	int rc = tl__strv_pushf(out, "towlion.project=%s", p->name);
	if (rc == TL_OK && release)
		rc = tl__strv_pushf(out, "towlion.release=%s", release);
	return rc;
}

static int add_labels(tl_docker_container_spec *s, const tl__deploy_attempt *a, const tl__svc *svc,
                      const char *role)
{
	int rc = tl_docker_container_spec_add_label(s, "towlion.app", a->p->app);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_add_label(s, "towlion.project", a->p->name);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_add_label(s, "towlion.release", a->release_id);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_add_label(s, "towlion.service", svc->name);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_add_label(s, "towlion.role", role);
	if (rc == TL_OK && a->p->pr)
		rc = tl_docker_container_spec_add_label(s, "towlion.pr", a->p->pr);
	for (size_t i = 0; rc == TL_OK && svc->labels && svc->labels[i]; i++) {
		char *eq = strchr(svc->labels[i], '=');
		if (!eq || tl__str_startswith(svc->labels[i], "towlion."))
			continue; /* our labels are ours */
		char *k = tl__strndup(svc->labels[i], (size_t)(eq - svc->labels[i]));
		rc = k ? tl_docker_container_spec_add_label(s, k, eq + 1) : TL_ENOMEM;
		free(k);
	}
	return rc;
}

/* ---- the container spec of a service --------------------------------- */

static int split_kv_add(tl_docker_container_spec *s, char *const *kv,
                        int (*add)(tl_docker_container_spec *, const char *, const char *))
{
	for (size_t i = 0; kv && kv[i]; i++) {
		char *eq = strchr(kv[i], '=');
		char *k = tl__strndup(kv[i], eq ? (size_t)(eq - kv[i]) : strlen(kv[i]));
		int rc = k ? add(s, k, eq ? eq + 1 : "") : TL_ENOMEM;
		free(k);
		if (rc)
			return rc;
	}
	return TL_OK;
}

/*
 * A bind's host path, checked again right before its container is created.
 * The plan holds each bind source in canonical form: walked component by
 * component when the compose file was read (beneath the app directory for
 * a preview). Between then and now the release command and earlier
 * services have run, and Docker resolves the path once more when the
 * container starts. So the path must still be exactly what was checked:
 * every component a real directory (or the final file), not one a
 * symlink, walked with O_NOFOLLOW from "/". A planted link is refused
 * here, whatever the mode, and the container is never created.
 *
 * A preview's binds must also be read-only (so none of its containers can
 * write its checkout to plant a link after this check) and inside its
 * source directory, and what Docker gets is a copy of the checked source
 * that only the platform writes (bindsnap.c), so that the next push's
 * checkout cannot change what a restart of this container mounts. An
 * app's own (trusted) binds are handed over as checked; what is left for
 * them is in docs/security.md, "Bind mounts".
 */
static int recheck_bind(char **bind_src, const tl__deploy_attempt *a, const tl__svc *svc,
                        const char *src, int ro)
{
	const tl__project *p = a->p;
	if (p->strict && !ro)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "service %s: bind mount of %s is read-write, and a preview may "
		                     "bind host paths read-only only; no container was created",
		                     svc->name, src);
	size_t n = a->src_dir ? strlen(a->src_dir) : 0;
	if (p->strict && n &&
	    (strncmp(src, a->src_dir, n) || (src[n] != '/' && src[n] != '\0')))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "service %s: bind mount of %s is outside the preview's directory "
		                     "%s; no container was created",
		                     svc->name, src, a->src_dir);
	char *canon = NULL;
	mode_t mode = 0;
	int rc = tl__path_walk(&canon, &mode, "/", src, TL__WALK_NOFOLLOW);
	if (rc == TL_OK && strcmp(canon, src))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "%s is not in canonical form (%s): it was not planned by this "
		                   "version; deploy again",
		                   src, canon);
	else if (rc == TL_OK && p->strict && !S_ISDIR(mode) && !S_ISREG(mode))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "%s is neither a directory nor a regular file", src);
	free(canon);
	if (rc == TL_ENOMEM)
		return rc;
	if (rc) {
		tl__error_prefix("service %s: bind mount of %s is not the path that was checked when "
		                 "the plan was made, so no container was created",
		                 svc->name, src);
		return rc;
	}
	/* A preview binds a copy the platform owns: see bindsnap.c. */
	if (p->strict)
		rc = tl__bind_snapshot(bind_src, a, src, mode);
	else if (!(*bind_src = tl__strdup(src)))
		rc = TL_ENOMEM;
	if (rc && rc != TL_ENOMEM)
		tl__error_prefix("service %s: bind mount of %s", svc->name, src);
	return rc;
}

/* The service's secrets: files written for this release, each mounted
 * read-only at /run/secrets/<target> (secrets.c). */
static int add_secrets(tl_docker_container_spec *s, const tl__deploy_attempt *a,
                       const tl__svc *svc)
{
	char *dir = NULL;
	int rc = tl__secret_files_write(&dir, a->p, a->release_id, svc);
	for (size_t i = 0; rc == TL_OK && dir && i < svc->nsecrets; i++) {
		if (!svc->secrets[i].value)
			continue;
		char *src = tl__path_join(dir, svc->secrets[i].target);
		char *dst = tl__path_join("/run/secrets", svc->secrets[i].target);
		rc = src && dst ? tl_docker_container_spec_add_bind(s, src, dst, 1) : TL_ENOMEM;
		free(src);
		free(dst);
	}
	free(dir);
	return rc;
}

static int add_binds(tl_docker_container_spec *s, const tl__deploy_attempt *a, const tl__svc *svc)
{
	for (size_t i = 0; svc->binds && svc->binds[i]; i++) {
		tl__mount_entry m;
		char *checked = NULL;
		int rc = tl__mount_entry_bind(&m, svc->name, svc->binds[i]);
		if (rc)
			return rc;
		if (m.source[0] != '/')
			rc = tl_docker_container_spec_add_volume(s, m.source, m.target, m.read_only);
		else if ((rc = recheck_bind(&checked, a, svc, m.source, m.read_only)) == TL_OK)
			rc = tl_docker_container_spec_add_bind(s, checked, m.target, m.read_only);
		free(checked);
		tl__mount_entry_free(&m);
		if (rc)
			return rc;
	}
	for (size_t i = 0; svc->tmpfs && svc->tmpfs[i]; i++) {
		tl__mount_entry m;
		int rc = tl__mount_entry_tmpfs(&m, svc->tmpfs[i]);
		if (rc == TL_OK)
			rc = tl_docker_container_spec_add_tmpfs(s, m.target, m.options);
		tl__mount_entry_free(&m);
		if (rc)
			return rc;
	}
	return add_secrets(s, a, svc);
}

void tl__svc_limits(double *cpus, int64_t *mem, const tl__project *p, const tl__svc *svc)
{
	*cpus = p->cpus ? p->cpus : svc->cpus;
	if (p->cpus && svc->cpus && svc->cpus < *cpus)
		*cpus = svc->cpus;
	*mem = p->memory ? p->memory : svc->memory;
	if (p->memory && svc->memory && svc->memory < *mem)
		*mem = svc->memory;
}

/* Everything a service's containers share, whatever their role. */
int tl__build_spec(tl_docker_container_spec **out, const tl__deploy_attempt *a, const tl__svc *svc,
                      const char *name, const char *role)
{
	tl_docker_container_spec *s = NULL;
	int rc = tl_docker_container_spec_new(&s, svc->image);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_set_name(s, name);
	if (rc == TL_OK && svc->command)
		rc = tl_docker_container_spec_set_cmd(s, (const char *const *)svc->command);
	if (rc == TL_OK && svc->entrypoint)
		rc = tl_docker_container_spec_set_entrypoint(s, (const char *const *)svc->entrypoint);
	if (rc == TL_OK)
		rc = split_kv_add(s, svc->env, tl_docker_container_spec_add_env);
	if (rc == TL_OK)
		rc = add_labels(s, a, svc, role);
	if (rc == TL_OK)
		rc = add_binds(s, a, svc);
	for (size_t i = 0; rc == TL_OK && svc->extra_hosts && svc->extra_hosts[i]; i++)
		rc = tl_docker_container_spec_add_extra_host(s, svc->extra_hosts[i]);
	/* The shared services' reserved names, when they run on the host. */
	for (size_t i = 0; rc == TL_OK && a->net.extra_hosts && a->net.extra_hosts[i]; i++)
		rc = tl_docker_container_spec_add_extra_host(s, a->net.extra_hosts[i]);
	/* The project's own network only (connected at create: the container
	 * is never on another network, not even for a moment). */
	if (rc == TL_OK)
		rc = tl_docker_container_spec_set_network(s, a->net.name);
	/* Other services reach this one by its compose name, as under compose,
	 * and only on this network. */
	if (rc == TL_OK && strcmp(role, "release") != 0)
		rc = tl_docker_container_spec_add_alias(s, svc->name);
	if (rc == TL_OK)
		rc = tl_docker_container_spec_set_init(s, svc->init < 0 ? 1 : svc->init);
	if (rc == TL_OK && svc->read_only)
		rc = tl_docker_container_spec_set_read_only(s, 1);
	if (rc == TL_OK && svc->user)
		rc = tl_docker_container_spec_set_user(s, svc->user);
	if (rc == TL_OK && svc->workdir)
		rc = tl_docker_container_spec_set_workdir(s, svc->workdir);
	if (rc == TL_OK && strcmp(role, "release") != 0)
		rc = tl_docker_container_spec_set_restart(s, svc->restart ? svc->restart
		                                                          : "unless-stopped",
		                                          0);
	/* A size cap on the container's log (TOWLION_LOG_MAX_SIZE/_FILE). */
	if (rc == TL_OK)
		rc = tl__docker_spec_rotate_logs(s, a->ctx);
	if (rc == TL_OK && (svc->stop_signal || svc->stop_grace_s >= 0))
		rc = tl_docker_container_spec_set_stop(s, svc->stop_signal,
		                                       svc->stop_grace_s >= 0 ? svc->stop_grace_s
		                                                              : 10);
	if (rc == TL_OK && svc->healthcheck)
		rc = tl_docker_container_spec_set_healthcheck(
			s, (const char *const *)svc->healthcheck, svc->hc_interval_ms,
			svc->hc_timeout_ms, svc->hc_retries, svc->hc_start_ms);
	double cpus;
	int64_t mem;
	tl__svc_limits(&cpus, &mem, a->p, svc);
	if (rc == TL_OK && cpus > 0)
		rc = tl_docker_container_spec_set_cpus(s, cpus);
	if (rc == TL_OK && mem > 0)
		rc = tl_docker_container_spec_set_memory(s, mem);
	/* loopback mode: Caddy on the host reaches the container through a
	 * port published on 127.0.0.1 only. */
	if (rc == TL_OK && svc->routed && !strcmp(role, "web") &&
	    !strcmp(tl__cfg(a->ctx, "TOWLION_UPSTREAM_MODE"), "loopback"))
		rc = tl_docker_container_spec_add_port(s, svc->port, "tcp", "127.0.0.1", 0);
	if (rc) {
		tl_docker_container_spec_free(s);
		return rc;
	}
	*out = s;
	return TL_OK;
}

/* ---- failures carry the container's last words ----------------------- */

void tl__fail_with_tail(const char *tail, int code, const char *what)
{
	char msg[640];
	snprintf(msg, sizeof(msg), "%s", tl_error_last()->message);
	const char *t = tail ? tail : "";
	size_t tl = strlen(t);
	if (tl > 320)
		t += tl - 320;
	tl__error_set(code, TL_ERRCLASS_DEPLOY, "%s: %s%s%s", what, msg,
	              *t ? "; last log lines:\n" : "", t);
}

void tl__docker_fail_with_logs(tl__deploy_attempt *a, const char *container, int code,
                               const char *what)
{
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	lo.tail = LOG_TAIL_LINES;
	tl_buf tail = TL_BUF_INIT;
	/* The error being explained survives the log read's own. */
	tl__error_saved saved;
	tl__error_save(&saved);
	if (tl_docker_container_logs(&out, &err, a->docker, container, &lo) == TL_OK) {
		/* Merged, newest last. */
		if (out.size)
			tl__buf_put(&tail, out.ptr, out.size);
		if (err.size)
			tl__buf_put(&tail, err.ptr, err.size);
	}
	tl__error_restore(&saved);
	tl__fail_with_tail(tail.ptr, code, what);
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_buf_dispose(&tail);
}
