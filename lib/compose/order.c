/* Start order from depends_on: a depth-first topological sort that keeps
 * file order where it can, and names the services of a cycle. */
#include "compose_int.h"

#include <stdlib.h>
#include <string.h>

static long index_of(const tl_compose *c, const char *name)
{
	for (size_t i = 0; i < c->nsvc; i++)
		if (!strcmp(json_string_value(json_object_get(c->svc[i].j, "name")), name))
			return (long)i;
	return -1;
}

/* state: 0 unvisited, 1 on the stack, 2 done */
static int visit(tl_compose *c, size_t i, char *state, size_t *stack, size_t depth,
                 size_t *n_out)
{
	if (state[i] == 2)
		return TL_OK;
	stack[depth] = i;
	if (state[i] == 1) {
		/* the cycle is the stack from the first occurrence of i */
		tl_buf path = TL_BUF_INIT;
		size_t from = 0;
		while (stack[from] != i)
			from++;
		for (size_t k = from; k <= depth; k++)
			tl__buf_printf(&path, "%s%s", k > from ? " -> " : "",
			               json_string_value(json_object_get(c->svc[stack[k]].j, "name")));
		int rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                       "%s: depends_on has a cycle: %s",
		                       json_string_value(json_object_get(c->plan, "file")),
		                       path.ptr ? path.ptr : "?");
		tl_buf_dispose(&path);
		return rc;
	}
	state[i] = 1;
	size_t k;
	json_t *d;
	json_array_foreach(json_object_get(c->svc[i].j, "depends_on"), k, d) {
		long j = index_of(c, json_string_value(json_object_get(d, "service")));
		if (j < 0)
			continue; /* the reader already refused unknown services */
		int rc = visit(c, (size_t)j, state, stack, depth + 1, n_out);
		if (rc)
			return rc;
	}
	state[i] = 2;
	c->order[(*n_out)++] = i;
	return TL_OK;
}

int cp_start_order(tl_compose *c)
{
	c->order = tl__calloc(c->nsvc ? c->nsvc : 1, sizeof(*c->order));
	char *state = tl__calloc(c->nsvc ? c->nsvc : 1, 1);
	size_t *stack = tl__calloc(c->nsvc + 1, sizeof(*stack));
	int rc = c->order && state && stack ? TL_OK : TL_ENOMEM;
	size_t n = 0;
	for (size_t i = 0; !rc && i < c->nsvc; i++)
		rc = visit(c, i, state, stack, 0, &n);
	free(state);
	free(stack);
	return rc;
}
