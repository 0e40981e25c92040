/* The SSH module's internals (not API). */
#ifndef TL_SSH_INTERNAL_H
#define TL_SSH_INTERNAL_H

#include "core/core.h"
#include "towlion/ssh.h"

#include <libssh2.h>
#include <libssh2_sftp.h>

struct tl_ssh {
	tl_ctx *ctx;
	int sock;
	LIBSSH2_SESSION *session;
	char *host;           /* as given */
	int port;
	char *user;
	char *label;          /* "user@host:port" for messages */
	int timeout_ms;       /* each blocking libssh2 call */
	int keepalive_s;      /* 0: off */
	char fingerprint[64]; /* "SHA256:..." */
	char *login_shell;    /* the user's POSIX login shell, once checked (exec.c) */
	/* Channels given up on (timeout, cancel) whose command still runs:
	 * sshd closes them only when it ends, so they are freed later. */
	LIBSSH2_CHANNEL **abandoned;
	size_t nabandoned;
};

/* Map a libssh2 error code to a tl_result. */
int tl__ssh_result_of(int ssh_rc);

/* Set the last error from the session's last libssh2 error:
 * "<what> on <label>: <libssh2 message>", class SSH, upstream the code. */
int tl__ssh_fail(tl_ssh *ssh, int ssh_rc, const char *what);

/* Verify the server's host key against `known_hosts` (hostkey.c). Fills
 * ssh->fingerprint. */
int tl__ssh_check_hostkey(tl_ssh *ssh, const char *known_hosts);

/* Prefer the host key types known_hosts lists for this host, so the
 * server is not asked for a key type we could not check (hostkey.c). */
int tl__ssh_prefer_known_types(tl_ssh *ssh, const char *known_hosts);

/* Authenticate with a key file or the agent (auth.c). */
int tl__ssh_authenticate(tl_ssh *ssh, const char *key_path, const char *passphrase);

/* Wait until the session's socket is ready for what libssh2 is blocked
 * on, at most `ms` milliseconds (also watching `extra_fd` for input when
 * >= 0; *extra_ready tells whether it is readable). */
int tl__ssh_wait(tl_ssh *ssh, int ms, int extra_fd, bool *extra_ready);

/* Give up on a channel without waiting for the server (exec.c). */
void tl__ssh_abandon(tl_ssh *ssh, LIBSSH2_CHANNEL *ch);
/* Free the abandoned channels the server has closed meanwhile. */
void tl__ssh_reap(tl_ssh *ssh);

/* Send a keepalive if one is due; returns TL_OK or an error. */
int tl__ssh_keepalive(tl_ssh *ssh);

#endif
