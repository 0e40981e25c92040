/* Server and per-app figures: memory, clients, keys, Celery queues. */
#include "redis_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	char *name;
	uint64_t length;
} queue;

struct tl_redis_stats {
	uint64_t used_memory, connected_clients, app_clients, app_keys;
	int user_exists;
	queue *queues;
	size_t count;
};

uint64_t tl_redis_stats_used_memory(const tl_redis_stats *s) { return s ? s->used_memory : 0; }
uint64_t tl_redis_stats_connected_clients(const tl_redis_stats *s)
{
	return s ? s->connected_clients : 0;
}
uint64_t tl_redis_stats_app_clients(const tl_redis_stats *s) { return s ? s->app_clients : 0; }
uint64_t tl_redis_stats_app_keys(const tl_redis_stats *s) { return s ? s->app_keys : 0; }
int tl_redis_stats_user_exists(const tl_redis_stats *s) { return s ? s->user_exists : 0; }
size_t tl_redis_stats_queue_count(const tl_redis_stats *s) { return s ? s->count : 0; }
const char *tl_redis_stats_queue_name(const tl_redis_stats *s, size_t i)
{
	return s && i < s->count ? s->queues[i].name : NULL;
}
uint64_t tl_redis_stats_queue_length(const tl_redis_stats *s, size_t i)
{
	return s && i < s->count ? s->queues[i].length : 0;
}

void tl_redis_stats_free(tl_redis_stats *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		free(s->queues[i].name);
	free(s->queues);
	free(s);
}

int tl__redis_info_field(uint64_t *out, const char *info, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = info; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			/* "name:123\r\n": the digits, nothing but the line's end after */
			const char *q = p + n + 1, *e = q + strcspn(q, "\r\n");
			uint64_t v = 0;
			if (!tl__parse_digits(&v, &q) || q != e) {
				char *text = tl__strndup(p + n + 1, (size_t)(e - p - n - 1));
				int rc = text ? tl__error_bad_value(TL_EIO, TL_ERRCLASS_REDIS, name, text,
				                                    "Redis INFO should give a whole number")
				              : TL_ENOMEM;
				free(text);
				return rc;
			}
			*out = v;
			return TL_OK;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return tl__error_set(TL_EIO, TL_ERRCLASS_REDIS, "Redis INFO has no %s field", name);
}

static int info(uint64_t *out, tl_redis *r, const char *section, const char *field)
{
	const char *argv[] = {"INFO", section};
	redisReply *rep = NULL;
	int rc = tl__redis_cmd(&rep, r, "INFO", 2, argv);
	if (rc)
		return rc;
	rc = tl__redis_info_field(out, rep->str ? rep->str : "", field);
	freeReplyObject(rep);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const queue *)a)->name, ((const queue *)b)->name);
}

/* Each key found by scan_prefix() goes to a key_fn (or none: just count). */
typedef int (*key_fn)(tl_redis *r, tl_redis_stats *s, const redisReply *key,
                      const char *prefix);

typedef struct {
	tl_redis_stats *stats;
	const char *prefix;
	key_fn fn;
	uint64_t count;
} scan_state;

static int on_batch(tl_redis *r, const redisReply *keys, void *payload)
{
	scan_state *st = payload;
	st->count += keys->elements;
	int rc = TL_OK;
	for (size_t i = 0; !rc && st->fn && i < keys->elements; i++)
		rc = st->fn(r, st->stats, keys->element[i], st->prefix);
	return rc;
}

/* SCAN the prefix; with `type` only keys of that type. */
static int scan_prefix(tl_redis *r, tl_redis_stats *s, const char *prefix, const char *type,
                       key_fn fn, uint64_t *count)
{
	scan_state st = {s, prefix, fn, 0};
	int rc = tl__redis_scan_prefix(r, prefix, type, on_batch, &st);
	*count = st.count;
	return rc;
}

static int add_queue(tl_redis *r, tl_redis_stats *s, const redisReply *key, const char *prefix)
{
	const char *argv[] = {"LLEN", key->str};
	redisReply *rep = NULL;
	/* Keys with NUL bytes cannot be passed as C strings; Celery's never
	 * have them. */
	if (strlen(key->str) != key->len)
		return TL_OK;
	int rc = tl__redis_cmd(&rep, r, "LLEN", 2, argv);
	if (rc)
		return rc;
	queue *n = tl__realloc(s->queues, (s->count + 1) * sizeof(queue));
	char *name = n ? tl__strdup(key->str + strlen(prefix)) : NULL;
	if (n)
		s->queues = n;
	if (!name) {
		freeReplyObject(rep);
		return TL_ENOMEM;
	}
	s->queues[s->count].name = name;
	s->queues[s->count].length = rep->type == REDIS_REPLY_INTEGER ? (uint64_t)rep->integer : 0;
	s->count++;
	freeReplyObject(rep);
	return TL_OK;
}

/* Clients whose "user=" field is `user`, from CLIENT LIST. */
static int count_clients(uint64_t *out, tl_redis *r, const char *user)
{
	const char *argv[] = {"CLIENT", "LIST"};
	redisReply *rep = NULL;
	int rc = tl__redis_cmd(&rep, r, "CLIENT LIST", 2, argv);
	if (rc)
		return rc;
	*out = 0;
	size_t ul = strlen(user);
	for (const char *p = rep->str; p && *p;) {
		const char *eol = strchr(p, '\n');
		const char *f = strstr(p, " user=");
		if (f && (!eol || f < eol) && strncmp(f + 6, user, ul) == 0 &&
		    (f[6 + ul] == ' ' || f[6 + ul] == '\n' || f[6 + ul] == '\r' || !f[6 + ul]))
			(*out)++;
		p = eol ? eol + 1 : NULL;
	}
	freeReplyObject(rep);
	return TL_OK;
}

int tl_redis_stats_get(tl_redis_stats **out, tl_redis *r, const char *app, uint32_t pr)
{
	TL__CHECK_ARG(out && r);
	tl_buf user = TL_BUF_INIT, prefix = TL_BUF_INIT;
	int rc = tl_redis_names(&user, &prefix, app, pr);
	if (rc)
		return rc;
	tl_redis_stats *s = tl__calloc(1, sizeof(*s));
	if (!s)
		rc = TL_ENOMEM;
	if (!rc)
		rc = info(&s->used_memory, r, "memory", "used_memory");
	if (!rc)
		rc = info(&s->connected_clients, r, "clients", "connected_clients");
	if (!rc)
		rc = count_clients(&s->app_clients, r, user.ptr);
	if (!rc) {
		const char *argv[] = {"ACL", "GETUSER", user.ptr};
		redisReply *rep = NULL;
		rc = tl__redis_cmd(&rep, r, "ACL GETUSER", 3, argv);
		if (!rc)
			s->user_exists = rep->type == REDIS_REPLY_ARRAY;
		freeReplyObject(rep);
	}
	if (!rc)
		rc = scan_prefix(r, s, prefix.ptr, NULL, NULL, &s->app_keys);
	uint64_t lists = 0;
	if (!rc)
		rc = scan_prefix(r, s, prefix.ptr, "list", add_queue, &lists);
	if (!rc && s->count > 1)
		qsort(s->queues, s->count, sizeof(queue), by_name);
	tl_buf_dispose(&user);
	tl_buf_dispose(&prefix);
	if (rc) {
		tl_redis_stats_free(s);
		return rc;
	}
	*out = s;
	return TL_OK;
}
