/*
 * Routing through the harness's real Caddy. The harness Caddy is shared:
 * each test uses a private TOWLION_CADDY_DIR (its own main Caddyfile, same
 * admin API), the tests run serially, and at the end the harness's own
 * Caddyfile is loaded back. Upstreams are busybox httpd processes on
 * loopback, each serving a distinct body; requests go through Caddy with
 * a Host header and the BODY is checked (Caddy answers unknown hosts with
 * 200 and an empty body).
 */
#include "tl_test.h"

#include "caddy/caddy_internal.h"
#include "core/core.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- upstreams: busybox httpd ---- */

typedef struct {
	pid_t pid;
	int port;
	char addr[32];
	char *dir;
} upstream;

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	close(s);
	return ntohs(a.sin_port);
}

static long http_get(const char *url, const char *host, char *body, size_t cap,
                     const char *resolve, const char *cainfo, char *location, size_t loclen);

static void upstream_start(upstream *u, const char *body)
{
	u->dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/index.html", u->dir);
	tl_test_write_file(path, body, 0644);
	snprintf(path, sizeof(path), "%s/health", u->dir);
	tl_test_write_file(path, "ok", 0644);
	mkdir(strcat(strcpy(path, u->dir), "/api"), 0755);
	snprintf(path, sizeof(path), "%s/api/index.html", u->dir);
	tl_test_write_file(path, body, 0644);
	u->port = free_port();
	snprintf(u->addr, sizeof(u->addr), "127.0.0.1:%d", u->port);
	u->pid = fork();
	assert_true(u->pid >= 0);
	if (u->pid == 0) {
		execl("/bin/busybox", "busybox", "httpd", "-f", "-p", u->addr, "-h", u->dir,
		      (char *)NULL);
		_exit(127);
	}
	/* Wait until it answers. */
	char url[64], got[64];
	snprintf(url, sizeof(url), "http://%s/", u->addr);
	for (int i = 0; i < 100; i++) {
		if (http_get(url, NULL, got, sizeof(got), NULL, NULL, NULL, 0) == 200)
			return;
		usleep(50 * 1000);
	}
	fail_msg("busybox httpd on %s did not start", u->addr);
}

static void upstream_stop(upstream *u)
{
	if (u->pid > 0) {
		kill(u->pid, SIGTERM);
		waitpid(u->pid, NULL, 0);
	}
	tl_test_rmdir(u->dir);
	memset(u, 0, sizeof(*u));
}

/* ---- HTTP through Caddy ---- */

typedef struct {
	char *buf;
	size_t cap, len;
} sink;

static size_t on_data(char *d, size_t s, size_t n, void *p)
{
	sink *k = p;
	size_t len = s * n;
	size_t room = k->cap - 1 - k->len;
	memcpy(k->buf + k->len, d, len < room ? len : room);
	k->len += len < room ? len : room;
	k->buf[k->len] = '\0';
	return len;
}

static size_t on_header(char *d, size_t s, size_t n, void *p)
{
	char **loc = p;
	size_t len = s * n;
	if (loc[0] && len > 10 && !strncasecmp(d, "Location: ", 10)) {
		size_t cap = (size_t)(uintptr_t)loc[1];
		size_t l = len - 10;
		while (l && (d[10 + l - 1] == '\r' || d[10 + l - 1] == '\n'))
			l--;
		snprintf(loc[0], cap, "%.*s", (int)l, d + 10);
	}
	if (loc[2] && len > 23 && !strncasecmp(d, "X-Content-Type-Options:", 23))
		strcpy(loc[2], "nosniff-seen");
	return len;
}

static char g_hdr_flag[32];

/* GET `url` with Host `host`; returns the status (-1 on a transport
 * failure) and the body. */
static long http_get(const char *url, const char *host, char *body, size_t cap,
                     const char *resolve, const char *cainfo, char *location, size_t loclen)
{
	CURL *c = curl_easy_init();
	sink k = {body, cap, 0};
	body[0] = '\0';
	char hh[300];
	struct curl_slist *h = NULL, *r = NULL;
	if (host) {
		snprintf(hh, sizeof(hh), "Host: %s", host);
		h = curl_slist_append(h, hh);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if (resolve) {
		r = curl_slist_append(r, resolve);
		curl_easy_setopt(c, CURLOPT_RESOLVE, r);
	}
	if (cainfo)
		curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
	char *loc[3] = {location, (char *)(uintptr_t)loclen, g_hdr_flag};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, loc);
	long status = -1;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_slist_free_all(r);
	curl_easy_cleanup(c);
	return status;
}

static const char *g_http_port;

/* The body Caddy answers for `host` at `path`. */
static char *via_caddy(const char *host, const char *path)
{
	static char body[256];
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", g_http_port, path);
	long st = http_get(url, host, body, sizeof(body), NULL, NULL, NULL, 0);
	if (st != 200)
		snprintf(body, sizeof(body), "HTTP %ld", st);
	return body;
}

/* Nothing routes `host`: Caddy answers an empty 200, or, when no site
 * is left at all, nothing listens on the port. */
static void assert_not_served(const char *host, const char *path)
{
	const char *got = via_caddy(host, path);
	if (strcmp(got, "") && strcmp(got, "HTTP -1"))
		fail_msg("%s%s is still served: \"%s\"", host, path, got);
}

/* Wait (briefly) for Caddy to serve `want` for host: health checks and
 * connection reuse make the first answers after a load lag a little. */
static void assert_serves(const char *host, const char *path, const char *want)
{
	char *got = NULL;
	for (int i = 0; i < 50; i++) {
		got = via_caddy(host, path);
		if (!strcmp(got, want))
			return;
		usleep(100 * 1000);
	}
	fail_msg("%s%s: expected body \"%s\", got \"%s\"", host, path, want, got);
}

/* ---- fixture: a private routing table on the shared Caddy ---- */

typedef struct {
	tl_ctx *ctx;
	char *dir;
	char sites[512];
	upstream v1, v2;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	*state = f;
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	g_http_port = TL_TEST_REQUIRE("TOWLION_HTTP_PORT");
	f->ctx = tl_test_ctx(1);
	f->dir = tl_test_tmpdir();
	char state_dir[512];
	snprintf(state_dir, sizeof(state_dir), "%s/state", f->dir);
	snprintf(f->sites, sizeof(f->sites), "%s/sites", f->dir);
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_CADDY_DIR", f->dir));
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_STATE_DIR", state_dir));
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_TLS", "off"));
	tl_caddy_main_options o = TL_CADDY_MAIN_OPTIONS_INIT;
	o.default_bind = "127.0.0.1";
	tl_assert_ok(tl_caddy_write_main(f->ctx, &o));
	upstream_start(&f->v1, "v1");
	upstream_start(&f->v2, "v2");
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f) {
		upstream_stop(&f->v1);
		upstream_stop(&f->v2);
		tl_ctx_free(f->ctx);
		tl_test_rmdir(f->dir);
		free(f);
	}
	return 0;
}

/* Load the harness's own Caddyfile back (as text: Caddy adapts it). */
static int restore_harness(void **state)
{
	const char *admin = getenv("TOWLION_CADDY_ADMIN");
	const char *dir = getenv("TOWLION_CADDY_DIR");
	if (!admin || !dir)
		return 0;
	char path[512], url[256];
	snprintf(path, sizeof(path), "%s/Caddyfile", dir);
	snprintf(url, sizeof(url), "%s/load", admin);
	char *text = tl_test_read_file(path);
	if (!text)
		return 0;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/caddyfile");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	CURLcode cc = curl_easy_perform(c);
	long st = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(text);
	if (cc != CURLE_OK || st != 200)
		fprintf(stderr, "could not restore the harness Caddy config (HTTP %ld)\n", st);
	return 0;
}

static void route(tl_caddy_route *r, const char *site, const char **hosts, size_t nh,
                  const char **ups, size_t nu)
{
	tl_assert_ok(tl_caddy_route_init(r, TL_CADDY_ROUTE_VERSION));
	r->site = site;
	r->hosts = hosts;
	r->nhosts = nh;
	r->upstreams = ups;
	r->nupstreams = nu;
}

static char *site_file(fixture *f, const char *site)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s.caddy", f->sites, site);
	return tl_test_read_file(p);
}

/* The live config, for "untouched" checks. */
static char *live_config(void)
{
	static char url[256];
	snprintf(url, sizeof(url), "%s/config/", getenv("TOWLION_CADDY_ADMIN"));
	char *body = malloc(4 << 20);
	long st = -1;
	/* the admin listener may be swapping after a load: retry a refusal */
	for (int i = 0; i < 20 && st == -1; i++)
		if ((st = http_get(url, NULL, body, 4 << 20, NULL, NULL, NULL, 0)) == -1)
			usleep(100 * 1000);
	assert_int_equal(st, 200);
	return body;
}

/* ---- tests ---- */

static void test_add_route_serves_upstream_body(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"shop.rt.towlion.test", "www-shop.rt.towlion.test"};
	const char *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "shop", hosts, 2, ups, 1);
	r.health_uri = "/health";
	r.max_body_bytes = 1 << 20;
	g_hdr_flag[0] = '\0';
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_serves("shop.rt.towlion.test", "/", "v1");
	assert_string_equal(via_caddy("www-shop.rt.towlion.test", "/"), "v1");
	assert_string_equal(g_hdr_flag, "nosniff-seen"); /* the security headers */
	/* An unknown host: Caddy's empty 200. */
	assert_string_equal(via_caddy("nobody.rt.towlion.test", "/"), "");

	tl_caddy_sites *s = NULL;
	tl_assert_ok(tl_caddy_list(&s, f->ctx));
	assert_int_equal(tl_caddy_sites_count(s), 1);
	const tl_caddy_site *x = tl_caddy_sites_at(s, 0);
	assert_string_equal(x->site, "shop");
	assert_int_equal(x->nhosts, 2);
	assert_string_equal(x->upstreams[0], f->v1.addr);
	assert_null(tl_caddy_sites_at(s, 1));
	tl_caddy_sites_free(s);

	tl_caddy_upstreams *u = NULL;
	tl_assert_ok(tl_caddy_upstreams_get(&u, f->ctx));
	bool found = false;
	for (size_t i = 0; i < tl_caddy_upstreams_count(u); i++)
		if (!strcmp(tl_caddy_upstreams_at(u, i)->address, f->v1.addr))
			found = tl_caddy_upstreams_at(u, i)->healthy;
	assert_true(found);
	tl_caddy_upstreams_free(u);
	tl_assert_ok(tl_caddy_check(f->ctx));
}

typedef struct {
	long total, failed, v1, v2, after_switch;
	volatile int switched, stop;
	char last[64];
	char first_failure[128];
} load_state;

static void *client_loop(void *p)
{
	load_state *ls = p;
	char body[64];
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", g_http_port);
	while (!ls->stop || ls->total < 1000) {
		long st = http_get(url, "bg.rt.towlion.test", body, sizeof(body), NULL, NULL, NULL, 0);
		ls->total++;
		if (ls->switched)
			ls->after_switch++;
		if (st == 200 && !strcmp(body, "v1"))
			ls->v1++;
		else if (st == 200 && !strcmp(body, "v2"))
			ls->v2++;
		else {
			if (!ls->failed)
				snprintf(ls->first_failure, sizeof(ls->first_failure),
				         "HTTP %ld body \"%s\" at request %ld", st, body, ls->total);
			ls->failed++;
		}
		snprintf(ls->last, sizeof(ls->last), "%s", body);
		if (ls->stop && ls->after_switch > 300 && ls->total >= 1000)
			break;
	}
	return NULL;
}

/* How many POST /load Caddy has answered (its admin metrics): tells
 * whether someone else replaced the shared Caddy's config meanwhile. */
static long load_count(void)
{
	char url[256];
	snprintf(url, sizeof(url), "%s/metrics", getenv("TOWLION_CADDY_ADMIN"));
	char *body = malloc(1 << 20);
	long total = -1;
	if (http_get(url, NULL, body, 1 << 20, NULL, NULL, NULL, 0) == 200) {
		total = 0;
		for (char *l = strtok(body, "\n"); l; l = strtok(NULL, "\n"))
			if (!strncmp(l, "caddy_admin_http_requests_total{", 32) &&
			    strstr(l, "path=\"/load\"") && strrchr(l, ' '))
				total += atol(strrchr(l, ' ') + 1);
	}
	free(body);
	return total;
}

static void test_blue_green_switch_drops_nothing(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"bg.rt.towlion.test"};
	const char *blue[] = {f->v1.addr}, *green[] = {f->v2.addr};
	/* The harness Caddy is shared during development: a run in which
	 * another client loaded its own config is not a verdict; try again. */
	for (int attempt = 1;; attempt++) {
		tl_caddy_route r;
		route(&r, "bg", hosts, 1, blue, 1);
		tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
		assert_serves("bg.rt.towlion.test", "/", "v1");

		long loads = load_count();
		load_state ls = {0};
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, client_loop, &ls), 0);
		while (ls.total < 400)
			usleep(10 * 1000);
		r.upstreams = green;
		tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
		ls.switched = 1;
		ls.stop = 1;
		pthread_join(th, NULL);
		long foreign = load_count() - loads - 1;
		print_message("blue/green: %ld requests, %ld v1, %ld v2, %ld failed %s\n", ls.total,
		              ls.v1, ls.v2, ls.failed, ls.first_failure);
		if (foreign > 0 && attempt < 5) {
			print_message("another client loaded %ld config(s) into the shared Caddy "
			              "meanwhile; again\n", foreign);
			continue;
		}
		assert_true(ls.total >= 1000);
		assert_int_equal(ls.failed, 0);
		assert_true(ls.v1 >= 400);
		assert_true(ls.v2 > 0);
		assert_string_equal(ls.last, "v2");
		break;
	}
	char *text = site_file(f, "bg");
	assert_non_null(strstr(text, f->v2.addr));
	assert_null(strstr(text, f->v1.addr));
	free(text);
}

static void test_rejected_route_changes_nothing(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"good.rt.towlion.test"}, *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "good", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_serves("good.rt.towlion.test", "/", "v1");
	char *before = site_file(f, "good");
	char *live = live_config();

	/* Valid names, but Caddy refuses the health URI when it provisions
	 * the proxy: the refusal comes from /load itself. */
	const char *bh[] = {"bad.rt.towlion.test"}, *bu[] = {f->v2.addr};
	tl_caddy_route bad;
	route(&bad, "bad", bh, 1, bu, 1);
	bad.health_uri = "/%zz";
	tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &bad));
	tl_assert_error_contains("Caddy refused");
	tl_assert_error_contains("%zz");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_CADDY);
	char *gone = site_file(f, "bad");
	assert_null(gone);

	/* The same for a replacement of a site that works: it keeps working. */
	r.health_uri = "/%zz";
	tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &r));
	char *after = site_file(f, "good");
	assert_string_equal(before, after);
	char *live2 = live_config();
	assert_string_equal(live, live2);
	assert_string_equal(via_caddy("good.rt.towlion.test", "/"), "v1");
	assert_string_equal(via_caddy("bad.rt.towlion.test", "/"), "");
	free(before);
	free(after);
	free(live);
	free(live2);
}

static void test_check_reports_hand_broken_file(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"ok.rt.towlion.test"}, *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "ok", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	tl_assert_ok(tl_caddy_check(f->ctx));
	char *live = live_config();

	char p[600];
	snprintf(p, sizeof(p), "%s/broken.caddy", f->sites);
	tl_test_write_file(p,
	                   "# towlion: v=1 site=broken hosts=broken.rt.towlion.test "
	                   "upstreams=127.0.0.1:9\n"
	                   "http://broken.rt.towlion.test {\n"
	                   "\tno_such_directive on\n"
	                   "}\n",
	                   0644);
	tl_assert_rc(TL_EINVALID, tl_caddy_check(f->ctx));
	tl_assert_error_contains("broken.caddy:3");
	tl_assert_error_contains("no_such_directive");

	/* No change goes live while a broken file is on disk: it would
	 * break Caddy's next start. The error names the file. */
	const char *h2[] = {"other.rt.towlion.test"};
	tl_caddy_route o;
	route(&o, "other", h2, 1, ups, 1);
	tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &o));
	tl_assert_error_contains("broken.caddy");
	assert_null(site_file(f, "other"));
	char *live2 = live_config();
	assert_string_equal(live, live2);
	free(live2);

	/* A file without a header is reported too. */
	snprintf(p, sizeof(p), "%s/nohdr.caddy", f->sites);
	tl_test_write_file(p, "http://x.rt.towlion.test {\n\trespond hi\n}\n", 0644);
	tl_assert_rc(TL_EINVALID, tl_caddy_check(f->ctx));
	tl_assert_error_contains("nohdr.caddy");
	tl_assert_error_contains("broken.caddy");
	unlink(p);
	/* Unbalanced braces: Caddy's syntax error points into the file. */
	snprintf(p, sizeof(p), "%s/brace.caddy", f->sites);
	tl_test_write_file(p,
	                   "# towlion: v=1 site=brace hosts=brace.rt.towlion.test "
	                   "upstreams=127.0.0.1:9\n"
	                   "http://brace.rt.towlion.test {\n"
	                   "\treverse_proxy 127.0.0.1:9 {\n"
	                   "}\n",
	                   0644);
	tl_assert_rc(TL_EINVALID, tl_caddy_check(f->ctx));
	tl_assert_error_contains("brace.caddy");
	unlink(p);
	snprintf(p, sizeof(p), "%s/broken.caddy", f->sites);
	unlink(p);
	tl_assert_ok(tl_caddy_check(f->ctx));
	tl_assert_ok(tl_caddy_route_set(f->ctx, &o));
	assert_serves("other.rt.towlion.test", "/", "v1");
	assert_serves("ok.rt.towlion.test", "/", "v1");
	free(live);
}

static void test_bad_input_and_conflicts_change_nothing(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"mine.rt.towlion.test"}, *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "mine", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	char *live = live_config();

	const char *same[] = {"other.rt.towlion.test", "mine.rt.towlion.test"};
	tl_caddy_route c;
	route(&c, "thief", same, 2, ups, 1);
	tl_assert_rc(TL_ECONFLICT, tl_caddy_route_set(f->ctx, &c));
	tl_assert_error_contains("mine.rt.towlion.test");
	tl_assert_error_contains("site mine");

	const char *bad_hosts[] = {"Bad_Host.towlion.test", "a..b.test", "x{y}.test",
	                           "evil.test {\n\trespond pwned\n}\nz.test", "localhost",
	                           "*.rt.towlion.test", ""};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(*bad_hosts); i++) {
		route(&c, "thief", &bad_hosts[i], 1, ups, 1);
		tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &c));
		assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_INPUT);
	}
	const char *bad_ups[] = {"127.0.0.1:99999", "127.0.0.1", "host:80 {", "a b:1", ":80"};
	const char *okh[] = {"thief.rt.towlion.test"};
	for (size_t i = 0; i < sizeof(bad_ups) / sizeof(*bad_ups); i++) {
		route(&c, "thief", okh, 1, &bad_ups[i], 1);
		tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &c));
		tl_assert_error_contains("upstream");
	}
	route(&c, "Thief", okh, 1, ups, 1);
	tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &c));
	route(&c, "thief", okh, 1, ups, 1);
	c.health_uri = "/health }";
	tl_assert_rc(TL_EINVALID, tl_caddy_route_set(f->ctx, &c));

	assert_null(site_file(f, "thief"));
	char *live2 = live_config();
	assert_string_equal(live, live2);
	free(live);
	free(live2);
	assert_string_equal(via_caddy("mine.rt.towlion.test", "/"), "v1");
}

static void test_path_routes_redirect_and_remove(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"full.rt.towlion.test"};
	const char *front[] = {f->v1.addr}, *api[] = {f->v2.addr};
	tl_caddy_path paths[] = {{"/api/*", api, 1, "/health"}};
	tl_caddy_route r;
	route(&r, "full", hosts, 1, front, 1);
	r.paths = paths;
	r.npaths = 1;
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_serves("full.rt.towlion.test", "/", "v1");
	assert_serves("full.rt.towlion.test", "/api/", "v2");

	const char *www[] = {"www.full.rt.towlion.test"};
	tl_caddy_route red;
	route(&red, "full-www", www, 1, NULL, 0);
	red.redirect_to = "full.rt.towlion.test";
	tl_assert_ok(tl_caddy_route_set(f->ctx, &red));
	char url[128], body[64], loc[256] = "";
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/x?y=1", g_http_port);
	assert_int_equal(http_get(url, "www.full.rt.towlion.test", body, sizeof(body), NULL, NULL,
	                          loc, sizeof(loc)),
	                 301);
	assert_string_equal(loc, "https://full.rt.towlion.test/x?y=1");

	tl_buf removed = TL_BUF_INIT;
	tl_assert_ok(tl_caddy_route_remove(&removed, f->ctx, "www.full.rt.towlion.test"));
	assert_string_equal(removed.ptr, "full-www");
	assert_string_equal(via_caddy("www.full.rt.towlion.test", "/"), "");
	assert_null(site_file(f, "full-www"));
	tl_assert_rc(TL_ENOTFOUND, tl_caddy_route_remove(&removed, f->ctx, "full-www"));
	tl_assert_ok(tl_caddy_route_remove(NULL, f->ctx, "full"));
	assert_not_served("full.rt.towlion.test", "/");
	tl_buf_dispose(&removed);
}

static bool config_routes(json_t *config, const char *host)
{
	char *text = json_dumps(config, JSON_COMPACT);
	bool yes = text && strstr(text, host);
	free(text);
	return yes;
}

/* A report reads Caddy's configuration once (metrics, doctor over every
 * app), but that snapshot never outlives a change made through the same
 * context: one tenant's new route shows in the next read, another
 * tenant's removed route does not linger, and a route change's own
 * reads are never answered from it. Outside a scope every read asks. */
static void test_report_snapshot_follows_changes(void **state)
{
	fixture *f = *state;
	const char *ha[] = {"snapa.rt.towlion.test"}, *hb[] = {"snapb.rt.towlion.test"};
	const char *up[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "snapa", ha, 1, up, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	tl__caddy_snapshot_begin(f->ctx);
	json_t *one = NULL, *two = NULL, *live = NULL;
	tl_assert_ok(tl__caddy_get_config(&one, f->ctx));
	tl_assert_ok(tl__caddy_get_config(&two, f->ctx));
	assert_ptr_equal(one, two); /* one request, one parse */
	assert_true(config_routes(one, "snapa.rt") && !config_routes(one, "snapb.rt"));
	json_decref(two);

	route(&r, "snapb", hb, 1, up, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	tl_assert_ok(tl__caddy_get_config(&two, f->ctx));
	assert_ptr_not_equal(one, two);
	assert_true(config_routes(two, "snapa.rt") && config_routes(two, "snapb.rt"));
	json_decref(two);
	tl_assert_ok(tl_caddy_route_remove(NULL, f->ctx, "snapa"));
	tl_assert_ok(tl__caddy_get_config(&two, f->ctx));
	assert_true(!config_routes(two, "snapa.rt") && config_routes(two, "snapb.rt"));
	tl_assert_ok(tl__caddy_get(&live, f->ctx, "/config/"));
	assert_ptr_not_equal(live, two);
	json_decref(live);
	json_decref(two);
	tl__caddy_snapshot_end(f->ctx);
	tl_assert_ok(tl__caddy_get_config(&two, f->ctx));
	tl_assert_ok(tl__caddy_get_config(&live, f->ctx));
	assert_ptr_not_equal(live, two);
	json_decref(live);
	json_decref(two);
	json_decref(one);
	tl_assert_ok(tl_caddy_route_remove(NULL, f->ctx, "snapb"));
	assert_not_served("snapb.rt.towlion.test", "/");
}

static void test_reload_restores_after_foreign_load(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"again.rt.towlion.test"}, *ups[] = {f->v2.addr};
	tl_caddy_route r;
	route(&r, "again", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_serves("again.rt.towlion.test", "/", "v2");
	restore_harness(NULL); /* as if Caddy restarted with another config */
	assert_not_served("again.rt.towlion.test", "/");
	/* With a cold cache too: every site is adapted again. */
	char p[600];
	snprintf(p, sizeof(p), "%s/adapted/cache", f->dir);
	assert_int_equal(unlink(p), 0);
	tl_assert_ok(tl_caddy_reload(f->ctx));
	assert_serves("again.rt.towlion.test", "/", "v2");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
}

/* Has anything opened a file in `dir` since the watch began? (a
 * non-blocking inotify descriptor; reading it also ends the count) */
static bool any_open(int fd, const char *name)
{
	char buf[8192] __attribute__((aligned(8)));
	bool seen = false;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			seen = seen || (ev->len && !strcmp(ev->name, name));
			p += sizeof(*ev) + ev->len;
		}
	return seen;
}

/*
 * A site file whose stamp (inode, size, mtime, ctime) the cache holds is
 * taken from the cache without being opened; one written behind the
 * cache's back - same inode, same size, its mtime put back, within the
 * same second - is read again, and so is one changed right after a
 * change wrote it (its stamp is too new to be trusted).
 */
static void test_cache_rereads_file_changed_behind_its_back(void **state)
{
	fixture *f = *state;
	const char *hosts[] = {"stamp.rt.towlion.test"}, *ups[] = {f->v1.addr};
	assert_int_equal(strlen(f->v1.addr), strlen(f->v2.addr)); /* same-size edits */
	tl_caddy_route r;
	route(&r, "stamp", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_serves("stamp.rt.towlion.test", "/", "v1");
	char p[600];
	snprintf(p, sizeof(p), "%s/stamp.caddy", f->sites);
	char *v1 = site_file(f, "stamp");
	assert_non_null(v1);
	char *v2 = strdup(v1), *at = v2;
	assert_non_null(strstr(v2, f->v1.addr));
	while ((at = strstr(at, f->v1.addr))) /* the header line and the proxy */
		memcpy(at, f->v2.addr, strlen(f->v2.addr));
	struct stat before, after;

	/* Changed in place right away (same second, same size, same mtime). */
	assert_int_equal(stat(p, &before), 0);
	int fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, v2, strlen(v2), 0), (ssize_t)strlen(v2));
	struct timespec keep[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(futimens(fd, keep), 0);
	close(fd);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_ino, before.st_ino);
	tl_assert_ok(tl_caddy_reload(f->ctx));
	assert_serves("stamp.rt.towlion.test", "/", "v2");

	/* Settled (older than the table read by the margin): the next read
	 * records its stamp, and the one after does not open the file. */
	sleep(3);
	tl_assert_ok(tl_caddy_reload(f->ctx));
	char cp[600];
	snprintf(cp, sizeof(cp), "%s/adapted/cache", f->dir);
	char *cache = tl_test_read_file(cp);
	assert_non_null(strstr(cache, "n 5\nstamp\ns "));
	free(cache);
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, f->sites, IN_OPEN) >= 0);
	const char *h2[] = {"other2.rt.towlion.test"};
	tl_caddy_route o;
	route(&o, "other2", h2, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &o));
	assert_false(any_open(in, "stamp.caddy"));
	assert_serves("stamp.rt.towlion.test", "/", "v2");

	/* Behind the cache's back again: same inode, size and mtime. */
	assert_int_equal(stat(p, &before), 0);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, v1, strlen(v1), 0), (ssize_t)strlen(v1));
	struct timespec keep2[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(futimens(fd, keep2), 0);
	close(fd);
	any_open(in, "");
	tl_assert_ok(tl_caddy_reload(f->ctx));
	assert_true(any_open(in, "stamp.caddy"));
	assert_serves("stamp.rt.towlion.test", "/", "v1");
	close(in);
	free(v1);
	free(v2);
}

static void test_two_processes_add_at_once(void **state)
{
	fixture *f = *state;
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			tl_ctx *ctx = tl_test_ctx(1);
			char state_dir[600];
			snprintf(state_dir, sizeof(state_dir), "%s/state", f->dir);
			tl_ctx_config_set(ctx, "TOWLION_CADDY_DIR", f->dir);
			tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir);
			tl_ctx_config_set(ctx, "TOWLION_TLS", "off");
			const char *h[] = {i ? "two.rt.towlion.test" : "one.rt.towlion.test"};
			const char *u[] = {i ? f->v2.addr : f->v1.addr};
			tl_caddy_route r;
			tl_caddy_route_init(&r, TL_CADDY_ROUTE_VERSION);
			r.site = i ? "two" : "one";
			r.hosts = h;
			r.nhosts = 1;
			r.upstreams = u;
			r.nupstreams = 1;
			int rc = tl_caddy_route_set(ctx, &r);
			if (rc)
				fprintf(stderr, "child %d: %s\n", i, tl_error_last()->message);
			tl_ctx_free(ctx);
			_exit(rc ? 1 : 0);
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_serves("one.rt.towlion.test", "/", "v1");
	assert_serves("two.rt.towlion.test", "/", "v2");
	tl_caddy_sites *s = NULL;
	tl_assert_ok(tl_caddy_list(&s, f->ctx));
	assert_int_equal(tl_caddy_sites_count(s), 2);
	tl_caddy_sites_free(s);
}

static void test_tls_internal_https(void **state)
{
	fixture *f = *state;
	const char *https = TL_TEST_REQUIRE("TOWLION_HTTPS_PORT");
	const char *hosts[] = {"secure.rt.towlion.test"}, *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "secure", hosts, 1, ups, 1);
	r.tls = TL_CADDY_TLS_INTERNAL;
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	char *text = site_file(f, "secure");
	assert_non_null(strstr(text, "tls internal"));
	free(text);

	/* Caddy's local root, from the admin API. */
	char url[256], resolve[128], body[64];
	static char pem[16384];
	snprintf(url, sizeof(url), "%s/pki/ca/local/certificates", getenv("TOWLION_CADDY_ADMIN"));
	long st = 0;
	for (int i = 0; i < 50 && st != 200; i++) {
		st = http_get(url, NULL, pem, sizeof(pem), NULL, NULL, NULL, 0);
		if (st != 200)
			usleep(100 * 1000);
	}
	assert_int_equal(st, 200);
	assert_non_null(strstr(pem, "BEGIN CERTIFICATE"));
	/* The chain ends with the root: trust only that. */
	char *root = pem, *next;
	while ((next = strstr(root + 1, "-----BEGIN CERTIFICATE")))
		root = next;
	char ca[600];
	snprintf(ca, sizeof(ca), "%s/root.pem", f->dir);
	tl_test_write_file(ca, root, 0644);

	snprintf(url, sizeof(url), "https://secure.rt.towlion.test:%s/", https);
	snprintf(resolve, sizeof(resolve), "secure.rt.towlion.test:%s:127.0.0.1", https);
	st = -1;
	for (int i = 0; i < 100 && st != 200; i++) { /* the certificate is issued async */
		st = http_get(url, NULL, body, sizeof(body), resolve, ca, NULL, 0);
		if (st != 200)
			usleep(100 * 1000);
	}
	assert_int_equal(st, 200);
	assert_string_equal(body, "v1");
	/* Without Caddy's root the same request is refused: the check is real. */
	assert_int_equal(http_get(url, NULL, body, sizeof(body), resolve, "/dev/null", NULL, 0), -1);
}

/* ---- the security headers, one handler for every site ---- */

static size_t on_any_header(char *d, size_t s, size_t n, void *p)
{
	sink *k = p;
	return on_data(d, s, n, k) == s * n ? s * n : 0;
}

/* A request through Caddy; every response header line lands in `hdrs`.
 * `post` (or NULL) is sent as the body of a POST; `extra` (or NULL) is
 * one more request header. */
static long fetch(const char *host, const char *path, const char *post, const char *extra,
                  char *body, size_t bcap, char *hdrs, size_t hcap)
{
	CURL *c = curl_easy_init();
	sink b = {body, bcap, 0}, h = {hdrs, hcap, 0};
	body[0] = hdrs[0] = '\0';
	char url[256], hh[300];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s%s", g_http_port, path);
	snprintf(hh, sizeof(hh), "Host: %s", host);
	struct curl_slist *l = curl_slist_append(NULL, hh);
	if (extra)
		l = curl_slist_append(l, extra);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_any_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	long status = -1;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(l);
	curl_easy_cleanup(c);
	return status;
}

/* How many times the header `name` is in `hdrs`; the last value in `v`. */
static int header_count(const char *hdrs, const char *name, char *v, size_t vcap)
{
	int n = 0;
	size_t nl = strlen(name);
	v[0] = '\0';
	for (const char *p = hdrs; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncasecmp(p, name, nl) || p[nl] != ':')
			continue;
		const char *q = p + nl + 1, *e = q;
		while (*q == ' ')
			q++;
		for (e = q; *e && *e != '\r' && *e != '\n';)
			e++;
		snprintf(v, vcap, "%.*s", (int)(e - q), q);
		n++;
	}
	return n;
}

static const char *const sec_names[] = {"Strict-Transport-Security", "X-Content-Type-Options",
                                        "X-Frame-Options", "Referrer-Policy"};
static const char *const sec_values[] = {"max-age=31536000", "nosniff", "DENY",
                                         "strict-origin-when-cross-origin"};

/* The response for host/path has status `want` (0: any error, 400 and
 * up), and the platform's
 * headers exactly once each with their values and no Server header
 * (`secured`), or none of them. */
static void assert_headers(const char *host, const char *path, const char *post,
                           const char *extra, long want, bool secured)
{
	char body[256], hdrs[4096], v[256];
	long st = -1;
	/* a load takes a moment to reach every listener */
	bool ok = false;
	for (int i = 0; i < 50 && !ok; i++) {
		st = fetch(host, path, post, extra, body, sizeof(body), hdrs, sizeof(hdrs));
		if (!(ok = want ? st == want : st >= 400))
			usleep(100 * 1000);
	}
	if (!ok)
		fail_msg("%s%s: HTTP %ld, expected %ld", host, path, st, want);
	for (size_t i = 0; i < 4; i++) {
		int n = header_count(hdrs, sec_names[i], v, sizeof(v));
		if (secured && (n != 1 || strcmp(v, sec_values[i])))
			fail_msg("%s%s (HTTP %ld): %s seen %d times, last \"%s\", expected \"%s\":\n%s",
			         host, path, st, sec_names[i], n, v, sec_values[i], hdrs);
		if (!secured && n && !strcmp(v, sec_values[i]))
			fail_msg("%s%s (HTTP %ld) opted out but carries %s: %s\n%s", host, path, st,
			         sec_names[i], v, hdrs);
	}
	if (secured && header_count(hdrs, "Server", v, sizeof(v)))
		fail_msg("%s%s (HTTP %ld): Server header \"%s\" is not removed", host, path, st, v);
}

/* An app that tries to weaken its own headers: the names the platform
 * sets, a Server header, and a Connection header naming the platform's
 * headers (a proxy drops what Connection lists). */
static void write_hostile_cgi(const upstream *u)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/cgi-bin", u->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/cgi-bin/evil", u->dir);
	tl_test_write_file(path,
	                   "#!/bin/sh\n"
	                   "printf 'Content-Type: text/plain\\r\\n'\n"
	                   "printf 'X-Frame-Options: ALLOWALL\\r\\n'\n"
	                   "printf 'Strict-Transport-Security: max-age=0\\r\\n'\n"
	                   "printf 'X-Content-Type-Options: sniff\\r\\n'\n"
	                   "printf 'Referrer-Policy: unsafe-url\\r\\n'\n"
	                   "printf 'Server: evil\\r\\n'\n"
	                   "printf 'Connection: X-Frame-Options, Strict-Transport-Security\\r\\n'\n"
	                   "printf '\\r\\nevil'\n",
	                   0755);
}

/*
 * The security headers are one handler in front of every site of the
 * server (lib/caddy/security.c). With many sites, some opted out, some
 * with path routes, a redirect, a body limit and an upstream that is
 * down, every response of every site that did not opt out carries them
 * exactly once with the platform's values - Caddy's own errors (502,
 * 413) included - and no opted-out site carries any. A tenant's app
 * cannot change them on its own responses, and a client's request
 * headers cannot make Caddy pick another site's choice.
 */
static void test_security_headers_every_response(void **state)
{
	fixture *f = *state;
	write_hostile_cgi(&f->v1);
	char name[64], host[128];
	const char *up1[] = {f->v1.addr}, *up2[] = {f->v2.addr};
	char down_addr[32];
	snprintf(down_addr, sizeof(down_addr), "127.0.0.1:%d", free_port());
	const char *down[] = {down_addr};
	/* on0..on23 secured, off0..off5 opted out, added interleaved */
	for (int i = 0; i < 30; i++) {
		bool off = i % 5 == 2;
		snprintf(name, sizeof(name), off ? "off%d" : "on%d", i);
		snprintf(host, sizeof(host), "%s.sh.towlion.test", name);
		const char *hosts[] = {host};
		tl_caddy_route r;
		route(&r, name, hosts, 1, up1, 1);
		r.security_headers = !off;
		tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	}
	for (int off = 0; off < 2; off++) {
		tl_caddy_path paths[] = {{"/api/*", up2, 1, NULL}};
		const char *ph[] = {off ? "paths-off.sh.towlion.test" : "paths.sh.towlion.test"};
		const char *dh[] = {off ? "down-off.sh.towlion.test" : "down.sh.towlion.test"};
		const char *rh[] = {off ? "redir-off.sh.towlion.test" : "redir.sh.towlion.test"};
		const char *eh[] = {off ? "evil-off.sh.towlion.test" : "evil.sh.towlion.test"};
		tl_caddy_route p, d, rd, e;
		route(&p, off ? "paths-off" : "paths", ph, 1, up1, 1);
		p.paths = paths;
		p.npaths = 1;
		p.max_body_bytes = 16;
		route(&d, off ? "down-off" : "down", dh, 1, down, 1);
		route(&rd, off ? "redir-off" : "redir", rh, 1, NULL, 0);
		rd.redirect_to = "on0.sh.towlion.test";
		route(&e, off ? "evil-off" : "evil", eh, 1, up1, 1);
		p.security_headers = d.security_headers = rd.security_headers = e.security_headers =
			!off;
		tl_assert_ok(tl_caddy_route_set(f->ctx, &p));
		tl_assert_ok(tl_caddy_route_set(f->ctx, &d));
		tl_assert_ok(tl_caddy_route_set(f->ctx, &rd));
		tl_assert_ok(tl_caddy_route_set(f->ctx, &e));
	}
	/* One handler per server, not one per site. */
	char *cfg = live_config();
	int handlers = 0;
	for (const char *p = cfg; (p = strstr(p, "\"handler\":\"headers\"")); p++)
		handlers++;
	assert_int_equal(handlers, 2); /* at once and deferred */
	free(cfg);

	for (int i = 0; i < 30; i++) {
		bool off = i % 5 == 2;
		snprintf(host, sizeof(host), off ? "off%d.sh.towlion.test" : "on%d.sh.towlion.test", i);
		assert_headers(host, "/", NULL, NULL, 200, !off);
		assert_headers(host, "/nothing-here", NULL, NULL, 404, !off);
	}
	for (int off = 0; off < 2; off++) {
		char h[4][64];
		const char *kind[] = {"paths", "down", "redir", "evil"};
		for (int k = 0; k < 4; k++)
			snprintf(h[k], sizeof(h[k]), "%s%s.sh.towlion.test", kind[k], off ? "-off" : "");
		assert_headers(h[0], "/", NULL, NULL, 200, !off);
		assert_headers(h[0], "/api/", NULL, NULL, 200, !off);
		/* a body over the limit: Caddy's own error (2.6.2 answers 502,
		 * the proxy's read of the body fails; later versions 413) */
		assert_headers(h[0], "/api/", "a body longer than sixteen bytes", NULL, 0, !off);
		/* the proxy's 502: the upstream is down */
		assert_headers(h[1], "/", NULL, NULL, 502, !off);
		assert_headers(h[2], "/x", NULL, NULL, 301, !off);
		/* the app's own headers never replace the platform's */
		assert_headers(h[3], "/cgi-bin/evil", NULL, NULL, 200, !off);
	}
	/* ... which it does send: the opted-out twin passes them through */
	char body[64], hdrs[4096], v[64];
	assert_int_equal(fetch("evil-off.sh.towlion.test", "/cgi-bin/evil", NULL, NULL, body,
	                       sizeof(body), hdrs, sizeof(hdrs)),
	                 200);
	assert_int_equal(header_count(hdrs, "X-Content-Type-Options", v, sizeof(v)), 1);
	assert_string_equal(v, "sniff");
	/* A client cannot pick another site's choice with its headers. */
	assert_headers("on0.sh.towlion.test", "/", NULL, "X-Forwarded-Host: off2.sh.towlion.test",
	               200, true);
	assert_headers("on0.sh.towlion.test", "/", NULL, "Connection: close, X-Frame-Options", 200,
	               true);
	assert_headers("ON0.SH.towlion.test", "/", NULL, NULL, 200, true);
	assert_headers("OFF2.sh.towlion.test", "/", NULL, NULL, 200, false);

	/* Opting out and back in moves only that site. */
	const char *h2[] = {"off2.sh.towlion.test"}, *h0[] = {"on0.sh.towlion.test"};
	tl_caddy_route r;
	route(&r, "off2", h2, 1, up1, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_headers("off2.sh.towlion.test", "/", NULL, NULL, 200, true);
	route(&r, "on0", h0, 1, up1, 1);
	r.security_headers = 0;
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_headers("on0.sh.towlion.test", "/", NULL, NULL, 200, false);
	assert_headers("on1.sh.towlion.test", "/", NULL, NULL, 200, true);
	assert_headers("off7.sh.towlion.test", "/", NULL, NULL, 200, false);
}

/* A site file written before the headers became one route imports the
 * snippet itself and has no security_headers=1: it keeps its headers,
 * next to new sites that have them from the server-wide handler. */
static void test_security_headers_old_site_file(void **state)
{
	fixture *f = *state;
	char path[600], text[1024];
	snprintf(path, sizeof(path), "%s/old.caddy", f->sites);
	mkdir(f->sites, 0755);
	snprintf(text, sizeof(text),
	         "# towlion: v=1 site=old hosts=old.sh.towlion.test upstreams=%s\n"
	         "http://old.sh.towlion.test:%s {\n\timport security_headers\n"
	         "\treverse_proxy %s\n}\n",
	         f->v1.addr, g_http_port, f->v1.addr);
	tl_test_write_file(path, text, 0644);
	const char *hosts[] = {"new.sh.towlion.test"}, *ups[] = {f->v1.addr};
	tl_caddy_route r;
	route(&r, "new", hosts, 1, ups, 1);
	tl_assert_ok(tl_caddy_route_set(f->ctx, &r));
	assert_headers("old.sh.towlion.test", "/", NULL, NULL, 200, true);
	assert_headers("new.sh.towlion.test", "/", NULL, NULL, 200, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_route_serves_upstream_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blue_green_switch_drops_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_route_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_reports_hand_broken_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_and_conflicts_change_nothing, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_path_routes_redirect_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_restores_after_foreign_load, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_cache_rereads_file_changed_behind_its_back, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_two_processes_add_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_internal_https, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_snapshot_follows_changes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_security_headers_every_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_security_headers_old_site_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, restore_harness);
}
