/* Internals of the platform module (not API). */
#ifndef TL_PLATFORM_INT_H
#define TL_PLATFORM_INT_H

#include "core/core.h"
#include "towlion/platform.h"

/* ---- doctor checks (doctor.c, checks.c) ---- */

/* The result of one check, filled by the check functions. */
typedef struct {
	int status;
	tl_buf detail;
	const char *hint;
} tl__outcome;

void tl__say(tl__outcome *o, int status, const char *hint, const char *fmt, ...)
	TL__PRINTF(4, 5);

/* The server checks (thresholds resolved: no zero left in opts). */
void tl__check_os(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);
void tl__check_disk(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);
void tl__check_ports(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);
void tl__check_backups(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);
/* The backup list part of it (the rest repairs killed restores). */
void tl__check_backups_list(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);
void tl__check_certs(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o);

/* The existing directory closest to `path` (itself or a parent). */
char *tl__existing_ancestor(const char *path);

/* ---- reports (report.c) ---- */

/* Append a step; TL_ENOMEM on failure. */
int tl__plat_step(tl_platform_report *r, const char *action, const char *subject,
                  int changed, const char *fmt, ...) TL__PRINTF(5, 6);
tl_platform_report *tl__plat_report_new(void);

/* ---- options and paths (paths.c) ---- */

typedef struct {
	unsigned int flags;
	const char *root;    /* "" when none */
	const char *standalone_app;
	const char *const *images;
	long timeout_ms;
	/* rebased paths */
	char *data, *apps, *state, *caddy, *backup, *env_file;
} tl__plat;

int tl__plat_open(tl__plat *p, tl_ctx *ctx, const tl_platform_options *opts);
void tl__plat_dispose(tl__plat *p);
/* "<data>/<rel>" */
char *tl__plat_data(const tl__plat *p, const char *rel);

/* ---- genconf.c ---- */

/* Write <state>/towlion.conf from platform.env (`env`): the admin URLs
 * with their passwords, the object store's keys, Caddy's admin socket;
 * then read it into `ctx` (not under --root or --dry-run). */
struct tl_envfile;
int tl__plat_write_conf(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p,
                        const struct tl_envfile *platform_env);
/* <TOWLION_STATE_DIR>/caddy-admin/admin.sock (not rebased). */
char *tl__plat_caddy_admin_socket(tl_ctx *ctx);

/* ---- answers.c ---- */

/* Wait (up to `timeout_ms`) until the shared service `service` answers
 * towlion as configured (PG login, Redis AUTH+PING, signed S3 request,
 * Caddy admin API); other services: TL_OK at once. The error names the
 * service and its container's last log lines. */
struct tl_docker;
int tl__plat_wait_answers(tl_platform_report *r, tl_ctx *ctx, struct tl_docker *d,
                          const tl__plat *p, const char *service, long timeout_ms);

/* ---- redisconf.c ---- */

/* Write redis.conf (aclfile, no password) and the ACL file's default user
 * (password `password`, as its SHA-256), keeping the app users in it. */
int tl__plat_redis_conf(tl_platform_report *r, const tl__plat *p, const char *password);

/* ---- compose.c ---- */

/* The host path of a mount source (see services.c). */
char *tl__plat_mount_source(const tl__plat *p, const char *rel);
/* <state>/standalone/<app>.env */
char *tl__plat_standalone_env(const tl__plat *p);

/* ---- the service table (services.c) ---- */

typedef struct {
	const char *rel;    /* under the data dir, or an absolute host path */
	const char *target; /* in the container */
	int read_only;
} tl__plat_mount;

#define TL__PLAT_PROFILE_LOGS 1u    /* loki, promtail (and grafana) */
#define TL__PLAT_PROFILE_METRICS 2u /* prometheus, cadvisor, node-exporter
                                       (and grafana) */

typedef struct {
	const char *name;
	const char *image;            /* pinned default */
	unsigned profiles;            /* TL__PLAT_PROFILE_*: runs with any of
	                                 them; 0: the core, always */
	const char *const *cmd;       /* NULL: the image's */
	const char *const *health;    /* Docker form: "CMD"/"CMD-SHELL", ... */
	const tl__plat_mount *mounts;
	const char *const *ports;     /* "127.0.0.1:9000:9000" compose form */
	const char *const *env;       /* plain KEY=value (no secrets) */
	int env_file;                 /* gets platform.env */
	double cpus;
	int64_t memory;               /* bytes */
	const char *const *depends;   /* services it waits for (healthy) */
} tl__plat_service;

/* ---- networks and secrets of each service (netplan.c) ---- */

#define TL__PLAT_NET_EDGE 1u     /* TOWLION_NETWORK: Caddy, shared services */
#define TL__PLAT_NET_INTERNAL 2u /* <TOWLION_NETWORK>-internal: collectors */

unsigned tl__plat_networks(const char *service);
/* The platform.env keys `service` gets (*keys NULL: none); TL_ENOTFOUND
 * (no error set) for a service the plan does not list: it gets the whole
 * file. */
int tl__plat_env_keys(const char *const **keys, const char *service);
char *tl__plat_internal_network(tl_ctx *ctx);
/* <state>/platform-env/<service>.env: that service's secrets (0600). */
char *tl__plat_service_env(const tl__plat *p, const char *service);

extern const tl__plat_service tl__plat_services[];
extern const size_t tl__plat_nservices;

/* The profiles `platform up` starts: TL_PLATFORM_LOGS / _METRICS in
 * `flags`, and those TOWLION_PLATFORM_PROFILES names ("logs,metrics");
 * TL_EINVALID naming an unknown one. */
int tl__plat_profiles(unsigned *out, tl_ctx *ctx, unsigned flags);
/* Whether `s` runs with `profiles` (the core always does). */
bool tl__plat_service_wanted(const tl__plat_service *s, unsigned profiles);
/* "logs", "metrics" for one TL__PLAT_PROFILE_* bit. */
const char *tl__plat_profile_name(unsigned bit);

/* The image of `svc` after the "service=image" overrides; TL_EINVALID on
 * a malformed override or an unknown service name in one. */
int tl__plat_images_check(const char *const *images);
const char *tl__plat_image(const tl__plat *p, const tl__plat_service *svc);

/* ---- observability (observe.c) ---- */

/* init: Grafana's provisioning files and dashboard, node-exporter's
 * textfile directory, under the data dir. */
int tl__plat_observe_files(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p);
/* up: grafana.<domain> (when `profiles` run Grafana; removed otherwise)
 * and storage.<domain>, through the routing module. */
int tl__plat_routes(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p, unsigned profiles);
/* Grafana's public address, https://grafana.<domain>/ (http:// with
 * TOWLION_TLS=off), for `service` grafana with TOWLION_DOMAIN set; NULL
 * otherwise (or out of memory). Its links and redirects use it. */
char *tl__plat_root_url(tl_ctx *ctx, const char *service);

/* ---- apps as Docker sees them (metrics.c) ---- */

typedef struct {
	int running;        /* running containers of the active release */
	int up, healthy;    /* healthy: as tl_app_status_get says */
	double release_age; /* seconds since the active release went live, -1: none */
	double restarts;    /* of the active release's containers */
	char why[256];      /* why not healthy (tl_app_status_reason), or "" */
} tl__app_health;

struct tl_docker;
/* The app's figures from tl_app_status_get (d: for restart counts). */
int tl__app_measure(tl__app_health *out, tl_ctx *ctx, struct tl_docker *d, const char *app,
                    int64_t now);

/* ---- alert e-mail (mail.c) ---- */

typedef struct {
	const char *provider; /* "postmark" or "ses" */
	const char *endpoint; /* NULL/"": the provider's */
	const char *token;    /* secret */
	const char *from, *to, *region;
} tl__mail;

int tl__mail_send(tl_ctx *ctx, const tl__mail *m, const char *subject, const char *text);
/* TL_EINVALID for a mail API endpoint that is not https:// (http:// only
 * to a loopback address: the token would cross the network in clear). */
int tl__mail_check_endpoint(const char *endpoint);

/* ---- checks shared by the doctor, metrics and alerts (probe.c) ---- */

typedef struct {
	uint64_t total, used;          /* bytes */
	uint64_t inodes, inodes_used;
	double used_pct, inodes_pct;   /* 0..100 */
} tl__disk;

int tl__probe_disk(tl__disk *out, const char *path);
/* Memory use in percent from /proc/meminfo (MemTotal - MemAvailable). */
int tl__probe_memory(double *used_pct, uint64_t *total, uint64_t *available);

typedef struct {
	char *path;
	char *subject;   /* the certificate's CN / first SAN, or the file name */
	int64_t not_after;
} tl__cert;

/* Every certificate in Caddy's storage (TOWLION_CADDY_DIR/data/caddy/
 * certificates/ * / * / *.crt), `caddy_dir` rebased by the caller. */
int tl__probe_certs(tl__cert **out, size_t *n, const char *caddy_dir);
void tl__certs_free(tl__cert *c, size_t n);

#endif
