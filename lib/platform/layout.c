/*
 * `platform init`: the directories, the platform's secrets, the main
 * Caddyfile, the collectors' configuration and the Docker network.
 * Idempotent: a second run changes nothing and says so.
 *
 * Ownership: the official postgres and redis images drop to uid/gid 999,
 * grafana runs as 472, loki as 10001 and prometheus as nobody (65534).
 * Their data directories get those owners when we run as root, so the
 * containers can write them without running as root; without root the
 * chown is reported as skipped (a trial run under --root as a user).
 */
#include "platform_int.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "towlion/envfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_LEN 32

typedef struct {
	const char *rel; /* under the data dir; "@apps", "@state", "@caddy..." */
	mode_t mode;
	int uid;         /* -1: whoever runs init */
} dir_spec;

static const dir_spec dirs[] = {
	{"", 0755, -1},
	{"@apps", 0755, -1},
	{"@state", 0700, -1},
	{"postgres", 0700, 999},
	{"redis", 0700, 999},
	{"s3", 0700, -1},
	{"@caddy", 0755, -1},
	{"@caddy/data", 0700, -1},   /* TLS private keys */
	{"@caddy/config", 0700, -1},
	{"@caddy/sites", 0755, -1},
	{"loki", 0700, 10001},
	{"promtail", 0755, -1},
	{"grafana", 0700, 472},
	{"prometheus", 0755, -1},
	{"prometheus/config", 0755, -1},
	{"prometheus/data", 0700, 65534},
	{"@backup", 0700, -1},
};

static char *dir_path(const tl__plat *p, const char *rel)
{
	if (!strcmp(rel, "@apps"))
		return tl__strdup(p->apps);
	if (!strcmp(rel, "@state"))
		return tl__strdup(p->state);
	if (!strcmp(rel, "@backup"))
		return tl__strdup(p->backup);
	if (!strncmp(rel, "@caddy", 6))
		return rel[6] ? tl__path_join(p->caddy, rel + 7) : tl__strdup(p->caddy);
	return *rel ? tl__path_join(p->data, rel) : tl__strdup(p->data);
}

static int ensure_dir(tl_platform_report *r, const tl__plat *p, const char *path,
                      mode_t mode, int uid)
{
	bool dry = p->flags & TL_PLATFORM_DRY_RUN;
	struct stat st;
	int rc;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return tl__error_os(TL_EIO, errno, "cannot look at %s", path);
		if (!dry) {
			if ((rc = tl__mkdir_p(path, mode)))
				return rc;
			if (chmod(path, mode) != 0) /* past the umask */
				return tl__error_os(TL_EIO, errno, "cannot set the mode of %s", path);
		}
		if ((rc = tl__plat_step(r, "mkdir", path, 1, "%04o", (unsigned)mode)))
			return rc;
		st.st_mode = S_IFDIR | mode;
		st.st_uid = geteuid();
		st.st_gid = getegid();
	} else if (!S_ISDIR(st.st_mode)) {
		return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_INPUT,
		                     "%s exists and is not a directory; move it away and run "
		                     "`towlion platform init` again",
		                     path);
	} else if (st.st_mode & 07777 & ~mode) {
		/* Looser than it should be: tighten. A stricter mode is the
		 * operator's choice and stays. */
		mode_t m = st.st_mode & 07777 & mode;
		if (!dry && chmod(path, m) != 0)
			return tl__error_os(TL_EIO, errno, "cannot set the mode of %s", path);
		if ((rc = tl__plat_step(r, "chmod", path, 1, "%04o -> %04o",
		                        (unsigned)(st.st_mode & 07777), (unsigned)m)))
			return rc;
	}
	if (uid < 0 || (st.st_uid == (uid_t)uid && st.st_gid == (gid_t)uid))
		return TL_OK;
	if (geteuid() != 0)
		return tl__plat_step(r, "chown", path, 0, "skipped: uid %d needs root", uid);
	if (!dry && chown(path, (uid_t)uid, (gid_t)uid) != 0)
		return tl__error_os(TL_EIO, errno, "cannot give %s to uid %d", path, uid);
	return tl__plat_step(r, "chown", path, 1, "uid/gid %d", uid);
}

/* Generated secrets; GF_SECURITY_ADMIN_PASSWORD mirrors the Grafana one
 * under the name Grafana's image reads. */
static const char *const secret_keys[] = {"POSTGRES_PASSWORD", "REDIS_PASSWORD",
                                          "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "GRAFANA_ADMIN_PASSWORD"};

static int ensure_env(tl_platform_report *r, const tl__plat *p, tl_envfile **out)
{
	bool dry = p->flags & TL_PLATFORM_DRY_RUN;
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, p->env_file, TL_ENVFILE_CREATE);
	if (rc)
		return rc;
	bool changed = false;
	char secret[SECRET_LEN + 1];
	for (size_t i = 0; i < TL__ARRAY_SIZE(secret_keys) && rc == TL_OK; i++) {
		const char *k = secret_keys[i];
		const char *v = tl_envfile_get(env, k);
		if (v && *v) {
			rc = tl__plat_step(r, "secret", k, 0, "kept");
			continue;
		}
		if ((rc = tl__secret_generate(secret, SECRET_LEN)))
			break;
		if (!strcmp(k, "AWS_ACCESS_KEY_ID"))
			memcpy(secret, "towlion-", 8); /* a recognisable admin key */
		if ((rc = tl_envfile_set(env, k, secret)) == TL_OK)
			rc = tl__plat_step(r, "secret", k, 1, "generated");
		changed = true;
	}
	memset(secret, 0, sizeof(secret));
	const char *g = tl_envfile_get(env, "GRAFANA_ADMIN_PASSWORD");
	const char *gf = tl_envfile_get(env, "GF_SECURITY_ADMIN_PASSWORD");
	if (rc == TL_OK && g && (!gf || strcmp(g, gf))) {
		changed = true;
		rc = tl_envfile_set(env, "GF_SECURITY_ADMIN_PASSWORD", g);
	}
	struct stat st;
	bool loose = stat(p->env_file, &st) == 0 && (st.st_mode & 0077);
	if (rc == TL_OK && (changed || loose)) {
		if (!dry)
			rc = tl_envfile_save(env, p->env_file, 0600);
		if (rc == TL_OK)
			rc = tl__plat_step(r, "write", p->env_file, 1, "0600, secrets %s",
			                   changed ? "added" : "unchanged (mode fixed)");
	} else if (rc == TL_OK) {
		rc = tl__plat_step(r, "write", p->env_file, 0, "up to date");
	}
	if (rc)
		tl_envfile_free(env);
	else
		*out = env;
	return rc;
}

/* Write `text` to `path` when its content differs (mode, owner uid). */
static int ensure_file(tl_platform_report *r, const tl__plat *p, const char *path,
                       const char *text, mode_t mode, int uid, bool keep_existing,
                       bool secret)
{
	bool dry = p->flags & TL_PLATFORM_DRY_RUN;
	tl_buf cur = TL_BUF_INIT;
	int rc = tl__file_read(&cur, path);
	if (rc && rc != TL_ENOTFOUND)
		return rc;
	bool exists = rc == TL_OK;
	bool same = exists && cur.size == strlen(text) && !memcmp(cur.ptr, text, cur.size);
	if (secret)
		tl__buf_dispose_secret(&cur);
	else
		tl_buf_dispose(&cur);
	if (same || (exists && keep_existing))
		return tl__plat_step(r, "write", path, 0, exists && !same ? "kept" : "up to date");
	if (!dry && (rc = tl__file_write_atomic(path, text, strlen(text), mode)))
		return rc;
	if (!dry && uid >= 0 && geteuid() == 0 && chown(path, (uid_t)uid, (gid_t)uid) != 0)
		return tl__error_os(TL_EIO, errno, "cannot give %s to uid %d", path, uid);
	return tl__plat_step(r, "write", path, 1, "%04o%s", (unsigned)mode,
	                     exists ? ", updated" : "");
}

static const char prometheus_yml[] =
	"# Written by `towlion platform init` (kept once it exists).\n"
	"global:\n  scrape_interval: 30s\n"
	"scrape_configs:\n"
	"  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:9090']\n"
	"  - job_name: node\n    static_configs:\n      - targets: ['node-exporter:9100']\n"
	"  - job_name: cadvisor\n    static_configs:\n      - targets: ['cadvisor:8080']\n";

static const char promtail_yml[] =
	"# Written by `towlion platform init` (kept once it exists).\n"
	"server:\n  http_listen_port: 9080\n  grpc_listen_port: 0\n"
	"positions:\n  filename: /tmp/positions.yaml\n"
	"clients:\n  - url: http://loki:3100/loki/api/v1/push\n"
	"scrape_configs:\n"
	"  - job_name: containers\n    static_configs:\n      - targets: [localhost]\n"
	"        labels:\n          job: containers\n"
	"          __path__: /var/lib/docker/containers/*/*-json.log\n"
	"  - job_name: system\n    static_configs:\n      - targets: [localhost]\n"
	"        labels:\n          job: varlogs\n          __path__: /var/log/*.log\n";

/* The "\tadmin ..." line of a main Caddyfile's text ("" when none). */
static void admin_line(char *out, size_t cap, const char *text)
{
	const char *a = text ? strstr(text, "\n\tadmin ") : NULL;
	*out = '\0';
	if (a)
		snprintf(out, cap, "%.*s", (int)strcspn(a + 2, "\n"), a + 2);
}

/* An existing main Caddyfile is the routing module's and stays; but one
 * written before towlion.conf named the admin socket would leave Caddy's
 * admin API where towlion no longer looks: say so, and how to mend it. */
static int caddyfile_admin_kept(tl_platform_report *r, tl_ctx *ctx, const char *path)
{
	tl_buf cur = TL_BUF_INIT, want = TL_BUF_INIT;
	char have_line[512], want_line[512];
	int rc = tl__file_read(&cur, path);
	if (rc == TL_OK)
		rc = tl_caddy_render_main(&want, ctx, NULL);
	if (rc != TL_OK) {
		/* Only a hint: what cannot be compared is kept as it was. */
		tl_error_clear();
		rc = tl__plat_step(r, "write", path, 0, "kept (the routing module owns it)");
	} else {
		admin_line(have_line, sizeof(have_line), cur.ptr);
		admin_line(want_line, sizeof(want_line), want.ptr);
		if (!strcmp(have_line, want_line))
			rc = tl__plat_step(r, "write", path, 0, "kept (the routing module owns it)");
		else
			rc = tl__plat_step(r, "write", path, 0,
			                   "kept, but its \"%s\" is not the configured \"%s\": run "
			                   "`towlion route init` to rewrite it",
			                   have_line, want_line);
	}
	tl_buf_dispose(&cur);
	tl_buf_dispose(&want);
	return rc;
}

static int write_caddyfile(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p)
{
	char *path = tl__path_join(p->caddy, "Caddyfile");
	if (!path)
		return TL_ENOMEM;
	struct stat st;
	int rc = TL_OK;
	if (stat(path, &st) == 0) {
		rc = caddyfile_admin_kept(r, ctx, path);
	} else if (p->flags & TL_PLATFORM_DRY_RUN) {
		rc = tl__plat_step(r, "write", path, 1, "main Caddyfile");
	} else if (!*p->root) {
		if ((rc = tl_caddy_write_main(ctx, NULL)) == TL_OK)
			rc = tl__plat_step(r, "write", path, 1, "main Caddyfile");
	} else {
		/* Under a trial root the context's TOWLION_CADDY_DIR is not the
		 * one to write: render, and write under the root ourselves. */
		tl_buf text = TL_BUF_INIT;
		if ((rc = tl_caddy_render_main(&text, ctx, NULL)) == TL_OK &&
		    (rc = tl__file_write_atomic(path, text.ptr, text.size, 0644)) == TL_OK)
			rc = tl__plat_step(r, "write", path, 1, "main Caddyfile");
		tl_buf_dispose(&text);
	}
	free(path);
	return rc;
}

static int ensure_network(tl_platform_report *r, tl_ctx *ctx, const tl__plat *p)
{
	const char *net = tl__cfg(ctx, "TOWLION_NETWORK");
	if (p->flags & TL_PLATFORM_NO_DOCKER)
		return tl__plat_step(r, "network", net, 0, "skipped (--no-docker)");
	if (p->flags & TL_PLATFORM_DRY_RUN)
		return tl__plat_step(r, "network", net, 0, "would make sure it exists");
	tl_docker *d = NULL;
	int rc = tl_docker_open(&d, ctx);
	if (rc) {
		tl__error_prefix("platform init: the Docker network %s (use --no-docker for a "
		                 "trial run without Docker)",
		                 net);
		return rc;
	}
	int created = 0;
	const char *labels[] = {"towlion.platform=1", NULL};
	if ((rc = tl_docker_network_ensure(&created, d, net, labels)) == TL_OK)
		rc = tl__plat_step(r, "network", net, created, created ? "created" : "exists");
	tl_docker_free(d);
	return rc;
}

int tl_platform_init(tl_platform_report **out, tl_ctx *ctx, const tl_platform_options *opts)
{
	tl__plat p;
	int rc = tl__plat_open(&p, ctx, opts);
	if (rc)
		return rc;
	tl_platform_report *r = tl__plat_report_new();
	tl_envfile *env = NULL;
	if (!r) {
		tl__plat_dispose(&p);
		return TL_ENOMEM;
	}
	rc = tl__step(ctx, "platform.layout", p.data, "laying out %s", p.data);
	for (size_t i = 0; i < TL__ARRAY_SIZE(dirs) && rc == TL_OK; i++) {
		char *path = dir_path(&p, dirs[i].rel);
		rc = path ? ensure_dir(r, &p, path, dirs[i].mode, dirs[i].uid) : TL_ENOMEM;
		free(path);
	}
	if (rc == TL_OK)
		rc = tl__step(ctx, "platform.secrets", p.env_file, "platform secrets");
	if (rc == TL_OK)
		rc = ensure_env(r, &p, &env);
	/* towlion's own configuration before the Caddyfile: the main
	 * Caddyfile's admin address comes from it. */
	if (rc == TL_OK)
		rc = tl__plat_write_conf(r, ctx, &p, env);
	if (rc == TL_OK)
		rc = tl__plat_redis_conf(r, &p, tl_envfile_get(env, "REDIS_PASSWORD"));
	if (rc == TL_OK)
		rc = tl__step(ctx, "platform.config", p.caddy, "configuration files");
	if (rc == TL_OK)
		rc = write_caddyfile(r, ctx, &p);
	if (rc == TL_OK) {
		char *path = tl__plat_data(&p, "prometheus/config/prometheus.yml");
		rc = path ? ensure_file(r, &p, path, prometheus_yml, 0644, -1, true, false)
		          : TL_ENOMEM;
		free(path);
	}
	if (rc == TL_OK) {
		char *path = tl__plat_data(&p, "promtail/promtail.yml");
		rc = path ? ensure_file(r, &p, path, promtail_yml, 0644, -1, true, false)
		          : TL_ENOMEM;
		free(path);
	}
	/* Grafana's provisioning and node-exporter's textfile dir (observe.c). */
	if (rc == TL_OK)
		rc = tl__plat_observe_files(r, ctx, &p);
	if (rc == TL_OK && (rc = tl__step(ctx, "platform.network", tl__cfg(ctx, "TOWLION_NETWORK"),
	                                  "Docker network")) == TL_OK)
		rc = ensure_network(r, ctx, &p);
	tl_envfile_free(env);
	tl__plat_dispose(&p);
	if (rc || !out)
		tl_platform_report_free(r);
	else
		*out = r;
	return rc;
}
