/*
 * Release history: <project state dir>/releases.json, an array oldest
 * first, rewritten atomically on every record. Failed attempts are kept
 * too (with their error), so `towlion releases` tells what happened.
 */
#include "deploy_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HISTORY_MAX 100

struct tl_release_list {
	tl_release **items; /* newest first */
	size_t n;
};

void tl_release_free(tl_release *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->source);
	free(r->commit);
	free(r->requested_by);
	free(r->error);
	for (size_t i = 0; i < r->nsvc; i++) {
		free(r->svc[i]);
		free(r->img[i]);
	}
	free(r->svc);
	free(r->img);
	free(r);
}

int tl__release_add_service(tl_release *r, const char *service, const char *image)
{
	char **s = tl__realloc(r->svc, (r->nsvc + 1) * sizeof(char *));
	if (!s)
		return TL_ENOMEM;
	r->svc = s;
	char **im = tl__realloc(r->img, (r->nsvc + 1) * sizeof(char *));
	if (!im)
		return TL_ENOMEM;
	r->img = im;
	r->svc[r->nsvc] = tl__strdup(service);
	r->img[r->nsvc] = tl__strdup(image);
	if (!r->svc[r->nsvc] || !r->img[r->nsvc]) {
		free(r->svc[r->nsvc]);
		free(r->img[r->nsvc]);
		return TL_ENOMEM;
	}
	r->nsvc++;
	return TL_OK;
}

static const char *const status_names[] = {"active", "superseded", "failed"};

const char *tl_release_status_name(int s)
{
	return (s >= 0 && s <= TL_RELEASE_FAILED) ? status_names[s] : "unknown";
}

static int status_from(const char *s)
{
	for (int i = 0; i <= TL_RELEASE_FAILED; i++)
		if (s && !strcmp(s, status_names[i]))
			return i;
	return TL_RELEASE_FAILED;
}

static char *dup_or_empty(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return tl__strdup(s ? s : "");
}

static tl_release *from_json(json_t *o)
{
	tl_release *r = tl__calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = dup_or_empty(o, "id");
	r->source = dup_or_empty(o, "source");
	r->commit = dup_or_empty(o, "commit");
	r->requested_by = dup_or_empty(o, "requested_by");
	r->error = dup_or_empty(o, "error");
	r->status = status_from(json_string_value(json_object_get(o, "status")));
	r->created = (int64_t)json_integer_value(json_object_get(o, "created"));
	r->duration_ms = (int64_t)json_integer_value(json_object_get(o, "duration_ms"));
	json_t *svcs = json_object_get(o, "services");
	const char *k;
	json_t *v;
	bool ok = r->id && r->source && r->commit && r->requested_by && r->error;
	json_object_foreach(svcs, k, v) {
		if (ok && json_is_string(v))
			ok = tl__release_add_service(r, k, json_string_value(v)) == TL_OK;
	}
	if (!ok) {
		tl_release_free(r);
		return NULL;
	}
	return r;
}

static json_t *to_json(const tl_release *r)
{
	json_t *svcs = json_object();
	for (size_t i = 0; i < r->nsvc; i++)
		json_object_set_new(svcs, r->svc[i], json_string(r->img[i]));
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:o}", "id", r->id, "status",
	                 tl_release_status_name(r->status), "created", (json_int_t)r->created,
	                 "duration_ms", (json_int_t)r->duration_ms, "source",
	                 r->source ? r->source : "", "commit", r->commit ? r->commit : "",
	                 "requested_by", r->requested_by ? r->requested_by : "", "error",
	                 r->error ? r->error : "", "services", svcs);
}

static char *history_path(const char *state_dir)
{
	return tl__path_join(state_dir, "releases.json");
}

/* The file as a JSON array (empty when missing). */
static int load_array(json_t **out, const char *state_dir)
{
	char *path = history_path(state_dir);
	if (!path)
		return TL_ENOMEM;
	int rc = TL_OK;
	json_error_t jerr;
	json_t *a = json_load_file(path, 0, &jerr);
	if (!a && access(path, F_OK) != 0)
		a = json_array();
	else if (!a || !json_is_array(a))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY, "%s:%d: %s", path, jerr.line,
		                   a ? "not a JSON array" : jerr.text);
	free(path);
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return TL_OK;
}

int tl__history_record(const char *state_dir, const tl_release *r)
{
	json_t *a = NULL;
	int rc = load_array(&a, state_dir);
	if (rc)
		return rc;
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *st = json_string_value(json_object_get(o, "status"));
		if (r->status == TL_RELEASE_ACTIVE && st && !strcmp(st, "active"))
			json_object_set_new(o, "status", json_string("superseded"));
		/* Recording a release again (a rollback) moves it to the end. */
		if (id && !strcmp(id, r->id)) {
			json_array_remove(a, i);
			i--;
		}
	}
	json_array_append_new(a, to_json(r));
	/* Releases that fall off the history can no longer be rolled back to:
	 * their saved plans go too, once the shorter history is on disk. */
	json_t *dropped = json_array();
	while (json_array_size(a) > HISTORY_MAX) {
		if (dropped)
			json_array_append(dropped, json_array_get(a, 0));
		json_array_remove(a, 0);
	}
	char *text = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	char *path = history_path(state_dir);
	rc = (text && path && dropped) ? tl__mkdir_p(state_dir, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	json_array_foreach(rc == TL_OK ? dropped : NULL, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		if (id && (!r->id || strcmp(id, r->id)))
			tl__plan_forget(state_dir, id);
	}
	json_decref(dropped);
	free(text);
	free(path);
	json_decref(a);
	return rc;
}

int tl__history_load(tl_release_list **out, const char *state_dir)
{
	json_t *a = NULL;
	int rc = load_array(&a, state_dir);
	if (rc)
		return rc;
	tl_release_list *l = tl__calloc(1, sizeof(*l));
	if (l)
		l->items = tl__calloc(json_array_size(a) + 1, sizeof(tl_release *));
	if (!l || !l->items) {
		free(l);
		json_decref(a);
		return TL_ENOMEM;
	}
	for (size_t i = json_array_size(a); i > 0; i--) {
		tl_release *r = from_json(json_array_get(a, i - 1));
		if (!r) {
			tl_release_list_free(l);
			json_decref(a);
			return TL_ENOMEM;
		}
		l->items[l->n++] = r;
	}
	json_decref(a);
	*out = l;
	return TL_OK;
}

const tl_release *tl__history_active(const tl_release_list *l)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (l->items[i]->status == TL_RELEASE_ACTIVE)
			return l->items[i];
	return NULL;
}

int tl__release_copy(tl_release **out, const tl_release *r)
{
	json_t *j = to_json(r);
	tl_release *c = j ? from_json(j) : NULL;
	json_decref(j);
	if (!c)
		return tl__error_oom();
	*out = c;
	return TL_OK;
}

size_t tl_release_list_count(const tl_release_list *l) { return l ? l->n : 0; }
const tl_release *tl_release_list_at(const tl_release_list *l, size_t i)
{
	return (l && i < l->n) ? l->items[i] : NULL;
}
void tl_release_list_free(tl_release_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		tl_release_free(l->items[i]);
	free(l->items);
	free(l);
}

const char *tl_release_id(const tl_release *r) { return r ? r->id : NULL; }
int tl_release_status(const tl_release *r) { return r ? r->status : -1; }
int64_t tl_release_created(const tl_release *r) { return r ? r->created : 0; }
const char *tl_release_source(const tl_release *r) { return r ? r->source : NULL; }
const char *tl_release_commit(const tl_release *r) { return r ? r->commit : NULL; }
const char *tl_release_requested_by(const tl_release *r) { return r ? r->requested_by : NULL; }
const char *tl_release_error(const tl_release *r) { return r ? r->error : NULL; }
int64_t tl_release_duration_ms(const tl_release *r) { return r ? r->duration_ms : 0; }
size_t tl_release_service_count(const tl_release *r) { return r ? r->nsvc : 0; }
const char *tl_release_service_at(const tl_release *r, size_t i, const char **image)
{
	if (!r || i >= r->nsvc)
		return NULL;
	if (image)
		*image = r->img[i];
	return r->svc[i];
}
