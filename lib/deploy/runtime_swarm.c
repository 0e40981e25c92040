/*
 * The Swarm engine (TOWLION_ENGINE=swarm): each unit is a Swarm service,
 * named and labelled as the single-server engine's containers are, on the
 * tenant's overlay (tl__cluster_tenant_net) and no other network.
 *
 * Where Caddy and the probe reach a web service: Caddy and towlion run on
 * the manager (loopback upstream mode). Each routed service publishes its
 * port in Swarm's host mode (each task on a port of its node, picked by
 * Docker) and resolves by DNS round robin (endpoint mode dnsrr): Caddy
 * gets one upstream per task (127.0.0.1:PORT for the manager's own tasks,
 * NODE_ADDR:PORT for the others) and towlion probes each task before the
 * switch. Not the routing mesh: its ingress and VIPs are IPVS, which a
 * kernel may lack (the development VM's has none: the mesh's ports and
 * VIPs answer nothing there), and the mesh would hide which task answers.
 * The price: a task Swarm moves to another node later (a drain, a node
 * down) has a new address: tl_cluster_reroute (reroute.c; drain and
 * activate call it) makes the route follow. Host-mode ports are
 * open on the node's addresses: the nodes' firewall keeps them private.
 * The network upstream mode (Caddy on the tenant overlays) would need a
 * probe from inside the overlay: not built, refused with that.
 *
 * A new release's services start next to the old ones (new names), are
 * health-gated by towlion as on one server, the route switches, and the
 * old services are drained (the drain time: their connections cannot be
 * counted from here) and removed. A task that cannot be placed or that
 * fails ends the health wait at once with Swarm's reason.
 */
#include "runtime.h"
#include "mount_entry.h"
#include "cluster/cluster_int.h"
#include "cluster/service.h"
#include "docker/docker_int.h"
#include "towlion/docker.h"
#include "towlion/validate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PORT_WAIT_MS 15000
#define POLL_MS 250
#define NETWORK_RM_WAIT_MS 30000
#define TASKS_GONE_WAIT_MS 60000

/* The image a service of this release runs, and the credentials its
 * nodes pull it with (*auth NULL: none). With the cluster's registry (cluster
 * init made one), the image pushed there, by digest, so that every node
 * pulls the same bytes; without (--no-registry), the manager's own image,
 * which only the manager has, named by its ID: a task given a name tries
 * to pull it first (from Docker Hub for a local name: seconds of retries
 * and a failure on a server without that access), a task given an ID
 * does not. */
static int image_for(char **ref, char **auth, const tl__deploy_attempt *a, const tl__svc *svc)
{
	*ref = *auth = NULL;
	int rc = tl__cluster_image_ref(ref, auth, a->ctx, a->docker, svc->image);
	if (rc != TL_ENOTFOUND)
		return rc;
	tl_error_clear();
	tl_docker_image *img = NULL;
	if ((rc = tl_docker_image_inspect(&img, a->docker, svc->image)))
		return rc;
	*ref = tl__strdup(tl_docker_image_id(img));
	tl_docker_image_free(img);
	return *ref ? TL_OK : TL_ENOMEM;
}


static int join(tl__deploy_attempt *a)
{
	if (strcmp(tl__cfg(a->ctx, "TOWLION_UPSTREAM_MODE"), "loopback"))
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DEPLOY,
		                     "TOWLION_ENGINE=swarm deploys with TOWLION_UPSTREAM_MODE=loopback "
		                     "(Caddy on the manager, through the routing mesh); the network "
		                     "mode is not built for swarm yet");
	int rc = tl__swarm_require_manager(a->docker, "deploy a service");
	if (rc)
		return rc;
	/* The project's own overlay: a preview's is not its app's. Previews
	 * are named <app>-pr-<N> (their project need not carry pr). */
	uint32_t pr = 0;
	const char *tail = a->p->name + strlen(a->p->app);
	if (strncmp(a->p->name, a->p->app, strlen(a->p->app)) ||
	    (*tail && (!tl__str_startswith(tail, "-pr-") || tl_parse_pr(&pr, tail + 4))))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "project %s is neither app %s nor one of its previews",
		                     a->p->name, a->p->app);
	bool encrypted = false;
	memset(&a->net, 0, sizeof(a->net));
	rc = tl__cluster_tenant_net(&a->net.name, &encrypted, a->ctx, a->docker, a->p->app, pr);
	/* The shared services under their reserved names, as on one server:
	 * their platform containers (on this manager) join the attachable
	 * overlay, where tasks on every node resolve them; services run on the
	 * host get the names as hosts pointing at the task's node's gateway. */
	if (rc == TL_OK)
		rc = tl__tenant_net_platform(&a->net.extra_hosts, a->ctx, a->docker, a->net.name,
		                             a->p->name, false);
	return rc;
}

/* ---- the service spec ------------------------------------------------ */

/* The service's given secrets as Docker secrets (made for this release
 * and value, or found made), referenced at /run/secrets/<target> with
 * their owner and mode. */
static int secrets_of(json_t *cs, const tl__deploy_attempt *a, const tl__svc *svc)
{
	json_t *refs = json_array();
	int rc = refs ? TL_OK : tl__error_oom();
	for (size_t i = 0; rc == TL_OK && i < svc->nsecrets; i++) {
		const tl__svc_secret *x = &svc->secrets[i];
		if (!x->value)
			continue;
		char **labels = NULL;
		rc = tl__strv_pushf(&labels, "towlion.app=%s", a->p->app);
		if (rc == TL_OK)
			rc = tl__strv_pushf(&labels, "towlion.project=%s", a->p->name);
		if (rc == TL_OK)
			rc = tl__strv_pushf(&labels, "towlion.release=%s", a->release_id);
		if (rc == TL_OK)
			rc = tl__strv_pushf(&labels, "towlion.service=%s", svc->name);
		char *scope = rc ? NULL
		                 : tl__sprintf("%s/%s/%s/%s", a->p->name, a->release_id, svc->name,
		                               x->target);
		char *id = NULL, name[64] = "";
		if (rc == TL_OK)
			rc = scope ? tl__swarm_secret_ensure(&id, name, a->docker,
			                                     (const char *const *)labels, scope, x->value)
			           : TL_ENOMEM;
		char uid[16], gid[16];
		snprintf(uid, sizeof(uid), "%d", x->uid);
		snprintf(gid, sizeof(gid), "%d", x->gid);
		json_t *ref = rc ? NULL
		                 : json_pack("{s:{s:s, s:s, s:s, s:i}, s:s, s:s}", "File", "Name",
		                             x->target, "UID", uid, "GID", gid, "Mode", x->mode,
		                             "SecretID", id, "SecretName", name);
		if (rc == TL_OK && (!ref || json_array_append_new(refs, ref)))
			rc = tl__error_oom();
		free(id);
		free(scope);
		tl__strv_free(labels);
	}
	if (rc == TL_OK)
		rc = json_object_set_new(cs, "Secrets", refs) ? tl__error_oom() : TL_OK;
	else
		json_decref(refs);
	return rc;
}

/* compose's "host:ip" entries as Swarm's "ip host", appended to `hosts`. */
static int add_hosts(json_t *hosts, char *const *extra)
{
	for (size_t i = 0; extra && extra[i]; i++) {
		const char *colon = strchr(extra[i], ':');
		if (!colon)
			continue;
		char *h = tl__sprintf("%s %.*s", colon + 1, (int)(colon - extra[i]), extra[i]);
		if (!h || json_array_append_new(hosts, json_string(h))) {
			free(h);
			return TL_ENOMEM;
		}
		free(h);
	}
	return TL_OK;
}

static json_t *strv_array(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *labels_of(const tl__deploy_attempt *a, const tl__svc *svc, const char *role)
{
	json_t *l = json_pack("{s:s, s:s, s:s, s:s, s:s}", "towlion.app", a->p->app,
	                      "towlion.project", a->p->name, "towlion.release", a->release_id,
	                      "towlion.service", svc->name, "towlion.role", role);
	if (l && a->p->pr)
		json_object_set_new(l, "towlion.pr", json_string(a->p->pr));
	for (size_t i = 0; l && svc->labels && svc->labels[i]; i++) {
		char *eq = strchr(svc->labels[i], '=');
		if (!eq || tl__str_startswith(svc->labels[i], "towlion."))
			continue; /* our labels are ours */
		char *k = tl__strndup(svc->labels[i], (size_t)(eq - svc->labels[i]));
		if (!k || json_object_set_new(l, k, json_string(eq + 1))) {
			free(k);
			json_decref(l);
			return NULL;
		}
		free(k);
	}
	return l;
}

/* Volumes and tmpfs as Swarm mounts. A host path is refused: each node
 * has a disk of its own, and the task may run on any. */
static int mounts_of(json_t *mounts, const tl__svc *svc)
{
	for (size_t i = 0; svc->binds && svc->binds[i]; i++) {
		tl__mount_entry m;
		int rc = tl__mount_entry_bind(&m, svc->name, svc->binds[i]);
		if (rc)
			return rc;
		if (m.source[0] == '/')
			rc = tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DEPLOY,
			                   "service %s: \"%s\" binds a host path, which a swarm cannot "
			                   "give (a task runs on any node): use a named volume",
			                   svc->name, svc->binds[i]);
		else
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "volume",
			                                        "Source", m.source, "Target", m.target,
			                                        "ReadOnly", m.read_only));
		tl__mount_entry_free(&m);
		if (rc)
			return rc;
	}
	for (size_t i = 0; svc->tmpfs && svc->tmpfs[i]; i++) {
		tl__mount_entry m;
		long long size = 0;
		int mode = 0;
		int rc = tl__mount_entry_tmpfs(&m, svc->tmpfs[i]);
		if (rc == TL_OK)
			rc = tl__tmpfs_swarm_options(&size, &mode, svc->name, m.target, m.options);
		if (rc == TL_OK) {
			json_t *opts = json_object();
			if (size)
				json_object_set_new(opts, "SizeBytes", json_integer(size));
			if (mode)
				json_object_set_new(opts, "Mode", json_integer(mode));
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:o}", "Type", "tmpfs", "Target",
			                                        m.target, "TmpfsOptions", opts));
		}
		tl__mount_entry_free(&m);
		if (rc)
			return rc;
	}
	return TL_OK;
}

/* The ServiceSpec of `svc` for this release: `cmd` (may be NULL) replaces
 * the command (the release command), and makes it a job run once. */
static int service_spec(json_t **out, const tl__deploy_attempt *a, const tl__svc *svc,
                        const char *name, const char *role, char *const *cmd, const char *image)
{
	bool job = cmd != NULL;
	json_t *cs = json_pack("{s:s, s:o, s:o, s:b}", "Image", image, "Labels",
	                       labels_of(a, svc, role), "Env", strv_array(svc->env), "Init",
	                       svc->init < 0 ? 1 : svc->init);
	json_t *mounts = json_array();
	int rc = cs && mounts ? mounts_of(mounts, svc) : TL_ENOMEM;
	if (rc == TL_OK && json_array_size(mounts))
		json_object_set(cs, "Mounts", mounts);
	json_decref(mounts);
	if (rc == TL_OK && svc->entrypoint)
		json_object_set_new(cs, "Command", strv_array(svc->entrypoint));
	if (rc == TL_OK && (cmd || svc->command))
		json_object_set_new(cs, "Args", strv_array(cmd ? cmd : svc->command));
	if (rc == TL_OK && svc->user)
		json_object_set_new(cs, "User", json_string(svc->user));
	if (rc == TL_OK && svc->workdir)
		json_object_set_new(cs, "Dir", json_string(svc->workdir));
	if (rc == TL_OK && svc->read_only)
		json_object_set_new(cs, "ReadOnly", json_true());
	if (rc == TL_OK && svc->stop_signal)
		json_object_set_new(cs, "StopSignal", json_string(svc->stop_signal));
	if (rc == TL_OK && svc->stop_grace_s >= 0)
		json_object_set_new(cs, "StopGracePeriod",
		                    json_integer((json_int_t)svc->stop_grace_s * 1000000000));
	if (rc == TL_OK && (svc->extra_hosts || a->net.extra_hosts)) {
		json_t *hosts = json_array();
		if (!hosts || add_hosts(hosts, svc->extra_hosts) || add_hosts(hosts, a->net.extra_hosts))
			rc = tl__error_oom();
		json_object_set_new(cs, "Hosts", hosts);
	}
	if (rc == TL_OK && svc->nsecrets)
		rc = secrets_of(cs, a, svc);
	if (rc == TL_OK && svc->healthcheck && !job)
		json_object_set_new(cs, "HealthCheck",
		                    json_pack("{s:o, s:I, s:I, s:i, s:I}", "Test",
		                              strv_array(svc->healthcheck), "Interval",
		                              (json_int_t)svc->hc_interval_ms * 1000000, "Timeout",
		                              (json_int_t)svc->hc_timeout_ms * 1000000, "Retries",
		                              svc->hc_retries, "StartPeriod",
		                              (json_int_t)svc->hc_start_ms * 1000000));
	double cpus;
	int64_t mem;
	tl__svc_limits(&cpus, &mem, a->p, svc);
	json_t *limits = json_object();
	if (limits && cpus > 0)
		json_object_set_new(limits, "NanoCPUs", json_integer((json_int_t)(cpus * 1e9)));
	if (limits && mem > 0)
		json_object_set_new(limits, "MemoryBytes", json_integer((json_int_t)mem));
	json_t *tt = rc == TL_OK && limits
	                 ? json_pack("{s:O, s:{s:o}, s:{s:s}, s:[{s:s, s:[s]}]}", "ContainerSpec",
	                             cs, "Resources", "Limits", limits, "RestartPolicy",
	                             "Condition", job ? "none" : "any", "Networks", "Target",
	                             a->net.name, "Aliases", svc->name)
	                 : NULL;
	if (!tt && limits && rc == TL_OK)
		rc = TL_ENOMEM;
	if (tt && svc->constraints)
		json_object_set_new(tt, "Placement",
		                    json_pack("{s:o}", "Constraints", strv_array(svc->constraints)));
	if (tt && job) /* the release command: no other service finds it by name */
		json_object_del(json_array_get(json_object_get(tt, "Networks"), 0), "Aliases");
	json_t *mode = job ? json_pack("{s:{s:i, s:i}}", "ReplicatedJob", "MaxConcurrent", 1,
	                               "TotalCompletions", 1)
	                   : json_pack("{s:{s:i}}", "Replicated", "Replicas",
	                               svc->replicas < 0 ? 1 : svc->replicas);
	json_t *spec = tt && mode ? json_pack("{s:s, s:o, s:o, s:o}", "Name", name, "Labels",
	                                      labels_of(a, svc, role), "TaskTemplate", tt, "Mode",
	                                      mode)
	                          : NULL;
	if (!spec) {
		json_decref(tt);
		json_decref(mode);
	}
	if (spec && svc->routed && !job && !strcmp(role, "web"))
		json_object_set_new(spec, "EndpointSpec",
		                    json_pack("{s:s, s:[{s:s, s:i, s:s}]}", "Mode", "dnsrr", "Ports",
		                              "Protocol", "tcp", "TargetPort", svc->port,
		                              "PublishMode", "host"));
	else if (spec) /* names resolve to the tasks: no VIP (IPVS) needed */
		json_object_set_new(spec, "EndpointSpec", json_pack("{s:s}", "Mode", "dnsrr"));
	json_decref(cs);
	if (rc == TL_OK && !spec)
		rc = TL_ENOMEM;
	if (rc) {
		json_decref(spec);
		return rc;
	}
	*out = spec;
	return TL_OK;
}

/* ---- units ----------------------------------------------------------- */

/* A task that will not run as it is: it failed, was rejected, or waits
 * for a node that Swarm says it cannot find. */
static const json_t *broken_task(const json_t *tasks)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const char *state = tl__swarm_task_state(t);
		if (!strcmp(state, "failed") || !strcmp(state, "rejected"))
			return t;
		const char *err = json_string_value(json_object_get(json_object_get(t, "Status"),
		                                                    "Err"));
		if (!strcmp(state, "pending") && err && *err)
			return t;
	}
	return NULL;
}

static void fail_with_logs(tl__deploy_attempt *a, const char *unit, int code, const char *what);

/* Wait until every replica of a routed service runs with its port, and
 * note where each answers; a task that cannot run ends it at once. */
static int task_addresses(tl__deploy_attempt *a, tl__started_container *st)
{
	tl__swarm_state self;
	int rc = tl__swarm_state_read(&self, a->docker);
	int want = st->svc->replicas < 0 ? 1 : st->svc->replicas;
	long t0 = tl__clock_ms();
	while (rc == TL_OK) {
		json_t *tasks = NULL;
		if ((rc = tl__swarm_tasks(&tasks, a->docker, st->name)))
			break;
		if (broken_task(tasks)) {
			json_decref(tasks);
			rc = tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DEPLOY,
			                   "service %s cannot run", st->name);
			fail_with_logs(a, st->name, TL_EUNHEALTHY,
			               "the new release cannot run; the current one keeps serving");
			break;
		}
		char **ups = NULL;
		rc = tl__swarm_task_upstreams(&ups, a->docker, tasks, st->svc->port, self.node_id,
		                              true);
		json_decref(tasks);
		if (rc == TL_OK && (int)tl__strv_len(ups) >= want) {
			/* from the manager, Caddy and the probe dial the same address */
			for (size_t k = 0; rc == TL_OK && ups[k]; k++)
				rc = tl__strv_push(&st->probes, ups[k]);
			st->upstreams = ups;
			return rc;
		}
		tl__strv_free(ups);
		if (rc == TL_OK && tl__clock_ms() - t0 > a->health_timeout_ms)
			rc = tl__error_set(TL_EUNHEALTHY, TL_ERRCLASS_DEPLOY,
			                   "service %s: %d of its tasks did not start within %ld ms",
			                   st->name, want, a->health_timeout_ms);
		if (rc == TL_OK)
			tl__sleep_ms(POLL_MS);
	}
	return rc;
}

static int start(tl__deploy_attempt *a, tl__started_container *st, const char *role)
{
	if (st->svc->routed && st->svc->replicas == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "service %s is routed and has deploy.replicas 0: nothing would "
		                     "answer its route", st->svc->name);
	json_t *spec = NULL;
	char *image = NULL, *auth = NULL;
	int rc = image_for(&image, &auth, a, st->svc);
	if (rc == TL_OK)
		rc = service_spec(&spec, a, st->svc, st->name, role, NULL, image);
	if (rc == TL_OK)
		rc = tl__swarm_service_create(a->docker, spec, auth);
	json_decref(spec);
	free(image);
	tl__free_secret(auth);
	if (rc == TL_OK && st->svc->routed)
		rc = task_addresses(a, st);
	return rc;
}

static int alive(tl__deploy_attempt *a, const char *unit)
{
	json_t *tasks = NULL;
	if (tl__swarm_tasks(&tasks, a->docker, unit) != TL_OK) {
		tl_error_clear();
		return 0;
	}
	int ok = broken_task(tasks) == NULL;
	json_decref(tasks);
	return ok;
}

static void remove_unit(tl__deploy_attempt *a, const char *unit)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	tl__swarm_service_remove(a->docker, unit);
	tl__error_restore(&saved);
}

/* Swarm's word on the service's tasks ("task 3x1f on node n1: pending:
 * no suitable node (...)"), and their last log lines. */
static void fail_with_logs(tl__deploy_attempt *a, const char *unit, int code, const char *what)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	json_t *tasks = NULL;
	tl_buf why = TL_BUF_INIT, tail = TL_BUF_INIT;
	if (tl__swarm_tasks(&tasks, a->docker, unit) == TL_OK) {
		const json_t *t = broken_task(tasks);
		if (t) {
			const char *node = json_string_value(json_object_get(t, "NodeID"));
			tl__buf_printf(&why, "; Swarm: task of %s%s%.12s: %s: %s", unit,
			               node && *node ? " on node " : "", node ? node : "",
			               tl__swarm_task_state(t), tl__swarm_task_why(t));
		}
	}
	json_decref(tasks);
	tl__swarm_service_logs(&tail, a->docker, unit, LOG_TAIL_LINES);
	tl__error_restore(&saved);
	if (why.size)
		tl__error_set(code, TL_ERRCLASS_DEPLOY, "%s%s", tl_error_last()->message, why.ptr);
	tl__fail_with_tail(tail.ptr, code, what);
	tl_buf_dispose(&why);
	tl_buf_dispose(&tail);
}

/* The release command as a replicated job, waited to its end. */
static int run_once(tl__deploy_attempt *a, const tl__svc *svc, const char *name,
                    const char *cmd, long timeout_ms)
{
	char *const argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	json_t *spec = NULL;
	char *image = NULL, *auth = NULL;
	int rc = image_for(&image, &auth, a, svc);
	if (rc == TL_OK)
		rc = service_spec(&spec, a, svc, name, "release", argv, image);
	if (rc == TL_OK)
		rc = tl__swarm_service_create(a->docker, spec, auth);
	json_decref(spec);
	free(image);
	tl__free_secret(auth);
	if (rc)
		return rc;
	long t0 = tl__clock_ms();
	for (;;) {
		json_t *tasks = NULL;
		if ((rc = tl__swarm_tasks(&tasks, a->docker, name)))
			break;
		const json_t *bad = broken_task(tasks);
		bool done = false;
		size_t i;
		json_t *t;
		json_array_foreach(tasks, i, t)
			done = done || !strcmp(tl__swarm_task_state(t), "complete");
		if (bad) {
			const json_t *cst = json_object_get(json_object_get(bad, "Status"),
			                                    "ContainerStatus");
			int code = (int)json_integer_value(json_object_get(cst, "ExitCode"));
			if (!strcmp(tl__swarm_task_state(bad), "failed") && code)
				tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_DEPLOY, "", code,
				                       "the release command exited with status %d", code);
			else
				tl__error_set(TL_ERROR, TL_ERRCLASS_DEPLOY,
				              "the release command did not run");
			fail_with_logs(a, name, TL_ERROR, "release command failed; nothing was changed");
			rc = TL_ERROR;
		} else if (!done && tl__clock_ms() - t0 > timeout_ms) {
			rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DEPLOY,
			                   "the release command did not finish within %ld s",
			                   timeout_ms / 1000);
		}
		json_decref(tasks);
		if (done || rc)
			break;
		tl__sleep_ms(POLL_MS);
	}
	remove_unit(a, name);
	return rc;
}

/* ---- the project's services ------------------------------------------ */

static int list_project(json_t **out, tl_docker *d, const tl__project *p, const char *role)
{
	char **filter = NULL;
	int rc = tl__label_filter(&filter, p, NULL);
	if (rc == TL_OK && role)
		rc = tl__strv_pushf(&filter, "towlion.role=%s", role);
	if (rc == TL_OK)
		rc = tl__swarm_service_list(out, d, (const char *const *)filter);
	tl__strv_free(filter);
	return rc;
}

static const char *label_of(const json_t *service, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(service, "Spec"), "Labels"), key));
}

static const char *name_of(const json_t *service)
{
	return json_string_value(json_object_get(json_object_get(service, "Spec"), "Name"));
}

static int remove_others(tl__deploy_attempt *a, char *const *keep, const char *role,
                         int drain_ms)
{
	json_t *l = NULL;
	int rc = list_project(&l, a->docker, a->p, role);
	if (rc)
		return rc;
	size_t old = 0, i;
	json_t *s;
	json_array_foreach(l, i, s) {
		const char *rel = label_of(s, "towlion.release");
		old += !rel || !tl__strv_contains(keep, rel);
	}
	/* The route left them already: what they still serve gets the drain
	 * time (their connections cannot be counted from the manager). */
	if (old && drain_ms > 0) {
		tl__step(a->ctx, "deploy.drain", a->p->name, "draining %zu old service(s) for %d ms",
		         old, drain_ms);
		tl__sleep_ms(drain_ms);
	}
	json_array_foreach(l, i, s) {
		const char *rel = label_of(s, "towlion.release");
		if (rc || (rel && tl__strv_contains(keep, rel)))
			continue;
		tl__log(a->ctx, TL_LOG_INFO, "removing service %s (release %s)", name_of(s),
		        rel ? rel : "?");
		rc = tl__swarm_service_remove(a->docker, name_of(s));
		if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = TL_OK;
		}
	}
	json_decref(l);
	return rc;
}

static int routed(char ***keep, tl__deploy_attempt *a, const tl_caddy_site *site)
{
	json_t *l = NULL;
	int rc = list_project(&l, a->docker, a->p, NULL);
	size_t i;
	json_t *s;
	json_array_foreach(l, i, s) {
		const char *rel = label_of(s, "towlion.release");
		if (rc || !rel || tl__strv_contains(*keep, rel))
			continue;
		json_t *tasks = NULL;
		if ((rc = tl__swarm_tasks(&tasks, a->docker, name_of(s))))
			break;
		size_t k;
		json_t *t;
		bool routed = false;
		json_array_foreach(tasks, k, t) {
			json_t *ports = json_object_get(json_object_get(t, "Status"), "PortStatus");
			size_t m;
			json_t *p;
			json_array_foreach(json_object_get(ports, "Ports"), m, p) {
				char port[16];
				snprintf(port, sizeof(port), ":%lld",
				         (long long)json_integer_value(json_object_get(p, "PublishedPort")));
				for (size_t u = 0; u < site->nupstreams; u++) {
					const char *c = strrchr(site->upstreams[u], ':');
					routed = routed || (c && !strcmp(c, port));
				}
			}
		}
		json_decref(tasks);
		if (routed)
			rc = tl__strv_push(keep, rel);
	}
	json_decref(l);
	return rc;
}

static int remove_units(tl_ctx *ctx, tl_docker *d, const tl__project *p)
{
	(void)ctx;
	json_t *l = NULL;
	int rc = list_project(&l, d, p, NULL);
	size_t i;
	json_t *s;
	json_array_foreach(l, i, s) {
		if (rc)
			break;
		rc = tl__swarm_service_remove(d, name_of(s));
		if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = TL_OK;
		}
	}
	json_decref(l);
	/* Swarm stops the tasks in the background: the images and the overlay
	 * go once this node's task containers are gone (their stop grace). */
	char **filter = NULL;
	if (rc == TL_OK)
		rc = tl__label_filter(&filter, p, NULL);
	for (long t0 = tl__clock_ms(); rc == TL_OK;) {
		tl_docker_container_list *cl = NULL;
		if ((rc = tl_docker_container_list_by_label(&cl, d, (const char *const *)filter, 0)))
			break;
		size_t left = tl_docker_container_list_count(cl);
		tl_docker_container_list_free(cl);
		if (!left)
			break;
		if (tl__clock_ms() - t0 > TASKS_GONE_WAIT_MS)
			rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DEPLOY,
			                   "%zu task container(s) of %s still run %d s after their "
			                   "services were removed; run the destroy again",
			                   left, p->name, TASKS_GONE_WAIT_MS / 1000);
		else
			tl__sleep_ms(POLL_MS);
	}
	tl__strv_free(filter);
	/* and the project's Docker secrets, which no service uses now */
	char **labels = NULL;
	if (rc == TL_OK)
		rc = tl__label_filter(&labels, p, NULL);
	if (rc == TL_OK)
		rc = tl__swarm_secrets_prune(d, (const char *const *)labels);
	tl__strv_free(labels);
	return rc;
}

/* The project's Docker secrets that no service of it uses any more. */
static void prune_secrets(tl__deploy_attempt *a)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	char **labels = NULL;
	int rc = tl__label_filter(&labels, a->p, NULL);
	if (rc == TL_OK && (rc = tl__swarm_secrets_prune(a->docker,
	                                                 (const char *const *)labels)) != TL_OK)
		tl__log(a->ctx, TL_LOG_WARN, "%s: old Docker secrets are left: %s", a->p->name,
		        tl_error_last()->message);
	tl__strv_free(labels);
	tl__error_restore(&saved);
}

/* The overlay goes once the removed services' tasks have left it (Swarm
 * stops them in the background). */
static int remove_network(tl_ctx *ctx, tl_docker *d, const char *project)
{
	(void)ctx;
	char *net = tl__tenant_network(ctx, project);
	if (!net)
		return TL_ENOMEM;
	long t0 = tl__clock_ms();
	/* the platform's containers leave first (tl__tenant_net_platform) */
	int rc = tl__tenant_net_leave(d, net);
	while (rc == TL_OK) {
		rc = tl_docker_network_remove(d, net);
		bool busy = rc == TL_ECONFLICT ||
		            (rc == TL_ERROR && strstr(tl_error_last()->message, "active endpoints"));
		if (!busy || tl__clock_ms() - t0 > NETWORK_RM_WAIT_MS)
			break;
		tl_error_clear();
		rc = TL_OK;
		tl__sleep_ms(POLL_MS);
	}
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		rc = TL_OK;
	}
	/* The swarm still lists a removed overlay for a moment: a deploy of
	 * the same project right after would find it, and its services would
	 * then name a network that is no more ("not found"). Gone means gone. */
	while (rc == TL_OK) {
		json_t *j = NULL;
		if ((rc = tl__docker_network_find(&j, d, net, false, "swarm")) || !j)
			break;
		json_decref(j);
		if (tl__clock_ms() - t0 > NETWORK_RM_WAIT_MS)
			rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DEPLOY,
			                   "the swarm still lists the overlay network %s %d s after its "
			                   "removal", net, NETWORK_RM_WAIT_MS / 1000);
		else
			tl__sleep_ms(POLL_MS);
	}
	if (rc)
		tl__error_prefix("removing the overlay network %s", net);
	free(net);
	return rc;
}

const tl__runtime tl__runtime_swarm = {
	.engine = "swarm",
	.join = join,
	.start = start,
	.alive = alive,
	.remove = remove_unit,
	.run_once = run_once,
	.fail_with_logs = fail_with_logs,
	.remove_others = remove_others,
	.routed = routed,
	.remove_units = remove_units,
	.remove_network = remove_network,
	.prune_secrets = prune_secrets,
};
