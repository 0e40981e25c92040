/* towlion platform: lay out the server, write the platform compose file,
 * start and stop the platform services. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_IMAGES 32

/* Pull every "--image SVC=IMAGE" out of argv (repeatable). */
static int take_images(cli *c, const char **images)
{
	size_t n = 0;
	int w = 0;
	for (int i = 0; i < c->argc; i++) {
		const char *v = NULL;
		if (!strcmp(c->argv[i], "--image") && i + 1 < c->argc)
			v = c->argv[++i];
		else if (!strncmp(c->argv[i], "--image=", 8))
			v = c->argv[i] + 8;
		if (!v) {
			c->argv[w++] = c->argv[i];
			continue;
		}
		if (n >= MAX_IMAGES)
			return cli_usage(c, "too many --image options");
		images[n++] = v;
	}
	c->argc = w;
	images[n] = NULL;
	return 0;
}

static int report_out(cli *c, int rc, tl_platform_report *r, const char *what)
{
	if (rc != TL_OK)
		return cli_fail(c, rc);
	json_t *steps = json_array();
	for (size_t i = 0; i < tl_platform_report_count(r); i++) {
		const tl_platform_step *s = tl_platform_report_at(r, i);
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:b}", "action", s->action,
		                                       "subject", s->subject, "detail", s->detail,
		                                       "changed", s->changed));
		if (s->changed || c->verbose || c->dry_run)
			cli_print(c, "%s%-8s %s  %s\n", c->dry_run && s->changed ? "would " : "",
			          s->action, s->subject, s->detail);
	}
	size_t changed = tl_platform_report_changed(r);
	cli_print(c, "%s: %zu change%s%s\n", what, changed, changed == 1 ? "" : "s",
	          c->dry_run ? " planned (dry run: nothing done)" : "");
	cli_set_result(c, json_pack("{s:b, s:I, s:o}", "dry_run", c->dry_run, "changed",
	                            (json_int_t)changed, "steps", steps));
	tl_platform_report_free(r);
	return 0;
}

static int run_init(cli *c)
{
	const char *root = NULL, *no_docker = NULL;
	cli_opt opts[] = {{"--root", true, &root}, {"--no-docker", false, &no_docker}};
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 2, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = root;
	o.flags = (c->dry_run ? TL_PLATFORM_DRY_RUN : 0) | (no_docker ? TL_PLATFORM_NO_DOCKER : 0);
	tl_platform_report *r = NULL;
	rc = tl_platform_init(&r, ctx, &o);
	return report_out(c, rc, r, "platform init");
}

static int run_compose(cli *c)
{
	const char *images[MAX_IMAGES + 1];
	int rc = take_images(c, images);
	if (rc)
		return rc;
	const char *root = NULL, *app = NULL, *file = NULL, *out = NULL;
	cli_opt opts[] = {{"--root", true, &root},
	                  {"--standalone", true, &app},
	                  {"-o", true, &file},
	                  {"--output", true, &out}};
	if ((rc = cli_parse(c, opts, 4, NULL, 0, 0, NULL)))
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.root = root;
	o.standalone_app = app;
	o.images = images[0] ? images : NULL;
	o.flags = c->dry_run ? TL_PLATFORM_DRY_RUN : 0;
	if (out)
		file = out;
	if (file && !strcmp(file, "-")) {
		/* To stdout: nothing is written. */
		tl_buf text = TL_BUF_INIT;
		if ((rc = tl_platform_compose_render(&text, ctx, &o)))
			return cli_fail(c, rc);
		cli_print(c, "%s", text.ptr);
		cli_set_result(c, json_pack("{s:s}", "compose", text.ptr));
		tl_buf_dispose(&text);
		return 0;
	}
	tl_buf written = TL_BUF_INIT;
	if ((rc = tl_platform_compose_write(&written, ctx, file, &o)))
		return cli_fail(c, rc);
	cli_print(c, "%s %s\n", c->dry_run ? "would write" : "wrote", written.ptr);
	cli_set_result(c, json_pack("{s:b, s:s}", "dry_run", c->dry_run, "path", written.ptr));
	tl_buf_dispose(&written);
	return 0;
}

static int run_updown(cli *c, bool up)
{
	const char *images[MAX_IMAGES + 1];
	int rc = take_images(c, images);
	if (rc)
		return rc;
	const char *root = NULL, *metrics = NULL, *timeout = NULL, *profile = NULL;
	cli_opt opts[] = {{"--root", true, &root},
	                  {"--metrics", false, &metrics},
	                  {"--timeout", true, &timeout},
	                  {"--profile", true, &profile}};
	if ((rc = cli_parse(c, opts, 4, NULL, 0, 0, NULL)))
		return rc;
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	/* --profile logs,metrics adds to TOWLION_PLATFORM_PROFILES. */
	unsigned profiles = metrics ? TL_PLATFORM_METRICS : 0;
	for (const char *p = profile; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == 4 && !strncmp(p, "logs", 4))
			profiles |= TL_PLATFORM_LOGS;
		else if (n == 7 && !strncmp(p, "metrics", 7))
			profiles |= TL_PLATFORM_METRICS;
		else
			return cli_usage(c, "--profile takes logs, metrics or logs,metrics");
		p += n + (p[n] == ',');
	}
	uint64_t timeout_ms = 0;
	if ((rc = cli_opt_duration_ms(c, &timeout_ms, "--timeout", timeout, 1000, 1000,
	                              86400000)))
		return rc;
	if (timeout)
		o.timeout_ms = (long)timeout_ms;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	o.root = root;
	o.images = images[0] ? images : NULL;
	o.flags = (c->dry_run ? TL_PLATFORM_DRY_RUN : 0) | profiles;
	tl_platform_report *r = NULL;
	rc = up ? tl_platform_up(&r, ctx, &o) : tl_platform_down(&r, ctx, &o);
	return report_out(c, rc, r, up ? "platform up" : "platform down");
}

static int run_up(cli *c)
{
	return run_updown(c, true);
}

static int run_down(cli *c)
{
	return run_updown(c, false);
}

static int run_migrate_networks(cli *c)
{
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	o.flags = c->dry_run ? TL_PLATFORM_DRY_RUN : 0;
	tl_platform_report *r = NULL;
	rc = tl_platform_migrate_networks(&r, ctx, &o);
	return report_out(c, rc, r, "platform migrate-networks");
}

static const cli_verb verbs[] = {
	{"init", "[--root DIR] [--no-docker]",
	 "create the data tree, platform secrets, main Caddyfile and Docker network",
	 "towlion platform init --root /tmp/trial --no-docker", true, run_init},
	{"compose", "[--standalone APP] [-o FILE|-] [--image SVC=IMAGE]... [--root DIR]",
	 "write the platform compose file (or one app's self-hosting file)",
	 "towlion platform compose -o /srv/towlion/compose.yml", true, run_compose},
	{"up", "[--profile logs,metrics] [--image SVC=IMAGE]... [--timeout S] [--root DIR]",
	 "start the platform services and wait until they are healthy",
	 "towlion platform up --profile logs,metrics", true, run_up},
	{"down", "[--root DIR]", "stop and remove the platform containers (data stays)",
	 "towlion platform down", true, run_down},
	{"migrate-networks", "",
	 "move apps still on the flat network onto their own networks, live",
	 "towlion platform migrate-networks", true, run_migrate_networks},
};

const cli_group cli_group_platform = {"platform", "lay out and run the server's services",
                                      verbs, sizeof(verbs) / sizeof(verbs[0])};
