/* Rendering of the main Caddyfile and site files, their validation, and
 * the site header parser (no Caddy needed). */
#include "tl_test.h"

#include "caddy/caddy_internal.h"

#include <stdlib.h>
#include <string.h>

static tl_ctx *ctx_with(const char *tls)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_TLS", tls));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_HTTP_PORT", "8080"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_HTTPS_PORT", "8443"));
	return ctx;
}

static const char *hosts[] = {"shop.example.com", "www.shop.example.com"};
static const char *ups[] = {"shop-app:8000", "10.0.0.2:8000"};

static tl_caddy_route basic(void)
{
	tl_caddy_route r = TL_CADDY_ROUTE_INIT;
	r.site = "shop";
	r.hosts = hosts;
	r.nhosts = 2;
	r.upstreams = ups;
	r.nupstreams = 2;
	return r;
}

static void test_main_caddyfile(void **state)
{
	tl_ctx *ctx = ctx_with("off");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ACME_EMAIL", "ops@example.com"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "http://127.0.0.1:2999"));
	tl_caddy_main_options o;
	tl_assert_ok(tl_caddy_main_options_init(&o, TL_CADDY_MAIN_OPTIONS_VERSION));
	o.default_bind = "127.0.0.1";
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_caddy_render_main(&b, ctx, &o));
	const char *want[] = {"\tadmin 127.0.0.1:2999\n", "\temail ops@example.com\n",
	                      "\thttp_port 8080\n", "\thttps_port 8443\n",
	                      "\tdefault_bind 127.0.0.1\n", "\tskip_install_trust\n",
	                      "\tauto_https disable_redirects\n", "(security_headers) {",
	                      "Strict-Transport-Security", "X-Content-Type-Options \"nosniff\"",
	                      "X-Frame-Options \"DENY\"", "Referrer-Policy", "\t\t-Server\n",
	                      "\nimport sites/*.caddy\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		if (!strstr(b.ptr, want[i]))
			fail_msg("main Caddyfile lacks \"%s\":\n%s", want[i], b.ptr);
	/* With TLS on, no disabled redirects, and no e-mail when unset. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_TLS", "auto"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ACME_EMAIL", ""));
	tl_assert_ok(tl_caddy_render_main(&b, ctx, NULL));
	assert_null(strstr(b.ptr, "auto_https"));
	assert_null(strstr(b.ptr, "email"));
	assert_null(strstr(b.ptr, "default_bind"));
	/* Bad configuration is refused, the buffer untouched. */
	char *keep = strdup(b.ptr);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ACME_EMAIL", "a@b }"));
	tl_assert_rc(TL_EINVALID, tl_caddy_render_main(&b, ctx, NULL));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ACME_EMAIL", ""));
	/* A unix socket needs an absolute path. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "unix://run/caddy.sock"));
	tl_assert_rc(TL_EINVALID, tl_caddy_render_main(&b, ctx, NULL));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "http://127.0.0.1:2019"));
	assert_string_equal(b.ptr, keep);
	free(keep);
	/* The admin API on a unix socket (docs/security.md, "Networks"). */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "unix:///run/caddy/admin.sock"));
	tl_assert_ok(tl_caddy_render_main(&b, ctx, NULL));
	assert_non_null(strstr(b.ptr, "\tadmin unix//run/caddy/admin.sock\n"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "http://127.0.0.1:2019"));
	tl_buf_dispose(&b);
	tl_ctx_free(ctx);
}

static void test_site_tls_off_and_options(void **state)
{
	tl_ctx *ctx = ctx_with("off");
	tl_caddy_route r = basic();
	r.health_uri = "/health";
	r.health_interval_s = 5;
	r.max_body_bytes = 1048576;
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_caddy_render_site(&b, ctx, &r));
	assert_string_equal(
		b.ptr,
		"# towlion: v=1 site=shop hosts=shop.example.com,www.shop.example.com "
		"upstreams=shop-app:8000,10.0.0.2:8000 security_headers=1\n"
		"# Written by libtowlion: change it with `towlion route`.\n"
		"http://shop.example.com:8080, http://www.shop.example.com:8080 {\n"
		"\trequest_body {\n\t\tmax_size 1048576\n\t}\n"
		"\treverse_proxy shop-app:8000 10.0.0.2:8000 {\n"
		"\t\tlb_try_duration 5s\n\t\tlb_try_interval 250ms\n"
		"\t\thealth_uri /health\n\t\thealth_interval 5s\n\t}\n"
		"}\n");
	/* The header reads back to the same route. */
	tl__caddy_header h;
	tl_assert_ok(tl__caddy_header_parse(&h, b.ptr, "shop.caddy"));
	assert_string_equal(h.site, "shop");
	assert_int_equal(h.nhosts, 2);
	assert_string_equal(h.hosts[1], "www.shop.example.com");
	assert_int_equal(h.nupstreams, 2);
	assert_string_equal(h.upstreams[0], "shop-app:8000");
	assert_null(h.redirect_to);
	assert_true(h.security_headers);
	tl__caddy_header_dispose(&h);
	/* Only "1" is a value of security_headers=. */
	tl_assert_rc(TL_EINVALID, tl__caddy_header_parse(&h, "# towlion: v=1 site=a hosts=a.test "
	                                                 "upstreams=b:1 security_headers=0\n",
	                                                 "a.caddy"));
	tl_buf_dispose(&b);
	tl_ctx_free(ctx);
}

static void test_site_tls_modes_paths_redirect(void **state)
{
	tl_ctx *ctx = ctx_with("internal");
	tl_caddy_route r = basic();
	r.nhosts = 1;
	r.nupstreams = 1;
	r.security_headers = 0;
	const char *api[] = {"api:8000"};
	tl_caddy_path p[] = {{"/api/*", api, 1, "/health"}};
	r.paths = p;
	r.npaths = 1;
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_caddy_render_site(&b, ctx, &r));
	assert_non_null(strstr(b.ptr, "upstreams=api:8000,shop-app:8000\n"));
	assert_non_null(strstr(b.ptr, "\nshop.example.com {\n\ttls internal\n"
	                              "\thandle /api/* {\n\t\treverse_proxy api:8000 {\n"
	                              "\t\t\thealth_uri /health\n\t\t\thealth_interval 10s\n"
	                              "\t\t}\n\t}\n\thandle {\n\t\treverse_proxy "
	                              "shop-app:8000\n\t}\n}\n"));
	assert_null(strstr(b.ptr, "security_headers"));
	/* auto: bare hostnames, no tls line; a route may override the mode */
	r.tls = TL_CADDY_TLS_AUTO;
	r.npaths = 0;
	tl_assert_ok(tl_caddy_render_site(&b, ctx, &r));
	assert_non_null(strstr(b.ptr, "\nshop.example.com {\n\treverse_proxy shop-app:8000\n}\n"));
	/* redirect www -> apex */
	tl_caddy_route w = TL_CADDY_ROUTE_INIT;
	const char *www[] = {"www.example.com"};
	w.site = "shop-www";
	w.hosts = www;
	w.nhosts = 1;
	w.redirect_to = "example.com";
	w.tls = TL_CADDY_TLS_AUTO;
	tl_assert_ok(tl_caddy_render_site(&b, ctx, &w));
	assert_non_null(strstr(b.ptr, "site=shop-www hosts=www.example.com redirect=example.com security_headers=1\n"));
	assert_non_null(strstr(b.ptr, "\tredir https://example.com{uri} permanent\n"));
	tl__caddy_header h;
	tl_assert_ok(tl__caddy_header_parse(&h, b.ptr, "f"));
	assert_string_equal(h.redirect_to, "example.com");
	tl__caddy_header_dispose(&h);
	tl_buf_dispose(&b);
	tl_ctx_free(ctx);
}

static void test_site_validation(void **state)
{
	tl_ctx *ctx = ctx_with("off");
	tl_buf b = TL_BUF_INIT;
	tl_caddy_route r;
	const char *bad_hosts[] = {"localhost", "UPPER.example.com", "a_b.example.com",
	                           "x.example.com {", "x.example.com\nrespond", "-a.example.com",
	                           "*.example.com", "example.com."};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(*bad_hosts); i++) {
		r = basic();
		r.hosts = &bad_hosts[i];
		r.nhosts = 1;
		tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
		tl_assert_error_contains("hostname");
	}
	const char *bad_ups[] = {"app", "app:0", "app:65536", "app:80 {", "[::1", ""};
	for (size_t i = 0; i < sizeof(bad_ups) / sizeof(*bad_ups); i++) {
		r = basic();
		r.upstreams = &bad_ups[i];
		r.nupstreams = 1;
		tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
		tl_assert_error_contains("upstream");
	}
	const char *bad_sites[] = {"", "Shop", "shop_1", "-shop", "shop-", "a--b", "1shop",
	                           "x/../y"};
	for (size_t i = 0; i < sizeof(bad_sites) / sizeof(*bad_sites); i++) {
		r = basic();
		r.site = bad_sites[i];
		tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
		tl_assert_error_contains("site name");
	}
	r = basic();
	r.health_uri = "health";
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r.health_uri = "/h }";
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r = basic();
	r.nupstreams = 0;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r = basic();
	r.redirect_to = "example.com";
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r)); /* and upstreams */
	r = basic();
	const char *h2[] = {"a.example.com", "a.example.com"};
	r.hosts = h2;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r = basic();
	tl_caddy_path p[] = {{"/api/*/x", ups, 1, NULL}};
	r.paths = p;
	r.npaths = 1;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	p[0].path = "/api/*";
	p[0].nupstreams = 0;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r = basic();
	r.tls = 9;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	r = basic();
	r.version = 99;
	tl_assert_rc(TL_EINVALID, tl_caddy_render_site(&b, ctx, &r));
	assert_null(b.ptr); /* nothing was ever written */
	tl_ctx_free(ctx);
}

static void test_header_parser_rejects(void **state)
{
	const char *bad[] = {
		"",
		"http://x.example.com {\n}\n",
		"# towlion: v=2 site=a hosts=a.example.com upstreams=a:1\n",
		"# towlion: v=1 site=a hosts=a.example.com\n",
		"# towlion: v=1 site=A hosts=a.example.com upstreams=a:1\n",
		"# towlion: v=1 site=a hosts=a.example.com,bad_host.com upstreams=a:1\n",
		"# towlion: v=1 site=a hosts=a.example.com upstreams=a:99999\n",
		"# towlion: v=1 site=a hosts=a.example.com upstreams=a:1 extra=1\n",
		"# towlion: v=1 site=a site=b hosts=a.example.com upstreams=a:1\n",
		"# towlion: v=1 site=a hosts=a.example.com, upstreams=a:1\n",
		"# towlion: v=1 site=a hosts=a.example.com upstreams=a:1 junk\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		tl__caddy_header h;
		int rc = tl__caddy_header_parse(&h, bad[i], "sites/a.caddy");
		if (rc != TL_EINVALID)
			fail_msg("header %zu accepted: %s", i, bad[i]);
		tl_assert_error_contains("sites/a.caddy");
	}
	tl__caddy_header h;
	tl_assert_ok(tl__caddy_header_parse(
		&h, "# towlion: v=1 site=a-pr-3 hosts=pr-3.preview.a.example.com upstreams=[::1]:80\n",
		"f"));
	assert_string_equal(h.upstreams[0], "[::1]:80");
	tl__caddy_header_dispose(&h);
	tl__caddy_header_dispose(NULL);
}

/* Two sites adapted on their own (shapes as Caddy 2.6 produces them),
 * joined: one server per listen address, routes of both, the specific TLS
 * policy before the catch-all, which appears once. */
static const char *site_a =
	"{\"admin\":{\"listen\":\"127.0.0.1:2019\"},\"apps\":{\"http\":{\"http_port\":80,"
	"\"servers\":{\"srv0\":{\"listen\":[\":443\"],\"routes\":[{\"match\":[{\"host\":[\"a."
	"example.com\"]}],\"handle\":[{\"handler\":\"subroute\"}],\"terminal\":true}]}}},\"tls\":"
	"{\"automation\":{\"policies\":[{\"subjects\":[\"a.example.com\"],\"issuers\":[{\"module\":"
	"\"internal\"}]},{\"issuers\":[{\"module\":\"acme\",\"email\":\"x@example.com\"}]}]}}}}";
static const char *site_b =
	"{\"admin\":{\"listen\":\"127.0.0.1:2019\"},\"apps\":{\"http\":{\"http_port\":80,"
	"\"servers\":{\"srv0\":{\"listen\":[\":80\"],\"routes\":[{\"match\":[{\"host\":[\"b."
	"example.com\"]}],\"terminal\":true}],\"automatic_https\":{\"skip\":[\"b.example.com\"]}},"
	"\"srv1\":{\"listen\":[\":443\"],\"routes\":[{\"match\":[{\"host\":[\"c.example.com\"]}]}]}}},"
	"\"tls\":{\"automation\":{\"policies\":[{\"issuers\":[{\"module\":\"acme\",\"email\":"
	"\"x@example.com\"}]}]}}}}";

static void test_split_and_assemble(void **state)
{
	tl_buf ra = TL_BUF_INIT, rb = TL_BUF_INIT, out = TL_BUF_INIT;
	json_t *a = json_loads(site_a, 0, NULL), *b = json_loads(site_b, 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	tl_assert_ok(tl__caddy_split(&ra, a));
	tl_assert_ok(tl__caddy_split(&rb, b));
	const char *recs[] = {ra.ptr, rb.ptr};
	size_t lens[] = {ra.size, rb.size};
	tl_assert_ok(tl__caddy_assemble(&out, recs, lens, 2, NULL));
	json_t *j = json_loads(out.ptr, 0, NULL);
	if (!j)
		fail_msg("assembled config is not JSON: %s", out.ptr);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "admin"), "listen")),
	                    "127.0.0.1:2019");
	json_t *servers = json_object_get(json_object_get(json_object_get(j, "apps"), "http"),
	                                  "servers");
	assert_int_equal(json_object_size(servers), 2);
	const char *name;
	json_t *srv;
	int seen = 0;
	json_object_foreach(servers, name, srv) {
		const char *l = json_string_value(json_array_get(json_object_get(srv, "listen"), 0));
		json_t *routes = json_object_get(srv, "routes");
		if (!strcmp(l, ":443")) {
			assert_int_equal(json_array_size(routes), 2); /* a and c */
			seen |= 1;
		} else {
			assert_string_equal(l, ":80");
			assert_int_equal(json_array_size(routes), 1);
			assert_non_null(json_object_get(srv, "automatic_https"));
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	/* A lead route (the security headers) goes first in every server. */
	tl_buf led = TL_BUF_INIT;
	tl_assert_ok(tl__caddy_assemble(&led, recs, lens, 2, "{\"group\":\"lead\"}"));
	json_t *jl = json_loads(led.ptr, 0, NULL);
	assert_non_null(jl);
	json_object_foreach(json_object_get(json_object_get(json_object_get(jl, "apps"), "http"),
	                                    "servers"), name, srv) {
		json_t *routes = json_object_get(srv, "routes"), *first = json_array_get(routes, 0);
		assert_string_equal(json_string_value(json_object_get(first, "group")), "lead");
		json_t *plain = json_object_get(servers, name);
		assert_int_equal(json_array_size(routes),
		                 json_array_size(json_object_get(plain, "routes")) + 1);
	}
	json_decref(jl);
	tl_buf_dispose(&led);
	json_t *pol = json_object_get(
		json_object_get(json_object_get(json_object_get(j, "apps"), "tls"), "automation"),
		"policies");
	assert_int_equal(json_array_size(pol), 2);
	assert_non_null(json_object_get(json_array_get(pol, 0), "subjects"));
	assert_null(json_object_get(json_array_get(pol, 1), "subjects"));
	/* A site with nothing but globals, and no sites at all. */
	tl_assert_ok(tl__caddy_assemble(&out, recs, lens, 0, NULL));
	assert_string_equal(out.ptr, "{}");
	/* A corrupt record is an error, not a config. */
	const char *bad[] = {"t 3\nabc\n"};
	size_t bl[] = {8};
	tl_assert_rc(TL_EIO, tl__caddy_assemble(&out, bad, bl, 1, NULL));
	const char *trunc[] = {"o 99\n{}\n"};
	size_t tlen[] = {8};
	tl_assert_rc(TL_EIO, tl__caddy_assemble(&out, trunc, tlen, 1, NULL));
	/* A length with a sign, a space, trailing junk or one that wraps is
	 * no length (strtoull took them all). */
	const char *junk[] = {"o +2\n{}\n", "o  2\n{}\n", "o 2x\n{}\n", "o -1\n{}\n",
	                      "o 18446744073709551618\n{}\n"};
	for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++) {
		size_t jl[] = {strlen(junk[k])};
		tl_assert_rc(TL_EIO, tl__caddy_assemble(&out, &junk[k], jl, 1, NULL));
	}
	/* A record cut right after its length's digits is corrupt, and read
	 * no further than its end (the ASan build catches a read past it;
	 * found by fuzz_caddy on a cut cache file). */
	char *cut = malloc(4);
	memcpy(cut, "g 51", 4);
	const char *cp = cut, *cv;
	char ctag;
	size_t clen;
	tl_assert_rc(TL_EIO, tl__caddy_field_next(&cp, cut + 4, &ctag, &cv, &clen));
	free(cut);
	/* A value holding the marks' text is refused: it used to be read as a
	 * mark (the value replaced by a server's routes), or past the end of
	 * the text when cut short (found by fuzz_caddy). */
	static const char *const marked_o[] = {"{\"a\":\"@@towlion-\"}",
	                                       "{\"a\":\"@@towlion-routes-0@@\"}",
	                                       "{\"a\":\"\\\"@@towlion-policies@@\"}"};
	for (size_t k = 0; k < sizeof(marked_o) / sizeof(marked_o[0]); k++) {
		tl_buf rec = TL_BUF_INIT;
		tl_assert_ok(tl__caddy_field_put(&rec, 'o', marked_o[k], strlen(marked_o[k])));
		tl_assert_ok(tl__caddy_field_put(&rec, 's', "[\":443\"]", 8));
		tl_assert_ok(tl__caddy_field_put(&rec, 'r', "{}", 2));
		tl_assert_ok(tl__caddy_field_put(&rec, 't', "{\"handle\":[]}", 13));
		tl_assert_ok(tl__caddy_field_put(&rec, 'c', "{}", 2));
		const char *one[] = {rec.ptr};
		size_t ol[] = {rec.size};
		tl_assert_rc(TL_EIO, tl__caddy_assemble(&out, one, ol, 1, NULL));
		assert_non_null(strstr(tl_error_last()->message, "@@towlion-"));
		tl_buf_dispose(&rec);
	}
	json_decref(j);
	json_decref(a);
	json_decref(b);
	tl_buf_dispose(&ra);
	tl_buf_dispose(&rb);
	tl_buf_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_caddyfile),
		cmocka_unit_test(test_site_tls_off_and_options),
		cmocka_unit_test(test_site_tls_modes_paths_redirect),
		cmocka_unit_test(test_site_validation),
		cmocka_unit_test(test_header_parser_rejects),
		cmocka_unit_test(test_split_and_assemble),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
