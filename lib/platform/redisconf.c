/* The platform Redis's configuration: redis.conf and its ACL file.
 *
 * Users live in an aclfile, so the app users the redis module creates
 * (ACL SETUSER + ACL SAVE) survive a restart. redis.conf then holds no
 * `requirepass`: with an aclfile, Redis replaces every user by the file's
 * at startup, and a file without a `user default` line would leave the
 * default user with `nopass` (Redis 7). So the default user's password is
 * in the file itself, as its SHA-256 (`#<hex>`), never in plain text. */
#include "platform_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char redis_conf[] =
	"# Written by `towlion platform init`. Users (the default user's password\n"
	"# and one user per app) are in the ACL file; the redis module saves it.\n"
	"aclfile /data/users.acl\n"
	"appendonly yes\n"
	"dir /data\n";

static bool is_default_line(const char *line, size_t n)
{
	static const char key[] = "user default ";
	return n >= sizeof(key) - 1 && !memcmp(line, key, sizeof(key) - 1);
}

/* Whether a `user default` line already has the password `#hash` (Redis's
 * ACL SAVE writes it in its own words: "user default on sanitize-payload
 * #<hash> ~* &* +@all") and no `nopass`. */
static bool default_line_ok(const char *line, size_t n, const char *hash)
{
	char *l = tl__strndup(line, n);
	char tok[68];
	snprintf(tok, sizeof(tok), " #%s", hash);
	bool ok = l && strstr(l, tok) && !strstr(l, "nopass");
	free(l);
	return ok;
}

/* `current` (may be NULL) with its `user default` line replaced by
 * `want` unless it already has the right password (first line either
 * way); every other line (the app users) kept. */
static int merge_acl(tl_buf *out, const char *current, const char *want, const char *hash)
{
	int rc = TL_OK;
	bool have = false;
	for (const char *s = current; !rc && !have && s && *s;) {
		size_t n = strcspn(s, "\n");
		if (is_default_line(s, n) && default_line_ok(s, n, hash)) {
			have = true;
			rc = tl__buf_put(out, s, n);
			if (!rc)
				rc = tl__buf_putc(out, '\n');
		}
		s += n + (s[n] == '\n');
	}
	if (!rc && !have)
		rc = tl__buf_puts(out, want);
	for (const char *s = current; !rc && s && *s;) {
		size_t n = strcspn(s, "\n");
		if (!is_default_line(s, n) && n > 0) {
			rc = tl__buf_put(out, s, n);
			if (!rc)
				rc = tl__buf_putc(out, '\n');
		}
		s += n + (s[n] == '\n');
	}
	return rc;
}

static int write_owned(const tl__plat *p, const char *path, const char *text, int uid)
{
	int rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	(void)p;
	if (!rc && uid >= 0 && geteuid() == 0 && chown(path, (uid_t)uid, (gid_t)uid) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot give %s to uid %d", path, uid);
	return rc;
}

/* Write `text` to `path` unless it is there already; one report step. */
static int ensure(tl_platform_report *r, const tl__plat *p, const char *path,
                  const char *text, const char *what)
{
	tl_buf cur = TL_BUF_INIT;
	int rc = tl__file_read(&cur, path);
	if (rc && rc != TL_ENOTFOUND)
		return rc;
	bool exists = rc == TL_OK;
	tl_error_clear();
	bool same = exists && cur.size == strlen(text) && !memcmp(cur.ptr, text, cur.size);
	tl__buf_dispose_secret(&cur);
	if (same)
		return tl__plat_step(r, "write", path, 0, "up to date");
	if (!(p->flags & TL_PLATFORM_DRY_RUN) && (rc = write_owned(p, path, text, 999)))
		return rc;
	return tl__plat_step(r, "write", path, 1, "0600, %s%s", what, exists ? ", updated" : "");
}

int tl__plat_redis_conf(tl_platform_report *r, const tl__plat *p, const char *password)
{
	if (!password || !*password)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "platform.env has no REDIS_PASSWORD for the Redis default user");
	char *acl_path = tl__plat_data(p, "redis/users.acl");
	char *conf_path = tl__plat_data(p, "redis/redis.conf");
	int rc = acl_path && conf_path ? TL_OK : TL_ENOMEM;
	/* The ACL file first: a redis.conf naming a missing aclfile would
	 * keep Redis from starting, never open it up. */
	tl_buf cur = TL_BUF_INIT, next = TL_BUF_INIT;
	if (!rc) {
		rc = tl__file_read(&cur, acl_path);
		if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = TL_OK;
		}
	}
	if (!rc) {
		char hash[65], line[128];
		tl__sha256_hex(hash, password, strlen(password));
		snprintf(line, sizeof(line), "user default on #%s ~* &* +@all\n", hash);
		rc = merge_acl(&next, cur.ptr, line, hash);
	}
	tl__buf_dispose_secret(&cur);
	if (!rc)
		rc = ensure(r, p, acl_path, next.ptr, "Redis users");
	if (!rc)
		rc = ensure(r, p, conf_path, redis_conf, "Redis configuration");
	tl_buf_dispose(&next);
	free(acl_path);
	free(conf_path);
	return rc;
}
