/* The YAML walking shared by the compose reader's files (not API). */
#ifndef TL_COMPOSE_READER_H
#define TL_COMPOSE_READER_H

#include "compose_int.h"

#include <yaml.h>

typedef struct {
	yaml_document_t doc;
	const char *name;     /* file name for messages */
	char *base_dir;       /* absolute: relative paths resolve here */
	char *app_dir;        /* absolute, symlinks resolved: STRICT's fence */
	int policy;
	json_t *warnings;     /* array of strings */
	tl_envfile *env_file; /* variables from the env file, or NULL */
	const tl_envfile *vars;
	int use_process_env;
	json_t *volumes;      /* declared top-level volumes: name -> true */
	json_t *networks;     /* declared top-level networks */
	json_t *secrets;      /* declared top-level secrets: name -> environment key */
	size_t work;          /* keys, values and items visited (tl__compose_charge) */
	size_t text;          /* bytes of values produced (tl__compose_str) */
	size_t warnings_dropped; /* past TL__COMPOSE_MAX_WARNINGS */
} tl__compose_reader;

/* Limits on what one compose file may cost (docs/security.md, "Limits on
 * untrusted input"): nodes visited after anchors, aliases and `<<` are
 * applied, and bytes of interpolated values, for the whole file. */
#define TL__COMPOSE_MAX_WORK 250000u
#define TL__COMPOSE_MAX_TEXT (16u << 20)
#define TL__COMPOSE_MAX_WARNINGS 1000u

typedef struct {
	const char *key;
	yaml_node_t *knode;
	yaml_node_t *val;
} tl__compose_pair;

/* reserved.c: what a reserved service name is for, or NULL; and the
 * check that refuses one at `knode`. */
const char *tl__compose_reserved_name(const char *name);
int tl__compose_check_reserved(tl__compose_reader *r, const yaml_node_t *knode, const char *name);

unsigned long tl__compose_line(const yaml_node_t *n);
/* "file:line: message" as TL_EINVALID; returns TL_EINVALID. */
int tl__compose_fail(tl__compose_reader *r, const yaml_node_t *n, const char *fmt,
                     ...) TL__PRINTF(3, 4);
/* Prefix the current error with "file:line: ". */
int tl__compose_locate(tl__compose_reader *r, const yaml_node_t *n, int rc);
void tl__compose_warn(tl__compose_reader *r, const yaml_node_t *n, const char *fmt,
                      ...) TL__PRINTF(3, 4);

yaml_node_t *tl__compose_node(tl__compose_reader *r, int index);
/* Count `units` of work against TL__COMPOSE_MAX_WORK: TL_EINVALID past it. */
int tl__compose_charge(tl__compose_reader *r, const yaml_node_t *n, size_t units);
int tl__compose_is_null(const yaml_node_t *n);
/* The pairs of a mapping, with `<<` merge keys applied (explicit keys
 * win) and duplicate keys refused. Caller frees *out. */
int tl__compose_pairs(tl__compose_reader *r, yaml_node_t *map, const char *what,
                      tl__compose_pair **out, size_t *n);
/* A scalar's interpolated text (malloc'd); numbers and booleans as written. */
int tl__compose_str(tl__compose_reader *r, yaml_node_t *n, const char *what, char **out);
int tl__compose_bool(tl__compose_reader *r, yaml_node_t *n, const char *what, int *out);
int tl__compose_int(tl__compose_reader *r, yaml_node_t *n, const char *what, long lo, long hi,
                    long *out);
/* A string or a sequence of strings, as a JSON array. */
int tl__compose_str_list(tl__compose_reader *r, yaml_node_t *n, const char *what, json_t **out);
/* A mapping {k: v} or a list ["k=v", "k"] as a JSON object; `null_ok`:
 * a missing value (k with no =, or k: null) is kept as JSON null. */
int tl__compose_key_values(tl__compose_reader *r, yaml_node_t *n, const char *what, int null_ok,
                           json_t **out);
/* Variable lookup for interpolation and env entries without value. */
const char *tl__compose_var(const char *name, void *r);

/* Paths (paths.c): absolute and lexically clean (malloc'd). */
char *tl__compose_abs_path(tl__compose_reader *r, const char *p);
/* STRICT: is the host path inside the app directory (following the
 * symlinks that exist, never out of it)? */
int tl__compose_inside_app(tl__compose_reader *r, const char *abs);
/* The canonical form of host path `abs` (malloc'd, no symlink component):
 * STRICT walks it beneath the app directory and fails (error set) when it
 * leaves it; TRUSTED resolves it from "/" (as written when it cannot). */
int tl__compose_canonical(tl__compose_reader *r, const char *abs, char **out);

/* Secrets (secrets.c): the top-level declarations into r->secrets, and
 * a service's list as a JSON array of {source, target, environment, uid,
 * gid, mode}. */
int tl__compose_secrets_declare(tl__compose_reader *r, yaml_node_t *n);
int tl__compose_service_secrets(tl__compose_reader *r, const char *svc, yaml_node_t *n,
                                json_t **out);

/* One service (service.c). */
int tl__compose_service(tl__compose_reader *r, const char *name, yaml_node_t *knode,
                        yaml_node_t *val, json_t **out);

#endif
