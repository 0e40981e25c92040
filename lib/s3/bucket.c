/* Buckets: create (idempotent), exists, delete, purge, list, policy. */
#include "s3_internal.h"

#include <stdlib.h>
#include <string.h>

int tl_s3_bucket_exists(tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("HEAD");
	req.bucket = bucket;
	req.what = "find bucket";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	return rc;
}

int tl_s3_bucket_create(tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl_buf body = TL_BUF_INIT;
	/* Outside us-east-1 AWS wants the region in the body. */
	if (strcmp(s3->region, "us-east-1") != 0 &&
	    (rc = tl__buf_printf(&body,
	                         "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
	                         "doc/2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
	                         "</CreateBucketConfiguration>",
	                         s3->region)))
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("PUT");
	req.bucket = bucket;
	req.body = body.size ? body.ptr : NULL;
	req.body_len = body.size;
	req.what = "create bucket";
	tl__s3_resp resp;
	rc = tl__s3_perform(s3, &resp, &req);
	if (!rc && !(resp.status >= 200 && resp.status < 300)) {
		rc = tl__s3_error_from(&resp, req.what, bucket, NULL);
		const char *up = tl_error_last()->upstream;
		if (strcmp(up, "BucketAlreadyOwnedByYou") == 0) {
			rc = TL_OK;
		} else if (strcmp(up, "BucketAlreadyExists") == 0) {
			/* Some servers (s3rver, AWS outside us-east-1 in old
			 * versions) say "exists" for our own bucket too: it is
			 * ours when our keys can reach it. */
			tl__error_saved saved;
			tl__error_save(&saved);
			if (tl_s3_bucket_exists(s3, bucket) == TL_OK)
				rc = TL_OK;
			else
				rc = tl__error_set_upstream(TL_ECONFLICT, TL_ERRCLASS_S3,
				                            "BucketAlreadyExists", saved.upstream_code,
				                            "%s; the name belongs to another account: "
				                            "choose another",
				                            saved.message);
		}
	}
	if (!rc)
		tl_error_clear();
	tl__s3_resp_dispose(&resp);
	tl_buf_dispose(&body);
	return rc;
}

int tl_s3_bucket_delete(tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("DELETE");
	req.bucket = bucket;
	req.what = "delete bucket";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	return rc;
}

int tl_s3_bucket_purge(tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	/* Page by page: delete what one page lists, then list again from the
	 * start (the deleted keys are gone). A key that survives its delete
	 * (a server that lists a key under another name) stops the loop. */
	char *first = NULL;
	for (;;) {
		tl_s3_list_options lo = TL_S3_LIST_OPTIONS_INIT;
		lo.max_pages = 1;
		tl_s3_object_list *l = NULL;
		if ((rc = tl_s3_object_list_get(&l, s3, bucket, &lo)))
			break;
		size_t n = tl_s3_object_list_count(l);
		const char *k0 = n ? tl_s3_object_key(tl_s3_object_list_at(l, 0)) : NULL;
		if (k0 && first && strcmp(k0, first) == 0)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
			                   "S3 purge bucket %s: object '%s' is still listed after "
			                   "it was deleted", bucket, k0);
		free(first);
		first = k0 ? tl__strdup(k0) : NULL;
		for (size_t i = 0; !rc && i < n; i++)
			rc = tl_s3_object_delete(s3, bucket, tl_s3_object_key(tl_s3_object_list_at(l, i)));
		tl_s3_object_list_free(l);
		if (rc || n == 0)
			break;
	}
	free(first);
	return rc ? rc : tl_s3_bucket_delete(s3, bucket);
}

/* ---- bucket list ---- */

struct tl_s3_bucket_list {
	size_t count;
	char **names;
	char **created;
};

void tl_s3_bucket_list_free(tl_s3_bucket_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		free(l->names[i]);
		free(l->created[i]);
	}
	free(l->names);
	free(l->created);
	free(l);
}

size_t tl_s3_bucket_list_count(const tl_s3_bucket_list *l)
{
	return l ? l->count : 0;
}

const char *tl_s3_bucket_list_at(const tl_s3_bucket_list *l, size_t i)
{
	return l && i < l->count ? l->names[i] : NULL;
}

const char *tl_s3_bucket_list_created_at(const tl_s3_bucket_list *l, size_t i)
{
	return l && i < l->count ? l->created[i] : NULL;
}

int tl__s3_bucket_list_parse(tl_s3_bucket_list **out, const char *body, size_t len)
{
	tl_s3_bucket_list *l = tl__calloc(1, sizeof(*l));
	const char *p = body ? body : "";
	const char *end = p + len;
	const char *inner, *after;
	size_t ilen;
	tl_buf name = TL_BUF_INIT, created = TL_BUF_INIT;
	int rc = l ? TL_OK : TL_ENOMEM;
	size_t cap = 0;
	while (!rc && tl__s3_xml_find(p, end, "Bucket", &inner, &ilen, &after)) {
		p = after;
		int got = tl__s3_xml_get(&name, inner, inner + ilen, "Name");
		if (got == TL_ENOTFOUND || (!got && !name.size))
			continue;
		if (!got)
			got = tl__s3_xml_get(&created, inner, inner + ilen, "CreationDate");
		if (got && got != TL_ENOTFOUND) {
			rc = got;
			break;
		}
		if (l->count == cap) {
			cap = cap ? cap * 2 : 16;
			char **n1 = tl__realloc(l->names, cap * sizeof(char *));
			if (n1)
				l->names = n1;
			char **n2 = n1 ? tl__realloc(l->created, cap * sizeof(char *)) : NULL;
			if (n2)
				l->created = n2;
			if (!n1 || !n2) {
				rc = TL_ENOMEM;
				break;
			}
		}
		l->names[l->count] = tl__buf_detach(&name);
		l->created[l->count] = tl__buf_detach(&created);
		if (!l->names[l->count] || !l->created[l->count]) {
			free(l->names[l->count]);
			free(l->created[l->count]);
			rc = TL_ENOMEM;
			break;
		}
		l->count++;
	}
	tl_buf_dispose(&name);
	tl_buf_dispose(&created);
	if (rc) {
		tl_s3_bucket_list_free(l);
		return rc;
	}
	*out = l;
	return TL_OK;
}

int tl_s3_bucket_list_get(tl_s3_bucket_list **out, tl_s3 *s3)
{
	TL__CHECK_ARG(out && s3);
	tl__s3_req req = TL__S3_REQ_INIT("GET");
	req.what = "list buckets";
	tl__s3_resp resp;
	int rc = tl__s3_do(s3, &resp, &req);
	if (rc)
		return rc;
	rc = tl__s3_bucket_list_parse(out, resp.body.ptr, resp.body.size);
	tl__s3_resp_dispose(&resp);
	return rc;
}

/* ---- policy ---- */

int tl_s3_bucket_policy_put(tl_s3 *s3, const char *bucket, const char *policy_json)
{
	TL__CHECK_ARG(s3 && policy_json && *policy_json);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	tl__s3_req req = TL__S3_REQ_INIT("PUT");
	req.bucket = bucket;
	req.query = "policy=";
	req.headers = headers;
	req.body = policy_json;
	req.body_len = strlen(policy_json);
	req.what = "put policy of bucket";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	return rc;
}

int tl_s3_bucket_policy_get(tl_buf *out, tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(out && s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("GET");
	req.bucket = bucket;
	req.query = "policy=";
	req.what = "get policy of bucket";
	tl__s3_resp resp;
	if ((rc = tl__s3_do(s3, &resp, &req)))
		return rc;
	tl_buf_dispose(out);
	*out = resp.body;
	if (!out->ptr)
		rc = tl__buf_put(out, "", 0);
	return rc;
}

int tl_s3_bucket_policy_delete(tl_s3 *s3, const char *bucket)
{
	TL__CHECK_ARG(s3);
	int rc = tl__s3_check_names(bucket, NULL);
	if (rc)
		return rc;
	tl__s3_req req = TL__S3_REQ_INIT("DELETE");
	req.bucket = bucket;
	req.query = "policy=";
	req.what = "delete policy of bucket";
	tl__s3_resp resp;
	rc = tl__s3_do(s3, &resp, &req);
	tl__s3_resp_dispose(&resp);
	if (rc == TL_ENOTFOUND && strcmp(tl_error_last()->upstream, "NoSuchBucketPolicy") == 0) {
		tl_error_clear();
		rc = TL_OK;
	}
	return rc;
}
