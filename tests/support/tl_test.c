#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tl_test.h"

#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tl_test_require_env(const char *var)
{
	const char *v = getenv(var);
	if (v && *v)
		return v;
	const char *ci = getenv("CI");
	if (ci && (!strcmp(ci, "true") || !strcmp(ci, "1"))) {
		print_error("%s is not set: the service this test needs is missing, and "
		            "under CI that is a failure (run it through the harness)\n", var);
		fail();
	}
	print_message("skipping: %s is not set (start tests/harness/start)\n", var);
	skip();
	return NULL;
}

char *tl_test_tmpdir(void)
{
	char tmpl[] = "/tmp/towlion-test.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

void tl_test_rmdir(char *dir)
{
	if (!dir)
		return;
	if (strncmp(dir, "/tmp/towlion-test.", 18) == 0)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

void tl_test_write_file(const char *path, const char *content, int mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

char *tl_test_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	size_t r;
	while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			s = realloc(s, cap *= 2);
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

tl_ctx *tl_test_ctx(int with_env)
{
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.flags = TL_CTX_NO_CONFIG_FILE | (with_env ? 0 : TL_CTX_NO_ENV);
	tl_ctx *ctx = NULL;
	tl_assert_ok(tl_ctx_new(&ctx, &o));
	return ctx;
}

void tl_test_ctx_dirs(tl_ctx *ctx, const char *dir, const char *which)
{
	static const char *const dirs[][2] = {{"state", "TOWLION_STATE_DIR"},
	                                      {"apps", "TOWLION_APPS_DIR"},
	                                      {"backups", "TOWLION_BACKUP_DIR"},
	                                      {"caddy", "TOWLION_CADDY_DIR"}};
	char path[1024];
	for (const char *p = which + strspn(which, " "); *p; p += strspn(p, " ")) {
		size_t n = strcspn(p, " "), i = 0;
		while (i < 4 && (strlen(dirs[i][0]) != n || strncmp(dirs[i][0], p, n)))
			i++;
		assert_true(i < 4); /* a name the table lacks is the test's mistake */
		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i][0]);
		tl_assert_ok(tl_ctx_config_set(ctx, dirs[i][1], path));
		p += n;
	}
}

static size_t http_body(char *p, size_t s, size_t n, void *u)
{
	tl_buf *b = u;
	size_t len = s * n;
	char *q = realloc(b->ptr, b->size + len + 1);
	if (!q)
		return 0;
	memcpy(q + b->size, p, len);
	b->ptr = q;
	b->size += len;
	b->ptr[b->size] = '\0';
	return len;
}

static __thread long http_timeout_ms = 5000;
static __thread char http_error[CURL_ERROR_SIZE];

void tl_test_http_set_timeout(long ms) { http_timeout_ms = ms; }
const char *tl_test_http_error(void) { return http_error; }

char *tl_test_http(const char *method, const char *url, const char *host, const char *body,
                   long *status)
{
	CURL *c = curl_easy_init();
	http_error[0] = '\0';
	tl_buf b = TL_BUF_INIT;
	struct curl_slist *h = NULL;
	char hdr[300];
	if (host) {
		snprintf(hdr, sizeof(hdr), "Host: %s", host);
		h = curl_slist_append(h, hdr);
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method ? method : "GET");
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, http_timeout_ms);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, http_error);
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK && !http_error[0])
		snprintf(http_error, sizeof(http_error), "%s", curl_easy_strerror(cc));
	long st = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	if (status)
		*status = st;
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		free(b.ptr);
		return NULL;
	}
	return b.ptr ? b.ptr : strdup("");
}

void tl_test_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

long tl_test_peak_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	assert_true(v > 0);
	return v;
}

long tl_test_peak_reset_kib(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	return tl_test_peak_kib();
}
