/* SSH sessions: TCP connect with a timeout, handshake, host key check,
 * authentication; error mapping shared by the module. */
#include "ssh_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TL__SSH_DEFAULT_CONNECT_MS 10000
#define TL__SSH_DEFAULT_TIMEOUT_MS 60000
#define TL__SSH_DEFAULT_KEEPALIVE_S 15

int tl_ssh_options_init(tl_ssh_options *opts, unsigned int version)
{
	tl_ssh_options def = TL_SSH_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_SSH_OPTIONS_VERSION, "tl_ssh_options");
}

int tl__ssh_result_of(int ssh_rc)
{
	switch (ssh_rc) {
	case LIBSSH2_ERROR_TIMEOUT:
		return TL_ETIMEOUT;
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
		return TL_EUNAVAILABLE;
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
	case LIBSSH2_ERROR_AGENT_PROTOCOL:
		return TL_EAUTH;
	case LIBSSH2_ERROR_ALLOC:
		return TL_ENOMEM;
	case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return TL_EUNSUPPORTED;
	default:
		return TL_EIO;
	}
}

int tl__ssh_fail(tl_ssh *ssh, int ssh_rc, const char *what)
{
	char *msg = NULL;
	int len = 0;
	if (ssh->session)
		libssh2_session_last_error(ssh->session, &msg, &len, 0);
	char code[16];
	snprintf(code, sizeof(code), "%d", ssh_rc);
	return tl__error_set_upstream(tl__ssh_result_of(ssh_rc), TL_ERRCLASS_SSH, code, ssh_rc,
	                              "%s on %s: %s (libssh2 error %d)", what, ssh->label,
	                              msg && len ? msg : "failed", ssh_rc);
}

int tl__ssh_wait(tl_ssh *ssh, int ms, int extra_fd, bool *extra_ready)
{
	struct pollfd p[2] = {{ssh->sock, POLLIN, 0}, {extra_fd, POLLIN, 0}};
	if (libssh2_session_block_directions(ssh->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p[0].events |= POLLOUT;
	nfds_t n = extra_fd >= 0 ? 2 : 1;
	int r = poll(p, n, ms < 0 ? 0 : ms);
	if (r < 0 && errno != EINTR)
		return tl__error_os(TL_EIO, errno, "waiting for %s", ssh->label);
	if (extra_ready)
		*extra_ready = r > 0 && n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
	return TL_OK;
}

int tl__ssh_keepalive(tl_ssh *ssh)
{
	if (ssh->keepalive_s <= 0)
		return TL_OK;
	int next = 0;
	int rc = libssh2_keepalive_send(ssh->session, &next);
	if (rc && rc != LIBSSH2_ERROR_EAGAIN)
		return tl__ssh_fail(ssh, rc, "sending a keepalive");
	return TL_OK;
}

/* A non-blocking connect to each address in turn, bounded by a deadline. */
static int tcp_connect(tl_ssh *ssh, int timeout_ms)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", ssh->port);
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(ssh->host, port, &hints, &res);
	if (g)
		return tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_SSH,
		                     "cannot resolve the SSH host '%s': %s", ssh->host,
		                     gai_strerror(g));
	int64_t deadline = tl__clock_ms() + timeout_ms;
	int err = 0;
	bool timed_out = false;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
			close(fd);
			continue;
		}
		struct pollfd p = {fd, POLLOUT, 0};
		int r;
		do {
			int64_t left = deadline - tl__clock_ms();
			r = left > 0 ? poll(&p, 1, (int)left) : 0;
		} while (r < 0 && errno == EINTR);
		socklen_t el = sizeof(err);
		if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			ssh->sock = fd;
			freeaddrinfo(res);
			return TL_OK;
		}
		if (r == 0) {
			timed_out = true;
			err = ETIMEDOUT;
		}
		close(fd);
		if (timed_out)
			break;
	}
	freeaddrinfo(res);
	if (timed_out)
		return tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_SSH,
		                     "connecting to %s timed out after %d ms; is the host up "
		                     "and the port open?", ssh->label, timeout_ms);
	return tl__error_set_upstream(TL_EUNAVAILABLE, TL_ERRCLASS_OS, "", err,
	                              "cannot connect to %s: %s", ssh->label,
	                              strerror(err ? err : ECONNREFUSED));
}

static char *default_user(void)
{
	const char *u = getenv("USER");
	if (u && *u)
		return tl__strdup(u);
	struct passwd pw, *r = NULL;
	char buf[4096];
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &r) == 0 && r)
		return tl__strdup(pw.pw_name);
	tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
	              "no SSH user given and the local user name is unknown");
	return NULL;
}

static char *default_known_hosts(void)
{
	const char *home = getenv("HOME");
	if (!home || !*home) {
		tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		              "no known_hosts file given and $HOME is not set");
		return NULL;
	}
	return tl__sprintf("%s/.ssh/known_hosts", home);
}

int tl_ssh_connect(tl_ssh **out, tl_ctx *ctx, const tl_ssh_options *opts)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(opts);
	TL__CHECK_VERSION(opts, TL_SSH_OPTIONS_VERSION, "tl_ssh_options");
	TL__CHECK_ARG(opts->host && *opts->host);
	TL__CHECK_ARG(opts->port >= 0 && opts->port <= 65535);
	TL__CHECK_ARG(!opts->key_passphrase || opts->key_path);
	int rc = tl_init();
	if (rc < 0)
		return rc;
	tl_ssh *ssh = tl__calloc(1, sizeof(*ssh));
	char *known = NULL;
	if (!ssh) {
		tl_shutdown();
		return TL_ENOMEM;
	}
	ssh->sock = -1;
	ssh->ctx = ctx;
	ssh->port = opts->port ? opts->port : 22;
	ssh->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : TL__SSH_DEFAULT_TIMEOUT_MS;
	ssh->keepalive_s = opts->keepalive_s == 0 ? TL__SSH_DEFAULT_KEEPALIVE_S
	                   : opts->keepalive_s < 0 ? 0 : opts->keepalive_s;
	int connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
	                                              : TL__SSH_DEFAULT_CONNECT_MS;
	rc = TL_ENOMEM;
	if (!(ssh->host = tl__strdup(opts->host)))
		goto fail;
	ssh->user = opts->user ? tl__strdup(opts->user) : default_user();
	if (!ssh->user) {
		rc = tl_error_last()->code;
		goto fail;
	}
	known = opts->known_hosts ? tl__strdup(opts->known_hosts) : default_known_hosts();
	if (!known) {
		rc = tl_error_last()->code;
		goto fail;
	}
	if (!(ssh->label = tl__sprintf("%s@%s:%d", ssh->user, ssh->host, ssh->port)))
		goto fail;
	if (opts->key_path && access(opts->key_path, R_OK) != 0) {
		rc = tl__error_os(errno == ENOENT ? TL_ENOTFOUND : TL_EAUTH, errno,
		                  "cannot read the SSH key file %s", opts->key_path);
		goto fail;
	}

	if ((rc = tl__step(ctx, "ssh.connect", ssh->host, "Connecting to %s", ssh->label)))
		goto fail;
	if ((rc = tcp_connect(ssh, connect_ms)))
		goto fail;
	ssh->session = libssh2_session_init_ex(NULL, NULL, NULL, ssh);
	if (!ssh->session) {
		rc = tl__error_set(TL_ENOMEM, TL_ERRCLASS_SSH, "cannot create an SSH session");
		goto fail;
	}
	libssh2_session_set_blocking(ssh->session, 1);
	/* The handshake and authentication are bounded by the connect
	 * timeout; later calls by the per-operation timeout. */
	libssh2_session_set_timeout(ssh->session, connect_ms);
	if ((rc = tl__ssh_prefer_known_types(ssh, known)))
		goto fail;
	int s = libssh2_session_handshake(ssh->session, ssh->sock);
	if (s) {
		rc = tl__ssh_fail(ssh, s, "SSH handshake");
		goto fail;
	}
	if ((rc = tl__ssh_check_hostkey(ssh, known)))
		goto fail;
	if ((rc = tl__ssh_authenticate(ssh, opts->key_path, opts->key_passphrase)))
		goto fail;
	libssh2_session_set_timeout(ssh->session, ssh->timeout_ms);
	if (ssh->keepalive_s > 0)
		libssh2_keepalive_config(ssh->session, 1, (unsigned)ssh->keepalive_s);
	tl__log(ctx, TL_LOG_DEBUG, "connected to %s (host key %s)", ssh->label, ssh->fingerprint);
	free(known);
	*out = ssh;
	return TL_OK;
fail:
	free(known);
	tl_ssh_free(ssh);
	return rc;
}

void tl_ssh_free(tl_ssh *ssh)
{
	if (!ssh)
		return;
	if (ssh->session) {
		/* A short, bounded goodbye: never hang on a dead server. */
		libssh2_session_set_timeout(ssh->session, 2000);
		libssh2_session_disconnect(ssh->session, "bye");
		libssh2_session_free(ssh->session);
	}
	if (ssh->sock >= 0)
		close(ssh->sock);
	free(ssh->abandoned); /* the channels went with the session */
	free(ssh->host);
	free(ssh->user);
	free(ssh->label);
	free(ssh->login_shell);
	free(ssh);
	tl_shutdown();
}

const char *tl_ssh_fingerprint(const tl_ssh *ssh)
{
	return ssh ? ssh->fingerprint : "";
}
