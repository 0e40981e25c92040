/*
 * The platform module without services: the layout (modes, secrets,
 * idempotence, dry run), the compose file as Debian's docker-compose reads
 * it, certificate expiry from Caddy's storage, the doctor's server checks,
 * metrics as promtool reads them, and the image scan hook with a stand-in
 * scanner script.
 */
#include "tl_test.h"

#include "core/core.h"

#include <dirent.h>
#include <sodium.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run argv; returns the exit status, stdout into *out when not NULL. */
static int run(tl_buf *out, const char *const *argv, const char *const *env)
{
	tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	if (!r.exited || r.exit_status)
		print_message("%s: exit %d: %s\n", argv[0], r.exit_status,
		              r.err.ptr ? r.err.ptr : "");
	int st = r.exited ? r.exit_status : 128 + r.signal;
	if (out) {
		tl_buf_dispose(out);
		*out = r.out;
		r.out = (tl_buf)TL_BUF_INIT;
	}
	tl__spawn_result_dispose(&r);
	return st;
}

static bool have(const char *prog)
{
	const char *argv[] = {"sh", "-c", "command -v \"$0\" >/dev/null", prog, NULL};
	tl__spawn_opts o = {.argv = argv};
	tl__spawn_result r = {0};
	bool ok = tl__spawn(&r, NULL, &o) == TL_OK && r.exited && r.exit_status == 0;
	tl__spawn_result_dispose(&r);
	return ok;
}

static tl_ctx *ctx_for(const char *dir)
{
	tl_ctx *ctx = tl_test_ctx(0);
	char p[512];
	snprintf(p, sizeof(p), "%s/data", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DATA_DIR", p));
	snprintf(p, sizeof(p), "%s/apps", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_APPS_DIR", p));
	/* Nothing listens on port 1: a dead service, quickly. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "unix:///nonexistent.sock"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres@127.0.0.1:1/postgres"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOMAIN", "example.com"));
	return ctx;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static char *path2(const char *a, const char *b)
{
	char *p = malloc(strlen(a) + strlen(b) + 2);
	sprintf(p, "%s/%s", a, b);
	return p;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static tl_platform_report *init_root(tl_ctx *ctx, const char *root, unsigned flags)
{
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = root;
	o.flags = TL_PLATFORM_NO_DOCKER | flags;
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_init(&r, ctx, &o));
	return r;
}

static void sha256_hex(char out[65], const char *s)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void test_init_layout_modes_and_secrets(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for("/srv/t");
	tl_platform_report *r = init_root(ctx, dir, 0);
	assert_true(tl_platform_report_changed(r) > 15);
	tl_platform_report_free(r);

	const struct {
		const char *rel;
		mode_t mode;
	} want[] = {{"srv/t/data", 0755},           {"srv/t/apps", 0755},
	            {"srv/t/data/towlion", 0700},   {"srv/t/data/postgres", 0700},
	            {"srv/t/data/redis", 0700},     {"srv/t/data/s3", 0700},
	            {"srv/t/data/caddy/data", 0700}, {"srv/t/data/caddy/config", 0700},
	            {"srv/t/data/caddy/sites", 0755}, {"srv/t/data/loki", 0700},
	            {"srv/t/data/grafana", 0700},   {"srv/t/data/backups/postgres", 0700},
	            {"srv/t/data/towlion/platform.env", 0600},
	            {"srv/t/data/redis/redis.conf", 0600},
	            {"srv/t/data/redis/users.acl", 0600}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char *p = path2(dir, want[i].rel);
		if (mode_of(p) != want[i].mode)
			fail_msg("%s: mode %04o, want %04o", p, mode_of(p), want[i].mode);
		free(p);
	}
	if (geteuid() == 0) {
		struct stat st;
		char *p = path2(dir, "srv/t/data/postgres");
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_uid, 999);
		free(p);
	}
	char *envp = path2(dir, "srv/t/data/towlion/platform.env");
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, envp, 0));
	const char *keys[] = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AWS_ACCESS_KEY_ID",
	                      "AWS_SECRET_ACCESS_KEY", "GRAFANA_ADMIN_PASSWORD"};
	char *before = tl_test_read_file(envp);
	for (size_t i = 0; i < 5; i++) {
		const char *v = tl_envfile_get(env, keys[i]);
		assert_non_null(v);
		assert_int_equal(strlen(v), 32);
	}
	assert_string_not_equal(tl_envfile_get(env, "POSTGRES_PASSWORD"),
	                        tl_envfile_get(env, "REDIS_PASSWORD"));
	/* Redis keeps its users in an ACL file (app users survive a restart);
	 * the default user's password is there as its SHA-256, never in plain
	 * text, and redis.conf has no requirepass (with an aclfile it would be
	 * replaced by a passwordless default user). */
	char *rc = path2(dir, "srv/t/data/redis/redis.conf");
	char *conf = tl_test_read_file(rc);
	assert_non_null(strstr(conf, "\naclfile /data/users.acl\n"));
	assert_null(strstr(conf, "requirepass"));
	assert_null(strstr(conf, tl_envfile_get(env, "REDIS_PASSWORD")));
	free(conf);
	free(rc);
	char *aclp = path2(dir, "srv/t/data/redis/users.acl");
	char *acl = tl_test_read_file(aclp);
	char hash[65];
	sha256_hex(hash, tl_envfile_get(env, "REDIS_PASSWORD"));
	assert_non_null(strstr(acl, hash));
	assert_null(strstr(acl, tl_envfile_get(env, "REDIS_PASSWORD")));
	assert_null(strstr(acl, "nopass"));
	/* The app users the redis module saved there are kept. */
	char *with_app = tl__sprintf("%suser shop on #%s ~shop:* resetchannels &shop:* +@all\n",
	                             acl, hash);
	tl_test_write_file(aclp, with_app, 0600);
	free(acl);
	char *cf = path2(dir, "srv/t/data/caddy/Caddyfile");
	char *caddyfile = tl_test_read_file(cf);
	assert_non_null(caddyfile);
	assert_non_null(strstr(caddyfile, "import"));
	free(caddyfile);
	free(cf);

	/* Idempotent: nothing changes, the secrets stay. */
	r = init_root(ctx, dir, 0);
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);
	char *after = tl_test_read_file(envp);
	assert_string_equal(before, after);
	free(after);
	acl = tl_test_read_file(aclp);
	assert_string_equal(acl, with_app);
	free(acl);
	free(with_app);
	free(aclp);

	/* A loosened directory is tightened, a lost secret regenerated, the
	 * others kept. */
	char *pg = path2(dir, "srv/t/data/postgres");
	assert_int_equal(chmod(pg, 0755), 0);
	tl_envfile_unset(env, "GRAFANA_ADMIN_PASSWORD");
	tl_assert_ok(tl_envfile_save(env, envp, 0644));
	r = init_root(ctx, dir, 0);
	assert_true(tl_platform_report_changed(r) >= 2);
	tl_platform_report_free(r);
	assert_int_equal(mode_of(pg), 0700);
	assert_int_equal(mode_of(envp), 0600);
	tl_envfile *env2 = NULL;
	tl_assert_ok(tl_envfile_open(&env2, envp, 0));
	assert_string_equal(tl_envfile_get(env2, "POSTGRES_PASSWORD"),
	                    tl_envfile_get(env, "POSTGRES_PASSWORD"));
	assert_int_equal(strlen(tl_envfile_get(env2, "GRAFANA_ADMIN_PASSWORD")), 32);
	assert_string_equal(tl_envfile_get(env2, "GF_SECURITY_ADMIN_PASSWORD"),
	                    tl_envfile_get(env2, "GRAFANA_ADMIN_PASSWORD"));
	tl_envfile_free(env2);
	tl_envfile_free(env);
	free(before);
	free(pg);
	free(envp);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_init_dry_run_and_bad_input(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for("/srv/t");
	tl_platform_report *r = init_root(ctx, dir, TL_PLATFORM_DRY_RUN);
	assert_true(tl_platform_report_changed(r) > 15);
	/* The plan names the secrets but never their values. */
	bool saw_secret = false;
	for (size_t i = 0; i < tl_platform_report_count(r); i++) {
		const tl_platform_step *s = tl_platform_report_at(r, i);
		if (!strcmp(s->action, "secret")) {
			saw_secret = true;
			assert_string_equal(s->detail, "generated");
		}
	}
	assert_true(saw_secret);
	assert_null(tl_platform_report_at(r, tl_platform_report_count(r)));
	tl_platform_report_free(r);
	assert_int_equal(count_entries(dir), 0); /* nothing was created */

	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = "relative/path";
	tl_assert_rc(TL_EINVALID, tl_platform_init(&r, ctx, &o));
	tl_assert_error_contains("absolute");
	o.root = dir;
	o.version = 99;
	tl_assert_rc(TL_EINVALID, tl_platform_init(&r, ctx, &o));
	/* A file where a directory belongs: refused, named, nothing else made. */
	char *srv = path2(dir, "srv"), *t = path2(dir, "srv/t");
	assert_int_equal(mkdir(srv, 0755), 0);
	assert_int_equal(mkdir(t, 0755), 0);
	char *data = path2(dir, "srv/t/data");
	tl_test_write_file(data, "not a directory", 0644);
	o = (tl_platform_options)TL_PLATFORM_OPTIONS_INIT;
	o.root = dir;
	o.flags = TL_PLATFORM_NO_DOCKER;
	tl_assert_rc(TL_ECONFLICT, tl_platform_init(&r, ctx, &o));
	tl_assert_error_contains("not a directory");
	free(srv);
	free(t);
	free(data);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* docker-compose config accepts the file; returns its normalised form
 * (docker-compose 1.29 lists profiled services too: callers look at each
 * service's `profiles:` in that form). */
static char *compose_config(const char *file)
{
	tl_buf out = TL_BUF_INIT;
	const char *argv[] = {"docker-compose", "-f", file, "config", NULL};
	assert_int_equal(run(&out, argv, NULL), 0);
	return tl__buf_detach(&out);
}

static char *compose_services(const char *file)
{
	tl_buf out = TL_BUF_INIT;
	const char *argv[] = {"docker-compose", "-f", file, "config", "--services", NULL};
	assert_int_equal(run(&out, argv, NULL), 0);
	return tl__buf_detach(&out);
}

/* The normalised block of service `name` in `config` (up to the next
 * service at the same indentation). */
static char *service_block(const char *config, const char *name)
{
	char key[64];
	snprintf(key, sizeof(key), "\n  %s:\n", name);
	const char *b = strstr(config, key);
	assert_non_null(b);
	b += strlen(key);
	const char *e = b;
	while (*e && !(e[0] == '\n' && e[1] == ' ' && e[2] == ' ' && e[3] != ' '))
		e++;
	return strndup(b, (size_t)(e - b));
}

static void test_compose_file_is_valid_and_has_no_secret(void **state)
{
	if (!have("docker-compose")) {
		if (getenv("CI"))
			fail_msg("docker-compose is missing (scripts/setup installs it)");
		skip();
	}
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for("/srv/t");
	tl_platform_report_free(init_root(ctx, dir, 0));
	char *file = path2(dir, "platform.yml");
	const char *images[] = {"postgres=local/pg:test", NULL};
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = dir;
	o.images = images;
	tl_buf written = TL_BUF_INIT;
	tl_assert_ok(tl_platform_compose_write(&written, ctx, file, &o));
	assert_string_equal(written.ptr, file);
	assert_int_equal(mode_of(file), 0644);
	char *text = tl_test_read_file(file);
	assert_non_null(strstr(text, "image: \"local/pg:test\""));
	assert_non_null(strstr(text, "redis:7"));
	assert_non_null(strstr(text, "profiles: [metrics]"));
	assert_non_null(strstr(text, "env_file:"));
	assert_non_null(strstr(text, "restart: unless-stopped"));
	assert_non_null(strstr(text, "memory: 2048M"));
	/* No secret value appears in the file. */
	char *envp = path2(dir, "srv/t/data/towlion/platform.env");
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, envp, 0));
	for (size_t i = 0; i < tl_envfile_count(env); i++) {
		const char *k, *v;
		tl_assert_ok(tl_envfile_at(env, i, &k, &v));
		assert_null(strstr(text, v));
	}
	char *svcs = compose_services(file);
	const char *all[] = {"postgres", "redis", "s3", "caddy", "loki", "promtail",
	                     "grafana", "prometheus", "cadvisor", "node-exporter"};
	for (size_t i = 0; i < 10; i++)
		assert_non_null(strstr(svcs, all[i]));
	free(svcs);
	/* As docker-compose understands it: limits, restart policy, health
	 * checks, and the metrics profile on exactly the metrics services. */
	char *cfg = compose_config(file);
	for (size_t i = 0; i < 10; i++) {
		char *blk = service_block(cfg, all[i]);
		bool metrics = i >= 7;
		if ((strstr(blk, "profiles:\n    - metrics") != NULL) != metrics)
			fail_msg("%s: profile wrong:\n%s", all[i], blk);
		assert_non_null(strstr(blk, "restart: unless-stopped"));
		assert_non_null(strstr(blk, "limits:"));
		assert_non_null(strstr(blk, "memory:"));
		assert_non_null(strstr(blk, "towlion.platform: '1'"));
		if (strcmp(all[i], "promtail"))
			assert_non_null(strstr(blk, "healthcheck:"));
		if (i < 4)
			assert_non_null(strstr(blk, "volumes:"));
		free(blk);
	}
	free(cfg);

	/* The standalone file for one app, with its env file derived. */
	char *app = path2(dir, "srv/t/apps/shop");
	assert_int_equal(mkdir(app, 0755), 0);
	char *sfile = path2(dir, "shop.yml");
	o.standalone_app = "shop";
	tl_assert_ok(tl_platform_compose_write(NULL, ctx, sfile, &o));
	svcs = compose_services(sfile);
	assert_non_null(strstr(svcs, "app"));
	assert_non_null(strstr(svcs, "postgres"));
	assert_null(strstr(svcs, "grafana"));
	free(svcs);
	char *stext = tl_test_read_file(sfile);
	assert_non_null(strstr(stext, "shop.example.com"));
	assert_null(strstr(stext, tl_envfile_get(env, "POSTGRES_PASSWORD")));
	free(stext);
	char *senv = path2(dir, "srv/t/data/towlion/standalone/shop.env");
	assert_int_equal(mode_of(senv), 0600);
	char *sv = tl_test_read_file(senv);
	assert_non_null(strstr(sv, "DATABASE_URL=postgresql://postgres:"));
	free(sv);

	/* Bad input changes nothing. */
	const char *bad[] = {"nosuchservice=x:1", NULL};
	o.standalone_app = NULL;
	o.images = bad;
	char *other = path2(dir, "other.yml");
	tl_assert_rc(TL_EINVALID, tl_platform_compose_write(NULL, ctx, other, &o));
	tl_assert_error_contains("nosuchservice");
	o.images = NULL;
	o.standalone_app = "Bad_Name";
	tl_assert_rc(TL_EINVALID, tl_platform_compose_write(NULL, ctx, other, &o));
	/* Dry run: rendered, nothing written. */
	o.standalone_app = NULL;
	o.flags = TL_PLATFORM_DRY_RUN;
	tl_assert_ok(tl_platform_compose_write(NULL, ctx, other, &o));
	assert_int_not_equal(access(other, F_OK), 0);

	tl_buf_dispose(&written);
	tl_envfile_free(env);
	free(other);
	free(senv);
	free(sfile);
	free(app);
	free(envp);
	free(text);
	free(file);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* A self-signed certificate for `host` valid `days` days, in Caddy's
 * storage layout under `caddy_dir`. */
static void make_cert(const char *caddy_dir, const char *issuer, const char *host, int days)
{
	char d[1024], crt[1100], key[1100], subj[300], ds[16];
	snprintf(d, sizeof(d), "%s/data/caddy/certificates/%s/%s", caddy_dir, issuer, host);
	tl_assert_ok(tl__mkdir_p(d, 0700));
	snprintf(crt, sizeof(crt), "%s/%s.crt", d, host);
	snprintf(key, sizeof(key), "%s/%s.key", d, host);
	snprintf(subj, sizeof(subj), "/CN=%s", host);
	snprintf(ds, sizeof(ds), "%d", days);
	const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
	                      "-days", ds, "-subj", subj, NULL};
	assert_int_equal(run(NULL, argv, NULL), 0);
}

static const tl_check *find_check(const tl_doctor_report *r, const char *name)
{
	for (size_t i = 0; i < tl_doctor_report_count(r); i++)
		if (!strcmp(tl_doctor_report_at(r, i)->name, name))
			return tl_doctor_report_at(r, i);
	fail_msg("no check %s", name);
	return NULL;
}

static void test_doctor_server_checks(void **state)
{
	if (!have("openssl"))
		skip();
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for(dir);
	char *caddy = path2(dir, "data/caddy");
	tl_doctor_options o = TL_DOCTOR_OPTIONS_INIT;
	o.checks = TL_DOCTOR_SERVER;
	tl_doctor_report *r = NULL;

	/* No certificates yet: skipped. */
	tl_assert_ok(tl_doctor_run_with(&r, ctx, &o));
	assert_int_equal(tl_doctor_report_count(r), 6);
	const char *names[] = {"os", "disk", "ports", "backups", "certificates", "engine"};
	for (size_t i = 0; i < 6; i++) {
		const tl_check *c = tl_doctor_report_at(r, i);
		assert_string_equal(c->name, names[i]);
		assert_true(strlen(c->detail) > 0);
		print_message("%-12s %-4s %s\n", c->name, tl_check_status_name(c->status), c->detail);
	}
	assert_int_equal(find_check(r, "certificates")->status, TL_CHECK_SKIP);
	assert_int_equal(find_check(r, "disk")->status, TL_CHECK_OK);
	tl_doctor_report_free(r);

	/* One certificate for 90 days: fine. One for 5 days: warned, named.
	 * Caddy's own CA ("local") certificates renew themselves: ignored. */
	make_cert(caddy, "acme-v02.api.letsencrypt.org-directory", "shop.example.com", 90);
	make_cert(caddy, "local", "internal.example.com", 1);
	tl_assert_ok(tl_doctor_run_with(&r, ctx, &o));
	const tl_check *c = find_check(r, "certificates");
	assert_int_equal(c->status, TL_CHECK_OK);
	assert_non_null(strstr(c->detail, "1 certificate;"));
	tl_doctor_report_free(r);
	make_cert(caddy, "acme-v02.api.letsencrypt.org-directory", "blog.example.com", 5);
	tl_assert_ok(tl_doctor_run_with(&r, ctx, &o));
	c = find_check(r, "certificates");
	assert_int_equal(c->status, TL_CHECK_WARN);
	assert_non_null(strstr(c->detail, "blog.example.com"));
	assert_true(strlen(c->hint) > 0);
	tl_doctor_report_free(r);
	/* A threshold below the disk's use warns. */
	o.disk_warn_pct = 0.0001;
	tl_assert_ok(tl_doctor_run_with(&r, ctx, &o));
	assert_int_equal(find_check(r, "disk")->status, TL_CHECK_WARN);
	assert_int_equal(tl_doctor_report_worst(r), TL_CHECK_WARN);
	tl_doctor_report_free(r);

	/* The old entry point still runs only the six service checks. */
	tl_assert_ok(tl_doctor_run(&r, ctx));
	assert_int_equal(tl_doctor_report_count(r), 6);
	assert_string_equal(tl_doctor_report_at(r, 0)->name, "directories");
	tl_doctor_report_free(r);
	o.version = 7;
	tl_assert_rc(TL_EINVALID, tl_doctor_run_with(&r, ctx, &o));
	free(caddy);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_metrics_without_services(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = ctx_for(dir);
	tl_buf m = TL_BUF_INIT;
	tl_assert_ok(tl_metrics_render(&m, ctx, NULL));
	assert_non_null(strstr(m.ptr, "# TYPE towlion_disk_used_bytes gauge"));
	assert_non_null(strstr(m.ptr, "towlion_scrape_up{source=\"docker\"} 0"));
	assert_non_null(strstr(m.ptr, "towlion_scrape_up{source=\"postgres\"} 0"));
	assert_non_null(strstr(m.ptr, "towlion_scrape_up{source=\"disk\"} 1"));
	assert_non_null(strstr(m.ptr, "towlion_memory_used_ratio "));
	assert_int_equal(tl_error_last()->code, TL_OK);
	if (have("promtool")) {
		char *f = path2(dir, "m.prom");
		tl_test_write_file(f, m.ptr, 0644);
		const char *argv[] = {"sh", "-c", "promtool check metrics < \"$0\"", f, NULL};
		assert_int_equal(run(NULL, argv, NULL), 0);
		free(f);
	} else if (getenv("CI")) {
		fail_msg("promtool is missing (scripts/setup installs Debian's prometheus)");
	}
	tl_buf_dispose(&m);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* A stand-in for trivy: prints a trivy-like JSON report of `n_crit`
 * CRITICAL and `n_high` HIGH findings and records its arguments. */
static char *fake_scanner(const char *dir, int n_crit, int n_high, int exit_code, bool json)
{
	char *path = path2(dir, "fake-trivy");
	char script[4096];
	int len = snprintf(script, sizeof(script),
	                   "#!/bin/sh\necho \"$@\" > \"%s/args\"\necho 'scanning...' >&2\n", dir);
	if (json) {
		len += snprintf(script + len, sizeof(script) - (size_t)len,
		                "echo '2024-01-01T00:00:00Z INFO log line before the report'\n"
		                "cat <<EOF\n{\"SchemaVersion\": 2, \"ArtifactName\": \"$5\", "
		                "\"Results\": [{\"Target\": \"x\", \"Vulnerabilities\": [");
		for (int i = 0; i < n_crit + n_high + 1; i++)
			len += snprintf(script + len, sizeof(script) - (size_t)len,
			                "%s{\"VulnerabilityID\": \"CVE-%d\", \"Severity\": \"%s\"}",
			                i ? ", " : "", i,
			                i < n_crit ? "CRITICAL" : i < n_crit + n_high ? "HIGH" : "LOW");
		len += snprintf(script + len, sizeof(script) - (size_t)len, "]}]}\nEOF\n");
	}
	snprintf(script + len, sizeof(script) - (size_t)len, "exit %d\n", exit_code);
	tl_test_write_file(path, script, 0755);
	return path;
}

static void test_scan_hook(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = tl_test_ctx(0);
	char *scanner = fake_scanner(dir, 1, 2, 0, true);
	const char *argv[] = {scanner, "image", "--format", "json", "{image}", NULL};
	tl_scan_options o = TL_SCAN_OPTIONS_INIT;
	o.argv = argv;
	tl_scan_result r;
	memset(&r, 0xff, sizeof(r));

	/* warn: findings counted, the image may go. */
	tl_assert_ok(tl_platform_scan_image(&r, ctx, "shop:r1", &o));
	assert_int_equal(r.parsed, 1);
	assert_int_equal(r.critical, 1);
	assert_int_equal(r.high, 2);
	assert_int_equal(r.low, 1);
	assert_int_equal(r.blocked, 0);
	char *args_path = path2(dir, "args");
	char *args = tl_test_read_file(args_path);
	assert_string_equal(args, "image --format json shop:r1\n");
	free(args);

	/* block: refused, with the counts. */
	o.policy = TL_SCAN_BLOCK;
	tl_assert_rc(TL_ECONFLICT, tl_platform_scan_image(&r, ctx, "shop:r1", &o));
	tl_assert_error_contains("1 critical and 2 high");
	assert_int_equal(r.blocked, 1);
	free(scanner);

	/* Only low findings: passes even under block. */
	scanner = fake_scanner(dir, 0, 0, 0, true);
	argv[0] = scanner;
	tl_assert_ok(tl_platform_scan_image(&r, ctx, "shop:r2", &o));
	assert_int_equal(r.blocked, 0);
	assert_int_equal(r.critical + r.high, 0);
	free(scanner);

	/* No JSON: the exit status decides. */
	scanner = fake_scanner(dir, 0, 0, 1, false);
	argv[0] = scanner;
	tl_assert_rc(TL_ECONFLICT, tl_platform_scan_image(&r, ctx, "shop:r3", &o));
	assert_int_equal(r.parsed, 0);
	assert_int_equal(r.exit_status, 1);
	free(scanner);
	scanner = fake_scanner(dir, 0, 0, 0, false);
	argv[0] = scanner;
	tl_assert_ok(tl_platform_scan_image(&r, ctx, "shop:r3", &o));
	free(scanner);

	/* Bad input: refused before anything runs. */
	argv[0] = "/nonexistent/trivy";
	tl_assert_rc(TL_ENOTFOUND, tl_platform_scan_image(&r, ctx, "shop:r4", &o));
	tl_assert_rc(TL_EINVALID, tl_platform_scan_image(&r, ctx, "-rf", &o));
	tl_assert_rc(TL_EINVALID, tl_platform_scan_image(&r, ctx, "", &o));
	o.argv = NULL;
	tl_assert_rc(TL_EINVALID, tl_platform_scan_image(&r, ctx, "shop:r4", &o));
	free(args_path);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* The towlion command: --dry-run on every mutating platform verb plans
 * and changes nothing; --json prints one document. */
static int cli(tl_buf *out, const char *dir, const char *const *args)
{
	const char *argv[32] = {TL_TEST_BINARY_DIR "/towlion", "--config", "/dev/null"};
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char data[512], state[512];
	snprintf(data, sizeof(data), "TOWLION_DATA_DIR=%s/data", dir);
	snprintf(state, sizeof(state), "TOWLION_STATE_DIR=%s/state", dir);
	const char *env[] = {data, state, "TOWLION_DOCKER_HOST=unix:///nonexistent.sock",
	                     "TOWLION_PG_URL=postgresql://postgres@127.0.0.1:1/postgres",
	                     "TOWLION_APPS_DIR=/srv/apps", NULL};
	return run(out, argv, env);
}

static void test_cli_dry_runs_change_nothing(void **state)
{
	char *dir = tl_test_tmpdir();
	char *trial = path2(dir, "trial");
	assert_int_equal(mkdir(trial, 0755), 0);
	tl_buf out = TL_BUF_INIT;
	const char *init[] = {"--json", "--dry-run", "platform", "init", "--root", trial,
	                      "--no-docker", NULL};
	assert_int_equal(cli(&out, dir, init), 0);
	json_error_t jerr;
	json_t *doc = json_loads(out.ptr, 0, &jerr);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "dry_run")));
	assert_true(json_integer_value(json_object_get(doc, "changed")) > 15);
	json_decref(doc);
	assert_int_equal(count_entries(trial), 0);

	char *yml = path2(dir, "p.yml");
	const char *compose[] = {"--dry-run", "platform", "compose", "-o", yml, NULL};
	assert_int_equal(cli(&out, dir, compose), 0);
	assert_non_null(strstr(out.ptr, "would write"));
	assert_int_not_equal(access(yml, F_OK), 0);

	const char *alerts[] = {"--json", "--dry-run", "alerts", "check", "--disk-pct", "0.0001",
	                        NULL};
	assert_int_equal(cli(&out, dir, alerts), 0);
	doc = json_loads(out.ptr, 0, &jerr);
	assert_non_null(doc);
	assert_true(json_integer_value(json_object_get(doc, "firing")) >= 1);
	json_decref(doc);
	char *statef = path2(dir, "state/alerts.json");
	assert_int_not_equal(access(statef, F_OK), 0);

	/* Before init: not found (exit 3), with the way out. */
	const char *up[] = {"--dry-run", "platform", "up", "--root", trial, NULL};
	assert_int_equal(cli(&out, dir, up), 3);
	/* After init, Docker unreachable: exit 5 (unavailable), nothing done. */
	const char *real_init[] = {"-q", "platform", "init", "--root", trial, "--no-docker", NULL};
	assert_int_equal(cli(&out, dir, real_init), 0);
	assert_int_equal(cli(&out, dir, up), 5);
	/* Usage errors: exit 2. */
	const char *bad[] = {"alerts", "check", "--disk-pct", "lots", NULL};
	assert_int_equal(cli(&out, dir, bad), 2);

	const char *metrics[] = {"metrics", NULL};
	assert_int_equal(cli(&out, dir, metrics), 0);
	assert_non_null(strstr(out.ptr, "# TYPE towlion_scrape_up gauge"));
	tl_buf_dispose(&out);
	free(statef);
	free(yml);
	free(trial);
	tl_test_rmdir(dir);
}

static void test_service_table(void **state)
{
	const char *img = NULL;
	size_t n = 0;
	while (tl_platform_service_at(n, &img)) {
		assert_non_null(img);
		assert_non_null(strchr(img, ':')); /* pinned tags */
		assert_null(strstr(img, ":latest"));
		n++;
	}
	assert_int_equal(n, 10);
	assert_string_equal(tl_platform_service_at(0, NULL), "postgres");
	tl_platform_options o;
	tl_assert_ok(tl_platform_options_init(&o, TL_PLATFORM_OPTIONS_VERSION));
	tl_assert_rc(TL_EINVALID, tl_platform_options_init(&o, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_layout_modes_and_secrets),
		cmocka_unit_test(test_init_dry_run_and_bad_input),
		cmocka_unit_test(test_compose_file_is_valid_and_has_no_secret),
		cmocka_unit_test(test_doctor_server_checks),
		cmocka_unit_test(test_metrics_without_services),
		cmocka_unit_test(test_scan_hook),
		cmocka_unit_test(test_cli_dry_runs_change_nothing),
		cmocka_unit_test(test_service_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
