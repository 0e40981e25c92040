/* towlion docker ps, towlion logs, towlion exec: the platform's containers
 * (those labelled towlion.*) through the library's Docker client. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl_docker *open_docker(cli *c)
{
	tl_ctx *ctx = cli_ctx(c);
	tl_docker *d = NULL;
	if (!ctx || tl_docker_open(&d, ctx) != TL_OK)
		return NULL;
	return d;
}

static const char *label_or(const tl_docker_container *k, const char *key)
{
	const char *v = tl_docker_container_label(k, key);
	return v ? v : "";
}

static int run_ps(cli *c)
{
	const char *app = NULL, *all = NULL;
	cli_opt opts[] = {{"--app", true, &app}, {"--all", false, &all}, {"-a", false, &all}};
	int rc = cli_parse(c, opts, 3, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	if (app && tl_validate_app_name(app) != TL_OK)
		return cli_fail(c, TL_EINVALID);
	tl_docker *d = open_docker(c);
	if (!d)
		return cli_fail(c, tl_error_last()->code);
	char filter[96];
	snprintf(filter, sizeof(filter), app ? "towlion.app=%s" : "towlion.app", app);
	const char *filters[] = {filter, NULL};
	tl_docker_container_list *l = NULL;
	if ((rc = tl_docker_container_list_by_label(&l, d, filters, all != NULL)) != TL_OK) {
		tl_docker_free(d);
		return cli_fail(c, rc);
	}
	json_t *arr = json_array();
	size_t n = tl_docker_container_list_count(l);
	if (n)
		cli_print(c, "%-32s %-16s %-14s %-10s %-10s %s\n", "NAME", "APP", "SERVICE", "STATE",
		          "HEALTH", "STATUS");
	for (size_t i = 0; i < n; i++) {
		const tl_docker_container *k = tl_docker_container_list_at(l, i);
		const char *health = tl_docker_container_health(k);
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "name",
			               tl_docker_container_name(k), "id", tl_docker_container_id(k), "app",
			               label_or(k, "towlion.app"), "service", label_or(k, "towlion.service"),
			               "release", label_or(k, "towlion.release"), "image",
			               tl_docker_container_image(k), "state", tl_docker_container_state(k),
			               "health", health, "status", tl_docker_container_status(k), "created",
			               (json_int_t)tl_docker_container_created(k)));
		cli_print(c, "%-32s %-16s %-14s %-10s %-10s %s\n", tl_docker_container_name(k),
		          label_or(k, "towlion.app"), label_or(k, "towlion.service"),
		          tl_docker_container_state(k), health[0] ? health : "-",
		          tl_docker_container_status(k));
	}
	if (!n)
		cli_print(c, "no %scontainers%s%s\n", all ? "" : "running ", app ? " of app " : "",
		          app ? app : "");
	cli_set_result(c, json_pack("{s:o}", "containers", arr));
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	return 0;
}

/* The container of APP's service S: the running one, else the newest. */
static int find_container(cli *c, tl_docker *d, const char *app, const char *service,
                          char *id, size_t idlen)
{
	char fa[96], fs[96];
	snprintf(fa, sizeof(fa), "towlion.app=%s", app);
	snprintf(fs, sizeof(fs), "towlion.service=%s", service);
	const char *filters[] = {fa, fs, NULL};
	tl_docker_container_list *l = NULL;
	int rc = tl_docker_container_list_by_label(&l, d, filters, 1);
	if (rc)
		return cli_fail(c, rc);
	const tl_docker_container *best = NULL;
	for (size_t i = 0; i < tl_docker_container_list_count(l); i++) {
		const tl_docker_container *k = tl_docker_container_list_at(l, i);
		int better = !best ||
		             (tl_docker_container_running(k) && !tl_docker_container_running(best)) ||
		             (tl_docker_container_running(k) == tl_docker_container_running(best) &&
		              tl_docker_container_created(k) > tl_docker_container_created(best));
		if (better)
			best = k;
	}
	if (best)
		snprintf(id, idlen, "%s", tl_docker_container_id(best));
	tl_docker_container_list_free(l);
	if (!best)
		return cli_error(c, EXIT_NOTFOUND,
		                 "app %s has no container for service %s (see 'towlion docker ps "
		                 "--all --app %s')", app, service, app);
	return 0;
}

typedef struct {
	cli *c;
	json_t *lines; /* --json: collected */
} out_sink;

/* OUTPUT events: stdout lines (INFO) to stdout, stderr lines to stderr. */
static int print_output(const tl_event *ev, void *payload)
{
	out_sink *s = payload;
	if (ev->type != TL_EVENT_OUTPUT)
		return cli_on_event(ev, s->c);
	int is_err = ev->level >= TL_LOG_WARN;
	if (s->lines) {
		json_array_append_new(s->lines, json_pack("{s:s, s:s}", "stream",
		                                          is_err ? "stderr" : "stdout", "line",
		                                          ev->message));
		return 0;
	}
	FILE *f = is_err ? stderr : stdout;
	/* Logs and exec output are the tenant's bytes: escaped controls. */
	cli_write_safe(f, ev->message, strlen(ev->message));
	fputc('\n', f);
	fflush(f);
	return 0;
}

static int check_app(cli *c, const char *app)
{
	if (tl_validate_app_name(app) != TL_OK)
		return cli_fail(c, TL_EINVALID);
	return 0;
}

static int run_logs(cli *c)
{
	const char *service = "app", *tail = NULL, *follow = NULL, *since = NULL, *ts = NULL;
	const char *pos[1];
	size_t npos = 0;
	cli_opt opts[] = {{"--service", true, &service}, {"--tail", true, &tail},
	                  {"-f", false, &follow},        {"--follow", false, &follow},
	                  {"--since", true, &since},     {"--timestamps", false, &ts}};
	int rc = cli_parse(c, opts, 6, pos, 1, 1, &npos);
	if (rc || (rc = check_app(c, pos[0])))
		return rc;
	tl_docker_logs_options lo = TL_DOCKER_LOGS_OPTIONS_INIT;
	uint64_t since_s = 0;
	if ((rc = cli_opt_int(c, &lo.tail, "--tail (lines)", tail, 0, 1000000)) ||
	    (rc = cli_opt_uint(c, &since_s, "--since (Unix seconds)", since, 0, INT64_MAX)))
		return rc;
	if (since)
		lo.since = (int64_t)since_s;
	lo.follow = follow != NULL;
	lo.timestamps = ts != NULL;
	/* the engine's unit of the service (a container, or a swarm service) */
	out_sink s = {c, c->json ? json_array() : NULL};
	tl_buf unit = TL_BUF_INIT;
	tl_ctx_set_event_cb(cli_ctx(c), print_output, &s);
	rc = tl_app_logs(&unit, cli_ctx(c), pos[0], service, &lo);
	tl_ctx_set_event_cb(cli_ctx(c), cli_on_event, c);
	if (rc == TL_OK || rc == TL_EUSER) {
		if (s.lines)
			cli_set_result(c, json_pack("{s:s, s:o}", "container", unit.ptr ? unit.ptr : "", "lines",
			                            s.lines));
		rc = 0;
	} else {
		json_decref(s.lines);
		rc = cli_fail(c, rc);
	}
	tl_buf_dispose(&unit);
	return rc;
}

static int run_exec(cli *c)
{
	const char *service = "app", *user = NULL, *workdir = NULL;
	const char *pos[65];
	size_t npos = 0;
	cli_opt opts[] = {{"--service", true, &service}, {"--user", true, &user},
	                  {"--workdir", true, &workdir}};
	int rc = cli_parse(c, opts, 3, pos, 2, 64, &npos);
	if (rc || (rc = check_app(c, pos[0])))
		return rc;
	pos[npos] = NULL;
	tl_docker *d = open_docker(c);
	if (!d)
		return cli_fail(c, tl_error_last()->code);
	char id[128];
	if ((rc = find_container(c, d, pos[0], service, id, sizeof(id))) == 0 && c->dry_run) {
		/* The command could change anything: a plan runs nothing. */
		json_t *argv = json_array();
		cli_print(c, "would run in %s (service %s, container %.12s):", pos[0], service, id);
		for (size_t i = 1; i < npos; i++) {
			json_array_append_new(argv, json_string(pos[i]));
			cli_print(c, " %s", pos[i]);
		}
		cli_print(c, "\n");
		cli_set_result(c, json_pack("{s:b, s:s, s:s, s:s, s:o}", "dry_run", 1, "app", pos[0],
		                            "service", service, "container", id, "command", argv));
	} else if (rc == 0) {
		tl_docker_exec_options o = TL_DOCKER_EXEC_OPTIONS_INIT;
		o.user = user;
		o.workdir = workdir;
		int code = -1;
		if (c->json) {
			tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
			rc = tl_docker_exec(&code, &out, &err, d, id, pos + 1, &o);
			if (rc == TL_OK)
				cli_set_result(c, json_pack("{s:i, s:s, s:s}", "exit_code", code, "stdout",
				                            out.ptr ? out.ptr : "", "stderr",
				                            err.ptr ? err.ptr : ""));
			tl_buf_dispose(&out);
			tl_buf_dispose(&err);
		} else {
			out_sink s = {c, NULL};
			tl_ctx_set_event_cb(cli_ctx(c), print_output, &s);
			rc = tl_docker_exec(&code, NULL, NULL, d, id, pos + 1, &o);
			tl_ctx_set_event_cb(cli_ctx(c), cli_on_event, c);
		}
		/* the command's own exit status is ours */
		rc = rc == TL_OK ? (code < 0 ? 1 : code > 255 ? 255 : code) : cli_fail(c, rc);
	}
	tl_docker_free(d);
	return rc;
}

static const cli_verb docker_verbs[] = {
	{"ps", "[--app APP] [--all]",
	 "list the platform's containers (labelled towlion.*) with state and health",
	 "towlion docker ps --app myapp --all", false, run_ps},
};

const cli_group cli_group_docker = {"docker", "the platform's containers", docker_verbs, 1};

static const cli_verb logs_verbs[] = {
	{"", "APP [--service S] [--tail N] [--since UNIX_SECONDS] [--timestamps] [-f]",
	 "print an app's container logs (stdout to stdout, stderr to stderr); -f follows",
	 "towlion logs myapp --service celery-worker --tail 100 -f", false, run_logs},
};

const cli_group cli_group_logs = {"logs", "an app's container logs", logs_verbs, 1};

static const cli_verb exec_verbs[] = {
	{"", "APP [--service S] [--user U] [--workdir DIR] -- CMD [ARGS...]",
	 "run a command in an app's running container; exits with the command's status",
	 "towlion exec myapp -- alembic current", true, run_exec},
};

const cli_group cli_group_exec = {"exec", "run a command in an app's container", exec_verbs, 1};
