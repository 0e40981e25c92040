/* towlion app: register, list, show and destroy apps. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *app_json(const tl_app *a)
{
	json_t *doms = json_array();
	for (size_t i = 0; i < tl_app_domain_count(a); i++)
		json_array_append_new(doms, json_string(tl_app_domain_at(a, i)));
	return json_pack("{s:s, s:o, s:s?, s:i, s:s?, s:s?, s:i, s:i, s:I}", "name",
	                 tl_app_name(a), "domains", doms, "web_service", tl_app_web_service(a),
	                 "port", tl_app_port(a), "health_path", tl_app_health_path(a),
	                 "release_command", tl_app_release_command(a), "drain_ms",
	                 tl_app_drain_ms(a), "keep_images", tl_app_keep_images(a), "created",
	                 (json_int_t)tl_app_created(a));
}

static void print_app(cli *c, const tl_app *a)
{
	char when[32];
	time_t t = (time_t)tl_app_created(a);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	cli_print(c, "app:      %s\n", tl_app_name(a));
	for (size_t i = 0; i < tl_app_domain_count(a); i++)
		cli_print(c, "%s%s\n", i ? "          " : "domains:  ", tl_app_domain_at(a, i));
	cli_print(c, "service:  %s, port %d, health %s\n",
	          tl_app_web_service(a) ? tl_app_web_service(a) : "(compose: app)",
	          tl_app_port(a) ? tl_app_port(a) : 8000,
	          tl_app_health_path(a) ? tl_app_health_path(a) : "/health");
	if (tl_app_release_command(a))
		cli_print(c, "release:  %s\n", tl_app_release_command(a));
	cli_print(c, "drain:    %d ms, keeps %d images\ncreated:  %s\n", tl_app_drain_ms(a),
	          tl_app_keep_images(a), when);
}

static int run_create(cli *c)
{
	const char *pos[1], *service = NULL, *port = NULL, *health = NULL, *release = NULL,
	                    *drain = NULL, *keep = NULL;
	/* --domain may be repeated: collect by hand, then parse the rest. */
	const char *domains[TL_APP_NAME_MAX + 1] = {0};
	size_t nd = 0;
	int w = 0;
	for (int i = 0; i < c->argc; i++) {
		if (!strcmp(c->argv[i], "--domain") && i + 1 < c->argc) {
			if (nd >= TL_APP_NAME_MAX)
				return cli_usage(c, "too many --domain options");
			domains[nd++] = c->argv[++i];
		} else if (!strncmp(c->argv[i], "--domain=", 9)) {
			if (nd >= TL_APP_NAME_MAX)
				return cli_usage(c, "too many --domain options");
			domains[nd++] = c->argv[i] + 9;
		} else {
			c->argv[w++] = c->argv[i];
		}
	}
	c->argc = w;
	cli_opt opts[] = {{"--service", true, &service}, {"--port", true, &port},
	                  {"--health", true, &health},   {"--release-command", true, &release},
	                  {"--drain-ms", true, &drain},  {"--keep-images", true, &keep}};
	int rc = cli_parse(c, opts, sizeof(opts) / sizeof(opts[0]), pos, 1, 1, NULL);
	if (rc)
		return rc;
	tl_app_options o = TL_APP_OPTIONS_INIT;
	o.domains = nd ? domains : NULL;
	o.web_service = service;
	o.health_path = health;
	o.release_command = release;
	uint64_t drain_ms = 0;
	if ((rc = cli_opt_int(c, &o.port, "--port", port, 1, 65535)) ||
	    (rc = cli_opt_duration_ms(c, &drain_ms, "--drain-ms", drain, 1, 0,
	                                TL_APP_DRAIN_MS_MAX)) ||
	    (rc = cli_opt_int(c, &o.keep_images, "--keep-images", keep, 1,
	                      TL_APP_KEEP_IMAGES_MAX)))
		return rc;
	if (drain)
		o.drain_ms = (int)drain_ms;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (c->dry_run) {
		/* Validate everything the real call would, without writing. */
		if ((rc = tl_validate_app_name(pos[0])))
			return cli_fail(c, rc);
		for (size_t i = 0; i < nd; i++)
			if ((rc = tl_validate_domain(domains[i])))
				return cli_fail(c, rc);
		cli_print(c, "would register app %s\n", pos[0]);
		cli_set_result(c, json_pack("{s:b, s:s}", "dry_run", 1, "app", pos[0]));
		return 0;
	}
	tl_app *a = NULL;
	if ((rc = tl_app_create(&a, ctx, pos[0], &o)))
		return cli_fail(c, rc);
	print_app(c, a);
	cli_set_result(c, app_json(a));
	tl_app_free(a);
	return 0;
}

static int run_list(cli *c)
{
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_app_list *l = NULL;
	if ((rc = tl_app_list_load(&l, ctx)))
		return cli_fail(c, rc);
	json_t *apps = json_array();
	if (tl_app_list_count(l) == 0)
		cli_print(c, "no apps yet; create one with `towlion app create NAME`\n");
	else
		cli_print(c, "%-20s %s\n", "APP", "DOMAINS");
	for (size_t i = 0; i < tl_app_list_count(l); i++) {
		const tl_app *a = tl_app_list_at(l, i);
		json_array_append_new(apps, app_json(a));
		cli_print(c, "%-20s %s%s\n", tl_app_name(a), tl_app_domain_at(a, 0),
		          tl_app_domain_count(a) > 1 ? " ..." : "");
	}
	cli_set_result(c, json_pack("{s:o}", "apps", apps));
	tl_app_list_free(l);
	return 0;
}

static int run_show(cli *c)
{
	const char *pos[1];
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, pos, 1, 1, NULL);
	if (rc)
		return rc;
	tl_app *a = NULL;
	if ((rc = tl_app_open(&a, ctx, pos[0])))
		return cli_fail(c, rc);
	print_app(c, a);
	cli_set_result(c, app_json(a));
	tl_app_free(a);
	return 0;
}

static int run_destroy(cli *c)
{
	const char *pos[1], *yes = NULL, *purge = NULL;
	cli_opt opts[] = {{"--yes", false, &yes}, {"--purge", false, &purge}};
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 2, pos, 1, 1, NULL);
	if (rc)
		return rc;
	if (c->dry_run) {
		tl_app *a = NULL;
		if ((rc = tl_app_open(&a, ctx, pos[0])))
			return cli_fail(c, rc);
		tl_app_free(a);
		cli_print(c, "would remove the route, containers, images, network, state files, "
		             "lock and registry entry of %s%s\n",
		          pos[0], purge ? ", and its database, Redis user and bucket" : "");
		cli_set_result(c, json_pack("{s:b, s:s, s:b}", "dry_run", 1, "app", pos[0], "purge",
		                            purge != NULL));
		return 0;
	}
	if (!yes)
		return cli_usage(c, "destroying %s cannot be undone: add --yes", pos[0]);
	tl_destroy_options o = TL_DESTROY_OPTIONS_INIT;
	o.confirm = 1;
	o.purge = purge != NULL;
	if ((rc = tl_app_destroy(ctx, pos[0], &o)))
		return cli_fail(c, rc);
	cli_print(c, "%s destroyed%s\n", pos[0], purge ? " (data purged)" : "");
	cli_set_result(c, json_pack("{s:s, s:b}", "destroyed", pos[0], "purged", purge != NULL));
	return 0;
}

static const cli_verb verbs[] = {
	{"create", "APP [--domain D]... [--service S] [--port P] [--health PATH] "
	           "[--release-command CMD] [--drain-ms MS] [--keep-images N]",
	 "register an app (its domain defaults to APP.$TOWLION_DOMAIN)",
	 "towlion app create shop --domain shop.example.com --release-command "
	 "'alembic upgrade head'",
	 true, run_create},
	{"list", "", "list the registered apps", "towlion app list --json", false, run_list},
	{"show", "APP", "show an app's settings", "towlion app show shop", false, run_show},
	{"destroy", "APP --yes [--purge]",
	 "remove an app's route, containers, images, network, state files (env file, plans, "
	 "history), lock and registry entry (--purge: also its database, Redis user and "
	 "bucket); refuses, changing nothing, while a service it needs is down; a rerun "
	 "finishes a destroy that was stopped",
	 "towlion app destroy shop --yes", true, run_destroy},
};

const cli_group cli_group_app = {"app", "register and inspect apps", verbs,
                                 sizeof(verbs) / sizeof(verbs[0])};
