/*
 * Keep-alive clients during parallel deploys: K apps, one client loop per
 * app that REUSES its connection to Caddy (one curl handle, one
 * connection, checked), and W waves in which all K apps deploy at once
 * (one thread and one context per app, as K `towlion deploy` would).
 * Counts failed requests per wave and the connections each client had to
 * open: a Caddy config load closes every site's idle keep-alive
 * connections, and a request racing that close fails. Failures are told
 * apart: "closed" (the connection went away under the request: reset,
 * empty reply, send error — the keep-alive race), "timeout", and "http"
 * (an answer that is not 200 hello, e.g. 503 while Caddy's active health
 * check holds an overloaded upstream down).
 *
 * usage: bench_keepalive K WAVES APP_DIR   (environment: a harness + TOWLION_*)
 * APP_DIR/deploy/docker-compose.yml takes its image tag from APP_VERSION.
 */
#include <towlion/towlion.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench_http.h"

#define MAX_APPS 64

typedef struct {
	char app[48];
	char host[128];
	const char *dir;
	volatile int stop;
	long total, failed, connects;
	long closed, timeout, http; /* the failures by kind */
	char last_error[160];
	int deploy_rc;
	pthread_mutex_t mu;
} site;

static void *client(void *arg)
{
	site *S = arg;
	char url[128], hdr[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", getenv("TOWLION_HTTP_PORT"));
	snprintf(hdr, sizeof(hdr), "Host: %s", S->host);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	/* One handle for the whole run: curl keeps the connection open
	 * between requests and reuses it (CURLINFO_NUM_CONNECTS says when
	 * it had to open a new one). */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	while (!S->stop) {
		char body[256] = "";
		curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
		long status = 0, conns = 0;
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
		pthread_mutex_lock(&S->mu);
		S->total++;
		S->connects += conns;
		if (cc != CURLE_OK || status != 200 || !strstr(body, "hello v")) {
			S->failed++;
			if (cc == CURLE_OPERATION_TIMEDOUT)
				S->timeout++;
			else if (cc != CURLE_OK)
				S->closed++;
			else
				S->http++;
			snprintf(S->last_error, sizeof(S->last_error), "%s (HTTP %ld) %.80s",
			         cc != CURLE_OK ? curl_easy_strerror(cc) : "bad answer", status, body);
		}
		pthread_mutex_unlock(&S->mu);
		usleep(200 * 1000); /* the hello app forks a shell per request */
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static tl_ctx *new_ctx(void)
{
	tl_ctx *ctx = NULL;
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	if (tl_ctx_new(&ctx, &co)) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		exit(1);
	}
	return ctx;
}

/* One app's deploy, in its own thread with its own context. */
static void *deployer(void *arg)
{
	site *S = arg;
	tl_ctx *ctx = new_ctx();
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = S->dir;
	S->deploy_rc = tl_deploy(NULL, ctx, S->app, &o);
	if (S->deploy_rc)
		fprintf(stderr, "deploy %s: %s\n", S->app, tl_error_last()->message);
	tl_ctx_free(ctx);
	return NULL;
}

static void set_version(const char *dir, int v)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/deploy/.env", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "APP_VERSION=v%d\n", v);
	fclose(f);
}

static void deploy_all(site *s, int k)
{
	pthread_t t[MAX_APPS];
	for (int i = 0; i < k; i++)
		pthread_create(&t[i], NULL, deployer, &s[i]);
	for (int i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < k; i++)
		if (s[i].deploy_rc)
			exit(1);
}

typedef struct {
	long total, failed, connects, closed, timeout, http;
} counts;

static counts totals(site *s, int k)
{
	counts c = {0};
	for (int i = 0; i < k; i++) {
		pthread_mutex_lock(&s[i].mu);
		c.total += s[i].total;
		c.failed += s[i].failed;
		c.connects += s[i].connects;
		c.closed += s[i].closed;
		c.timeout += s[i].timeout;
		c.http += s[i].http;
		pthread_mutex_unlock(&s[i].mu);
	}
	return c;
}

static void print_counts(const char *what, counts now, counts before)
{
	printf("%s: requests %ld failed %ld (closed %ld timeout %ld http %ld) "
	       "new connections %ld\n",
	       what, now.total - before.total, now.failed - before.failed,
	       now.closed - before.closed, now.timeout - before.timeout, now.http - before.http,
	       now.connects - before.connects);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_keepalive K WAVES APP_DIR\n");
		return 2;
	}
	int k = atoi(argv[1]), waves = atoi(argv[2]);
	const char *dir = argv[3];
	if (k < 1 || k > MAX_APPS || waves < 1) {
		fprintf(stderr, "K is 1..%d, WAVES at least 1\n", MAX_APPS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	static site s[MAX_APPS];
	tl_ctx *ctx = new_ctx();
	set_version(dir, 1);
	for (int i = 0; i < k; i++) {
		snprintf(s[i].app, sizeof(s[i].app), "ka%ld-%d", (long)getpid(), i);
		snprintf(s[i].host, sizeof(s[i].host), "%s.towlion.test", s[i].app);
		s[i].dir = dir;
		pthread_mutex_init(&s[i].mu, NULL);
		const char *doms[] = {s[i].host, NULL};
		tl_app_options ao = TL_APP_OPTIONS_INIT;
		ao.domains = doms;
		ao.drain_ms = 500;
		if (tl_app_create(NULL, ctx, s[i].app, &ao)) {
			fprintf(stderr, "%s\n", tl_error_last()->message);
			return 1;
		}
	}
	deploy_all(s, k); /* the first releases: not measured */
	pthread_t t[MAX_APPS];
	for (int i = 0; i < k; i++)
		pthread_create(&t[i], NULL, client, &s[i]);
	sleep(1);
	counts zero = {0}, prev = totals(s, k);
	printf("apps %d\nwaves %d\n", k, waves);
	print_counts("before the waves", prev, zero);
	for (int w = 0; w < waves; w++) {
		set_version(dir, (w % 2) ? 1 : 2);
		deploy_all(s, k);
		usleep(700 * 1000); /* past the drain of the last deploy */
		counts now = totals(s, k);
		char what[32];
		snprintf(what, sizeof(what), "wave %d", w + 1);
		print_counts(what, now, prev);
		prev = now;
	}
	for (int i = 0; i < k; i++) {
		s[i].stop = 1;
		pthread_join(t[i], NULL);
	}
	counts all = totals(s, k);
	long failed = all.failed;
	print_counts("all", all, zero);
	for (int i = 0; i < k; i++)
		if (s[i].failed)
			printf("  %s: %ld failed, last: %s\n", s[i].app, s[i].failed, s[i].last_error);
	for (int i = 0; i < k; i++) {
		tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
		d.confirm = 1;
		tl_app_destroy(ctx, s[i].app, &d);
	}
	tl_ctx_free(ctx);
	return failed ? 1 : 0;
}
