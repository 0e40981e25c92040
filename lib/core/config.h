/* Configuration keys and the context structure (internal). */
#ifndef TL_CORE_CONFIG_H
#define TL_CORE_CONFIG_H

#include "core.h"

typedef enum {
	TL__KEY_PLAIN = 0,
	TL__KEY_SECRET = 1, /* never shown unless asked */
	TL__KEY_URL = 2     /* shown with the password masked */
} tl__key_kind;

typedef struct {
	const char *name;
	/* The default; when `base` is set, the default is the value of
	 * `base` followed by this text (e.g. "$TOWLION_DATA_DIR/towlion"). */
	const char *def;
	const char *base;
	int kind;
	const char *description;
} tl__config_key;

extern const tl__config_key tl__config_keys[];
extern const size_t tl__config_key_n;

/* Index of a key, or -1. */
int tl__config_index(const char *key);

typedef struct {
	char *value;  /* explicitly set value, or NULL */
	int source;   /* tl_config_source */
	char *shown;  /* the effective value (set or default) */
	char *masked; /* for display: secrets hidden */
} tl__config_slot;

struct tl_ctx {
	tl__config_slot *slots; /* one per key in tl__config_keys */
	char *config_path;      /* file that was read, or NULL */
	tl_event_cb event_cb;
	void *event_payload;
	bool cancelled;
	char **destroyed; /* apps whose interrupted destroy this context finished */
	char **purged;    /* those of them whose data that destroy dropped (--purge) */
	/* Caddy's configuration (a json_t) read once for a report over every
	 * app, while caddy_snapshot > 0 (tl__caddy_snapshot_begin). */
	void *caddy_config;
	int caddy_snapshot;
	/* Every towlion.project-labelled container (a json_t object: project
	 * -> Docker's list entries) read once for a report, while docker_snapshot > 0
	 * (tl__docker_snapshot_begin); dropped by any change sent to Docker. */
	void *docker_containers;
	int docker_snapshot;
	/* What this context asked Docker: every request, and the container
	 * lists among them (tl__ctx_docker_counts, for tests and benches). */
	unsigned long docker_requests, docker_lists;
};

#endif
