/* towlion route: the routing table (Caddy site files). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

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
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 1, NULL, 0, 0, NULL);
	if (rc)
		return rc;
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

/* What `route add` read from its command line. Strings are borrowed from
 * argv, except each --path's copy, split in place into its path and
 * upstreams. Every list is as long as the command line makes it: the
 * library says when a site has more paths or upstreams than it takes. */
typedef struct {
	const char **pos; /* SITE HOST...; room for every argument */
	size_t npos;
	const char **upstreams, **path_args; /* NULL-terminated, from cli_parse */
	char **path_specs;                   /* owned copies of path_args */
	const char ***path_upstreams;        /* each NULL-terminated, owned */
	tl_caddy_path *paths;
	size_t npaths;
} route_args;

static void route_args_dispose(route_args *a)
{
	for (size_t i = 0; i < a->npaths; i++) {
		free(a->path_specs[i]);
		free((void *)a->path_upstreams[i]);
	}
	free(a->pos);
	free((void *)a->upstreams);
	free((void *)a->path_args);
	free(a->path_specs);
	free((void *)a->path_upstreams);
	free(a->paths);
}

static size_t list_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* The options of `route add` into the route and its lists. */
static int parse_route_options(cli *c, route_args *a, tl_caddy_route *r)
{
	const char *health_interval = NULL, *max_body = NULL, *tls = NULL, *no_headers = NULL;
	cli_opt opts[] = {
		{"--health", true, &r->health_uri},
		{"--health-interval", true, &health_interval},
		{"--redirect-to", true, &r->redirect_to},
		{"--max-body", true, &max_body},
		{"--tls", true, &tls},
		{"--no-security-headers", false, &no_headers},
	};
	cli_list_opt lists[] = {{"--upstream", &a->upstreams}, {"--path", &a->path_args}};
	if (!(a->pos = calloc((size_t)c->argc + 1, sizeof(*a->pos))))
		return cli_error(c, EXIT_FAILED, "out of memory");
	/* Positional: SITE HOST...; cli_usage below names what is missing. */
	int rc = cli_parse_lists(c, opts, sizeof(opts) / sizeof(opts[0]), lists,
	                         sizeof(lists) / sizeof(lists[0]), a->pos, 0, (size_t)c->argc,
	                         &a->npos);
	if (rc)
		return rc;
	if (no_headers)
		r->security_headers = 0;
	if (health_interval) {
		/* Caddy's active health checks tick in whole seconds. */
		uint64_t ms = 0;
		rc = cli_opt_duration_ms(c, &ms, "--health-interval", health_interval, 1000, 1000,
		                         3600000);
		if (!rc && ms % 1000)
			rc = cli_usage(c, "--health-interval is a whole number of seconds "
			                  "(1s to 1h), like 10s or 2m");
		r->health_interval_s = (unsigned)(ms / 1000);
	}
	/* Caddy reads the body limit as a signed 64-bit number. */
	if (!rc && max_body)
		rc = cli_opt_size(c, &r->max_body_bytes, "--max-body", max_body, 1, INT64_MAX);
	if (!rc && tls) {
		r->tls = !strcmp(tls, "auto")       ? TL_CADDY_TLS_AUTO
		         : !strcmp(tls, "internal") ? TL_CADDY_TLS_INTERNAL
		         : !strcmp(tls, "off")      ? TL_CADDY_TLS_OFF
		                                    : -1;
		if (r->tls < 0)
			rc = cli_usage(c, "--tls is auto, internal or off");
	}
	return rc;
}

/* Each --path PATH=H:P[,H:P...] into a tl_caddy_path over its own copy. */
static int split_path_specs(cli *c, route_args *a)
{
	size_t n = list_len(a->path_args);
	if (!n)
		return 0;
	a->path_specs = calloc(n, sizeof(*a->path_specs));
	a->path_upstreams = calloc(n, sizeof(*a->path_upstreams));
	a->paths = calloc(n, sizeof(*a->paths));
	if (!a->path_specs || !a->path_upstreams || !a->paths)
		return cli_error(c, EXIT_FAILED, "out of memory");
	for (; a->npaths < n; a->npaths++) {
		const char *arg = a->path_args[a->npaths];
		const char *eq = strchr(arg, '=');
		if (!eq || eq == arg || !eq[1])
			return cli_usage(c, "--path takes PATH=HOST:PORT[,HOST:PORT], not '%s'", arg);
		char *spec = a->path_specs[a->npaths] = strdup(arg);
		if (!spec)
			return cli_error(c, EXIT_FAILED, "out of memory");
		spec[eq - arg] = '\0';
		const char **ups = NULL;
		size_t nups = 0;
		for (char *save = NULL, *tok = strtok_r(spec + (eq - arg) + 1, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			const char **grown = realloc((void *)ups, (nups + 2) * sizeof(*ups));
			if (!grown) {
				free((void *)ups);
				return cli_error(c, EXIT_FAILED, "out of memory");
			}
			ups = grown;
			ups[nups++] = tok;
			ups[nups] = NULL;
		}
		a->path_upstreams[a->npaths] = ups;
		tl_caddy_path *p = &a->paths[a->npaths];
		p->path = spec;
		p->upstreams = ups;
		p->nupstreams = nups;
	}
	return 0;
}

/* Print the site file (--dry-run) or write and apply it. */
static int set_route(cli *c, const tl_caddy_route *r)
{
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	int rc;
	if (c->dry_run) {
		tl_buf text = TL_BUF_INIT;
		if ((rc = tl_caddy_render_site(&text, ctx, r)) != TL_OK) {
			rc = cli_fail(c, rc);
		} else {
			cli_print(c, "%s", text.ptr);
			cli_set_result(c, json_pack("{s:s, s:s, s:b}", "site", r->site, "file",
			                            text.ptr, "dry_run", 1));
		}
		tl_buf_dispose(&text);
		return rc;
	}
	if ((rc = tl_caddy_route_set(ctx, r)) != TL_OK)
		return cli_fail(c, rc);
	cli_print(c, "routed %s\n", r->site);
	cli_set_result(c, json_pack("{s:s, s:o}", "site", r->site, "hosts",
	                            str_array(r->hosts, r->nhosts)));
	return 0;
}

static int run_add(cli *c)
{
	route_args a = {0};
	tl_caddy_route r = TL_CADDY_ROUTE_INIT;
	int rc = parse_route_options(c, &a, &r);
	if (rc == 0 && a.npos < 2)
		rc = cli_usage(c, "give a site name and at least one hostname");
	if (rc == 0)
		rc = split_path_specs(c, &a);
	if (rc == 0) {
		r.site = a.pos[0];
		r.hosts = a.pos + 1;
		r.nhosts = a.npos - 1;
		r.upstreams = a.upstreams;
		r.nupstreams = list_len(a.upstreams);
		r.paths = a.paths;
		r.npaths = a.npaths;
		rc = set_route(c, &r);
	}
	route_args_dispose(&a);
	return rc;
}

static int run_rm(cli *c)
{
	const char *pos[1];
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, pos, 1, 1, NULL);
	if (rc)
		return rc;
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
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
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
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
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
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 1, NULL, 0, 0, NULL);
	if (rc)
		return rc;
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
