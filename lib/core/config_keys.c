/*
 * The table of configuration keys (docs/configuration.md documents the
 * same table; a unit test checks they agree). Modules append keys here.
 */
#include "config.h"

const tl__config_key tl__config_keys[] = {
	{"TOWLION_DATA_DIR", "/data", NULL, TL__KEY_PLAIN, "persistent data root"},
	{"TOWLION_APPS_DIR", "/opt/apps", NULL, TL__KEY_PLAIN,
	 "app and preview checkouts"},
	{"TOWLION_STATE_DIR", "/towlion", "TOWLION_DATA_DIR", TL__KEY_PLAIN,
	 "app registry, locks, release history, env files (0700)"},
	{"TOWLION_DOCKER_HOST", "unix:///var/run/docker.sock", NULL, TL__KEY_PLAIN,
	 "Docker Engine endpoint"},
	{"TOWLION_NETWORK", "towlion", NULL, TL__KEY_PLAIN, "shared Docker network"},
	{"TOWLION_UPSTREAM_MODE", "network", NULL, TL__KEY_PLAIN,
	 "network: Caddy reaches container:port on the network; loopback: "
	 "containers publish on 127.0.0.1"},
	{"TOWLION_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres", NULL,
	 TL__KEY_URL, "admin connection for provisioning and backups"},
	{"TOWLION_PG_APP_HOST", "postgres:5432", NULL, TL__KEY_PLAIN,
	 "host:port that apps put in their DATABASE_URL"},
	{"TOWLION_REDIS_URL", "redis://127.0.0.1:6379", NULL, TL__KEY_URL,
	 "Redis admin connection"},
	{"TOWLION_REDIS_APP_HOST", "redis:6379", NULL, TL__KEY_PLAIN,
	 "host:port for apps' REDIS_URL"},
	{"TOWLION_CADDY_ADMIN", "http://127.0.0.1:2019", NULL, TL__KEY_URL,
	 "Caddy admin API: http://host:port, or unix:///path/admin.sock (Caddy in a "
	 "container: a socket in a directory only the host sees)"},
	{"TOWLION_CADDY_ADMIN_LISTEN", "", NULL, TL__KEY_PLAIN,
	 "address Caddy binds its admin API on, when not the one in TOWLION_CADDY_ADMIN "
	 "(Caddy in a container: unix//run/caddy-admin/admin.sock)"},
	{"TOWLION_CADDY_DIR", "/caddy", "TOWLION_DATA_DIR", TL__KEY_PLAIN,
	 "holds the main Caddyfile and sites/"},
	{"TOWLION_DOMAIN", "", NULL, TL__KEY_PLAIN,
	 "apps default to <app>.<domain>"},
	{"TOWLION_PREVIEW_DOMAIN", "", "TOWLION_DOMAIN", TL__KEY_PLAIN,
	 "previews at pr-N.preview.<app>.<preview domain>"},
	{"TOWLION_TLS", "auto", NULL, TL__KEY_PLAIN,
	 "auto (ACME), internal (Caddy's local CA), off (plain HTTP)"},
	{"TOWLION_HTTP_PORT", "80", NULL, TL__KEY_PLAIN, "port site blocks listen on for HTTP"},
	{"TOWLION_HTTPS_PORT", "443", NULL, TL__KEY_PLAIN,
	 "port site blocks listen on for HTTPS"},
	{"TOWLION_ACME_EMAIL", "", NULL, TL__KEY_PLAIN, "e-mail for Let's Encrypt"},
	{"TOWLION_BACKUP_DIR", "/backups/postgres", "TOWLION_DATA_DIR", TL__KEY_PLAIN,
	 "local backups"},
	{"TOWLION_BACKUP_KEY", "", NULL, TL__KEY_PLAIN,
	 "key file: backups are encrypted when set"},
	{"TOWLION_BACKUP_KEEP_DAYS", "7", NULL, TL__KEY_PLAIN, "retention in days"},
	{"TOWLION_BACKUP_KEEP_LAST", "3", NULL, TL__KEY_PLAIN,
	 "newest good backups always kept per database"},
	{"TOWLION_S3_ENDPOINT", "", NULL, TL__KEY_URL, "object storage endpoint"},
	{"TOWLION_S3_REGION", "us-east-1", NULL, TL__KEY_PLAIN, "object storage region"},
	{"TOWLION_S3_ACCESS_KEY", "", NULL, TL__KEY_PLAIN, "object storage access key"},
	{"TOWLION_S3_SECRET_KEY", "", NULL, TL__KEY_SECRET, "object storage secret key"},
	{"TOWLION_S3_APP_ENDPOINT", "", NULL, TL__KEY_URL,
	 "endpoint apps put in S3_ENDPOINT (empty: TOWLION_S3_ENDPOINT)"},
	{"TOWLION_S3_ADMIN_API", "iam", NULL, TL__KEY_PLAIN,
	 "how per-app object storage users are made: iam (AWS IAM API: AWS, SeaweedFS, "
	 "Ceph RGW); minio or none: not driven by towlion (app provisioning fails clearly)"},
	{"TOWLION_S3_IAM_ENDPOINT", "", NULL, TL__KEY_URL,
	 "the IAM API endpoint (empty: TOWLION_S3_ENDPOINT)"},
	{"TOWLION_BACKUP_REMOTE", "", NULL, TL__KEY_URL,
	 "s3://bucket/prefix for offsite copies"},
	{"TOWLION_BACKUP_S3_ACCESS_KEY", "", NULL, TL__KEY_PLAIN,
	 "offsite backups' own access key (empty: from $STATE_DIR/backup-s3.env)"},
	{"TOWLION_BACKUP_S3_SECRET_KEY", "", NULL, TL__KEY_SECRET,
	 "offsite backups' own secret key"},
	{"TOWLION_GITHUB_TOKEN", "", NULL, TL__KEY_SECRET, "token for PR comments"},
	{"TOWLION_GITHUB_API", "https://api.github.com", NULL, TL__KEY_URL,
	 "GitHub REST API base"},
	{"TOWLION_GITHUB_USER", "", NULL, TL__KEY_PLAIN,
	 "login of the token's user when GET /user is refused to it (GitHub Actions' "
	 "GITHUB_TOKEN: github-actions[bot]); only its marked comments are edited"},
	{"TOWLION_SCAN_COMMAND", "", NULL, TL__KEY_PLAIN,
	 "image scanner run on every new release image, words split on spaces, {image} "
	 "replaced (e.g. trivy image --format json {image})"},
	{"TOWLION_SCAN_POLICY", "warn", NULL, TL__KEY_PLAIN,
	 "warn: log the scanner's findings; block: refuse images with HIGH or CRITICAL ones"},
	{"TOWLION_PREVIEW_MAX", "5", NULL, TL__KEY_PLAIN, "most previews one app may have"},
	{"TOWLION_PREVIEW_CPUS", "0.5", NULL, TL__KEY_PLAIN,
	 "CPU limit of each preview container (0: none)"},
	{"TOWLION_PREVIEW_MEMORY", "512m", NULL, TL__KEY_PLAIN,
	 "memory limit of each preview container (k, m, g suffixes; 0: none)"},
	{"TOWLION_ALERT_REPO", "", NULL, TL__KEY_PLAIN,
	 "owner/name: `towlion alerts check` keeps one issue per alert there"},
	{"TOWLION_ALERT_MAIL", "", NULL, TL__KEY_PLAIN,
	 "alert e-mail through postmark or ses (none: no e-mail)"},
	{"TOWLION_ALERT_MAIL_ENDPOINT", "", NULL, TL__KEY_URL,
	 "mail API base URL (none: the provider's)"},
	{"TOWLION_ALERT_MAIL_TOKEN", "", NULL, TL__KEY_SECRET,
	 "Postmark server token, or SES ACCESS_KEY:SECRET_KEY"},
	{"TOWLION_ALERT_MAIL_FROM", "", NULL, TL__KEY_PLAIN, "sender of alert e-mail"},
	{"TOWLION_ALERT_MAIL_TO", "", NULL, TL__KEY_PLAIN, "recipient of alert e-mail"},
	/* backups (issue 16): dump tools of the server's own major version */
	{"TOWLION_PG_TOOLS", "auto", NULL, TL__KEY_PLAIN,
	 "auto: the host's pg_dump/pg_restore when their major matches the server's, else "
	 "the platform's PostgreSQL container's (docker exec); host; container"},
	/* Observability (issue 16): container log rotation and the platform's
	 * optional profiles. */
	{"TOWLION_LOG_MAX_SIZE", "10m", NULL, TL__KEY_PLAIN,
	 "json-file log size at which Docker rotates an app, preview or platform "
	 "container's log (k, m, g; 0: no rotation)"},
	{"TOWLION_LOG_MAX_FILE", "3", NULL, TL__KEY_PLAIN,
	 "rotated log files Docker keeps per container (1..999)"},
	{"TOWLION_PLATFORM_PROFILES", "", NULL, TL__KEY_PLAIN,
	 "optional platform services `platform up` starts: logs (Loki, Promtail, "
	 "Grafana), metrics (Prometheus, node-exporter, cAdvisor, Grafana), comma-separated"},
	/* Cluster (issue 19): which engine runs the apps. swarm: the engine at
	 * TOWLION_DOCKER_HOST is a swarm manager (towlion cluster init). */
	{"TOWLION_ENGINE", "docker", NULL, TL__KEY_PLAIN,
	 "docker: apps run on this server's dockerd; swarm: on the Docker Swarm cluster whose "
	 "manager is TOWLION_DOCKER_HOST (the cluster verbs; its deploy engine comes next)"},
	/* Cluster registry (issue 19): what `cluster init` starts for the nodes
	 * to pull the apps' images from (docs/cluster.md, "Registry"). */
	{"TOWLION_REGISTRY_PORT", "5000", NULL, TL__KEY_PLAIN,
	 "port the cluster's registry answers on, on every node (the registry on the manager, "
	 "its relay on the others); every node pulls 127.0.0.1:PORT/<image>"},
	{"TOWLION_REGISTRY_DIR", "/registry", "TOWLION_DATA_DIR", TL__KEY_PLAIN,
	 "the cluster registry's storage, on the manager it runs on"},
	{"TOWLION_REGISTRY_IMAGE", "registry:2.8.3", NULL, TL__KEY_PLAIN,
	 "image of the cluster's registry (the distribution registry's contract)"},
	{"TOWLION_REGISTRY_RELAY_IMAGE", "busybox:1.36.1", NULL, TL__KEY_PLAIN,
	 "image of the registry's relay on the nodes but the manager (busybox: tcpsvd and nc)"},
};

const size_t tl__config_key_n = TL__ARRAY_SIZE(tl__config_keys);
