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

/* Docker's list of every project's containers, in any state, as an
 * object from each towlion.project value to its entries (list order kept):
 * each project then takes its own in one lookup, not a pass over all. */
static int list_all(json_t **out, tl_ctx *ctx)
{
	tl_docker *d = NULL;
	json_t *all = NULL;
	int rc = tl_docker_open(&d, ctx);
	const char *labels[] = {"towlion.project", NULL};
	if (rc == TL_OK)
		rc = tl__docker_list(&all, d, "/containers/json?all=1", labels, "list containers");
	tl_docker_free(d);
	if (rc == TL_OK && !json_is_array(all))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "Docker answered the container list with something else "
		                   "than a list");
	json_t *by = rc == TL_OK ? json_object() : NULL;
	if (rc == TL_OK && !by)
		rc = TL_ENOMEM;
	size_t i;
	json_t *entry;
	json_array_foreach(all, i, entry) {
		const char *p = project_of(entry);
		json_t *mine = p ? json_object_get(by, p) : NULL;
		if (rc || !p)
			continue;
		if (!mine && json_object_set_new(by, p, mine = json_array()))
			rc = TL_ENOMEM;
		else if (json_array_append(mine, entry))
			rc = TL_ENOMEM;
	}
	json_decref(all);
	if (rc)
		json_decref(by);
	else
		*out = by;
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
		json_t *by = NULL;
		int rc = list_all(&by, ctx);
		if (rc) /* not kept: the next project asks again */
			return rc;
		*snap = by;
	}
	/* The label's whole value: "shop" never takes "shop-2"'s containers. */
	json_t *mine = json_object_get(*snap, project);
	json_t *none = mine ? NULL : json_array();
	if (!mine && !none)
		return TL_ENOMEM;
	int rc = tl__docker_container_list_new(out, mine ? mine : none);
	json_decref(none);
	return rc;
}
