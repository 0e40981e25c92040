/*
 * libtowlion - SSH to the server (libssh2): run commands, upload files.
 *
 * Host keys are checked strictly against a known_hosts file: a server
 * whose key is not listed is refused (the error names the key's SHA256
 * fingerprint and how to trust it); a server whose key differs from the
 * listed one is refused, always. There is no "accept new keys" mode.
 *
 * Remote commands are given as an argv, never as a command line: the
 * argv is quoted by tl_ssh_quote_argv() into a line the remote POSIX
 * login shell (sh, dash, bash, zsh) splits back into exactly that argv.
 */
#ifndef TOWLION_SSH_H
#define TOWLION_SSH_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef struct tl_ssh tl_ssh;

/**
 * Append one word to `out`, quoted for a POSIX shell: `len` bytes of
 * `word`, any bytes but NUL (a shell word cannot hold NUL: TL_EINVALID,
 * `out` unchanged). A word made only of [A-Za-z0-9_./:@%+,-] stays bare;
 * any other word is put in single quotes, each ' written as '\''. The
 * empty word becomes ''.
 */
TL_EXTERN(int) tl_ssh_quote_word(tl_buf *out, const char *word, size_t len);

/**
 * Quote a NULL-terminated argv into one command line (words separated by
 * one space) in `out` (replacing its content). The command name, argv[0],
 * is always quoted so that it can never be read as a shell keyword or an
 * alias ("if", "time"). TL_EINVALID for an empty argv. The one function
 * through which every remote command is built.
 */
TL_EXTERN(int) tl_ssh_quote_argv(tl_buf *out, const char *const *argv);

/**
 * Split a target "[user@]host[:port]" (IPv6 as "[::1]:2222"). `user` gets
 * the user or "" when none is given, `host` the host; `port` the port or
 * 0 when none is given. TL_EINVALID for an empty host, a bad port or
 * characters that cannot be in a host name.
 */
TL_EXTERN(int) tl_ssh_target_parse(tl_buf *user, tl_buf *host, int *port,
                                   const char *target);

typedef struct {
	unsigned int version;       /* TL_SSH_OPTIONS_VERSION */
	const char *host;           /* name or address (required) */
	int port;                   /* 0: 22 */
	const char *user;           /* NULL: $USER, else the local user name */
	const char *key_path;       /* private key (OpenSSH or PEM; ed25519,
	                               ECDSA, RSA); NULL: use ssh-agent
	                               ($SSH_AUTH_SOCK) */
	const char *key_passphrase; /* NULL: the key is not encrypted */
	const char *known_hosts;    /* NULL: $HOME/.ssh/known_hosts */
	int connect_timeout_ms;     /* TCP connect + handshake; 0: 10000 */
	int timeout_ms;             /* each network wait; 0: 60000 */
	int keepalive_s;            /* keepalive interval; 0: 15; < 0: off */
} tl_ssh_options;

#define TL_SSH_OPTIONS_VERSION 1
#define TL_SSH_OPTIONS_INIT {TL_SSH_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, 0}

TL_EXTERN(int) tl_ssh_options_init(tl_ssh_options *opts, unsigned int version);

/**
 * Connect, check the host key, authenticate. Errors: TL_EUNAVAILABLE
 * (cannot resolve or reach), TL_ETIMEOUT, TL_EAUTH (host key unknown -
 * also when the known_hosts file does not exist - changed or revoked, with
 * upstream "host key unknown" / "host key changed" / "host key revoked";
 * or the user key refused, or a wrong passphrase, or no agent),
 * TL_ENOTFOUND (the key file is missing), TL_EINVALID. `ctx` (may be NULL)
 * receives events and is kept by the session: it must outlive it. A
 * session is used by one thread at a time.
 */
TL_EXTERN(int) tl_ssh_connect(tl_ssh **out, tl_ctx *ctx, const tl_ssh_options *opts);

/** Disconnect and free. NULL is fine. */
TL_EXTERN(void) tl_ssh_free(tl_ssh *ssh);

/** The server's host key fingerprint, "SHA256:<base64>" as OpenSSH prints. */
TL_EXTERN(const char *) tl_ssh_fingerprint(const tl_ssh *ssh);

/** Where a remote command's stdout or stderr goes. */
typedef enum {
	TL_SSH_OUT_EVENTS = 0,  /* each line as a TL_EVENT_OUTPUT event
	                           (stdout: level INFO, stderr: WARN) */
	TL_SSH_OUT_BUFFER = 1,  /* into tl_ssh_result.out / .err */
	TL_SSH_OUT_DISCARD = 2,
	TL_SSH_OUT_FD = 3       /* written as is to a descriptor */
} tl_ssh_output;

typedef struct {
	unsigned int version;   /* TL_SSH_EXEC_OPTIONS_VERSION */
	int stdout_mode;        /* a tl_ssh_output */
	int stderr_mode;
	int stdout_fd;          /* for TL_SSH_OUT_FD */
	int stderr_fd;
	const void *stdin_data; /* sent to the command's stdin, then EOF */
	size_t stdin_len;
	int stdin_fd;           /* >= 0: read until EOF and forwarded
	                           (after stdin_data, if any); -1: none */
	int timeout_ms;         /* whole command; 0: no limit */
	const char *subject;    /* for OUTPUT events, or NULL */
} tl_ssh_exec_options;

#define TL_SSH_EXEC_OPTIONS_VERSION 1
#define TL_SSH_EXEC_OPTIONS_INIT \
	{TL_SSH_EXEC_OPTIONS_VERSION, TL_SSH_OUT_EVENTS, TL_SSH_OUT_EVENTS, -1, -1, NULL, 0, -1, 0, NULL}

TL_EXTERN(int) tl_ssh_exec_options_init(tl_ssh_exec_options *opts, unsigned int version);

/** How a remote command ended. */
typedef struct {
	int exit_status;       /* its exit code, or -1 when killed by a signal */
	char exit_signal[32];  /* the signal's name without "SIG" ("TERM"), or "" */
	tl_buf out;            /* captured stdout (TL_SSH_OUT_BUFFER) */
	tl_buf err;            /* captured stderr */
} tl_ssh_result;

#define TL_SSH_RESULT_INIT {0, "", TL_BUF_INIT, TL_BUF_INIT}

/** Free the buffers of a result. NULL is fine. */
TL_EXTERN(void) tl_ssh_result_dispose(tl_ssh_result *res);

/**
 * Run `argv` (quoted with tl_ssh_quote_argv) on the server and wait for
 * it. TL_OK means it ran: `res` (written only then) tells how it ended;
 * a non-zero exit is not an error here. TL_ETIMEOUT past opts->timeout_ms,
 * TL_EUSER when the event callback cancelled (the channel is closed; the
 * remote command sees its stdin and stdout close). `opts` may be NULL.
 */
TL_EXTERN(int) tl_ssh_exec(tl_ssh_result *res, tl_ssh *ssh, const char *const *argv,
                           const tl_ssh_exec_options *opts);

typedef struct {
	unsigned int version; /* TL_SSH_UPLOAD_OPTIONS_VERSION */
	int mode;             /* permission bits of the file; 0: 0644 */
	int timeout_ms;       /* whole upload; 0: no limit */
} tl_ssh_upload_options;

#define TL_SSH_UPLOAD_OPTIONS_VERSION 1
#define TL_SSH_UPLOAD_OPTIONS_INIT {TL_SSH_UPLOAD_OPTIONS_VERSION, 0, 0}

TL_EXTERN(int) tl_ssh_upload_options_init(tl_ssh_upload_options *opts, unsigned int version);

/**
 * Upload the local file `local_path` to `remote_path` by SFTP: written to
 * a temporary name in the same remote directory, given its mode, then
 * renamed over `remote_path`, so the file appears complete or not at all.
 * Progress events (step "ssh.upload") report bytes. On failure the
 * temporary file is removed. The remote directory must exist
 * (TL_ENOTFOUND otherwise). `opts` may be NULL.
 */
TL_EXTERN(int) tl_ssh_upload(tl_ssh *ssh, const char *local_path, const char *remote_path,
                             const tl_ssh_upload_options *opts);

TL_END_DECL

#endif
