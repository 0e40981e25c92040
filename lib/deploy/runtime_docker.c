/*
 * The single-server engine: each unit is one container on this server's
 * dockerd, on the project's bridge network.
 */
#include "runtime.h"
#include "towlion/docker.h"

#include <stdio.h>
#include <string.h>

static int join(tl__deploy_attempt *a)
{
	return tl__tenant_net_join(&a->net, a->ctx, a->docker, a->p);
}

static int alive(tl__deploy_attempt *a, const char *unit)
{
	tl_docker_container *c = NULL;
	if (tl_docker_container_inspect(&c, a->docker, unit) != TL_OK)
		return 0;
	int running = tl_docker_container_running(c);
	tl_docker_container_free(c);
	return running;
}

/* Where Caddy and the health probe reach a started container. */
static int addresses(tl__deploy_attempt *a, tl__started_container *st)
{
	tl_docker_container *c = NULL;
	int rc = tl_docker_container_inspect(&c, a->docker, st->name);
	if (rc)
		return rc;
	if (!strcmp(tl__cfg(a->ctx, "TOWLION_UPSTREAM_MODE"), "loopback")) {
		char port[16];
		snprintf(port, sizeof(port), "%d/tcp", st->svc->port);
		int hp = tl_docker_container_host_port(c, port, NULL);
		if (hp <= 0)
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DEPLOY,
			                   "container %s has no published port for %d", st->name,
			                   st->svc->port);
		if (rc == TL_OK && (rc = tl__strv_pushf(&st->upstreams, "127.0.0.1:%d", hp)) == TL_OK)
			rc = tl__strv_pushf(&st->probes, "127.0.0.1:%d", hp);
	} else {
		/* Caddy is on the project's network and resolves the container's
		 * name; the platform (on the host) probes the container's address. */
		const char *ip = tl_docker_container_ip(c, a->net.name);
		if (!*ip)
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DEPLOY,
			                   "container %s has no address on network %s", st->name,
			                   a->net.name);
		if (rc == TL_OK &&
		    (rc = tl__strv_pushf(&st->upstreams, "%s:%d", st->name, st->svc->port)) == TL_OK)
			rc = tl__strv_pushf(&st->probes, "%s:%d", ip, st->svc->port);
	}
	tl_docker_container_free(c);
	return rc;
}

static int start(tl__deploy_attempt *a, tl__started_container *st, const char *role)
{
	const tl__svc *svc = st->svc;
	/* One container whatever deploy.replicas says: told once per deploy. */
	if (svc->replicas > 1 && strcmp(role, "release"))
		tl__log(a->ctx, TL_LOG_WARN, "service %s: deploy.replicas %d runs as one container "
		        "on this server (replicas need TOWLION_ENGINE=swarm)", svc->name,
		        svc->replicas);
	tl_docker_container_spec *s = NULL;
	int rc = tl__build_spec(&s, a, svc, st->name, role);
	if (rc == TL_OK)
		rc = tl_docker_container_create(NULL, a->docker, s);
	tl_docker_container_spec_free(s);
	if (rc == TL_OK)
		rc = tl_docker_container_start(a->docker, st->name);
	if (rc == TL_OK && svc->routed)
		rc = addresses(a, st);
	return rc;
}

static void remove_unit(tl__deploy_attempt *a, const char *unit)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	tl_docker_container_remove(a->docker, unit, TL_DOCKER_REMOVE_FORCE);
	tl__error_restore(&saved);
}

static int run_once(tl__deploy_attempt *a, const tl__svc *svc, const char *name,
                    const char *cmd, long timeout_ms)
{
	tl_docker_container_spec *s = NULL;
	int rc = tl__build_spec(&s, a, svc, name, "release");
	/* The command is the app's own, run inside its own image: its shell
	 * is what reads it (the platform never runs a shell itself). */
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	if (rc == TL_OK)
		rc = tl_docker_container_spec_set_cmd(s, argv);
	bool created = false;
	if (rc == TL_OK && (rc = tl_docker_container_create(NULL, a->docker, s)) == TL_OK)
		created = true;
	if (rc == TL_OK)
		rc = tl_docker_container_start(a->docker, name);
	int exit_code = -1;
	if (rc == TL_OK)
		rc = tl_docker_container_wait(&exit_code, a->docker, name, timeout_ms);
	if (rc == TL_OK && exit_code != 0) {
		tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_DEPLOY, "", exit_code,
		                       "the release command exited with status %d", exit_code);
		tl__docker_fail_with_logs(a, name, TL_ERROR,
		                          "release command failed; nothing was changed");
		rc = TL_ERROR;
	}
	if (created) {
		/* Keep the failure's message: removal errors are secondary. */
		tl__error_saved saved;
		tl__error_save(&saved);
		tl_docker_container_remove(a->docker, name, TL_DOCKER_REMOVE_FORCE);
		if (rc) {
			saved.code = rc;
			tl__error_restore(&saved);
		}
	}
	tl_docker_container_spec_free(s);
	return rc;
}

static int remove_units(tl_ctx *ctx, tl_docker *d, const tl__project *p)
{
	(void)ctx;
	char **filter = NULL;
	int rc = tl__label_filter(&filter, p, NULL);
	tl_docker_container_list *cl = NULL;
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&cl, d, (const char *const *)filter, 1);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const char *name = tl_docker_container_name(tl_docker_container_list_at(cl, i));
		tl_docker_container_stop(d, name, -1);
		rc = tl_docker_container_remove(d, name, TL_DOCKER_REMOVE_FORCE);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	tl_docker_container_list_free(cl);
	tl__strv_free(filter);
	/* and the secrets' files, of every release (the state directory goes
	 * with a destroy, but a preview down keeps it) */
	if (rc == TL_OK)
		rc = tl__secret_files_prune(p, NULL);
	return rc;
}

/* The secrets' files of the releases that no container of the project
 * runs any more (a release serving, or being started, keeps its own). */
static void prune_secrets(tl__deploy_attempt *a)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	char **filter = NULL, **live = NULL;
	tl_docker_container_list *cl = NULL;
	int rc = tl__label_filter(&filter, a->p, NULL);
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&cl, a->docker, (const char *const *)filter, 1);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const char *rel =
			tl_docker_container_label(tl_docker_container_list_at(cl, i), "towlion.release");
		if (rel && !tl__strv_contains(live, rel))
			rc = tl__strv_push(&live, rel);
	}
	if (rc == TL_OK && (rc = tl__secret_files_prune(a->p, live)) != TL_OK)
		tl__log(a->ctx, TL_LOG_WARN, "%s: old secret files are left: %s", a->p->name,
		        tl_error_last()->message);
	tl_docker_container_list_free(cl);
	tl__strv_free(filter);
	tl__strv_free(live);
	tl__error_restore(&saved);
}

const tl__runtime tl__runtime_docker = {
	.engine = "docker",
	.join = join,
	.start = start,
	.alive = alive,
	.remove = remove_unit,
	.run_once = run_once,
	.fail_with_logs = tl__docker_fail_with_logs,
	.remove_others = tl__docker_remove_other_releases,
	.routed = tl__docker_routed_releases,
	.remove_units = remove_units,
	.remove_network = tl__tenant_net_remove,
	.prune_secrets = prune_secrets,
};
