/* Fuzz what the routing table reads back from disk: site file headers
 * (`# towlion: v=1 site=... hosts=... upstreams=...`), the route cache
 * (adapted/cache: length-prefixed fields) and the records it holds, which
 * are joined into the JSON config Caddy loads.
 *
 * First byte: 0 header, 1 cache (then its records assembled), 2 records
 * written from lines "<tag><json>" ("---" starts the next site): when
 * every piece is a JSON object, the assembled config must be JSON too. */
#include "caddy/caddy_internal.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_header(const char *text)
{
	tl__caddy_header h;
	if (tl__caddy_header_parse(&h, text, "sites/fuzz.caddy") != TL_OK)
		return;
	if (!h.site || tl__caddy_validate_site(h.site) || !h.nhosts ||
	    (!h.nupstreams && !h.redirect_to))
		abort();
	for (size_t i = 0; i < h.nhosts; i++)
		if (tl_validate_domain(h.hosts[i]))
			abort();
	for (size_t i = 0; i < h.nupstreams; i++)
		if (tl_validate_hostport(h.upstreams[i]))
			abort();
	if (h.redirect_to && tl_validate_domain(h.redirect_to))
		abort();
	/* nothing after the first line counts */
	if (strchr(h.site, '\n'))
		abort();
	tl__caddy_header_dispose(&h);
}

static void assemble(const char **recs, const size_t *lens, size_t n, int must_be_json)
{
	tl_buf out = TL_BUF_INIT;
	if (tl__caddy_assemble(&out, recs, lens, n, NULL) == TL_OK && must_be_json) {
		json_error_t e;
		json_t *j = json_loadb(out.ptr, out.size, 0, &e);
		if (!j)
			abort();
		json_decref(j);
	}
	tl_buf_dispose(&out);
}

static void fuzz_cache(const char *text, size_t len)
{
	static const char globals[] = "{\n\tadmin 127.0.0.1:2019\n}\n";
	const char *base = NULL;
	size_t base_len = 0, n = 0;
	tl__caddy_cached *sites = NULL;
	if (tl__caddy_cache_parse(text, len, globals, sizeof(globals) - 1, &base, &base_len,
	                          &sites, &n) != TL_OK)
		return;
	const char **recs = calloc(n + 1, sizeof(char *));
	size_t *lens = calloc(n + 1, sizeof(size_t));
	recs[0] = base, lens[0] = base_len;
	for (size_t i = 0; i < n; i++) {
		const tl__caddy_cached *c = &sites[i];
		if (c->name < text || c->rec + c->rec_len > text + len ||
		    c->source + c->source_len > text + len)
			abort();
		if (i && memcmp(sites[i - 1].name, c->name,
		                c->name_len < sites[i - 1].name_len ? c->name_len
		                                                    : sites[i - 1].name_len) > 0)
			abort(); /* sorted */
		recs[i + 1] = c->rec, lens[i + 1] = c->rec_len;
	}
	assemble(recs, lens, n + 1, 0);
	free(recs);
	free(lens);
	free(sites);
}

static void fuzz_records(const char *text, size_t len)
{
	tl_buf recs[8] = {TL_BUF_INIT};
	size_t n = 1;
	int all_json = 1;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll == 3 && !memcmp(p, "---", 3)) {
			if (n < 8)
				n++;
		} else if (ll >= 1) {
			char tag = p[0];
			json_t *j = json_loadb(p + 1, ll - 1, 0, NULL);
			if (tag == 't') /* routes: objects without the brackets */
				all_json &= json_is_object(j);
			else if (tag == 's')
				all_json &= j != NULL;
			else
				all_json &= json_is_object(j) && strchr("orpc", tag) != NULL;
			json_decref(j);
			tl__caddy_field_put(&recs[n - 1], tag, p + 1, ll - 1);
		}
		p += ll + 1;
	}
	const char *rp[8];
	size_t rl[8];
	for (size_t i = 0; i < n; i++) {
		rp[i] = recs[i].ptr ? recs[i].ptr : "";
		rl[i] = recs[i].size;
		/* a record reads back field by field, exactly to its end */
		const char *q = rp[i], *v;
		char tag;
		size_t vl;
		while (tl__caddy_field_next(&q, rp[i] + rl[i], &tag, &v, &vl) == TL_OK)
			;
		if (q != rp[i] + rl[i])
			abort();
	}
	assemble(rp, rl, n, all_json);
	for (size_t i = 0; i < 8; i++)
		tl_buf_dispose(&recs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	char *text = malloc(n + 1);
	memcpy(text, data + 1, n);
	text[n] = '\0';
	switch (data[0] % 3) {
	case 0: fuzz_header(text); break;
	case 1: {
		/* exactly the bytes: a read past the end is caught */
		char *bytes = malloc(n ? n : 1);
		memcpy(bytes, data + 1, n);
		fuzz_cache(bytes, n);
		free(bytes);
		break;
	}
	case 2: fuzz_records(text, n); break;
	}
	free(text);
	return 0;
}
