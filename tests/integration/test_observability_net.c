/*
 * The metrics profile as the platform lays it out, with the real programs
 * on the real dockerd: Debian's Prometheus and node-exporter (an image
 * made from the host's binaries and their libc) on the platform's internal
 * network (<TOWLION_NETWORK>-internal, internal: true; netplan.c puts both
 * there and nowhere else), node-exporter reading `towlion metrics
 * --textfile` through its textfile collector, Prometheus scraping it by
 * service name.
 *
 * - From a container on the internal network, Prometheus's query API has
 *   towlion's series (the whole chain works where it will run).
 * - From a tenant's container (on a tenant network, as the deploy engine
 *   makes them), neither Prometheus's nor node-exporter's port answers,
 *   by name or by address.
 */
#include "tl_test.h"

#include "core/core.h"
#include "platform/platform_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static tl_ctx *ctx;
static tl_docker *docker;
static char *dir;
static char prefix[32], internal[64], tenant[64], image[96];

static const char *const roles[] = {"prometheus", "node-exporter", "probe", "tenant"};

static char *cname(const char *role)
{
	static char buf[4][96];
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(roles[i], role)) {
			snprintf(buf[i], sizeof(buf[i]), "%s-%s", prefix, role);
			return buf[i];
		}
	return NULL;
}

/* The image: busybox plus the two programs and the libc they link. It is
 * named after the binaries' size and time, so a rerun does not rebuild. */
static void build_image(void)
{
	const char *bins[] = {"/usr/bin/prometheus", "/usr/bin/prometheus-node-exporter"};
	unsigned long h = 5381;
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (stat(bins[i], &st) != 0) {
			if (getenv("CI"))
				fail_msg("%s is missing (scripts/setup installs it)", bins[i]);
			skip();
		}
		h = h * 33 + (unsigned long)st.st_size;
		h = h * 33 + (unsigned long)st.st_mtime;
	}
	snprintf(image, sizeof(image), "towlion-test/obs-metrics:%lx", h);
	tl_docker_image *img = NULL;
	if (tl_docker_image_inspect(&img, docker, image) == TL_OK) {
		tl_docker_image_free(img);
		return;
	}
	char *ctxdir = tl_test_tmpdir();
	tl_test_sh("mkdir -p %s/root/usr/bin %s/root/lib/x86_64-linux-gnu %s/root/lib64 && "
	           "cp %s %s %s/root/usr/bin/ && "
	           "cp -L /lib/x86_64-linux-gnu/libc.so.6 %s/root/lib/x86_64-linux-gnu/ && "
	           "cp -L /lib64/ld-linux-x86-64.so.2 %s/root/lib64/",
	           ctxdir, ctxdir, ctxdir, bins[0], bins[1], ctxdir, ctxdir, ctxdir);
	char df[700];
	snprintf(df, sizeof(df), "%s/Dockerfile", ctxdir);
	tl_test_write_file(df, "FROM towlion-test/busybox:latest\nCOPY root/ /\n", 0644);
	tl_docker_build_spec *spec = NULL;
	tl_assert_ok(tl_docker_build_spec_new(&spec, ctxdir));
	tl_assert_ok(tl_docker_build_spec_add_tag(spec, image));
	tl_assert_ok(tl_docker_image_build(NULL, docker, spec));
	tl_docker_build_spec_free(spec);
	tl_test_rmdir(ctxdir);
}

static void run_container(const char *role, const char *network, const char *alias,
                          const char *const *cmd, const char *bind_src, const char *bind_dst)
{
	tl_docker_container_spec *sp = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&sp, image));
	tl_assert_ok(tl_docker_container_spec_set_name(sp, cname(role)));
	tl_assert_ok(tl_docker_container_spec_add_label(sp, "towlion.test", "obs"));
	tl_assert_ok(tl_docker_container_spec_set_network(sp, network));
	if (alias)
		tl_assert_ok(tl_docker_container_spec_add_alias(sp, alias));
	tl_assert_ok(tl_docker_container_spec_set_init(sp, 1));
	tl_assert_ok(tl_docker_container_spec_set_cmd(sp, cmd));
	if (bind_src)
		tl_assert_ok(tl_docker_container_spec_add_bind(sp, bind_src, bind_dst, 1));
	if (!strcmp(role, "prometheus")) /* its database, gone with it */
		tl_assert_ok(tl_docker_container_spec_add_tmpfs(sp, "/prometheus", NULL));
	tl_assert_ok(tl_docker_container_create(NULL, docker, sp));
	tl_docker_container_spec_free(sp);
	tl_assert_ok(tl_docker_container_start(docker, cname(role)));
}

static void cleanup(void)
{
	for (size_t i = 0; i < 4; i++)
		tl_docker_container_remove(docker, cname(roles[i]), TL_DOCKER_REMOVE_FORCE);
	tl_docker_network_remove(docker, internal);
	tl_docker_network_remove(docker, tenant);
	tl_error_clear();
}

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	ctx = tl_test_ctx(1);
	dir = tl_test_tmpdir();
	snprintf(prefix, sizeof(prefix), "tobs%ld", (long)getpid());
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", prefix));
	char *in = tl__plat_internal_network(ctx);
	snprintf(internal, sizeof(internal), "%s", in);
	free(in);
	snprintf(tenant, sizeof(tenant), "%s-app-shop", prefix);
	tl_assert_ok(tl_docker_open(&docker, ctx));
	cleanup();
	return 0;
}

static int teardown(void **state)
{
	if (docker)
		cleanup();
	tl_docker_free(docker);
	tl_ctx_free(ctx);
	if (dir)
		tl_test_rmdir(dir);
	return 0;
}

/* `line` run by sh inside `role`'s container: its stdout (never NULL). */
static char *sh_out(const char *role, const char *line)
{
	const char *argv[] = {"sh", "-c", line, NULL};
	int code = -1;
	tl_buf o = TL_BUF_INIT, e = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &o, &e, docker, cname(role), argv, NULL));
	tl_buf_dispose(&e);
	char *s = strdup(o.ptr ? o.ptr : "");
	tl_buf_dispose(&o);
	return s;
}

/* GET path from ip:port inside `role` (busybox nc: its static wget cannot
 * resolve); the whole answer, "" when nothing answered. */
static char *get_in(const char *role, const char *ip, int port, const char *path)
{
	char line[400];
	snprintf(line, sizeof(line),
	         "printf 'GET %s HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | nc -w 3 %s %d", path, ip,
	         port);
	return sh_out(role, line);
}

static char *ip_of(const char *role)
{
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, docker, cname(role)));
	char *ip = strdup(tl_docker_container_ip(c, internal));
	tl_docker_container_free(c);
	assert_true(*ip);
	return ip;
}

static void test_metrics_profile_on_the_internal_network(void **state)
{
	build_image();
	/* The platform's plan for these two: the internal network only. */
	assert_int_equal(tl__plat_networks("prometheus"), TL__PLAT_NET_INTERNAL);
	assert_int_equal(tl__plat_networks("node-exporter"), TL__PLAT_NET_INTERNAL);
	const char *labels[] = {"towlion.test=obs", NULL};
	tl_assert_ok(tl_docker_network_ensure_internal(NULL, docker, internal, labels));
	tl_assert_ok(tl_docker_network_ensure(NULL, docker, tenant, labels));

	/* towlion's series, as the timer writes them. */
	char tf[600], conf[600], yml[700];
	snprintf(tf, sizeof(tf), "%s/textfile", dir);
	snprintf(conf, sizeof(conf), "%s/prometheus", dir);
	tl_assert_ok(tl__mkdir_p(tf, 0755));
	tl_assert_ok(tl__mkdir_p(conf, 0755));
	assert_int_equal(chmod(dir, 0755), 0);
	tl_assert_ok(tl_metrics_write_textfile(NULL, ctx, tf, NULL));
	snprintf(yml, sizeof(yml), "%s/prometheus.yml", conf);
	tl_test_write_file(yml,
	                   "global:\n  scrape_interval: 1s\nscrape_configs:\n"
	                   "  - job_name: node\n    static_configs:\n"
	                   "      - targets: ['node-exporter:9100']\n",
	                   0644);

	const char *ne[] = {"prometheus-node-exporter", "--collector.disable-defaults",
	                    "--collector.textfile", "--collector.textfile.directory=/textfile",
	                    NULL};
	const char *prom[] = {"prometheus", "--config.file=/etc/prometheus/prometheus.yml",
	                      "--storage.tsdb.path=/prometheus", NULL};
	const char *idle[] = {"sleep", "2147483647", NULL};
	run_container("node-exporter", internal, "node-exporter", ne, tf, "/textfile");
	run_container("prometheus", internal, "prometheus", prom, conf, "/etc/prometheus");
	run_container("probe", internal, NULL, idle, NULL, NULL);
	run_container("tenant", tenant, "app", idle, NULL, NULL);
	char *prom_ip = ip_of("prometheus"), *ne_ip = ip_of("node-exporter");

	/* Inside: the query API answers with towlion's series, scraped from
	 * node-exporter by its service name. */
	char *ans = NULL;
	for (int i = 0; i < 150; i++) {
		free(ans);
		ans = get_in("probe", prom_ip, 9090, "/api/v1/query?query=towlion_scrape_up");
		if (strstr(ans, "\"__name__\":\"towlion_scrape_up\"") &&
		    strstr(ans, "\"instance\":\"node-exporter:9100\""))
			break;
		usleep(200000);
	}
	if (!strstr(ans, "\"__name__\":\"towlion_scrape_up\""))
		fail_msg("Prometheus on the internal network has no towlion_ series: %s", ans);
	free(ans);

	/* From the tenant: no name resolves, no port answers. */
	char *dns = sh_out("tenant", "nslookup -type=a prometheus 127.0.0.11 | "
	                             "sed -n '/^Name:/,$s/^Address: *//p'");
	assert_string_equal(dns, "");
	free(dns);
	const struct {
		const char *ip;
		int port;
		const char *path;
	} targets[] = {{prom_ip, 9090, "/-/healthy"}, {ne_ip, 9100, "/metrics"}};
	for (size_t i = 0; i < 2; i++) {
		/* The control: the probe inside gets an answer... */
		char *in = get_in("probe", targets[i].ip, targets[i].port, targets[i].path);
		assert_non_null(strstr(in, "200 OK"));
		free(in);
		/* ...the tenant gets nothing. */
		char *out = get_in("tenant", targets[i].ip, targets[i].port, targets[i].path);
		if (*out)
			fail_msg("a tenant reached %s:%d: %s", targets[i].ip, targets[i].port, out);
		free(out);
	}
	free(prom_ip);
	free(ne_ip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_profile_on_the_internal_network),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
