/* tl_server_bootstrap: the engine. Every step is checked, changed only
 * when its state differs, and checked again; a dry run only checks. */
#include "server_int.h"
#include "core/config.h"
#include "s3/s3_internal.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tl_server_report {
	tl_server_step *steps;
	size_t n;
	tl_server_secret *secrets;
	size_t nsecrets;
};

/* The size of each version of tl_server_bootstrap_options (options.h). */
static const size_t bootstrap_options_sizes[2] = {
	offsetof(tl_server_bootstrap_options, package_sources), /* 1 */
	sizeof(tl_server_bootstrap_options),                    /* 2: package_sources */
};

int tl_server_bootstrap_options_init(tl_server_bootstrap_options *opts, unsigned int version)
{
	tl_server_bootstrap_options def = TL_SERVER_BOOTSTRAP_OPTIONS_INIT;
	return TL__OPTIONS_INIT_GROWN(opts, version, def, bootstrap_options_sizes,
	                              TL_SERVER_BOOTSTRAP_OPTIONS_VERSION,
	                              "tl_server_bootstrap_options");
}

size_t tl_server_report_count(const tl_server_report *r) { return r ? r->n : 0; }

const tl_server_step *tl_server_report_at(const tl_server_report *r, size_t i)
{
	return r && i < r->n ? &r->steps[i] : NULL;
}

size_t tl_server_report_changed(const tl_server_report *r)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		n += r->steps[i].status == TL_SERVER_CHANGED ||
		     r->steps[i].status == TL_SERVER_WOULD_CHANGE;
	return n;
}

size_t tl_server_report_secret_count(const tl_server_report *r) { return r ? r->nsecrets : 0; }

const tl_server_secret *tl_server_report_secret_at(const tl_server_report *r, size_t i)
{
	return r && i < r->nsecrets ? &r->secrets[i] : NULL;
}

void tl_server_report_free(tl_server_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free((char *)r->steps[i].detail);
	for (size_t i = 0; i < r->nsecrets; i++) {
		free((char *)r->secrets[i].name);
		free((char *)r->secrets[i].value);
	}
	free(r->steps);
	free(r->secrets);
	free(r);
}

static int report_add(tl_server_report *r, const char *name, int status, const char *detail,
                      double ms)
{
	tl_server_step *n = realloc(r->steps, (r->n + 1) * sizeof(*n));
	if (!n)
		return tl__error_oom();
	r->steps = n;
	char *d = tl__strdup(detail ? detail : "");
	if (!d)
		return TL_ENOMEM;
	r->steps[r->n++] = (tl_server_step){name, status, d, ms};
	return TL_OK;
}

static int secret_add(tl_server_report *r, const char *name, const char *value)
{
	tl_server_secret *n = realloc(r->secrets, (r->nsecrets + 1) * sizeof(*n));
	if (!n)
		return tl__error_oom();
	r->secrets = n;
	char *k = tl__strdup(name), *v = tl__strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return TL_ENOMEM;
	}
	r->secrets[r->nsecrets++] = (tl_server_secret){k, v};
	return TL_OK;
}

/* ---- options: everything is checked before anything is done ------------- */

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_user_name(const char *u)
{
	size_t n = strlen(u);
	bool ok = n >= 1 && n <= 32 && ((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_');
	for (size_t i = 1; ok && i < n; i++)
		ok = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= '0' && u[i] <= '9') || u[i] == '_' ||
		     u[i] == '-';
	return ok ? TL_OK
	          : tl__error_bad_input("deploy user", u,
	                                "a Debian user name: [a-z_][a-z0-9_-]{0,31}");
}

/* One public key line, without authorized_keys options (command=, from=):
 * "TYPE BASE64 [comment]". */
static int check_public_key(const char *k)
{
	static const char *const types[] = {"ssh-ed25519 ", "ssh-rsa ", "ecdsa-sha2-nistp256 ",
	                                    "ecdsa-sha2-nistp384 ", "ecdsa-sha2-nistp521 ",
	                                    "sk-ssh-ed25519@openssh.com ",
	                                    "sk-ecdsa-sha2-nistp256@openssh.com "};
	bool typed = false;
	for (size_t i = 0; i < TL__ARRAY_SIZE(types); i++)
		typed |= !strncmp(k, types[i], strlen(types[i]));
	if (!typed || has_ctl(k) || strlen(k) > 16384)
		return tl__error_bad_input("deploy key", k,
		                           "one OpenSSH public key line (\"ssh-ed25519 AAAA... "
		                           "comment\"), without options");
	return TL_OK;
}

static int check_config_line(const char *line)
{
	const char *eq = strchr(line, '=');
	if (!eq || has_ctl(line))
		return tl__error_bad_input("config", line, "KEY=VALUE on one line");
	char key[128];
	size_t kl = (size_t)(eq - line);
	if (kl == 0 || kl >= sizeof(key))
		return tl__error_bad_input("config", line, "KEY=VALUE with a TOWLION_ key");
	memcpy(key, line, kl);
	key[kl] = '\0';
	if (tl__config_index(key) < 0)
		return tl__error_bad_input("config key", key,
		                           "not a configuration key (docs/configuration.md)");
	return TL_OK;
}

/* The SHA-256 of each local file, which must be readable and regular;
 * `suffix` (".deb") when its name must end so. */
static int hash_files(char ***out, tl_ctx *ctx, const char *const *paths, const char *what,
                      const char *suffix)
{
	int rc = TL_OK;
	for (size_t i = 0; !rc && paths && paths[i]; i++) {
		const char *p = paths[i];
		size_t l = strlen(p);
		if (suffix && (l < strlen(suffix) || strcmp(p + l - strlen(suffix), suffix)))
			return tl__error_bad_input(what, p, "the file name must end in .deb");
		if (strchr(p, '\n'))
			return tl__error_bad_input(what, p, "a file name without a newline");
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0)
			return tl__error_os(errno == ENOENT ? TL_ENOTFOUND : TL_EIO, errno,
			                    "cannot open the %s %s", what, p);
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			return tl__error_bad_input(what, p, "not a regular file");
		}
		char sha[65];
		unsigned char md5[16];
		rc = tl__s3_hash_file_range(sha, md5, ctx, fd, 0, (uint64_t)st.st_size, p);
		close(fd);
		if (!rc)
			rc = tl__strv_push(out, sha);
	}
	return rc;
}

static int check_list(const char *const *v, int (*check)(const char *))
{
	int rc = TL_OK;
	for (size_t i = 0; !rc && v && v[i]; i++)
		rc = check(v[i]);
	return rc;
}

static int check_platform_image(const char *v)
{
	const char *eq = strchr(v, '=');
	if (!eq || eq == v || !eq[1] || has_ctl(v) || strchr(v, ' '))
		return tl__error_bad_input("platform image", v, "SERVICE=IMAGE");
	return TL_OK;
}

/* A package the server takes itself: an absolute path on the server (a
 * .deb or a directory), or an http(s) URL of one .deb. It reaches the
 * server's shell only as an argument, never as code; what is refused here
 * is what the scripts could misread: a relative path (taken from
 * bootstrap's working directory), "..", a URL with a query or fragment
 * (its file name would be a guess) or one not naming a .deb. */
static int check_package_source(const char *v)
{
	size_t n = strlen(v);
	bool url = !strncmp(v, "https://", 8) || !strncmp(v, "http://", 7);
	const char *last = strrchr(v, '/');
	bool ok = n > 1 && n <= 2048 && !has_ctl(v) && !strchr(v, ' ');
	if (ok && url) {
		const char *host = strstr(v, "//") + 2, *path = strchr(host, '/');
		ok = path && path > host && !strpbrk(v, "?#") && strlen(last + 1) > 4 &&
		     !strcmp(v + n - 4, ".deb");
	} else if (ok) {
		ok = v[0] == '/' && !strstr(v, "/../") && (n < 3 || strcmp(v + n - 3, "/..") != 0);
	}
	return ok ? TL_OK
	          : tl__error_bad_input("package source", v,
	                                "an absolute path on the server (a .deb or a directory of "
	                                "them) or an http(s):// URL ending in .deb, without "
	                                "spaces, query or \"..\"");
}

static int setup(tl__srv *s, tl_ctx *ctx, const tl_ssh_options *ssh,
                 const tl_server_bootstrap_options *opts)
{
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->ssh_opts = ssh;
	s->o = *opts;
	s->dry_run = opts->flags & TL_SERVER_DRY_RUN;
	if (!s->o.deploy_user)
		s->o.deploy_user = "towlion";
	if (!s->o.min_disk_mb)
		s->o.min_disk_mb = 10240;
	if (!s->o.min_memory_mb)
		s->o.min_memory_mb = 900;
	if (!s->o.timeout_ms)
		s->o.timeout_ms = 1800 * 1000L;
	s->ssh_port = opts->ssh_port ? opts->ssh_port : ssh->port ? ssh->port : 22;
	snprintf(s->host, sizeof(s->host), "%s", ssh->host);
	if (s->ssh_port < 1 || s->ssh_port > 65535 || s->o.min_disk_mb < 0 ||
	    s->o.min_memory_mb < 0 || s->o.timeout_ms < 0 || s->o.timeout_ms > INT32_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "tl_server_bootstrap: a port, size or timeout out of range");
	int rc;
	if ((rc = check_user_name(s->o.deploy_user)))
		return rc;
	if (s->o.deploy_key && (rc = check_public_key(s->o.deploy_key)))
		return rc;
	if ((rc = check_list(s->o.config, check_config_line)) ||
	    (rc = check_list(s->o.platform_images, check_platform_image)) ||
	    (rc = check_list(s->o.package_sources, check_package_source)))
		return rc;
	if ((rc = hash_files(&s->deb_sha, ctx, s->o.packages, "package", ".deb")))
		return rc;
	return hash_files(&s->image_sha, ctx, s->o.images, "image archive", NULL);
}

/* ---- the run ------------------------------------------------------------- */

/* Is the login user root? Else every script goes through sudo -n. */
static int who_am_i(tl__srv *s)
{
	const char *argv[] = {"id", "-u", NULL};
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = TL_SSH_OUT_BUFFER;
	eo.stderr_mode = TL_SSH_OUT_BUFFER;
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl_ssh_exec(&res, s->ssh, argv, &eo);
	if (rc == TL_OK && res.exit_status != 0)
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS, "%s: `id -u` failed", s->host);
	if (rc == TL_OK)
		s->sudo = strncmp(res.out.ptr ? res.out.ptr : "", "0\n", 2) != 0;
	tl_ssh_result_dispose(&res);
	if (rc == TL_OK && s->sudo) {
		static const char sh[] = "true";
		tl_ssh_result r2 = TL_SSH_RESULT_INIT;
		rc = tl__srv_sh(s, &r2, true, sh, NULL, NULL);
		if (rc == TL_OK && r2.exit_status != 0)
			rc = tl__error_set(TL_EAUTH, TL_ERRCLASS_PROCESS,
			                   "%s: bootstrap needs root: log in as root, or as a user "
			                   "with password-less sudo (`sudo -n true` failed)",
			                   s->host);
		tl_ssh_result_dispose(&r2);
	}
	return rc;
}

/* One step: check; change and check again; or, in a dry run, say what
 * would change. After a step that would change, a later check may fail
 * only because that change is not there yet: it is reported as a change
 * that depends on the ones before. */
static int run_step(tl__srv *s, tl_server_report *r, const tl__srv_step *st, bool *pending)
{
	char ev[64];
	snprintf(ev, sizeof(ev), "server.%s", st->name);
	int64_t t0 = tl__clock_ms();
	int rc = tl__step(s->ctx, ev, s->host, "%s", st->name);
	if (rc)
		return rc;
	if (st->wanted && !st->wanted(s))
		return report_add(r, st->name, TL_SERVER_SKIPPED, "not asked for", (double)(tl__clock_ms() - t0));
	tl__buf_set(&s->why, "", 0);
	rc = st->check(s);
	if (rc < 0 && s->dry_run && *pending && rc != TL_EUSER) {
		char msg[600];
		snprintf(msg, sizeof(msg), "after the changes above (now: %s)",
		         tl_error_last()->message);
		return report_add(r, st->name, TL_SERVER_WOULD_CHANGE, msg, (double)(tl__clock_ms() - t0));
	}
	if (rc < 0)
		return rc;
	if (rc == TL__SRV_OK)
		return report_add(r, st->name, TL_SERVER_UNCHANGED, s->why.ptr, (double)(tl__clock_ms() - t0));
	if (!st->apply)
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_NONE, "%s: %s: %s", s->host,
		                     st->name, s->why.ptr ? s->why.ptr : "not as wanted");
	if (s->dry_run) {
		*pending = true;
		return report_add(r, st->name, TL_SERVER_WOULD_CHANGE, s->why.ptr, (double)(tl__clock_ms() - t0));
	}
	char *what = tl__strdup(s->why.ptr ? s->why.ptr : "");
	if (!what)
		return TL_ENOMEM;
	tl__log(s->ctx, TL_LOG_INFO, "%s: %s", st->name, what);
	rc = st->apply(s);
	if (rc == TL_OK) {
		rc = st->check(s);
		if (rc == TL__SRV_CHANGE)
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_NONE,
			                   "%s: %s: still not as wanted after the change: %s", s->host,
			                   st->name, s->why.ptr ? s->why.ptr : "");
	}
	if (rc == TL_OK)
		rc = report_add(r, st->name, TL_SERVER_CHANGED, what, (double)(tl__clock_ms() - t0));
	free(what);
	return rc;
}

/* What the app repository's GitHub Actions secrets get. */
static int secrets(tl__srv *s, tl_server_report *r)
{
	static const char sh[] = "cat /etc/ssh/ssh_host_ed25519_key.pub";
	tl_ssh_result res = TL_SSH_RESULT_INIT;
	int rc = tl__srv_sh(s, &res, true, sh, NULL, NULL);
	tl_buf kh = TL_BUF_INIT;
	int port = s->ssh_opts->port ? s->ssh_opts->port : 22;
	if (rc == TL_OK && (res.exit_status != 0 || !res.out.size))
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS,
		                   "%s: cannot read /etc/ssh/ssh_host_ed25519_key.pub", s->host);
	if (rc == TL_OK) {
		/* "TYPE KEY [comment]" -> "HOST TYPE KEY" ("[HOST]:PORT" off 22). */
		char *line = res.out.ptr;
		line[strcspn(line, "\n")] = '\0';
		char *sp = strchr(line, ' ');
		char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
		if (sp2)
			*sp2 = '\0';
		rc = port == 22 ? tl__buf_printf(&kh, "%s %s", s->host, line)
		                : tl__buf_printf(&kh, "[%s]:%d %s", s->host, port, line);
	}
	const char *user = s->o.deploy_key ? s->o.deploy_user
	                   : s->ssh_opts->user ? s->ssh_opts->user
	                                       : "root";
	/* What `towlion --host USER@SERVER_HOST` needs: the port with it when
	 * sshd is not on 22, as in the known_hosts line. */
	char *host = port == 22 ? tl__strdup(s->host)
	             : strchr(s->host, ':') ? tl__sprintf("[%s]:%d", s->host, port)
	                                   : tl__sprintf("%s:%d", s->host, port);
	if (!rc && !host)
		rc = TL_ENOMEM;
	if (!rc)
		rc = secret_add(r, "SERVER_HOST", host);
	free(host);
	if (!rc)
		rc = secret_add(r, "SERVER_USER", user);
	if (!rc)
		rc = secret_add(r, "SERVER_KNOWN_HOSTS", kh.ptr);
	if (!rc)
		rc = secret_add(r, "SERVER_SSH_KEY",
		                s->o.deploy_key ? "the private key of the deploy key given"
		                                : "the private key you logged in with");
	tl_buf_dispose(&kh);
	tl_ssh_result_dispose(&res);
	return rc;
}

static void cleanup(tl__srv *s)
{
	tl_ssh_free(s->ssh);
	tl_buf_dispose(&s->why);
	tl__strv_free(s->deb_sha);
	tl__strv_free(s->image_sha);
}

int tl_server_bootstrap(tl_server_report **out, tl_ctx *ctx, const tl_ssh_options *ssh,
                        const tl_server_bootstrap_options *opts)
{
	TL__CHECK_ARG(out && ctx && ssh && ssh->host);
	tl_server_bootstrap_options copy = TL_SERVER_BOOTSTRAP_OPTIONS_INIT;
	int vrc = TL__OPTIONS_UPGRADE(&copy, opts, bootstrap_options_sizes,
	                              TL_SERVER_BOOTSTRAP_OPTIONS_VERSION,
	                              "tl_server_bootstrap_options");
	if (vrc)
		return vrc;
	tl__srv s;
	int rc = setup(&s, ctx, ssh, &copy);
	tl_server_report *r = rc ? NULL : calloc(1, sizeof(*r));
	if (!rc && !r)
		rc = tl__error_oom();
	if (!rc)
		rc = tl_ssh_connect(&s.ssh, ctx, ssh);
	if (!rc)
		rc = who_am_i(&s);
	bool pending = false;
	for (size_t i = 0; !rc && i < tl__srv_nsteps; i++)
		rc = run_step(&s, r, &tl__srv_steps[i], &pending);
	if (!rc)
		rc = secrets(&s, r);
	cleanup(&s);
	if (rc) {
		tl_server_report_free(r);
		return rc;
	}
	*out = r;
	return TL_OK;
}
