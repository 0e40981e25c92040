/*
 * The header line of a site file: `# towlion: v=1 site=S hosts=A,B
 * upstreams=H:P,...` (or `redirect=APEX` instead of upstreams), and
 * `security_headers=1` when the server-wide security headers cover the
 * site's hosts (security.c; a site without it has none, or, written by
 * an older libtowlion, its own handler in its block). Listing
 * and the hostname conflict check read only this line, so they need no
 * Caddyfile parser; it is validated as strictly as a caller's input.
 */
#include "caddy_internal.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

void tl__caddy_header_dispose(tl__caddy_header *h)
{
	if (!h)
		return;
	free(h->site);
	for (size_t i = 0; i < h->nhosts; i++)
		free(h->hosts[i]);
	free(h->hosts);
	for (size_t i = 0; i < h->nupstreams; i++)
		free(h->upstreams[i]);
	free(h->upstreams);
	free(h->redirect_to);
	memset(h, 0, sizeof(*h));
}

/* Split a comma separated list, validating each item. */
static int split_list(char ***out, size_t *n, const char *v, size_t len, const char *file,
                      const char *key, int (*validate)(const char *))
{
	size_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += v[i] == ',';
	char **items = tl__calloc(cap, sizeof(char *));
	if (!items)
		return TL_ENOMEM;
	size_t k = 0;
	const char *p = v, *end = v + len;
	int rc = TL_OK;
	while (p <= end && rc == TL_OK) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		if (!c)
			c = end;
		if (!(items[k] = tl__strndup(p, (size_t)(c - p))))
			rc = TL_ENOMEM;
		else if (validate(items[k])) {
			tl__error_prefix("%s: header %s", file, key);
			rc = TL_EINVALID;
		}
		k++;
		p = c + 1;
	}
	*out = items;
	*n = k;
	return rc;
}

int tl__caddy_header_parse(tl__caddy_header *out, const char *text, const char *file)
{
	memset(out, 0, sizeof(*out));
	const char *nl = strchr(text, '\n');
	size_t len = nl ? (size_t)(nl - text) : strlen(text);
	size_t hl = strlen(TL__CADDY_HEADER);
	if (len < hl || strncmp(text, TL__CADDY_HEADER, hl))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
		                     "%s: the first line is not a towlion header (\"" TL__CADDY_HEADER
		                     "v=1 site=...\"); was the file written by hand? Write it "
		                     "with `towlion route add` or remove it",
		                     file);
	tl__caddy_header h = {0};
	int rc = TL_OK;
	bool version = false;
	const char *p = text + hl, *end = text + len;
	while (p < end && rc == TL_OK) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			sp = end;
		const char *eq = memchr(p, '=', (size_t)(sp - p));
		if (sp == p) {
			p++;
			continue;
		}
		if (!eq) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
			                   "%s: header: \"%.*s\" is not key=value", file,
			                   (int)(sp - p), p);
			break;
		}
		size_t kl = (size_t)(eq - p), vl = (size_t)(sp - eq - 1);
		const char *v = eq + 1;
		if (kl == 1 && *p == 'v') {
			version = vl == 1 && *v == '1';
			if (!version)
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
				                   "%s: header version \"%.*s\" is not 1", file, (int)vl, v);
		} else if (kl == 4 && !strncmp(p, "site", 4) && !h.site) {
			if (!(h.site = tl__strndup(v, vl)))
				rc = TL_ENOMEM;
			else if (tl__caddy_validate_site(h.site)) {
				tl__error_prefix("%s: header", file);
				rc = TL_EINVALID;
			}
		} else if (kl == 5 && !strncmp(p, "hosts", 5) && !h.hosts) {
			rc = split_list(&h.hosts, &h.nhosts, v, vl, file, "hosts", tl_validate_domain);
		} else if (kl == 9 && !strncmp(p, "upstreams", 9) && !h.upstreams) {
			rc = split_list(&h.upstreams, &h.nupstreams, v, vl, file, "upstreams",
			                tl_validate_hostport);
		} else if (kl == 16 && !strncmp(p, "security_headers", 16) && !h.security_headers) {
			if (!(h.security_headers = vl == 1 && *v == '1'))
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
				                   "%s: header security_headers=\"%.*s\" is not 1", file,
				                   (int)vl, v);
		} else if (kl == 8 && !strncmp(p, "redirect", 8) && !h.redirect_to) {
			if (!(h.redirect_to = tl__strndup(v, vl)))
				rc = TL_ENOMEM;
			else if (tl_validate_domain(h.redirect_to)) {
				tl__error_prefix("%s: header redirect", file);
				rc = TL_EINVALID;
			}
		} else {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
			                   "%s: header: unknown or repeated key \"%.*s\"", file,
			                   (int)kl, p);
		}
		p = sp;
	}
	if (rc == TL_OK && (!version || !h.site || !h.hosts || (!h.upstreams && !h.redirect_to)))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
		                   "%s: header lacks v=1, site=, hosts= or upstreams=/redirect=",
		                   file);
	if (rc) {
		tl__caddy_header_dispose(&h);
		return rc;
	}
	*out = h;
	return TL_OK;
}
