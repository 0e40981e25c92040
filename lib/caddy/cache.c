/*
 * The cache of adapted site configs, adapted/cache: records of fields as
 * in merge.c, after a first line "towlion-caddy-cache 1": g (the Caddyfile
 * text of the globals), b (their record), then per site n (name), an
 * optional s (the file's stamp: "dev ino size mtime.ns ctime.ns"), f (the
 * file's text) and e (its record). table.c writes it; reading it is here,
 * pure, because a torn or hand-edited file must only ever mean "no cache".
 * (A cache with s fields reads as no cache to a build older than them:
 * one full adapt after a downgrade.)
 */
#include "caddy_internal.h"

#include <stdio.h>
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
			cur = (tl__caddy_cached){.name = v, .name_len = vlen};
		} else if (tag == 's' && cur.name && !cur.has_stamp && !cur.source &&
		           tl__caddy_stamp_parse(&cur.stamp, v, vlen)) {
			cur.has_stamp = true;
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
	tl__caddy_cached key = {.name = name, .name_len = strlen(name)};
	return n ? bsearch(&key, sites, n, sizeof(*sites), cmp_cached) : NULL;
}

size_t tl__caddy_stamp_text(char out[TL__CADDY_STAMP_MAX], const tl__caddy_stamp *s)
{
	int n = snprintf(out, TL__CADDY_STAMP_MAX, "%llu %llu %llu %lld.%09lld %lld.%09lld", s->dev,
	                 s->ino, s->size, s->mtime_s, s->mtime_ns, s->ctime_s, s->ctime_ns);
	return n > 0 && n < TL__CADDY_STAMP_MAX ? (size_t)n : 0;
}

bool tl__caddy_stamp_parse(tl__caddy_stamp *s, const char *v, size_t len)
{
	char text[TL__CADDY_STAMP_MAX], back[TL__CADDY_STAMP_MAX];
	int used = 0;
	if (len >= sizeof(text))
		return false;
	memcpy(text, v, len);
	text[len] = '\0';
	if (sscanf(text, "%llu %llu %llu %lld.%lld %lld.%lld%n", &s->dev, &s->ino, &s->size,
	           &s->mtime_s, &s->mtime_ns, &s->ctime_s, &s->ctime_ns, &used) != 7 ||
	    (size_t)used != len)
		return false;
	/* Only the exact text stamp_put writes: no signs, spaces or widths a
	 * lenient sscanf would let through. */
	return tl__caddy_stamp_text(back, s) == len && !memcmp(back, text, len);
}
