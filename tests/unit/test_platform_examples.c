/*
 * The shipped examples are what they claim: the GitHub workflows are
 * well-formed YAML (libyaml) with the triggers, jobs and secrets their
 * README documents, and the systemd units have the sections and absolute
 * ExecStart= systemd needs.
 */
#include "tl_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static char *example(const char *rel)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/examples/%s", TL_TEST_SOURCE_DIR, rel);
	char *text = tl_test_read_file(p);
	if (!text)
		fail_msg("%s is missing", p);
	return text;
}

/* The value node of `key` in mapping `map`, or NULL. */
static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static bool seq_has(yaml_document_t *doc, yaml_node_t *seq, const char *v)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return false;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
	     i++) {
		yaml_node_t *n = yaml_document_get_node(doc, *i);
		if (n && n->type == YAML_SCALAR_NODE && !strcmp((char *)n->data.scalar.value, v))
			return true;
	}
	return false;
}

static void load(yaml_document_t *doc, const char *text)
{
	yaml_parser_t p;
	assert_int_equal(yaml_parser_initialize(&p), 1);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&p, doc))
		fail_msg("YAML error at line %zu: %s", p.problem_mark.line + 1,
		         p.problem ? p.problem : "?");
	assert_non_null(yaml_document_get_root_node(doc));
	yaml_parser_delete(&p);
}

static void test_deploy_workflow(void **state)
{
	char *text = example("github/deploy.yml");
	yaml_document_t doc;
	load(&doc, text);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *on = get(&doc, root, "on");
	assert_non_null(on);
	assert_true(seq_has(&doc, get(&doc, get(&doc, on, "push"), "branches"), "main"));
	yaml_node_t *jobs = get(&doc, root, "jobs");
	assert_non_null(get(&doc, jobs, "test"));
	yaml_node_t *deploy = get(&doc, jobs, "deploy");
	assert_non_null(deploy);
	yaml_node_t *needs = get(&doc, deploy, "needs");
	assert_non_null(needs);
	assert_string_equal((char *)needs->data.scalar.value, "test");
	yaml_node_t *perm = get(&doc, root, "permissions");
	assert_string_equal((char *)get(&doc, perm, "deployments")->data.scalar.value, "write");
	/* The exact commit, over SSH with strict host keys, and statuses. */
	assert_non_null(strstr(text, "--ref \"${{ github.sha }}\""));
	assert_non_null(strstr(text, "towlion --host"));
	assert_non_null(strstr(text, "--known-hosts"));
	assert_non_null(strstr(text, "/statuses"));
	const char *secrets[] = {"SERVER_HOST", "SERVER_USER", "SERVER_SSH_KEY",
	                         "SERVER_KNOWN_HOSTS", "APP_DOMAIN"};
	char *readme = example("github/README.md");
	for (size_t i = 0; i < 5; i++) {
		char want[64];
		snprintf(want, sizeof(want), "secrets.%s", secrets[i]);
		assert_non_null(strstr(text, want));
		snprintf(want, sizeof(want), "`%s`", secrets[i]);
		assert_non_null(strstr(readme, want));
	}
	assert_non_null(strstr(readme, "`PREVIEW_DOMAIN`"));
	/* App settings from GitHub Secrets: through stdin, before the deploy. */
	assert_non_null(strstr(text, "secrets.APP_SETTINGS"));
	assert_non_null(strstr(readme, "`APP_SETTINGS`"));
	const char *set = strstr(text, "env set \"$APP\" --from-stdin");
	assert_non_null(set);
	assert_true(set < strstr(text, "deploy \"$APP\" --git"));
	free(readme);
	yaml_document_delete(&doc);
	free(text);
}

static void test_preview_workflow(void **state)
{
	char *text = example("github/preview.yml");
	yaml_document_t doc;
	load(&doc, text);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *types = get(&doc, get(&doc, get(&doc, root, "on"), "pull_request"), "types");
	const char *want[] = {"opened", "synchronize", "reopened", "closed"};
	for (size_t i = 0; i < 4; i++)
		assert_true(seq_has(&doc, types, want[i]));
	yaml_node_t *job = get(&doc, get(&doc, root, "jobs"), "preview");
	assert_non_null(job);
	/* Forks never reach the server. */
	assert_non_null(strstr((char *)get(&doc, job, "if")->data.scalar.value,
	                       "head.repo.full_name == github.repository"));
	assert_non_null(strstr(text, "preview up \"$APP\" --pr \"$PR\""));
	assert_non_null(strstr(text, "preview down \"$APP\" --pr \"$PR\""));
	assert_non_null(strstr(text, "github.event.action == 'closed'"));
	assert_non_null(strstr(text, "secrets.PREVIEW_DOMAIN"));
	yaml_document_delete(&doc);
	free(text);
}

static void test_systemd_units(void **state)
{
	const char *units[] = {"towlion-alerts", "towlion-preview-gc", "towlion-metrics"};
	for (size_t i = 0; i < 3; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "systemd/%s.service", units[i]);
		char *svc = example(rel);
		assert_non_null(strstr(svc, "[Unit]"));
		assert_non_null(strstr(svc, "[Service]\nType=oneshot"));
		assert_non_null(strstr(svc, "\nExecStart=/usr/bin/towlion "));
		free(svc);
		snprintf(rel, sizeof(rel), "systemd/%s.timer", units[i]);
		char *tmr = example(rel);
		assert_non_null(strstr(tmr, "[Timer]"));
		assert_non_null(strstr(tmr, "[Install]\nWantedBy=timers.target"));
		free(tmr);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deploy_workflow),
		cmocka_unit_test(test_preview_workflow),
		cmocka_unit_test(test_systemd_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
