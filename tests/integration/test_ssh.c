/* SSH against the harness's sshd (127.0.0.1, its own ed25519 host key):
 * commands with exit status and both streams, argv that arrives intact,
 * strict host keys (unknown, changed, revoked, port-specific, hashed),
 * key files, passphrases and ssh-agent, timeouts and cancellation, SFTP
 * upload round trips, and the CLI's --host mode. */
#include "tl_test.h"

#include "core/core.h"
#include "towlion/ssh.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static const char *host, *user, *key, *known;
static int port;

static int setup(void **state)
{
	host = TL_TEST_REQUIRE("TL_TEST_SSH_HOST");
	const char *p = TL_TEST_REQUIRE("TL_TEST_SSH_PORT");
	user = TL_TEST_REQUIRE("TL_TEST_SSH_USER");
	key = TL_TEST_REQUIRE("TL_TEST_SSH_KEY");
	known = TL_TEST_REQUIRE("TL_TEST_SSH_KNOWN_HOSTS");
	if (!host || !p || !user || !key || !known)
		return -1;
	port = atoi(p);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static tl_ssh_options base_opts(void)
{
	tl_ssh_options o = TL_SSH_OPTIONS_INIT;
	o.host = host;
	o.port = port;
	o.user = user;
	o.key_path = key;
	o.known_hosts = known;
	o.connect_timeout_ms = 5000;
	o.timeout_ms = 20000;
	return o;
}

static tl_ssh *connect_ok(tl_ctx *ctx)
{
	tl_ssh_options o = base_opts();
	tl_ssh *s = NULL;
	tl_assert_ok(tl_ssh_connect(&s, ctx, &o));
	return s;
}

/* Run a local program, return its stdout (asserts it exits 0). */
static char *run_local(const char *const *argv, const char *const *env)
{
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.env = env;
	o.stdout_mode = TL__STDIO_BUFFER;
	o.stderr_mode = TL__STDIO_BUFFER;
	o.timeout_ms = 30000;
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	if (!r.exited || r.exit_status != 0)
		print_error("%s failed: %s\n", argv[0], r.err.ptr ? r.err.ptr : "");
	assert_true(r.exited && r.exit_status == 0);
	char *out = tl__buf_detach(&r.out);
	tl__spawn_result_dispose(&r);
	return out;
}

/* Run on the server with buffers. */
static tl_ssh_result run(tl_ssh *s, const char *const *argv, const char *in, size_t in_len)
{
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = eo.stderr_mode = TL_SSH_OUT_BUFFER;
	eo.stdin_data = in;
	eo.stdin_len = in_len;
	eo.timeout_ms = 30000;
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	tl_assert_ok(tl_ssh_exec(&r, s, argv, &eo));
	return r;
}

/* The host key's fingerprint as OpenSSH computes it. */
static char *expected_fingerprint(void)
{
	const char *argv[] = {"ssh-keygen", "-lf", known, NULL};
	char *out = run_local(argv, NULL);
	char *fp = strstr(out, "SHA256:");
	assert_non_null(fp);
	char *end = strchr(fp, ' ');
	*end = '\0';
	char *r = strdup(fp);
	free(out);
	return r;
}

static void test_exec_status_and_streams(void **state)
{
	tl_ssh *s = connect_ok(NULL);
	char *fp = expected_fingerprint();
	assert_string_equal(tl_ssh_fingerprint(s), fp);
	free(fp);
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; echo more; exit 3", NULL};
	tl_ssh_result r = run(s, argv, NULL, 0);
	assert_int_equal(r.exit_status, 3);
	assert_string_equal(r.exit_signal, "");
	assert_string_equal(r.out.ptr, "out\nmore\n");
	assert_string_equal(r.err.ptr, "err\n");
	tl_ssh_result_dispose(&r);

	/* stdin, larger than the SSH window, comes back byte for byte. */
	size_t n = 3 * 1024 * 1024 + 7;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 131 + (i >> 9));
	const char *cat[] = {"cat", NULL};
	r = run(s, cat, data, n);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.out.size, n);
	assert_memory_equal(r.out.ptr, data, n);
	tl_ssh_result_dispose(&r);
	free(data);

	/* Killed by a signal. */
	const char *killme[] = {"sh", "-c", "kill -TERM $$", NULL};
	r = run(s, killme, NULL, 0);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.exit_signal, "TERM");
	tl_ssh_result_dispose(&r);

	/* A missing program is the shell's 127, not a library error. */
	const char *missing[] = {"no-such-program-towlion", NULL};
	r = run(s, missing, NULL, 0);
	assert_int_equal(r.exit_status, 127);
	tl_ssh_result_dispose(&r);

	/* A NUL cannot be sent: refused before anything runs. */
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = TL_SSH_OUT_FD; /* with no fd */
	tl_ssh_result untouched = TL_SSH_RESULT_INIT;
	untouched.exit_status = 42;
	tl_assert_rc(TL_EINVALID, tl_ssh_exec(&untouched, s, cat, &eo));
	assert_int_equal(untouched.exit_status, 42);
	tl_ssh_free(s);
}

typedef struct {
	tl_buf out, err;
	int cancel_on_line; /* cancel when this text arrives */
	const char *cancel_text;
	int steps, progress;
	uint64_t last_done, last_total;
} events;

static int on_event(const tl_event *ev, void *payload)
{
	events *e = payload;
	if (ev->type == TL_EVENT_OUTPUT) {
		tl_buf *b = ev->level == TL_LOG_WARN ? &e->err : &e->out;
		tl__buf_puts(b, ev->message);
		tl__buf_putc(b, '|');
		if (e->cancel_text && !strcmp(ev->message, e->cancel_text))
			return 1;
	} else if (ev->type == TL_EVENT_STEP) {
		e->steps++;
	} else if (ev->type == TL_EVENT_PROGRESS) {
		e->progress++;
		e->last_done = ev->done;
		e->last_total = ev->total;
	}
	return 0;
}

static void test_output_events_and_cancel(void **state)
{
	events e = {TL_BUF_INIT, TL_BUF_INIT, 0, NULL, 0, 0, 0, 0};
	tl_ctx *ctx = tl_test_ctx(0);
	tl_ctx_set_event_cb(ctx, on_event, &e);
	tl_ssh *s = connect_ok(ctx);
	assert_true(e.steps >= 2); /* connect, authenticate */
	const char *argv[] = {"sh", "-c", "printf 'a\\r\\nb\\n'; echo oops >&2; printf tail",
	                      NULL};
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.subject = "test";
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	tl_assert_ok(tl_ssh_exec(&r, s, argv, &eo));
	assert_int_equal(r.exit_status, 0);
	assert_null(r.out.ptr); /* events mode captures nothing */
	assert_string_equal(e.out.ptr, "a|b|tail|");
	assert_string_equal(e.err.ptr, "oops|");

	/* Cancelled from the callback while the command still runs. */
	e.cancel_text = "started";
	const char *slow[] = {"sh", "-c", "echo started; sleep 30; echo never", NULL};
	long long t0 = now_ms();
	tl_ssh_result r2 = TL_SSH_RESULT_INIT;
	r2.exit_status = 99;
	tl_assert_rc(TL_EUSER, tl_ssh_exec(&r2, s, slow, &eo));
	assert_true(now_ms() - t0 < 10000);
	assert_int_equal(r2.exit_status, 99); /* untouched */
	assert_null(strstr(e.out.ptr, "never"));
	tl_ssh_free(s);
	tl_ctx_free(ctx);
	tl_buf_dispose(&e.out);
	tl_buf_dispose(&e.err);
}

static void test_timeout_and_reuse(void **state)
{
	tl_ssh *s = connect_ok(NULL);
	const char *slow[] = {"sleep", "30", NULL};
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.timeout_ms = 700;
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	long long t0 = now_ms();
	tl_assert_rc(TL_ETIMEOUT, tl_ssh_exec(&r, s, slow, &eo));
	long long took = now_ms() - t0;
	assert_true(took >= 600 && took < 8000);
	tl_assert_error_contains("timeout");
	/* The session is still good for the next command. */
	const char *echo[] = {"echo", "still here", NULL};
	r = run(s, echo, NULL, 0);
	assert_string_equal(r.out.ptr, "still here\n");
	tl_ssh_result_dispose(&r);
	tl_ssh_free(s);
}

static void test_arguments_arrive_intact(void **state)
{
	tl_ssh *s = connect_ok(NULL);
	const char *words[] = {
		"", "two words", "it's", "\"double\"", "a;b", "$(id)", "`id`", "${HOME}",
		"line\nbreak", "*", "~", "a=b", "caf\xc3\xa9 \xe2\x9c\x93", "\\", "'", "-n", "&&",
		"|", ">x", "#", "\t", "\xff", "!", "%s",
	};
	size_t nw = sizeof(words) / sizeof(words[0]);
	const char *argv[64] = {"printf", "%s\\0"};
	tl_buf want = TL_BUF_INIT;
	for (size_t i = 0; i < nw; i++) {
		argv[i + 2] = words[i];
		tl__buf_put(&want, words[i], strlen(words[i]) + 1);
	}
	argv[nw + 2] = NULL;
	tl_ssh_result r = run(s, argv, NULL, 0);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.out.size, want.size);
	assert_memory_equal(r.out.ptr, want.ptr, want.size);
	tl_ssh_result_dispose(&r);

	/* Random bytes (all but NUL), many times. */
	srand(77);
	for (int round = 0; round < 30; round++) {
		char w[6][48];
		tl__buf_clear(&want);
		for (int i = 0; i < 6; i++) {
			size_t len = (size_t)(rand() % 47);
			for (size_t k = 0; k < len; k++)
				w[i][k] = (char)(1 + rand() % 255);
			w[i][len] = '\0';
			argv[i + 2] = w[i];
			tl__buf_put(&want, w[i], len + 1);
		}
		argv[8] = NULL;
		r = run(s, argv, NULL, 0);
		assert_int_equal(r.out.size, want.size);
		assert_memory_equal(r.out.ptr, want.ptr, want.size);
		tl_ssh_result_dispose(&r);
	}
	tl_buf_dispose(&want);
	tl_ssh_free(s);
}

static void write_file(const char *path, const char *text)
{
	tl_test_write_file(path, text, 0600);
}

/* A fresh ed25519 key pair in dir; returns the public key line. */
static char *new_key(const char *dir, const char *name, const char *type, const char *pass)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	const char *argv[] = {"ssh-keygen", "-q", "-t", type, "-N", pass, "-C", "test", "-f",
	                      path, NULL};
	free(run_local(argv, NULL));
	char pub[520];
	snprintf(pub, sizeof(pub), "%s.pub", path);
	return tl_test_read_file(pub);
}

static int connect_with(tl_ssh_options *o)
{
	tl_ssh *s = NULL;
	int rc = tl_ssh_connect(&s, NULL, o);
	if (rc == TL_OK) {
		tl_ssh_free(s);
	} else {
		assert_null(s);
	}
	return rc;
}

static void test_unknown_host_refused(void **state)
{
	char *dir = tl_test_tmpdir();
	char kh[512], msg[1200], cmd[700];
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	write_file(kh, "");
	char *fp = expected_fingerprint();
	tl_ssh_options o = base_opts();
	o.known_hosts = kh;
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	snprintf(msg, sizeof(msg), "%s", tl_error_last()->message);
	assert_string_equal(tl_error_last()->upstream, "host key unknown");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_SSH);
	tl_assert_error_contains(fp);
	snprintf(cmd, sizeof(cmd), "ssh-keyscan -p %d %s >> %s", port, host, kh);
	tl_assert_error_contains(cmd);
	tl_assert_error_contains("out of band");

	/* A missing file is no different: unknown. */
	snprintf(kh, sizeof(kh), "%s/absent", dir);
	o.known_hosts = kh;
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains(fp);
	tl_assert_error_contains("does not exist");

	/* The key listed for port 22 says nothing about another port. */
	char *line = tl_test_read_file(known);
	char *keypart = strchr(line, ' ') + 1;
	snprintf(kh, sizeof(kh), "%s/port22", dir);
	char text[1024];
	snprintf(text, sizeof(text), "%s %s", host, keypart);
	write_file(kh, text);
	o.known_hosts = kh;
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	assert_string_equal(tl_error_last()->upstream, "host key unknown");

	/* Following the advice makes it work: ssh-keyscan's output is trusted
	 * (here after comparing the fingerprint, as the message says). */
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	const char *scan[] = {"ssh-keyscan", "-p", portstr, host, NULL};
	char *scanned = run_local(scan, NULL);
	snprintf(kh, sizeof(kh), "%s/scanned", dir);
	write_file(kh, scanned);
	o.known_hosts = kh;
	tl_assert_ok(connect_with(&o));

	/* Hashed entries (ssh-keygen -H) and comments work too. */
	snprintf(kh, sizeof(kh), "%s/hashed", dir);
	snprintf(text, sizeof(text), "# comment\n\n%s", line);
	write_file(kh, text);
	const char *hash[] = {"ssh-keygen", "-q", "-H", "-f", kh, NULL};
	free(run_local(hash, NULL));
	char *hashed = tl_test_read_file(kh);
	assert_non_null(strstr(hashed, "|1|"));
	assert_null(strstr(hashed, host));
	o.known_hosts = kh;
	tl_assert_ok(connect_with(&o));
	free(hashed);
	free(scanned);
	free(line);
	free(fp);
	tl_test_rmdir(dir);
}

static void test_changed_or_revoked_host_key_refused(void **state)
{
	char *dir = tl_test_tmpdir();
	char kh[512], text[2048];
	char *other = new_key(dir, "other", "ed25519", "");
	snprintf(kh, sizeof(kh), "%s/known_hosts", dir);
	/* "[host]:port ssh-ed25519 <a different key>" */
	snprintf(text, sizeof(text), "[%s]:%d %s", host, port, other);
	write_file(kh, text);
	tl_ssh_options o = base_opts();
	o.known_hosts = kh;
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	assert_string_equal(tl_error_last()->upstream, "host key changed");
	tl_assert_error_contains("HAS CHANGED");
	tl_assert_error_contains("REFUSING");
	char *fp = expected_fingerprint();
	tl_assert_error_contains(fp);
	/* Even when the right key is listed too under another name, the
	 * changed one for this name wins: still refused. */
	char *line = tl_test_read_file(known);
	snprintf(text, sizeof(text), "[%s]:%d %s\nsomeotherhost %s", host, port, other,
	         strchr(line, ' ') + 1);
	write_file(kh, text);
	tl_assert_rc(TL_EAUTH, connect_with(&o));

	/* A key marked @revoked is refused although it is listed. */
	snprintf(text, sizeof(text), "@revoked * %s%s", strchr(line, ' ') + 1, line);
	write_file(kh, text);
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("revoked");
	free(line);
	free(fp);
	free(other);
	tl_test_rmdir(dir);
}

static void test_user_keys(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	tl_ssh_options o = base_opts();

	/* A key the server does not know. */
	free(new_key(dir, "stranger", "ed25519", ""));
	snprintf(path, sizeof(path), "%s/stranger", dir);
	o.key_path = path;
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("refused the key");

	/* ECDSA with a passphrase: read fine (then refused by the server, a
	 * stranger too); with a wrong passphrase it cannot even be read. */
	free(new_key(dir, "ecdsa", "ecdsa", "sesame"));
	snprintf(path, sizeof(path), "%s/ecdsa", dir);
	o.key_path = path;
	o.key_passphrase = "sesame";
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("refused the key");
	o.key_passphrase = "wrong";
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("cannot use the SSH key");

	/* The accepted key, encrypted with a passphrase (OpenSSH format,
	 * bcrypt KDF): works with it, not without. */
	snprintf(path, sizeof(path), "%s/accepted", dir);
	char *k = tl_test_read_file(key);
	tl_test_write_file(path, k, 0600);
	free(k);
	const char *rekey[] = {"ssh-keygen", "-q", "-p", "-P", "", "-N", "open sesame", "-f",
	                       path, NULL};
	free(run_local(rekey, NULL));
	o.key_path = path;
	o.key_passphrase = "open sesame";
	tl_assert_ok(connect_with(&o));
	o.key_passphrase = NULL;
	tl_assert_rc(TL_EAUTH, connect_with(&o));

	/* Missing key file. */
	snprintf(path, sizeof(path), "%s/none", dir);
	o.key_path = path;
	tl_assert_rc(TL_ENOTFOUND, connect_with(&o));

	/* Wrong user. */
	o = base_opts();
	o.user = "nobody";
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_test_rmdir(dir);
}

static void test_agent(void **state)
{
	char *dir = tl_test_tmpdir();
	char sock[512], env_sock[600];
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(env_sock, sizeof(env_sock), "SSH_AUTH_SOCK=%s", sock);
	const char *start[] = {"ssh-agent", "-s", "-a", sock, NULL};
	char *out = run_local(start, NULL);
	char *pidp = strstr(out, "SSH_AGENT_PID=");
	assert_non_null(pidp);
	pid_t agent = (pid_t)atoi(pidp + 14);
	assert_true(agent > 1);
	free(out);
	const char *env[] = {env_sock, NULL};
	tl_ssh_options o = base_opts();
	o.key_path = NULL;
	char *old = getenv("SSH_AUTH_SOCK") ? strdup(getenv("SSH_AUTH_SOCK")) : NULL;
	setenv("SSH_AUTH_SOCK", sock, 1);
	/* An empty agent: refused, saying so. */
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("ssh-agent");
	const char *add[] = {"ssh-add", "-q", key, NULL};
	free(run_local(add, env));
	tl_assert_ok(connect_with(&o));
	kill(agent, SIGTERM);
	/* No agent at all. */
	unsetenv("SSH_AUTH_SOCK");
	tl_assert_rc(TL_EAUTH, connect_with(&o));
	tl_assert_error_contains("SSH_AUTH_SOCK");
	if (old) {
		setenv("SSH_AUTH_SOCK", old, 1);
		free(old);
	}
	tl_test_rmdir(dir);
}

static void test_connect_failures(void **state)
{
	/* A port nobody listens on. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	int free_port = ntohs(a.sin_port);
	close(fd);
	tl_ssh_options o = base_opts();
	o.host = "127.0.0.1";
	o.port = free_port;
	tl_assert_rc(TL_EUNAVAILABLE, connect_with(&o));
	tl_assert_error_contains("cannot connect");

	/* A server that accepts TCP but never speaks SSH: the handshake is
	 * bounded by the connect timeout. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	al = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	o.port = ntohs(a.sin_port);
	o.connect_timeout_ms = 800;
	long long t0 = now_ms();
	int rc = connect_with(&o);
	long long took = now_ms() - t0;
	if (rc != TL_ETIMEOUT)
		print_error("rc %d: %s\n", rc, tl_error_last()->message);
	assert_int_equal(rc, TL_ETIMEOUT);
	assert_true(took >= 700 && took < 5000);
	close(fd);
	/* (No test of a name that does not resolve: it would ask a DNS
	 * server off this machine.) */
}

static char *remote_tmpdir(tl_ssh *s)
{
	const char *mk[] = {"mktemp", "-d", "/tmp/towlion-ssh-test.XXXXXX", NULL};
	tl_ssh_result r = run(s, mk, NULL, 0);
	assert_int_equal(r.exit_status, 0);
	r.out.ptr[strcspn(r.out.ptr, "\n")] = '\0';
	char *d = strdup(r.out.ptr);
	tl_ssh_result_dispose(&r);
	return d;
}

static char *remote_output(tl_ssh *s, const char *const *argv)
{
	tl_ssh_result r = run(s, argv, NULL, 0);
	assert_int_equal(r.exit_status, 0);
	char *o = strdup(r.out.ptr ? r.out.ptr : "");
	tl_ssh_result_dispose(&r);
	return o;
}

static void test_upload_round_trip(void **state)
{
	events e = {TL_BUF_INIT, TL_BUF_INIT, 0, NULL, 0, 0, 0, 0};
	tl_ctx *ctx = tl_test_ctx(0);
	tl_ctx_set_event_cb(ctx, on_event, &e);
	tl_ssh *s = connect_ok(ctx);
	char *ldir = tl_test_tmpdir();
	char *rdir = remote_tmpdir(s);
	char local[512], target[512];
	snprintf(local, sizeof(local), "%s/payload.bin", ldir);
	snprintf(target, sizeof(target), "%s/app's file.bin", rdir);
	size_t n = 3 * 1024 * 1024 + 17;
	FILE *f = fopen(local, "wb");
	srand(5);
	for (size_t i = 0; i < n; i++)
		fputc(rand() & 0xff, f);
	fclose(f);
	const char *sum[] = {"sha256sum", local, NULL};
	char *want = run_local(sum, NULL);
	want[64] = '\0';

	tl_ssh_upload_options uo = TL_SSH_UPLOAD_OPTIONS_INIT;
	uo.mode = 0640;
	tl_assert_ok(tl_ssh_upload(s, local, target, &uo));
	assert_true(e.progress >= 2);
	assert_int_equal(e.last_done, n);
	assert_int_equal(e.last_total, n);
	const char *rsum[] = {"sha256sum", target, NULL};
	char *got = remote_output(s, rsum);
	assert_memory_equal(got, want, 64);
	free(got);
	const char *st[] = {"stat", "-c", "%a %s", target, NULL};
	got = remote_output(s, st);
	char expect[64];
	snprintf(expect, sizeof(expect), "640 %zu\n", n);
	assert_string_equal(got, expect);
	free(got);
	const char *ls[] = {"ls", "-A", rdir, NULL};
	got = remote_output(s, ls);
	assert_string_equal(got, "app's file.bin\n"); /* no temporary file left */
	free(got);

	/* Again over the existing file, smaller, another mode. */
	tl_test_write_file(local, "second version\n", 0600);
	uo.mode = 0600;
	tl_assert_ok(tl_ssh_upload(s, local, target, &uo));
	const char *catf[] = {"cat", target, NULL};
	got = remote_output(s, catf);
	assert_string_equal(got, "second version\n");
	free(got);
	got = remote_output(s, st);
	assert_string_equal(got, "600 15\n");
	free(got);
	got = remote_output(s, ls);
	assert_string_equal(got, "app's file.bin\n");
	free(got);

	/* A missing remote directory: TL_ENOTFOUND, nothing created. */
	snprintf(target, sizeof(target), "%s/missing/x", rdir);
	tl_assert_rc(TL_ENOTFOUND, tl_ssh_upload(s, local, target, &uo));
	got = remote_output(s, ls);
	assert_string_equal(got, "app's file.bin\n");
	free(got);
	/* A directory as target is refused and the temp file removed. */
	tl_assert_rc(TL_EINVALID, tl_ssh_upload(s, local, rdir, NULL));
	snprintf(target, sizeof(target), "%s/", rdir);
	tl_assert_rc(TL_EINVALID, tl_ssh_upload(s, local, target, NULL));
	const char *mkd[] = {"mkdir", "-p", "", NULL};
	char sub[600];
	snprintf(sub, sizeof(sub), "%s/sub", rdir);
	mkd[2] = sub;
	free(remote_output(s, mkd));
	tl_assert_rc(TL_EINVALID, tl_ssh_upload(s, local, sub, NULL));
	got = remote_output(s, ls);
	assert_string_equal(got, "app's file.bin\nsub\n");
	free(got);
	/* A missing local file. */
	snprintf(target, sizeof(target), "%s/y", rdir);
	snprintf(local, sizeof(local), "%s/absent", ldir);
	tl_assert_rc(TL_ENOTFOUND, tl_ssh_upload(s, local, target, NULL));

	const char *rm[] = {"rm", "-rf", rdir, NULL};
	free(remote_output(s, rm));
	free(want);
	free(rdir);
	tl_test_rmdir(ldir);
	tl_ssh_free(s);
	tl_ctx_free(ctx);
	tl_buf_dispose(&e.out);
	tl_buf_dispose(&e.err);
}

/* The CLI: `towlion --host ... ARGS` runs `towlion ARGS` on the server. */
static tl__spawn_result cli(const char *const *args, const char *remote_env)
{
	char target[256], remote[600];
	snprintf(target, sizeof(target), "%s@%s:%d", user, host, port);
	snprintf(remote, sizeof(remote), "TOWLION_REMOTE_TOWLION=%s/towlion", TL_TEST_BINARY_DIR);
	const char *argv[32] = {TL_TEST_BINARY_DIR "/towlion", "--host", target, "--ssh-key",
	                        key, "--known-hosts", known};
	size_t n = 7;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	const char *env[] = {remote_env ? remote_env : remote, NULL};
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.env = env;
	o.stdout_mode = TL__STDIO_BUFFER;
	o.stderr_mode = TL__STDIO_BUFFER;
	o.timeout_ms = 60000;
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_true(r.exited);
	return r;
}

static void test_cli_host_mode(void **state)
{
	const char *version[] = {"--version", NULL};
	tl__spawn_result r = cli(version, NULL);
	assert_int_equal(r.exit_status, 0);
	char want[64];
	snprintf(want, sizeof(want), "towlion %s", tl_version());
	assert_non_null(strstr(r.out.ptr, want));
	tl__spawn_result_dispose(&r);

	/* Global flags travel to the server. */
	const char *json[] = {"--json", "--version", NULL};
	r = cli(json, NULL);
	assert_int_equal(r.exit_status, 0);
	assert_non_null(strstr(r.out.ptr, "\"version\""));
	tl__spawn_result_dispose(&r);

	/* A usage error on the server: its message and its exit code 2. */
	const char *bad[] = {"no-such-group", NULL};
	r = cli(bad, NULL);
	assert_int_equal(r.exit_status, 2);
	assert_non_null(strstr(r.err.ptr, "unknown command 'no-such-group'"));
	tl__spawn_result_dispose(&r);

	/* An unknown host: refused locally with exit 7 (auth). */
	char *dir = tl_test_tmpdir();
	char kh[512];
	snprintf(kh, sizeof(kh), "%s/empty", dir);
	tl_test_write_file(kh, "", 0600);
	const char *unknown[] = {"--known-hosts", kh, "--version", NULL};
	r = cli(unknown, NULL);
	assert_int_equal(r.exit_status, 7);
	assert_non_null(strstr(r.err.ptr, "ssh-keyscan"));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);

	/* An encrypted key, its passphrase from the environment. */
	dir = tl_test_tmpdir();
	char enc[512];
	snprintf(enc, sizeof(enc), "%s/key", dir);
	char *k = tl_test_read_file(key);
	tl_test_write_file(enc, k, 0600);
	free(k);
	const char *rekey[] = {"ssh-keygen", "-q", "-p", "-P", "", "-N", "pw 1", "-f", enc, NULL};
	free(run_local(rekey, NULL));
	const char *with_key[] = {"--ssh-key", enc, "--version", NULL};
	r = cli(with_key, NULL);
	assert_int_equal(r.exit_status, 7); /* no passphrase: cannot use it */
	tl__spawn_result_dispose(&r);
	char remote[600], pass[] = "TOWLION_SSH_KEY_PASSPHRASE=pw 1";
	snprintf(remote, sizeof(remote), "TOWLION_REMOTE_TOWLION=%s/towlion", TL_TEST_BINARY_DIR);
	const char *env2[] = {remote, pass, NULL};
	char target[256];
	snprintf(target, sizeof(target), "%s@%s:%d", user, host, port);
	const char *argv2[] = {TL_TEST_BINARY_DIR "/towlion", "--host", target, "--known-hosts",
	                       known, "--ssh-key", enc, "--version", NULL};
	tl__spawn_opts o2 = {0};
	o2.argv = argv2;
	o2.env = env2;
	o2.stdout_mode = TL__STDIO_BUFFER;
	o2.stderr_mode = TL__STDIO_BUFFER;
	tl_assert_ok(tl__spawn(&r, NULL, &o2));
	assert_int_equal(r.exit_status, 0);
	assert_non_null(strstr(r.out.ptr, want));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);

	/* A remote program that is not there: 127 and a hint. */
	r = cli(version, "TOWLION_REMOTE_TOWLION=/nonexistent/towlion");
	assert_int_equal(r.exit_status, 127);
	assert_non_null(strstr(r.err.ptr, "TOWLION_REMOTE_TOWLION"));
	assert_non_null(strstr(r.err.ptr, "not found on"));
	tl__spawn_result_dispose(&r);

	/* A towlion that is there but cannot load its library (an install
	 * whose lib/ is missing): the loader's own 127, which the message
	 * names with the server's first stderr line. The copy asks for a
	 * soname no one has (same length, so the ELF stays valid). */
	dir = tl_test_tmpdir();
	char broken[600], env_broken[700];
	snprintf(broken, sizeof(broken), "%s/towlion", dir);
	tl_buf exe = TL_BUF_INIT;
	tl_assert_ok(tl__file_read(&exe, TL_TEST_BINARY_DIR "/towlion"));
	size_t replaced = 0;
	for (char *p = exe.ptr; (p = memmem(p, exe.size - (size_t)(p - exe.ptr),
	                                    "libtowlion.so.0", 15)) != NULL;
	     p += 15, replaced++)
		memcpy(p, "libtowlion.so.9", 15);
	assert_true(replaced > 0);
	tl_assert_ok(tl__file_write_atomic(broken, exe.ptr, exe.size, 0755));
	tl_buf_dispose(&exe);
	snprintf(env_broken, sizeof(env_broken), "TOWLION_REMOTE_TOWLION=%s", broken);
	r = cli(version, env_broken);
	assert_int_equal(r.exit_status, 127);
	if (!strstr(r.err.ptr, "failed to load (exit 127): ") ||
	    !strstr(r.err.ptr, "libtowlion.so.9"))
		print_error("stderr: %s\n", r.err.ptr);
	assert_non_null(strstr(r.err.ptr, "failed to load (exit 127): "));
	assert_non_null(strstr(r.err.ptr, "error while loading shared libraries"));
	assert_non_null(strstr(r.err.ptr, "libtowlion.so.9"));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);

	/* --ssh-key without --host is a local usage error. */
	const char *argv[] = {TL_TEST_BINARY_DIR "/towlion", "--ssh-key", key, "--version", NULL};
	tl__spawn_opts o = {0};
	o.argv = argv;
	o.stdout_mode = TL__STDIO_BUFFER;
	o.stderr_mode = TL__STDIO_BUFFER;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.exit_status, 2);
	assert_non_null(strstr(r.err.ptr, "--host"));
	tl__spawn_result_dispose(&r);
	const char *badhost[] = {TL_TEST_BINARY_DIR "/towlion", "--host", "a b", "--version",
	                         NULL};
	o.argv = badhost;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.exit_status, 2);
	tl__spawn_result_dispose(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_status_and_streams),
		cmocka_unit_test(test_output_events_and_cancel),
		cmocka_unit_test(test_timeout_and_reuse),
		cmocka_unit_test(test_arguments_arrive_intact),
		cmocka_unit_test(test_unknown_host_refused),
		cmocka_unit_test(test_changed_or_revoked_host_key_refused),
		cmocka_unit_test(test_user_keys),
		cmocka_unit_test(test_agent),
		cmocka_unit_test(test_connect_failures),
		cmocka_unit_test(test_upload_round_trip),
		cmocka_unit_test(test_cli_host_mode),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
