/* The compose reader's API beyond the fixtures (interpolation has its
 * table, tests/compose/interpolation.table): value syntaxes, the typed
 * getters, finding the file, hostile YAML
 * (self-referencing anchors, huge input) and the hello example app's own
 * compose file. */
#include "tl_test.h"

#include "compose/compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_values(void **state)
{
	long ms = 0;
	tl_assert_ok(cp_duration_ms(&ms, "1h2m3s4ms"));
	assert_int_equal(ms, 3723004);
	tl_assert_ok(cp_duration_ms(&ms, "1.5s"));
	assert_int_equal(ms, 1500);
	tl_assert_rc(TL_EINVALID, cp_duration_ms(&ms, "10"));
	tl_assert_rc(TL_EINVALID, cp_duration_ms(&ms, "-1s"));
	tl_assert_rc(TL_EINVALID, cp_duration_ms(&ms, "1d"));
	tl_assert_rc(TL_EINVALID, cp_duration_ms(&ms, ""));
	int64_t b = 0;
	tl_assert_ok(cp_bytes(&b, "512m"));
	assert_int_equal(b, 512LL << 20);
	tl_assert_ok(cp_bytes(&b, "1.5G"));
	assert_int_equal(b, 3LL << 29);
	tl_assert_ok(cp_bytes(&b, "100kb"));
	assert_int_equal(b, 102400);
	tl_assert_ok(cp_bytes(&b, "4096"));
	assert_int_equal(b, 4096);
	tl_assert_rc(TL_EINVALID, cp_bytes(&b, "1x"));
	tl_assert_rc(TL_EINVALID, cp_bytes(&b, "-5m"));
	json_t *a = NULL;
	tl_assert_ok(cp_shell_split(&a, "  echo 'a b'  \"c \\\"d\\\"\" e\\ f ''  "));
	assert_int_equal(json_array_size(a), 5);
	assert_string_equal(json_string_value(json_array_get(a, 1)), "a b");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "c \"d\"");
	assert_string_equal(json_string_value(json_array_get(a, 3)), "e f");
	assert_string_equal(json_string_value(json_array_get(a, 4)), "");
	json_decref(a);
	tl_assert_rc(TL_EINVALID, cp_shell_split(&a, "echo 'open"));
	tl_assert_rc(TL_EINVALID, cp_shell_split(&a, "echo \"open"));
	json_t *ports = json_array();
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "8000:80/icmp"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "a:b"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "1-200:1-200"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "8000-8002:9000-9001"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "evil$host:80:80"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "0:80"));
	assert_int_equal(json_array_size(ports), 0);
	/* a host range onto one container port is not in the subset */
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "8080-8081:80"));
	tl_assert_ok(cp_ports_short(ports, "127.0.0.1:9000:9000/udp"));
	assert_int_equal(json_array_size(ports), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "protocol")),
	                    "udp");
	json_decref(ports);
}

static const char *full =
	"x-towlion:\n"
	"  release_command: alembic upgrade head\n"
	"services:\n"
	"  worker:\n"
	"    image: app:${TAG:-1}\n"
	"    command: celery -A app worker\n"
	"    depends_on:\n"
	"      app:\n"
	"        condition: service_healthy\n"
	"    environment: [A=1, B=two]\n"
	"  app:\n"
	"    build:\n"
	"      context: .\n"
	"      args: {V: \"3\"}\n"
	"    ports: [\"127.0.0.1:8000:8000\"]\n"
	"    volumes: [\"data:/data:ro\", \"./x:/x\"]\n"
	"    tmpfs: /tmp\n"
	"    healthcheck:\n"
	"      test: [\"CMD\", \"true\"]\n"
	"      interval: 5s\n"
	"      retries: 2\n"
	"    labels: {a: b}\n"
	"    init: true\n"
	"    stop_grace_period: 20s\n"
	"    cpus: 0.25\n"
	"    mem_limit: 64m\n"
	"    networks:\n"
	"      front:\n"
	"        aliases: [web]\n"
	"    profiles: [prod]\n"
	"    expose: [8000]\n"
	"    extra_hosts: {db: 10.0.0.1}\n"
	"volumes:\n"
	"  data:\n"
	"networks:\n"
	"  front:\n";

static void test_getters(void **state)
{
	tl_compose_options o;
	tl_assert_ok(tl_compose_options_init(&o, TL_COMPOSE_OPTIONS_VERSION));
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	tl_compose *c = NULL;
	tl_assert_ok(tl_compose_parse(&c, full, strlen(full), "inline.yml", "/srv/app", &o));
	assert_int_equal(tl_compose_warning_count(c), 0);
	assert_int_equal(tl_compose_service_count(c), 2);
	assert_string_equal(tl_compose_service_name(tl_compose_start_order_at(c, 0)), "app");
	assert_string_equal(tl_compose_service_name(tl_compose_start_order_at(c, 1)), "worker");
	assert_null(tl_compose_start_order_at(c, 2));
	assert_string_equal(tl_compose_web_service(c), "app");
	assert_int_equal(tl_compose_web_port(c), 8000);
	assert_string_equal(tl_compose_health_path(c), "/health");
	assert_string_equal(tl_compose_release_command(c), "alembic upgrade head");
	assert_null(tl_compose_domain(c));
	assert_int_equal(tl_compose_volume_name_count(c), 1);
	assert_string_equal(tl_compose_volume_name_at(c, 0), "data");
	assert_string_equal(tl_compose_network_name_at(c, 0), "front");

	const tl_compose_service *w = tl_compose_service_get(c, "worker");
	assert_string_equal(tl_compose_service_image(w), "app:1");
	assert_null(tl_compose_service_build_context(w));
	assert_int_equal(tl_compose_service_command_count(w), 4);
	assert_string_equal(tl_compose_service_command_at(w, 3), "worker");
	assert_int_equal(tl_compose_service_entrypoint_count(w), 0);
	const char *k, *v;
	assert_int_equal(tl_compose_service_env_count(w), 2);
	tl_assert_ok(tl_compose_service_env_at(w, 1, &k, &v));
	assert_string_equal(k, "B");
	assert_string_equal(v, "two");
	tl_assert_rc(TL_EINVALID, tl_compose_service_env_at(w, 2, &k, &v));
	tl_assert_ok(tl_compose_service_depends_at(w, 0, &k, &v));
	assert_string_equal(k, "app");
	assert_string_equal(v, "service_healthy");
	assert_int_equal(tl_compose_service_init(w), -1);
	assert_int_equal(tl_compose_service_stop_grace_ms(w), -1);
	assert_int_equal(tl_compose_service_healthcheck(w), 0);

	const tl_compose_service *a = tl_compose_service_get(c, "app");
	assert_string_equal(tl_compose_service_build_context(a), "/srv/app");
	assert_string_equal(tl_compose_service_build_dockerfile(a), "Dockerfile");
	assert_int_equal(tl_compose_service_build_arg_count(a), 1);
	tl_assert_ok(tl_compose_service_build_arg_at(a, 0, &k, &v));
	assert_string_equal(v, "3");
	const char *ip, *proto;
	int hp, cp;
	tl_assert_ok(tl_compose_service_port_at(a, 0, &ip, &hp, &cp, &proto));
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(hp, 8000);
	assert_int_equal(cp, 8000);
	assert_string_equal(proto, "tcp");
	int ro;
	const char *type, *src, *dst;
	tl_assert_ok(tl_compose_service_volume_at(a, 0, &type, &src, &dst, &ro));
	assert_string_equal(type, "volume");
	assert_string_equal(src, "data");
	assert_true(ro);
	tl_assert_ok(tl_compose_service_volume_at(a, 1, &type, &src, &dst, &ro));
	assert_string_equal(type, "bind");
	assert_string_equal(src, "/srv/app/x");
	assert_false(ro);
	assert_string_equal(tl_compose_service_tmpfs_at(a, 0), "/tmp");
	assert_int_equal(tl_compose_service_healthcheck(a), 1);
	assert_int_equal(tl_compose_service_healthcheck_test_count(a), 2);
	assert_string_equal(tl_compose_service_healthcheck_test_at(a, 0), "CMD");
	assert_int_equal(tl_compose_service_healthcheck_interval_ms(a), 5000);
	assert_int_equal(tl_compose_service_healthcheck_retries(a), 2);
	assert_int_equal(tl_compose_service_healthcheck_timeout_ms(a), 0);
	tl_assert_ok(tl_compose_service_label_at(a, 0, &k, &v));
	assert_string_equal(k, "a");
	assert_int_equal(tl_compose_service_init(a), 1);
	assert_int_equal(tl_compose_service_read_only(a), -1);
	assert_int_equal(tl_compose_service_stop_grace_ms(a), 20000);
	assert_true(tl_compose_service_cpus(a) == 0.25);
	assert_int_equal(tl_compose_service_memory(a), 64 << 20);
	assert_string_equal(tl_compose_service_network_at(a, 0), "front");
	assert_int_equal(tl_compose_service_network_alias_count(a, 0), 1);
	assert_string_equal(tl_compose_service_network_alias_at(a, 0, 0), "web");
	assert_string_equal(tl_compose_service_profile_at(a, 0), "prod");
	assert_string_equal(tl_compose_service_expose_at(a, 0), "8000");
	assert_string_equal(tl_compose_service_extra_host_at(a, 0), "db:10.0.0.1");
	assert_string_equal(tl_compose_service_restart(a), "");
	assert_null(tl_compose_service_get(c, "nope"));
	assert_null(tl_compose_service_at(c, 2));
	tl_compose_free(c);
	tl_compose_free(NULL);
}

/* Numbers a compose file gives, through the one strict parser: strtod
 * and strtol took exponents, hex, signs and trailing text. */
static void expect_refused(const char *service_lines, const char *words)
{
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	tl_compose *c = NULL;
	tl_buf text = TL_BUF_INIT;
	tl_assert_ok(tl__buf_printf(&text, "services:\n  app:\n    image: x\n%s", service_lines));
	int rc = tl_compose_parse(&c, text.ptr, text.size, "n.yml", "/", &o);
	if (rc != TL_EINVALID)
		fail_msg("%s: accepted (rc %d)", service_lines, rc);
	tl_assert_error_contains("n.yml:");
	tl_assert_error_contains(words);
	tl_compose_free(c);
	tl_buf_dispose(&text);
}

static void test_strict_numbers(void **state)
{
	expect_refused("    cpus: \"1.5x\"\n", "cpus");
	expect_refused("    cpus: 1e3\n", "cpus");
	expect_refused("    cpus: 0x2\n", "cpus");
	expect_refused("    cpus: -1\n", "cpus");
	expect_refused("    cpus: inf\n", "cpus");
	expect_refused("    cpus: \" 1\"\n", "cpus");
	expect_refused("    mem_limit: -5\n", "size");
	expect_refused("    mem_limit: 5e3m\n", "size");
	expect_refused("    mem_limit: 0x10m\n", "size");
	expect_refused("    mem_limit: 18446744073709551616\n", "size");
	expect_refused("    expose: [\"+80\"]\n", "expose");
	expect_refused("    expose: [\" 80\"]\n", "expose");
	expect_refused("    restart: \"on-failure:+3\"\n", "restart");
	expect_refused("    restart: \"on-failure:-1\"\n", "restart");
	expect_refused("    stop_grace_period: 1e1s\n", "duration");
	expect_refused("    stop_grace_period: 0x10s\n", "duration");
	expect_refused("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: \" 3\"\n",
	               "retries");
	expect_refused("    healthcheck:\n      test: [\"CMD\", \"true\"]\n      retries: -1\n",
	               "retries");
	expect_refused("    ports:\n      - target: +80\n", "ports.target");
	/* the forms that stay accepted */
	long ms = 0;
	tl_assert_ok(cp_duration_ms(&ms, "1.25s"));
	assert_int_equal(ms, 1250);
	int64_t b = 0;
	tl_assert_ok(cp_bytes(&b, "512MiB"));
	assert_int_equal(b, 512LL << 20);
	tl_assert_rc(TL_EINVALID, cp_bytes(&b, "1.5"));
	json_t *ports = json_array();
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "+80:80"));
	tl_assert_rc(TL_EINVALID, cp_ports_short(ports, "80:80-"));
	tl_assert_ok(cp_ports_short(ports, "8000-8001:9000-9001"));
	json_decref(ports);
}

static void test_hostile_yaml(void **state)
{
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	tl_compose *c = NULL;
	/* an anchor merged into itself must not loop */
	const char *selfmerge = "services:\n  app: &a\n    image: x\n    <<: *a\n";
	int rc = tl_compose_parse(&c, selfmerge, strlen(selfmerge), "self.yml", "/", &o);
	assert_true(rc == TL_OK || rc == TL_EINVALID);
	tl_compose_free(c);
	c = NULL;
	const char *selfseq = "services: &s\n  app:\n    image: x\n    command: &c [a, *c]\n";
	assert_int_equal(tl_compose_parse(&c, selfseq, strlen(selfseq), "seq.yml", "/", &o),
	                 TL_EINVALID);
	/* a billion laughs is linear in libyaml's document, and we never expand it */
	const char *laughs = "x-a: &a [l, l, l, l, l, l, l, l, l]\n"
	                     "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                     "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	                     "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	                     "services:\n  app:\n    image: x\n    command: *d\n";
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, laughs, strlen(laughs), "l.yml", "/", &o));
	tl_assert_error_contains("l.yml:");
	/* too big */
	size_t big = (1u << 20) + 1;
	char *data = malloc(big);
	memset(data, '#', big);
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, data, big, "big.yml", "/", &o));
	tl_assert_error_contains("too big");
	free(data);
	/* NUL bytes and invalid UTF-8 */
	const char nul[] = "services:\n  app:\n    image: \"a\\0b\"\n";
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, nul, sizeof(nul) - 1, "nul.yml", "/", &o));
	const char bad8[] = "services:\n  app:\n    image: \"\xff\xfe\"\n";
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, bad8, sizeof(bad8) - 1, "u.yml", "/", &o));
	/* arguments */
	tl_assert_rc(TL_EINVALID, tl_compose_parse(NULL, "", 0, NULL, NULL, NULL));
	o.version = 99;
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, "a: 1", 4, NULL, NULL, &o));
	assert_null(c);
}

static void test_find_and_load_example(void **state)
{
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(tl_compose_find(&path, TL_TEST_SOURCE_DIR "/examples/apps/hello"));
	assert_true(tl__str_endswith(path.ptr, "/examples/apps/hello/deploy/docker-compose.yml"));
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	o.policy = TL_COMPOSE_STRICT;
	o.app_dir = TL_TEST_SOURCE_DIR "/examples/apps/hello";
	tl_compose *c = NULL;
	tl_assert_ok(tl_compose_load(&c, path.ptr, &o));
	const tl_compose_service *app = tl_compose_service_get(c, "app");
	assert_non_null(app);
	assert_string_equal(tl_compose_service_image(app), "hello:1.0.0");
	assert_string_equal(tl_compose_service_build_context(app),
	                    TL_TEST_SOURCE_DIR "/examples/apps/hello");
	assert_int_equal(tl_compose_service_init(app), 1);
	tl_compose_free(c);
	tl_assert_rc(TL_ENOTFOUND, tl_compose_find(&path, "/nonexistent-towlion-dir"));
	tl_assert_error_contains("deploy/docker-compose.yml");
	tl_assert_rc(TL_ENOTFOUND, tl_compose_load(&c, "/nonexistent/compose.yaml", NULL));
	/* the env file next to the compose file feeds interpolation, and the
	 * process environment wins over it */
	char *dir = tl_test_tmpdir();
	char p[512];
	snprintf(p, sizeof(p), "%s/.env", dir);
	tl_test_write_file(p, "TAG=from-dotenv\nOTHER=dot\n", 0600);
	snprintf(p, sizeof(p), "%s/compose.yaml", dir);
	tl_test_write_file(p, "services:\n  app:\n    image: app:${TAG}-${OTHER}\n", 0644);
	setenv("OTHER", "env", 1);
	tl_compose_options d = TL_COMPOSE_OPTIONS_INIT;
	tl_assert_ok(tl_compose_load(&c, p, &d));
	assert_string_equal(tl_compose_service_image(tl_compose_service_at(c, 0)),
	                    "app:from-dotenv-env");
	tl_compose_free(c);
	unsetenv("OTHER");
	/* an explicit env file must exist */
	d.env_file = "/nonexistent/.env";
	tl_assert_rc(TL_ENOTFOUND, tl_compose_load(&c, p, &d));
	/* the JSON plan masks secrets */
	tl_test_write_file(p, "services:\n  app:\n    image: x\n    environment:\n"
	                      "      DB_PASSWORD: hunter2\n      DATABASE_URL: postgres://u:pw@db/x\n"
	                      "      MODE: prod\n", 0644);
	d.env_file = NULL;
	tl_assert_ok(tl_compose_load(&c, p, &d));
	tl_buf js = TL_BUF_INIT;
	tl_assert_ok(tl_compose_to_json(&js, c));
	assert_null(strstr(js.ptr, "hunter2"));
	assert_null(strstr(js.ptr, "pw@db"));
	assert_non_null(strstr(js.ptr, "\"MODE\": \"prod\""));
	tl_buf_dispose(&js);
	tl_compose_free(c);
	tl_test_rmdir(dir);
	tl_buf_dispose(&path);
}

/* env_file and .env values are interpolated as Compose does, from the
 * variables the compose file was read with; a tenant's files reach none of
 * the server's environment (the platform reads them without it), and
 * another tenant's values only through the files the strict policy lets
 * them name (inside their own app directory). */
static void test_env_file_values(void **state)
{
	char *dir = tl_test_tmpdir();
	char p[512], f[512];
	snprintf(p, sizeof(p), "%s/.env", dir);
	tl_test_write_file(p, "\xef\xbb\xbfHOST=db\nURL=http://${HOST}:5432\n"
	                      "LEAK=[${TL_TEST_SERVER_SECRET}]\n", 0600);
	snprintf(f, sizeof(f), "%s/app.env", dir);
	tl_test_write_file(f, "spring.profiles.active=dev\nDSN=\"${DATABASE_URL}/${HOST}\"\n"
	                      "SELF=${NOPE:-no}\nUSER_URL=$URL\nQUOTED='$HOST'\n"
	                      "LEAK=[${TL_TEST_SERVER_SECRET}]\n", 0600);
	snprintf(p, sizeof(p), "%s/compose.yaml", dir);
	tl_test_write_file(p, "services:\n  app:\n    image: app:1\n    env_file: app.env\n"
	                      "    environment:\n      FROM_DOTENV: ${LEAK}\n", 0644);
	setenv("TL_TEST_SERVER_SECRET", "s3cr3t", 1);
	tl_envfile *vars = NULL;
	const char *platform = "DATABASE_URL=postgres://db/app\n";
	tl_assert_ok(tl_envfile_parse(&vars, platform, strlen(platform), "platform"));
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.policy = TL_COMPOSE_STRICT;
	o.app_dir = dir;
	o.vars = vars;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	tl_compose *c = NULL;
	tl_assert_ok(tl_compose_load(&c, p, &o));
	tl_envfile_free(vars); /* the compose keeps its own copy */
	const tl_compose_service *app = tl_compose_service_get(c, "app");
	const char *k, *v;
	tl_assert_ok(tl_compose_service_env_at(app, 0, &k, &v));
	assert_string_equal(v, "[]");
	tl_envfile *env = NULL;
	tl_assert_ok(tl_compose_service_env_file_read(app, 0, &env));
	assert_string_equal(tl_envfile_get(env, "spring.profiles.active"), "dev");
	assert_string_equal(tl_envfile_get(env, "DSN"), "postgres://db/app/db");
	assert_string_equal(tl_envfile_get(env, "SELF"), "no");
	assert_string_equal(tl_envfile_get(env, "USER_URL"), "http://db:5432");
	assert_string_equal(tl_envfile_get(env, "QUOTED"), "$HOST");
	assert_string_equal(tl_envfile_get(env, "LEAK"), "[]");
	tl_envfile_free(env);
	tl_assert_rc(TL_ENOTFOUND, tl_compose_service_env_file_read(app, 1, &env));
	tl_compose_free(c);
	/* a trusted caller that allows the process environment gets it */
	o.vars = NULL;
	o.flags = 0;
	tl_assert_ok(tl_compose_load(&c, p, &o));
	tl_assert_ok(tl_compose_service_env_file_read(tl_compose_service_get(c, "app"), 0, &env));
	assert_string_equal(tl_envfile_get(env, "LEAK"), "[s3cr3t]");
	tl_envfile_free(env);
	tl_compose_free(c);
	unsetenv("TL_TEST_SERVER_SECRET");
	/* a later env_file sees the earlier ones' keys before the project's
	 * variables; a missing one marked required: false is skipped */
	char g[512];
	snprintf(g, sizeof(g), "%s/second.env", dir);
	tl_test_write_file(g, "FROM_FIRST=${HOST}\n", 0600);
	tl_test_write_file(p, "services:\n  app:\n    image: app:1\n    env_file:\n"
	                      "      - app.env\n      - path: missing.env\n        required: false\n"
	                      "      - second.env\n", 0644);
	tl_test_write_file(f, "HOST=from-app-env\n", 0600);
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	tl_assert_ok(tl_compose_load(&c, p, &o));
	app = tl_compose_service_get(c, "app");
	tl_assert_ok(tl_compose_service_env_file_read(app, 1, &env));
	assert_int_equal(tl_envfile_count(env), 0);
	tl_envfile_free(env);
	tl_assert_ok(tl_compose_service_env_file_read(app, 2, &env));
	assert_string_equal(tl_envfile_get(env, "FROM_FIRST"), "from-app-env");
	tl_envfile_free(env);
	tl_compose_free(c);
	tl_test_write_file(p, "services:\n  app:\n    image: app:1\n    env_file:\n"
	                      "      - path: missing.env\n", 0644);
	tl_assert_ok(tl_compose_load(&c, p, &o));
	tl_assert_rc(TL_ENOTFOUND,
	             tl_compose_service_env_file_read(tl_compose_service_get(c, "app"), 0, &env));
	tl_compose_free(c);
	/* another tenant's settings are not reachable through a .env link */
	char other[512], link[512];
	snprintf(other, sizeof(other), "%s-other-tenant.env", dir);
	tl_test_write_file(other, "STOLEN=s3cr3t\n", 0600);
	snprintf(link, sizeof(link), "%s/.env", dir);
	unlink(link);
	assert_int_equal(symlink(other, link), 0);
	tl_test_write_file(p, "services:\n  app:\n    image: app:1\n    environment:\n"
	                      "      X: ${STOLEN}\n", 0644);
	c = NULL;
	tl_assert_rc(TL_EINVALID, tl_compose_load(&c, p, &o));
	tl_assert_error_contains("outside the app directory");
	assert_null(c);
	o.policy = TL_COMPOSE_TRUSTED; /* a trusted file may */
	tl_assert_ok(tl_compose_load(&c, p, &o));
	tl_compose_service_env_at(tl_compose_service_get(c, "app"), 0, &k, &v);
	assert_string_equal(v, "s3cr3t");
	tl_compose_free(c);
	o.policy = TL_COMPOSE_STRICT;
	unlink(link);
	unlink(other);
	tl_test_write_file(p, "services:\n  app:\n    image: app:1\n    env_file: app.env\n", 0644);
	/* an env_file's error names the place and quotes nothing */
	tl_test_write_file(f, "TOKEN=\"s3cr3t\" x\n", 0600);
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	tl_assert_ok(tl_compose_load(&c, p, &o));
	tl_assert_rc(TL_EINVALID,
	             tl_compose_service_env_file_read(tl_compose_service_get(c, "app"), 0, &env));
	tl_assert_error_contains("app.env:1:");
	assert_null(strstr(tl_error_last()->message, "s3cr3t"));
	tl_compose_free(c);
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_strict_numbers),
		cmocka_unit_test(test_hostile_yaml),
		cmocka_unit_test(test_find_and_load_example),
		cmocka_unit_test(test_env_file_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
