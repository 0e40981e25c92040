/* Fuzz what the S3 client reads from answers it does not control: object
 * list pages, bucket lists, error documents (also the 200 that carries
 * one), multipart upload ids and ETags, IAM key lists, and the XML text
 * decoder under all of them. Every parser runs on every input (the first
 * byte is the HTTP status of the error document); found elements lie
 * inside the input, decoded text is never longer than its source, and
 * escaped text decodes back to itself. */
#include "s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_find(const char *b, const char *e, const char *name)
{
	const char *p = b, *inner, *after;
	size_t len;
	for (int i = 0; i < 64 && tl__s3_xml_find(p, e, name, &inner, &len, &after); i++) {
		if (inner < p || inner + len > e || after > e || after < inner + len || after <= p)
			abort();
		tl_buf t = TL_BUF_INIT;
		int rc = tl__s3_xml_text(&t, inner, len);
		if (rc == TL_OK ? t.size > len : !memchr(inner, '\0', len))
			abort(); /* shorter when decoded; refused only for a NUL */
		tl_buf_dispose(&t);
		p = after;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	long status = 200 + data[0] * 2; /* 200..710: 2xx, 3xx, 4xx, 5xx */
	char *body = malloc(size); /* not NUL terminated: S3 bodies are byte ranges */
	size_t n = size - 1;
	memcpy(body, data + 1, n);
	const char *e = body + n;

	static const char *const names[] = {"Error", "Code", "Contents", "Key", "ETag",
	                                    "CommonPrefixes", "UploadId", "Bucket"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		check_find(body, e, names[i]);

	/* ListObjectsV2 */
	tl_s3_object_list *l = tl__s3_object_list_new();
	tl_buf token = TL_BUF_INIT;
	bool more = false;
	int rc = tl__s3_list_page(l, body, n, &more, &token, "fuzz-bucket");
	for (size_t i = 0; i < tl_s3_object_list_count(l); i++) {
		const tl_s3_object *o = tl_s3_object_list_at(l, i);
		if (!o || !tl_s3_object_key(o) || !*tl_s3_object_key(o) || !tl_s3_object_etag(o) ||
		    tl_s3_object_size(o) > INT64_MAX)
			abort();
	}
	for (size_t i = 0; i < tl_s3_object_list_prefix_count(l); i++)
		if (!tl_s3_object_list_prefix_at(l, i))
			abort();
	if (rc == TL_OK && more && !token.size)
		abort();
	tl_buf_dispose(&token);
	tl_s3_object_list_free(l);

	/* ListBuckets */
	tl_s3_bucket_list *bl = NULL;
	if (tl__s3_bucket_list_parse(&bl, body, n) == TL_OK) {
		for (size_t i = 0; i < tl_s3_bucket_list_count(bl); i++)
			if (!*tl_s3_bucket_list_at(bl, i) || !tl_s3_bucket_list_created_at(bl, i))
				abort();
		tl_s3_bucket_list_free(bl);
	}

	/* errors: a non-2xx answer, and a 200 that is an <Error> */
	tl__s3_resp resp = {.status = status};
	resp.body.ptr = body;
	resp.body.size = n;
	if (status < 200 || status > 299 || tl__s3_body_is_error(body, n)) {
		int r = tl__s3_error_from(&resp, "fuzz", "fuzz-bucket", (data[0] & 1) ? "key" : NULL);
		if (r >= 0 || !*tl_error_last()->message)
			abort();
	}

	/* multipart: the upload id and the completed ETag */
	tl_buf t = TL_BUF_INIT;
	tl__s3_xml_get(&t, body, e, "UploadId");
	if (!t.ptr || t.size > n)
		abort();
	tl__s3_xml_get(&t, body, e, "ETag");
	if (!t.ptr || t.size > n)
		abort();
	tl_buf_dispose(&t);

	/* IAM */
	char **ids = NULL;
	if (tl__s3_access_key_ids(&ids, body, n) == TL_OK)
		tl__strv_free(ids);

	/* escape then decode is the identity (text without NUL) */
	char *text = strndup(body, n);
	tl_buf esc = TL_BUF_INIT, back = TL_BUF_INIT;
	if (tl__s3_xml_escape(&esc, text) || tl__buf_put(&esc, "", 0) ||
	    tl__s3_xml_text(&back, esc.ptr, esc.size) || strcmp(back.ptr, text))
		abort();
	tl_buf_dispose(&esc);
	tl_buf_dispose(&back);
	free(text);
	free(body);
	return 0;
}
