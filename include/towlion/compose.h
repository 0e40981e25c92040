/*
 * libtowlion - reading an app's compose file.
 *
 * Reads the subset of the Compose specification apps use into a plan of
 * services: image, build (string or context/dockerfile/args/target),
 * command, entrypoint, environment (map or list), env_file, ports, expose,
 * volumes, tmpfs, depends_on (list or map with condition), healthcheck,
 * labels, restart, init, read_only, user, working_dir, stop_grace_period,
 * stop_signal, extra_hosts, deploy.resources.limits (cpus, memory),
 * mem_limit, cpus, networks (with aliases), profiles; top-level volumes,
 * networks and the `x-towlion` block. YAML anchors, aliases and `<<`
 * merge keys work; `x-*` keys are extensions and ignored.
 *
 * Values are interpolated: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
 * ${VAR:?error}, ${VAR?error}, and $$ for a literal $. Variables come from
 * the env file (default: .env next to the compose file), then the process
 * environment, then `vars` given in the options (which win).
 *
 * A file is untrusted input with limits (TL_EINVALID naming the limit past
 * them): 1 MiB; 250000 keys, values and items read once anchors, aliases
 * and `<<` are applied; 1 MiB per interpolated value, 16 MiB for all of
 * them; a 4 MiB env file.
 *
 * Unknown keys are warnings naming file:line; wrong types, bad values and
 * depends_on cycles are TL_EINVALID errors naming file:line. With the
 * strict policy (for untrusted files, like previews of pull requests), the
 * file may not ask for privileged mode, capabilities, devices, host
 * namespaces, security options, the Docker socket, or any host path
 * outside the app directory (bind mounts, build contexts, env files).
 *
 * Relative paths (build contexts, bind sources, env files) are resolved
 * against the compose file's directory; the getters return absolute paths.
 */
#ifndef TOWLION_COMPOSE_H
#define TOWLION_COMPOSE_H

#include "towlion/common.h"
#include "towlion/envfile.h"

TL_BEGIN_DECL

typedef struct tl_compose tl_compose;
typedef struct tl_compose_service tl_compose_service;

/** How much a compose file is trusted. */
typedef enum {
	TL_COMPOSE_TRUSTED = 0, /* the app's own deploy: anything the subset allows */
	TL_COMPOSE_STRICT = 1   /* untrusted (previews): see above */
} tl_compose_policy;

/** Flags for tl_compose_options.flags. */
#define TL_COMPOSE_NO_PROCESS_ENV (1u << 0) /* interpolate without getenv() */
#define TL_COMPOSE_NO_ENV_FILE (1u << 1)    /* read no env file at all */

typedef struct {
	unsigned int version;     /* TL_COMPOSE_OPTIONS_VERSION */
	int policy;               /* a tl_compose_policy */
	const char *app_dir;      /* STRICT: host paths must stay inside it;
	                             NULL: the compose file's directory */
	const char *env_file;     /* NULL: .env next to the compose file, if any */
	const tl_envfile *vars;   /* variables that win over all others, or NULL */
	unsigned int flags;       /* TL_COMPOSE_* */
} tl_compose_options;

#define TL_COMPOSE_OPTIONS_VERSION 1
#define TL_COMPOSE_OPTIONS_INIT {TL_COMPOSE_OPTIONS_VERSION, TL_COMPOSE_TRUSTED, NULL, NULL, NULL, 0}

TL_EXTERN(int) tl_compose_options_init(tl_compose_options *o, unsigned int version);

/**
 * Find an app's compose file in `app_dir`: deploy/docker-compose.yml,
 * docker-compose.yml, compose.yaml (then .yml variants), first match.
 * TL_ENOTFOUND naming the places looked at.
 */
TL_EXTERN(int) tl_compose_find(tl_buf *path, const char *app_dir);

/** Read and check the compose file at `path`. `opts` may be NULL. */
TL_EXTERN(int) tl_compose_load(tl_compose **out, const char *path,
                               const tl_compose_options *opts);

/**
 * Parse `len` bytes of compose YAML; `name` labels messages and relative
 * paths resolve against `base_dir` (NULL: the current directory).
 */
TL_EXTERN(int) tl_compose_parse(tl_compose **out, const char *data, size_t len,
                                const char *name, const char *base_dir,
                                const tl_compose_options *opts);

TL_EXTERN(void) tl_compose_free(tl_compose *c);

/** Warnings ("file:line: unknown key ..."). */
TL_EXTERN(size_t) tl_compose_warning_count(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_warning_at(const tl_compose *c, size_t i);

/** Services in file order. */
TL_EXTERN(size_t) tl_compose_service_count(const tl_compose *c);
TL_EXTERN(const tl_compose_service *) tl_compose_service_at(const tl_compose *c, size_t i);
TL_EXTERN(const tl_compose_service *) tl_compose_service_get(const tl_compose *c,
                                                            const char *name);
/** Services in start order: each after everything it depends on. */
TL_EXTERN(const tl_compose_service *) tl_compose_start_order_at(const tl_compose *c,
                                                               size_t i);

/** Top-level named volumes and networks. */
TL_EXTERN(size_t) tl_compose_volume_name_count(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_volume_name_at(const tl_compose *c, size_t i);
TL_EXTERN(size_t) tl_compose_network_name_count(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_network_name_at(const tl_compose *c, size_t i);

/**
 * The x-towlion block with its defaults: web service ("app"), port (8000),
 * health path ("/health"), release command (NULL when none), domain
 * (NULL when none).
 */
TL_EXTERN(const char *) tl_compose_web_service(const tl_compose *c);
TL_EXTERN(int) tl_compose_web_port(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_health_path(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_release_command(const tl_compose *c);
TL_EXTERN(const char *) tl_compose_domain(const tl_compose *c);

/**
 * x-towlion.routes: path routes to several services (e.g. "/api/" + "*" to
 * the backend, everything else to the frontend), in file order. A path of
 * "/" + "*" is the site's default route. Without routes, the web service
 * alone is routed. Strings are owned by `c`; port defaults to 8000 and the
 * health path to "/health".
 */
TL_EXTERN(size_t) tl_compose_route_count(const tl_compose *c);
TL_EXTERN(int) tl_compose_route_at(const tl_compose *c, size_t i, const char **path,
                                   const char **service, int *port,
                                   const char **health_path);

/** The whole plan as JSON (what `towlion compose check --json` prints). */
TL_EXTERN(int) tl_compose_to_json(tl_buf *out, const tl_compose *c);

/* ---- a service. Strings are "" when unset unless said; lists are
 * read with _count and _at. ---- */

TL_EXTERN(const char *) tl_compose_service_name(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_image(const tl_compose_service *s);
/** Absolute build context, or NULL when the service is not built. */
TL_EXTERN(const char *) tl_compose_service_build_context(const tl_compose_service *s);
/** Dockerfile relative to the context ("Dockerfile" by default). */
TL_EXTERN(const char *) tl_compose_service_build_dockerfile(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_build_target(const tl_compose_service *s);
TL_EXTERN(size_t) tl_compose_service_build_arg_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_build_arg_at(const tl_compose_service *s, size_t i,
                                               const char **key, const char **value);

/** Command and entrypoint as argv (a string form is split like a shell
 * would, without expansion); count 0 when unset. */
TL_EXTERN(size_t) tl_compose_service_command_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_command_at(const tl_compose_service *s, size_t i);
TL_EXTERN(size_t) tl_compose_service_entrypoint_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_entrypoint_at(const tl_compose_service *s,
                                                         size_t i);

/** `environment` entries (a KEY without value takes the variable's value,
 * and is left out when the variable is unset). */
TL_EXTERN(size_t) tl_compose_service_env_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_env_at(const tl_compose_service *s, size_t i,
                                         const char **key, const char **value);
/** env_file paths (absolute), in order; later files win. */
TL_EXTERN(size_t) tl_compose_service_env_file_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_env_file_at(const tl_compose_service *s,
                                                       size_t i);
/**
 * Read the i-th env_file as Docker Compose does: its values interpolated
 * from the service's earlier env_files, then the variables the compose
 * file was read with (tl_compose_options' vars, the process environment
 * unless TL_COMPOSE_NO_PROCESS_ENV, the .env file), then the keys above
 * them. A missing file marked `required: false` reads as empty. Free with
 * tl_envfile_free().
 */
TL_EXTERN(int) tl_compose_service_env_file_read(const tl_compose_service *s, size_t i,
                                                tl_envfile **out);

/** Published ports: host_ip ("" for all), host_port (0: any), container
 * port and protocol ("tcp"/"udp"). Ranges come expanded. */
TL_EXTERN(size_t) tl_compose_service_port_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_port_at(const tl_compose_service *s, size_t i,
                                          const char **host_ip, int *host_port,
                                          int *container_port, const char **protocol);
/** Exposed (not published) ports as "8000" or "8000/udp". */
TL_EXTERN(size_t) tl_compose_service_expose_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_expose_at(const tl_compose_service *s, size_t i);

/** Mounts: type "bind" (absolute source), "volume" (a name, or "" for an
 * anonymous one) or "tmpfs"; target; read-only flag. */
TL_EXTERN(size_t) tl_compose_service_volume_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_volume_at(const tl_compose_service *s, size_t i,
                                            const char **type, const char **source,
                                            const char **target, int *read_only);
/** tmpfs mounts: target path with optional ":options". */
TL_EXTERN(size_t) tl_compose_service_tmpfs_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_tmpfs_at(const tl_compose_service *s, size_t i);

/** secrets: files the service reads at /run/secrets/TARGET (a file name),
 * each holding the app's environment value ENV_KEY (the top-level
 * `secrets: SOURCE: {environment: ENV_KEY}`: a `towlion env` setting or a
 * platform value, resolved at deploy), owned by uid:gid (0:0 unless set)
 * with `mode` (0444 unless set). */
TL_EXTERN(size_t) tl_compose_service_secret_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_secret_at(const tl_compose_service *s, size_t i,
                                            const char **source, const char **target,
                                            const char **env_key, int *uid, int *gid,
                                            int *mode);

/** depends_on: the service and its condition ("service_started",
 * "service_healthy", "service_completed_successfully"). */
TL_EXTERN(size_t) tl_compose_service_depends_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_depends_at(const tl_compose_service *s, size_t i,
                                             const char **service, const char **condition);

/** Healthcheck: 1 when set (0 when absent, -1 when disabled), and its
 * test in Docker's form ({"CMD", ...} or {"CMD-SHELL", "..."}). Durations
 * in ms, 0 when unset. */
TL_EXTERN(int) tl_compose_service_healthcheck(const tl_compose_service *s);
TL_EXTERN(size_t) tl_compose_service_healthcheck_test_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_healthcheck_test_at(const tl_compose_service *s,
                                                               size_t i);
TL_EXTERN(long) tl_compose_service_healthcheck_interval_ms(const tl_compose_service *s);
TL_EXTERN(long) tl_compose_service_healthcheck_timeout_ms(const tl_compose_service *s);
TL_EXTERN(long) tl_compose_service_healthcheck_start_period_ms(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_healthcheck_retries(const tl_compose_service *s);

TL_EXTERN(size_t) tl_compose_service_label_count(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_label_at(const tl_compose_service *s, size_t i,
                                           const char **key, const char **value);

/** "no", "always", "on-failure[:N]", "unless-stopped", or "" unset. */
TL_EXTERN(const char *) tl_compose_service_restart(const tl_compose_service *s);
/** init and read_only: 1, 0, or -1 when unset. */
TL_EXTERN(int) tl_compose_service_init(const tl_compose_service *s);
TL_EXTERN(int) tl_compose_service_read_only(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_user(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_working_dir(const tl_compose_service *s);
/** stop_grace_period in ms, or -1 when unset. */
TL_EXTERN(long) tl_compose_service_stop_grace_ms(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_stop_signal(const tl_compose_service *s);
/** CPU limit (0: none) and memory limit in bytes (0: none). */
TL_EXTERN(double) tl_compose_service_cpus(const tl_compose_service *s);
TL_EXTERN(int64_t) tl_compose_service_memory(const tl_compose_service *s);
/** deploy.replicas (0 to 100), or -1 when unset. */
TL_EXTERN(int) tl_compose_service_replicas(const tl_compose_service *s);
/** deploy.placement.constraints, as written ("node.role==manager"). */
TL_EXTERN(size_t) tl_compose_service_constraint_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_constraint_at(const tl_compose_service *s,
                                                         size_t i);
/** extra_hosts as "host:ip". */
TL_EXTERN(size_t) tl_compose_service_extra_host_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_extra_host_at(const tl_compose_service *s,
                                                         size_t i);
/** Networks the service joins, and the aliases on the i-th one. */
TL_EXTERN(size_t) tl_compose_service_network_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_network_at(const tl_compose_service *s, size_t i);
TL_EXTERN(size_t) tl_compose_service_network_alias_count(const tl_compose_service *s,
                                                         size_t i);
TL_EXTERN(const char *) tl_compose_service_network_alias_at(const tl_compose_service *s,
                                                            size_t i, size_t j);
TL_EXTERN(size_t) tl_compose_service_profile_count(const tl_compose_service *s);
TL_EXTERN(const char *) tl_compose_service_profile_at(const tl_compose_service *s, size_t i);

TL_END_DECL

#endif
