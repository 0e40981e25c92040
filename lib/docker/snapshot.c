/*
 * A project's containers for a report. Outside a report scope: Docker
 * lists them by label, as it always did. Inside one (tl__report_begin, or
 * tl__docker_snapshot_begin): the first project asks Docker once for every
 * container that carries a towlion.project label, and each project takes
 * its own from that list by the label's exact value, so a report over N
 * apps costs one connection and one list instead of N of each.
 *
 * The list is what Docker had when the report began: a container removed
 * by hand after that shows in the next report, and one removed or made
 * through this context drops the list at once (tl__docker_request sends
 * no change without dropping it).
 */
#include "snapshot.h"
#include "docker_int.h"

#include <stdlib.h>
#include <string.h>

/* The towlion.project label of a list entry (Docker's "Labels" object). */
static const char *project_of(json_t *entry)
{
	return json_string_value(json_object_get(json_object_get(entry, "Labels"),
	                                         "towlion.project"));
}

/* Docker's list of every project's containers, in any state. */
static int list_all(json_t **out, tl_ctx *ctx)
{
	tl_docker *d = NULL;
	int rc = tl_docker_open(&d, ctx);
	const char *labels[] = {"towlion.project", NULL};
	if (rc == TL_OK)
		rc = tl__docker_list(out, d, "/containers/json?all=1", labels, "list containers");
	tl_docker_free(d);
	if (rc == TL_OK && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "Docker answered the container list with something else "
		                   "than a list");
	}
	return rc;
}

/* Docker's own answer for one project (outside a scope). */
static int list_one(tl_docker_container_list **out, tl_ctx *ctx, const char *project)
{
	tl_docker *d = NULL;
	char *filter[] = {tl__sprintf("towlion.project=%s", project), NULL};
	int rc = filter[0] ? tl_docker_open(&d, ctx) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(out, d, (const char *const *)filter, 1);
	tl_docker_free(d);
	free(filter[0]);
	return rc;
}

int tl__docker_project_containers(tl_docker_container_list **out, tl_ctx *ctx,
                                  const char *project)
{
	void **snap = tl__docker_snapshot_slot(ctx);
	if (!snap)
		return list_one(out, ctx, project);
	if (!*snap) {
		json_t *all = NULL;
		int rc = list_all(&all, ctx);
		if (rc) /* not kept: the next project asks again */
			return rc;
		*snap = all;
	}
	json_t *mine = json_array();
	size_t i;
	json_t *entry;
	int rc = mine ? TL_OK : TL_ENOMEM;
	json_array_foreach((json_t *)*snap, i, entry) {
		const char *p = project_of(entry);
		/* The whole value: "shop" never takes "shop-2"'s containers. */
		if (rc == TL_OK && p && !strcmp(p, project) && json_array_append(mine, entry))
			rc = TL_ENOMEM;
	}
	if (rc == TL_OK)
		rc = tl__docker_container_list_new(out, mine);
	json_decref(mine);
	return rc;
}
