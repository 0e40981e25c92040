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
	{"TOWLION_CADDY_ADMIN", "http://127.0.0.1:2019", NULL, TL__KEY_PLAIN,
	 "Caddy admin API"},
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
	{"TOWLION_S3_ENDPOINT", "", NULL, TL__KEY_PLAIN, "object storage endpoint"},
	{"TOWLION_S3_REGION", "us-east-1", NULL, TL__KEY_PLAIN, "object storage region"},
	{"TOWLION_S3_ACCESS_KEY", "", NULL, TL__KEY_PLAIN, "object storage access key"},
	{"TOWLION_S3_SECRET_KEY", "", NULL, TL__KEY_SECRET, "object storage secret key"},
	{"TOWLION_BACKUP_REMOTE", "", NULL, TL__KEY_PLAIN,
	 "s3://bucket/prefix for offsite copies"},
	{"TOWLION_GITHUB_TOKEN", "", NULL, TL__KEY_SECRET, "token for PR comments"},
	{"TOWLION_GITHUB_API", "https://api.github.com", NULL, TL__KEY_PLAIN,
	 "GitHub REST API base"},
};

const size_t tl__config_key_n = TL__ARRAY_SIZE(tl__config_keys);
