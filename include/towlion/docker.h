/*
 * libtowlion - a Docker Engine API client.
 *
 * Talks to dockerd over TOWLION_DOCKER_HOST (unix:///path or tcp://host:port)
 * with Engine API version 1.41, which every daemon since Docker 20.10
 * speaks. No docker CLI, no shell.
 *
 * Errors: a missing object is TL_ENOTFOUND, a name or state clash
 * TL_ECONFLICT, other refusals TL_ERROR with class TL_ERRCLASS_DOCKER, the
 * HTTP status as upstream code and Docker's own message. An unreachable
 * daemon is TL_EUNAVAILABLE naming the socket.
 *
 * A tl_docker keeps one connection open and is not thread-safe: use one
 * per thread. Long operations (build, logs -f, exec, wait) report through
 * the context's event callback and stop when it asks to cancel.
 *
 * Streamed output (build lines, logs and exec output without a buffer) is
 * delivered as TL_EVENT_OUTPUT events, one per line, with `subject` set to
 * the image or container and `level` TL_LOG_INFO for stdout and
 * TL_LOG_WARN for stderr.
 */
#ifndef TOWLION_DOCKER_H
#define TOWLION_DOCKER_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef struct tl_docker tl_docker;

/** The Engine API version requests use; older daemons are refused. */
#define TL_DOCKER_API_VERSION "1.41"

/**
 * Connect to the daemon named by TOWLION_DOCKER_HOST in `ctx` and check
 * its API version (GET /_ping). TL_EUNAVAILABLE when the socket is missing
 * or nobody answers; TL_EAUTH when the socket refuses us;
 * TL_EUNSUPPORTED for an API older than 1.41. `ctx` must outlive the
 * handle.
 */
TL_EXTERN(int) tl_docker_open(tl_docker **out, tl_ctx *ctx);

/** Close the connection and free the handle. NULL is fine. */
TL_EXTERN(void) tl_docker_free(tl_docker *d);

/** The API version requests use ("1.41"). */
TL_EXTERN(const char *) tl_docker_api_version(const tl_docker *d);

/** The daemon's API version as it answered /_ping ("1.41", "1.45"). */
TL_EXTERN(const char *) tl_docker_server_api_version(const tl_docker *d);

/** GET /version: the daemon's version ("20.10.24") and its OS/arch. */
TL_EXTERN(int) tl_docker_version(tl_buf *version, tl_buf *os_arch, tl_docker *d);

/* ---- objects returned by inspect and list -------------------------- */

/**
 * A container as seen by inspect or list. Getters return "" (never NULL)
 * for an absent string and work on both shapes.
 */
typedef struct tl_docker_container tl_docker_container;

TL_EXTERN(void) tl_docker_container_free(tl_docker_container *c);
TL_EXTERN(const char *) tl_docker_container_id(const tl_docker_container *c);
/** The name without the leading '/'. */
TL_EXTERN(const char *) tl_docker_container_name(const tl_docker_container *c);
TL_EXTERN(const char *) tl_docker_container_image(const tl_docker_container *c);
/** "created", "running", "paused", "restarting", "exited", "dead". */
TL_EXTERN(const char *) tl_docker_container_state(const tl_docker_container *c);
/** 1 when running, 0 otherwise. */
TL_EXTERN(int) tl_docker_container_running(const tl_docker_container *c);
/** Exit code of the last run (inspect only), or -1 when unknown. */
TL_EXTERN(int) tl_docker_container_exit_code(const tl_docker_container *c);
/** "healthy", "unhealthy", "starting", or "" without a healthcheck. */
TL_EXTERN(const char *) tl_docker_container_health(const tl_docker_container *c);
/** The human status line of a list entry ("Up 3 minutes (healthy)"). */
TL_EXTERN(const char *) tl_docker_container_status(const tl_docker_container *c);
/** Creation time as Unix seconds. */
TL_EXTERN(int64_t) tl_docker_container_created(const tl_docker_container *c);
/** Value of label `key`, or NULL when it is not set. */
TL_EXTERN(const char *) tl_docker_container_label(const tl_docker_container *c,
                                                  const char *key);
/** The container's IP address on `network` (NULL: the first one), or "". */
TL_EXTERN(const char *) tl_docker_container_ip(const tl_docker_container *c,
                                               const char *network);
/**
 * The host port that `port` ("8000/tcp", or "8000" for tcp) is published
 * on, or 0 when it is not; `host_ip` (may be NULL) receives its address.
 */
TL_EXTERN(int) tl_docker_container_host_port(const tl_docker_container *c,
                                             const char *port, tl_buf *host_ip);
/** The raw JSON Docker answered, for anything the getters lack. */
TL_EXTERN(int) tl_docker_container_json(tl_buf *out, const tl_docker_container *c);

typedef struct tl_docker_container_list tl_docker_container_list;

TL_EXTERN(void) tl_docker_container_list_free(tl_docker_container_list *l);
TL_EXTERN(size_t) tl_docker_container_list_count(const tl_docker_container_list *l);
/** The i-th container, owned by the list; NULL when out of range. */
TL_EXTERN(const tl_docker_container *)
tl_docker_container_list_at(const tl_docker_container_list *l, size_t i);

/** An image as seen by inspect or list. */
typedef struct tl_docker_image tl_docker_image;

TL_EXTERN(void) tl_docker_image_free(tl_docker_image *img);
TL_EXTERN(const char *) tl_docker_image_id(const tl_docker_image *img);
TL_EXTERN(int64_t) tl_docker_image_size(const tl_docker_image *img);
TL_EXTERN(size_t) tl_docker_image_tag_count(const tl_docker_image *img);
TL_EXTERN(const char *) tl_docker_image_tag_at(const tl_docker_image *img, size_t i);
TL_EXTERN(const char *) tl_docker_image_label(const tl_docker_image *img, const char *key);
TL_EXTERN(int) tl_docker_image_json(tl_buf *out, const tl_docker_image *img);

typedef struct tl_docker_image_list tl_docker_image_list;

TL_EXTERN(void) tl_docker_image_list_free(tl_docker_image_list *l);
TL_EXTERN(size_t) tl_docker_image_list_count(const tl_docker_image_list *l);
TL_EXTERN(const tl_docker_image *) tl_docker_image_list_at(const tl_docker_image_list *l,
                                                          size_t i);

/* ---- images --------------------------------------------------------- */

/** What to build; fill it with the setters below. */
typedef struct tl_docker_build_spec tl_docker_build_spec;

/** A build of the directory `context_dir` (its Dockerfile by default). */
TL_EXTERN(int) tl_docker_build_spec_new(tl_docker_build_spec **out,
                                        const char *context_dir);
TL_EXTERN(void) tl_docker_build_spec_free(tl_docker_build_spec *s);
/** Dockerfile path relative to the context ("deploy/Dockerfile"). */
TL_EXTERN(int) tl_docker_build_spec_set_dockerfile(tl_docker_build_spec *s,
                                                   const char *path);
TL_EXTERN(int) tl_docker_build_spec_set_target(tl_docker_build_spec *s, const char *target);
/** A name:tag for the result; may be given several times. */
TL_EXTERN(int) tl_docker_build_spec_add_tag(tl_docker_build_spec *s, const char *tag);
TL_EXTERN(int) tl_docker_build_spec_add_arg(tl_docker_build_spec *s, const char *key,
                                            const char *value);
TL_EXTERN(int) tl_docker_build_spec_add_label(tl_docker_build_spec *s, const char *key,
                                              const char *value);
/** Build without the layer cache. */
TL_EXTERN(int) tl_docker_build_spec_set_no_cache(tl_docker_build_spec *s, int no_cache);
/** Whole-build timeout in ms (0: none). */
TL_EXTERN(int) tl_docker_build_spec_set_timeout(tl_docker_build_spec *s, long timeout_ms);

/**
 * Build an image. The context is streamed from disk as a tar, without the
 * paths .dockerignore excludes (the Dockerfile and .dockerignore are always
 * sent); progress events count its bytes. Each line of build output is an
 * OUTPUT event (cut at 64 KiB and marked: memory stays flat whatever a
 * step prints). The .dockerignore and the context have limits (1 MiB,
 * 10000 patterns; 200000 entries): TL_EINVALID names them. A failing step is TL_ERROR with Docker's message and the
 * step ("Step 2/4 : RUN false: The command ... returned a non-zero code").
 * `image_id` (may be NULL) receives "sha256:...".
 */
TL_EXTERN(int) tl_docker_image_build(tl_buf *image_id, tl_docker *d,
                                     const tl_docker_build_spec *spec);

/** Inspect an image by name or id; TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_docker_image_inspect(tl_docker_image **out, tl_docker *d,
                                       const char *image);

/**
 * Images whose labels match every filter ("towlion.app=hello" or just
 * "towlion.app"); `label_filters` is NULL-terminated and may be NULL.
 */
TL_EXTERN(int) tl_docker_image_list_by_label(tl_docker_image_list **out, tl_docker *d,
                                             const char *const *label_filters);

/** Give `image` the name `repo:tag` (tag NULL: "latest"). */
TL_EXTERN(int) tl_docker_image_tag(tl_docker *d, const char *image, const char *repo,
                                   const char *tag);

/**
 * Push `repo:tag` (tag NULL: "latest") to the registry its name starts with
 * ("127.0.0.1:5000/shop/web"), with `registry_auth` (the X-Registry-Auth
 * value from tl_docker_registry_auth; NULL or "": anonymous). Layers the
 * registry has already are not sent again. Docker reports a failure inside
 * its streamed answer: it is read to the end, and an error there fails the
 * call with the registry's message (TL_EAUTH when the credentials were
 * refused). `digest` (may be NULL) receives the pushed manifest's
 * "sha256:...".
 */
TL_EXTERN(int) tl_docker_image_push(tl_buf *digest, tl_docker *d, const char *repo,
                                    const char *tag, const char *registry_auth);

/**
 * The X-Registry-Auth value for `user` and `password` at `server`
 * ("127.0.0.1:5000"): the JSON Docker expects, base64url-encoded, into
 * `out` (appended). It holds the password: a secret.
 */
TL_EXTERN(int) tl_docker_registry_auth(tl_buf *out, const char *server, const char *user,
                                       const char *password);

/** Remove an image (force: even when tagged several times or used). */
TL_EXTERN(int) tl_docker_image_remove(tl_docker *d, const char *image, int force);

/**
 * Remove unused images matching the label filters (all unused ones, not
 * only dangling ones). `reclaimed` (may be NULL) receives the bytes freed.
 * At least one filter is required, so nothing else is ever pruned.
 */
TL_EXTERN(int) tl_docker_image_prune(uint64_t *reclaimed, tl_docker *d,
                                     const char *const *label_filters);

/**
 * Create an image from a root filesystem tar at `tar_path` (like
 * `docker import`), named `reference` ("name:tag"). `changes` is a
 * NULL-terminated list of Dockerfile instructions ("CMD [\"/bin/sh\"]") or
 * NULL. `image_id` may be NULL.
 */
TL_EXTERN(int) tl_docker_image_import(tl_buf *image_id, tl_docker *d, const char *tar_path,
                                      const char *reference,
                                      const char *const *changes);

/* ---- containers ----------------------------------------------------- */

/** What to create; fill it with the setters below. */
typedef struct tl_docker_container_spec tl_docker_container_spec;

TL_EXTERN(int) tl_docker_container_spec_new(tl_docker_container_spec **out,
                                            const char *image);
TL_EXTERN(void) tl_docker_container_spec_free(tl_docker_container_spec *s);
/** The container's name (NULL: Docker picks one). */
TL_EXTERN(int) tl_docker_container_spec_set_name(tl_docker_container_spec *s,
                                                 const char *name);
/** Command and entrypoint as NULL-terminated argv lists. */
TL_EXTERN(int) tl_docker_container_spec_set_cmd(tl_docker_container_spec *s,
                                                const char *const *argv);
TL_EXTERN(int) tl_docker_container_spec_set_entrypoint(tl_docker_container_spec *s,
                                                       const char *const *argv);
TL_EXTERN(int) tl_docker_container_spec_add_env(tl_docker_container_spec *s,
                                                const char *key, const char *value);
TL_EXTERN(int) tl_docker_container_spec_add_label(tl_docker_container_spec *s,
                                                  const char *key, const char *value);
/**
 * Publish `container_port`/`proto` ("tcp" when NULL) on `host_ip` (NULL:
 * all addresses; prefer "127.0.0.1") port `host_port` (0: any free port).
 */
TL_EXTERN(int) tl_docker_container_spec_add_port(tl_docker_container_spec *s,
                                                 int container_port, const char *proto,
                                                 const char *host_ip, int host_port);
/** Mount a host path (`source` absolute) or a named volume at `target`. */
TL_EXTERN(int) tl_docker_container_spec_add_bind(tl_docker_container_spec *s,
                                                 const char *source, const char *target,
                                                 int read_only);
TL_EXTERN(int) tl_docker_container_spec_add_volume(tl_docker_container_spec *s,
                                                   const char *volume, const char *target,
                                                   int read_only);
/** A tmpfs at `target` with mount options ("size=64m") or NULL. */
TL_EXTERN(int) tl_docker_container_spec_add_tmpfs(tl_docker_container_spec *s,
                                                  const char *target, const char *options);
/** Attach to `network` at creation; may be called for one network only. */
TL_EXTERN(int) tl_docker_container_spec_set_network(tl_docker_container_spec *s,
                                                    const char *network);
TL_EXTERN(int) tl_docker_container_spec_add_alias(tl_docker_container_spec *s,
                                                  const char *alias);
/** "no", "always", "unless-stopped" or "on-failure" (with max retries). */
TL_EXTERN(int) tl_docker_container_spec_set_restart(tl_docker_container_spec *s,
                                                    const char *policy, int max_retries);
/** Run an init as PID 1 (forwards signals, reaps zombies). */
TL_EXTERN(int) tl_docker_container_spec_set_init(tl_docker_container_spec *s, int init);
TL_EXTERN(int) tl_docker_container_spec_set_read_only(tl_docker_container_spec *s,
                                                      int read_only);
TL_EXTERN(int) tl_docker_container_spec_set_user(tl_docker_container_spec *s,
                                                 const char *user);
TL_EXTERN(int) tl_docker_container_spec_set_workdir(tl_docker_container_spec *s,
                                                    const char *dir);
TL_EXTERN(int) tl_docker_container_spec_set_tty(tl_docker_container_spec *s, int tty);
/**
 * A healthcheck: `test` is a NULL-terminated list in Docker's form
 * ({"CMD", "wget", "-q", "-O-", "http://127.0.0.1:8000/health", NULL},
 * {"CMD-SHELL", "...", NULL} or {"NONE", NULL}); durations in ms (0:
 * Docker's default).
 */
TL_EXTERN(int) tl_docker_container_spec_set_healthcheck(tl_docker_container_spec *s,
                                                        const char *const *test,
                                                        long interval_ms, long timeout_ms,
                                                        int retries, long start_period_ms);
/** CPU limit in CPUs (0.5 = half a core; 0: none). */
TL_EXTERN(int) tl_docker_container_spec_set_cpus(tl_docker_container_spec *s, double cpus);
/** Memory limit in bytes (0: none). */
TL_EXTERN(int) tl_docker_container_spec_set_memory(tl_docker_container_spec *s,
                                                   int64_t bytes);
/** An /etc/hosts entry ("db.local:10.0.0.5", "host.docker.internal:host-gateway"). */
TL_EXTERN(int) tl_docker_container_spec_add_extra_host(tl_docker_container_spec *s,
                                                       const char *host_colon_ip);
/** The signal `stop` sends ("SIGTERM") and how long it waits (seconds). */
TL_EXTERN(int) tl_docker_container_spec_set_stop(tl_docker_container_spec *s,
                                                 const char *signal, int timeout_s);
/**
 * The logging driver ("json-file") and its options as "key=value" strings
 * ("max-size=10m", "max-file=3"), NULL-terminated (NULL: none):
 * HostConfig.LogConfig. Docker checks the values at create.
 */
TL_EXTERN(int) tl_docker_container_spec_set_log(tl_docker_container_spec *s,
                                                const char *driver,
                                                const char *const *options);
/** The Engine API JSON body this spec sends (for --dry-run and debugging). */
TL_EXTERN(int) tl_docker_container_spec_json(tl_buf *out, const tl_docker_container_spec *s);

/** Create a container; `id` (may be NULL) receives its id. A taken name
 * is TL_ECONFLICT, a missing image TL_ENOTFOUND. */
TL_EXTERN(int) tl_docker_container_create(tl_buf *id, tl_docker *d,
                                          const tl_docker_container_spec *spec);
/** Start; starting a running container is fine. */
TL_EXTERN(int) tl_docker_container_start(tl_docker *d, const char *container);
/** Stop (stop signal, then SIGKILL after timeout_s; <0: the container's
 * own timeout); stopping a stopped container is fine. */
TL_EXTERN(int) tl_docker_container_stop(tl_docker *d, const char *container, int timeout_s);
/** Send `signal` ("SIGKILL" when NULL); TL_ECONFLICT if it is not running. */
TL_EXTERN(int) tl_docker_container_kill(tl_docker *d, const char *container,
                                        const char *signal);
TL_EXTERN(int) tl_docker_container_restart(tl_docker *d, const char *container,
                                           int timeout_s);
TL_EXTERN(int) tl_docker_container_rename(tl_docker *d, const char *container,
                                          const char *new_name);

#define TL_DOCKER_REMOVE_FORCE (1u << 0)   /* kill it first if running */
#define TL_DOCKER_REMOVE_VOLUMES (1u << 1) /* remove its anonymous volumes */

TL_EXTERN(int) tl_docker_container_remove(tl_docker *d, const char *container,
                                          unsigned int flags);
TL_EXTERN(int) tl_docker_container_inspect(tl_docker_container **out, tl_docker *d,
                                           const char *container);
/**
 * Containers whose labels match every filter ("towlion.app=hello" or
 * "towlion.app"); running ones only unless `all`.
 */
TL_EXTERN(int) tl_docker_container_list_by_label(tl_docker_container_list **out,
                                                 tl_docker *d,
                                                 const char *const *label_filters,
                                                 int all);
/** Wait until the container stops; its exit code goes to `exit_code`.
 * TL_ETIMEOUT after timeout_ms (0: no limit). */
TL_EXTERN(int) tl_docker_container_wait(int *exit_code, tl_docker *d, const char *container,
                                        long timeout_ms);

/* ---- logs ------------------------------------------------------------ */

typedef struct {
	unsigned int version; /* TL_DOCKER_LOGS_OPTIONS_VERSION */
	int tail;             /* last N lines; < 0: all */
	int64_t since;        /* Unix seconds; 0: from the start */
	int follow;           /* keep streaming until cancelled or the container stops */
	int timestamps;       /* prefix lines with Docker's timestamps */
	int no_stdout;        /* leave out stdout */
	int no_stderr;        /* leave out stderr */
} tl_docker_logs_options;

#define TL_DOCKER_LOGS_OPTIONS_VERSION 1
#define TL_DOCKER_LOGS_OPTIONS_INIT {TL_DOCKER_LOGS_OPTIONS_VERSION, -1, 0, 0, 0, 0, 0}

TL_EXTERN(int) tl_docker_logs_options_init(tl_docker_logs_options *o, unsigned int version);

/**
 * A container's logs, demultiplexed into `out` (stdout) and `err` (stderr).
 * When both are NULL, each line is an OUTPUT event instead (required with
 * `follow`, which streams until the container stops or the caller
 * cancels, then returns TL_EUSER). TTY containers have one stream, which
 * goes to `out`. `opts` may be NULL. Into buffers at most 16 MiB are read
 * (TL_EIO naming the limit past it; use `tail`); as events, a line longer
 * than 64 KiB is cut there and marked, and the rest of it dropped.
 */
TL_EXTERN(int) tl_docker_container_logs(tl_buf *out, tl_buf *err, tl_docker *d,
                                        const char *container,
                                        const tl_docker_logs_options *opts);

/**
 * A Swarm service's logs (every task's, as Docker's service logs give
 * them), with the same buffers, events, options and limits as
 * tl_docker_container_logs. TL_ENOTFOUND when there is no such service;
 * the daemon must be a swarm manager.
 */
TL_EXTERN(int) tl_docker_service_logs(tl_buf *out, tl_buf *err, tl_docker *d,
                                      const char *service,
                                      const tl_docker_logs_options *opts);

/* ---- exec ------------------------------------------------------------ */

typedef struct {
	unsigned int version;     /* TL_DOCKER_EXEC_OPTIONS_VERSION */
	const char *const *env;   /* "KEY=value" entries, NULL-terminated, or NULL */
	const char *user;         /* NULL: the container's */
	const char *workdir;      /* NULL: the container's */
	const void *stdin_data;   /* sent to the command's stdin, then EOF; NULL: none */
	size_t stdin_len;
	int tty;                  /* allocate a TTY (one output stream) */
	long timeout_ms;          /* 0: none */
	/* version 2: streams of any size through descriptors (pipes, files)
	 * instead of memory. */
	int stdin_fd;             /* read to its end into the command's stdin; -1: none
	                             (not with stdin_data) */
	int stdout_fd;            /* the command's stdout is written there; -1: none (then
	                             `out` or events as before) */
} tl_docker_exec_options;

#define TL_DOCKER_EXEC_OPTIONS_VERSION 2
#define TL_DOCKER_EXEC_OPTIONS_INIT \
	{TL_DOCKER_EXEC_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, -1, -1}

TL_EXTERN(int) tl_docker_exec_options_init(tl_docker_exec_options *o, unsigned int version);

/**
 * Run `argv` (NULL-terminated) in a running container and wait for it.
 * TL_OK means it ran: its exit status is in `exit_code`. Its stdout and
 * stderr go to `out` and `err`, or, when both are NULL, to OUTPUT events
 * as they come. TL_ECONFLICT when the container is not running. Output
 * has the limits of tl_docker_container_logs(): 16 MiB into buffers, lines
 * cut at 64 KiB as events. With `stdout_fd` the command's stdout goes
 * there whatever its size (`out` must be NULL) and its stderr to `err`
 * (dropped when NULL); a descriptor that stops taking it (EPIPE) ends the
 * exec with TL_EIO. Options of version 1 are accepted (no descriptors).
 */
TL_EXTERN(int) tl_docker_exec(int *exit_code, tl_buf *out, tl_buf *err, tl_docker *d,
                              const char *container, const char *const *argv,
                              const tl_docker_exec_options *opts);

/* ---- networks -------------------------------------------------------- */

/**
 * Make sure a bridge network `name` exists (creating it with the labels,
 * "key=value" entries, NULL-terminated, when missing). Idempotent.
 * `created` (may be NULL) is set to 1 when this call created it.
 */
TL_EXTERN(int) tl_docker_network_ensure(int *created, tl_docker *d, const char *name,
                                        const char *const *labels);
/**
 * The same for an internal network: containers on it reach each other but
 * nothing outside (Docker gives it no route out and publishes no ports of
 * containers that are only on it). An existing network is left as it is.
 */
TL_EXTERN(int) tl_docker_network_ensure_internal(int *created, tl_docker *d,
                                                 const char *name,
                                                 const char *const *labels);
/** Connect a container, with DNS aliases (NULL-terminated, may be NULL);
 * connecting it again is fine. */
TL_EXTERN(int) tl_docker_network_connect(tl_docker *d, const char *network,
                                         const char *container,
                                         const char *const *aliases);
TL_EXTERN(int) tl_docker_network_disconnect(tl_docker *d, const char *network,
                                            const char *container, int force);
/** Remove a network; TL_ECONFLICT while containers use it. */
TL_EXTERN(int) tl_docker_network_remove(tl_docker *d, const char *network);

TL_END_DECL

#endif
