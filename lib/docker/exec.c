/* Exec: run a command in a running container.
 *
 * Starting an exec hijacks the HTTP connection (101 UPGRADED): from then
 * on the socket carries the command's stdin one way and its multiplexed
 * output the other, and closing our writing half is its EOF on stdin.
 * libcurl cannot half-close, so this speaks that one exchange itself over
 * its own socket. */
#include "docker_int.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The size of each version of tl_docker_exec_options (options.h). */
static const size_t exec_sizes[] = {
	offsetof(tl_docker_exec_options, stdin_fd), /* 1 */
	sizeof(tl_docker_exec_options),             /* 2: stdin_fd, stdout_fd */
};

int tl_docker_exec_options_init(tl_docker_exec_options *o, unsigned int version)
{
	tl_docker_exec_options def = TL_DOCKER_EXEC_OPTIONS_INIT;
	return TL__OPTIONS_INIT_GROWN(o, version, def, exec_sizes, TL_DOCKER_EXEC_OPTIONS_VERSION,
	                              "tl_docker_exec_options");
}

static int dial(const tl_docker *d, int *fd_out)
{
	int fd = -1;
	if (d->sock) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(d->sock) >= sizeof(sa.sun_path))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "Docker socket path %s is too long", d->sock);
		strcpy(sa.sun_path, d->sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return tl__error_os(TL_EUNAVAILABLE, e, "cannot connect to Docker at %s",
			                    d->sock);
		}
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		char port[8];
		snprintf(port, sizeof(port), "%d", d->tcp_port);
		if (getaddrinfo(d->tcp_host, port, &hints, &res) != 0)
			return tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_DOCKER,
			                     "cannot resolve Docker host %s", d->tcp_host);
		for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
			fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
			if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
				close(fd);
				fd = -1;
			}
		}
		freeaddrinfo(res);
		if (fd < 0)
			return tl__error_os(TL_EUNAVAILABLE, errno, "cannot connect to Docker at %s",
			                    d->host);
	}
	*fd_out = fd;
	return TL_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return tl__error_os(TL_EIO, errno, "writing to Docker failed");
		p += w;
		n -= (size_t)w;
	}
	return TL_OK;
}

typedef struct {
	tl__docker_hijack answer;
	tl_buf *out, *err;
	int out_fd; /* stdout goes here when >= 0 */
	tl__docker_lines lines;
	int events;
	const char *what;
} exec_state;

static int exec_emit(int stream, const char *data, size_t len, void *p)
{
	exec_state *s = p;
	if (stream == DK_SYSERR)
		return tl__error_set(TL_ERROR, TL_ERRCLASS_DOCKER, "Docker: %.*s",
		                     (int)(len > 500 ? 500 : len), data);
	if (s->events)
		return tl__docker_lines_put(&s->lines, stream, data, len);
	if (stream != DK_STDERR && s->out_fd >= 0) {
		while (len) {
			ssize_t w = write(s->out_fd, data, len);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return tl__error_os(TL_EIO, errno, "%s: cannot pass its output on", s->what);
			data += w;
			len -= (size_t)w;
		}
		return TL_OK;
	}
	tl_buf *b = stream == DK_STDERR ? s->err : s->out;
	if (!b)
		return TL_OK;
	/* the command is the tenant's: its output is read up to a cap */
	size_t have = (s->out ? s->out->size : 0) + (s->err ? s->err->size : 0);
	if (have + len > DK_BUFFERED_MAX)
		return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                     "%s: its output is larger than %u bytes (the limit for reading "
		                     "it into memory); stream it as events instead", s->what,
		                     DK_BUFFERED_MAX);
	return tl__buf_put(b, data, len);
}

/* POST /exec/{id}/start over a fresh socket, then stream. */
static int run_hijacked(tl_docker *d, const char *exec_id, int tty,
                        const tl_docker_exec_options *o, exec_state *s, const char *what)
{
	int fd = -1;
	int rc = dial(d, &fd);
	if (rc)
		return rc;
	char body[64];
	snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
	tl_buf req = TL_BUF_INIT;
	rc = tl__buf_printf(&req,
	                    "POST /v%s/exec/%s/start HTTP/1.1\r\nHost: docker\r\n"
	                    "Content-Type: application/json\r\nConnection: Upgrade\r\n"
	                    "Upgrade: tcp\r\nContent-Length: %zu\r\n\r\n%s",
	                    d->api, exec_id, strlen(body), body);
	if (!rc)
		rc = write_all(fd, req.ptr, req.size);
	tl_buf_dispose(&req);

	int64_t deadline = o->timeout_ms > 0 ? tl__clock_ms() + o->timeout_ms : 0;
	int want_stdin = o->stdin_data != NULL || o->stdin_fd >= 0;
	size_t stdin_off = 0;
	char buf[65536]; /* a pg_dump streams through here: fewer, larger reads */
	/* With stdin_fd: one slice read from it, sent before the next read. */
	char *slice = o->stdin_fd >= 0 ? tl__malloc(65536) : NULL;
	size_t slice_len = 0, slice_off = 0;
	int slice_eof = 0;
	if (o->stdin_fd >= 0 && !slice)
		rc = TL_ENOMEM;
	while (!rc) {
		if ((rc = tl__cancelled(d->ctx)))
			break;
		int wait = 200;
		if (deadline) {
			int64_t left = deadline - tl__clock_ms();
			if (left <= 0) {
				rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DOCKER,
				                   "%s: still running after %ld ms", what, o->timeout_ms);
				break;
			}
			if (left < wait)
				wait = (int)left;
		}
		struct pollfd pfds[2] = {{fd, POLLIN, 0}, {-1, 0, 0}};
		struct pollfd *pfd = &pfds[0];
		if (!s->answer.in_headers && want_stdin) {
			if (slice && slice_off == slice_len && !slice_eof)
				pfds[1] = (struct pollfd){o->stdin_fd, POLLIN, 0};
			else
				pfd->events |= POLLOUT;
		}
		int n = poll(pfds, 2, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tl__error_os(TL_EIO, errno, "%s: poll failed", what);
			break;
		}
		if (n == 0)
			continue;
		if (pfds[1].revents) {
			ssize_t got = read(o->stdin_fd, slice, 65536);
			if (got < 0 && errno != EINTR && errno != EAGAIN) {
				rc = tl__error_os(TL_EIO, errno, "%s: cannot read its input", what);
				break;
			}
			if (got == 0)
				slice_eof = 1;
			if (got >= 0)
				slice_len = (size_t)got, slice_off = 0;
		}
		if (pfd->revents & POLLOUT) {
			const char *src = slice ? slice + slice_off
			                        : (const char *)o->stdin_data + stdin_off;
			size_t left = slice ? slice_len - slice_off : o->stdin_len - stdin_off;
			ssize_t w = left ? send(fd, src, left > 65536 ? 65536 : left,
			                        MSG_NOSIGNAL | MSG_DONTWAIT)
			                 : 0;
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* the command closed its stdin early: that is its business */
				want_stdin = 0;
				shutdown(fd, SHUT_WR);
			} else if (w >= 0) {
				if (slice)
					slice_off += (size_t)w;
				else
					stdin_off += (size_t)w;
				if (slice ? slice_eof && slice_off == slice_len
				          : stdin_off == o->stdin_len) {
					want_stdin = 0;
					shutdown(fd, SHUT_WR); /* EOF on the command's stdin */
				}
			}
		}
		if (!(pfd->revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			rc = tl__error_os(TL_EIO, errno, "%s: reading from Docker failed", what);
			break;
		}
		if (r == 0)
			break;
		rc = tl__docker_hijack_feed(&s->answer, buf, (size_t)r, exec_emit, s, what);
	}
	close(fd);
	free(slice);
	if (!rc)
		rc = tl__docker_hijack_finish(&s->answer, what);
	return rc;
}

int tl_docker_exec(int *exit_code, tl_buf *out, tl_buf *err, tl_docker *d,
                   const char *container, const char *const *argv,
                   const tl_docker_exec_options *opts)
{
	TL__CHECK_ARG(d && argv && argv[0]);
	tl_docker_exec_options copy = TL_DOCKER_EXEC_OPTIONS_INIT, *o = &copy;
	int rc = TL__OPTIONS_UPGRADE(&copy, opts, exec_sizes, TL_DOCKER_EXEC_OPTIONS_VERSION,
	                             "tl_docker_exec_options");
	if (rc)
		return rc;
	TL__CHECK_ARG(o->timeout_ms >= 0 && !(o->stdin_fd >= 0 && o->stdin_data) &&
	              !(o->stdout_fd >= 0 && out));
	rc = tl__docker_check_ref(container, "container name");
	if (rc)
		return rc;
	json_t *cmd = json_array(), *env = json_array();
	for (const char *const *a = argv; *a; a++)
		json_array_append_new(cmd, json_string(*a));
	for (const char *const *e = o->env; e && *e; e++)
		json_array_append_new(env, json_string(*e));
	json_t *body = json_pack("{s:b, s:b, s:b, s:b, s:o, s:o}", "AttachStdin",
	                         o->stdin_data != NULL || o->stdin_fd >= 0, "AttachStdout", 1, "AttachStderr", 1, "Tty",
	                         o->tty != 0, "Cmd", cmd, "Env", env);
	if (body && o->user)
		json_object_set_new(body, "User", json_string(o->user));
	if (body && o->workdir)
		json_object_set_new(body, "WorkingDir", json_string(o->workdir));
	char *path = tl__sprintf("/containers/%s/exec", container);
	char *what = tl__sprintf("run %s in container %s", argv[0], container);
	json_t *ans = NULL;
	rc = body && path && what ? tl__docker_call(d, "POST", path, body, &ans, 0, what) : TL_ENOMEM;
	json_decref(body);
	free(path);
	const char *id = json_string_value(json_object_get(ans, "Id"));
	if (!rc && !id)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER, "%s: Docker answered no exec id", what);
	/* collected aside, so that the caller's buffers change only on success */
	tl_buf got_out = TL_BUF_INIT, got_err = TL_BUF_INIT;
	exec_state s = {0};
	tl__docker_hijack_init(&s.answer, o->tty);
	s.out = out ? &got_out : NULL;
	s.err = err ? &got_err : NULL;
	s.out_fd = o->stdout_fd;
	s.events = !out && !err && o->stdout_fd < 0;
	s.lines.ctx = d->ctx;
	s.lines.subject = container;
	s.what = what;
	if (!rc)
		rc = run_hijacked(d, id, o->tty, o, &s, what);
	if (s.events) {
		int frc = tl__docker_lines_flush(&s.lines);
		if (!rc)
			rc = frc;
	}
	tl__docker_lines_dispose(&s.lines);
	tl__docker_hijack_dispose(&s.answer);
	/* The stream ends when the command does; its exit code may take a
	 * moment to be recorded. */
	char *ipath = id ? tl__sprintf("/exec/%s/json", id) : NULL;
	int status = -1;
	for (int tries = 0; !rc && tries < 100; tries++) {
		json_t *info = NULL;
		if (!ipath) {
			rc = TL_ENOMEM;
			break;
		}
		if ((rc = tl__docker_call(d, "GET", ipath, NULL, &info, 0, what)))
			break;
		json_t *running = json_object_get(info, "Running");
		json_t *ec = json_object_get(info, "ExitCode");
		if (!json_is_true(running) && json_is_integer(ec)) {
			status = (int)json_integer_value(ec);
			json_decref(info);
			break;
		}
		json_decref(info);
		if (tries == 99)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
			                   "%s: its output ended but Docker reports it still running",
			                   what);
		else
			usleep(10000);
	}
	free(ipath);
	if (!rc && out)
		rc = tl__buf_set(out, got_out.ptr ? got_out.ptr : "", got_out.size);
	if (!rc && err)
		rc = tl__buf_set(err, got_err.ptr ? got_err.ptr : "", got_err.size);
	if (!rc && exit_code)
		*exit_code = status;
	tl_buf_dispose(&got_out);
	tl_buf_dispose(&got_err);
	json_decref(ans);
	free(what);
	return rc;
}
