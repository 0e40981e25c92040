/*
 * Spawning processes: argv only (never a shell), in their own process
 * group so a timeout or a cancel can kill everything they started.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Write to a pipe without dying of SIGPIPE when the reader is gone. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t n = write(fd, buf, len);
	int saved = errno;
	if (n < 0 && errno == EPIPE) {
		/* Consume the SIGPIPE we just caused so it is not delivered
		 * later, unless one was pending before. */
		struct timespec zero = {0, 0};
		sigset_t pending;
		sigpending(&pending);
		if (!sigismember(&old, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

/* Build the child's environment: the parent's (unless clean) with the
 * extra NAME=value entries replacing same-named ones. */
static char **build_env(const tl__spawn_opts *o)
{
	size_t nextra = 0, nparent = 0;
	while (o->env && o->env[nextra])
		nextra++;
	if (!o->clean_env)
		while (environ[nparent])
			nparent++;
	char **envp = tl__calloc(nparent + nextra + 1, sizeof(char *));
	if (!envp)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < nparent; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t klen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool replaced = false;
		for (size_t j = 0; j < nextra && !replaced; j++)
			replaced = strncmp(o->env[j], environ[i], klen) == 0 && o->env[j][klen] == '=';
		if (!replaced)
			envp[n++] = environ[i];
	}
	for (size_t j = 0; j < nextra; j++)
		envp[n++] = (char *)o->env[j];
	envp[n] = NULL;
	return envp;
}

typedef struct {
	int fd;          /* parent end, -1 when closed */
	int mode;
	tl_buf *capture; /* BUFFER */
	tl_buf line;     /* EVENTS: the partial line */
	int level;
} out_pipe;

static int flush_line(tl_ctx *ctx, out_pipe *op, const char *subject)
{
	int rc = tl__output(ctx, op->level, subject, op->line.ptr ? op->line.ptr : "");
	tl__buf_clear(&op->line);
	return rc;
}

/* Read what is there; returns TL_EUSER when an event cancelled. */
static int drain(tl_ctx *ctx, out_pipe *op, const char *subject)
{
	char chunk[8192];
	ssize_t n = read(op->fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return TL_OK;
	if (n <= 0) {
		close(op->fd);
		op->fd = -1;
		if (op->mode == TL__STDIO_EVENTS && op->line.size)
			return flush_line(ctx, op, subject);
		return TL_OK;
	}
	if (op->mode == TL__STDIO_BUFFER)
		return tl__buf_put(op->capture, chunk, (size_t)n);
	for (ssize_t i = 0; i < n; i++) {
		int rc = TL_OK;
		if (chunk[i] == '\n')
			rc = flush_line(ctx, op, subject);
		else if (chunk[i] != '\r')
			rc = tl__buf_putc(&op->line, chunk[i]);
		if (rc)
			return rc;
	}
	return TL_OK;
}

static void kill_group(pid_t pid, int *status)
{
	kill(-pid, SIGTERM);
	int64_t deadline = tl__clock_ms() + 2000;
	while (tl__clock_ms() < deadline) {
		if (waitpid(pid, status, WNOHANG) == pid) {
			kill(-pid, SIGKILL); /* stragglers of the group */
			return;
		}
		tl__sleep_ms(10);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
	}
}

static int setup_stdio(posix_spawn_file_actions_t *fa, int target, int mode,
                       const char *path, int fd, int pipefd[2], bool is_input)
{
	switch (mode) {
	case TL__STDIO_INHERIT:
		return 0;
	case TL__STDIO_NULL:
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
		                                        is_input ? O_RDONLY : O_WRONLY, 0);
	case TL__STDIO_FILE:
		return posix_spawn_file_actions_addopen(
			fa, target, path, is_input ? O_RDONLY : (O_WRONLY | O_CREAT | O_TRUNC), 0600);
	case TL__STDIO_FD:
		return posix_spawn_file_actions_adddup2(fa, fd, target);
	default:
		if (pipe2(pipefd, O_CLOEXEC) != 0)
			return errno;
		return posix_spawn_file_actions_adddup2(fa, pipefd[is_input ? 0 : 1], target);
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int tl__spawn(tl__spawn_result *res, tl_ctx *ctx, const tl__spawn_opts *o)
{
	TL__CHECK_ARG(res && o && o->argv && o->argv[0]);
	memset(res, 0, sizeof(*res));
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	char **envp = build_env(o);
	int rc = envp ? TL_OK : TL_ENOMEM;
	int e = 0;
	if (rc == TL_OK) {
		e = setup_stdio(&fa, 0, o->stdin_mode, o->in_path, o->in_fd, in_p, true);
		if (!e)
			e = setup_stdio(&fa, 1, o->stdout_mode, o->out_path, o->out_fd, out_p, false);
		if (!e)
			e = setup_stdio(&fa, 2, o->stderr_mode, o->err_path, o->err_fd, err_p, false);
		if (!e && o->cwd)
			e = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
		if (e)
			rc = tl__error_os(TL_EIO, e, "cannot prepare to run %s", o->argv[0]);
	}
	pid_t pid = -1;
	if (rc == TL_OK) {
		sigset_t none, def;
		sigemptyset(&none);
		sigemptyset(&def);
		sigaddset(&def, SIGPIPE);
		sigaddset(&def, SIGTERM);
		sigaddset(&def, SIGINT);
		sigaddset(&def, SIGCHLD);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &def);
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		                                    POSIX_SPAWN_SETSIGDEF);
		e = strchr(o->argv[0], '/')
		        ? posix_spawn(&pid, o->argv[0], &fa, &attr, (char *const *)o->argv, envp)
		        : posix_spawnp(&pid, o->argv[0], &fa, &attr, (char *const *)o->argv, envp);
		if (e)
			rc = tl__error_os(e == ENOENT ? TL_ENOTFOUND : TL_EIO, e, "cannot run %s%s",
			                  o->argv[0], e == ENOENT ? " (is it installed?)" : "");
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	if (rc) {
		close_fd(&in_p[1]);
		close_fd(&out_p[0]);
		close_fd(&err_p[0]);
		return rc;
	}

	out_pipe outs[2] = {{out_p[0], o->stdout_mode, &res->out, TL_BUF_INIT, TL_LOG_INFO},
	                    {err_p[0], o->stderr_mode, &res->err, TL_BUF_INIT, TL_LOG_WARN}};
	size_t in_off = 0;
	if (in_p[1] >= 0)
		fcntl(in_p[1], F_SETFL, O_NONBLOCK);
	int64_t deadline = o->timeout_ms > 0 ? tl__clock_ms() + o->timeout_ms : 0;
	int status = 0;
	bool reaped = false;
	while (rc == TL_OK) {
		if (in_p[1] >= 0 && in_off >= o->in_len)
			close_fd(&in_p[1]); /* EOF for the child */
		struct pollfd pf[3];
		int np = 0;
		int idx[3];
		if (in_p[1] >= 0) {
			pf[np] = (struct pollfd){in_p[1], POLLOUT, 0};
			idx[np++] = 2;
		}
		for (int i = 0; i < 2; i++)
			if (outs[i].fd >= 0) {
				pf[np] = (struct pollfd){outs[i].fd, POLLIN, 0};
				idx[np++] = i;
			}
		if (np == 0) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				reaped = true;
				break;
			}
		}
		long wait = 100;
		if (deadline) {
			int64_t left = deadline - tl__clock_ms();
			if (left <= 0) {
				res->timed_out = 1;
				rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_PROCESS,
				                   "%s did not finish within %d ms and was killed",
				                   o->argv[0], o->timeout_ms);
				break;
			}
			if (left < wait)
				wait = left;
		}
		if (np == 0) {
			tl__sleep_ms(5);
		} else if (poll(pf, (nfds_t)np, (int)wait) < 0 && errno != EINTR) {
			rc = tl__error_os(TL_EIO, errno, "poll failed while running %s", o->argv[0]);
			break;
		}
		for (int i = 0; i < np && rc == TL_OK; i++) {
			if (!pf[i].revents)
				continue;
			if (idx[i] == 2) {
				ssize_t n = write_nosigpipe(in_p[1], (const char *)o->in + in_off,
				                            o->in_len - in_off);
				if (n > 0)
					in_off += (size_t)n;
				else if (n < 0 && errno != EAGAIN && errno != EINTR)
					close_fd(&in_p[1]); /* the child stopped reading */
			} else {
				rc = drain(ctx, &outs[idx[i]], o->subject);
			}
		}
		if (rc == TL_OK)
			rc = tl__cancelled(ctx);
	}
	if (!reaped) {
		if (rc == TL_OK)
			waitpid(pid, &status, 0);
		else
			kill_group(pid, &status);
	}
	close_fd(&in_p[1]);
	for (int i = 0; i < 2; i++) {
		close_fd(&outs[i].fd);
		tl_buf_dispose(&outs[i].line);
	}
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signal = WTERMSIG(status);
	}
	return rc;
}

void tl__spawn_result_dispose(tl__spawn_result *res)
{
	if (!res)
		return;
	tl__buf_dispose_secret(&res->out);
	tl__buf_dispose_secret(&res->err);
}

const char *tl__spawn_describe(const tl__spawn_result *res, char *buf, size_t len)
{
	if (res->timed_out)
		snprintf(buf, len, "killed after its timeout");
	else if (res->exited)
		snprintf(buf, len, "exit status %d", res->exit_status);
	else
		snprintf(buf, len, "killed by signal %d (%s)", res->signal, strsignal(res->signal));
	return buf;
}
