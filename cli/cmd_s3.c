/* towlion s3: buckets and objects in the platform's object storage. */
#include "cli.h"

#include <string.h>
#include <time.h>

static int open_s3(cli *c, tl_s3 **s3)
{
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	int rc = tl_s3_new(s3, ctx, NULL);
	return rc ? cli_fail(c, rc) : 0;
}

/* A bucket or user for a name that is no registered app is one that
 * `app destroy` never removes: refused unless --standalone. */
static int check_registered(cli *c, const char *app, const char *standalone)
{
	if (standalone)
		return 0;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, app);
	tl_app_free(a);
	if (rc == TL_ENOTFOUND)
		return cli_error(c, EXIT_NOTFOUND,
		                 "%s is no registered app: register it first (towlion app create %s "
		                 "DOMAIN), or ask for a standalone bucket (--standalone)",
		                 app, app);
	return rc ? cli_fail(c, rc) : 0;
}

static int run_bucket(cli *c)
{
	const char *pos[2] = {NULL, NULL}, *standalone = NULL;
	size_t npos = 0;
	cli_opt opts[] = {{"--standalone", false, &standalone}};
	int rc = cli_parse(c, opts, 1, pos, 1, 2, &npos);
	if (rc)
		return rc;
	if (!strcmp(pos[0], "list")) {
		if (npos != 1)
			return cli_usage(c, "bucket list takes no argument");
		tl_s3 *s3 = NULL;
		if ((rc = open_s3(c, &s3)))
			return rc;
		tl_s3_bucket_list *l = NULL;
		if ((rc = tl_s3_bucket_list_get(&l, s3)) != TL_OK) {
			rc = cli_fail(c, rc);
			tl_s3_free(s3);
			return rc;
		}
		json_t *arr = json_array();
		for (size_t i = 0; i < tl_s3_bucket_list_count(l); i++) {
			json_array_append_new(arr, json_pack("{s:s, s:s}", "name",
			                                     tl_s3_bucket_list_at(l, i), "created",
			                                     tl_s3_bucket_list_created_at(l, i)));
			cli_print(c, "%-24s %s\n", tl_s3_bucket_list_created_at(l, i),
			          tl_s3_bucket_list_at(l, i));
		}
		cli_set_result(c, json_pack("{s:o}", "buckets", arr));
		tl_s3_bucket_list_free(l);
		tl_s3_free(s3);
		return 0;
	}
	if (strcmp(pos[0], "create") != 0 || npos != 2)
		return cli_usage(c, "expected: bucket create APP, or bucket list");
	/* The bucket only; the app's keys come from `s3 app create`. */
	const char *app = pos[1];
	tl_buf bucket = TL_BUF_INIT;
	if (tl_s3_app_bucket(&bucket, app) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	if ((rc = check_registered(c, app, standalone))) {
		tl_buf_dispose(&bucket);
		return rc;
	}
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3))) {
		tl_buf_dispose(&bucket);
		return rc;
	}
	if (!c->dry_run && (rc = tl_s3_bucket_create(s3, bucket.ptr)) != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		cli_set_result(c, json_pack("{s:s, s:s, s:s, s:b}", "app", app, "bucket",
		                            bucket.ptr, "endpoint", tl_s3_endpoint(s3), "dry_run",
		                            c->dry_run));
		if (c->dry_run)
			cli_print(c, "plan (--dry-run: nothing was changed):\n"
			             "  would create bucket %s (if missing)\n", bucket.ptr);
		else
			cli_print(c, "bucket %s at %s (the app's own keys: towlion s3 app create %s)\n",
			          bucket.ptr, tl_s3_endpoint(s3), app);
	}
	tl_buf_dispose(&bucket);
	tl_s3_free(s3);
	return rc;
}

/* towlion s3 app create|rotate|drop APP: the app's own user and keys. */
static int run_app(cli *c)
{
	const char *pos[2] = {NULL, NULL}, *standalone = NULL;
	size_t npos = 0;
	cli_opt opts[] = {{"--standalone", false, &standalone}};
	int rc = cli_parse(c, opts, 1, pos, 2, 2, &npos);
	if (rc)
		return rc;
	const char *verb = pos[0], *app = pos[1];
	if (strcmp(verb, "create") && strcmp(verb, "rotate") && strcmp(verb, "drop"))
		return cli_usage(c, "expected: app create|rotate|drop APP");
	if (tl_validate_app_name(app) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3)))
		return rc;
	unsigned int flags = c->dry_run ? TL_S3_DRY_RUN : 0;
	tl_buf bucket = TL_BUF_INIT, env = TL_BUF_INIT, key = TL_BUF_INIT;
	if (!strcmp(verb, "create"))
		rc = tl_s3_app_create(&bucket, &env, s3, app,
		                      flags | (standalone ? 0 : TL_S3_REGISTERED_ONLY));
	else if (!strcmp(verb, "rotate"))
		rc = tl_s3_app_rotate(&key, s3, app, flags);
	else
		rc = tl_s3_app_drop(s3, app, flags);
	if (rc == TL_ENOTFOUND && !strcmp(verb, "drop"))
		rc = TL_OK; /* nothing to drop: the goal holds */
	if (rc != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		/* Never the secret; the access key id is not one. */
		char user[64];
		snprintf(user, sizeof(user), "towlion-app-%s", app);
		json_t *doc = json_pack("{s:s, s:s, s:s, s:b}", "app", app, "action", verb, "user",
		                        user, "dry_run", c->dry_run);
		if (bucket.size)
			json_object_set_new(doc, "bucket", json_string(bucket.ptr));
		if (env.size)
			json_object_set_new(doc, "env_file", json_string(env.ptr));
		if (key.size)
			json_object_set_new(doc, "access_key", json_string(key.ptr));
		cli_set_result(c, doc);
		if (c->dry_run)
			cli_print(c, "plan (--dry-run: nothing was changed):\n  would %s the object "
			             "storage user %s%s%s\n", verb, user,
			          bucket.size ? " of bucket " : "", bucket.size ? bucket.ptr : "");
		else if (!strcmp(verb, "create"))
			cli_print(c, "user %s reaches only bucket %s; its keys are in %s\n", user,
			          bucket.ptr, env.ptr);
		else if (!strcmp(verb, "rotate"))
			cli_print(c, "user %s has a new key %s; the old one no longer works "
			             "(redeploy %s to use the new one)\n", user, key.ptr, app);
		else
			cli_print(c, "user %s and its keys are gone\n", user);
	}
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&env);
	tl_buf_dispose(&key);
	tl_s3_free(s3);
	return rc;
}

/* towlion s3 backup-keys: the offsite backups' own user and keys. */
static int run_backup_keys(cli *c)
{
	size_t npos = 0;
	int rc = cli_parse(c, NULL, 0, NULL, 0, 0, &npos);
	if (rc)
		return rc;
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3)))
		return rc;
	tl_buf path = TL_BUF_INIT;
	rc = tl_s3_backup_keys_create(&path, s3, c->dry_run ? TL_S3_DRY_RUN : 0);
	if (rc != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		cli_set_result(c, json_pack("{s:s, s:s, s:b}", "user", "towlion-backup", "file",
		                            path.ptr, "dry_run", c->dry_run));
		if (c->dry_run)
			cli_print(c, "plan (--dry-run: nothing was changed):\n  would make user "
			             "towlion-backup and write its keys to %s\n", path.ptr);
		else
			cli_print(c, "user towlion-backup reaches only the backup bucket; its keys "
			             "are in %s\n", path.ptr);
	}
	tl_buf_dispose(&path);
	tl_s3_free(s3);
	return rc;
}

static int run_ls(cli *c)
{
	const char *target = NULL, *recursive = NULL;
	cli_opt opts[] = {{"--recursive", false, &recursive}};
	size_t npos = 0;
	int rc = cli_parse(c, opts, 1, &target, 0, 1, &npos);
	if (rc)
		return rc;
	if (!npos) {
		/* No bucket: list the buckets. */
		static char list[] = "list";
		char *argv[] = {list};
		c->argc = 1;
		c->argv = argv;
		return run_bucket(c);
	}
	tl_buf bucket = TL_BUF_INIT, prefix = TL_BUF_INIT;
	if (tl_s3_split(&bucket, &prefix, target) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3))) {
		tl_buf_dispose(&bucket);
		tl_buf_dispose(&prefix);
		return rc;
	}
	tl_s3_list_options lo;
	tl_s3_list_options_init(&lo, TL_S3_LIST_OPTIONS_VERSION);
	lo.prefix = prefix.ptr;
	lo.delimiter = recursive ? NULL : "/";
	tl_s3_object_list *l = NULL;
	if ((rc = tl_s3_object_list_get(&l, s3, bucket.ptr, &lo)) != TL_OK) {
		rc = cli_fail(c, rc);
	} else {
		json_t *objs = json_array(), *pres = json_array();
		for (size_t i = 0; i < tl_s3_object_list_prefix_count(l); i++) {
			json_array_append_new(pres, json_string(tl_s3_object_list_prefix_at(l, i)));
			cli_print(c, "%20s %12s  %s\n", "", "PRE", tl_s3_object_list_prefix_at(l, i));
		}
		for (size_t i = 0; i < tl_s3_object_list_count(l); i++) {
			const tl_s3_object *o = tl_s3_object_list_at(l, i);
			char when[32];
			cli_format_time(when, tl_s3_object_last_modified(o));
			json_array_append_new(objs, json_pack("{s:s, s:I, s:s, s:s}", "key",
			                                      tl_s3_object_key(o), "size",
			                                      (json_int_t)tl_s3_object_size(o), "etag",
			                                      tl_s3_object_etag(o), "last_modified", when));
			cli_print(c, "%20s %12llu  %s\n", when,
			          (unsigned long long)tl_s3_object_size(o), tl_s3_object_key(o));
		}
		cli_set_result(c, json_pack("{s:s, s:s, s:o, s:o}", "bucket", bucket.ptr, "prefix",
		                            prefix.ptr ? prefix.ptr : "", "prefixes", pres, "objects",
		                            objs));
		rc = 0;
	}
	tl_s3_object_list_free(l);
	tl_s3_free(s3);
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&prefix);
	return rc;
}

/* BUCKET/KEY of a transfer (a key is required). */
static int remote_object(cli *c, tl_buf *bucket, tl_buf *key, const char *remote)
{
	if (tl_s3_split(bucket, key, remote) != TL_OK)
		return cli_usage(c, "%s", tl_error_last()->message);
	if (!key->ptr || !*key->ptr) {
		tl_buf_dispose(bucket);
		tl_buf_dispose(key);
		return cli_usage(c, "'%s' names no object: use BUCKET/KEY", remote);
	}
	return 0;
}

static int run_put(cli *c)
{
	const char *pos[2] = {NULL, NULL}, *type = NULL;
	cli_opt opts[] = {{"--content-type", true, &type}};
	int rc = cli_parse(c, opts, 1, pos, 2, 2, NULL);
	tl_buf bucket = TL_BUF_INIT, key = TL_BUF_INIT;
	if (rc || (rc = remote_object(c, &bucket, &key, pos[1])))
		return rc;
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3)) == 0) {
		if (c->dry_run) {
			cli_set_result(c, json_pack("{s:s, s:s, s:s, s:b}", "file", pos[0], "bucket",
			                            bucket.ptr, "key", key.ptr, "dry_run", 1));
			cli_print(c, "plan (--dry-run: nothing was changed):\n  would upload %s to "
			             "%s/%s\n", pos[0], bucket.ptr, key.ptr);
		} else {
			tl_s3_transfer_options o;
			tl_s3_transfer_options_init(&o, TL_S3_TRANSFER_OPTIONS_VERSION);
			o.content_type = type;
			tl_buf etag = TL_BUF_INIT;
			if ((rc = tl_s3_object_put_file(&etag, s3, bucket.ptr, key.ptr, pos[0], &o)))
				rc = cli_fail(c, rc);
			else {
				cli_set_result(c, json_pack("{s:s, s:s, s:s, s:s, s:b}", "file", pos[0],
				                            "bucket", bucket.ptr, "key", key.ptr, "etag",
				                            etag.ptr, "dry_run", 0));
				cli_print(c, "uploaded %s to %s/%s (ETag %s)\n", pos[0], bucket.ptr,
				          key.ptr, etag.ptr);
			}
			tl_buf_dispose(&etag);
		}
		tl_s3_free(s3);
	}
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&key);
	return rc;
}

static int run_get(cli *c)
{
	const char *pos[2] = {NULL, NULL};
	int rc = cli_parse(c, NULL, 0, pos, 2, 2, NULL);
	tl_buf bucket = TL_BUF_INIT, key = TL_BUF_INIT;
	if (rc || (rc = remote_object(c, &bucket, &key, pos[0])))
		return rc;
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3)) == 0) {
		tl_s3_object *o = NULL;
		if ((rc = tl_s3_object_head(&o, s3, bucket.ptr, key.ptr)) != TL_OK) {
			rc = cli_fail(c, rc);
		} else if (c->dry_run) {
			cli_set_result(c, json_pack("{s:s, s:s, s:s, s:I, s:b}", "bucket", bucket.ptr,
			                            "key", key.ptr, "file", pos[1], "size",
			                            (json_int_t)tl_s3_object_size(o), "dry_run", 1));
			cli_print(c, "plan (--dry-run: nothing was changed):\n  would download "
			             "%s/%s (%llu bytes) to %s\n", bucket.ptr, key.ptr,
			          (unsigned long long)tl_s3_object_size(o), pos[1]);
		} else if ((rc = tl_s3_object_get_file(s3, bucket.ptr, key.ptr, pos[1], NULL))) {
			rc = cli_fail(c, rc);
		} else {
			cli_set_result(c, json_pack("{s:s, s:s, s:s, s:I, s:s, s:b}", "bucket",
			                            bucket.ptr, "key", key.ptr, "file", pos[1], "size",
			                            (json_int_t)tl_s3_object_size(o), "etag",
			                            tl_s3_object_etag(o), "dry_run", 0));
			cli_print(c, "downloaded %s/%s to %s (%llu bytes, checked)\n", bucket.ptr,
			          key.ptr, pos[1], (unsigned long long)tl_s3_object_size(o));
		}
		tl_s3_object_free(o);
		tl_s3_free(s3);
	}
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&key);
	return rc;
}

static int run_rm(cli *c)
{
	const char *remote = NULL;
	int rc = cli_parse(c, NULL, 0, &remote, 1, 1, NULL);
	tl_buf bucket = TL_BUF_INIT, key = TL_BUF_INIT;
	if (rc || (rc = remote_object(c, &bucket, &key, remote)))
		return rc;
	tl_s3 *s3 = NULL;
	if ((rc = open_s3(c, &s3)) == 0) {
		if (c->dry_run) {
			cli_print(c, "plan (--dry-run: nothing was changed):\n  would delete %s/%s\n",
			          bucket.ptr, key.ptr);
		} else if ((rc = tl_s3_object_delete(s3, bucket.ptr, key.ptr))) {
			rc = cli_fail(c, rc);
		} else {
			cli_print(c, "deleted %s/%s\n", bucket.ptr, key.ptr);
		}
		if (!rc)
			cli_set_result(c, json_pack("{s:s, s:s, s:b}", "bucket", bucket.ptr, "key",
			                            key.ptr, "dry_run", c->dry_run));
		tl_s3_free(s3);
	}
	tl_buf_dispose(&bucket);
	tl_buf_dispose(&key);
	return rc;
}

static const cli_verb verbs[] = {
	{"bucket", "create APP [--standalone] | list",
	 "create the app's bucket APP-uploads (no keys: see s3 app; APP must be a registered "
	 "app unless --standalone); or list the buckets",
	 "towlion s3 bucket create shop", true, run_bucket},
	{"app", "create|rotate|drop APP [--standalone]",
	 "the app's own object storage user, which reaches only APP-uploads: create it with "
	 "a key pair and write S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY, S3_SECRET_KEY into its "
	 "env file; rotate its keys (the old key stops working); or delete it and its keys",
	 "towlion s3 app create shop", true, run_app},
	{"backup-keys", "",
	 "make the offsite backups' own user (reaches only the bucket of "
	 "TOWLION_BACKUP_REMOTE) and write its keys to $TOWLION_STATE_DIR/backup-s3.env",
	 "towlion s3 backup-keys", true, run_backup_keys},
	{"ls", "[BUCKET[/PREFIX]] [--recursive]",
	 "list the buckets, or the objects and folders under a prefix",
	 "towlion s3 ls shop-uploads/images/", false, run_ls},
	{"put", "FILE BUCKET/KEY [--content-type T]",
	 "upload a file (streamed; in parts above 64 MiB; checked by the server)",
	 "towlion s3 put backup.dump backups/pg/backup.dump", true, run_put},
	{"get", "BUCKET/KEY FILE",
	 "download an object into FILE, replaced only once complete and checked",
	 "towlion s3 get backups/pg/backup.dump /tmp/backup.dump", true, run_get},
	{"rm", "BUCKET/KEY", "delete an object", "towlion s3 rm shop-uploads/old.png", true,
	 run_rm},
};

const cli_group cli_group_s3 = {"s3", "buckets and objects in the object storage", verbs,
                                sizeof(verbs) / sizeof(verbs[0])};
