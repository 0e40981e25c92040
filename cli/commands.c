/* The command table: every group the CLI knows, in --help order. Each
 * group lives in its own cmd_<group>.c. The man page and the bash
 * completion are generated from it (gen.c). */
#include "cli.h"

extern const cli_group cli_group_alerts;
extern const cli_group cli_group_app;
extern const cli_group cli_group_backup;
extern const cli_group cli_group_compose;
extern const cli_group cli_group_config;
extern const cli_group cli_group_deploy;
extern const cli_group cli_group_preview;
extern const cli_group cli_group_releases;
extern const cli_group cli_group_rollback;
extern const cli_group cli_group_status;
extern const cli_group cli_group_db;
extern const cli_group cli_group_docker;
extern const cli_group cli_group_doctor;
extern const cli_group cli_group_github;
extern const cli_group cli_group_exec;
extern const cli_group cli_group_logs;
extern const cli_group cli_group_metrics;
extern const cli_group cli_group_platform;
extern const cli_group cli_group_redis;
extern const cli_group cli_group_route;
extern const cli_group cli_group_s3;
/* app settings and secrets (envcfg) */
extern const cli_group cli_group_env;
/* server bootstrap (issue 20) */
extern const cli_group cli_group_server;
/* the Docker Swarm cluster (issue 19) */
extern const cli_group cli_group_cluster;

const cli_group *const cli_groups[] = {
	/* apps and releases first, then their services, then the server */
	&cli_group_app,
	&cli_group_deploy,
	&cli_group_rollback,
	&cli_group_releases,
	&cli_group_status,
	&cli_group_preview,
	&cli_group_db,
	&cli_group_redis,
	&cli_group_s3,
	&cli_group_route,
	&cli_group_backup,
	&cli_group_docker,
	&cli_group_logs,
	&cli_group_exec,
	&cli_group_compose,
	&cli_group_github,
	&cli_group_platform,
	&cli_group_doctor,
	&cli_group_metrics,
	&cli_group_alerts,
	&cli_group_config,
	/* app settings and secrets (envcfg) */
	&cli_group_env,
	&cli_group_server, /* issue 20 */
	&cli_group_cluster, /* issue 19 */
};

const size_t cli_ngroups = sizeof(cli_groups) / sizeof(cli_groups[0]);
