/*
 * The registry the cluster's nodes pull from: the distribution registry as
 * the Swarm service towlion-registry, pinned to the manager `cluster init`
 * ran on (its storage is a directory on that node's disk).
 *
 * Every node pulls 127.0.0.1:PORT/<image>: Docker talks plain HTTP to a
 * registry on 127.0.0.0/8 without being told to (its default insecure
 * range), so no node needs a TLS certificate or a daemon.json change. What
 * answers on each node's loopback:
 *   - on the manager, the registry itself, its port published in host mode;
 *   - on every other node, towlion-registry-relay (a global service, one
 *     task per node but the manager): a TCP relay (busybox) to the
 *     manager's address and that port, published in host mode too.
 * Not the routing mesh: it needs IPVS in the kernel (ip_vs), which some
 * kernels lack (this project's test VM's); without it a mesh-published
 * port answers nowhere, while host-mode ports are plain port mappings.
 * The relay holds no credential: the registry asks every request for
 * them (registry_auth.c), and the port is open on the nodes' other
 * addresses too (so to tenants' containers, through their gateway).
 */
#include "cluster_int.h"
#include "docker/logrotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The relay's command, for busybox as it is built: tcpsvd (busybox's
 * default configuration, the upstream image) runs `nc MANAGER PORT` on
 * each connection; without it (Debian's busybox-static), the small nc
 * accepts for ever (-ll), each connection piped to a new nc (-e). Both
 * take the manager's address and port as arguments, never as text. */
#define RELAY_LISTEN "5000"
#define RELAY_SCRIPT                                                                   \
	"if command -v tcpsvd > /dev/null; then exec tcpsvd 0.0.0.0 " RELAY_LISTEN         \
	" nc \"$1\" \"$2\"; fi; exec nc -ll -p " RELAY_LISTEN " -e nc \"$1\" \"$2\""

/* How long init waits for the registry's task to run. */
#define REGISTRY_START_MS 120000

void tl__registry_dispose(tl__registry *r)
{
	free(r->address);
	free(r->data_dir);
	free(r->image);
	free(r->relay_image);
	memset(r, 0, sizeof(*r));
}

int tl__registry_config(tl__registry *out, tl_ctx *ctx)
{
	const char *port_s = tl__cfg(ctx, "TOWLION_REGISTRY_PORT");
	char *end = NULL;
	long port = strtol(port_s, &end, 10);
	if (!*port_s || *end || port < 1 || port > 65535)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_REGISTRY_PORT is \"%s\", not a port (1 to 65535)", port_s);
	const char *dir = tl__cfg(ctx, "TOWLION_REGISTRY_DIR");
	if (dir[0] != '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_REGISTRY_DIR is \"%s\", not an absolute path", dir);
	const char *image = tl__cfg(ctx, "TOWLION_REGISTRY_IMAGE");
	int rc = tl__docker_check_ref(image, "TOWLION_REGISTRY_IMAGE");
	if (rc)
		return rc;
	const char *relay = tl__cfg(ctx, "TOWLION_REGISTRY_RELAY_IMAGE");
	if ((rc = tl__docker_check_ref(relay, "TOWLION_REGISTRY_RELAY_IMAGE")))
		return rc;
	memset(out, 0, sizeof(*out));
	out->relay_image = tl__strdup(relay);
	out->port = (int)port;
	out->address = tl__sprintf("127.0.0.1:%ld", port);
	out->data_dir = tl__strdup(dir);
	out->image = tl__strdup(image);
	if (!out->address || !out->data_dir || !out->image || !out->relay_image) {
		tl__registry_dispose(out);
		return TL_ENOMEM;
	}
	return TL_OK;
}

static json_t *service_spec(tl_ctx *ctx, const tl__registry *r, const char *htpasswd,
                            const char *node_id)
{
	const char *max_size = NULL, *max_file = NULL;
	if (tl__log_rotation(&max_size, &max_file, ctx))
		return NULL;
	char *constraint = tl__sprintf("node.id==%s", node_id);
	/* The password is in no label and no environment: the registry reads
	 * only the htpasswd file, bound read-only. */
	json_t *spec = constraint ? json_pack(
		"{s:s, s:{s:s, s:s},"
		" s:{s:{s:s, s:[s, s, s], s:{s:s, s:s},"
		"       s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:b}]},"
		"    s:{s:[s]}, s:{s:s, s:I}},"
		" s:{s:{s:i}},"
		" s:{s:[{s:s, s:i, s:i, s:s}]}}",
		"Name", TL__REGISTRY_SERVICE,
		"Labels", "towlion.platform", "1", "towlion.service", "registry",
		"TaskTemplate",
		"ContainerSpec", "Image", r->image,
		"Env", "REGISTRY_AUTH=htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM=towlion",
		"REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
		"Labels", "towlion.platform", "1", "towlion.service", "registry",
		"Mounts", "Type", "bind", "Source", r->data_dir, "Target", "/var/lib/registry",
		"Type", "bind", "Source", htpasswd, "Target", "/auth/htpasswd", "ReadOnly", 1,
		"Placement", "Constraints", constraint,
		"RestartPolicy", "Condition", "any", "Delay", (json_int_t)2000000000,
		"Mode", "Replicated", "Replicas", 1,
		"EndpointSpec", "Ports", "Protocol", "tcp", "TargetPort", 5000, "PublishedPort",
		r->port, "PublishMode", "host") : NULL;
	free(constraint);
	/* Log rotation as for every container towlion makes ("0": Docker's own). */
	if (spec && strcmp(max_size, "0") &&
	    json_object_set_new(json_object_get(spec, "TaskTemplate"), "LogDriver",
	                        json_pack("{s:s, s:{s:s, s:s}}", "Name", "json-file", "Options",
	                                  "max-size", max_size, "max-file", max_file))) {
		json_decref(spec);
		spec = NULL;
	}
	return spec;
}

/* The relay on every node but the manager `node_id`, to `manager_addr`. */
static json_t *relay_spec(const tl__registry *r, const char *node_id, const char *manager_addr)
{
	char *constraint = tl__sprintf("node.id!=%s", node_id);
	char *port = tl__sprintf("%d", r->port);
	json_t *spec = constraint && port ? json_pack(
		"{s:s, s:{s:s, s:s},"
		" s:{s:{s:s, s:b, s:[s, s, s, s, s, s], s:{s:s, s:s}},"
		"    s:{s:[s]}, s:{s:s, s:I}},"
		" s:{s:{}},"
		" s:{s:[{s:s, s:i, s:i, s:s}]}}",
		"Name", TL__REGISTRY_RELAY,
		"Labels", "towlion.platform", "1", "towlion.service", "registry-relay",
		"TaskTemplate",
		"ContainerSpec", "Image", r->relay_image, "Init", 1,
		"Command", "sh", "-c", RELAY_SCRIPT, "relay", manager_addr, port,
		"Labels", "towlion.platform", "1", "towlion.service", "registry-relay",
		"Placement", "Constraints", constraint,
		"RestartPolicy", "Condition", "any", "Delay", (json_int_t)2000000000,
		"Mode", "Global",
		"EndpointSpec", "Ports", "Protocol", "tcp", "TargetPort", atoi(RELAY_LISTEN),
		"PublishedPort", r->port, "PublishMode", "host") : NULL;
	free(constraint);
	free(port);
	return spec;
}

/* The manager's address in the swarm (Swarm.NodeAddr of GET /info). */
static int manager_address(char **out, tl_docker *d)
{
	json_t *info = NULL;
	int rc = tl__docker_call(d, "GET", "/info", NULL, &info, 0, "read the manager's address");
	if (rc)
		return rc;
	const char *a = json_string_value(json_object_get(json_object_get(info, "Swarm"),
	                                                  "NodeAddr"));
	rc = a && *a ? ((*out = tl__strdup(a)) ? TL_OK : TL_ENOMEM)
	             : tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_DOCKER,
	                             "the engine at %s does not say its swarm address", d->host);
	json_decref(info);
	return rc;
}

/* The service `name` as Docker has it, or NULL in *out when there is none. */
static int find_service_named(json_t **out, tl_docker *d, const char *name)
{
	*out = NULL;
	int rc = tl__docker_inspect(out, d, "services", "", "service", name);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		*out = NULL;
		return TL_OK;
	}
	return rc;
}

/* Create the service of `spec` unless it exists (made meanwhile by another
 * run: kept). *created says whether this call made it. */
static int create_service(bool *created, tl_docker *d, json_t *spec, const char *what)
{
	*created = false;
	int rc = spec ? tl__docker_call(d, "POST", "/services/create", spec, NULL, 0, what)
	              : tl_error_last()->code ? tl_error_last()->code : TL_ENOMEM;
	if (rc == TL_ECONFLICT) {
		tl_error_clear();
		return TL_OK;
	}
	*created = rc == TL_OK;
	return rc;
}

/* The registry's relay on the other nodes: created when missing. */
static int ensure_relay(tl_docker *d, const tl__registry *r, const char *node_id)
{
	json_t *svc = NULL;
	char *addr = NULL;
	int rc = find_service_named(&svc, d, TL__REGISTRY_RELAY);
	if (rc == TL_OK && !svc && (rc = manager_address(&addr, d)) == TL_OK) {
		bool created;
		json_t *spec = relay_spec(r, node_id, addr);
		rc = create_service(&created, d, spec,
		                    "create the registry's relay service " TL__REGISTRY_RELAY);
		json_decref(spec);
	}
	json_decref(svc);
	free(addr);
	return rc;
}

static int find_service(json_t **out, tl_docker *d)
{
	return find_service_named(out, d, TL__REGISTRY_SERVICE);
}

/* Restart the registry's task (ForceUpdate + 1, at the version read), so
 * that it binds the htpasswd file written again. */
static int force_update(tl_docker *d, json_t *svc)
{
	json_t *spec = json_deep_copy(json_object_get(svc, "Spec"));
	json_t *tt = json_object_get(spec, "TaskTemplate");
	long long version =
		(long long)json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index"));
	json_int_t force = json_integer_value(json_object_get(tt, "ForceUpdate"));
	char *path = tl__sprintf("/services/%s/update?version=%lld", TL__REGISTRY_SERVICE, version);
	int rc = spec && tt && path &&
	                 !json_object_set_new(tt, "ForceUpdate", json_integer(force + 1))
	             ? tl__docker_call(d, "POST", path, spec, NULL, 0,
	                               "restart the registry with its new htpasswd")
	             : TL_ENOMEM;
	json_decref(spec);
	free(path);
	return rc;
}

int tl__registry_running(bool *running, tl_buf *why, tl_docker *d)
{
	json_t *tasks = NULL;
	int rc = tl__docker_call(d, "GET",
	                         "/tasks?filters=%7B%22service%22%3A%5B%22" TL__REGISTRY_SERVICE
	                         "%22%5D%7D",
	                         NULL, &tasks, 0, "list the registry's tasks");
	if (rc)
		return rc;
	*running = false;
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		json_t *st = json_object_get(t, "Status");
		const char *state = json_string_value(json_object_get(st, "State"));
		const char *desired = json_string_value(json_object_get(t, "DesiredState"));
		if (state && !strcmp(state, "running"))
			*running = true;
		else if (why && desired && !strcmp(desired, "running")) {
			const char *err = json_string_value(json_object_get(st, "Err"));
			const char *msg = json_string_value(json_object_get(st, "Message"));
			tl__buf_clear(why);
			tl__buf_printf(why, "task %s%s%s", state ? state : "?",
			               err || msg ? ": " : "", err ? err : msg ? msg : "");
		}
	}
	json_decref(tasks);
	return TL_OK;
}

static int wait_running(tl_ctx *ctx, tl_docker *d, const tl__registry *r)
{
	int64_t deadline = tl__clock_ms() + REGISTRY_START_MS;
	tl_buf why = TL_BUF_INIT;
	int rc;
	for (;;) {
		bool running = false;
		if ((rc = tl__registry_running(&running, &why, d)) || running)
			break;
		if (tl__clock_ms() > deadline) {
			rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DOCKER,
			                   "the registry service %s has no running task after %d s "
			                   "(%s): see `docker service ps %s --no-trunc`; is the image "
			                   "%s on the manager, or can it pull it?",
			                   TL__REGISTRY_SERVICE, REGISTRY_START_MS / 1000,
			                   why.size ? why.ptr : "no task yet", TL__REGISTRY_SERVICE,
			                   r->image);
			break;
		}
		if ((rc = tl__progress(ctx, "cluster.registry", 0, 0)))
			break;
		usleep(500 * 1000);
	}
	tl_buf_dispose(&why);
	return rc;
}

int tl__cluster_registry_ensure(tl__registry *out, tl_ctx *ctx, tl_docker *d,
                                const char *node_id)
{
	tl__registry r;
	int rc = tl__registry_config(&r, ctx);
	if (rc)
		return rc;
	tl_buf password = TL_BUF_INIT;
	char *htpasswd = NULL;
	bool changed = false;
	json_t *svc = NULL;
	rc = tl__step(ctx, "cluster.registry", TL__REGISTRY_SERVICE,
	              "ensuring the registry %s at %s (data in %s)", TL__REGISTRY_SERVICE,
	              r.address, r.data_dir);
	if (rc == TL_OK)
		rc = tl__registry_secrets(&password, &htpasswd, &changed, ctx, true);
	if (password.ptr)
		explicit_bzero(password.ptr, password.size);
	tl_buf_dispose(&password);
	if (rc == TL_OK)
		rc = tl__mkdir_p(r.data_dir, 0700);
	if (rc == TL_OK)
		rc = find_service(&svc, d);
	if (rc == TL_OK && !svc) {
		json_t *spec = service_spec(ctx, &r, htpasswd, node_id);
		rc = create_service(&r.created, d, spec,
		                    "create the registry service " TL__REGISTRY_SERVICE);
		json_decref(spec);
	} else if (rc == TL_OK) {
		/* Kept as it is (its node, port and image included): init again
		 * changes nothing a running registry serves from. */
		const char *c = json_string_value(json_array_get(
			json_object_get(json_object_get(json_object_get(json_object_get(svc, "Spec"),
			                                                "TaskTemplate"),
			                                "Placement"),
			                "Constraints"),
			0));
		char *here = tl__sprintf("node.id==%s", node_id);
		rc = here ? TL_OK : TL_ENOMEM;
		if (rc == TL_OK && c && strcmp(c, here))
			rc = tl__log(ctx, TL_LOG_WARN,
			             "the registry service %s stays where it is (%s), not on this node",
			             TL__REGISTRY_SERVICE, c);
		free(here);
		if (rc == TL_OK && changed)
			rc = force_update(d, svc);
	}
	json_decref(svc);
	free(htpasswd);
	if (rc == TL_OK)
		rc = ensure_relay(d, &r, node_id);
	if (rc == TL_OK)
		rc = wait_running(ctx, d, &r);
	if (rc) {
		tl__registry_dispose(&r);
		return rc;
	}
	*out = r;
	return TL_OK;
}

/* "name[:tag]" into its repository and tag (default latest). Image ids
 * and digests are refused: a registry stores names. */
static int split_image(char **repo, char **tag, const char *image)
{
	int rc = tl__docker_check_ref(image, "image");
	if (rc)
		return rc;
	if (strchr(image, '@') || !strncmp(image, "sha256:", 7))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "image \"%s\" is an id or a digest: give its name[:tag] to put "
		                     "it in the cluster's registry", image);
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	*repo = colon ? tl__strndup(image, (size_t)(colon - image)) : tl__strdup(image);
	*tag = tl__strdup(colon ? colon + 1 : "latest");
	if (!*repo || !*tag || !**repo || !**tag) {
		free(*repo);
		free(*tag);
		return *repo && *tag ? tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                                     "image \"%s\" has an empty name or tag", image)
		                     : TL_ENOMEM;
	}
	return TL_OK;
}

int tl__cluster_image_ref(char **ref, char **auth, tl_ctx *ctx, tl_docker *d,
                          const char *local_image)
{
	TL__CHECK_ARG(ref && auth && ctx && d && local_image);
	tl__registry r;
	int rc = tl__registry_config(&r, ctx);
	if (rc)
		return rc;
	char *repo = NULL, *tag = NULL, *target = NULL;
	tl_buf password = TL_BUF_INIT, header = TL_BUF_INIT, digest = TL_BUF_INIT;
	rc = split_image(&repo, &tag, local_image);
	if (rc == TL_OK)
		rc = tl__registry_secrets(&password, NULL, NULL, ctx, false);
	if (rc == TL_OK)
		rc = tl_docker_registry_auth(&header, r.address, TL__REGISTRY_USER, password.ptr);
	if (rc == TL_OK) {
		size_t n = strlen(r.address);
		bool ours = !strncmp(repo, r.address, n) && repo[n] == '/';
		target = ours ? tl__strdup(repo) : tl__sprintf("%s/%s", r.address, repo);
		rc = target ? TL_OK : TL_ENOMEM;
	}
	if (rc == TL_OK && strcmp(target, repo))
		rc = tl_docker_image_tag(d, local_image, target, tag);
	if (rc == TL_OK)
		rc = tl_docker_image_push(&digest, d, target, tag, header.ptr);
	char *out = rc == TL_OK ? tl__sprintf("%s:%s@%s", target, tag, digest.ptr) : NULL;
	char *out_auth = rc == TL_OK ? tl__strdup(header.ptr) : NULL;
	if (rc == TL_OK && (!out || !out_auth)) {
		free(out);
		free(out_auth);
		rc = TL_ENOMEM;
	}
	if (rc == TL_OK) {
		*ref = out;
		*auth = out_auth;
	}
	if (password.ptr)
		explicit_bzero(password.ptr, password.size);
	if (header.ptr)
		explicit_bzero(header.ptr, header.size);
	tl_buf_dispose(&password);
	tl_buf_dispose(&header);
	tl_buf_dispose(&digest);
	free(repo);
	free(tag);
	free(target);
	tl__registry_dispose(&r);
	return rc;
}

int tl__registry_status(tl_buf *line, bool *ok, tl_ctx *ctx, tl_docker *d)
{
	tl__registry r;
	json_t *svc = NULL;
	int rc = tl__registry_config(&r, ctx);
	if (rc)
		return rc;
	bool running = false;
	tl_buf why = TL_BUF_INIT;
	rc = find_service(&svc, d);
	if (rc == TL_OK && svc)
		rc = tl__registry_running(&running, &why, d);
	if (rc == TL_OK) {
		*ok = !svc || running;
		rc = !svc ? tl__buf_puts(line, "no registry (cluster init --no-registry)")
		     : running
		         ? tl__buf_printf(line, "registry running at %s", r.address)
		         : tl__buf_printf(line, "registry %s at %s is not running (%s)",
		                          TL__REGISTRY_SERVICE, r.address,
		                          why.size ? why.ptr : "no task");
	}
	json_decref(svc);
	tl_buf_dispose(&why);
	tl__registry_dispose(&r);
	return rc;
}
