/* towlion compose check DIR: read an app's compose file and print the plan
 * (services in start order) or what is wrong with it. */
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

static int run_check(cli *c)
{
	const char *strict = NULL, *env_file = NULL;
	const char *pos[1];
	cli_opt opts[] = {{"--strict", false, &strict}, {"--env-file", true, &env_file}};
	int rc = cli_parse(c, opts, 2, pos, 1, 1, NULL);
	if (rc)
		return rc;
	struct stat st;
	tl_buf path = TL_BUF_INIT;
	const char *dir = pos[0];
	if (stat(pos[0], &st) == 0 && S_ISREG(st.st_mode)) {
		tl_buf_dispose(&path);
		path.ptr = strdup(pos[0]);
		path.size = strlen(pos[0]);
		path.asize = path.size + 1;
		dir = NULL;
	} else if ((rc = tl_compose_find(&path, pos[0])) != TL_OK) {
		return cli_fail(c, rc);
	}
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.policy = strict ? TL_COMPOSE_STRICT : TL_COMPOSE_TRUSTED;
	o.app_dir = dir;
	o.env_file = env_file;
	tl_compose *cf = NULL;
	rc = tl_compose_load(&cf, path.ptr, &o);
	tl_buf_dispose(&path);
	if (rc)
		return cli_fail(c, rc);
	for (size_t i = 0; i < tl_compose_warning_count(cf); i++)
		if (!c->json && !c->quiet)
			cli_fprint(stderr, "warning: %s\n", tl_compose_warning_at(cf, i));
	tl_buf js = TL_BUF_INIT;
	if ((rc = tl_compose_to_json(&js, cf)) != TL_OK) {
		tl_compose_free(cf);
		return cli_fail(c, rc);
	}
	cli_set_result(c, json_loads(js.ptr, 0, NULL));
	tl_buf_dispose(&js);
	cli_print(c, "%s policy; web service %s on port %d, health %s\n",
	          strict ? "strict" : "trusted", tl_compose_web_service(cf), tl_compose_web_port(cf),
	          tl_compose_health_path(cf));
	if (tl_compose_release_command(cf))
		cli_print(c, "release command: %s\n", tl_compose_release_command(cf));
	cli_print(c, "services in start order:\n");
	for (size_t i = 0; i < tl_compose_service_count(cf); i++) {
		const tl_compose_service *s = tl_compose_start_order_at(cf, i);
		const char *ctx = tl_compose_service_build_context(s);
		cli_print(c, "  %-16s %s%s%s\n", tl_compose_service_name(s), tl_compose_service_image(s),
		          ctx ? (tl_compose_service_image(s)[0] ? " built from " : "built from ") : "",
		          ctx ? ctx : "");
		for (size_t k = 0; k < tl_compose_service_depends_count(s); k++) {
			const char *dep, *cond;
			tl_compose_service_depends_at(s, k, &dep, &cond);
			cli_print(c, "  %-16s   after %s (%s)\n", "", dep, cond);
		}
		for (size_t k = 0; k < tl_compose_service_port_count(s); k++) {
			const char *ip, *proto;
			int hp, cp;
			tl_compose_service_port_at(s, k, &ip, &hp, &cp, &proto);
			cli_print(c, "  %-16s   port %s%s%d -> %d/%s\n", "", ip, ip[0] ? ":" : "", hp, cp,
			          proto);
		}
	}
	tl_compose_free(cf);
	return 0;
}

static const cli_verb verbs[] = {
	{"check", "DIR|FILE [--strict] [--env-file FILE]",
	 "read an app's compose file and print its services in start order, or its errors "
	 "with file:line (--strict: the policy for untrusted preview files)",
	 "towlion compose check /opt/apps/myapp --json", false, run_check},
};

const cli_group cli_group_compose = {"compose", "read and check compose files", verbs, 1};
