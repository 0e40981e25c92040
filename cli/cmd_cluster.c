/* towlion cluster: the Docker Swarm under the platform (docs/cluster.md). */
#include "cli.h"

#include <string.h>

static int run_init(cli *c)
{
	const char *advertise = NULL, *no_registry = NULL;
	cli_opt opts[] = {{"--advertise-addr", true, &advertise},
	                  {"--no-registry", false, &no_registry}};
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 2, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	if (c->dry_run) {
		cli_set_result(c, json_pack("{s:b, s:s, s:b}", "dry_run", 1, "advertise_addr",
		                            advertise ? advertise : "", "registry", !no_registry));
		cli_print(c, "would make the engine at %s a swarm manager (unless it is one) and "
		             "ensure the platform's overlay network%s; nothing was changed\n",
		          tl_ctx_config_get(ctx, "TOWLION_DOCKER_HOST"),
		          no_registry ? "" : " and the registry the nodes pull from");
		return 0;
	}
	tl_cluster_init_options o;
	tl_cluster_init_options_init(&o, TL_CLUSTER_INIT_OPTIONS_VERSION);
	o.advertise_addr = advertise;
	o.no_registry = no_registry != NULL;
	tl_cluster_init_result *r = NULL;
	if ((rc = tl_cluster_init(&r, ctx, &o)) != TL_OK)
		return cli_fail(c, rc);
	int already = tl_cluster_init_result_already(r), enc = tl_cluster_init_result_encrypted(r);
	const char *net = tl_cluster_init_result_network(r), *warn = tl_cluster_init_result_warning(r);
	const char *reg = tl_cluster_init_result_registry(r);
	/* The registry's password is in no output: it stays in its 0600 file. */
	json_t *reg_json = *reg ? json_pack("{s:s, s:s, s:s, s:b}", "address", reg, "service",
	                                    "towlion-registry", "data_dir",
	                                    tl_cluster_init_result_registry_dir(r), "created",
	                                    tl_cluster_init_result_registry_created(r))
	                        : json_null();
	cli_set_result(c, json_pack("{s:b, s:s, s:s, s:b, s:s, s:o}", "already_initialised",
	                            already, "node_id", tl_cluster_init_result_node_id(r),
	                            "network", net, "encrypted", enc, "warning", warn,
	                            "registry", reg_json));
	cli_print(c, "%s: node %s is a manager\n",
	          already ? "already initialised" : "swarm initialised",
	          tl_cluster_init_result_node_id(r));
	cli_print(c, "platform overlay %s: %s\n", net, enc ? "encrypted" : "NOT encrypted");
	if (*warn)
		cli_print(c, "  %s\n", warn);
	if (*reg)
		cli_print(c, "registry towlion-registry %s: every node pulls %s/<image> (data in %s)\n",
		          tl_cluster_init_result_registry_created(r) ? "started" : "running", reg,
		          tl_cluster_init_result_registry_dir(r));
	else
		cli_print(c, "no registry (--no-registry): every node needs the apps' images itself\n");
	cli_print(c, "next: `towlion cluster join-token worker` on this server, then "
	             "`docker swarm join` on each new node\n");
	tl_cluster_init_result_free(r);
	return 0;
}

static int run_join_token(cli *c)
{
	const char *role = "worker";
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, &role, 0, 1, NULL);
	if (rc)
		return rc;
	if (strcmp(role, "worker") && strcmp(role, "manager"))
		return cli_usage(c, "the role is worker or manager, not \"%s\"", role);
	tl_buf token = TL_BUF_INIT;
	if ((rc = tl_cluster_join_token(&token, ctx, role)) != TL_OK)
		return cli_fail(c, rc);
	/* Asked for by name: the one place a token is printed. */
	cli_set_result(c, json_pack("{s:s, s:s}", "role", role, "token", token.ptr));
	cli_print(c, "%s\n", token.ptr);
	tl_buf_dispose(&token);
	return 0;
}

static json_t *node_json(const tl_cluster_node *n)
{
	json_t *labels = json_object();
	for (size_t i = 0; i < tl_cluster_node_label_count(n); i++)
		json_object_set_new(labels, tl_cluster_node_label_key(n, i),
		                    json_string(tl_cluster_node_label_value(n, i)));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", tl_cluster_node_id(n),
	                 "hostname", tl_cluster_node_hostname(n), "role", tl_cluster_node_role(n),
	                 "state", tl_cluster_node_state(n), "availability",
	                 tl_cluster_node_availability(n), "manager_status",
	                 tl_cluster_node_manager_status(n), "address", tl_cluster_node_address(n),
	                 "labels", labels);
}

static int run_nodes(cli *c)
{
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_cluster_node_list *l = NULL;
	if ((rc = tl_cluster_nodes(&l, ctx)) != TL_OK)
		return cli_fail(c, rc);
	json_t *arr = json_array();
	cli_print(c, "%-12s %-20s %-8s %-8s %-12s %-11s %-15s %s\n", "ID", "HOSTNAME", "ROLE",
	          "STATE", "AVAILABILITY", "MANAGER", "ADDRESS", "LABELS");
	for (size_t i = 0; i < tl_cluster_node_list_count(l); i++) {
		const tl_cluster_node *n = tl_cluster_node_list_at(l, i);
		json_array_append_new(arr, node_json(n));
		char labels[512] = "-";
		for (size_t k = 0, at = 0; k < tl_cluster_node_label_count(n) && at < sizeof(labels);
		     k++) {
			int w = snprintf(labels + at, sizeof(labels) - at, "%s%s=%s", k ? "," : "",
			                 tl_cluster_node_label_key(n, k), tl_cluster_node_label_value(n, k));
			at += w > 0 ? (size_t)w : 0;
		}
		const char *ms = tl_cluster_node_manager_status(n);
		cli_print(c, "%-12.12s %-20s %-8s %-8s %-12s %-11s %-15s %s\n", tl_cluster_node_id(n),
		          tl_cluster_node_hostname(n), tl_cluster_node_role(n),
		          tl_cluster_node_state(n), tl_cluster_node_availability(n), *ms ? ms : "-",
		          tl_cluster_node_address(n), labels);
	}
	cli_set_result(c, json_pack("{s:o}", "nodes", arr));
	tl_cluster_node_list_free(l);
	return 0;
}

static int set_availability(cli *c, const char *availability)
{
	const char *node = NULL;
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, &node, 1, 1, NULL);
	if (rc)
		return rc;
	if (!c->dry_run && (rc = tl_cluster_node_set_availability(ctx, node, availability)))
		return cli_fail(c, rc);
	cli_set_result(c, json_pack("{s:s, s:s, s:b}", "node", node, "availability", availability,
	                            "dry_run", c->dry_run));
	cli_print(c, "%snode %s: %s\n", c->dry_run ? "would set " : "", node,
	          c->dry_run ? availability
	          : !strcmp(availability, "drain") ? "drained (its tasks move to other nodes)"
	                                          : "active (it takes tasks again)");
	return 0;
}

static int run_drain(cli *c) { return set_availability(c, "drain"); }
static int run_activate(cli *c) { return set_availability(c, "active"); }

static int run_reroute(cli *c)
{
	const char *app = NULL;
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, &app, 0, 1, NULL);
	if (rc)
		return rc;
	tl_cluster_reroute_result *r = NULL;
	if ((rc = tl_cluster_reroute(&r, ctx, app)) != TL_OK)
		return cli_fail(c, rc);
	json_t *arr = json_array();
	size_t failed = 0;
	for (size_t i = 0; i < tl_cluster_reroute_result_count(r); i++) {
		const char *name = tl_cluster_reroute_result_app(r, i);
		const char *state = tl_cluster_reroute_result_state(r, i);
		const char *ups = tl_cluster_reroute_result_upstreams(r, i);
		const char *prev = tl_cluster_reroute_result_previous(r, i);
		const char *detail = tl_cluster_reroute_result_detail(r, i);
		failed += !strcmp(state, "failed");
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "app", name, "state",
		                                     state, "upstreams", ups, "previous", prev,
		                                     "detail", detail));
		if (!strcmp(state, "rerouted"))
			cli_print(c, "%s: rerouted to %s (was %s)\n", name, ups, *prev ? prev : "no route");
		else if (!strcmp(state, "unchanged"))
			cli_print(c, "%s: unchanged (%s)\n", name, ups);
		else
			cli_print(c, "%s: %s: %s\n", name, state, detail);
	}
	cli_set_result(c, json_pack("{s:o}", "apps", arr));
	tl_cluster_reroute_result_free(r);
	if (failed)
		return cli_error(c, EXIT_FAILED, "the route of %zu app(s) could not follow its tasks",
		                 failed);
	return 0;
}

static const cli_verb verbs[] = {
	{"init", "[--advertise-addr ADDR] [--no-registry]",
	 "make the engine at TOWLION_DOCKER_HOST a swarm manager (said so when it is one "
	 "already), create the platform's overlay network, encrypted where the kernel allows, "
	 "and start the registry the nodes pull from (--no-registry: when they pull from "
	 "one of your own)",
	 "towlion cluster init --advertise-addr 10.0.0.1", true, run_init},
	{"join-token", "[worker|manager]",
	 "print the token a new node joins the swarm with (a secret: shown only here)",
	 "towlion cluster join-token worker", false, run_join_token},
	{"nodes", "",
	 "the swarm's nodes: id, hostname, role, state, availability, manager status, address, "
	 "labels",
	 "towlion cluster nodes --json", false, run_nodes},
	{"drain", "NODE",
	 "move every task off NODE (hostname, id or unique id prefix) and give it no new ones; "
	 "waits until the apps' tasks have left it, then their routes follow",
	 "towlion cluster drain worker-2", true, run_drain},
	{"activate", "NODE", "let NODE take tasks again after a drain",
	 "towlion cluster activate worker-2", true, run_activate},
	{"reroute", "[APP]",
	 "make the route of APP (default: every app) name the tasks Swarm runs now, after a "
	 "node was lost or tasks moved (drain and activate do it themselves)",
	 "towlion cluster reroute --json", false, run_reroute},
};

const cli_group cli_group_cluster = {"cluster", "the Docker Swarm cluster under the platform",
                                     verbs, sizeof(verbs) / sizeof(verbs[0])};
