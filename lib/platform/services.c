/*
 * The platform's services: one table that both the compose file and
 * `platform up` are made from, so the two never disagree.
 *
 * Mount sources are relative to TOWLION_DATA_DIR, except "caddy..." (under
 * TOWLION_CADDY_DIR) and absolute host paths (read-only system views for
 * the log and metrics collectors). Health checks run inside the container
 * with the image's own tools; secrets reach them through the environment
 * (REDISCLI_AUTH), never through a command line.
 */
#include "platform_int.h"

#include <string.h>

#define MiB (1024 * 1024LL)
#define GiB (1024 * MiB)

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
#define M(...) ((const tl__plat_mount[]){__VA_ARGS__, {NULL, NULL, 0}})
#define WGET(url) L("CMD", "wget", "-q", "-O", "/dev/null", url)

const tl__plat_service tl__plat_services[] = {
	{.name = "postgres", .image = "postgres:16.4-bookworm",
	 .health = L("CMD", "pg_isready", "-U", "postgres"),
	 .mounts = M({"postgres", "/var/lib/postgresql/data", 0}),
	 .ports = L("127.0.0.1:5432:5432"), .env = L("PGDATA=/var/lib/postgresql/data"),
	 .env_file = 1, .cpus = 2.0, .memory = 2 * GiB},
	{.name = "redis", .image = "redis:7.2.5-bookworm",
	 /* The password lives in redis.conf (0600, written by init). */
	 .cmd = L("redis-server", "/data/redis.conf"),
	 .health = L("CMD-SHELL", "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli ping | grep -q PONG"),
	 .mounts = M({"redis", "/data", 0}), .ports = L("127.0.0.1:6379:6379"),
	 .env_file = 1, .cpus = 0.5, .memory = 512 * MiB},
	/* Object storage: SeaweedFS (Apache-2.0, maintained; MinIO's project
	 * is archived and its images are gone). One `weed server` runs master,
	 * volume, filer and the S3 gateway, which also serves the IAM API that
	 * gives each app a user of its own (TOWLION_S3_ADMIN_API=iam). Its
	 * admin identity comes from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
	 * in platform.env. The service (and the name apps reach it by) is the
	 * generic "s3". Health: the volume server's /healthz on 8080. */
	{.name = "s3", .image = "chrislusf/seaweedfs:4.41",
	 .cmd = L("server", "-dir=/data", "-s3", "-s3.port=9000"),
	 .health = WGET("http://127.0.0.1:8080/healthz"), .mounts = M({"s3", "/data", 0}),
	 .ports = L("127.0.0.1:9000:9000"), .env_file = 1, .cpus = 1.0, .memory = 1 * GiB},
	{.name = "caddy", .image = "caddy:2.7.6-alpine",
	 .cmd = L("caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"),
	 .health = WGET("http://127.0.0.1:2019/config/"),
	 .mounts = M({"caddy", "/etc/caddy", 1}, {"caddy/data", "/data", 0},
	             {"caddy/config", "/config", 0}),
	 .ports = L("{http}:{http}", "{https}:{https}", "127.0.0.1:2019:2019"),
	 .cpus = 1.0, .memory = 512 * MiB},
	/* The logs profile: Loki stores what Promtail reads from Docker's
	 * json-file logs. */
	{.name = "loki", .image = "grafana/loki:2.9.8", .profiles = TL__PLAT_PROFILE_LOGS,
	 .cmd = L("-config.file=/etc/loki/local-config.yaml"),
	 .health = WGET("http://127.0.0.1:3100/ready"), .mounts = M({"loki", "/loki", 0}),
	 .ports = L("127.0.0.1:3100:3100"), .cpus = 0.5, .memory = 512 * MiB},
	{.name = "promtail", .image = "grafana/promtail:2.9.8", .profiles = TL__PLAT_PROFILE_LOGS,
	 .cmd = L("-config.file=/etc/promtail/promtail.yml"),
	 .mounts = M({"promtail", "/etc/promtail", 1},
	             {"/var/lib/docker/containers", "/var/lib/docker/containers", 1},
	             {"/var/log", "/var/log", 1}),
	 .cpus = 0.25, .memory = 128 * MiB, .depends = L("loki")},
	/* Grafana shows what either profile collects: it runs with either.
	 * Its data sources and dashboards come provisioned (observe.c),
	 * read-only; it waits for neither (one of them may be off). */
	{.name = "grafana", .image = "grafana/grafana:10.4.5",
	 .profiles = TL__PLAT_PROFILE_LOGS | TL__PLAT_PROFILE_METRICS,
	 .health = WGET("http://127.0.0.1:3000/api/health"),
	 .mounts = M({"grafana", "/var/lib/grafana", 0},
	             {"grafana-provisioning", "/etc/grafana/provisioning", 1},
	             {"grafana-dashboards", "/var/lib/towlion-dashboards", 1}),
	 .ports = L("127.0.0.1:3000:3000"),
	 .env = L("GF_USERS_ALLOW_SIGN_UP=false", "GF_ANALYTICS_REPORTING_ENABLED=false",
	          "GF_ANALYTICS_CHECK_FOR_UPDATES=false"),
	 .env_file = 1, .cpus = 0.5, .memory = 256 * MiB},
	{.name = "prometheus", .image = "prom/prometheus:v2.53.0", .profiles = TL__PLAT_PROFILE_METRICS,
	 .cmd = L("--config.file=/etc/prometheus/prometheus.yml",
	          "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=15d"),
	 .health = WGET("http://127.0.0.1:9090/-/healthy"),
	 .mounts = M({"prometheus/config", "/etc/prometheus", 1},
	             {"prometheus/data", "/prometheus", 0}),
	 .ports = L("127.0.0.1:9090:9090"), .cpus = 0.5, .memory = 512 * MiB},
	{.name = "cadvisor", .image = "gcr.io/cadvisor/cadvisor:v0.49.1", .profiles = TL__PLAT_PROFILE_METRICS,
	 .health = WGET("http://127.0.0.1:8080/healthz"),
	 .mounts = M({"/", "/rootfs", 1}, {"/var/run", "/var/run", 1}, {"/sys", "/sys", 1},
	             {"/var/lib/docker", "/var/lib/docker", 1}),
	 .cpus = 0.25, .memory = 256 * MiB},
	/* The textfile collector reads what `towlion metrics --textfile`
	 * writes (examples/systemd/towlion-metrics.timer): towlion's own
	 * series reach Prometheus through the node job. */
	{.name = "node-exporter", .image = "prom/node-exporter:v1.8.1",
	 .profiles = TL__PLAT_PROFILE_METRICS,
	 .cmd = L("--path.rootfs=/host", "--collector.textfile.directory=/textfile"),
	 .health = WGET("http://127.0.0.1:9100/metrics"),
	 .mounts = M({"/", "/host", 1}, {"node-exporter/textfile", "/textfile", 1}),
	 .cpus = 0.1, .memory = 64 * MiB},
};

const size_t tl__plat_nservices = TL__ARRAY_SIZE(tl__plat_services);

static const tl__plat_service *find(const char *name, size_t len)
{
	for (size_t i = 0; i < tl__plat_nservices; i++)
		if (strlen(tl__plat_services[i].name) == len &&
		    !strncmp(tl__plat_services[i].name, name, len))
			return &tl__plat_services[i];
	return NULL;
}

int tl__plat_images_check(const char *const *images)
{
	for (size_t i = 0; images && images[i]; i++) {
		const char *eq = strchr(images[i], '=');
		if (!eq || eq == images[i] || !eq[1] || strpbrk(eq + 1, " \t\n\"'$"))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "image override \"%s\" is not SERVICE=IMAGE",
			                     images[i]);
		if (!find(images[i], (size_t)(eq - images[i])) && strncmp(images[i], "app=", 4))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "image override \"%s\" names no platform service "
			                     "(see `towlion platform compose`)",
			                     images[i]);
	}
	return TL_OK;
}

static const char *override(const char *const *images, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; images && images[i]; i++)
		if (!strncmp(images[i], name, len) && images[i][len] == '=')
			return images[i] + len + 1;
	return NULL;
}

const char *tl__plat_image(const tl__plat *p, const tl__plat_service *svc)
{
	const char *o = override(p->images, svc->name);
	return o ? o : svc->image;
}

const char *tl_platform_service_at(size_t i, const char **default_image)
{
	if (i >= tl__plat_nservices)
		return NULL;
	if (default_image)
		*default_image = tl__plat_services[i].image;
	return tl__plat_services[i].name;
}

static const struct {
	const char *name;
	unsigned bit;
} profile_names[] = {{"logs", TL__PLAT_PROFILE_LOGS}, {"metrics", TL__PLAT_PROFILE_METRICS}};

const char *tl__plat_profile_name(unsigned bit)
{
	for (size_t i = 0; i < TL__ARRAY_SIZE(profile_names); i++)
		if (profile_names[i].bit == bit)
			return profile_names[i].name;
	return "";
}

int tl__plat_profiles(unsigned *out, tl_ctx *ctx, unsigned flags)
{
	unsigned want = (flags & TL_PLATFORM_LOGS ? TL__PLAT_PROFILE_LOGS : 0) |
	                (flags & TL_PLATFORM_METRICS ? TL__PLAT_PROFILE_METRICS : 0);
	const char *v = tl__cfg(ctx, "TOWLION_PLATFORM_PROFILES");
	while (*v) {
		size_t n = strcspn(v, ", ");
		size_t i = 0;
		while (i < TL__ARRAY_SIZE(profile_names) &&
		       (strlen(profile_names[i].name) != n || strncmp(profile_names[i].name, v, n)))
			i++;
		if (n && i == TL__ARRAY_SIZE(profile_names))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "TOWLION_PLATFORM_PROFILES names \"%.*s\": the profiles "
			                     "are logs and metrics (comma-separated; empty: the core "
			                     "services only)",
			                     (int)(n > 64 ? 64 : n), v);
		if (n)
			want |= profile_names[i].bit;
		v += n;
		v += strspn(v, ", ");
	}
	*out = want;
	return TL_OK;
}

bool tl__plat_service_wanted(const tl__plat_service *s, unsigned profiles)
{
	return !s->profiles || (s->profiles & profiles);
}
