/* Table-driven tests of the validators: at least 40 accepted and 40
 * rejected inputs each (design §4). */
#include "tl_test.h"

#include <stdio.h>
#include <string.h>

static void check_table(int (*fn)(const char *), const char *const *good, size_t ngood,
                        const char *const *bad, size_t nbad)
{
	assert_true(ngood >= 40);
	assert_true(nbad >= 40);
	for (size_t i = 0; i < ngood; i++) {
		if (fn(good[i]) != TL_OK)
			fail_msg("rejected \"%s\": %s", good[i], tl_error_last()->message);
	}
	for (size_t i = 0; i < nbad; i++) {
		tl_error_clear();
		if (fn(bad[i]) != TL_EINVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(tl_error_last()->code, TL_EINVALID);
		assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_INPUT);
		assert_true(strlen(tl_error_last()->message) > 10);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const good_apps[] = {
	"ab", "a1", "shop", "my-app", "api", "blog2", "a-b", "a-b-c", "x9", "app-v2",
	"hello", "a0b1c2", "frontend", "z-z", "abcdefghijklmnopqrstuvwxyz012345",
	"pr", "pr-app", "my-pr-app", "app-pr", "app-pr-x", "app-pr-1x", "prod",
	"test", "web-1", "a-1", "q2", "celery", "redis-ui", "k8s", "n0de", "foo-bar-baz",
	"a-0", "b-9z", "m-m-m-m", "one-two-three-four-five-six-7890", "docs", "status",
	"www", "mail", "fastapi-demo", "a12345678901234567890123456789z",
};
static const char *const bad_apps[] = {
	"", "a", "A", "App", "1app", "-app", "app-", "my--app", "my_app", "my.app",
	"my app", "app;rm", "app/x", "../app", "..", ".", "app\n", "app\t", "ÄPP",
	"café", "app$", "app`id`", "app'x", "app\"x", "x@y", "abcdefghijklmnopqrstuvwxyz0123456",
	"a234567890123456789012345678901234567890123456789012345678901234",
	"shop-pr-1", "shop-pr-42", "a-pr-2147483648", "app-pr-0", " app", "app ",
	"app\r", "-", "--", "9", "a-", "UPPER", "mixedCase", "tab\there", "semi;colon",
	"new\nline", "ünïcödé", "emoji\xf0\x9f\x98\x80",
};

static int app(const char *s) { return tl_validate_app_name(s); }

static void test_app_names(void **state)
{
	check_table(app, good_apps, N(good_apps), bad_apps, N(bad_apps));
	tl_assert_rc(TL_EINVALID, tl_validate_app_name(NULL));
	tl_validate_app_name("my--app");
	tl_assert_error_contains("--");
	tl_validate_app_name("shop-pr-3");
	tl_assert_error_contains("reserved for previews");
	/* Control characters are escaped in the message, never echoed raw. */
	tl_validate_app_name("bad\nname");
	assert_null(strchr(tl_error_last()->message, '\n'));
	tl_assert_error_contains("\\x0a");
}

static const char *const good_domains[] = {
	"example.com", "towlion.dev", "a.b", "x.io", "sub.example.com",
	"pr-1.preview.shop.example.com", "xn--caf-dma.com", "a-b.c-d.e", "1.example.com",
	"123abc.org", "abc123.net", "www.example.co.uk", "my-app.towlion.test",
	"localhost.localdomain", "a.b.c.d.e.f.g.h", "e.x", "0.a", "9-9.com",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	"example.c0m", "a1.b2", "one.two.three", "xn--bcher-kva.example", "app.internal",
	"s3.us-east-1.amazonaws.com", "api.github.com", "d.e.f", "a.io", "z.z",
	"caddy.local", "preview.example.org", "x-y-z.dev", "test.towlion.test",
	"db.prod.example", "h.i", "mail.example.com", "cdn-1.example.com", "a.b-c",
	"abc.def", "under.score-free.com", "q.w.e.r.t.y",
};
static const char *const bad_domains[] = {
	"", "com", "localhost", "example..com", ".example.com", "example.com.", "-a.com",
	"a-.com", "exa mple.com", "example.com/", "exa_mple.com", "Example.com",
	"EXAMPLE.COM", "café.com", "example.123", "1.2.3.4", "a.b.c.1", "example.com;",
	"example.com\n", "a..b", "..", ".", "*.example.com", "example.com:80",
	"http://example.com", "user@example.com", "exa$mple.com", "ex\tample.com",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
	"-", "a.-b.com", "a.b-.com", "ünicode.de", "example.com ", " example.com",
	"exam'ple.com", "exam\"ple.com", "exam`ple.com", "a/b.com", "a\\b.com",
	"emoji\xf0\x9f\x98\x80.com",
};

static int dom(const char *s) { return tl_validate_domain(s); }

static void test_domains(void **state)
{
	check_table(dom, good_domains, N(good_domains), bad_domains, N(bad_domains));
	/* 253 characters pass, 254 do not. */
	char ok[254];
	memset(ok, 'a', 253);
	ok[253] = '\0';
	for (int i = 61; i < 253; i += 62)
		ok[i] = '.';
	ok[251] = 'c';
	ok[252] = 'o';
	assert_int_equal(strlen(ok), 253);
	tl_assert_ok(tl_validate_domain(ok));
	char tool[255];
	memcpy(tool, ok, 253);
	tool[253] = 'm';
	tool[254] = '\0';
	tl_assert_rc(TL_EINVALID, tl_validate_domain(tool));
	tl_assert_error_contains("253");
	tl_assert_rc(TL_EINVALID, tl_validate_domain(NULL));
}

static const char *const good_prs[] = {
	"1", "2", "3", "9", "10", "42", "99", "100", "101", "255", "256", "999", "1000",
	"1234", "4096", "9999", "10000", "12345", "32767", "32768", "65535", "65536",
	"99999", "100000", "123456", "999999", "1000000", "1234567", "9999999", "10000000",
	"16777216", "99999999", "100000000", "123456789", "999999999", "1000000000",
	"2000000000", "2147483646", "2147483647", "2147483648", "77",
};
static const char *const bad_prs[] = {
	"", "0", "00", "01", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "abc", "12a",
	"2147483649", "4294967296", "99999999999", "1,000", "१२", "½", "1\n", "\t1",
	"-0", "--1", "1-", "NaN", "inf", "9999999999", "12345678901", "007", "1_000",
	"١", "pr-1", "#1", "1;", "1'", "1\"", "$1", "%31", "one", "1/2",
};

static int pr(const char *s)
{
	uint32_t v = 0;
	return tl_parse_pr(&v, s);
}

static void test_prs(void **state)
{
	check_table(pr, good_prs, N(good_prs), bad_prs, N(bad_prs));
	uint32_t v = 7;
	tl_assert_ok(tl_parse_pr(&v, "2147483648"));
	assert_int_equal(v, 2147483648u);
	v = 7;
	tl_assert_rc(TL_EINVALID, tl_parse_pr(&v, "0"));
	assert_int_equal(v, 7); /* out-param untouched on failure */
	tl_assert_ok(tl_validate_pr(1));
	tl_assert_rc(TL_EINVALID, tl_validate_pr(0));
	tl_assert_rc(TL_EINVALID, tl_validate_pr(-5));
	tl_assert_rc(TL_EINVALID, tl_validate_pr(2147483649LL));
	tl_assert_rc(TL_EINVALID, tl_parse_pr(NULL, "1"));
}

static const char *const good_hostports[] = {
	"app:8000", "127.0.0.1:8080", "localhost:1", "web:65535", "my-app.towlion:80",
	"10.0.0.1:5432", "[::1]:8000", "[fe80::1]:443", "[2001:db8::7]:9000",
	"postgres:5432", "redis:6379", "a:1", "shop-web-1:8000", "example.com:443",
	"sub.example.com:8443", "0.0.0.0:80", "255.255.255.255:65535", "x1:2",
	"caddy:2019", "minio:9000", "172.17.0.1:5432", "192.168.1.1:22", "h:10",
	"host-name:12345", "a.b:99", "[::]:80", "[::ffff:127.0.0.1]:80", "db:5433",
	"frontend:3000", "api-v2:8001", "s3.local:9000", "n1:8", "app2:8000",
	"preview.shop.test:80", "z:65534", "abc:100", "b-c:200", "a1b2:300", "d:4000",
	"e.f:5000",
};
static const char *const bad_hostports[] = {
	"", "app", "app:", ":8000", "app:0", "app:65536", "app:99999", "app:-1",
	"app:+80", "app:08", "app:8o", "app:80 ", " app:80", "app: 80", "app:80:90",
	"::1:8000", "[::1]", "[::1]8000", "[zz::1]:80", "[1.2.3.4]:80", "256.1.1.1:80",
	"1.2.3:80", "1.2.3.4.5:80", "01.2.3.4:80", "-app:80", "app-:80", "a..b:80",
	"ap p:80", "app;rm:80", "app/x:80", "APP:80", "café:80", "app\n:80", "app:80\n",
	"http://app:80", "user@app:80", "app:8000/", "[::1:80", "a.123:80",
	"$(id):80", "app:1234567",
};

static int hp(const char *s) { return tl_validate_hostport(s); }

static void test_hostports(void **state)
{
	check_table(hp, good_hostports, N(good_hostports), bad_hostports, N(bad_hostports));
	tl_validate_hostport("app");
	tl_assert_error_contains("add a port");
	tl_validate_hostport("::1:80");
	tl_assert_error_contains("brackets");
	tl_assert_rc(TL_EINVALID, tl_validate_hostport(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_names),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_prs),
		cmocka_unit_test(test_hostports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
