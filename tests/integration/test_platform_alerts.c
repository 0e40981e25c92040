/*
 * `alerts check` against the local GitHub stand-in and the mail API
 * stand-in (tests/harness/mail-standin), with the harness's PostgreSQL
 * and dockerd as the measured sources. Thresholds are moved to make
 * alerts fire and clear for real: one issue per alert (never two),
 * updated while firing, closed when cleared; mail only on changes;
 * dry runs send nothing; failures are reported per alert.
 */
#include "tl_test.h"

#include "core/core.h"
#include "core/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPO "acme/ops"

static const char *gh_admin, *mail_admin;

static json_t *admin(const char *base, const char *method, const char *path,
                     const char *body)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", base, path);
	const char *hdr[] = {"Content-Type: application/json", NULL};
	tl__http_req req = {.method = method, .url = url, .headers = hdr, .body = body,
	                    .body_len = body ? strlen(body) : 0, .timeout_ms = 10000,
	                    .service = "stand-in", .klass = TL_ERRCLASS_HTTP};
	tl__http_resp resp;
	tl_assert_ok(tl__http_do(NULL, &resp, &req));
	assert_true(resp.status < 300);
	json_t *doc = json_loadb(resp.body.ptr, resp.body.size, 0, NULL);
	tl__http_resp_dispose(&resp);
	assert_non_null(doc);
	return doc;
}

/* Issues of REPO in the stand-in: (open count, closed count) with the
 * marker of `key` in their body ("" = any alert). */
static void issues(const char *key, int *open, int *closed)
{
	json_t *st = admin(gh_admin, "GET", "/_standin/state", NULL);
	json_t *items = json_object_get(json_object_get(st, REPO), "items");
	char marker[256];
	snprintf(marker, sizeof(marker), "<!-- towlion:alert:%s", key);
	*open = *closed = 0;
	const char *k;
	json_t *it;
	json_object_foreach(items, k, it)
	{
		const char *body = json_string_value(json_object_get(it, "body"));
		if (!body || !strstr(body, marker))
			continue;
		json_t *labels = json_object_get(it, "labels");
		bool labelled = false;
		size_t i;
		json_t *l;
		json_array_foreach(labels, i, l)
		labelled |= !strcmp(json_string_value(l) ? json_string_value(l) : "", "towlion-alert");
		assert_true(labelled);
		if (!strcmp(json_string_value(json_object_get(it, "state")), "open"))
			(*open)++;
		else
			(*closed)++;
	}
	json_decref(st);
}

static size_t count_requests(const char *base)
{
	json_t *r = admin(base, "GET", "/_standin/requests", NULL);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

static const tl_alert *alert(const tl_alert_report *r, const char *key)
{
	for (size_t i = 0; i < tl_alert_report_count(r); i++)
		if (!strcmp(tl_alert_report_at(r, i)->key, key))
			return tl_alert_report_at(r, i);
	fail_msg("no alert %s", key);
	return NULL;
}

static char *root;

static tl_ctx *ctx_new(void)
{
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	gh_admin = TL_TEST_REQUIRE("TL_TEST_GITHUB_STANDIN");
	mail_admin = TL_TEST_REQUIRE("TL_TEST_MAIL_STANDIN");
	tl_ctx *ctx = tl_test_ctx(1);
	char p[512];
	/* Private state (alerts.json, registry), backups and certificates. */
	snprintf(p, sizeof(p), "%s/state", root);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", p));
	snprintf(p, sizeof(p), "%s/backups", root);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_DIR", p));
	snprintf(p, sizeof(p), "%s/caddy", root);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_DIR", p));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ALERT_MAIL", "postmark"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ALERT_MAIL_ENDPOINT", mail_admin));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ALERT_MAIL_TOKEN", getenv("TL_TEST_MAIL_TOKEN")));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ALERT_MAIL_FROM", "towlion@example.com"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_ALERT_MAIL_TO", "ops@example.com"));
	return ctx;
}

static int setup(void **state)
{
	root = tl_test_tmpdir();
	if (getenv("TL_TEST_GITHUB_STANDIN") && getenv("TL_TEST_MAIL_STANDIN")) {
		json_decref(admin(getenv("TL_TEST_GITHUB_STANDIN"), "POST", "/_standin/reset", "{}"));
		json_decref(admin(getenv("TL_TEST_GITHUB_STANDIN"), "POST", "/_standin/repos",
		                  "{\"repo\": \"" REPO "\"}"));
		json_decref(admin(getenv("TL_TEST_MAIL_STANDIN"), "POST", "/_standin/reset", "{}"));
	}
	return 0;
}

static int teardown(void **state)
{
	tl_test_rmdir(root);
	return 0;
}

static void make_cert(const char *host, int days)
{
	char d[1024], crt[1100], key[1100], subj[300], ds[16];
	snprintf(d, sizeof(d), "%s/caddy/data/caddy/certificates/acme/%s", root, host);
	tl_assert_ok(tl__mkdir_p(d, 0700));
	snprintf(crt, sizeof(crt), "%s/%s.crt", d, host);
	snprintf(key, sizeof(key), "%s/%s.key", d, host);
	snprintf(subj, sizeof(subj), "/CN=%s", host);
	snprintf(ds, sizeof(ds), "%d", days);
	const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	                      "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
	                      "-days", ds, "-subj", subj, NULL};
	tl__spawn_opts o = {.argv = argv, .stderr_mode = TL__STDIO_BUFFER};
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.exit_status, 0);
	tl__spawn_result_dispose(&r);
}

static void test_alerts_open_update_close(void **state)
{
	tl_ctx *ctx = ctx_new();
	make_cert("shop.example.com", 5);
	tl_alert_options o = TL_ALERT_OPTIONS_INIT;
	o.github_repo = REPO;
	o.disk_pct = 0.0001; /* any used disk is over it */
	o.memory_pct = 0.0001;
	tl_alert_report *r = NULL;

	/* 1: disk, memory and the certificate fire: one issue each, mailed. */
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	const char *keys[] = {"disk", "memory", "certificate:shop.example.com"};
	for (size_t i = 0; i < 3; i++) {
		const tl_alert *a = alert(r, keys[i]);
		print_message("%s: %s -> %s\n", a->key, a->detail, a->action);
		assert_true(a->firing);
		assert_string_equal(a->action, "opened");
		assert_true(a->issue > 0);
		assert_int_equal(a->mailed, 1);
		int op, cl;
		issues(keys[i], &op, &cl);
		assert_int_equal(op, 1);
		assert_int_equal(cl, 0);
	}
	int op, cl;
	issues("", &op, &cl);
	assert_int_equal((size_t)op, tl_alert_report_firing(r));
	tl_alert_report_free(r);
	json_t *mails = admin(mail_admin, "GET", "/_standin/requests", NULL);
	size_t nmail = json_array_size(mails);
	assert_true(nmail >= 3);
	json_t *m0 = json_array_get(mails, 0);
	assert_string_equal(json_string_value(json_object_get(m0, "provider")), "postmark");
	assert_int_equal(json_integer_value(json_object_get(m0, "status")), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m0, "body"), "To")),
	                    "ops@example.com");
	json_decref(mails);

	/* 2: still firing: the same issues (updated or unchanged), no mail. */
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	for (size_t i = 0; i < 3; i++) {
		const tl_alert *a = alert(r, keys[i]);
		assert_true(!strcmp(a->action, "updated") || !strcmp(a->action, "unchanged"));
		assert_int_equal(a->mailed, 0);
		issues(keys[i], &op, &cl);
		assert_int_equal(op, 1);
	}
	tl_alert_report_free(r);
	assert_int_equal(count_requests(mail_admin), nmail);

	/* 3: dry run with the thresholds back to normal: nothing sent. */
	size_t ngh = count_requests(gh_admin);
	o.disk_pct = 0;
	o.memory_pct = 100;
	o.flags = TL_ALERT_DRY_RUN;
	char *statef = tl__sprintf("%s/state/alerts.json", root);
	char *before = tl_test_read_file(statef);
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	assert_false(alert(r, "memory")->firing);
	assert_string_equal(alert(r, "memory")->action, "would close if open");
	tl_alert_report_free(r);
	assert_int_equal(count_requests(gh_admin), ngh);
	assert_int_equal(count_requests(mail_admin), nmail);
	char *after = tl_test_read_file(statef);
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* 4: cleared: closed with a comment, mailed once. */
	o.flags = 0;
	o.disk_pct = 100;
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	for (size_t i = 0; i < 2; i++) {
		const tl_alert *a = alert(r, keys[i]);
		assert_false(a->firing);
		assert_string_equal(a->action, "closed");
		assert_int_equal(a->mailed, 1);
		issues(keys[i], &op, &cl);
		assert_int_equal(op, 0);
		assert_int_equal(cl, 1);
	}
	assert_true(alert(r, keys[2])->firing); /* the certificate still expires */
	tl_alert_report_free(r);
	assert_int_equal(count_requests(mail_admin), nmail + 2);

	/* 5: nothing changed: no close asked again, no mail. */
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	assert_string_equal(alert(r, "disk")->action, "none");
	tl_alert_report_free(r);
	assert_int_equal(count_requests(mail_admin), nmail + 2);

	/* 6: the certificate is renewed (gone from storage): its issue closes. */
	char *cdir = tl__sprintf("%s/caddy/data/caddy/certificates/acme/shop.example.com", root);
	char *crt = tl__sprintf("%s/shop.example.com.crt", cdir);
	assert_int_equal(unlink(crt), 0);
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	assert_string_equal(alert(r, keys[2])->action, "closed");
	tl_alert_report_free(r);
	issues(keys[2], &op, &cl);
	assert_int_equal(op, 0);
	free(crt);
	free(cdir);
	free(statef);
	tl_ctx_free(ctx);
}

static void test_alert_mail_through_ses_and_failures(void **state)
{
	tl_ctx *ctx = ctx_new();
	tl_alert_options o = TL_ALERT_OPTIONS_INIT;
	o.memory_pct = 0.0001;
	o.mail_provider = "ses";
	char tok[256];
	snprintf(tok, sizeof(tok), "%s:secret-key", getenv("TL_TEST_MAIL_SES_KEY"));
	o.mail_token = tok;
	o.mail_region = "eu-west-1";
	size_t nmail = count_requests(mail_admin);
	tl_alert_report *r = NULL;
	/* memory starts firing again (it cleared in the last test). */
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	assert_int_equal(alert(r, "memory")->mailed, 1);
	assert_int_equal(alert(r, "memory")->issue, 0); /* no repo: no issue */
	tl_alert_report_free(r);
	json_t *mails = admin(mail_admin, "GET", "/_standin/requests", NULL);
	assert_true(json_array_size(mails) > nmail);
	json_t *m = json_array_get(mails, json_array_size(mails) - 1);
	assert_string_equal(json_string_value(json_object_get(m, "provider")), "ses");
	assert_int_equal(json_integer_value(json_object_get(m, "status")), 200);
	json_t *to = json_object_get(json_object_get(json_object_get(m, "body"), "Destination"),
	                             "ToAddresses");
	assert_string_equal(json_string_value(json_array_get(to, 0)), "ops@example.com");
	json_decref(mails);

	/* A refused token: the alert says so, the call fails with the report,
	 * and the alert is mailed again next time (not remembered as sent). */
	o.memory_pct = 100;
	o.mail_provider = "postmark";
	o.mail_token = "wrong-token";
	tl_assert_rc(TL_EAUTH, tl_alerts_check(&r, ctx, &o));
	assert_non_null(r);
	assert_non_null(strstr(alert(r, "memory")->action, "error: Postmark refused"));
	tl_alert_report_free(r);
	r = NULL;
	o.mail_token = NULL; /* the configured one */
	tl_assert_ok(tl_alerts_check(&r, ctx, &o));
	assert_int_equal(alert(r, "memory")->mailed, 1);
	tl_alert_report_free(r);

	/* Bad input changes nothing. */
	size_t ngh = count_requests(gh_admin);
	o.github_repo = "no-slash";
	tl_assert_rc(TL_EINVALID, tl_alerts_check(&r, ctx, &o));
	o.github_repo = NULL;
	o.mail_provider = "carrier-pigeon";
	tl_assert_rc(TL_EINVALID, tl_alerts_check(&r, ctx, &o));
	tl_assert_error_contains("neither postmark nor ses");
	assert_int_equal(count_requests(gh_admin), ngh);
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alerts_open_update_close),
		cmocka_unit_test(test_alert_mail_through_ses_and_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
