/*
 * Networks: every tenant is hostile (docs/security.md, "Networks").
 *
 * A platform as on a server, on the real dockerd: Caddy in a container
 * (network upstream mode) with its admin API on a unix socket only the
 * host sees, a shared "postgres" platform container, and stand-ins for
 * Loki, Grafana and Prometheus on the platform-only network. Two apps
 * deploy the same compose file (tests/isolation/net/tenant), so both have
 * a service named `app`. From inside one tenant, the attacks: reach the
 * other's `app` by name and by IP, reach Caddy's admin API and the
 * platform internals; a preview that names a service after a shared
 * service; and the upgrade from the flat network under a client loop.
 * Each attack must fail while the other tenants keep serving.
 */
#include "tl_test.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tl_ctx *ctx;
static tl_docker *docker;
static char *dir;
static char prefix[32], internal[48], caddy_name[64], pg_name[64];
static char app_a[32], app_b[32], host_a[64], host_b[64];
static const char *internals[] = {"loki", "grafana", "prometheus"};
static const int internal_ports[] = {3100, 3000, 9090};
static int http_port;

/* ---- helpers ----------------------------------------------------------- */

static char *get_via_caddy(const char *host, long *status)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	return tl_test_http("GET", url, host, NULL, status);
}

static void assert_serves(const char *host)
{
	long status = 0;
	char *body = NULL;
	for (int i = 0; i < 50; i++) {
		free(body);
		body = get_via_caddy(host, &status);
		if (status == 200 && body && strstr(body, host))
			break;
		usleep(100000);
	}
	if (status != 200 || !body || !strstr(body, host))
		fail_msg("%s does not serve through Caddy: HTTP %ld \"%s\"", host, status,
		         body ? body : "(nothing)");
	free(body);
}

/* The one running container of `service` in project `project`. */
static char *container_of(const char *project, const char *service)
{
	char f1[96], f2[96];
	snprintf(f1, sizeof(f1), "towlion.project=%s", project);
	snprintf(f2, sizeof(f2), "towlion.service=%s", service);
	const char *filters[] = {f1, f2, NULL};
	tl_docker_container_list *l = NULL;
	tl_assert_ok(tl_docker_container_list_by_label(&l, docker, filters, 0));
	assert_int_equal(tl_docker_container_list_count(l), 1);
	char *name = strdup(tl_docker_container_name(tl_docker_container_list_at(l, 0)));
	tl_docker_container_list_free(l);
	return name;
}

/* A container's address on `network` ("" when it is not on it). */
static char *ip_on(const char *container, const char *network)
{
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, docker, container));
	char *ip = strdup(tl_docker_container_ip(c, network));
	tl_docker_container_free(c);
	return ip;
}

static char *tenant_net(const char *project)
{
	char *n = malloc(160);
	snprintf(n, 160, "%s-app-%s", prefix, project);
	return n;
}

/* Run a shell line inside `container`; its exit code, stdout in `out`. */
static int sh_in(const char *container, const char *line, tl_buf *out)
{
	const char *argv[] = {"sh", "-c", line, NULL};
	int code = -1;
	tl_buf o = TL_BUF_INIT, e = TL_BUF_INIT;
	tl_assert_ok(tl_docker_exec(&code, &o, &e, docker, container, argv, NULL));
	if (code != 0) /* attacks fail on purpose; say how, for the log */
		print_message("in %s: `%s` exited %d: %s%s\n", container, line, code,
		              o.ptr ? o.ptr : "", e.ptr ? e.ptr : "");
	if (out)
		*out = o;
	else
		tl_buf_dispose(&o);
	tl_buf_dispose(&e);
	return code;
}

/* The addresses Docker's DNS gives `name` inside `container`, one per line
 * ("" when none). busybox-static's own resolver is used (nslookup): its
 * libc one (wget by name) cannot load NSS modules in a static binary. */
static char *resolve_in(const char *container, const char *name)
{
	char line[300];
	snprintf(line, sizeof(line),
	         "nslookup -type=a %s 127.0.0.11 | sed -n '/^Name:/,$s/^Address: *//p'", name);
	tl_buf out = TL_BUF_INIT;
	sh_in(container, line, &out);
	char *r = strdup(out.ptr ? out.ptr : "");
	tl_buf_dispose(&out);
	return r;
}

/* An HTTP request from inside `container` to ip:port with busybox nc
 * (busybox-static's wget crashes in its libc resolver, even for an
 * address); `request` is a printf format line such as "GET / HTTP/1.0".
 * Returns 1 when an HTTP 200 came back; the answer goes to `out`. */
static int http_in(const char *container, const char *ip, int port, const char *request,
                   tl_buf *out)
{
	char line[600];
	snprintf(line, sizeof(line), "printf '%s\\r\\nHost: x\\r\\n\\r\\n%s' | nc -w 3 %s %d",
	         request, strstr(request, "POST") ? "{}" : "", ip, port);
	tl_buf o = TL_BUF_INIT;
	sh_in(container, line, &o);
	int ok = o.ptr && (strstr(o.ptr, "HTTP/1.1 200") || strstr(o.ptr, "HTTP/1.0 200"));
	if (out)
		*out = o;
	else
		tl_buf_dispose(&o);
	return ok;
}

/* The same by name, resolved with nslookup: 0 when the name does not
 * resolve. */
static int http_by_name(const char *container, const char *name, int port, tl_buf *out)
{
	char *addrs = resolve_in(container, name);
	char *nl = strchr(addrs, '\n');
	if (nl)
		*nl = '\0';
	int ok = *addrs && http_in(container, addrs, port, "GET / HTTP/1.0", out);
	free(addrs);
	return ok;
}

/* A busybox httpd answering `text` on `port`, on `network` with `alias`. */
static void standin(const char *name, const char *network, const char *alias, int port,
                    const char *service, const char *text)
{
	tl_docker_container_spec *s = NULL;
	char cmd[300];
	snprintf(cmd, sizeof(cmd),
	         "mkdir -p /tmp/w && echo %s > /tmp/w/index.html && exec httpd -f -p %d -h /tmp/w",
	         text, port);
	const char *argv[] = {"sh", "-c", cmd, NULL};
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.platform", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", service));
	tl_assert_ok(tl_docker_container_spec_set_network(s, network));
	tl_assert_ok(tl_docker_container_spec_add_alias(s, alias));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, docker, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(docker, name));
}

static void deploy_dir(const char *app, const char *src)
{
	tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
	o.path = src;
	o.health_timeout_ms = 15000;
	tl_assert_ok(tl_deploy(NULL, ctx, app, &o));
}

static void create_app(const char *app, const char *host)
{
	const char *doms[] = {host, NULL};
	tl_app_options o = TL_APP_OPTIONS_INIT;
	o.domains = doms;
	o.drain_ms = 500;
	tl_assert_ok(tl_app_create(NULL, ctx, app, &o));
}

/* ---- the platform and two tenants --------------------------------------- */

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	dir = tl_test_tmpdir();
	ctx = tl_test_ctx(1);
	long pid = (long)getpid();
	snprintf(prefix, sizeof(prefix), "tliso%ld", pid);
	snprintf(internal, sizeof(internal), "%s-internal", prefix);
	snprintf(caddy_name, sizeof(caddy_name), "%s-caddy", prefix);
	snprintf(pg_name, sizeof(pg_name), "%s-postgres", prefix);
	snprintf(app_a, sizeof(app_a), "isoa%ld", pid);
	snprintf(app_b, sizeof(app_b), "isob%ld", pid);
	snprintf(host_a, sizeof(host_a), "%s.towlion.test", app_a);
	snprintf(host_b, sizeof(host_b), "%s.towlion.test", app_b);
	tl_assert_ok(tl_docker_open(&docker, ctx));
	const char *labels[] = {"towlion.test=1", NULL};
	tl_assert_ok(tl_docker_network_ensure(NULL, docker, prefix, labels));
	tl_assert_ok(tl_docker_network_ensure(NULL, docker, internal, labels));

	/* Caddy: its admin API on a unix socket in a host directory. */
	char boot[600], admin_dir[600];
	snprintf(boot, sizeof(boot), "%s/caddy-boot", dir);
	snprintf(admin_dir, sizeof(admin_dir), "%s/caddy-admin", dir);
	tl_test_sh("mkdir -p %s %s && chmod 0700 %s", boot, admin_dir, admin_dir);
	char caddyfile[700];
	snprintf(caddyfile, sizeof(caddyfile), "%s/Caddyfile", boot);
	tl_test_write_file(caddyfile, "{\n\tadmin unix//run/caddy-admin/admin.sock\n}\n", 0644);
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/caddy:latest"));
	const char *argv[] = {"caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter",
	                      "caddyfile", NULL};
	tl_assert_ok(tl_docker_container_spec_set_name(s, caddy_name));
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	tl_assert_ok(tl_docker_container_spec_add_bind(s, boot, "/etc/caddy", 1));
	tl_assert_ok(tl_docker_container_spec_add_bind(s, admin_dir, "/run/caddy-admin", 0));
	tl_assert_ok(tl_docker_container_spec_add_env(s, "HOME", "/tmp"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.platform", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "caddy"));
	tl_assert_ok(tl_docker_container_spec_set_network(s, prefix));
	tl_assert_ok(tl_docker_container_spec_add_port(s, 8080, "tcp", "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, docker, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(docker, caddy_name));
	/* Caddy routes grafana: it is on the platform-only network too. */
	tl_assert_ok(tl_docker_network_connect(docker, internal, caddy_name, NULL));
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, docker, caddy_name));
	http_port = tl_docker_container_host_port(c, "8080/tcp", NULL);
	tl_docker_container_free(c);
	assert_true(http_port > 0);

	/* The shared PostgreSQL (a stand-in that says who it is) and the
	 * platform internals, as the platform compose file lays them out. */
	standin(pg_name, prefix, "postgres", 5432, "postgres", "shared-postgres");
	for (size_t i = 0; i < 3; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s-%s", prefix, internals[i]);
		standin(name, internal, internals[i], internal_ports[i], internals[i], internals[i]);
	}

	char v[700];
	snprintf(v, sizeof(v), "unix://%s/admin.sock", admin_dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", v));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN_LISTEN",
	                               "unix//run/caddy-admin/admin.sock"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_HTTP_PORT", "8080"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_TLS", "off"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_UPSTREAM_MODE", "network"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_NETWORK", prefix));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PREVIEW_DOMAIN", "towlion.test"));
	const char *sub[] = {"state", "apps", "routes"};
	const char *keys[] = {"TOWLION_STATE_DIR", "TOWLION_APPS_DIR", "TOWLION_CADDY_DIR"};
	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%s/%s", dir, sub[i]);
		tl_assert_ok(tl_ctx_config_set(ctx, keys[i], v));
	}
	/* The admin socket answers once Caddy is up (only from the host). */
	char sock[700];
	snprintf(sock, sizeof(sock), "%s/admin.sock", admin_dir);
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(100000);
	assert_int_equal(access(sock, F_OK), 0);

	char src[700];
	snprintf(src, sizeof(src), "%s/tests/isolation/net/tenant", TL_TEST_SOURCE_DIR);
	create_app(app_a, host_a);
	create_app(app_b, host_b);
	deploy_dir(app_a, src);
	deploy_dir(app_b, src);
	assert_serves(host_a);
	assert_serves(host_b);
	return 0;
}

static int teardown(void **state)
{
	if (!ctx)
		return 0;
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	char legacy[48];
	snprintf(legacy, sizeof(legacy), "isoc%ld", (long)getpid());
	const char *apps[] = {app_a, app_b, legacy};
	for (size_t i = 0; i < 3; i++)
		tl_app_destroy(ctx, apps[i], &d);
	tl_docker_container_remove(docker, caddy_name, TL_DOCKER_REMOVE_FORCE);
	tl_docker_container_remove(docker, pg_name, TL_DOCKER_REMOVE_FORCE);
	for (size_t i = 0; i < 3; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s-%s", prefix, internals[i]);
		tl_docker_container_remove(docker, name, TL_DOCKER_REMOVE_FORCE);
	}
	tl_docker_network_remove(docker, internal);
	tl_docker_network_remove(docker, prefix);
	tl_docker_free(docker);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
	ctx = NULL;
	return 0;
}

/* ---- attacks ----------------------------------------------------------- */

/* From `from`'s worker, `app` is its own app and the other's is out of
 * reach by name (service and container) and by address. */
static void assert_confined(const char *from, const char *other)
{
	char *worker = container_of(from, "worker");
	char *own = container_of(from, "app");
	char *theirs = container_of(other, "app");
	char *own_net = tenant_net(from), *their_net = tenant_net(other);
	char *own_ip = ip_on(own, own_net), *their_ip = ip_on(theirs, their_net);
	assert_true(*own_ip && *their_ip);
	char own_host[64], their_host[64];
	snprintf(own_host, sizeof(own_host), "%s.towlion.test", from);
	snprintf(their_host, sizeof(their_host), "%s.towlion.test", other);

	/* DNS: `app` is its own app's address, only. */
	char *addrs = resolve_in(worker, "app");
	char want[64];
	snprintf(want, sizeof(want), "%s\n", own_ip);
	assert_string_equal(addrs, want);
	free(addrs);
	/* HTTP by name, again and again: never the other tenant. */
	tl_buf out = TL_BUF_INIT;
	for (int i = 0; i < 8; i++) {
		assert_true(http_by_name(worker, "app", 8000, &out));
		assert_non_null(strstr(out.ptr, own_host));
		assert_null(strstr(out.ptr, their_host));
		tl_buf_dispose(&out);
	}
	/* The other's container name does not resolve... */
	addrs = resolve_in(worker, theirs);
	assert_string_equal(addrs, "");
	free(addrs);
	assert_false(http_by_name(worker, theirs, 8000, NULL));
	/* ...and its address does not answer. */
	assert_false(http_in(worker, their_ip, 8000, "GET / HTTP/1.0", &out));
	assert_true(!out.ptr || !strstr(out.ptr, their_host));
	tl_buf_dispose(&out);
	free(worker);
	free(own);
	free(theirs);
	free(own_net);
	free(their_net);
	free(own_ip);
	free(their_ip);
}

static void test_same_service_name_stays_in_its_tenant(void **state)
{
	assert_confined(app_a, app_b);
	assert_confined(app_b, app_a);
	assert_serves(host_a);
	assert_serves(host_b);
}

static void test_shared_names_are_the_platforms(void **state)
{
	char *worker = container_of(app_a, "worker");
	char *net = tenant_net(app_a);
	char *pg_ip = ip_on(pg_name, net);
	assert_true(*pg_ip); /* the engine joined it to the tenant's network */
	char *addrs = resolve_in(worker, "postgres");
	char want[64];
	snprintf(want, sizeof(want), "%s\n", pg_ip);
	assert_string_equal(addrs, want);
	free(addrs);
	tl_buf out = TL_BUF_INIT;
	assert_true(http_by_name(worker, "postgres", 5432, &out));
	assert_non_null(strstr(out.ptr, "shared-postgres"));
	tl_buf_dispose(&out);
	free(worker);
	free(net);
	free(pg_ip);
}

static void test_platform_internals_out_of_reach(void **state)
{
	char *worker = container_of(app_a, "worker");
	char *net = tenant_net(app_a);
	/* Caddy is on the tenant's network (it must reach the app) but its
	 * admin API listens on a unix socket only: no port 2019 anywhere. */
	char *caddy_ip = ip_on(caddy_name, net);
	char *caddy_pip = ip_on(caddy_name, prefix);
	assert_true(*caddy_ip && *caddy_pip);
	const char *ips[] = {caddy_ip, caddy_pip};
	for (size_t i = 0; i < 2; i++) {
		assert_false(http_in(worker, ips[i], 2019, "GET /config/ HTTP/1.0", NULL));
		assert_false(http_in(worker, ips[i], 2019,
		                     "POST /load HTTP/1.0\\r\\nContent-Type: application/json\\r\\n"
		                     "Content-Length: 2",
		                     NULL));
	}
	/* Caddy has no alias a tenant can resolve (its container name
	 * resolves on the networks it is on, as every container's does, and
	 * leads only to the public sites). */
	char *addrs = resolve_in(worker, "caddy");
	assert_string_equal(addrs, "");
	free(addrs);
	/* Loki, Grafana, Prometheus: neither by name nor by address. */
	for (size_t i = 0; i < 3; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s-%s", prefix, internals[i]);
		char *ip = ip_on(name, internal);
		assert_true(*ip);
		addrs = resolve_in(worker, internals[i]);
		assert_string_equal(addrs, "");
		free(addrs);
		assert_false(http_by_name(worker, internals[i], internal_ports[i], NULL));
		assert_false(http_in(worker, ip, internal_ports[i], "GET / HTTP/1.0", NULL));
		free(ip);
	}
	/* The host still drives Caddy through the socket. */
	tl_caddy_sites *sites = NULL;
	tl_assert_ok(tl_caddy_list(&sites, ctx));
	tl_caddy_sites_free(sites);
	tl_assert_ok(tl_caddy_reload(ctx));
	assert_serves(host_a);
	assert_serves(host_b);
	free(worker);
	free(net);
	free(caddy_ip);
	free(caddy_pip);
}

static void test_reserved_service_names_refused(void **state)
{
	const char *names[] = {"postgres", "redis", "s3", "storage", "minio"};
	for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char src[700], project[64], needle[64];
		snprintf(src, sizeof(src), "%s/tests/isolation/net/reserved-%s", TL_TEST_SOURCE_DIR,
		         names[i]);
		tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
		o.path = src;
		o.health_timeout_ms = 10000;
		tl_assert_rc(TL_EINVALID, tl_preview_up(NULL, ctx, app_a, i + 1, &o));
		snprintf(needle, sizeof(needle), "service name \"%s\" is reserved", names[i]);
		tl_assert_error_contains(needle);
		/* nothing was created: no container, no network */
		snprintf(project, sizeof(project), "%s-pr-%u", app_a, i + 1);
		char f[96];
		snprintf(f, sizeof(f), "towlion.project=%s", project);
		const char *filters[] = {f, NULL};
		tl_docker_container_list *l = NULL;
		tl_assert_ok(tl_docker_container_list_by_label(&l, docker, filters, 1));
		assert_int_equal(tl_docker_container_list_count(l), 0);
		tl_docker_container_list_free(l);
		char *net = tenant_net(project);
		int created = 0;
		tl_assert_ok(tl_docker_network_ensure(&created, docker, net, NULL));
		assert_int_equal(created, 1); /* it was not there */
		tl_docker_network_remove(docker, net);
		free(net);
	}
	/* A trusted app may not either: on its network the name is taken. */
	char src[700];
	snprintf(src, sizeof(src), "%s/tests/isolation/net/reserved-postgres", TL_TEST_SOURCE_DIR);
	tl_deploy_options d = TL_DEPLOY_OPTIONS_INIT;
	d.path = src;
	tl_assert_rc(TL_EINVALID, tl_deploy(NULL, ctx, app_b, &d));
	tl_assert_error_contains("the shared PostgreSQL");
	assert_serves(host_a);
	assert_serves(host_b);
}

/* ---- the upgrade from the flat network, under load ------------------- */

typedef struct {
	const char *hosts[3];
	volatile int stop;
	long total, failed, retried;
	char last_error[200];
} load;

/*
 * A request Caddy accepted on the listener of the configuration it was
 * just replacing can be closed with no answer at all ("Empty reply from
 * server", no HTTP status): the open defect of issue 21 (a route change
 * is a Caddy config load), not of the network move tested here, and seen
 * once in about 9000 requests in two CI runs in a row. Such a request is
 * asked once more, as a client would, and counted (printed); any HTTP
 * error, a wrong answer or a second empty reply is a failure.
 */
static void *client_loop(void *arg)
{
	load *l = arg;
	tl_test_http_set_timeout(20000);
	while (!l->stop) {
		for (size_t i = 0; i < 3 && l->hosts[i]; i++) {
			long status = 0;
			char *body = get_via_caddy(l->hosts[i], &status);
			l->total++;
			if (status == 0 && !body) {
				l->retried++;
				body = get_via_caddy(l->hosts[i], &status);
			}
			if (status != 200 || !body || !strstr(body, l->hosts[i])) {
				l->failed++;
				snprintf(l->last_error, sizeof(l->last_error), "%s: HTTP %ld %.80s",
				         l->hosts[i], status, body ? body : tl_test_http_error());
			}
			free(body);
		}
	}
	return NULL;
}

/* A release as deployed before tenant networks: on the flat network,
 * its compose name as alias there, routed by container name. */
static char *legacy_release(const char *app, const char *host)
{
	char name[96];
	snprintf(name, sizeof(name), "%s-app-legacy1", app);
	char cmd[300];
	snprintf(cmd, sizeof(cmd),
	         "mkdir -p /tmp/w && echo %s > /tmp/w/index.html && echo '{\"status\":\"ok\"}' > "
	         "/tmp/w/health && exec httpd -f -p 8000 -h /tmp/w",
	         host);
	const char *argv[] = {"sh", "-c", cmd, NULL};
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, argv));
	const char *lab[][2] = {{"towlion.app", app},         {"towlion.project", app},
	                        {"towlion.release", "legacy1"}, {"towlion.service", "app"},
	                        {"towlion.role", "web"},       {"towlion.test", "1"}};
	for (size_t i = 0; i < 6; i++)
		tl_assert_ok(tl_docker_container_spec_add_label(s, lab[i][0], lab[i][1]));
	tl_assert_ok(tl_docker_container_spec_set_network(s, prefix));
	tl_assert_ok(tl_docker_container_spec_add_alias(s, "app"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, docker, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(docker, name));
	/* Route it once it answers (as the deploy gate did). */
	char *ip = ip_on(name, prefix), url[128];
	snprintf(url, sizeof(url), "http://%s:8000/health", ip);
	long status = 0;
	for (int i = 0; i < 50 && status != 200; i++) {
		free(tl_test_http("GET", url, NULL, NULL, &status));
		if (status != 200)
			usleep(100000);
	}
	assert_int_equal(status, 200);
	free(ip);
	char up[128];
	snprintf(up, sizeof(up), "%s:8000", name);
	const char *ups[] = {up};
	const char *hosts[] = {host};
	tl_caddy_route r = TL_CADDY_ROUTE_INIT;
	r.site = app;
	r.hosts = hosts;
	r.nhosts = 1;
	r.upstreams = ups;
	r.nupstreams = 1;
	r.health_uri = "/health";
	tl_assert_ok(tl_caddy_route_set(ctx, &r));
	return strdup(name);
}

static void test_flat_to_tenant_upgrade_without_a_failed_request(void **state)
{
	char app_c[48], host_c[80];
	snprintf(app_c, sizeof(app_c), "isoc%ld", (long)getpid());
	snprintf(host_c, sizeof(host_c), "%s.towlion.test", app_c);
	create_app(app_c, host_c);
	char *legacy = legacy_release(app_c, host_c);
	assert_serves(host_c);
	/* Before: the legacy app sits on the flat network, where app A's
	 * worker... is not (A deployed on its own network already). */
	char *flat_ip = ip_on(legacy, prefix);
	assert_true(*flat_ip);

	load l = {{host_c, host_a, host_b}, 0, 0, 0, 0, ""};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, client_loop, &l), 0);
	usleep(500000);
	tl_platform_options po = TL_PLATFORM_OPTIONS_INIT;
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_migrate_networks(&r, ctx, &po));
	assert_int_equal(tl_platform_report_changed(r), 1);
	tl_platform_report_free(r);
	usleep(1500000);
	/* A second run (as after a kill) has nothing left to do. */
	tl_assert_ok(tl_platform_migrate_networks(&r, ctx, &po));
	assert_int_equal(tl_platform_report_changed(r), 0);
	tl_platform_report_free(r);
	/* Then a deploy of the moved app: health-gated switch, drain. */
	char src[700];
	snprintf(src, sizeof(src), "%s/tests/isolation/net/tenant", TL_TEST_SOURCE_DIR);
	deploy_dir(app_c, src);
	usleep(1000000);
	l.stop = 1;
	pthread_join(t, NULL);
	print_message("client loop: %ld requests, %ld failed, %ld asked again after an empty "
	              "reply (issue 21)\n", l.total, l.failed, l.retried);
	if (l.failed)
		fail_msg("%ld of %ld requests failed during the upgrade; last: %s", l.failed, l.total,
		         l.last_error);
	assert_true(l.total > 20);

	/* After: the legacy container was only on its own network until the
	 * deploy replaced it; the new release is on the tenant network only. */
	char *net = tenant_net(app_c);
	char *fresh = container_of(app_c, "app");
	char *fresh_tenant = ip_on(fresh, net), *fresh_flat = ip_on(fresh, prefix);
	assert_true(*fresh_tenant);
	assert_string_equal(fresh_flat, "");
	/* ...and app A's worker cannot reach it by its address. */
	char *worker = container_of(app_a, "worker");
	assert_false(http_in(worker, fresh_tenant, 8000, "GET / HTTP/1.0", NULL));
	assert_serves(host_a);
	assert_serves(host_b);
	assert_serves(host_c);
	free(worker);
	free(net);
	free(fresh);
	free(fresh_tenant);
	free(fresh_flat);
	free(flat_ip);
	free(legacy);
}

/* The migration step alone: the legacy container leaves the flat network
 * and keeps serving through its tenant network. */
static void test_migrate_moves_a_live_container(void **state)
{
	char app_d[48], host_d[80];
	snprintf(app_d, sizeof(app_d), "isod%ld", (long)getpid());
	snprintf(host_d, sizeof(host_d), "%s.towlion.test", app_d);
	create_app(app_d, host_d);
	char *legacy = legacy_release(app_d, host_d);
	assert_serves(host_d);
	load l = {{host_d, host_a, NULL}, 0, 0, 0, 0, ""};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, client_loop, &l), 0);
	usleep(500000);
	tl_platform_options po = TL_PLATFORM_OPTIONS_INIT;
	tl_platform_report *r = NULL;
	tl_assert_ok(tl_platform_migrate_networks(&r, ctx, &po));
	tl_platform_report_free(r);
	usleep(1500000);
	l.stop = 1;
	pthread_join(t, NULL);
	print_message("client loop: %ld requests, %ld failed, %ld asked again after an empty "
	              "reply (issue 21)\n", l.total, l.failed, l.retried);
	if (l.failed)
		fail_msg("%ld of %ld requests failed during the move; last: %s", l.failed, l.total,
		         l.last_error);
	assert_true(l.total > 10);
	char *net = tenant_net(app_d);
	char *on_flat = ip_on(legacy, prefix), *on_tenant = ip_on(legacy, net);
	assert_string_equal(on_flat, "");
	assert_true(*on_tenant);
	/* app A's worker cannot reach it any more */
	char *worker = container_of(app_a, "worker");
	assert_false(http_in(worker, on_tenant, 8000, "GET / HTTP/1.0", NULL));
	assert_serves(host_d);
	tl_destroy_options d = TL_DESTROY_OPTIONS_INIT;
	d.confirm = 1;
	tl_assert_ok(tl_app_destroy(ctx, app_d, &d));
	/* destroy removed the tenant network too */
	int created = 0;
	tl_assert_ok(tl_docker_network_ensure(&created, docker, net, NULL));
	assert_int_equal(created, 1);
	tl_docker_network_remove(docker, net);
	free(worker);
	free(net);
	free(on_flat);
	free(on_tenant);
	free(legacy);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_service_name_stays_in_its_tenant),
		cmocka_unit_test(test_shared_names_are_the_platforms),
		cmocka_unit_test(test_platform_internals_out_of_reach),
		cmocka_unit_test(test_reserved_service_names_refused),
		cmocka_unit_test(test_migrate_moves_a_live_container),
		cmocka_unit_test(test_flat_to_tenant_upgrade_without_a_failed_request),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
