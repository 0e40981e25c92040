/* Running a command on the server: one channel, stdout and stderr read
 * together (non-blocking, so neither can stall the other), optional
 * stdin, keepalives, a timeout and cancellation. */
#include "ssh_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TL__SSH_MAX_LINE (64 * 1024) /* longer lines are cut into events */
#define TL__SSH_SLICE_MS 200         /* longest wait between checks */

int tl_ssh_exec_options_init(tl_ssh_exec_options *opts, unsigned int version)
{
	tl_ssh_exec_options def = TL_SSH_EXEC_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_SSH_EXEC_OPTIONS_VERSION, "tl_ssh_exec_options");
}

void tl_ssh_result_dispose(tl_ssh_result *res)
{
	if (!res)
		return;
	tl_buf_dispose(&res->out);
	tl_buf_dispose(&res->err);
}

typedef struct {
	int mode;
	int fd;
	int level;
	tl_buf *capture;
	tl_buf line;
	const char *name;
} sink;

static int sink_line(tl_ssh *ssh, sink *s, const char *subject)
{
	int rc = tl__output(ssh->ctx, s->level, subject, s->line.ptr ? s->line.ptr : "");
	tl__buf_clear(&s->line);
	return rc;
}

static int sink_put(tl_ssh *ssh, sink *s, const char *data, size_t n, const char *subject)
{
	switch (s->mode) {
	case TL_SSH_OUT_BUFFER:
		return tl__buf_put(s->capture, data, n);
	case TL_SSH_OUT_DISCARD:
		return TL_OK;
	case TL_SSH_OUT_FD:
		while (n) {
			ssize_t w = write(s->fd, data, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return tl__error_os(TL_EIO, errno, "writing the remote %s to fd %d",
				                    s->name, s->fd);
			data += w;
			n -= (size_t)w;
		}
		return TL_OK;
	default:
		for (size_t i = 0; i < n; i++) {
			int rc = TL_OK;
			if (data[i] == '\n' || s->line.size >= TL__SSH_MAX_LINE)
				rc = sink_line(ssh, s, subject);
			if (rc == TL_OK && data[i] != '\n' && data[i] != '\r')
				rc = tl__buf_putc(&s->line, data[i]);
			if (rc)
				return rc;
		}
		return TL_OK;
	}
}

static int check_mode(int mode, int fd)
{
	if (mode < TL_SSH_OUT_EVENTS || mode > TL_SSH_OUT_FD || (mode == TL_SSH_OUT_FD && fd < 0))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "tl_ssh_exec: bad output mode %d (fd %d)", mode, fd);
	return TL_OK;
}

void tl__ssh_abandon(tl_ssh *ssh, LIBSSH2_CHANNEL *ch)
{
	/* Send EOF and CLOSE without waiting for the server's CLOSE, which
	 * comes only when the command ends (libssh2 1.10 cannot signal it). */
	libssh2_session_set_blocking(ssh->session, 0);
	libssh2_channel_close(ch);
	if (libssh2_channel_free(ch) != LIBSSH2_ERROR_EAGAIN) {
		libssh2_session_set_blocking(ssh->session, 1);
		return;
	}
	LIBSSH2_CHANNEL **a = tl__realloc(ssh->abandoned, (ssh->nabandoned + 1) * sizeof(*a));
	if (a) { /* else it is freed with the session */
		ssh->abandoned = a;
		a[ssh->nabandoned++] = ch;
	}
	libssh2_session_set_blocking(ssh->session, 1);
}

void tl__ssh_reap(tl_ssh *ssh)
{
	if (!ssh->nabandoned)
		return;
	libssh2_session_set_blocking(ssh->session, 0);
	size_t w = 0;
	for (size_t i = 0; i < ssh->nabandoned; i++)
		if (libssh2_channel_free(ssh->abandoned[i]) == LIBSSH2_ERROR_EAGAIN)
			ssh->abandoned[w++] = ssh->abandoned[i];
	ssh->nabandoned = w;
	libssh2_session_set_blocking(ssh->session, 1);
}

typedef struct {
	const char *data; /* pending stdin bytes */
	size_t len;
	int fd;           /* source fd, -1 when none or at EOF */
	char chunk[16384];
	bool eof_sent;
} in_state;

/* Move stdin forward; *progress is set when something moved. */
static int pump_stdin(tl_ssh *ssh, LIBSSH2_CHANNEL *ch, in_state *in, bool readable,
                      bool *progress)
{
	if (in->len == 0 && in->fd >= 0 && readable) {
		ssize_t n = read(in->fd, in->chunk, sizeof(in->chunk));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return tl__error_os(TL_EIO, errno, "reading stdin for the remote command");
		if (n == 0)
			in->fd = -1;
		if (n > 0) {
			in->data = in->chunk;
			in->len = (size_t)n;
		}
		*progress = true;
	}
	while (in->len) {
		ssize_t w = libssh2_channel_write(ch, in->data, in->len);
		if (w == LIBSSH2_ERROR_EAGAIN)
			return TL_OK;
		if (w < 0) { /* the command closed its stdin: drop the rest */
			in->len = 0;
			in->fd = -1;
			break;
		}
		in->data += w;
		in->len -= (size_t)w;
		*progress = true;
	}
	if (in->len == 0 && in->fd < 0 && !in->eof_sent) {
		int s = libssh2_channel_send_eof(ch);
		if (s == LIBSSH2_ERROR_EAGAIN)
			return TL_OK;
		in->eof_sent = true; /* an error means the channel is closing anyway */
		*progress = true;
	}
	return TL_OK;
}

/* Read what is there on one stream: >0 bytes handled, 0 at EOF,
 * LIBSSH2_ERROR_EAGAIN when nothing is there yet, or an error. */
static ssize_t pump_out(tl_ssh *ssh, LIBSSH2_CHANNEL *ch, int stream, sink *s,
                        const char *subject, int *rc)
{
	char buf[32768];
	ssize_t n = libssh2_channel_read_ex(ch, stream, buf, sizeof(buf));
	if (n > 0)
		*rc = sink_put(ssh, s, buf, (size_t)n, subject);
	else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
		*rc = tl__ssh_fail(ssh, (int)n, "reading the output of a remote command");
	return n;
}

static int run_loop(tl_ssh *ssh, LIBSSH2_CHANNEL *ch, const tl_ssh_exec_options *o,
                    sink *out, sink *err, in_state *in, const char *cmd)
{
	int64_t deadline = o->timeout_ms > 0 ? tl__clock_ms() + o->timeout_ms : 0;
	for (;;) {
		int rc = TL_OK;
		bool progress = false;
		ssize_t n1 = pump_out(ssh, ch, 0, out, o->subject, &rc);
		if (rc)
			return rc;
		ssize_t n2 = pump_out(ssh, ch, SSH_EXTENDED_DATA_STDERR, err, o->subject, &rc);
		if (rc)
			return rc;
		if (n1 > 0 || n2 > 0)
			progress = true;
		if (n1 == 0 && n2 == 0 && libssh2_channel_eof(ch))
			return TL_OK;
		if (!in->eof_sent) {
			bool ready = false;
			if (in->len == 0 && in->fd >= 0 &&
			    (rc = tl__ssh_wait(ssh, 0, in->fd, &ready)))
				return rc;
			if ((rc = pump_stdin(ssh, ch, in, ready, &progress)))
				return rc;
		}
		if ((rc = tl__ssh_keepalive(ssh)) || (rc = tl__cancelled(ssh->ctx)))
			return rc;
		int64_t now = tl__clock_ms();
		if (deadline && now >= deadline)
			return tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_SSH,
			                     "the command `%.200s` on %s ran past its timeout of "
			                     "%d ms and was stopped", cmd, ssh->label, o->timeout_ms);
		if (progress)
			continue;
		int slice = TL__SSH_SLICE_MS;
		if (deadline && deadline - now < slice)
			slice = (int)(deadline - now);
		bool want_in = !in->eof_sent && in->len == 0 && in->fd >= 0;
		if ((rc = tl__ssh_wait(ssh, slice, want_in ? in->fd : -1, NULL)))
			return rc;
	}
}

/* Run the command line `text` (the login shell parses it). Takes `cmd`. */
static int exec_text(tl_ssh_result *res, tl_ssh *ssh, tl_buf cmd, const tl_ssh_exec_options *opts)
{
	tl_ssh_exec_options o = *opts;
	int rc;
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	sink out = {o.stdout_mode, o.stdout_fd, TL_LOG_INFO, &r.out, TL_BUF_INIT, "stdout"};
	sink err = {o.stderr_mode, o.stderr_fd, TL_LOG_WARN, &r.err, TL_BUF_INIT, "stderr"};
	in_state in = {o.stdin_data, o.stdin_len, o.stdin_fd, {0}, false};
	LIBSSH2_CHANNEL *ch = NULL;

	tl__ssh_reap(ssh);
	tl__log(ssh->ctx, TL_LOG_DEBUG, "%s: %s", ssh->label, cmd.ptr);
	if ((rc = tl__cancelled(ssh->ctx)))
		goto out;
	ch = libssh2_channel_open_session(ssh->session);
	if (!ch) {
		rc = tl__ssh_fail(ssh, libssh2_session_last_errno(ssh->session),
		                  "opening an SSH channel");
		goto out;
	}
	int s = libssh2_channel_exec(ch, cmd.ptr);
	if (s) {
		rc = tl__ssh_fail(ssh, s, "starting a remote command");
		goto out;
	}
	libssh2_session_set_blocking(ssh->session, 0);
	rc = run_loop(ssh, ch, &o, &out, &err, &in, cmd.ptr);
	if (rc == TL_OK && out.line.size)
		rc = sink_line(ssh, &out, o.subject);
	if (rc == TL_OK && err.line.size)
		rc = sink_line(ssh, &err, o.subject);
	if (rc)
		goto out;
	/* The exit status comes before the server's CLOSE: wait for it. */
	libssh2_session_set_blocking(ssh->session, 1);
	libssh2_channel_close(ch);
	libssh2_channel_wait_closed(ch);
	r.exit_status = libssh2_channel_get_exit_status(ch);
	char *sig = NULL;
	size_t siglen = 0;
	libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL);
	if (sig && siglen) {
		snprintf(r.exit_signal, sizeof(r.exit_signal), "%.*s", (int)siglen, sig);
		r.exit_status = -1;
	}
	if (sig)
		libssh2_free(ssh->session, sig);
	libssh2_channel_free(ch);
	ch = NULL;
	*res = r;
	tl_buf_dispose(&out.line);
	tl_buf_dispose(&err.line);
	tl_buf_dispose(&cmd);
	return TL_OK;
out:
	if (ch)
		tl__ssh_abandon(ssh, ch);
	libssh2_session_set_blocking(ssh->session, 1);
	tl_ssh_result_dispose(&r);
	tl_buf_dispose(&out.line);
	tl_buf_dispose(&err.line);
	tl_buf_dispose(&cmd);
	return rc;
}

/* Login shells that split a command line the POSIX way, which is what
 * tl_ssh_quote_argv() writes for (single quotes, '\'' for a quote). */
static const char *const posix_shells[] = {"sh",   "bash", "dash", "ash",  "ksh",
                                           "ksh93", "mksh", "pdksh", "posh", "yash", "zsh"};

/* sshd runs an exec request as `<login shell> -c <text>`, whatever the
 * shell is, and libssh2_channel_exec() can only send that text: there is
 * no way past the login shell. Wrapping the command in `/bin/sh -c '...'`
 * does not help, since the wrapper is itself parsed by the login shell
 * first, and fish reads '\'' and backslashes inside single quotes its own
 * way (csh has other rules again). So the login shell is found out first,
 * with a command line that every shell reads the same (two plain words),
 * and a shell that is not POSIX is refused before anything runs. */
static int check_login_shell(tl_ssh *ssh, int timeout_ms)
{
	if (ssh->login_shell)
		return TL_OK;
	tl_buf probe = TL_BUF_INIT;
	int rc = tl__buf_puts(&probe, "printenv SHELL");
	if (rc)
		return rc;
	tl_ssh_exec_options o = TL_SSH_EXEC_OPTIONS_INIT;
	o.stdout_mode = o.stderr_mode = TL_SSH_OUT_BUFFER;
	o.timeout_ms = timeout_ms > 0 && timeout_ms < 30000 ? timeout_ms : 30000;
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	if ((rc = exec_text(&r, ssh, probe, &o)))
		return rc;
	char shell[256] = "";
	if (r.out.ptr)
		snprintf(shell, sizeof(shell), "%.*s", (int)strcspn(r.out.ptr, "\r\n"), r.out.ptr);
	if (r.exit_status != 0 || !*shell) {
		char why[200] = "";
		if (r.err.ptr)
			snprintf(why, sizeof(why), "%.*s", (int)strcspn(r.err.ptr, "\r\n"), r.err.ptr);
		if (!*why && r.out.ptr)
			snprintf(why, sizeof(why), "%.*s", (int)strcspn(r.out.ptr, "\r\n"), r.out.ptr);
		for (char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		int status = r.exit_status;
		tl_ssh_result_dispose(&r);
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_SSH,
		                     "cannot tell the login shell of %s (`printenv SHELL` exited %d%s%s); "
		                     "commands are run only through a POSIX login shell",
		                     ssh->label, status, *why ? ": " : "", why);
	}
	tl_ssh_result_dispose(&r);
	const char *base = strrchr(shell, '/');
	base = base ? base + 1 : shell;
	bool posix = false;
	for (size_t i = 0; i < sizeof(posix_shells) / sizeof(posix_shells[0]); i++)
		posix = posix || !strcmp(base, posix_shells[i]);
	for (char *p = shell; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (!posix)
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_SSH,
		                     "the login shell of %s is %s, which does not read command lines "
		                     "the POSIX way: a quoted command could run as something else, so "
		                     "nothing is run; give the user a POSIX shell (chsh -s /bin/sh "
		                     "or /bin/bash)",
		                     ssh->label, shell);
	ssh->login_shell = tl__strdup(shell);
	return ssh->login_shell ? TL_OK : TL_ENOMEM;
}

int tl_ssh_exec(tl_ssh_result *res, tl_ssh *ssh, const char *const *argv,
                const tl_ssh_exec_options *opts)
{
	TL__CHECK_ARG(res && ssh && argv && argv[0]);
	TL__CHECK_VERSION(opts, TL_SSH_EXEC_OPTIONS_VERSION, "tl_ssh_exec_options");
	tl_ssh_exec_options o = TL_SSH_EXEC_OPTIONS_INIT;
	if (opts)
		o = *opts;
	TL__CHECK_ARG(o.stdin_data || o.stdin_len == 0);
	int rc;
	if ((rc = check_mode(o.stdout_mode, o.stdout_fd)) ||
	    (rc = check_mode(o.stderr_mode, o.stderr_fd)))
		return rc;
	tl_buf cmd = TL_BUF_INIT;
	if ((rc = tl_ssh_quote_argv(&cmd, argv)))
		return rc;
	if ((rc = check_login_shell(ssh, o.timeout_ms))) {
		tl_buf_dispose(&cmd);
		return rc;
	}
	return exec_text(res, ssh, cmd, &o);
}
