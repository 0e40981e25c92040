/* The deploy's health gate (lib/deploy/health.c) against a loopback port
 * where nothing listens, then one where a server answers late: the gate
 * asks whether the container still runs (a Docker API call) at a bounded
 * pace, not after every refused probe; a container that exited stops the
 * wait at the next such check; and an answer is taken within a few polls. */
#include "tl_test.h"
#include "core/core.h"
#include "deploy/deploy_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A loopback socket bound but not (yet) listening: connects are refused. */
static int bound_socket(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

typedef struct {
	int calls;
	int running;
} container;

static int alive(void *p)
{
	container *c = p;
	c->calls++;
	return c->running;
}

static tl_ctx *ctx_new(void)
{
	tl_ctx *ctx = NULL;
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.flags = TL_CTX_NO_CONFIG_FILE;
	tl_assert_ok(tl_ctx_new(&ctx, &o));
	return ctx;
}

static void test_running_container_is_asked_at_a_bounded_pace(void **state)
{
	(void)state;
	tl_ctx *ctx = ctx_new();
	int port, fd = bound_socket(&port);
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	container c = {0, 1};
	long t0 = now_ms();
	tl_assert_rc(TL_EUNHEALTHY, tl__health_wait(ctx, hp, "/health", 1500, alive, &c));
	long took = now_ms() - t0;
	tl_assert_error_contains("did not become healthy within 1500 ms");
	assert_true(took >= 1500 && took < 4000);
	/* Every 250 ms: about 6 in 1.5 s (it was one per 25 ms poll, about 60). */
	assert_true(c.calls >= 3 && c.calls <= 10);
	close(fd);
	tl_ctx_free(ctx);
}

static void test_exited_container_stops_the_wait(void **state)
{
	(void)state;
	tl_ctx *ctx = ctx_new();
	int port, fd = bound_socket(&port);
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	container c = {0, 0};
	long t0 = now_ms();
	tl_assert_rc(TL_EUNHEALTHY, tl__health_wait(ctx, hp, "/health", 30000, alive, &c));
	tl_assert_error_contains("exited before");
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(c.calls, 1);
	close(fd);
	tl_ctx_free(ctx);
}

/* Starts listening after a delay, then answers one request healthy. */
typedef struct {
	int fd;
	long listen_at;
} late_server;

static void *serve_late(void *p)
{
	late_server *s = p;
	usleep((useconds_t)s->listen_at * 1000);
	listen(s->fd, 8);
	int c = accept(s->fd, NULL, NULL);
	char buf[1024];
	(void)!read(c, buf, sizeof(buf));
	static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	                          "Content-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}";
	(void)!write(c, ans, sizeof(ans) - 1);
	close(c);
	return NULL;
}

static void test_answer_is_taken_within_a_few_polls(void **state)
{
	(void)state;
	tl_ctx *ctx = ctx_new();
	int port;
	late_server s = {bound_socket(&port), 300};
	char hp[32];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port);
	pthread_t t;
	pthread_create(&t, NULL, serve_late, &s);
	container c = {0, 1};
	long t0 = now_ms();
	tl_assert_ok(tl__health_wait(ctx, hp, "/health", 10000, alive, &c));
	long took = now_ms() - t0;
	pthread_join(t, NULL);
	assert_true(took >= 300);
	/* Generous for a loaded machine; the poll itself is 10 ms. */
	assert_true(took < 300 + 500);
	close(s.fd);
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running_container_is_asked_at_a_bounded_pace),
		cmocka_unit_test(test_exited_container_stops_the_wait),
		cmocka_unit_test(test_answer_is_taken_within_a_few_polls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
