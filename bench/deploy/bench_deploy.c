/*
 * Deploy benchmark: N deploys of a prebuilt image (alternating two
 * versions) while a client loop sends requests through Caddy. For each
 * deploy: the time from the call until the first response of the new
 * version, and the call's own duration (which includes the drain).
 * Reports failed requests over the whole run.
 *
 * The floor, measured in the same run, interleaved with the deploys so
 * both see the same load: `docker run -d --init` of the same image on the
 * same user network with a published loopback port, until its first HTTP
 * answer (docker CLI included; the answer is polled every millisecond from
 * the moment the CLI is started).
 *
 * usage: bench_deploy N APP_DIR IMAGE     (environment: a harness + TOWLION_*)
 */
#include <towlion/towlion.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench_http.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct {
	char host[128];
	volatile int stop;
	volatile int want;       /* version we wait for (1 or 2) */
	volatile double seen_at; /* when `want` was first answered */
	long total, failed;
	long closed, timeout, http; /* the failures by kind, as bench_keepalive.c */
} load;

static void *client(void *arg)
{
	load *L = arg;
	char url[128], hdr[200];
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", getenv("TOWLION_HTTP_PORT"));
	snprintf(hdr, sizeof(hdr), "Host: %s", L->host);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, hdr);
	while (!L->stop) {
		char body[256] = "";
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		long status = 0;
		CURLcode cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		L->total++;
		if (cc != CURLE_OK || status != 200 || !strstr(body, "hello v")) {
			L->failed++;
			if (cc == CURLE_OPERATION_TIMEDOUT)
				L->timeout++;
			else if (cc != CURLE_OK)
				L->closed++;
			else
				L->http++;
			continue;
		}
		char want[32];
		snprintf(want, sizeof(want), "hello v%d", L->want);
		if (L->seen_at == 0 && strstr(body, want))
			L->seen_at = now_ms();
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* Time spent in each step, summed over the measured deploys. */
#define MAX_STEPS 32
static struct {
	const char *name;
	double total;
} steps[MAX_STEPS];
static double step_t0;
static int step_cur = -1;
static int measuring;

static void step_close(double t)
{
	if (step_cur >= 0 && measuring)
		steps[step_cur].total += t - step_t0;
	step_cur = -1;
}

static int on_event(const tl_event *ev, void *p)
{
	(void)p;
	if (ev->type != TL_EVENT_STEP || !ev->step)
		return 0;
	double t = now_ms();
	step_close(t);
	int i = 0;
	while (i < MAX_STEPS && steps[i].name && strcmp(steps[i].name, ev->step))
		i++;
	if (i == MAX_STEPS)
		return 0;
	if (!steps[i].name)
		steps[i].name = strdup(ev->step);
	step_cur = i;
	step_t0 = t;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		perror("free port");
		exit(1);
	}
	close(fd);
	return ntohs(sa.sin_port);
}

static pid_t docker_cli(char *const *args)
{
	extern char **environ;
	pid_t pid;
	posix_spawn_file_actions_t fa; /* its stdout (ids, names) is not ours */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, args[0], &fa, NULL, args, environ)) {
		perror(args[0]);
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static int docker_wait(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* One floor run: `docker run -d --init` on the network, until the first
 * 200 of /health on the published port; the container is removed after. */
static double floor_once(const char *image, const char *network, int seq)
{
	char name[64], publish[64], url[64], label[] = "towlion-bench=deploy-floor";
	int port = free_port();
	snprintf(name, sizeof(name), "towlion-bench-floor-%ld-%d", (long)getpid(), seq);
	snprintf(publish, sizeof(publish), "127.0.0.1:%d:8000", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	const char *host = getenv("TOWLION_DOCKER_HOST");
	char *run[] = {"/usr/bin/docker", "-H", (char *)host, "run", "-d", "--init", "--name",
	               name, "--label", label, "--network", (char *)network, "-p", publish,
	               (char *)image, NULL};
	CURL *c = curl_easy_init();
	char body[256];
	double t0 = now_ms();
	pid_t pid = docker_cli(run);
	for (;;) {
		long status = 0;
		body[0] = '\0';
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
		if (curl_easy_perform(c) == CURLE_OK &&
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
			break;
		if (now_ms() - t0 > 60000) {
			fprintf(stderr, "floor: %s never answered\n", name);
			exit(1);
		}
		usleep(1000);
	}
	double t = now_ms() - t0;
	curl_easy_cleanup(c);
	if (docker_wait(pid)) {
		fprintf(stderr, "floor: docker run failed\n");
		exit(1);
	}
	char *rm[] = {"/usr/bin/docker", "-H", (char *)host, "rm", "-f", name, NULL};
	pid = docker_cli(rm);
	docker_wait(pid);
	return t;
}

static void set_version(const char *dir, int v)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/deploy/.env", dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "APP_VERSION=v%d\n", v);
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_deploy N APP_DIR IMAGE\n");
		return 2;
	}
	int n = atoi(argv[1]);
	const char *dir = argv[2], *image = argv[3];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tl_ctx *ctx = NULL;
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	co.event_cb = on_event;
	if (tl_ctx_new(&ctx, &co)) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}
	load L = {0};
	snprintf(L.host, sizeof(L.host), "bench%ld.towlion.test", (long)getpid());
	char app[32];
	snprintf(app, sizeof(app), "bench%ld", (long)getpid());
	const char *doms[] = {L.host, NULL};
	tl_app_options ao = TL_APP_OPTIONS_INIT;
	ao.domains = doms;
	ao.drain_ms = 500;
	if (tl_app_create(NULL, ctx, app, &ao)) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = dir;
	set_version(dir, 1);
	if (tl_deploy(NULL, ctx, app, &o)) { /* the first release: not measured */
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}
	L.want = 1;
	pthread_t t;
	pthread_create(&t, NULL, client, &L);
	measuring = 1;
	double *serving = calloc((size_t)n, sizeof(double));
	double *call = calloc((size_t)n, sizeof(double));
	double *floor_ms = calloc((size_t)n, sizeof(double));
	char network[256];
	snprintf(network, sizeof(network), "%s-app-%s", getenv("TOWLION_NETWORK"), app);
	for (int i = 0; i < n; i++) {
		int v = (i % 2) ? 1 : 2;
		set_version(dir, v);
		L.seen_at = 0;
		L.want = v;
		double t0 = now_ms();
		if (tl_deploy(NULL, ctx, app, &o)) {
			fprintf(stderr, "deploy %d: %s\n", i, tl_error_last()->message);
			return 1;
		}
		call[i] = now_ms() - t0;
		step_close(t0 + call[i]);
		while (L.seen_at == 0)
			usleep(1000);
		serving[i] = L.seen_at - t0;
		floor_ms[i] = floor_once(image, network, i);
	}
	L.stop = 1;
	pthread_join(t, NULL);
	qsort(serving, (size_t)n, sizeof(double), cmp);
	qsort(call, (size_t)n, sizeof(double), cmp);
	qsort(floor_ms, (size_t)n, sizeof(double), cmp);
	printf("deploys %d\nserving_median_ms %.0f\nserving_p90_ms %.0f\nserving_max_ms %.0f\n"
	       "call_median_ms %.0f\nfloor_median_ms %.0f\nfloor_p90_ms %.0f\n"
	       "ratio_serving_to_floor %.2f\nrequests %ld\nfailed %ld (closed %ld timeout %ld http %ld)\n",
	       n, serving[n / 2], serving[(n * 9) / 10], serving[n - 1], call[n / 2],
	       floor_ms[n / 2], floor_ms[(n * 9) / 10], serving[n / 2] / floor_ms[n / 2], L.total,
	       L.failed, L.closed, L.timeout, L.http);
	printf("mean time per step (ms):\n");
	for (int i = 0; i < MAX_STEPS && steps[i].name; i++)
		printf("  %-16s %7.1f\n", steps[i].name, steps[i].total / n);
	measuring = 0;
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	tl_app_destroy(ctx, app, &d);
	tl_ctx_free(ctx);
	return L.failed ? 1 : 0;
}
