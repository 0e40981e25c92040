/* Smaller leaks closed (docs/security.md, "Smaller leaks closed"), tried
 * for real: `config show` with a password holding '@'; a configuration
 * error about a secret value; a tenant container's output full of terminal
 * escape sequences rendered by `towlion logs` and `towlion exec`; an alert
 * mail API over plain http:// to a non-loopback address (the harness's
 * Docker gateway, where a listener of this test checks that nothing
 * arrived). */
#include "tl_test.h"

#include "core/core.h"
#include "core/http.h"
#include "towlion/docker.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_app[40], g_name[96];

static int towlion_env(tl__spawn_result *r, const char *const *env, const char *const *args)
{
	const char *argv[32] = {TL_TEST_BINARY_DIR "/towlion"};
	size_t n = 1;
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	memset(r, 0, sizeof(*r));
	tl_assert_ok(tl__spawn(r, NULL, &o));
	return r->exit_status;
}

static const char *S(const tl_buf *b)
{
	return b->ptr ? b->ptr : "";
}

/* ---- config show and config errors (no service) ------------------------ */

static void test_config_show_masks_password_with_at(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/towlion.conf", dir);
	/* The parser splits at the LAST '@': the password is "p@ss@w0rd". */
	tl_test_write_file(path,
	                   "TOWLION_ALERT_MAIL_ENDPOINT=https://user:m@il-pw@mail.example.com\n",
	                   0600);
	tl__spawn_result r;
	/* From the environment (which wins over the file) and from the file. */
	const char *env[] = {"TOWLION_PG_URL=postgresql://admin:p@ss@w0rd@127.0.0.1:5432/postgres",
	                     "TOWLION_REDIS_URL=redis://default:r3d@is-pw@127.0.0.1:6379", NULL};
	const char *a[] = {"--config", path, "config", "show", NULL};
	assert_int_equal(towlion_env(&r, env, a), 0);
	assert_non_null(strstr(S(&r.out), "postgresql://admin:***@127.0.0.1:5432/postgres"));
	assert_non_null(strstr(S(&r.out), "redis://default:***@127.0.0.1:6379"));
	assert_null(strstr(S(&r.out), "w0rd"));
	assert_null(strstr(S(&r.out), "p@ss"));
	assert_null(strstr(S(&r.out), "is-pw"));
	assert_non_null(strstr(S(&r.out), "https://user:***@mail.example.com"));
	assert_null(strstr(S(&r.out), "il-pw"));
	tl__spawn_result_dispose(&r);
	/* --json too. */
	const char *j[] = {"--json", "--config", path, "config", "show", NULL};
	assert_int_equal(towlion_env(&r, env, j), 0);
	assert_null(strstr(S(&r.out), "w0rd"));
	assert_null(strstr(S(&r.out), "is-pw"));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);
}

static void test_config_error_does_not_print_secret(void **state)
{
	/* A secret with a newline is refused; the message names the key and
	 * the reason, never the value. */
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_rc(TL_EINVALID,
	             tl_ctx_config_set(ctx, "TOWLION_S3_SECRET_KEY", "hunter2-TOPSECRET\nx"));
	tl_assert_error_contains("TOWLION_S3_SECRET_KEY");
	tl_assert_error_contains("newline");
	assert_null(strstr(tl_error_last()->message, "TOPSECRET"));
	tl_assert_rc(TL_EINVALID,
	             tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", "redis://u:pw-TOPSECRET@h:1\n"));
	assert_null(strstr(tl_error_last()->message, "TOPSECRET"));
	tl_assert_error_contains("redis://u:***@h:1");
	/* Nothing changed. */
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_S3_SECRET_KEY"), "");
	assert_string_equal(tl_ctx_config_get(ctx, "TOWLION_REDIS_URL"), "redis://127.0.0.1:6379");
	tl_ctx_free(ctx);

	/* The same from the environment and from a config file, via the CLI. */
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/towlion.conf", dir);
	tl_test_write_file(path, "TOWLION_GITHUB_TOKEN=\"ghp_TOPSECRET\nsecond line\"\n", 0600);
	tl__spawn_result r;
	const char *a[] = {"--config", path, "config", "show", NULL};
	assert_int_not_equal(towlion_env(&r, NULL, a), 0);
	assert_non_null(strstr(S(&r.err), "TOWLION_GITHUB_TOKEN"));
	assert_null(strstr(S(&r.err), "TOPSECRET"));
	assert_null(strstr(S(&r.out), "TOPSECRET"));
	tl__spawn_result_dispose(&r);
	const char *env[] = {"TOWLION_ALERT_MAIL_TOKEN=pm-TOPSECRET\nx", NULL};
	const char *b[] = {"config", "show", NULL};
	assert_int_not_equal(towlion_env(&r, env, b), 0);
	assert_non_null(strstr(S(&r.err), "TOWLION_ALERT_MAIL_TOKEN"));
	assert_null(strstr(S(&r.err), "TOPSECRET"));
	tl__spawn_result_dispose(&r);
	tl_test_rmdir(dir);
}

/* ---- alert mail over plain http ------------------------------------------ */

static void test_mail_http_refused(void **state)
{
	const char *gw = TL_TEST_REQUIRE("TL_TEST_DOCKER_GATEWAY");
	if (!gw)
		return;
	/* A listener on a non-loopback address of this host. */
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(ls >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, gw, &sa.sin_addr), 1);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(listen(ls, 4), 0);
	char url[128];
	snprintf(url, sizeof(url), "http://%s:%d", gw, ntohs(sa.sin_port));

	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", dir));
	tl_alert_options o;
	tl_assert_ok(tl_alert_options_init(&o, TL_ALERT_OPTIONS_VERSION));
	o.mail_provider = "postmark";
	o.mail_endpoint = url;
	o.mail_token = "pm-TOPSECRET";
	o.mail_from = "ops@example.com";
	o.mail_to = "admin@example.com";
	o.disk_pct = 1; /* something fires, so a mail would be sent */
	tl_alert_report *rep = NULL;
	tl_assert_rc(TL_EINVALID, tl_alerts_check(&rep, ctx, &o));
	assert_null(rep);
	tl_assert_error_contains("plain http://");
	tl_assert_error_contains("https://");
	assert_null(strstr(tl_error_last()->message, "TOPSECRET"));
	/* Nobody connected. */
	assert_int_equal(accept(ls, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	/* Other schemes are refused too; the CLI says the same. */
	o.mail_endpoint = "ftp://mail.example.com";
	tl_assert_rc(TL_EINVALID, tl_alerts_check(&rep, ctx, &o));
	tl_assert_error_contains("https://");
	tl__spawn_result r;
	char statearg[600];
	snprintf(statearg, sizeof(statearg), "TOWLION_STATE_DIR=%s", dir);
	const char *env[] = {statearg, "TOWLION_ALERT_MAIL_TOKEN=pm-TOPSECRET", NULL};
	const char *a[] = {"alerts", "check", "--mail", "postmark", "--mail-endpoint", url,
	                   "--mail-from", "ops@example.com", "--mail-to", "a@example.com", NULL};
	assert_int_not_equal(towlion_env(&r, env, a), 0);
	assert_non_null(strstr(S(&r.err), "plain http://"));
	tl__spawn_result_dispose(&r);
	assert_int_equal(accept(ls, NULL, NULL), -1);
	close(ls);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* ---- the PR comment: only the token's own marked comment is edited ----- */

static json_t *standin(const char *method, const char *path, const char *fmt, ...)
	TL__PRINTF(3, 4);
static json_t *standin(const char *method, const char *path, const char *fmt, ...)
{
	char url[512], body[2048] = "";
	snprintf(url, sizeof(url), "%s%s", getenv("TL_TEST_GITHUB_STANDIN"), path);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(body, sizeof(body), fmt, ap);
		va_end(ap);
	}
	tl__http_req req = {.method = method, .url = url, .body = fmt ? body : NULL,
	                    .body_len = strlen(body), .timeout_ms = 10000};
	tl__http_resp resp;
	tl_assert_ok(tl__http_do(NULL, &resp, &req));
	if (resp.status < 200 || resp.status > 299)
		fail_msg("%s %s: HTTP %ld %s", method, path, resp.status, resp.body.ptr);
	json_t *j = json_loadb(resp.body.ptr, resp.body.size, 0, NULL);
	assert_non_null(j);
	tl__http_resp_dispose(&resp);
	return j;
}

/* The comments of repo#number as the stand-in keeps them. */
static json_t *comments_of(const char *repo, int number)
{
	json_t *st = standin("GET", "/_standin/state", NULL);
	json_t *out = json_array();
	const char *k;
	json_t *r;
	json_object_foreach(st, k, r) {
		if (strcasecmp(json_string_value(json_object_get(r, "full_name")), repo))
			continue;
		const char *id;
		json_t *c;
		json_object_foreach(json_object_get(r, "comments"), id, c)
			if (json_integer_value(json_object_get(c, "number")) == number)
				json_array_append(out, c);
	}
	json_decref(st);
	return out;
}

static const char *body_of(json_t *comments, const char *user)
{
	size_t i;
	json_t *c;
	json_array_foreach(comments, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "user")), user))
			return json_string_value(json_object_get(c, "body"));
	return NULL;
}

static void test_comment_of_another_author_not_edited(void **state)
{
	if (!TL_TEST_REQUIRE("TL_TEST_GITHUB_STANDIN"))
		return;
	char repo[64];
	snprintf(repo, sizeof(repo), "tenant/leaks%d", (int)getpid());
	json_decref(standin("POST", "/_standin/prs", "{\"repo\":\"%s\",\"number\":7}", repo));
	/* A tenant (the PR's author) writes a comment that carries our marker. */
	const char *evil = "<!-- towlion:preview:web -->\nPreview moved: http://evil.example";
	json_decref(standin("POST", "/_standin/comments",
	                    "{\"repo\":\"%s\",\"number\":7,\"user\":\"mallory\","
	                    "\"body\":\"<!-- towlion:preview:web -->\\nPreview moved: "
	                    "http://evil.example\"}",
	                    repo));
	tl_ctx *ctx = tl_test_ctx(1);
	tl_github *gh = NULL;
	tl_assert_ok(tl_github_new(&gh, ctx, NULL));
	tl_github_comment *c = NULL;
	tl_assert_ok(tl_github_comment_upsert(&c, gh, repo, 7, "preview:web", "ours, 1"));
	assert_int_equal(tl_github_comment_created(c), 1); /* a new one, not mallory's */
	int64_t ours = tl_github_comment_id(c);
	tl_github_comment_free(c);
	json_t *cs = comments_of(repo, 7);
	assert_int_equal(json_array_size(cs), 2);
	assert_string_equal(body_of(cs, "mallory"), evil);
	json_decref(cs);
	/* The next update edits our own comment. */
	tl_assert_ok(tl_github_comment_upsert(&c, gh, repo, 7, "preview:web", "ours, 2"));
	assert_int_equal(tl_github_comment_created(c), 0);
	assert_int_equal(tl_github_comment_id(c), ours);
	tl_github_comment_free(c);
	cs = comments_of(repo, 7);
	assert_int_equal(json_array_size(cs), 2);
	assert_string_equal(body_of(cs, "mallory"), evil);
	assert_non_null(strstr(body_of(cs, "towlion-bot"), "ours, 2"));
	json_decref(cs);
	tl_github_free(gh);

	/* A token that may not read /user (an installation token): without
	 * TOWLION_GITHUB_USER nothing is edited or posted, with a clear error. */
	json_decref(standin("POST", "/_standin/config", "{\"user_forbidden\": true}"));
	tl_assert_ok(tl_github_new(&gh, ctx, NULL));
	tl_assert_rc(TL_EAUTH, tl_github_comment_upsert(NULL, gh, repo, 7, "preview:web", "x"));
	tl_assert_error_contains("TOWLION_GITHUB_USER");
	tl_github_free(gh);
	cs = comments_of(repo, 7);
	assert_int_equal(json_array_size(cs), 2);
	assert_string_equal(body_of(cs, "mallory"), evil);
	assert_non_null(strstr(body_of(cs, "towlion-bot"), "ours, 2"));
	json_decref(cs);
	/* With it, the login decides. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_GITHUB_USER", "towlion-bot"));
	tl_assert_ok(tl_github_new(&gh, ctx, NULL));
	tl_assert_ok(tl_github_comment_upsert(&c, gh, repo, 7, "preview:web", "ours, 3"));
	assert_int_equal(tl_github_comment_id(c), ours);
	tl_github_comment_free(c);
	tl_github_free(gh);
	json_decref(standin("POST", "/_standin/config", "{\"user_forbidden\": false}"));
	cs = comments_of(repo, 7);
	assert_string_equal(body_of(cs, "mallory"), evil);
	json_decref(cs);
	tl_ctx_free(ctx);
}

/* ---- SSH through a login shell that is not POSIX -------------------------- */

static tl_ssh *ssh_as(tl_ctx *ctx, const char *user, int *rc)
{
	tl_ssh_options o = TL_SSH_OPTIONS_INIT;
	o.host = getenv("TL_TEST_SSH_HOST");
	o.port = atoi(getenv("TL_TEST_SSH_PORT"));
	o.user = user;
	o.key_path = getenv("TL_TEST_SSH_KEY");
	o.known_hosts = getenv("TL_TEST_SSH_KNOWN_HOSTS");
	o.connect_timeout_ms = 5000;
	o.timeout_ms = 20000;
	tl_ssh *s = NULL;
	*rc = tl_ssh_connect(&s, ctx, &o);
	return s;
}

static void test_ssh_refuses_fish_login_shell(void **state)
{
	const char *fish = TL_TEST_REQUIRE("TL_TEST_SSH_FISH_USER");
	const char *me = TL_TEST_REQUIRE("TL_TEST_SSH_USER");
	if (!fish || !me)
		return;
	char *dir = tl_test_tmpdir();
	assert_int_equal(chmod(dir, 0777), 0); /* the fish user may write here */
	char marker[600];
	snprintf(marker, sizeof(marker), "%s/ran", dir);
	char script[700];
	snprintf(script, sizeof(script), "touch '%s'", marker);
	/* A word fish reads differently: \' inside single quotes. */
	const char *argv[] = {"sh", "-c", script, "it's\\", NULL};
	tl_ctx *ctx = tl_test_ctx(1);
	int rc;
	tl_ssh *s = ssh_as(ctx, fish, &rc);
	tl_assert_ok(rc); /* the login itself works */
	tl_ssh_result r = TL_SSH_RESULT_INIT;
	tl_assert_rc(TL_EUNSUPPORTED, tl_ssh_exec(&r, s, argv, NULL));
	tl_assert_error_contains("/usr/bin/fish");
	tl_assert_error_contains("POSIX");
	/* Refused again on the same connection, and nothing ran. */
	tl_assert_rc(TL_EUNSUPPORTED, tl_ssh_exec(&r, s, argv, NULL));
	assert_int_equal(access(marker, F_OK), -1);
	tl_ssh_free(s);
	/* The operator's POSIX login still runs the same command. */
	s = ssh_as(ctx, me, &rc);
	tl_assert_ok(rc);
	tl_assert_ok(tl_ssh_exec(&r, s, argv, NULL));
	assert_int_equal(r.exit_status, 0);
	tl_ssh_result_dispose(&r);
	assert_int_equal(access(marker, F_OK), 0);
	tl_ssh_free(s);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

/* ---- terminal escapes from a tenant's container ------------------------- */

/* What the tenant prints: set the window title, clear the screen, move the
 * cursor, a CR to overwrite the line, an 8-bit CSI (U+009B), a BEL. */
#define EVIL "printf 'A\\033]0;pwned\\007B\\033[2J\\033[HC\\rD\\302\\233E\\n'"

static int setup_container(void **state)
{
	if (!TL_TEST_REQUIRE("TOWLION_DOCKER_HOST"))
		return 0;
	snprintf(g_app, sizeof(g_app), "tlesc%d", (int)getpid());
	snprintf(g_name, sizeof(g_name), "towlion-test-esc-%d", (int)getpid());
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	tl_assert_ok(tl_docker_container_spec_set_name(s, g_name));
	const char *cmd[] = {"sh", "-c", EVIL "; " EVIL " >&2; exec sleep 600", NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, cmd));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", g_app));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "app"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.release", "r1"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(d, g_name));
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	for (int i = 0; i < 50 && !err.size; i++) {
		tl_buf_dispose(&out);
		tl_buf_dispose(&err);
		tl_assert_ok(tl_docker_container_logs(&out, &err, d, g_name, NULL));
		if (!err.size)
			usleep(100000);
	}
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return 0;
}

static int teardown_container(void **state)
{
	if (!getenv("TOWLION_DOCKER_HOST") || !g_name[0])
		return 0;
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) == TL_OK)
		tl_docker_container_remove(d, g_name, TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return 0;
}

/* No raw control byte but newline, and the escaped forms are there. */
static void assert_escaped(const char *what, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || (p[0] == 0xc2 && p[1] == 0x9b))
			fail_msg("%s: raw control byte 0x%02x at offset %ld in \"%s\"", what, *p,
			         (long)(p - (const unsigned char *)text), text);
	if (!strstr(text, "A\\x1b]0;pwned\\x07B\\x1b[2J\\x1b[HC\\x0dD\\u009bE"))
		fail_msg("%s: escaped form missing in \"%s\"", what, text);
}

static void test_cli_escapes_tenant_output(void **state)
{
	if (!g_name[0])
		return;
	tl__spawn_result r;
	const char *a[] = {"logs", g_app, NULL};
	assert_int_equal(towlion_env(&r, NULL, a), 0);
	assert_escaped("logs stdout", S(&r.out));
	assert_escaped("logs stderr", S(&r.err));
	tl__spawn_result_dispose(&r);
	const char *x[] = {"exec", g_app, "--", "sh", "-c", EVIL, NULL};
	assert_int_equal(towlion_env(&r, NULL, x), 0);
	assert_escaped("exec", S(&r.out));
	tl__spawn_result_dispose(&r);
	/* --json keeps the bytes (JSON escapes them itself). */
	const char *j[] = {"logs", g_app, "--json", NULL};
	assert_int_equal(towlion_env(&r, NULL, j), 0);
	assert_non_null(strstr(S(&r.out), "]0;pwned"));
	assert_null(strchr(S(&r.out), '\033'));
	tl__spawn_result_dispose(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_show_masks_password_with_at),
		cmocka_unit_test(test_config_error_does_not_print_secret),
		cmocka_unit_test(test_mail_http_refused),
		cmocka_unit_test(test_comment_of_another_author_not_edited),
		cmocka_unit_test(test_ssh_refuses_fish_login_shell),
		cmocka_unit_test_setup_teardown(test_cli_escapes_tenant_output, setup_container,
		                                teardown_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
