/* Internals of the compose reader (not API). */
#ifndef TL_COMPOSE_INT_H
#define TL_COMPOSE_INT_H

#include "core/core.h"
#include "core/interp.h"
#include "towlion/compose.h"

#include <jansson.h>

/* Parsers of value syntaxes (values.c); messages without location. */
int cp_duration_ms(long *out, const char *s);   /* "1m30s", "500ms", "10s" */
int cp_bytes(int64_t *out, const char *s);      /* "512m", "1.5g", "1048576" */
int cp_shell_split(json_t **out, const char *s); /* "a 'b c' \"d\"" -> array */
/* "[ip:][host[-range]:]container[-range][/proto]" -> array of port objects */
int cp_ports_short(json_t *into, const char *s);

struct tl_compose_service {
	json_t *j;              /* borrowed from the plan */
	const tl_compose *c;    /* the file it belongs to */
};

struct tl_compose {
	json_t *plan;
	/* the variables the file was read with, for its env_files: the
	 * caller's, the .env's, and whether the process environment counts */
	json_t *vars, *dotenv;
	int use_process_env;
	tl_compose_service *svc; /* in file order */
	size_t nsvc;
	size_t *order;           /* start order as indices into svc */
	char *web_service, *health_path, *release, *domain;
	int web_port;
};

/* Keep copies of the variables the file was read with (plan.c), for
 * tl_compose_service_env_file_read(). */
int cp_keep_vars(tl_compose *c, const tl_envfile *vars, const tl_envfile *dotenv,
                 int use_process_env);

/* Topological start order (order.c): fills c->order, or TL_EINVALID
 * naming the cycle. */
int cp_start_order(tl_compose *c);
/* The public handle around a finished plan (plan.c; takes a reference). */
int cp_finish(tl_compose **out, json_t *plan);

#endif
