/* Internals of the server module: the bootstrap engine and its steps. */
#ifndef TL_SERVER_INT_H
#define TL_SERVER_INT_H

#include "core/core.h"
#include "towlion/server.h"
#include "towlion/ssh.h"

#include <stdbool.h>

/* Where bootstrap keeps what it uploaded, on the server. */
#define TL__SRV_STATE "/var/lib/towlion/bootstrap"

/* A check's verdict, from the exit code of its remote script. */
enum {
	TL__SRV_OK = 0,      /* exit 0: as wanted */
	TL__SRV_CHANGE = 10, /* exit 10: stdout says what to change */
	TL__SRV_UNMET = 20   /* exit 20: a requirement bootstrap cannot meet */
};

typedef struct tl__srv {
	tl_ctx *ctx;
	const tl_ssh_options *ssh_opts;
	tl_ssh *ssh;
	tl_server_bootstrap_options o;
	bool sudo;          /* the login user is not root: "sudo -n" first */
	bool dry_run;
	int ssh_port;       /* kept open by the firewall */
	char host[256];
	tl_buf why;         /* a check's finding: what differs, or what is */
	char **deb_sha;     /* per o.packages: its SHA-256, hex */
	char **image_sha;   /* per o.images */
} tl__srv;

/* Run the fixed script `script` on the server as `sh -c SCRIPT sh ARGS...`
 * (as root: through sudo -n for another user). The script is ours; what
 * comes from the caller goes only into `args` and `in` (its stdin), so
 * nothing the caller gives is ever parsed by the shell. `res` gets the
 * exit status and, when `capture`, stdout and stderr; otherwise both are
 * streamed as OUTPUT events. */
int tl__srv_sh(tl__srv *s, tl_ssh_result *res, bool capture, const char *script,
               const char *const *args, const tl_buf *in);

/* A check: run `script`; exit 0 -> TL__SRV_OK, 10 -> TL__SRV_CHANGE,
 * 20 -> an error (TL_EUNSUPPORTED) with its stdout; s->why = stdout. */
int tl__srv_check(tl__srv *s, const char *script, const char *const *args, const tl_buf *in);

/* A change: run `script`, streaming its output; any exit but 0 is an
 * error naming `what` and the last lines of stderr. */
int tl__srv_do(tl__srv *s, const char *what, const char *script, const char *const *args,
               const tl_buf *in);

/* Files owned by bootstrap: content `text`, mode, root's. */
typedef struct {
	const char *path;
	const char *mode; /* "0644" */
	const char *text;
} tl__srv_file;

/* Check: is each file there with exactly this content and mode? */
int tl__srv_files_check(tl__srv *s, const tl__srv_file *files, size_t n);
/* Write the files that differ (atomically: tmp + rename on the server). */
int tl__srv_files_put(tl__srv *s, const tl__srv_file *files, size_t n);

/* Upload local `path` to `remote` unless the file there has SHA-256 `sha`. */
int tl__srv_upload_once(tl__srv *s, const char *path, const char *remote, const char *sha);

/* A step: check (TL__SRV_OK, TL__SRV_CHANGE with s->why, or < 0), then,
 * when the state differs, apply; the engine checks again after. */
typedef struct {
	const char *name;
	int (*check)(tl__srv *s);
	int (*apply)(tl__srv *s); /* NULL: check only */
	bool (*wanted)(const tl__srv *s); /* NULL: always; false: skipped */
} tl__srv_step;

extern const tl__srv_step tl__srv_steps[];
extern const size_t tl__srv_nsteps;

/* The nftables ruleset bootstrap writes to /etc/nftables.conf. */
int tl__srv_firewall_text(tl_buf *out, int ssh_port);
/* The firewall step's change: load the rules with a timed rollback, prove
 * a fresh SSH login still works, then keep them. */
int tl__srv_firewall_apply(tl__srv *s);
int tl__srv_firewall_check(tl__srv *s);

#endif
