/* Listing objects with ListObjectsV2, page by page.
 *
 * libcurl 7.88 signs the query string exactly as given, so it is built
 * here in canonical form: parameters sorted by name, values RFC 3986-
 * encoded (a '/' in a prefix becomes %2F). */
#include "s3_internal.h"
#include "towlion/validate.h"
#include "core/url.h"

#include <stdlib.h>
#include <string.h>

struct tl_s3_object_list {
	tl_s3_object *items;
	size_t count, cap;
	char **prefixes;
	size_t nprefixes, pcap;
	unsigned int pages;
	char *next_token;
};

int tl_s3_list_options_init(tl_s3_list_options *opts, unsigned int version)
{
	tl_s3_list_options def = TL_S3_LIST_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_S3_LIST_OPTIONS_VERSION, "tl_s3_list_options");
}

size_t tl_s3_object_list_count(const tl_s3_object_list *l) { return l ? l->count : 0; }
const tl_s3_object *tl_s3_object_list_at(const tl_s3_object_list *l, size_t i)
{
	return l && i < l->count ? &l->items[i] : NULL;
}
size_t tl_s3_object_list_prefix_count(const tl_s3_object_list *l)
{
	return l ? l->nprefixes : 0;
}
const char *tl_s3_object_list_prefix_at(const tl_s3_object_list *l, size_t i)
{
	return l && i < l->nprefixes ? l->prefixes[i] : NULL;
}
unsigned int tl_s3_object_list_pages(const tl_s3_object_list *l) { return l ? l->pages : 0; }
const char *tl_s3_object_list_next_token(const tl_s3_object_list *l)
{
	return l ? l->next_token : NULL;
}

void tl_s3_object_list_free(tl_s3_object_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		tl__s3_object_dispose(&l->items[i]);
	for (size_t i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->items);
	free(l->prefixes);
	free(l->next_token);
	free(l);
}

static int add_param(tl_buf *q, const char *name, const char *value)
{
	int rc = tl__buf_printf(q, "%s%s=", q->size ? "&" : "", name);
	if (!rc)
		rc = tl__url_encode(q, value);
	return rc;
}

/* The canonical query of one page. */
static int page_query(tl_buf *q, const tl_s3_list_options *o, const char *token)
{
	char max[16];
	snprintf(max, sizeof(max), "%u", o->page_size ? o->page_size : 1000);
	int rc = TL_OK;
	tl__buf_clear(q);
	if (token)
		rc = add_param(q, "continuation-token", token);
	if (!rc && o->delimiter && *o->delimiter)
		rc = add_param(q, "delimiter", o->delimiter);
	if (!rc)
		rc = add_param(q, "list-type", "2");
	if (!rc)
		rc = add_param(q, "max-keys", max);
	if (!rc && o->prefix && *o->prefix)
		rc = add_param(q, "prefix", o->prefix);
	return rc;
}

static int parse_contents(tl_s3_object_list *l, const char *p, const char *end)
{
	const char *inner, *after;
	size_t ilen;
	tl_buf t = TL_BUF_INIT;
	int rc = TL_OK;
	while (!rc && tl__s3_xml_find(p, end, "Contents", &inner, &ilen, &after)) {
		p = after;
		const char *ie = inner + ilen;
		if (l->count == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			tl_s3_object *n = tl__realloc(l->items, cap * sizeof(*n));
			if (!n) {
				rc = TL_ENOMEM;
				break;
			}
			l->items = n, l->cap = cap;
		}
		tl_s3_object *o = &l->items[l->count];
		memset(o, 0, sizeof(*o));
		int got = tl__s3_xml_get(&t, inner, ie, "Key");
		if (got == TL_ENOTFOUND || (!got && !t.size))
			continue;
		if (got) {
			rc = got;
			break;
		}
		o->key = tl__buf_detach(&t);
		tl__s3_xml_get(&t, inner, ie, "ETag");
		const char *e = t.ptr ? t.ptr : "";
		size_t el = strlen(e);
		if (el >= 2 && e[0] == '"' && e[el - 1] == '"')
			o->etag = tl__strndup(e + 1, el - 2);
		else
			o->etag = tl__strdup(e);
		tl__s3_xml_get(&t, inner, ie, "Size");
		/* the peer's number, strictly: strtoull made "-1" 2^64-1 */
		uint64_t size = 0;
		if (t.ptr && tl_parse_uint(&size, t.ptr, 0, INT64_MAX, "object size") != TL_OK)
			rc = rc ? rc : TL_EIO;
		o->size = size;
		tl__s3_xml_get(&t, inner, ie, "LastModified");
		int when = tl__s3_parse_time(&o->last_modified, t.ptr, "LastModified");
		rc = rc ? rc : when;
		o->content_type = tl__strdup("");
		if (!o->key || !o->etag || !o->content_type) {
			tl__s3_object_dispose(o);
			rc = TL_ENOMEM;
			break;
		}
		l->count++;
	}
	tl_buf_dispose(&t);
	return rc;
}

static int parse_prefixes(tl_s3_object_list *l, const char *p, const char *end)
{
	const char *inner, *after;
	size_t ilen;
	tl_buf t = TL_BUF_INIT;
	int rc = TL_OK;
	while (!rc && tl__s3_xml_find(p, end, "CommonPrefixes", &inner, &ilen, &after)) {
		p = after;
		int got = tl__s3_xml_get(&t, inner, inner + ilen, "Prefix");
		if (got == TL_ENOTFOUND)
			continue;
		if (got) {
			rc = got;
			break;
		}
		if (l->nprefixes == l->pcap) {
			size_t cap = l->pcap ? l->pcap * 2 : 16;
			char **n = tl__realloc(l->prefixes, cap * sizeof(*n));
			if (!n) {
				rc = TL_ENOMEM;
				break;
			}
			l->prefixes = n, l->pcap = cap;
		}
		char *s = tl__buf_detach(&t);
		if (!s) {
			rc = TL_ENOMEM;
			break;
		}
		l->prefixes[l->nprefixes++] = s;
	}
	tl_buf_dispose(&t);
	return rc;
}

tl_s3_object_list *tl__s3_object_list_new(void)
{
	return tl__calloc(1, sizeof(tl_s3_object_list));
}

int tl__s3_list_page(tl_s3_object_list *l, const char *body, size_t len, bool *more,
                     tl_buf *token, const char *bucket)
{
	const char *b = body ? body : "";
	const char *e = b + len;
	tl_buf trunc = TL_BUF_INIT;
	int rc = parse_contents(l, b, e);
	if (!rc)
		rc = parse_prefixes(l, b, e);
	tl__s3_xml_get(&trunc, b, e, "IsTruncated");
	*more = trunc.ptr && strcmp(trunc.ptr, "true") == 0;
	tl_buf_dispose(&trunc);
	tl__buf_clear(token);
	if (!rc && *more &&
	    (tl__s3_xml_get(token, b, e, "NextContinuationToken") || !token->size))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                   "S3 list objects in %s: a truncated page without "
		                   "NextContinuationToken", bucket);
	return rc;
}

int tl_s3_object_list_get(tl_s3_object_list **out, tl_s3 *s3, const char *bucket,
                          const tl_s3_list_options *opts)
{
	TL__CHECK_ARG(out && s3);
	tl_s3_list_options o = TL_S3_LIST_OPTIONS_INIT;
	if (opts) {
		TL__CHECK_VERSION(opts, TL_S3_LIST_OPTIONS_VERSION, "tl_s3_list_options");
		o = *opts;
	}
	TL__CHECK_ARG(o.page_size <= 1000);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl_s3_object_list *l = tl__s3_object_list_new();
	if (!l)
		return TL_ENOMEM;
	tl_buf q = TL_BUF_INIT, token = TL_BUF_INIT;
	if (o.continuation_token && *o.continuation_token)
		rc = tl__buf_puts(&token, o.continuation_token);
	for (;;) {
		if (rc || (rc = page_query(&q, &o, token.size ? token.ptr : NULL)))
			break;
		tl__s3_req req = TL__S3_REQ_INIT("GET");
		req.bucket = bucket;
		req.query = q.ptr;
		req.what = "list objects in";
		tl__s3_resp resp;
		if ((rc = tl__s3_do(s3, &resp, &req)))
			break;
		l->pages++;
		bool more = false;
		rc = tl__s3_list_page(l, resp.body.ptr, resp.body.size, &more, &token, bucket);
		tl__s3_resp_dispose(&resp);
		if (rc || !more)
			break;
		if (o.max_pages && l->pages >= o.max_pages) {
			if (!(l->next_token = tl__strdup(token.ptr)))
				rc = TL_ENOMEM;
			break;
		}
		if ((rc = tl__cancelled(s3->ctx)))
			break;
	}
	tl_buf_dispose(&q);
	tl_buf_dispose(&token);
	if (rc) {
		tl_s3_object_list_free(l);
		return rc;
	}
	*out = l;
	return TL_OK;
}
