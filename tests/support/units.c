/*
 * What a deploy made, counted the same way whatever runs it: the suites
 * of the single-server engine run again on a swarm (tests/cluster/csuite,
 * TOWLION_ENGINE=swarm) count Swarm services where they count containers
 * on one server.
 */
#include "tl_test.h"
#include "cluster/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool tl_test_swarm(void)
{
	const char *e = getenv("TOWLION_ENGINE");
	return e && !strcmp(e, "swarm");
}

size_t tl_test_units_labelled(tl_ctx *ctx, const char *label, bool remove)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	const char *filters[] = {label, NULL};
	size_t n = 0;
	if (tl_test_swarm()) {
		json_t *l = NULL;
		tl_assert_ok(tl__swarm_service_list(&l, d, filters));
		n = json_array_size(l);
		for (size_t i = 0; remove && i < n; i++)
			tl_assert_ok(tl__swarm_service_remove(
				d, json_string_value(json_object_get(
					   json_object_get(json_array_get(l, i), "Spec"), "Name"))));
		json_decref(l);
	} else {
		tl_docker_container_list *l = NULL;
		tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 1));
		n = tl_docker_container_list_count(l);
		for (size_t i = 0; remove && i < n; i++)
			tl_assert_ok(tl_docker_container_remove(
				d, tl_docker_container_name(tl_docker_container_list_at(l, i)),
				TL_DOCKER_REMOVE_FORCE));
		tl_docker_container_list_free(l);
	}
	tl_docker_free(d);
	return n;
}

size_t tl_test_count_units(tl_ctx *ctx, const char *project, const char *role)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	char f1[128], f2[64];
	snprintf(f1, sizeof(f1), "towlion.project=%s", project);
	snprintf(f2, sizeof(f2), "towlion.role=%s", role ? role : "");
	const char *filters[] = {f1, role ? f2 : NULL, NULL};
	size_t n = 0;
	if (tl_test_swarm()) {
		json_t *l = NULL;
		tl_assert_ok(tl__swarm_service_list(&l, d, filters));
		n = json_array_size(l);
		json_decref(l);
	} else {
		tl_docker_container_list *l = NULL;
		tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 1));
		n = tl_docker_container_list_count(l);
		tl_docker_container_list_free(l);
	}
	tl_docker_free(d);
	return n;
}

char *tl_test_unit_label(tl_ctx *ctx, const char *project, const char *role, const char *label)
{
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	char f1[128], f2[64];
	snprintf(f1, sizeof(f1), "towlion.project=%s", project);
	snprintf(f2, sizeof(f2), "towlion.role=%s", role);
	const char *filters[] = {f1, f2, NULL};
	const char *v = NULL;
	char *out = NULL;
	if (tl_test_swarm()) {
		json_t *l = NULL;
		tl_assert_ok(tl__swarm_service_list(&l, d, filters));
		assert_int_equal(json_array_size(l), 1);
		v = json_string_value(json_object_get(
			json_object_get(json_object_get(json_array_get(l, 0), "Spec"), "Labels"), label));
		out = strdup(v ? v : "");
		json_decref(l);
	} else {
		tl_docker_container_list *l = NULL;
		tl_assert_ok(tl_docker_container_list_by_label(&l, d, filters, 1));
		assert_int_equal(tl_docker_container_list_count(l), 1);
		v = tl_docker_container_label(tl_docker_container_list_at(l, 0), label);
		out = strdup(v ? v : "");
		tl_docker_container_list_free(l);
	}
	tl_docker_free(d);
	return out;
}
