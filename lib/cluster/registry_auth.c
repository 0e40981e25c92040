/*
 * The cluster registry's credentials: one user, a random password made
 * once and kept in <TOWLION_STATE_DIR>/registry/password (0600, in a 0700
 * directory), and the htpasswd file the registry reads (bcrypt: the only
 * hash the distribution registry accepts), next to it. Only the htpasswd
 * file is bind-mounted into the registry; the password itself reaches
 * Docker only inside an X-Registry-Auth header.
 */
#include "cluster_int.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_LEN 32 /* from [A-Za-z0-9_-]: 192 bits */
/* bcrypt's cost. The registry checks the hash on every request of a push
 * (dozens per image); a 192-bit random password needs no slow hash to
 * resist guessing, so the cost is bcrypt's low end. */
#define BCRYPT_COST 5

static bool password_ok(const char *s, size_t n)
{
	if (n < 16 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", s[i]) ||
		    !s[i])
			return false;
	return true;
}

static int read_password(tl_buf *out, const char *path)
{
	int rc = tl__file_read_max(out, path, 256, "the registry password");
	if (rc)
		return rc;
	while (out->size && (out->ptr[out->size - 1] == '\n' || out->ptr[out->size - 1] == '\r'))
		out->ptr[--out->size] = '\0';
	if (!password_ok(out->ptr, out->size))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "%s is not a registry password (16 to 128 characters of "
		                     "[A-Za-z0-9_-]): restore it from a backup, or remove it and "
		                     "the registry's htpasswd and run `towlion cluster init` again",
		                     path);
	return TL_OK;
}

/* A new password at `path`, unless another run made one first (then
 * that one is kept): written to a file of this process, fsynced, and
 * linked into place, which never replaces an existing file. */
static int create_password(const char *path)
{
	char pw[PASSWORD_LEN + 2];
	int rc = tl__secret_generate(pw, PASSWORD_LEN);
	if (rc)
		return rc;
	pw[PASSWORD_LEN] = '\n';
	char *tmp = tl__sprintf("%s.new.%ld", path, (long)getpid());
	if (!tmp)
		return TL_ENOMEM;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0 && write(fd, pw, PASSWORD_LEN + 1) == PASSWORD_LEN + 1 && fsync(fd) == 0;
	int err = errno;
	if (fd >= 0 && close(fd) != 0 && ok) {
		ok = false;
		err = errno;
	}
	if (ok && link(tmp, path) != 0 && errno != EEXIST) {
		ok = false;
		err = errno;
	}
	explicit_bzero(pw, sizeof(pw));
	unlink(tmp);
	rc = ok ? TL_OK
	        : tl__error_set_upstream(TL_EIO, TL_ERRCLASS_OS, "", err,
	                                 "cannot write the registry password %s: %s", path,
	                                 strerror(err));
	free(tmp);
	return rc;
}

/* The htpasswd line for `password`, when `line` is not one for it already. */
static int ensure_htpasswd(bool *changed, const char *path, const char *password)
{
	*changed = false;
	struct crypt_data *cd = tl__calloc(1, sizeof(*cd));
	if (!cd)
		return TL_ENOMEM;
	tl_buf cur = TL_BUF_INIT;
	int rc = tl__file_read_max(&cur, path, 4096, "the registry's htpasswd");
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		rc = TL_OK;
	}
	const char *prefix = TL__REGISTRY_USER ":";
	if (rc == TL_OK && cur.size > strlen(prefix) && !strncmp(cur.ptr, prefix, strlen(prefix))) {
		char *hash = cur.ptr + strlen(prefix);
		hash[strcspn(hash, "\r\n")] = '\0';
		const char *again = crypt_rn(password, hash, cd, sizeof(*cd));
		if (again && *again != '*' && !strcmp(again, hash))
			goto done; /* this password's: kept as it is */
	}
	if (rc)
		goto done;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *hash = NULL;
	if (crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt)))
		hash = crypt_rn(password, salt, cd, sizeof(*cd));
	if (!hash || *hash == '*') {
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_OS, "", errno,
		                            "cannot hash the registry password with bcrypt: "
		                            "this libcrypt has no $2b$ (libxcrypt has)");
		goto done;
	}
	tl_buf line = TL_BUF_INIT;
	rc = tl__buf_printf(&line, "%s%s\n", prefix, hash);
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, line.ptr, line.size, 0600);
	tl_buf_dispose(&line);
	*changed = rc == TL_OK;
done:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	tl_buf_dispose(&cur);
	return rc;
}

int tl__registry_secrets(tl_buf *password, char **htpasswd, bool *htpasswd_changed,
                         tl_ctx *ctx, bool create)
{
	char *dir = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "registry");
	char *pw_path = dir ? tl__path_join(dir, "password") : NULL;
	char *ht_path = dir ? tl__path_join(dir, "htpasswd") : NULL;
	int rc = pw_path && ht_path ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK && create)
		rc = tl__mkdir_p(dir, 0700);
	if (rc == TL_OK) {
		rc = read_password(password, pw_path);
		if (rc == TL_ENOTFOUND && create) {
			tl_error_clear();
			rc = create_password(pw_path);
			if (rc == TL_OK)
				rc = read_password(password, pw_path);
		} else if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT,
			                   "the cluster has no registry (no %s): run `towlion cluster "
			                   "init` on the manager, without --no-registry", pw_path);
		}
	}
	bool changed = false;
	if (rc == TL_OK && create)
		rc = ensure_htpasswd(&changed, ht_path, password->ptr);
	if (rc == TL_OK) {
		if (htpasswd_changed)
			*htpasswd_changed = changed;
		if (htpasswd) {
			*htpasswd = ht_path;
			ht_path = NULL;
		}
	} else if (password->ptr) {
		explicit_bzero(password->ptr, password->size);
		tl__buf_clear(password);
	}
	free(dir);
	free(pw_path);
	free(ht_path);
	return rc;
}
