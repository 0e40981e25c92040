/* Uploading a file by SFTP: written under a temporary name in the target
 * directory, given its mode, checked for size, then renamed over the
 * target so readers see the old file or the whole new one.
 *
 * OpenSSH's sftp-server speaks SFTP 3, whose RENAME refuses to replace an
 * existing file (libssh2 1.10 has no posix-rename@openssh.com). When the
 * target exists the rename is done with `mv -f` over an exec channel
 * instead, which is rename(2) on the server: just as atomic. */
#include "ssh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TL__SSH_UPLOAD_CHUNK (256 * 1024)

int tl_ssh_upload_options_init(tl_ssh_upload_options *opts, unsigned int version)
{
	tl_ssh_upload_options def = TL_SSH_UPLOAD_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_SSH_UPLOAD_OPTIONS_VERSION, "tl_ssh_upload_options");
}

static int sftp_fail(tl_ssh *ssh, LIBSSH2_SFTP *sftp, const char *what, const char *path)
{
	int s = libssh2_session_last_errno(ssh->session);
	if (s != LIBSSH2_ERROR_SFTP_PROTOCOL) {
		tl__ssh_fail(ssh, s, what);
		tl__error_prefix("%s", path);
		return tl_error_last()->code;
	}
	unsigned long fx = libssh2_sftp_last_error(sftp);
	int code = TL_EIO;
	const char *why = "the server refused";
	switch (fx) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		code = TL_ENOTFOUND;
		why = "no such file or directory";
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		code = TL_EAUTH;
		why = "permission denied";
		break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		why = "no space left";
		break;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		code = TL_EEXISTS;
		why = "it already exists";
		break;
	default:
		break;
	}
	char up[16];
	snprintf(up, sizeof(up), "SFTP %lu", fx);
	return tl__error_set_upstream(code, TL_ERRCLASS_SSH, up, LIBSSH2_ERROR_SFTP_PROTOCOL,
	                              "%s %s on %s: %s (SFTP status %lu)", what, path,
	                              ssh->label, why, fx);
}

/* Replace `target` by `tmp` with rename(2) on the server. */
static int rename_over(tl_ssh *ssh, LIBSSH2_SFTP *sftp, const char *tmp, const char *target)
{
	int s = libssh2_sftp_rename_ex(sftp, tmp, (unsigned)strlen(tmp), target,
	                               (unsigned)strlen(target),
	                               LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
	                                   LIBSSH2_SFTP_RENAME_NATIVE);
	if (s == 0)
		return TL_OK;
	LIBSSH2_SFTP_ATTRIBUTES st;
	if (libssh2_sftp_lstat(sftp, target, &st) != 0)
		return sftp_fail(ssh, sftp, "renaming the upload to", target);
	if (LIBSSH2_SFTP_S_ISDIR(st.permissions))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_SSH,
		                     "cannot upload to %s on %s: it is a directory", target,
		                     ssh->label);
	const char *argv[] = {"mv", "-f", "--", tmp, target, NULL};
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = eo.stderr_mode = TL_SSH_OUT_BUFFER;
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	int rc = tl_ssh_exec(&r, ssh, argv, &eo);
	if (rc == TL_OK && r.exit_status != 0)
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_PROCESS, "", r.exit_status,
		                            "renaming the upload over %s on %s failed: %s",
		                            target, ssh->label, r.err.ptr ? r.err.ptr : "");
	tl_ssh_result_dispose(&r);
	return rc;
}

static int send_file(tl_ssh *ssh, LIBSSH2_SFTP_HANDLE *h, int fd, const char *local,
                     uint64_t total, int64_t deadline, int timeout_ms)
{
	char *buf = tl__malloc(TL__SSH_UPLOAD_CHUNK);
	if (!buf)
		return TL_ENOMEM;
	uint64_t done = 0;
	int rc = tl__progress(ssh->ctx, "ssh.upload", 0, total);
	while (rc == TL_OK) {
		ssize_t n = read(fd, buf, TL__SSH_UPLOAD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tl__error_os(TL_EIO, errno, "reading %s", local);
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; rc == TL_OK && off < n;) {
			ssize_t w = libssh2_sftp_write(h, buf + off, (size_t)(n - off));
			if (w < 0)
				rc = tl__ssh_fail(ssh, (int)w, "writing the upload");
			else
				off += w;
		}
		done += (uint64_t)n;
		if (rc == TL_OK)
			rc = tl__progress(ssh->ctx, "ssh.upload", done, total);
		if (rc == TL_OK && deadline && tl__clock_ms() > deadline)
			rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_SSH,
			                   "uploading %s to %s ran past its timeout of %d ms",
			                   local, ssh->label, timeout_ms);
		if (rc == TL_OK)
			rc = tl__ssh_keepalive(ssh);
	}
	if (rc == TL_OK && done != total)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_OS,
		                   "%s changed size while it was uploaded", local);
	free(buf);
	return rc;
}

int tl_ssh_upload(tl_ssh *ssh, const char *local_path, const char *remote_path,
                  const tl_ssh_upload_options *opts)
{
	TL__CHECK_ARG(ssh && local_path && remote_path && *remote_path);
	TL__CHECK_VERSION(opts, TL_SSH_UPLOAD_OPTIONS_VERSION, "tl_ssh_upload_options");
	tl_ssh_upload_options o = TL_SSH_UPLOAD_OPTIONS_INIT;
	if (opts)
		o = *opts;
	TL__CHECK_ARG((o.mode & ~07777) == 0);
	int mode = o.mode ? o.mode : 0644;
	const char *base = strrchr(remote_path, '/');
	base = base ? base + 1 : remote_path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "upload target '%s' does not name a file", remote_path);

	int fd = open(local_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tl__error_os(tl__errno_to_result(errno), errno, "cannot open %s", local_path);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "%s is not a regular file", local_path);
	}
	char rnd[9];
	char *tmp = NULL;
	LIBSSH2_SFTP *sftp = NULL;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	bool tmp_made = false;
	int64_t deadline = o.timeout_ms > 0 ? tl__clock_ms() + o.timeout_ms : 0;
	int rc = tl__secret_generate(rnd, 8);
	if (rc)
		goto out;
	rc = TL_ENOMEM;
	/* The name is cut so that the temporary name stays under NAME_MAX. */
	if (!(tmp = tl__sprintf("%.*s.%.200s.tl-upload-%s", (int)(base - remote_path),
	                        remote_path, base, rnd)))
		goto out;
	if ((rc = tl__step(ssh->ctx, "ssh.upload", remote_path, "Uploading %s to %s:%s",
	                   local_path, ssh->host, remote_path)))
		goto out;
	if (!(sftp = libssh2_sftp_init(ssh->session))) {
		rc = tl__ssh_fail(ssh, libssh2_session_last_errno(ssh->session),
		                  "starting SFTP");
		goto out;
	}
	h = libssh2_sftp_open_ex(sftp, tmp, (unsigned)strlen(tmp),
	                         LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600,
	                         LIBSSH2_SFTP_OPENFILE);
	if (!h) {
		rc = sftp_fail(ssh, sftp, "creating", tmp);
		goto out;
	}
	tmp_made = true;
	if ((rc = send_file(ssh, h, fd, local_path, (uint64_t)st.st_size, deadline,
	                    o.timeout_ms)))
		goto out;
	/* The mode is set explicitly: the open mode is cut by the server's
	 * umask. */
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	memset(&attrs, 0, sizeof(attrs));
	attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	attrs.permissions = (unsigned long)mode;
	if (libssh2_sftp_fsetstat(h, &attrs) != 0) {
		rc = sftp_fail(ssh, sftp, "setting the mode of", tmp);
		goto out;
	}
	int c = libssh2_sftp_close(h);
	h = NULL;
	if (c != 0) {
		rc = sftp_fail(ssh, sftp, "closing", tmp);
		goto out;
	}
	LIBSSH2_SFTP_ATTRIBUTES check;
	if (libssh2_sftp_stat(sftp, tmp, &check) != 0) {
		rc = sftp_fail(ssh, sftp, "checking", tmp);
		goto out;
	}
	if (check.filesize != (libssh2_uint64_t)st.st_size) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_SSH,
		                   "the upload of %s arrived with %llu bytes instead of %llu",
		                   local_path, (unsigned long long)check.filesize,
		                   (unsigned long long)st.st_size);
		goto out;
	}
	if ((rc = rename_over(ssh, sftp, tmp, remote_path)))
		goto out;
	tmp_made = false;
	tl__log(ssh->ctx, TL_LOG_DEBUG, "uploaded %s to %s:%s (%lld bytes)", local_path,
	        ssh->label, remote_path, (long long)st.st_size);
out:
	if (h)
		libssh2_sftp_close(h);
	if (tmp_made && sftp) {
		/* Best effort: a failed upload leaves nothing behind. */
		libssh2_session_set_timeout(ssh->session, 2000);
		libssh2_sftp_unlink(sftp, tmp);
		libssh2_session_set_timeout(ssh->session, ssh->timeout_ms);
	}
	if (sftp)
		libssh2_sftp_shutdown(sftp);
	free(tmp);
	close(fd);
	return rc;
}
