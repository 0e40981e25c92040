/*
 * libtowlion - the server as a whole: health checks of every service the
 * platform depends on ("doctor").
 */
#ifndef TOWLION_PLATFORM_H
#define TOWLION_PLATFORM_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef enum {
	TL_CHECK_OK = 0,
	TL_CHECK_WARN = 1,
	TL_CHECK_FAIL = 2,
	TL_CHECK_SKIP = 3 /* not configured */
} tl_check_status;

/** One check of the doctor's report. Strings are owned by the report. */
typedef struct {
	const char *name;   /* "docker", "postgres", ... */
	int status;         /* a tl_check_status */
	const char *detail; /* what was found ("Docker 20.10.24, API 1.41") */
	const char *hint;   /* what to do when not ok, or "" */
	double elapsed_ms;  /* how long the check took */
} tl_check;

typedef struct tl_doctor_report tl_doctor_report;

/**
 * Check every configured service (Docker, PostgreSQL, Redis, Caddy, S3)
 * and the platform's directories. Each check is bounded by a short
 * timeout. Returns TL_OK when the report was made, whatever it found;
 * see tl_doctor_report_worst().
 */
TL_EXTERN(int) tl_doctor_run(tl_doctor_report **out, tl_ctx *ctx);

TL_EXTERN(size_t) tl_doctor_report_count(const tl_doctor_report *report);
/** The i-th check, or NULL past the end. */
TL_EXTERN(const tl_check *) tl_doctor_report_at(const tl_doctor_report *report, size_t i);
/** The worst status in the report (TL_CHECK_SKIP counts as ok). */
TL_EXTERN(int) tl_doctor_report_worst(const tl_doctor_report *report);
TL_EXTERN(void) tl_doctor_report_free(tl_doctor_report *report);

/** "ok", "warn", "fail", "skip". */
TL_EXTERN(const char *) tl_check_status_name(int status);

/* ---- doctor with options ----------------------------------------------- */

/** Groups of doctor checks (tl_doctor_options.checks). */
#define TL_DOCTOR_SERVICES (1u << 0) /* directories, docker, postgres, redis,
                                        caddy, s3 (what tl_doctor_run does) */
#define TL_DOCTOR_SERVER (1u << 1)   /* os, disk, ports, backups, certificates,
                                        engine (TOWLION_ENGINE) */
#define TL_DOCTOR_APPS (1u << 2)     /* apps: every app's status (deploy.h) */
#define TL_DOCTOR_ALL (TL_DOCTOR_SERVICES | TL_DOCTOR_SERVER | TL_DOCTOR_APPS)

typedef struct {
	unsigned int version;    /* TL_DOCTOR_OPTIONS_VERSION */
	unsigned int checks;     /* TL_DOCTOR_* groups; 0: TL_DOCTOR_ALL */
	double disk_warn_pct;    /* disk or inode use above this warns; 0: 80 */
	int64_t backup_max_age_s; /* newest backup older than this warns; 0: 36 h */
	int cert_warn_days;      /* certificate expiring sooner warns; 0: 14 */
} tl_doctor_options;

#define TL_DOCTOR_OPTIONS_VERSION 1
#define TL_DOCTOR_OPTIONS_INIT {TL_DOCTOR_OPTIONS_VERSION, 0, 0, 0, 0}

TL_EXTERN(int) tl_doctor_options_init(tl_doctor_options *opts, unsigned int version);

/**
 * The doctor with a choice of checks. With TL_DOCTOR_SERVER it adds, after
 * the service checks and in this order:
 *   "os"           the distribution (/etc/os-release) and kernel; warns
 *                  off Debian 12 or newer
 *   "disk"         space and inode use of the file system holding
 *                  TOWLION_DATA_DIR (statvfs)
 *   "ports"        TOWLION_HTTP_PORT / TOWLION_HTTPS_PORT (the HTTP port only
 *                  with TOWLION_TLS=off): ok when something listens on each
 *                  (Caddy), or when it is free while Caddy answers on its
 *                  admin API (no site yet); free with Caddy down: warn
 *   "backups"      the newest backup of every database found by
 *                  tl_backup_list_get() (backup.h), warned when older than
 *                  backup_max_age_s or unverifiable; skip without backups
 *   "certificates" every certificate Caddy stores under
 *                  TOWLION_CADDY_DIR/data/caddy/certificates (PEM files read
 *                  from disk, no TLS connection made): warn when one expires
 *                  within cert_warn_days, fail when expired
 * With TL_DOCTOR_APPS it adds, last:
 *   "apps"         every app's tl_app_status_get(): fail when a deployed app
 *                  is not healthy (containers gone or stopped, health path
 *                  not answering, route missing or elsewhere); warn when
 *                  only Caddy's silence leaves it unknown, or for leftovers
 * `opts` may be NULL (every check, default thresholds).
 */
TL_EXTERN(int) tl_doctor_run_with(tl_doctor_report **out, tl_ctx *ctx,
                                  const tl_doctor_options *opts);

/* ---- the platform: layout, compose file, services ----------------------- */

/** Flags for tl_platform_options.flags. */
#define TL_PLATFORM_DRY_RUN (1u << 0)   /* plan only: change nothing */
#define TL_PLATFORM_NO_DOCKER (1u << 1) /* init: skip the Docker network */
#define TL_PLATFORM_METRICS (1u << 2)   /* up/down: also the metrics profile
                                           (prometheus, cadvisor, node-exporter) */
#define TL_PLATFORM_NO_PORTS (1u << 3)  /* compose/up: publish no host ports (a
                                           trial next to another platform) */
#define TL_PLATFORM_LOGS (1u << 4)      /* up: also the logs profile (loki,
                                           promtail); grafana runs with either
                                           profile. Both add to the profiles
                                           TOWLION_PLATFORM_PROFILES names */

typedef struct {
	unsigned int version;        /* TL_PLATFORM_OPTIONS_VERSION */
	unsigned int flags;          /* TL_PLATFORM_* */
	const char *root;            /* rebase every platform path under this
	                                directory (a trial run); NULL: none */
	const char *const *images;   /* NULL-terminated "service=image"
	                                overrides ("postgres=postgres:16.4"); NULL:
	                                the pinned defaults */
	const char *standalone_app;  /* compose: the single-app file for APP */
	long timeout_ms;             /* up: wait this long for every service to
	                                be healthy; 0: 120 s */
} tl_platform_options;

#define TL_PLATFORM_OPTIONS_VERSION 1
#define TL_PLATFORM_OPTIONS_INIT {TL_PLATFORM_OPTIONS_VERSION, 0, NULL, NULL, NULL, 0}

TL_EXTERN(int) tl_platform_options_init(tl_platform_options *opts, unsigned int version);

/** One thing an operation did (or would do under TL_PLATFORM_DRY_RUN). */
typedef struct {
	const char *action;  /* "mkdir", "chmod", "chown", "secret", "write",
	                        "network", "create", "start", "healthy", "stop",
	                        "remove", ... */
	const char *subject; /* a path, a key, a container */
	const char *detail;  /* "0700 uid 999", "kept", "created" */
	int changed;         /* 1 when it changed (or would change) something */
} tl_platform_step;

typedef struct tl_platform_report tl_platform_report;

TL_EXTERN(size_t) tl_platform_report_count(const tl_platform_report *r);
TL_EXTERN(const tl_platform_step *) tl_platform_report_at(const tl_platform_report *r,
                                                          size_t i);
/** How many steps changed something. */
TL_EXTERN(size_t) tl_platform_report_changed(const tl_platform_report *r);
TL_EXTERN(void) tl_platform_report_free(tl_platform_report *r);

/**
 * Lay out the server, idempotently:
 *  - TOWLION_DATA_DIR with postgres, redis, minio, caddy/{data,config,sites},
 *    loki, grafana, prometheus, backups/postgres and the state dir, and
 *    TOWLION_APPS_DIR. Directories holding secrets or database files are
 *    0700, the others 0755. Run as root, the data directories of services
 *    whose official images run unprivileged get those images' users:
 *    postgres and redis uid/gid 999, grafana uid 472, loki uid 10001
 *    (anything else stays root's). An existing directory with a looser mode
 *    is tightened; its contents are never touched.
 *  - TOWLION_STATE_DIR/platform.env (0600): POSTGRES_PASSWORD,
 *    REDIS_PASSWORD, MINIO_ROOT_USER, MINIO_ROOT_PASSWORD and
 *    GRAFANA_ADMIN_PASSWORD, generated from getrandom() when missing;
 *    existing values are kept. Never printed, never in events.
 *  - TOWLION_STATE_DIR/towlion.conf (0600): TOWLION_PG_URL and
 *    TOWLION_REDIS_URL with the generated passwords, the object store's
 *    endpoint and admin keys, TOWLION_CADDY_ADMIN on a unix socket in a
 *    0700 directory; only changed keys are rewritten, others kept. `ctx`
 *    reads it at once (not under root or dry run), as every later context
 *    does (below the config file and the environment).
 *  - the main Caddyfile (tl_caddy_write_main) unless one exists, and the
 *    Prometheus and Promtail configuration files.
 *  - the Docker network TOWLION_NETWORK, unless TL_PLATFORM_NO_DOCKER
 *    (unreachable Docker is TL_EUNAVAILABLE, after the files are done).
 * With opts->root every path above is taken under root. `out` may be NULL.
 */
TL_EXTERN(int) tl_platform_init(tl_platform_report **out, tl_ctx *ctx,
                                const tl_platform_options *opts);

/**
 * Render the platform compose file (compose specification, as understood
 * by docker-compose 1.28+ and Compose v2): caddy, postgres, redis and s3
 * (the core), loki and promtail under `profiles: [logs]`, prometheus,
 * cadvisor and node-exporter under `profiles: [metrics]`, grafana under
 * both (COMPOSE_PROFILES=logs,metrics enables them). Every service logs
 * through json-file with TOWLION_LOG_MAX_SIZE / TOWLION_LOG_MAX_FILE.
 * Every service has pinned image tags, a healthcheck (where the image can
 * run one), `restart: unless-stopped`, CPU and memory limits
 * (deploy.resources.limits), its /data volumes and, for those that need
 * secrets, `env_file:` naming platform.env (no secret is ever inlined).
 * With opts->standalone_app the file instead runs that one app (built from
 * TOWLION_APPS_DIR/APP) with its own caddy, postgres, redis and minio.
 */
TL_EXTERN(int) tl_platform_compose_render(tl_buf *out, tl_ctx *ctx,
                                          const tl_platform_options *opts);

/**
 * Render and write it atomically to `path` (NULL:
 * TOWLION_STATE_DIR/platform-compose.yml, or <app>-compose.yml with
 * standalone_app). `written` (may be NULL) receives the path.
 */
TL_EXTERN(int) tl_platform_compose_write(tl_buf *written, tl_ctx *ctx, const char *path,
                                         const tl_platform_options *opts);

/**
 * Start the platform services through the Docker API: the network, then
 * for each service a container "towlion-<service>" labelled
 * towlion.platform=1 and towlion.service=<service>, on the network with
 * the service name as alias, with its healthcheck, restart policy,
 * limits, binds under the data dir and env from platform.env; then wait
 * until each is healthy (or running, without a healthcheck). Idempotent:
 * a running container of the same image is kept; one of another image is
 * replaced. Needs tl_platform_init() first (platform.env). TL_EUNHEALTHY
 * names a service that did not become healthy in time.
 * The core services always; the logs and metrics profiles when
 * TL_PLATFORM_LOGS / TL_PLATFORM_METRICS or TOWLION_PLATFORM_PROFILES ask
 * (TL_EINVALID, before anything changes, for an unknown name there). Then,
 * with TOWLION_DOMAIN set (and neither a root nor TL_PLATFORM_NO_PORTS),
 * the routes storage.<domain> -> the object store and grafana.<domain> ->
 * Grafana (taken away when no profile runs it), through tl_caddy_route_set;
 * a site of that name that is an app's is left alone (a "route" step
 * says so).
 * Within the same timeout, each shared service must answer towlion
 * as the context reaches it (step "answers"): a PostgreSQL login with
 * TOWLION_PG_URL, Redis AUTH and PING with TOWLION_REDIS_URL, a signed S3
 * ListBuckets, Caddy's admin API at TOWLION_CADDY_ADMIN; otherwise
 * TL_EUNAVAILABLE or TL_EAUTH naming the service and its last log lines.
 * Not asked under opts->root or TL_PLATFORM_NO_PORTS (Caddy still is,
 * without root).
 */
TL_EXTERN(int) tl_platform_up(tl_platform_report **out, tl_ctx *ctx,
                              const tl_platform_options *opts);

/** Stop and remove the platform containers (data directories stay). */
TL_EXTERN(int) tl_platform_down(tl_platform_report **out, tl_ctx *ctx,
                                const tl_platform_options *opts);

/**
 * Move the apps and previews that still run on the flat platform network
 * (TOWLION_NETWORK, as before tenant networks) onto a network of their
 * own, live: each project's network is made, Caddy and the shared
 * services join it, its containers join it under their compose names,
 * the route switches to it, and after a short drain the containers leave
 * the flat network; no request fails. One step per project (TL_PLATFORM_
 * DRY_RUN: what would move). Idempotent: running it again after a kill
 * finishes the work. In the loopback upstream mode nothing moves (a
 * container's published port would change): a redeploy moves a project.
 */
TL_EXTERN(int) tl_platform_migrate_networks(tl_platform_report **out, tl_ctx *ctx,
                                            const tl_platform_options *opts);

/** The platform's services, in start order, and each one's default image.
 * NULL past the end. */
TL_EXTERN(const char *) tl_platform_service_at(size_t i, const char **default_image);

/* ---- metrics --------------------------------------------------------------- */

typedef struct {
	unsigned int version; /* TL_METRICS_OPTIONS_VERSION */
	unsigned int flags;   /* reserved, 0 */
} tl_metrics_options;

#define TL_METRICS_OPTIONS_VERSION 1
#define TL_METRICS_OPTIONS_INIT {TL_METRICS_OPTIONS_VERSION, 0}

TL_EXTERN(int) tl_metrics_options_init(tl_metrics_options *opts, unsigned int version);

/**
 * The platform's metrics in the Prometheus text exposition format (0.0.4):
 *   towlion_app_up, towlion_app_healthy, towlion_app_release_age_seconds,
 *   towlion_app_restarts_total                               {app}
 *   towlion_database_size_bytes                              {database}
 *   towlion_backup_last_age_seconds, towlion_backup_last_size_bytes {database}
 *   towlion_disk_used_bytes, towlion_disk_total_bytes,
 *   towlion_disk_inodes_used_ratio                           {path}
 *   towlion_memory_used_ratio
 *   towlion_scrape_up                                       {source}
 * A source that cannot be reached (docker, postgres) does not fail the
 * call: its towlion_scrape_up is 0 and its series are left out.
 */
TL_EXTERN(int) tl_metrics_render(tl_buf *out, tl_ctx *ctx, const tl_metrics_options *opts);

/**
 * Render the metrics and write them atomically to DIR/towlion.prom (0644)
 * for node-exporter's textfile collector (`--collector.textfile.directory
 * DIR`): the collector never reads a half-written file. TL_EINVALID for a
 * relative DIR, TL_ENOTFOUND when DIR is not a directory. `written` (may
 * be NULL) receives the file's path.
 */
TL_EXTERN(int) tl_metrics_write_textfile(tl_buf *written, tl_ctx *ctx, const char *dir,
                                         const tl_metrics_options *opts);

/* ---- alerts ---------------------------------------------------------------- */

/** Flags for tl_alert_options.flags. */
#define TL_ALERT_DRY_RUN (1u << 0) /* evaluate, say what would be opened or
                                      closed, change nothing */

typedef struct {
	unsigned int version;      /* TL_ALERT_OPTIONS_VERSION */
	unsigned int flags;        /* TL_ALERT_* */
	double disk_pct;           /* disk or inode use above this; 0: 80 */
	double memory_pct;         /* memory use above this; 0: 90 */
	int64_t backup_max_age_s;  /* newest backup older than this; 0: 36 h */
	int max_restarts;          /* restarts above this; 0: 3 */
	int cert_days;             /* certificate expiring within; 0: 14 */
	const char *github_repo;   /* "owner/name": open one issue per alert
	                              there; NULL: no issues */
	const char *mail_provider; /* "postmark" or "ses"; NULL: no mail */
	const char *mail_endpoint; /* API base URL; NULL: the provider's */
	const char *mail_token;    /* Postmark server token / SES "key:secret" */
	const char *mail_from;
	const char *mail_to;
	const char *mail_region;   /* SES region; NULL: us-east-1 */
} tl_alert_options;

#define TL_ALERT_OPTIONS_VERSION 1
#define TL_ALERT_OPTIONS_INIT                                                  \
	{TL_ALERT_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

TL_EXTERN(int) tl_alert_options_init(tl_alert_options *opts, unsigned int version);

/** One alert as evaluated. Strings owned by the report. */
typedef struct {
	const char *key;    /* "disk", "memory", "backup:shop_db", "health:shop",
	                       "restarts:shop", "certificate:shop.example.com" */
	int firing;         /* 1 when over its threshold now */
	const char *detail; /* what was measured against what */
	const char *action; /* "opened", "updated", "closed", "none" (or
	                       "would open"... under TL_ALERT_DRY_RUN) */
	int64_t issue;      /* the GitHub issue number, 0 when none */
	int mailed;         /* 1 when an e-mail went out for it */
} tl_alert;

typedef struct tl_alert_report tl_alert_report;

TL_EXTERN(size_t) tl_alert_report_count(const tl_alert_report *r);
TL_EXTERN(const tl_alert *) tl_alert_report_at(const tl_alert_report *r, size_t i);
/** How many alerts are firing. */
TL_EXTERN(size_t) tl_alert_report_firing(const tl_alert_report *r);
TL_EXTERN(void) tl_alert_report_free(tl_alert_report *r);

/**
 * Evaluate every threshold (disk and inodes of TOWLION_DATA_DIR, memory
 * from /proc/meminfo, newest backup per database, app health and
 * restarts, certificates in Caddy's storage). With github_repo, each
 * firing alert has exactly one open issue, found by a hidden marker
 * `<!-- towlion-alert:KEY -->` in its body: opened when missing, its body
 * updated when the detail changed; an open alert issue whose alert no
 * longer fires is closed with a comment. An e-mail goes out when an alert
 * starts firing or clears (not while it stays the same). A source that
 * cannot be read is its own alert ("source:docker").
 */
TL_EXTERN(int) tl_alerts_check(tl_alert_report **out, tl_ctx *ctx,
                               const tl_alert_options *opts);

/* ---- image scan hook ------------------------------------------------------- */

typedef enum {
	TL_SCAN_WARN = 0, /* findings are logged; the image may be released */
	TL_SCAN_BLOCK = 1 /* HIGH or CRITICAL findings refuse the image */
} tl_scan_policy;

typedef struct {
	unsigned int version;     /* TL_SCAN_OPTIONS_VERSION */
	const char *const *argv;  /* the scanner, NULL-terminated; "{image}" in
	                             any argument is replaced by the image
	                             ({"trivy", "image", "--format", "json",
	                             "{image}", NULL}) */
	int policy;               /* a tl_scan_policy */
	long timeout_ms;          /* 0: 10 min */
} tl_scan_options;

#define TL_SCAN_OPTIONS_VERSION 1
#define TL_SCAN_OPTIONS_INIT {TL_SCAN_OPTIONS_VERSION, NULL, TL_SCAN_WARN, 0}

TL_EXTERN(int) tl_scan_options_init(tl_scan_options *opts, unsigned int version);

typedef struct {
	int64_t critical, high, medium, low; /* findings by severity (-1: unknown) */
	int exit_status;                     /* the scanner's exit status */
	int parsed;                          /* 1 when its output was trivy JSON */
	int blocked;                         /* 1 when the policy refused the image */
} tl_scan_result;

/**
 * Run the scanner on `image`. When it prints trivy's JSON report
 * (`Results[].Vulnerabilities[].Severity`), findings are counted by
 * severity; otherwise a non-zero exit status counts as one HIGH finding
 * (the convention of `--exit-code 1 --severity HIGH,CRITICAL`).
 * TL_OK: the image may be released (any findings were logged as warnings
 * under TL_SCAN_WARN); TL_ECONFLICT: TL_SCAN_BLOCK and HIGH/CRITICAL found
 * (`out` is written in both cases); TL_ENOTFOUND: no scanner program;
 * TL_ETIMEOUT. `out` may be NULL.
 */
TL_EXTERN(int) tl_platform_scan_image(tl_scan_result *out, tl_ctx *ctx, const char *image,
                                      const tl_scan_options *opts);

TL_END_DECL

#endif
