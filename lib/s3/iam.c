/* Users and keys through the object store's own user API: the AWS IAM
 * query API (POST form, SigV4 for service "iam"), which AWS, Ceph RGW,
 * SeaweedFS (`weed iam`) and moto serve. Only the calls towlion needs:
 * CreateUser, PutUserPolicy, CreateAccessKey, ListAccessKeys,
 * DeleteAccessKey, DeleteUserPolicy, DeleteUser.
 *
 * A user gets one inline policy, "towlion-bucket", that allows every S3
 * action on its bucket and the bucket's objects, and denies the
 * bucket-administration actions that would let it open the bucket to
 * others or delete it. Nothing else is allowed: no other bucket, no
 * ListAllMyBuckets, no IAM. */
#include "s3_internal.h"
#include "core/url.h"
#include "towlion/validate.h"

#include <string.h>

#define POLICY_NAME "towlion-bucket"

int tl__s3_admin_api_check(tl_ctx *ctx)
{
	const char *api = tl__cfg(ctx, "TOWLION_S3_ADMIN_API");
	if (!*api || !strcmp(api, "iam"))
		return TL_OK;
	if (!strcmp(api, "minio"))
		/* MinIO's admin API encrypts its bodies (madmin); towlion does not
		 * speak it. Never fall back to the platform's root keys. */
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_ADMIN_API=minio: towlion cannot create MinIO "
		                     "users; create a user per app with `mc admin user add` and "
		                     "a policy on its bucket only (`mc admin policy create`, "
		                     "`mc admin policy attach`), put its keys in the app's env "
		                     "file as S3_ACCESS_KEY/S3_SECRET_KEY, or move to an object "
		                     "store with the IAM API (docs/platform.md)");
	if (!strcmp(api, "none"))
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_CONFIG,
		                     "TOWLION_S3_ADMIN_API=none: this object store has no user "
		                     "API towlion can drive, so it cannot give an app keys of its "
		                     "own (and never gives it the platform's); use an object store "
		                     "with the IAM API (docs/platform.md)");
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
	                     "TOWLION_S3_ADMIN_API is \"%s\": use iam, minio or none", api);
}

int tl__s3_app_user(tl_buf *out, const char *app)
{
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	tl__buf_clear(out);
	return tl__buf_printf(out, "towlion-app-%s", app);
}

int tl__s3_bucket_policy_json(tl_buf *out, const char *bucket)
{
	int rc = tl_s3_validate_bucket(bucket);
	if (rc)
		return rc;
	tl__buf_clear(out);
	return tl__buf_printf(
		out,
		"{\"Version\":\"2012-10-17\",\"Statement\":["
		"{\"Sid\":\"TowlionOwnBucket\",\"Effect\":\"Allow\",\"Action\":\"s3:*\","
		"\"Resource\":[\"arn:aws:s3:::%s\",\"arn:aws:s3:::%s/*\"]},"
		"{\"Sid\":\"TowlionNoBucketAdmin\",\"Effect\":\"Deny\",\"Action\":["
		"\"s3:CreateBucket\",\"s3:DeleteBucket\",\"s3:PutBucketPolicy\","
		"\"s3:DeleteBucketPolicy\",\"s3:PutBucketAcl\",\"s3:PutObjectAcl\"],"
		"\"Resource\":[\"arn:aws:s3:::%s\",\"arn:aws:s3:::%s/*\"]}]}",
		bucket, bucket, bucket, bucket);
}

/* IAM user names: 1..64 of [A-Za-z0-9+=,.@_-]. */
static int check_user(const char *user)
{
	size_t n = user ? strlen(user) : 0;
	bool ok = n >= 1 && n <= 64;
	for (size_t i = 0; ok && i < n; i++) {
		char c = user[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     strchr("+=,.@_-", c) != NULL;
	}
	return ok ? TL_OK
	          : tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
	                          "S3 user name \"%s\" is not valid: 1..64 characters of "
	                          "letters, digits and +=,.@_-",
	                          user ? user : "");
}

/* Append "&name=value" (the first without '&'), the value encoded as
 * application/x-www-form-urlencoded with RFC 3986's unreserved set. */
static int form_put(tl_buf *b, const char *name, const char *value)
{
	int rc = tl__buf_printf(b, "%s%s=", b->size ? "&" : "", name);
	return rc ? rc : tl__url_encode(b, value);
}

/* One IAM call; `kv` holds name, value pairs and ends with NULL. `user`
 * names the subject in messages. */
static int iam_call(tl__s3_resp *resp, tl_s3 *s3, const char *what, const char *user,
                    const char *action, const char *const *kv)
{
	tl_buf body = TL_BUF_INIT;
	int rc = form_put(&body, "Action", action);
	if (!rc)
		rc = form_put(&body, "Version", "2010-05-08");
	for (size_t i = 0; !rc && kv && kv[i]; i += 2)
		rc = form_put(&body, kv[i], kv[i + 1]);
	if (rc) {
		tl_buf_dispose(&body);
		return rc;
	}
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
	tl__s3_req req = TL__S3_REQ_INIT("POST");
	req.url = s3->iam_url;
	req.sigv4 = s3->iam_sigv4;
	req.bucket = user; /* only for messages: the URL is the IAM endpoint */
	req.headers = headers;
	req.body = body.ptr;
	req.body_len = body.size;
	req.what = what;
	rc = tl__s3_do(s3, resp, &req);
	tl_buf_dispose(&body);
	return rc;
}

static int iam_simple(tl_s3 *s3, const char *what, const char *user, const char *action,
                      const char *const *kv)
{
	tl__s3_resp resp;
	int rc = iam_call(&resp, s3, what, user, action, kv);
	if (!rc)
		tl__s3_resp_dispose(&resp);
	return rc;
}

/* Create the user (an existing one is fine) and (re)write its policy. */
static int user_ensure(tl_s3 *s3, const char *user, const char *bucket)
{
	tl_buf policy = TL_BUF_INIT;
	int rc = tl__s3_bucket_policy_json(&policy, bucket);
	const char *create[] = {"UserName", user, NULL};
	if (!rc)
		rc = iam_simple(s3, "create user", user, "CreateUser", create);
	if (rc == TL_EEXISTS)
		rc = TL_OK;
	const char *put[] = {"UserName", user, "PolicyName", POLICY_NAME,
	                     "PolicyDocument", policy.ptr, NULL};
	if (!rc)
		rc = iam_simple(s3, "set the policy of user", user, "PutUserPolicy", put);
	tl_buf_dispose(&policy);
	return rc;
}

int tl__s3_access_key_ids(char ***out, const char *body, size_t len)
{
	char **v = NULL;
	const char *p = body ? body : "", *end = p + len;
	const char *inner, *after;
	size_t ilen;
	int rc = TL_OK;
	while (!rc && tl__s3_xml_find(p, end, "AccessKeyId", &inner, &ilen, &after)) {
		tl_buf id = TL_BUF_INIT;
		rc = tl__s3_xml_text(&id, inner, ilen);
		if (!rc)
			rc = tl__strv_push(&v, id.ptr ? id.ptr : "");
		tl_buf_dispose(&id);
		p = after;
	}
	if (!rc && !v && !(v = tl__calloc(1, sizeof(*v))))
		rc = TL_ENOMEM;
	if (rc) {
		tl__strv_free(v);
		return rc;
	}
	*out = v;
	return TL_OK;
}

/* The access key ids of the user, as a NULL-terminated strv. */
static int key_list(char ***out, tl_s3 *s3, const char *user)
{
	tl__s3_resp resp;
	const char *kv[] = {"UserName", user, NULL};
	int rc = iam_call(&resp, s3, "list the keys of user", user, "ListAccessKeys", kv);
	if (rc)
		return rc;
	rc = tl__s3_access_key_ids(out, resp.body.ptr, resp.body.size);
	tl__s3_resp_dispose(&resp);
	return rc;
}

static int key_delete(tl_s3 *s3, const char *user, const char *access_key)
{
	const char *kv[] = {"UserName", user, "AccessKeyId", access_key, NULL};
	int rc = iam_simple(s3, "delete a key of user", user, "DeleteAccessKey", kv);
	return rc == TL_ENOTFOUND ? TL_OK : rc;
}

/* A new key pair; the secret is wiped from the answer before it is freed. */
static int key_create(tl_buf *access, tl_buf *secret, tl_s3 *s3, const char *user)
{
	tl__s3_resp resp;
	const char *kv[] = {"UserName", user, NULL};
	int rc = iam_call(&resp, s3, "create a key for user", user, "CreateAccessKey", kv);
	if (rc)
		return rc;
	const char *b = resp.body.ptr ? resp.body.ptr : "", *e = b + resp.body.size;
	tl_buf a = TL_BUF_INIT, s = TL_BUF_INIT;
	if (tl__s3_xml_get(&a, b, e, "AccessKeyId") || tl__s3_xml_get(&s, b, e, "SecretAccessKey") ||
	    !a.size || !s.size)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                   "S3 create a key for user %s: the answer holds no key pair", user);
	tl__buf_dispose_secret(&resp.body);
	if (!rc) {
		tl_buf_dispose(access);
		tl__buf_dispose_secret(secret);
		*access = a;
		*secret = s;
	} else {
		/* Without its id the key cannot be deleted here; the next create
		 * or rotate deletes every key the env file does not hold. */
		tl_buf_dispose(&a);
		tl__buf_dispose_secret(&s);
	}
	return rc;
}

/* Delete every key of `user` but `keep` (NULL: all). */
static int keys_prune(tl_s3 *s3, const char *user, const char *keep)
{
	char **keys = NULL;
	int rc = key_list(&keys, s3, user);
	for (size_t i = 0; !rc && keys[i]; i++)
		if (!keep || strcmp(keys[i], keep))
			rc = key_delete(s3, user, keys[i]);
	tl__strv_free(keys);
	return rc;
}

/* ---- public ---- */

int tl_s3_user_create(tl_buf *access_key, tl_buf *secret_key, tl_s3 *s3, const char *user,
                      const char *bucket)
{
	TL__CHECK_ARG(access_key && secret_key && s3);
	int rc = check_user(user);
	if (!rc)
		rc = tl_s3_validate_bucket(bucket);
	if (!rc)
		rc = tl__s3_admin_api_check(s3->ctx);
	if (!rc)
		rc = user_ensure(s3, user, bucket);
	if (!rc)
		rc = key_create(access_key, secret_key, s3, user);
	return rc;
}

int tl_s3_user_delete(tl_s3 *s3, const char *user)
{
	TL__CHECK_ARG(s3);
	int rc = check_user(user);
	if (!rc)
		rc = tl__s3_admin_api_check(s3->ctx);
	/* Keys first: a key that outlives its user's deletion would be worse
	 * than a user left without keys. */
	if (!rc)
		rc = keys_prune(s3, user, NULL);
	const char *pol[] = {"UserName", user, "PolicyName", POLICY_NAME, NULL};
	if (!rc) {
		rc = iam_simple(s3, "remove the policy of user", user, "DeleteUserPolicy", pol);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	const char *del[] = {"UserName", user, NULL};
	if (!rc)
		rc = iam_simple(s3, "delete user", user, "DeleteUser", del);
	return rc;
}

/* Used by app.c: keys of a user, and deleting one. */
int tl__s3_user_keys(char ***out, tl_s3 *s3, const char *user)
{
	return key_list(out, s3, user);
}

int tl__s3_user_key_delete(tl_s3 *s3, const char *user, const char *access_key)
{
	return key_delete(s3, user, access_key);
}

int tl__s3_user_key_create(tl_buf *access, tl_buf *secret, tl_s3 *s3, const char *user)
{
	return key_create(access, secret, s3, user);
}

int tl__s3_user_ensure(tl_s3 *s3, const char *user, const char *bucket)
{
	return user_ensure(s3, user, bucket);
}
