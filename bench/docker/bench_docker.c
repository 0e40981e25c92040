/* In-process timings of the Docker client against the raw Engine API.
 *
 * usage: bench_docker N_FAST N_SLOW
 * Needs TOWLION_DOCKER_HOST and containers labelled towlion.app=tlbench
 * (run.sh creates them). Prints one "name ms_per_call" line per case:
 *   lib.list / raw.list       GET /containers/json with a label filter
 *   lib.inspect / raw.inspect GET /containers/{id}/json
 *   lib.cycle / raw.cycle     create + start + remove (force) of a container
 * Each line is the median time of one call.
 * raw.* use one persistent libcurl handle and hand-written JSON: the floor
 * that the library is measured against. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "towlion/towlion.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t sink(char *d, size_t s, size_t n, void *p)
{
	(void)d;
	(void)p;
	return s * n;
}

typedef struct {
	CURL *c;
	const char *sock;
	char last[256]; /* Id from the last create */
} raw;

static size_t grab_id(char *d, size_t s, size_t n, void *p)
{
	raw *r = p;
	size_t len = s * n;
	const char *k = strstr(d, "\"Id\":\"");
	if (k && len > 70)
		snprintf(r->last, sizeof(r->last), "%.64s", k + 6);
	return len;
}

static long raw_call(raw *r, const char *method, const char *path, const char *body, int want_id)
{
	char url[512];
	snprintf(url, sizeof(url), "http://localhost/v1.41%s", path);
	curl_easy_reset(r->c);
	curl_easy_setopt(r->c, CURLOPT_UNIX_SOCKET_PATH, r->sock);
	curl_easy_setopt(r->c, CURLOPT_URL, url);
	curl_easy_setopt(r->c, CURLOPT_CUSTOMREQUEST, method);
	struct curl_slist *h = NULL;
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(r->c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(r->c, CURLOPT_POSTFIELDS, body);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(r->c, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(r->c, CURLOPT_WRITEFUNCTION, want_id ? grab_id : sink);
	curl_easy_setopt(r->c, CURLOPT_WRITEDATA, r);
	long status = 0;
	if (curl_easy_perform(r->c) == CURLE_OK)
		curl_easy_getinfo(r->c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	if (status < 200 || status > 299) {
		fprintf(stderr, "raw %s %s: HTTP %ld\n", method, path, status);
		exit(1);
	}
	return status;
}

#define FILTER "%7B%22label%22%3A%5B%22towlion.app%3Dtlbench%22%5D%7D"
#define CREATE_BODY                                                                       \
	"{\"Image\":\"towlion-test/busybox:latest\",\"Cmd\":[\"sleep\",\"60\"],"            \
	"\"Labels\":{\"towlion.test\":\"1\",\"towlion.app\":\"tlbench-cycle\"},"            \
	"\"HostConfig\":{\"Init\":true}}"

/* Per-call times of the current case; the median is reported because
 * other jobs on a shared machine add outliers. */
static double samples[100000];
static int nsamples;
static double last;

static void tick(void)
{
	double t = now_ms();
	if (nsamples < 100000)
		samples[nsamples++] = t - last;
	last = t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double start(void)
{
	nsamples = 0;
	last = now_ms();
	return last;
}

static void report(const char *name, double t0, int n)
{
	(void)t0;
	(void)n;
	qsort(samples, (size_t)nsamples, sizeof(double), cmp);
	printf("%-12s %8.3f\n", name, samples[nsamples / 2]);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, tl_error_last()->message);
	exit(1);
}

int main(int argc, char **argv)
{
	int nfast = argc > 1 ? atoi(argv[1]) : 200, nslow = argc > 2 ? atoi(argv[2]) : 20;
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.flags = TL_CTX_NO_CONFIG_FILE;
	tl_ctx *ctx = NULL;
	tl_docker *d = NULL;
	if (tl_ctx_new(&ctx, &o) || tl_docker_open(&d, ctx))
		die("open");
	const char *host = tl_ctx_config_get(ctx, "TOWLION_DOCKER_HOST");
	raw r = {curl_easy_init(), host + 7, ""};

	const char *filters[] = {"towlion.app=tlbench", NULL};
	tl_docker_container_list *l = NULL;
	if (tl_docker_container_list_by_label(&l, d, filters, 0) ||
	    tl_docker_container_list_count(l) == 0)
		die("no tlbench containers (run run.sh)");
	char id[80];
	snprintf(id, sizeof(id), "%s", tl_docker_container_id(tl_docker_container_list_at(l, 0)));
	tl_docker_container_list_free(l);
	char path[160];
	snprintf(path, sizeof(path), "/containers/%s/json", id);

	/* warm both connections */
	raw_call(&r, "GET", "/containers/json?filters=" FILTER, NULL, 0);

	double t0 = start();
	for (int i = 0; i < nfast; i++) {
		raw_call(&r, "GET", "/containers/json?filters=" FILTER, NULL, 0);
		tick();
	}
	report("raw.list", t0, nfast);
	t0 = start();
	for (int i = 0; i < nfast; i++) {
		if (tl_docker_container_list_by_label(&l, d, filters, 0))
			die("list");
		tl_docker_container_list_free(l);
		tick();
	}
	report("lib.list", t0, nfast);

	t0 = start();
	for (int i = 0; i < nfast; i++) {
		raw_call(&r, "GET", path, NULL, 0);
		tick();
	}
	report("raw.inspect", t0, nfast);
	t0 = start();
	for (int i = 0; i < nfast; i++) {
		tl_docker_container *c = NULL;
		if (tl_docker_container_inspect(&c, d, id))
			die("inspect");
		tl_docker_container_free(c);
		tick();
	}
	report("lib.inspect", t0, nfast);

	/* create + start + remove: dominated by dockerd (runc, mounts) */
	for (int round = 0; round < 2; round++) {
		t0 = start();
		for (int i = 0; i < nslow; i++) {
			raw_call(&r, "POST", "/containers/create", CREATE_BODY, 1);
			char p2[200];
			snprintf(p2, sizeof(p2), "/containers/%s/start", r.last);
			raw_call(&r, "POST", p2, NULL, 0);
			snprintf(p2, sizeof(p2), "/containers/%s?force=1", r.last);
			raw_call(&r, "DELETE", p2, NULL, 0);
			tick();
		}
		if (round)
			report("raw.cycle", t0, nslow);
		t0 = start();
		for (int i = 0; i < nslow; i++) {
			tl_docker_container_spec *s = NULL;
			const char *cmd[] = {"sleep", "60", NULL};
			tl_buf cid = TL_BUF_INIT;
			if (tl_docker_container_spec_new(&s, "towlion-test/busybox:latest") ||
			    tl_docker_container_spec_set_cmd(s, cmd) ||
			    tl_docker_container_spec_add_label(s, "towlion.test", "1") ||
			    tl_docker_container_spec_add_label(s, "towlion.app", "tlbench-cycle") ||
			    tl_docker_container_spec_set_init(s, 1) ||
			    tl_docker_container_create(&cid, d, s) ||
			    tl_docker_container_start(d, cid.ptr) ||
			    tl_docker_container_remove(d, cid.ptr, TL_DOCKER_REMOVE_FORCE))
				die("cycle");
			tl_docker_container_spec_free(s);
			tl_buf_dispose(&cid);
			tick();
		}
		if (round) /* the first round warms dockerd up */
			report("lib.cycle", t0, nslow);
	}
	curl_easy_cleanup(r.c);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return 0;
}
