/* Running bootstrap's scripts on the server, and the files it owns there.
 *
 * Every remote command is `sh -c SCRIPT sh ARGS...`, built by
 * tl_ssh_quote_argv: SCRIPT is a constant of this module, and whatever
 * the caller gave (paths, keys, config lines) travels as ARGS or on stdin,
 * so the shell never parses it. */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

int tl__srv_sh(tl__srv *s, tl_ssh_result *res, bool capture, const char *script,
               const char *const *args, const tl_buf *in)
{
	size_t nargs = 0;
	while (args && args[nargs])
		nargs++;
	const char **argv = calloc(nargs + 8, sizeof(*argv));
	if (!argv)
		return tl__error_oom();
	size_t n = 0;
	if (s->sudo) {
		argv[n++] = "sudo";
		argv[n++] = "-n";
		argv[n++] = "--";
	}
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = script;
	argv[n++] = "sh";
	for (size_t i = 0; i < nargs; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = capture ? TL_SSH_OUT_BUFFER : TL_SSH_OUT_EVENTS;
	eo.stderr_mode = TL_SSH_OUT_BUFFER;
	eo.timeout_ms = (int)s->o.timeout_ms;
	eo.subject = s->host;
	if (in) {
		eo.stdin_data = in->ptr;
		eo.stdin_len = in->size;
	}
	int rc = tl_ssh_exec(res, s->ssh, argv, &eo);
	free(argv);
	return rc;
}

/* The last `max` bytes of `b`, from a line start, without the final newline. */
static const char *tail_of(const tl_buf *b, size_t max, int *len)
{
	if (!b->size) {
		*len = 0;
		return "";
	}
	size_t end = b->size;
	while (end && (b->ptr[end - 1] == '\n'))
		end--;
	size_t start = end > max ? end - max : 0;
	while (start && start < end && b->ptr[start - 1] != '\n')
		start++;
	*len = (int)(end - start);
	return b->ptr + start;
}

int tl__srv_check(tl__srv *s, const char *script, const char *const *args, const tl_buf *in)
{
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, true, script, args, in);
	if (rc) {
		tl_ssh_result_dispose(&res);
		return rc;
	}
	int len;
	const char *out = tail_of(&res.out, 2000, &len);
	tl__buf_set(&s->why, out, (size_t)len);
	if (res.exit_status == TL__SRV_OK || res.exit_status == TL__SRV_CHANGE)
		rc = res.exit_status;
	else if (res.exit_status == TL__SRV_UNMET)
		rc = tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_PROCESS, "%s: %.*s", s->host, len,
		                   out);
	else {
		const char *err = tail_of(&res.err, 600, &len);
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS,
		                   "%s: a check failed (exit %d%s%s): %.*s", s->host,
		                   res.exit_status, res.exit_signal[0] ? ", SIG" : "",
		                   res.exit_signal, len, len ? err : "(nothing on stderr)");
	}
	tl_ssh_result_dispose(&res);
	return rc;
}

int tl__srv_do(tl__srv *s, const char *what, const char *script, const char *const *args,
               const tl_buf *in)
{
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, false, script, args, in);
	if (rc == TL_OK && res.exit_status != 0) {
		int len;
		const char *err = tail_of(&res.err, 1200, &len);
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS, "%s: %s failed (exit %d): %.*s",
		                   s->host, what, res.exit_status, len,
		                   len ? err : "(nothing on stderr)");
	} else if (rc == TL_OK && res.err.size) {
		/* Warnings of a command that worked (apt's, dpkg's) are shown. */
		char *line = res.err.ptr, *end = res.err.ptr + res.err.size;
		while (line < end) {
			char *nl = memchr(line, '\n', (size_t)(end - line));
			if (nl)
				*nl = '\0';
			tl__output(s->ctx, TL_LOG_WARN, s->host, line);
			line = nl ? nl + 1 : end;
		}
	}
	tl_ssh_result_dispose(&res);
	return rc;
}

/* stdin: the wanted content; $1 path, $2 mode. Exit 0 when the file has
 * exactly that content and mode. */
static const char file_same_sh[] =
	"[ -f \"$1\" ] && [ \"$(stat -c %a \"$1\")\" = \"${2#0}\" ] && cmp -s - \"$1\"";

/* stdin: the content; $1 path, $2 mode. Written next to it, then renamed. */
static const char file_put_sh[] =
	"set -e; umask 077; mkdir -p \"$(dirname \"$1\")\"; t=\"$1.towlion-new\"; "
	"cat > \"$t\"; chmod \"$2\" \"$t\"; chown root:root \"$t\"; sync \"$t\"; mv -f \"$t\" \"$1\"";

static int file_same(tl__srv *s, const tl__srv_file *f, bool *same)
{
	tl_buf in = {(char *)f->text, strlen(f->text), 0};
	const char *args[] = {f->path, f->mode, NULL};
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, true, file_same_sh, args, &in);
	if (rc == TL_OK)
		*same = res.exit_status == 0;
	tl_ssh_result_dispose(&res);
	return rc;
}

int tl__srv_files_check(tl__srv *s, const tl__srv_file *files, size_t n)
{
	tl__buf_set(&s->why, "", 0);
	for (size_t i = 0; i < n; i++) {
		bool same = false;
		int rc = file_same(s, &files[i], &same);
		if (rc)
			return rc;
		if (!same)
			tl__buf_printf(&s->why, "%swrite %s", s->why.size ? ", " : "", files[i].path);
	}
	return s->why.size ? TL__SRV_CHANGE : TL__SRV_OK;
}

int tl__srv_files_put(tl__srv *s, const tl__srv_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool same = false;
		int rc = file_same(s, &files[i], &same);
		if (rc == TL_OK && !same) {
			tl_buf in = {(char *)files[i].text, strlen(files[i].text), 0};
			const char *args[] = {files[i].path, files[i].mode, NULL};
			rc = tl__srv_do(s, files[i].path, file_put_sh, args, &in);
		}
		if (rc)
			return rc;
	}
	return TL_OK;
}

int tl__srv_upload_once(tl__srv *s, const char *path, const char *remote, const char *sha)
{
	static const char same_sh[] =
		"[ -f \"$1\" ] && [ \"$(sha256sum < \"$1\" | cut -d' ' -f1)\" = \"$2\" ]";
	static const char dir_sh[] = "mkdir -p -m 0700 \"$(dirname \"$1\")\"";
	const char *args[] = {remote, sha, NULL};
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, true, same_sh, args, NULL);
	bool same = rc == TL_OK && res.exit_status == 0;
	tl_ssh_result_dispose(&res);
	if (rc || same)
		return rc;
	if ((rc = tl__srv_do(s, "mkdir", dir_sh, args, NULL)))
		return rc;
	/* SFTP writes as the login user: a non-root user uploads where it can
	 * and root moves the file into place. */
	if (!s->sudo) {
		tl_ssh_upload_options uo = TL_SSH_UPLOAD_OPTIONS_INIT;
		uo.mode = 0600;
		return tl_ssh_upload(s->ssh, path, remote, &uo);
	}
	tl_buf tmp = TL_BUF_INIT;
	static const char mktemp_sh[] = "mktemp -d";
	tl_ssh_result t = TL_SSH_RESULT_INIT;
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = TL_SSH_OUT_BUFFER;
	const char *targv[] = {"sh", "-c", mktemp_sh, NULL};
	rc = tl_ssh_exec(&t, s->ssh, targv, &eo);
	if (rc == TL_OK && (t.exit_status != 0 || !t.out.size))
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS, "%s: mktemp -d failed", s->host);
	if (rc == TL_OK) {
		t.out.ptr[strcspn(t.out.ptr, "\n")] = '\0';
		rc = tl__buf_printf(&tmp, "%s/upload", t.out.ptr);
	}
	if (rc == TL_OK)
		rc = tl_ssh_upload(s->ssh, path, tmp.ptr, NULL);
	if (rc == TL_OK) {
		static const char mv_sh[] =
			"set -e; mv -f \"$1\" \"$2\"; chown root:root \"$2\"; chmod 0600 \"$2\"; "
			"rmdir \"$(dirname \"$1\")\"";
		const char *margs[] = {tmp.ptr, remote, NULL};
		rc = tl__srv_do(s, "moving an upload into place", mv_sh, margs, NULL);
	}
	tl_ssh_result_dispose(&t);
	tl_buf_dispose(&tmp);
	return rc;
}
