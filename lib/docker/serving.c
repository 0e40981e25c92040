/*
 * How many connections a container is serving right now, read from the
 * kernel's TCP tables of its network namespace (/proc/PID/net/tcp{,6}).
 *
 * The deploy's drain uses it: Caddy swaps its configuration without
 * waiting for the requests the old configuration is still proxying, so
 * a fixed drain time cuts a request that takes longer than it (a slow
 * page on a loaded machine). A connection to a port the container
 * listens on is a request being served (or a client's idle keep-alive);
 * when there is none, stopping the container cuts nothing.
 *
 * This needs the daemon's processes to be this machine's: it is told only
 * when dockerd is reached through a unix socket and the process Docker
 * names as the container's carries the container's id in its cgroup (a
 * socket forwarded from another machine, or a pid reused meanwhile, then
 * answer "cannot tell", and the caller falls back to the drain time).
 */
#include "docker_int.h"
#include "serving.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The tables of a busy server run to a few thousand lines. */
#define TCP_TABLE_MAX (8u * 1024 * 1024)
#define CGROUP_MAX (64u * 1024)

enum { TCP_ESTABLISHED = 0x01, TCP_LISTEN = 0x0A };

/* "ADDR:PORT " of a row, advancing *q: the address 8 hex digits (tcp) or
 * 32 (tcp6), the port 4. */
static bool endpoint(const char **q, uint64_t *port)
{
	size_t n = strspn(*q, "0123456789ABCDEFabcdef");
	const char *p = *q + n;
	if ((n != 8 && n != 32) || *p++ != ':' || !tl__parse_hex_digits(port, &p, 4) ||
	    *p++ != ' ')
		return false;
	*q = p;
	return true;
}

/* One row of a /proc/net/tcp table: "  N: LOCAL:PORT REMOTE:PORT ST ...";
 * the local port and the state, or false for the header or a short row.
 * The kernel's hex fields, read strictly: sscanf's "%x" took a sign, and
 * its "%63s %63s %x" a row of any shape. */
static bool parse_row(const char *line, unsigned *port, unsigned *state)
{
	const char *p = line;
	while (*p == ' ')
		p++;
	const char *colon = strchr(p, ':');
	if (!colon || colon == p)
		return false;
	for (const char *q = p; q < colon; q++)
		if (*q < '0' || *q > '9')
			return false; /* the header row */
	uint64_t lport = 0, rport = 0, st = 0;
	const char *q = colon + 1;
	if (*q++ != ' ' || !endpoint(&q, &lport) || !endpoint(&q, &rport) ||
	    !tl__parse_hex_digits(&st, &q, 2) || (*q != ' ' && *q != '\n' && *q))
		return false;
	*port = (unsigned)lport;
	*state = (unsigned)st;
	return true;
}

int tl__tcp_tables_serving(const char *tables)
{
	static const size_t nbytes = 65536 / 8;
	uint8_t listening[65536 / 8];
	memset(listening, 0, nbytes);
	unsigned port, state;
	for (const char *line = tables; line && *line;) {
		if (parse_row(line, &port, &state) && state == TCP_LISTEN)
			listening[port / 8] |= (uint8_t)(1u << (port % 8));
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	int n = 0;
	for (const char *line = tables; line && *line;) {
		if (parse_row(line, &port, &state) && state == TCP_ESTABLISHED &&
		    (listening[port / 8] & (1u << (port % 8))))
			n++;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return n;
}

/* Whether /proc/PID is still the container `id`'s process. */
static bool pid_is_container(long pid, const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	tl_buf cg = TL_BUF_INIT;
	bool ok = tl__file_read_max(&cg, path, CGROUP_MAX, "cgroup") == TL_OK && cg.ptr &&
	          strstr(cg.ptr, id) != NULL;
	tl_buf_dispose(&cg);
	tl_error_clear();
	return ok;
}

int tl__docker_container_serving(tl_docker *d, const char *container)
{
	if (!d || !d->sock)
		return -1;
	json_t *j = NULL;
	if (tl__docker_inspect(&j, d, "containers", "/json", "container", container)) {
		tl_error_clear();
		return -1;
	}
	const char *id = json_string_value(json_object_get(j, "Id"));
	json_t *pidj = json_object_get(json_object_get(j, "State"), "Pid");
	long pid = json_is_integer(pidj) ? (long)json_integer_value(pidj) : 0;
	int n = -1;
	if (id && strlen(id) >= 12 && pid > 0 && pid_is_container(pid, id)) {
		tl_buf tables = TL_BUF_INIT;
		char path[64];
		int rc = TL_OK;
		const char *names[] = {"tcp", "tcp6"};
		for (int i = 0; i < 2 && rc == TL_OK; i++) {
			snprintf(path, sizeof(path), "/proc/%ld/net/%s", pid, names[i]);
			tl_buf t = TL_BUF_INIT;
			/* A kernel without IPv6 has no tcp6: the other table is enough. */
			if (tl__file_read_max(&t, path, TCP_TABLE_MAX, "TCP table") == TL_OK)
				rc = tl__buf_put(&tables, t.ptr ? t.ptr : "", t.size);
			else if (i == 0)
				rc = TL_ENOTFOUND;
			tl_error_clear();
			tl_buf_dispose(&t);
		}
		/* Read again after the tables: the pid must not have changed hands. */
		if (rc == TL_OK && pid_is_container(pid, id))
			n = tl__tcp_tables_serving(tables.ptr ? tables.ptr : "");
		tl_buf_dispose(&tables);
	}
	json_decref(j);
	return n;
}
