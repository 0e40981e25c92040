/*
 * Which pg_dump, pg_restore and psql a backup, a restore or a deep verify
 * runs.
 *
 * pg_dump refuses a server of a newer major version; a pg_restore older
 * than the pg_dump that wrote an archive cannot read it, and a newer one
 * sends settings an older server rejects (transaction_timeout from 17
 * on). So the tools are always those of the server's own major version:
 *
 * - host: pg_bin_dir, else /usr/lib/postgresql/<server major>/bin, else
 *   PATH, when that pg_dump's --version says the server's major;
 * - container: the platform's own PostgreSQL container (labels
 *   towlion.platform=1 and towlion.service=postgres), by docker exec.
 *
 * Why an exec into the running container rather than a one-off container
 * from its image: the running server's container holds the same binaries
 * by construction (no image to resolve or pull, no network to join);
 * nothing is created, so a process killed halfway leaves no container
 * behind; and an exec's environment, which carries PGPASSWORD, is shown
 * neither by `docker inspect` of the container nor of the exec, where a
 * one-off container's Env would be. The tools run as nobody (not as the
 * postgres user, which owns the data directory) and log in over TCP on the
 * container's loopback with the same role and password they would use
 * from the host, so a tenant restore still runs as its throwaway role.
 *
 * The container's server is the one TOWLION_PG_URL names, or the work
 * fails: a backup's pg_dump imports the snapshot our own connection
 * exported (no other server has it), a restore's scratch database was
 * created through TOWLION_PG_URL under a unique name.
 *
 * TOWLION_PG_TOOLS: auto (host tools when their major matches, else the
 * container's), host, container. The choice is made before anything
 * changes: a refusal leaves no lock, intent record or scratch database.
 */
#include "backup_internal.h"
#include "towlion/validate.h"

#include "towlion/docker.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's port inside its container, as a number and as Docker's key */
#define PG_PORT 5432
#define PG_CONTAINER_PORT "5432"
#define NOBODY "65534:65534"

/* The major version in `pg_dump (PostgreSQL) 17.2 (Debian 17.2-1)`; 0 when
 * there is none. */
int tl__bk_tools_major(const char *version_line)
{
	const char *p = version_line ? strstr(version_line, "(PostgreSQL) ") : NULL;
	if (!p)
		return 0;
	p += strlen("(PostgreSQL) ");
	uint64_t v = 0;
	if (*p < '1' || *p > '9' || !tl__parse_digits(&v, &p))
		return 0;
	return v < 1000 ? (int)v : 0;
}

void tl__bk_tools_dispose(tl__bk_tools *t)
{
	if (!t)
		return;
	free(t->where);
	free(t->container);
	free(t->dump);
	free(t->restore);
	free(t->psql);
	tl_docker_free(t->docker);
	memset(t, 0, sizeof(*t));
}

static int host_major(int *major, const char *prog)
{
	const char *argv[] = {prog, "--version", NULL};
	tl__spawn_opts so = {0};
	so.argv = argv;
	so.stdout_mode = TL__STDIO_BUFFER;
	so.stderr_mode = TL__STDIO_NULL;
	so.timeout_ms = 10000;
	tl__spawn_result res = {0};
	int rc = tl__spawn(&res, NULL, &so);
	*major = rc == TL_OK && res.exited && res.exit_status == 0 && res.out.ptr
	                 ? tl__bk_tools_major(res.out.ptr)
	                 : 0;
	tl__spawn_result_dispose(&res);
	tl_error_clear(); /* a missing program is just "no host tools" */
	return TL_OK;
}

static int host_tools(tl__bk_tools *t, const char *bin_dir, int server_version)
{
	t->dump = tl__bk_program(bin_dir, server_version, "pg_dump");
	t->restore = tl__bk_program(bin_dir, server_version, "pg_restore");
	t->psql = tl__bk_program(bin_dir, server_version, "psql");
	if (!t->dump || !t->restore || !t->psql)
		return TL_ENOMEM;
	const char *slash = strrchr(t->dump, '/');
	t->where = slash ? tl__strndup(t->dump, (size_t)(slash - t->dump)) : tl__strdup("PATH");
	if (!t->where)
		return TL_ENOMEM;
	return host_major(&t->tools_major, t->dump);
}

/* TOWLION_PG_URL's host and port (5432 when not given); host "" for a
 * Unix socket or several hosts. */
static int url_address(char *host, size_t hlen, int *port, tl_ctx *ctx)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(tl__cfg(ctx, "TOWLION_PG_URL"), &err);
	if (err)
		tl__free_secret(err);
	if (!opts)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_PG_URL is not a valid PostgreSQL URL");
	host[0] = '\0';
	*port = 5432;
	uint64_t pv;
	int rc = TL_OK;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host") && o->val[0] != '/' && !strchr(o->val, ','))
			snprintf(host, hlen, "%s", o->val);
		else if (!strcmp(o->keyword, "port") &&
		         tl_parse_uint(&pv, o->val, 1, 65535, "TOWLION_PG_URL port") == TL_OK)
			*port = (int)pv;
		else if (!strcmp(o->keyword, "port"))
			rc = TL_EINVALID;
	}
	PQconninfoFree(opts);
	return rc;
}

/* Whether container `c` is the server at host:port: it publishes its
 * 5432 on that port of the host's loopback (the platform's own layout),
 * or host is its address on one of its networks. */
static int serves(const tl_docker_container *c, const char *host, int port)
{
	if (!strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1"))
		return port > 0 && tl_docker_container_host_port(c, PG_CONTAINER_PORT, NULL) == port;
	return *host && port == PG_PORT && !strcmp(tl_docker_container_ip(c, NULL), host);
}

/* The platform's running postgres container that serves TOWLION_PG_URL,
 * or t->container NULL with `why` saying why there is none. */
static int find_container(tl__bk_tools *t, tl_ctx *ctx, char *why, size_t wlen)
{
	char host[256];
	int port = 0;
	int rc = url_address(host, sizeof(host), &port, ctx);
	if (rc)
		return rc;
	rc = tl_docker_open(&t->docker, ctx);
	if (rc) {
		tl__error_prefix("cannot look for the platform's PostgreSQL container");
		return rc;
	}
	const char *filters[] = {"towlion.platform=1", "towlion.service=postgres", NULL};
	tl_docker_container_list *l = NULL;
	if ((rc = tl_docker_container_list_by_label(&l, t->docker, filters, 0)))
		return rc;
	size_t n = tl_docker_container_list_count(l);
	const tl_docker_container *found = NULL;
	for (size_t i = 0; i < n; i++)
		if (serves(tl_docker_container_list_at(l, i), host, port))
			found = tl_docker_container_list_at(l, i);
	if (found) {
		t->container = tl__strdup(tl_docker_container_id(found));
		t->where = tl__strdup(tl_docker_container_name(found));
		if (!t->container || !t->where)
			rc = TL_ENOMEM;
	} else if (n) {
		snprintf(why, wlen, "the platform's PostgreSQL container %s does not serve "
		         "TOWLION_PG_URL's %s:%d (it publishes its port %s on 127.0.0.1:%d)",
		         tl_docker_container_name(tl_docker_container_list_at(l, 0)), host, port,
		         PG_CONTAINER_PORT,
		         tl_docker_container_host_port(tl_docker_container_list_at(l, 0),
		                                       PG_CONTAINER_PORT, NULL));
	} else {
		snprintf(why, wlen, "no platform PostgreSQL container is running");
	}
	tl_docker_container_list_free(l);
	return rc;
}

/* `prog --version` in the container: its major, 0 when it does not run. */
static int container_major(int *major, tl__bk_tools *t, const char *prog)
{
	const char *argv[] = {prog, "--version", NULL};
	tl_docker_exec_options eo = TL_DOCKER_EXEC_OPTIONS_INIT;
	eo.user = NOBODY;
	eo.timeout_ms = 10000;
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	int code = -1;
	int rc = tl_docker_exec(&code, &out, &err, t->docker, t->container, argv, &eo);
	*major = rc == TL_OK && code == 0 && out.ptr ? tl__bk_tools_major(out.ptr) : 0;
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	return rc;
}

static int container_tools(tl__bk_tools *t, int server_major)
{
	/* Debian's layout first (the upstream image is Debian's too), then
	 * the image's PATH. */
	char *dir = tl__sprintf("/usr/lib/postgresql/%d/bin/", server_major);
	if (!dir)
		return TL_ENOMEM;
	int rc = TL_OK;
	for (int i = 0; i < 2 && rc == TL_OK && !t->tools_major; i++) {
		const char *prefix = i == 0 ? dir : "";
		free(t->dump);
		t->dump = tl__sprintf("%spg_dump", prefix);
		if (!t->dump) {
			rc = TL_ENOMEM;
			break;
		}
		rc = container_major(&t->tools_major, t, t->dump);
		if (rc == TL_OK && t->tools_major) {
			t->restore = tl__sprintf("%spg_restore", prefix);
			t->psql = tl__sprintf("%spsql", prefix);
			if (!t->restore || !t->psql)
				rc = TL_ENOMEM;
		}
	}
	free(dir);
	return rc;
}

/* `host` NULL: the host was not tried; `container_why` NULL: the
 * container was not. */
static int refuse(int server_major, const tl__bk_tools *host, const char *mode,
                  const char *container_why)
{
	char host_part[256] = "";
	if (host && host->tools_major)
		snprintf(host_part, sizeof(host_part), "the host's pg_dump (%s) is PostgreSQL %d",
		         host->dump, host->tools_major);
	else if (host)
		snprintf(host_part, sizeof(host_part), "the host has no runnable pg_dump (%s)",
		         host->dump);
	return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_BACKUP,
	                     "no dump tools of PostgreSQL %d, the server's major version: %s%s%s "
	                     "(TOWLION_PG_TOOLS=%s); install postgresql-client-%d on the host, or "
	                     "run the platform's PostgreSQL container (labels towlion.platform=1, "
	                     "towlion.service=postgres) with TOWLION_PG_TOOLS=auto; nothing was "
	                     "changed",
	                     server_major, host_part, host && container_why ? "; " : "",
	                     container_why ? container_why : "", mode, server_major);
}

int tl__bk_tools_pick(tl__bk_tools *out, tl_ctx *ctx, PGconn *server, const char *bin_dir)
{
	const char *mode = tl__cfg(ctx, "TOWLION_PG_TOOLS");
	if (!mode || !*mode)
		mode = "auto";
	if (strcmp(mode, "auto") && strcmp(mode, "host") && strcmp(mode, "container"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_PG_TOOLS is \"%s\"; it must be auto, host or container",
		                     mode);
	int server_version = PQserverVersion(server);
	int server_major = server_version / 10000;
	tl__bk_tools host = {0}, box = {0};
	host.server_major = box.server_major = server_major;
	int rc = TL_OK;
	if (strcmp(mode, "container")) {
		if ((rc = host_tools(&host, bin_dir, server_version)))
			goto fail;
		if (host.tools_major == server_major) {
			*out = host;
			return TL_OK;
		}
		if (!strcmp(mode, "host")) {
			rc = refuse(server_major, &host, mode, NULL);
			goto fail;
		}
	}
	char why[512] = "";
	box.in_container = 1;
	if ((rc = find_container(&box, ctx, why, sizeof(why))))
		goto fail;
	if (!box.container)
		; /* `why` says why */
	else if ((rc = container_tools(&box, server_major)))
		goto fail;
	else if (box.tools_major != server_major)
		snprintf(why, sizeof(why), "the container %s has %s", box.where,
		         box.tools_major ? "tools of another major version" : "no runnable pg_dump");
	if (*why) {
		rc = refuse(server_major, strcmp(mode, "container") ? &host : NULL, mode, why);
		goto fail;
	}
	tl__bk_tools_dispose(&host);
	*out = box;
	return TL_OK;
fail:
	tl__bk_tools_dispose(&host);
	tl__bk_tools_dispose(&box);
	return rc;
}

int tl__bk_tools_client(tl__bk_client *out, const tl__bk_tools *t, tl_ctx *ctx,
                        const char *dbname, const char *user, const char *password)
{
	if (!t || !t->in_container)
		return tl__bk_client_as(out, ctx, dbname, user, password);
	return tl__bk_client_at(out, ctx, dbname, user, password, "127.0.0.1",
	                        PG_CONTAINER_PORT);
}

int tl__bk_tools_run(tl__spawn_result *res, const tl__bk_tools *t, const tl__spawn_opts *so)
{
	if (!t || !t->in_container)
		return tl__spawn(res, NULL, so);
	/* This runs on a worker thread that writes into a pipe its caller may
	 * close: EPIPE, not a SIGPIPE for the whole process. */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	tl_docker_exec_options eo = TL_DOCKER_EXEC_OPTIONS_INIT;
	eo.env = so->env;
	eo.user = NOBODY;
	eo.timeout_ms = so->timeout_ms > 0 ? so->timeout_ms : 0;
	eo.stdin_fd = so->stdin_mode == TL__STDIO_FD ? so->in_fd : -1;
	eo.stdout_fd = so->stdout_mode == TL__STDIO_FD ? so->out_fd : -1;
	int code = -1;
	int rc = tl_docker_exec(&code, NULL, &res->err, t->docker, t->container, so->argv, &eo);
	if (rc == TL_OK) {
		res->exited = 1;
		res->exit_status = code;
	}
	return rc;
}

int tl_backup_pg_tools(tl_buf *out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	PGconn *c = NULL;
	int rc = tl__bk_pg_open(&c, ctx, NULL);
	tl__bk_tools t = {0};
	if (rc == TL_OK)
		rc = tl__bk_tools_pick(&t, ctx, c, NULL);
	PQfinish(c);
	if (rc)
		return rc;
	tl_buf s = TL_BUF_INIT;
	rc = tl__buf_printf(&s, "%s %s (PostgreSQL %d tools, server %d)",
	                    t.in_container ? "container" : "host", t.where, t.tools_major,
	                    t.server_major);
	if (rc == TL_OK)
		rc = tl__buf_set(out, s.ptr, s.size);
	tl_buf_dispose(&s);
	tl__bk_tools_dispose(&t);
	return rc;
}
