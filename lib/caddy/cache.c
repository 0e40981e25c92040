/*
 * The cache of adapted site configs, adapted/cache: records of fields as
 * in merge.c, after a first line "towlion-caddy-cache 1": g (the Caddyfile
 * text of the globals), b (their record), then per site n (name), f (the
 * file's text) and e (its record). table.c writes it; reading it is here,
 * pure, because a torn or hand-edited file must only ever mean "no cache".
 */
#include "caddy_internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_cached(const void *a, const void *b)
{
	const tl__caddy_cached *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

int tl__caddy_cache_parse(const char *text, size_t len, const char *globals,
                          size_t globals_len, const char **base, size_t *base_len,
                          tl__caddy_cached **sites, size_t *nsites)
{
	size_t ml = strlen(TL__CADDY_CACHE_MAGIC);
	if (!text || len < ml || memcmp(text, TL__CADDY_CACHE_MAGIC, ml))
		return tl__error_set(TL_EIO, TL_ERRCLASS_CADDY, "not a route cache");
	const char *q = text + ml, *end = text + len, *v, *b = NULL;
	size_t vlen, blen = 0, n = 0, cap = 0;
	char tag;
	bool globals_ok = false;
	tl__caddy_cached cur = {0}, *all = NULL;
	int rc;
	while ((rc = tl__caddy_field_next(&q, end, &tag, &v, &vlen)) == TL_OK) {
		if (tag == 'g' && !globals_ok && vlen == globals_len && !memcmp(v, globals, vlen)) {
			globals_ok = true;
		} else if (tag == 'b' && globals_ok && !b) {
			b = v;
			blen = vlen;
		} else if (tag == 'n' && b) {
			cur = (tl__caddy_cached){v, NULL, NULL, vlen, 0, 0};
		} else if (tag == 'f' && cur.name && !cur.source) {
			cur.source = v;
			cur.source_len = vlen;
		} else if (tag == 'e' && cur.source) {
			cur.rec = v;
			cur.rec_len = vlen;
			if (n == cap) {
				tl__caddy_cached *nv = tl__realloc(all, (cap = cap ? cap * 2 : 64) * sizeof(*nv));
				if (!nv) {
					rc = TL_ENOMEM;
					break;
				}
				all = nv;
			}
			all[n++] = cur;
			cur = (tl__caddy_cached){0};
		} else {
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
			                   "route cache: field %c out of place, or made with other "
			                   "globals", tag);
			break;
		}
	}
	if (rc == TL_ENOTFOUND) /* the end, exactly at a field boundary */
		rc = b && !cur.name ? TL_OK
		                    : tl__error_set(TL_EIO, TL_ERRCLASS_CADDY, "route cache ends early");
	if (rc) {
		free(all);
		return rc;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_cached);
	*base = b;
	*base_len = blen;
	*sites = all;
	*nsites = n;
	return TL_OK;
}

const tl__caddy_cached *tl__caddy_cache_find(const tl__caddy_cached *sites, size_t n,
                                             const char *name)
{
	tl__caddy_cached key = {name, NULL, NULL, strlen(name), 0, 0};
	return n ? bsearch(&key, sites, n, sizeof(*sites), cmp_cached) : NULL;
}
