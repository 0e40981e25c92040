/* towlion route: the routing table (Caddy site files). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int run_list(cli *c)
{
	const char *health = NULL;
	cli_opt opts[] = {{"--health", false, &health}};
	int rc = cli_parse(c, opts, 1, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_caddy_sites *s = NULL;
	tl_caddy_upstreams *u = NULL;
	if ((rc = tl_caddy_list(&s, ctx)) != TL_OK)
		return cli_fail(c, rc);
	if (health && (rc = tl_caddy_upstreams_get(&u, ctx)) != TL_OK) {
		tl_caddy_sites_free(s);
		return cli_fail(c, rc);
	}
	json_t *sites = json_array();
	for (size_t i = 0; i < tl_caddy_sites_count(s); i++) {
		const tl_caddy_site *x = tl_caddy_sites_at(s, i);
		json_array_append_new(sites,
		                      json_pack("{s:s, s:s, s:o, s:o, s:s?}", "site", x->site, "file",
		                                x->path, "hosts", str_array(x->hosts, x->nhosts),
		                                "upstreams", str_array(x->upstreams, x->nupstreams),
		                                "redirect_to", x->redirect_to));
		cli_print(c, "%-24s ", x->site);
		for (size_t k = 0; k < x->nhosts; k++)
			cli_print(c, "%s%s", k ? "," : "", x->hosts[k]);
		if (x->redirect_to)
			cli_print(c, " -> https://%s\n", x->redirect_to);
		else
			for (size_t k = 0; k < x->nupstreams; k++)
				cli_print(c, "%s%s", k ? "," : " -> ", x->upstreams[k]);
		cli_print(c, "\n");
	}
	json_t *doc = json_pack("{s:o}", "sites", sites);
	if (u) {
		json_t *ups = json_array();
		if (tl_caddy_upstreams_count(u))
			cli_print(c, "\nupstream                 healthy  requests  fails\n");
		for (size_t i = 0; i < tl_caddy_upstreams_count(u); i++) {
			const tl_caddy_upstream *x = tl_caddy_upstreams_at(u, i);
			json_array_append_new(ups, json_pack("{s:s, s:b, s:I, s:I}", "address",
			                                     x->address, "healthy", x->healthy,
			                                     "num_requests", (json_int_t)x->num_requests,
			                                     "fails", (json_int_t)x->fails));
			cli_print(c, "%-24s %-8s %8lld  %5lld\n", x->address, x->healthy ? "yes" : "NO",
			          (long long)x->num_requests, (long long)x->fails);
		}
		json_object_set_new(doc, "upstreams", ups);
	}
	cli_set_result(c, doc);
	tl_caddy_sites_free(s);
	tl_caddy_upstreams_free(u);
	return 0;
}

static const char *take_value(cli *c, int *i)
{
	if (*i + 1 >= c->argc)
		return NULL;
	return c->argv[++*i];
}

static int run_add(cli *c)
{
	const char *pos[MAX_ARGS], *ups[TL_CADDY_MAX_UPSTREAMS];
	size_t npos = 0, nups = 0, npaths = 0;
	tl_caddy_path paths[TL_CADDY_MAX_PATHS];
	/* each --path PATH=H:P[,H:P] owns a copy split in place */
	char *path_specs[TL_CADDY_MAX_PATHS] = {0};
	const char *path_ups[TL_CADDY_MAX_PATHS][TL_CADDY_MAX_UPSTREAMS];
	tl_caddy_route r = TL_CADDY_ROUTE_INIT;
	int rc = 0;
	for (int i = 0; i < c->argc && !rc; i++) {
		const char *a = c->argv[i], *v = NULL;
		if (a[0] != '-') {
			if (npos >= MAX_ARGS)
				rc = cli_usage(c, "too many arguments");
			else
				pos[npos++] = a;
			continue;
		}
		bool flag = !strcmp(a, "--no-security-headers");
		if (!flag && !(v = take_value(c, &i))) {
			rc = cli_usage(c, "%s needs a value", a);
			break;
		}
		if (flag) {
			r.security_headers = 0;
		} else if (!strcmp(a, "--upstream")) {
			if (nups >= TL_CADDY_MAX_UPSTREAMS)
				rc = cli_usage(c, "at most %d upstreams", TL_CADDY_MAX_UPSTREAMS);
			else
				ups[nups++] = v;
		} else if (!strcmp(a, "--health")) {
			r.health_uri = v;
		} else if (!strcmp(a, "--health-interval")) {
			/* Caddy's active health checks tick in whole seconds. */
			uint64_t ms = 0;
			rc = cli_opt_duration_ms(c, &ms, a, v, 1000, 1000, 3600000);
			if (!rc && ms % 1000)
				rc = cli_usage(c, "--health-interval is a whole number of seconds "
				                  "(1s to 1h), like 10s or 2m");
			r.health_interval_s = (unsigned)(ms / 1000);
		} else if (!strcmp(a, "--redirect-to")) {
			r.redirect_to = v;
		} else if (!strcmp(a, "--max-body")) {
			/* Caddy reads the limit as a signed 64-bit number. */
			rc = cli_opt_size(c, &r.max_body_bytes, a, v, 1, INT64_MAX);
		} else if (!strcmp(a, "--tls")) {
			r.tls = !strcmp(v, "auto")       ? TL_CADDY_TLS_AUTO
			        : !strcmp(v, "internal") ? TL_CADDY_TLS_INTERNAL
			        : !strcmp(v, "off")      ? TL_CADDY_TLS_OFF
			                                 : -1;
			if (r.tls < 0)
				rc = cli_usage(c, "--tls is auto, internal or off");
		} else if (!strcmp(a, "--path")) {
			char *eq = strchr(v, '=');
			if (!eq || npaths >= TL_CADDY_MAX_PATHS) {
				rc = cli_usage(c, "--path takes PATH=HOST:PORT[,HOST:PORT]");
				break;
			}
			char *spec = path_specs[npaths] = strdup(v);
			tl_caddy_path *p = &paths[npaths];
			memset(p, 0, sizeof(*p));
			spec[eq - v] = '\0';
			p->path = spec;
			p->upstreams = path_ups[npaths];
			for (char *save = NULL, *tok = strtok_r(spec + (eq - v) + 1, ",", &save);
			     tok && p->nupstreams < TL_CADDY_MAX_UPSTREAMS;
			     tok = strtok_r(NULL, ",", &save))
				path_ups[npaths][p->nupstreams++] = tok;
			npaths++;
		} else {
			rc = cli_unknown_option(c, a);
		}
	}
	if (!rc && npos < 2)
		rc = cli_usage(c, "give a site name and at least one hostname");
	if (!rc) {
		r.site = pos[0];
		r.hosts = pos + 1;
		r.nhosts = npos - 1;
		r.upstreams = ups;
		r.nupstreams = nups;
		r.paths = paths;
		r.npaths = npaths;
		tl_ctx *ctx = cli_ctx(c);
		if (!ctx) {
			rc = cli_fail(c, tl_error_last()->code);
		} else if (c->dry_run) {
			tl_buf text = TL_BUF_INIT;
			if ((rc = tl_caddy_render_site(&text, ctx, &r)) != TL_OK) {
				rc = cli_fail(c, rc);
			} else {
				cli_print(c, "%s", text.ptr);
				cli_set_result(c, json_pack("{s:s, s:s, s:b}", "site", r.site, "file",
				                            text.ptr, "dry_run", 1));
			}
			tl_buf_dispose(&text);
		} else if ((rc = tl_caddy_route_set(ctx, &r)) != TL_OK) {
			rc = cli_fail(c, rc);
		} else {
			cli_print(c, "routed %s\n", r.site);
			cli_set_result(c, json_pack("{s:s, s:o}", "site", r.site, "hosts",
			                            str_array(r.hosts, r.nhosts)));
		}
	}
	for (size_t i = 0; i < npaths; i++)
		free(path_specs[i]);
	return rc;
}

static int run_rm(cli *c)
{
	const char *pos[1];
	int rc = cli_parse(c, NULL, 0, pos, 1, 1, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (c->dry_run) {
		/* Show the site file that would go. */
		tl_caddy_sites *s = NULL;
		if ((rc = tl_caddy_list(&s, ctx)) != TL_OK)
			return cli_fail(c, rc);
		const tl_caddy_site *hit = NULL;
		for (size_t i = 0; !hit && i < tl_caddy_sites_count(s); i++) {
			const tl_caddy_site *x = tl_caddy_sites_at(s, i);
			if (!strcmp(x->site, pos[0]))
				hit = x;
			for (size_t k = 0; !hit && k < x->nhosts; k++)
				if (!strcmp(x->hosts[k], pos[0]))
					hit = x;
		}
		if (!hit) {
			tl_caddy_sites_free(s);
			return cli_error(c, EXIT_NOTFOUND,
			                 "no site is named %s or routes it (see 'towlion route list')",
			                 pos[0]);
		}
		cli_print(c, "would remove site %s (%s)\n", hit->site, hit->path);
		cli_set_result(c, json_pack("{s:s, s:s, s:b}", "site", hit->site, "file", hit->path,
		                            "dry_run", 1));
		tl_caddy_sites_free(s);
		return 0;
	}
	tl_buf removed = TL_BUF_INIT;
	if ((rc = tl_caddy_route_remove(&removed, ctx, pos[0])) != TL_OK)
		return cli_fail(c, rc);
	cli_print(c, "removed site %s\n", removed.ptr);
	cli_set_result(c, json_pack("{s:s}", "removed", removed.ptr));
	tl_buf_dispose(&removed);
	return 0;
}

static int run_reload(cli *c)
{
	int rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (c->dry_run) {
		/* A reload changes nothing on disk; the dry run validates. */
		if ((rc = tl_caddy_check(ctx)) != TL_OK)
			return cli_fail(c, rc);
		cli_print(c, "would apply the routes in %s\n",
		          tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"));
		cli_set_result(c, json_pack("{s:b}", "dry_run", 1));
		return 0;
	}
	if ((rc = tl_caddy_reload(ctx)) != TL_OK)
		return cli_fail(c, rc);
	cli_print(c, "applied the routes in %s\n", tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"));
	cli_set_result(c, json_pack("{s:s}", "status", "applied"));
	return 0;
}

static int run_check(cli *c)
{
	int rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if ((rc = tl_caddy_check(ctx)) != TL_OK)
		return cli_fail(c, rc);
	cli_print(c, "Caddy accepts the routes in %s\n",
	          tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"));
	cli_set_result(c, json_pack("{s:s}", "status", "ok"));
	return 0;
}

static int run_init(cli *c)
{
	const char *bind = NULL;
	cli_opt opts[] = {{"--bind", true, &bind}};
	int rc = cli_parse(c, opts, 1, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_caddy_main_options o = TL_CADDY_MAIN_OPTIONS_INIT;
	o.default_bind = bind;
	if (c->dry_run) {
		tl_buf text = TL_BUF_INIT;
		if ((rc = tl_caddy_render_main(&text, ctx, &o)) != TL_OK)
			return cli_fail(c, rc);
		cli_print(c, "%s", text.ptr);
		cli_set_result(c, json_pack("{s:s, s:b}", "file", text.ptr, "dry_run", 1));
		tl_buf_dispose(&text);
		return 0;
	}
	if ((rc = tl_caddy_write_main(ctx, &o)) != TL_OK)
		return cli_fail(c, rc);
	cli_print(c, "wrote %s/Caddyfile; apply it with `towlion route reload`\n",
	          tl_ctx_config_get(ctx, "TOWLION_CADDY_DIR"));
	cli_set_result(c, json_pack("{s:s}", "status", "written"));
	return 0;
}

static const cli_verb verbs[] = {
	{"list", "[--health]", "list the sites (from the files), and with --health the upstreams "
	 "as Caddy sees them", "towlion route list --health", false, run_list},
	{"add", "SITE HOST [HOST...] --upstream H:P [--upstream H:P...] [--health URI] "
	 "[--health-interval DURATION] [--path PATH=H:P[,H:P]...] [--tls auto|internal|off] "
	 "[--max-body SIZE] [--no-security-headers] [--redirect-to APEX]",
	 "add a site or replace it whole (blue/green: the same site with new upstreams); "
	 "Caddy validates it before anything changes",
	 "towlion route add shop shop.example.com --upstream shop-app:8000 --health /health",
	 true, run_add},
	{"rm", "SITE|HOST", "remove a site (named, or the one routing HOST)",
	 "towlion route rm shop-pr-3", true, run_rm},
	{"reload", "", "apply the routes on disk to Caddy (e.g. after Caddy restarted)",
	 "towlion route reload", true, run_reload},
	{"check", "", "validate the routes on disk with Caddy without applying them",
	 "towlion route check", false, run_check},
	{"init", "[--bind ADDR]", "write the main Caddyfile from the configuration",
	 "towlion route init", true, run_init},
};

const cli_group cli_group_route = {"route", "route hostnames to apps through Caddy", verbs,
                                   sizeof(verbs) / sizeof(verbs[0])};
