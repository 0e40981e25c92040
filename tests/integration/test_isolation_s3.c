/* Tenant isolation, object storage: every app has a user of its own whose
 * keys reach its own bucket and nothing else; offsite backups have theirs.
 *
 * Against the harness's s3iam service (moto with IAM authentication on:
 * every signature is checked against the key's user, every S3 and IAM
 * action against the user's policies). A server that ignored keys would
 * prove nothing, so the first test shows that a wrong key and a wrong
 * secret ARE refused. Each attack below is tried for real with app A's
 * own keys, must fail, and the other tenants must keep working. */
#include "tl_test.h"
#include "core/core.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char app_a[32], app_b[32], bucket_a[64], bucket_b[64], backup_bucket[64];
static char *state_dir;

/* A context on the IAM-enforcing store with the platform's admin keys. */
static tl_ctx *admin_ctx(void)
{
	const char *ep = TL_TEST_REQUIRE("TL_TEST_S3IAM_ENDPOINT");
	const char *ak = TL_TEST_REQUIRE("TL_TEST_S3IAM_ACCESS_KEY");
	const char *sk = TL_TEST_REQUIRE("TL_TEST_S3IAM_SECRET_KEY");
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ENDPOINT", ep));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_REGION", "us-east-1"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ACCESS_KEY", ak));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_SECRET_KEY", sk));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ADMIN_API", "iam"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_IAM_ENDPOINT", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_APP_ENDPOINT", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_S3_ACCESS_KEY", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_S3_SECRET_KEY", ""));
	char remote[128];
	snprintf(remote, sizeof(remote), "s3://%s/nightly/", backup_bucket);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", remote));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir));
	return ctx;
}

static tl_s3 *client_keys(tl_ctx *ctx, const char *ak, const char *sk)
{
	tl_s3_options o = TL_S3_OPTIONS_INIT;
	o.access_key = ak;
	o.secret_key = sk;
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, &o));
	return s3;
}

static char *env_path(tl_ctx *ctx, const char *app)
{
	tl_buf p = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&p, ctx, app));
	return tl__buf_detach(&p);
}

/* The value of `key` in the app's env file (malloc'd), NULL when absent. */
static char *env_get(tl_ctx *ctx, const char *app, const char *key)
{
	char *path = env_path(ctx, app);
	tl_envfile *env = NULL;
	char *v = NULL;
	if (tl_envfile_open(&env, path, 0) == TL_OK) {
		const char *x = tl_envfile_get(env, key);
		v = x ? strdup(x) : NULL;
	}
	tl_envfile_free(env);
	free(path);
	return v;
}

/* A client with the keys the app's env file holds: what the app has. */
static tl_s3 *app_client(tl_ctx *ctx, const char *app)
{
	char *ak = env_get(ctx, app, "S3_ACCESS_KEY");
	char *sk = env_get(ctx, app, "S3_SECRET_KEY");
	assert_non_null(ak);
	assert_non_null(sk);
	tl_s3 *s3 = client_keys(ctx, ak, sk);
	free(ak);
	free(sk);
	return s3;
}

static void assert_refused(int rc, const char *what)
{
	if (rc != TL_EAUTH)
		fail_msg("%s: expected TL_EAUTH (refused), got %d: %s", what, rc,
		         tl_error_last()->message);
}

/* The app reads back what it wrote, and can write: it still works. */
static void assert_works(tl_s3 *s3, const char *bucket, const char *key, const char *content)
{
	tl_buf got = TL_BUF_INIT;
	tl_assert_ok(tl_s3_object_get_data(&got, s3, bucket, key, 0));
	assert_int_equal(got.size, strlen(content));
	assert_memory_equal(got.ptr, content, got.size);
	tl_buf_dispose(&got);
	tl_assert_ok(tl_s3_object_put_data(NULL, s3, bucket, "still-writable", "y", 1, NULL));
	tl_assert_ok(tl_s3_object_delete(s3, bucket, "still-writable"));
}

static int setup(void **state)
{
	(void)state;
	int id = (int)getpid() % 100000;
	snprintf(app_a, sizeof(app_a), "iso%da", id);
	snprintf(app_b, sizeof(app_b), "iso%db", id);
	snprintf(bucket_a, sizeof(bucket_a), "%s-uploads", app_a);
	snprintf(bucket_b, sizeof(bucket_b), "%s-uploads", app_b);
	snprintf(backup_bucket, sizeof(backup_bucket), "iso%d-offsite", id);
	state_dir = tl_test_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("TL_TEST_S3IAM_ENDPOINT")) {
		tl_ctx *ctx = admin_ctx();
		tl_s3 *s3 = NULL;
		if (tl_s3_new(&s3, ctx, NULL) == TL_OK) {
			tl_s3_app_drop(s3, app_a, 0);
			tl_s3_app_drop(s3, app_b, 0);
			tl_s3_user_delete(s3, "towlion-backup");
			tl_s3_bucket_purge(s3, bucket_a);
			tl_s3_bucket_purge(s3, bucket_b);
			tl_s3_bucket_purge(s3, backup_bucket);
		}
		tl_s3_free(s3);
		tl_ctx_free(ctx);
	}
	tl_test_rmdir(state_dir);
	return 0;
}

/* The server is not a pushover: wrong keys are refused before anything
 * else is believed. */
static void test_server_refuses_wrong_keys(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	tl_s3_bucket_list *l = NULL;
	tl_assert_ok(tl_s3_bucket_list_get(&l, s3));
	tl_s3_bucket_list_free(l);
	tl_s3_free(s3);

	s3 = client_keys(ctx, "AKIANOSUCHKEY0000000", tl_ctx_config_get(ctx, "TOWLION_S3_SECRET_KEY"));
	l = NULL;
	assert_refused(tl_s3_bucket_list_get(&l, s3), "an unknown access key");
	assert_string_equal(tl_error_last()->upstream, "InvalidAccessKeyId");
	assert_null(l);
	tl_s3_free(s3);

	s3 = client_keys(ctx, tl_ctx_config_get(ctx, "TOWLION_S3_ACCESS_KEY"),
	                 "wrong-secret-0123456789abcdefghijklmnop");
	assert_refused(tl_s3_bucket_list_get(&l, s3), "a wrong secret");
	assert_string_equal(tl_error_last()->upstream, "SignatureDoesNotMatch");
	assert_refused(tl_s3_bucket_create(s3, backup_bucket), "a wrong secret creating a bucket");
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

/* Provision A, B and the backup user; the env file holds the app's own
 * keys (never the platform's), 0600. */
static void test_app_gets_keys_of_its_own(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	tl_buf b = TL_BUF_INIT, path = TL_BUF_INIT;
	/* A dry run changes nothing. */
	tl_assert_ok(tl_s3_app_create(&b, &path, s3, app_a, TL_S3_DRY_RUN));
	assert_string_equal(b.ptr, bucket_a);
	assert_int_equal(access(path.ptr, F_OK), -1);
	tl_assert_rc(TL_ENOTFOUND, tl_s3_bucket_exists(s3, bucket_a));
	/* For real, twice: the second keeps the key. */
	tl_assert_ok(tl_s3_app_create(&b, &path, s3, app_a, 0));
	char *k1 = env_get(ctx, app_a, "S3_ACCESS_KEY");
	tl_assert_ok(tl_s3_app_create(NULL, NULL, s3, app_a, 0));
	char *k2 = env_get(ctx, app_a, "S3_ACCESS_KEY");
	assert_string_equal(k1, k2);
	assert_string_not_equal(k1, tl_ctx_config_get(ctx, "TOWLION_S3_ACCESS_KEY"));
	char *sa = env_get(ctx, app_a, "S3_SECRET_KEY");
	assert_string_not_equal(sa, tl_ctx_config_get(ctx, "TOWLION_S3_SECRET_KEY"));
	char *bk = env_get(ctx, app_a, "S3_BUCKET");
	assert_string_equal(bk, bucket_a);
	struct stat st;
	assert_int_equal(stat(path.ptr, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(k1);
	free(k2);
	free(sa);
	free(bk);
	tl_assert_ok(tl_s3_app_create(NULL, NULL, s3, app_b, 0));
	char *kb = env_get(ctx, app_b, "S3_ACCESS_KEY");
	char *ka = env_get(ctx, app_a, "S3_ACCESS_KEY");
	assert_string_not_equal(ka, kb);
	free(ka);
	free(kb);
	/* Containers may reach the storage by another name. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_APP_ENDPOINT", "http://s3:9000"));
	tl_assert_ok(tl_s3_app_create(NULL, NULL, s3, app_a, 0));
	char *ep = env_get(ctx, app_a, "S3_ENDPOINT");
	assert_string_equal(ep, "http://s3:9000");
	free(ep);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_APP_ENDPOINT", "s3:9000"));
	tl_assert_rc(TL_EINVALID, tl_s3_app_create(NULL, NULL, s3, app_a, 0));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_APP_ENDPOINT", ""));
	/* Bad names change nothing. */
	tl_assert_rc(TL_EINVALID, tl_s3_app_create(NULL, NULL, s3, "Bad App", 0));
	tl_assert_rc(TL_EINVALID, tl_s3_user_create(&b, &path, s3, "no spaces", bucket_a));
	tl_assert_rc(TL_EINVALID, tl_s3_user_create(&b, &path, s3, "towlion-x", "Bad_Bucket"));

	/* Each app stores something; the backup user writes a backup. */
	tl_s3 *ca = app_client(ctx, app_a), *cb = app_client(ctx, app_b);
	tl_assert_ok(tl_s3_object_put_data(NULL, ca, bucket_a, "a.txt", "of A", 4, NULL));
	tl_assert_ok(tl_s3_object_put_data(NULL, cb, bucket_b, "secret.txt", "of B", 4, NULL));
	tl_assert_ok(tl_s3_backup_keys_create(&path, s3, 0));
	assert_int_equal(stat(path.ptr, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tl_s3 *cbk = NULL;
	tl_assert_ok(tl_s3_new_backup(&cbk, ctx));
	tl_assert_ok(tl_s3_object_put_data(NULL, cbk, backup_bucket, "nightly/db.dump", "dump", 4,
	                                   NULL));
	tl_s3_free(cbk);
	tl_s3_free(ca);
	tl_s3_free(cb);
	tl_buf_dispose(&b);
	tl_buf_dispose(&path);
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

/* The hostile tenant: app A, with its own keys, against B and backups. */
static void test_app_reaches_only_its_bucket(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *a = app_client(ctx, app_a);

	/* Its own keys with a wrong secret are refused first. */
	char *ak = env_get(ctx, app_a, "S3_ACCESS_KEY");
	tl_s3 *bad = client_keys(ctx, ak, "wrong-secret-0123456789abcdefghijklmnop");
	tl_buf got = TL_BUF_INIT;
	assert_refused(tl_s3_object_get_data(&got, bad, bucket_a, "a.txt", 0),
	               "A's key with a wrong secret");
	assert_string_equal(tl_error_last()->upstream, "SignatureDoesNotMatch");
	tl_s3_free(bad);
	free(ak);

	/* Its own bucket works: read, list, write, delete. */
	assert_works(a, bucket_a, "a.txt", "of A");
	tl_s3_object_list *l = NULL;
	tl_assert_ok(tl_s3_object_list_get(&l, a, bucket_a, NULL));
	assert_int_equal(tl_s3_object_list_count(l), 1);
	tl_s3_object_list_free(l);

	const char *targets[] = {bucket_b, backup_bucket};
	const char *keys[] = {"secret.txt", "nightly/db.dump"};
	for (int i = 0; i < 2; i++) {
		const char *t = targets[i], *k = keys[i];
		tl_s3_object *o = NULL;
		l = NULL;
		assert_refused(tl_s3_object_get_data(&got, a, t, k, 0), "A reads another bucket");
		assert_refused(tl_s3_object_head(&o, a, t, k), "A heads another bucket's object");
		assert_refused(tl_s3_object_list_get(&l, a, t, NULL), "A lists another bucket");
		assert_null(l);
		assert_refused(tl_s3_object_put_data(NULL, a, t, "planted", "x", 1, NULL),
		               "A writes into another bucket");
		assert_refused(tl_s3_object_put_data(NULL, a, t, k, "overwritten", 11, NULL),
		               "A overwrites another bucket's object");
		assert_refused(tl_s3_object_delete(a, t, k), "A deletes another bucket's object");
		assert_refused(tl_s3_bucket_purge(a, t), "A purges another bucket");
		assert_refused(tl_s3_bucket_delete(a, t), "A deletes another bucket");
		assert_refused(tl_s3_bucket_policy_put(a, t,
		                                       "{\"Version\":\"2012-10-17\",\"Statement\":[]}"),
		               "A sets another bucket's policy");
	}
	/* Nor can it see the other buckets, make one, open its own bucket to
	 * others, or mint keys. */
	tl_s3_bucket_list *bl = NULL;
	assert_refused(tl_s3_bucket_list_get(&bl, a), "A lists all buckets");
	char evil[64];
	snprintf(evil, sizeof(evil), "%s-evil", app_a);
	assert_refused(tl_s3_bucket_create(a, evil), "A creates a bucket");
	assert_refused(tl_s3_bucket_policy_put(a, bucket_a,
	                                       "{\"Version\":\"2012-10-17\",\"Statement\":[]}"),
	               "A sets its own bucket's policy");
	assert_refused(tl_s3_bucket_delete(a, bucket_a), "A deletes its own bucket");
	tl_buf nk = TL_BUF_INIT, ns = TL_BUF_INIT;
	assert_refused(tl_s3_user_create(&nk, &ns, a, "towlion-evil", bucket_b),
	               "A makes a user for B's bucket");
	assert_refused(tl_s3_app_rotate(NULL, a, app_b, 0), "A rotates B's keys");
	assert_refused(tl_s3_user_delete(a, "towlion-backup"), "A deletes the backup user");
	tl_s3_free(a);

	/* The others keep working, their data untouched. */
	tl_s3 *b = app_client(ctx, app_b);
	assert_works(b, bucket_b, "secret.txt", "of B");
	tl_s3_free(b);
	tl_s3 *bk = NULL;
	tl_assert_ok(tl_s3_new_backup(&bk, ctx));
	assert_works(bk, backup_bucket, "nightly/db.dump", "dump");
	/* The backup keys are as confined: not A's bucket, not B's. */
	assert_refused(tl_s3_object_get_data(&got, bk, bucket_b, "secret.txt", 0),
	               "the backup key reads an app's bucket");
	assert_refused(tl_s3_object_list_get(&l, bk, bucket_a, NULL),
	               "the backup key lists an app's bucket");
	tl_s3_free(bk);
	tl_s3 *admin = NULL;
	tl_assert_ok(tl_s3_new(&admin, ctx, NULL));
	tl_assert_rc(TL_ENOTFOUND, tl_s3_bucket_exists(admin, evil));
	tl_s3_free(admin);
	tl_buf_dispose(&got);
	tl_ctx_free(ctx);
}

/* Rotation: the old key stops working, the new one works, the env file is
 * replaced atomically (0600, other keys kept). */
static void test_rotation(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	char *path = env_path(ctx, app_a);
	/* Another module's key in the same file must survive. */
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, path, 0));
	tl_assert_ok(tl_envfile_set(env, "OTHER_KEY", "kept"));
	tl_assert_ok(tl_envfile_save(env, path, 0600));
	tl_envfile_free(env);
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);

	tl_s3 *old = app_client(ctx, app_a);
	char *old_key = env_get(ctx, app_a, "S3_ACCESS_KEY");
	/* A stray key of A's user, as a kill -9 after CreateAccessKey and
	 * before the env file was written would leave it. */
	tl_buf sk = TL_BUF_INIT, ss = TL_BUF_INIT;
	char user[64];
	snprintf(user, sizeof(user), "towlion-app-%s", app_a);
	tl_assert_ok(tl_s3_user_create(&sk, &ss, s3, user, bucket_a));
	tl_s3 *stray = client_keys(ctx, sk.ptr, ss.ptr);
	tl_s3_object *head = NULL;
	tl_assert_ok(tl_s3_object_head(&head, stray, bucket_a, "a.txt")); /* it works, for now */
	tl_s3_object_free(head);

	tl_buf newkey = TL_BUF_INIT;
	tl_assert_ok(tl_s3_app_rotate(&newkey, s3, app_a, 0));
	char *new_key = env_get(ctx, app_a, "S3_ACCESS_KEY");
	assert_string_equal(newkey.ptr, new_key);
	assert_string_not_equal(new_key, old_key);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_mode & 0777, 0600);
	/* Replaced by rename, not rewritten in place. */
	assert_true(after.st_ino != before.st_ino);
	char *other = env_get(ctx, app_a, "OTHER_KEY");
	assert_string_equal(other, "kept");
	free(other);

	tl_buf got = TL_BUF_INIT;
	assert_refused(tl_s3_object_get_data(&got, old, bucket_a, "a.txt", 0), "the old key");
	assert_string_equal(tl_error_last()->upstream, "InvalidAccessKeyId");
	assert_refused(tl_s3_object_get_data(&got, stray, bucket_a, "a.txt", 0),
	               "a key left by an interrupted run");
	tl_s3 *fresh = app_client(ctx, app_a);
	assert_works(fresh, bucket_a, "a.txt", "of A");
	/* The rotated key is just as confined. */
	assert_refused(tl_s3_object_get_data(&got, fresh, bucket_b, "secret.txt", 0),
	               "the new key reads B's bucket");
	tl_s3_free(fresh);
	tl_s3 *b = app_client(ctx, app_b);
	assert_works(b, bucket_b, "secret.txt", "of B");
	tl_s3_free(b);

	/* An app never provisioned: a clear error, nothing made. */
	tl_assert_rc(TL_ENOTFOUND, tl_s3_app_rotate(NULL, s3, "iso-never", 0));
	tl_assert_error_contains("s3 app create");

	/* Rotating the backup keys kills the old backup key too. */
	tl_s3 *bk_old = NULL;
	tl_assert_ok(tl_s3_new_backup(&bk_old, ctx));
	tl_assert_ok(tl_s3_backup_keys_create(NULL, s3, 0));
	assert_refused(tl_s3_object_get_data(&got, bk_old, backup_bucket, "nightly/db.dump", 0),
	               "the old backup key");
	tl_s3 *bk = NULL;
	tl_assert_ok(tl_s3_new_backup(&bk, ctx));
	assert_works(bk, backup_bucket, "nightly/db.dump", "dump");
	tl_s3_free(bk);
	tl_s3_free(bk_old);

	tl_buf_dispose(&got);
	tl_buf_dispose(&newkey);
	tl_buf_dispose(&sk);
	tl_buf_dispose(&ss);
	free(new_key);
	free(old_key);
	free(path);
	tl_s3_free(stray);
	tl_s3_free(old);
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

/* Backups never fall back to the platform's keys. */
static void test_backup_needs_own_keys(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	char *dir = tl_test_tmpdir();
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", dir));
	tl_s3 *s3 = NULL;
	tl_assert_rc(TL_EINVALID, tl_s3_new_backup(&s3, ctx));
	assert_null(s3);
	tl_assert_error_contains("towlion s3 backup-keys");
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	tl_assert_rc(TL_EINVALID, tl_s3_backup_keys_create(NULL, s3, 0));
	tl_assert_error_contains("TOWLION_BACKUP_REMOTE");
	tl_s3_free(s3);
	tl_test_rmdir(dir);
	tl_ctx_free(ctx);
}

/* MinIO (or a store without a user API) is told apart clearly: no user is
 * made, no key written, and never the platform's keys instead. */
static void test_no_user_api_is_a_clear_error(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	char app[32], bucket[64];
	snprintf(app, sizeof(app), "iso%dm", (int)getpid() % 100000);
	snprintf(bucket, sizeof(bucket), "%s-uploads", app);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ADMIN_API", "minio"));
	tl_assert_rc(TL_EUNSUPPORTED, tl_s3_app_create(NULL, NULL, s3, app, 0));
	tl_assert_error_contains("mc admin user add");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ADMIN_API", "none"));
	tl_assert_rc(TL_EUNSUPPORTED, tl_s3_app_create(NULL, NULL, s3, app, 0));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_S3_ADMIN_API", "magic"));
	tl_assert_rc(TL_EINVALID, tl_s3_app_create(NULL, NULL, s3, app, 0));
	tl_assert_error_contains("TOWLION_S3_ADMIN_API");
	char *path = env_path(ctx, app);
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	tl_assert_rc(TL_ENOTFOUND, tl_s3_bucket_exists(s3, bucket));
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

/* App destroy removes the user and its keys; B is untouched. */
static void test_destroy_removes_user(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	tl_s3 *a = app_client(ctx, app_a);
	tl_assert_ok(tl_app_create(NULL, ctx, app_a, NULL));
	tl_destroy_options o = TL_DESTROY_OPTIONS_INIT;
	o.confirm = 1;
	tl_assert_ok(tl_app_destroy(ctx, app_a, &o));
	tl_buf got = TL_BUF_INIT;
	assert_refused(tl_s3_object_get_data(&got, a, bucket_a, "a.txt", 0),
	               "a destroyed app's key");
	assert_string_equal(tl_error_last()->upstream, "InvalidAccessKeyId");
	char *gone = env_get(ctx, app_a, "S3_SECRET_KEY");
	assert_null(gone);
	/* The user itself is gone: dropping again finds nothing. */
	tl_assert_rc(TL_ENOTFOUND, tl_s3_app_drop(s3, app_a, 0));
	/* Without purge the data stays, for the platform. */
	tl_assert_ok(tl_s3_object_get_data(&got, s3, bucket_a, "a.txt", 0));
	tl_s3 *b = app_client(ctx, app_b);
	assert_works(b, bucket_b, "secret.txt", "of B");
	tl_s3_free(b);
	tl_buf_dispose(&got);
	tl_s3_free(a);
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

/* The command: the app's secret is never printed, on stdout or stderr,
 * human or JSON; the access key id (not a secret) is. */
static void test_cli_never_prints_secrets(void **state)
{
	(void)state;
	tl_ctx *ctx = admin_ctx();
	char app[32], e_ep[300], e_ak[128], e_sk[128], e_state[600];
	snprintf(app, sizeof(app), "iso%dc", (int)getpid() % 100000);
	snprintf(e_ep, sizeof(e_ep), "TOWLION_S3_ENDPOINT=%s",
	         tl_ctx_config_get(ctx, "TOWLION_S3_ENDPOINT"));
	snprintf(e_ak, sizeof(e_ak), "TOWLION_S3_ACCESS_KEY=%s",
	         tl_ctx_config_get(ctx, "TOWLION_S3_ACCESS_KEY"));
	snprintf(e_sk, sizeof(e_sk), "TOWLION_S3_SECRET_KEY=%s",
	         tl_ctx_config_get(ctx, "TOWLION_S3_SECRET_KEY"));
	snprintf(e_state, sizeof(e_state), "TOWLION_STATE_DIR=%s", state_dir);
	const char *env[] = {e_ep, e_ak, e_sk, e_state, "TOWLION_S3_ADMIN_API=iam",
	                     "TOWLION_S3_IAM_ENDPOINT=", "TOWLION_S3_APP_ENDPOINT=", NULL};
	const char *verbs[][2] = {{"create", NULL}, {"rotate", NULL}, {"drop", NULL}};
	for (int json = 0; json < 2; json++) {
		for (size_t i = 0; i < 3; i++) {
			const char *argv[8] = {TL_TEST_BINARY_DIR "/towlion"};
			size_t n = 1;
			if (json)
				argv[n++] = "--json";
			argv[n++] = "s3";
			argv[n++] = "app";
			argv[n++] = verbs[i][0];
			argv[n++] = app;
			if (i == 0)
				argv[n++] = "--standalone"; /* no registered app of that name */
			tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
			                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
			tl__spawn_result r;
			memset(&r, 0, sizeof(r));
			tl_assert_ok(tl__spawn(&r, NULL, &o));
			const char *out = r.out.ptr ? r.out.ptr : "", *err = r.err.ptr ? r.err.ptr : "";
			if (r.exit_status != 0)
				fail_msg("towlion s3 app %s: exit %d: %s", verbs[i][0], r.exit_status, err);
			char *secret = env_get(ctx, app, "S3_SECRET_KEY");
			char *key = env_get(ctx, app, "S3_ACCESS_KEY");
			if (i < 2) {
				assert_non_null(secret);
				assert_null(strstr(out, secret));
				assert_null(strstr(err, secret));
				assert_null(strstr(out, tl_ctx_config_get(ctx, "TOWLION_S3_SECRET_KEY")));
			} else {
				assert_null(secret); /* dropped: gone from the env file */
			}
			if (i == 1) /* rotate names the new key id */
				assert_non_null(strstr(out, key));
			if (json) {
				json_error_t je;
				json_t *doc = json_loads(out, 0, &je);
				assert_non_null(doc);
				assert_string_equal(json_string_value(json_object_get(doc, "action")),
				                    verbs[i][0]);
				json_decref(doc);
			}
			free(secret);
			free(key);
			tl__spawn_result_dispose(&r);
		}
	}
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	char bucket[64];
	snprintf(bucket, sizeof(bucket), "%s-uploads", app);
	tl_assert_ok(tl_s3_bucket_purge(s3, bucket));
	tl_s3_free(s3);
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_refuses_wrong_keys),
		cmocka_unit_test(test_app_gets_keys_of_its_own),
		cmocka_unit_test(test_app_reaches_only_its_bucket),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_backup_needs_own_keys),
		cmocka_unit_test(test_no_user_api_is_a_clear_error),
		cmocka_unit_test(test_destroy_removes_user),
		cmocka_unit_test(test_cli_never_prints_secrets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
