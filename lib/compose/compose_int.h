/* Internals of the compose reader (not API). */
#ifndef TL_COMPOSE_INT_H
#define TL_COMPOSE_INT_H

#include "core/core.h"
#include "towlion/compose.h"

#include <jansson.h>

/* Variable lookup for interpolation: returns the value or NULL when unset. */
typedef const char *(*cp_lookup)(const char *name, void *payload);

/*
 * Interpolate `in`: $VAR ${VAR} ${VAR:-d} ${VAR-d} ${VAR:?e} ${VAR?e} $$.
 * Defaults may themselves hold ${...}. On success *out is malloc'd and
 * `missing` (may be NULL) gets the name of the first variable that was
 * unset without a default (the caller warns). A required variable that is
 * unset, or bad syntax, is TL_EINVALID with a message without location
 * (the caller prefixes file:line).
 */
int cp_interpolate(char **out, const char *in, cp_lookup lookup, void *payload,
                   tl_buf *missing);

/* Parsers of value syntaxes (values.c); messages without location. */
int cp_duration_ms(long *out, const char *s);   /* "1m30s", "500ms", "10s" */
int cp_bytes(int64_t *out, const char *s);      /* "512m", "1.5g", "1048576" */
int cp_shell_split(json_t **out, const char *s); /* "a 'b c' \"d\"" -> array */
/* "[ip:][host[-range]:]container[-range][/proto]" -> array of port objects */
int cp_ports_short(json_t *into, const char *s);

struct tl_compose_service {
	json_t *j; /* borrowed from the plan */
};

struct tl_compose {
	json_t *plan;
	tl_compose_service *svc; /* in file order */
	size_t nsvc;
	size_t *order;           /* start order as indices into svc */
	char *web_service, *health_path, *release, *domain;
	int web_port;
};

/* Topological start order (order.c): fills c->order, or TL_EINVALID
 * naming the cycle. */
int cp_start_order(tl_compose *c);
/* The public handle around a finished plan (plan.c; takes a reference). */
int cp_finish(tl_compose **out, json_t *plan);

#endif
