/* Reading the routing table back: sites from the files, upstreams from
 * Caddy. */
#include "caddy_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	tl_caddy_site pub;
	tl__caddy_header hdr;
	char *path;
} site_item;

struct tl_caddy_sites {
	site_item *v;
	size_t n;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tl_caddy_sites_free(tl_caddy_sites *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		tl__caddy_header_dispose(&s->v[i].hdr);
		free(s->v[i].path);
	}
	free(s->v);
	free(s);
}

int tl_caddy_list(tl_caddy_sites **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	char *dir = tl__path_join(tl__cfg(ctx, "TOWLION_CADDY_DIR"), "sites");
	if (!dir)
		return TL_ENOMEM;
	tl_caddy_sites *s = tl__calloc(1, sizeof(*s));
	char **names = NULL;
	size_t nn = 0, cap = 0;
	int rc = s ? TL_OK : TL_ENOMEM;
	DIR *d = s ? opendir(dir) : NULL;
	if (s && !d && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot read %s", dir);
	for (struct dirent *de; d && rc == TL_OK && (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len <= 6 || strcmp(de->d_name + len - 6, ".caddy"))
			continue;
		if (nn == cap) {
			char **nv = tl__realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*nv));
			if (!nv) {
				rc = TL_ENOMEM;
				break;
			}
			names = nv;
		}
		if (!(names[nn++] = tl__strdup(de->d_name)))
			rc = TL_ENOMEM;
	}
	if (d)
		closedir(d);
	if (rc == TL_OK && nn) {
		qsort(names, nn, sizeof(*names), cmp_name);
		if (!(s->v = tl__calloc(nn, sizeof(*s->v))))
			rc = TL_ENOMEM;
	}
	for (size_t i = 0; rc == TL_OK && i < nn; i++) {
		site_item *it = &s->v[s->n];
		tl_buf text = TL_BUF_INIT;
		if (!(it->path = tl__path_join(dir, names[i]))) {
			rc = TL_ENOMEM;
			break;
		}
		s->n++;
		if ((rc = tl__file_read(&text, it->path)) == TL_OK)
			rc = tl__caddy_header_parse(&it->hdr, text.ptr ? text.ptr : "", it->path);
		tl_buf_dispose(&text);
		if (rc == TL_OK && strncmp(names[i], it->hdr.site, strlen(names[i]) - 6))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
			                   "%s: its header says site=%s", it->path, it->hdr.site);
		it->pub = (tl_caddy_site){it->hdr.site,
		                          it->path,
		                          (const char *const *)it->hdr.hosts,
		                          it->hdr.nhosts,
		                          (const char *const *)it->hdr.upstreams,
		                          it->hdr.nupstreams,
		                          it->hdr.redirect_to};
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	free(dir);
	if (rc) {
		tl_caddy_sites_free(s);
		return rc;
	}
	*out = s;
	return TL_OK;
}

size_t tl_caddy_sites_count(const tl_caddy_sites *s)
{
	return s ? s->n : 0;
}

const tl_caddy_site *tl_caddy_sites_at(const tl_caddy_sites *s, size_t i)
{
	return s && i < s->n ? &s->v[i].pub : NULL;
}

/* ---- upstreams ---- */

typedef struct {
	tl_caddy_upstream pub;
	char *address;
} up_item;

struct tl_caddy_upstreams {
	up_item *v;
	size_t n;
};

void tl_caddy_upstreams_free(tl_caddy_upstreams *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].address);
	free(u->v);
	free(u);
}

int tl_caddy_upstreams_get(tl_caddy_upstreams **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	json_t *j = NULL;
	int rc = tl__caddy_get(&j, ctx, "/reverse_proxy/upstreams");
	if (rc)
		return rc;
	if (!json_is_array(j) && !json_is_null(j)) {
		json_decref(j);
		return tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
		                     "Caddy's /reverse_proxy/upstreams answer is not a list");
	}
	tl_caddy_upstreams *u = tl__calloc(1, sizeof(*u));
	size_t n = json_array_size(j);
	if (!u || (n && !(u->v = tl__calloc(n, sizeof(*u->v))))) {
		free(u);
		json_decref(j);
		return TL_ENOMEM;
	}
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));
		up_item *it = &u->v[u->n];
		if (!a || !(it->address = tl__strdup(a)))
			continue;
		u->n++;
		json_t *h = json_object_get(e, "healthy");
		int64_t fails = json_integer_value(json_object_get(e, "fails"));
		/* Caddy 2.6 no longer reports "healthy"; recent failures are the
		 * sign of trouble it does report. */
		it->pub = (tl_caddy_upstream){it->address,
		                              h ? json_is_true(h) : fails == 0,
		                              json_integer_value(json_object_get(e, "num_requests")),
		                              fails};
	}
	json_decref(j);
	*out = u;
	return TL_OK;
}

size_t tl_caddy_upstreams_count(const tl_caddy_upstreams *u)
{
	return u ? u->n : 0;
}

const tl_caddy_upstream *tl_caddy_upstreams_at(const tl_caddy_upstreams *u, size_t i)
{
	return u && i < u->n ? &u->v[i].pub : NULL;
}
