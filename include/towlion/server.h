/*
 * libtowlion - turn a fresh Debian 12 server into a running platform, over
 * SSH (the ssh module: strict host keys), idempotently.
 *
 * tl_server_bootstrap() runs a fixed list of steps. Each step checks the
 * server's state, changes only what differs, then checks again; a step
 * whose state is already right reports "unchanged" and touches nothing,
 * so a second run changes nothing. Under TL_SERVER_DRY_RUN each step only
 * checks and says what it would change. Events: a TL_EVENT_STEP
 * "server.<step>" when each step starts, its remote output as
 * TL_EVENT_OUTPUT, upload progress as "ssh.upload".
 *
 * The steps (docs/server.md, "One command"):
 *   os        Debian 12, systemd, free disk and memory (check only)
 *   packages  docker.io, nftables, unattended-upgrades, sudo... (apt-get)
 *   towlion   the towlion .debs uploaded from here, or taken from a path on
 *             the server or a URL, and installed
 *   docker    /etc/docker/daemon.json (address pools, log rotation), enabled
 *   images    docker-save tars uploaded and loaded (air-gapped servers)
 *   firewall  nftables: only SSH, 80, 443 in; published ports not reachable
 *   upgrades  unattended-upgrades, security updates only
 *   user      the deploy user, its key, its one sudo rule
 *   config    KEY=VALUE lines of /etc/towlion/towlion.conf
 *   init      towlion platform init
 *   up        towlion platform up (until doctor is green)
 *   timers    the towlion systemd timers enabled
 *   doctor    towlion doctor green (check only)
 */
#ifndef TOWLION_SERVER_H
#define TOWLION_SERVER_H

#include "towlion/common.h"
#include "towlion/context.h"
#include "towlion/ssh.h"

TL_BEGIN_DECL

#define TL_SERVER_DRY_RUN (1u << 0) /* check every step, change nothing */

typedef struct {
	unsigned int version;         /* TL_SERVER_BOOTSTRAP_OPTIONS_VERSION */
	unsigned int flags;           /* TL_SERVER_* */
	const char *const *packages;  /* local .deb files to upload and
	                                 install (NULL-terminated); with no
	                                 package_sources either, towlion must
	                                 already be installed */
	const char *const *images;    /* local `docker save` tars to load */
	const char *const *config;    /* "TOWLION_KEY=VALUE" lines for
	                                 /etc/towlion/towlion.conf */
	const char *const *platform_images; /* "SVC=IMAGE" for platform up */
	const char *deploy_user;      /* NULL: "towlion" */
	const char *deploy_key;       /* the deploy user's public key line
	                                 ("ssh-ed25519 AAAA... comment"); NULL:
	                                 no deploy user is made */
	int ssh_port;                 /* the port the firewall keeps open;
	                                 0: the port we connect to */
	long min_disk_mb;             /* free on /var; 0: 10240 */
	long min_memory_mb;           /* 0: 900 (a "1 GB" server) */
	long timeout_ms;              /* each remote command; 0: 1800 s */
	/* version 2: */
	const char *const *package_sources; /* .debs the server takes itself
	                                 (NULL-terminated), installed with
	                                 `packages` in one apt-get: an absolute
	                                 path on the server (a .deb, or a
	                                 directory of them), or an http(s) URL
	                                 of one .deb, fetched by the server once
	                                 (kept by URL: a new version needs a
	                                 new URL) */
} tl_server_bootstrap_options;

#define TL_SERVER_BOOTSTRAP_OPTIONS_VERSION 2
#define TL_SERVER_BOOTSTRAP_OPTIONS_INIT \
	{TL_SERVER_BOOTSTRAP_OPTIONS_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL}

TL_EXTERN(int) tl_server_bootstrap_options_init(tl_server_bootstrap_options *opts,
                                                unsigned int version);

/** How a step ended. */
typedef enum {
	TL_SERVER_UNCHANGED = 0,    /* the state was already right */
	TL_SERVER_CHANGED = 1,      /* changed, and checked again */
	TL_SERVER_WOULD_CHANGE = 2, /* dry run: what it would change */
	TL_SERVER_SKIPPED = 3       /* not asked for (no deploy key...) */
} tl_server_step_status;

typedef struct {
	const char *name;    /* "os", "packages", ... */
	int status;          /* a tl_server_step_status */
	const char *detail;  /* what it found, changed or would change */
	double elapsed_ms;
} tl_server_step;

/** What to put in an app repository's GitHub secrets. */
typedef struct {
	const char *name;  /* "SERVER_HOST", "SERVER_USER", "SERVER_KNOWN_HOSTS", ... */
	const char *value;
} tl_server_secret;

typedef struct tl_server_report tl_server_report;

TL_EXTERN(size_t) tl_server_report_count(const tl_server_report *r);
TL_EXTERN(const tl_server_step *) tl_server_report_at(const tl_server_report *r, size_t i);
/** How many steps changed (or, in a dry run, would change) something. */
TL_EXTERN(size_t) tl_server_report_changed(const tl_server_report *r);
TL_EXTERN(size_t) tl_server_report_secret_count(const tl_server_report *r);
TL_EXTERN(const tl_server_secret *) tl_server_report_secret_at(const tl_server_report *r,
                                                               size_t i);
TL_EXTERN(void) tl_server_report_free(tl_server_report *r);

/**
 * Bootstrap the server `ssh` connects to (as root, or a user with
 * password-less sudo). The steps run in order and stop at the first that
 * fails; `out` gets the report only on success. Errors: those of
 * tl_ssh_connect; TL_EUNSUPPORTED when the server is not Debian 12, lacks
 * systemd, disk or memory (the message says what differs); TL_EINVALID
 * for bad options (nothing is done); TL_ERROR when a remote command failed
 * (the message has its last lines of output) or a step's state is still
 * wrong after its change; TL_EAUTH when a new login after the firewall
 * change failed (the rules are taken off again within 60 s).
 */
TL_EXTERN(int) tl_server_bootstrap(tl_server_report **out, tl_ctx *ctx,
                                   const tl_ssh_options *ssh,
                                   const tl_server_bootstrap_options *opts);

TL_END_DECL

#endif
