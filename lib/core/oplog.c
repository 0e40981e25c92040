/* In-flight operation records: see oplog.h. */
#include "oplog.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUFFIX ".json"

static char *ops_dir(tl_ctx *ctx)
{
	return tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "ops");
}

/* Project names are app names or "<app>-pr-N": DNS labels. */
static bool valid_project(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	if (!n || n > 63 || p[0] == '-' || p[n - 1] == '-')
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static char *record_path(tl_ctx *ctx, const char *project)
{
	if (!valid_project(project))
		return NULL;
	char *dir = ops_dir(ctx);
	char *p = dir ? tl__sprintf("%s/%s" SUFFIX, dir, project) : NULL;
	free(dir);
	return p;
}

int tl__oplog_write(tl_ctx *ctx, const char *project, const char *kind, const char *step,
                    json_t *fields)
{
	if (!valid_project(project))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "invalid project name for a record");
	char *dir = ops_dir(ctx);
	char *path = record_path(ctx, project);
	int rc = dir && path ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	json_t *j = rc ? NULL
	               : json_pack("{s:i, s:s, s:s, s:I, s:I, s:s}", "version", 1, "kind", kind,
	                           "project", project, "pid", (json_int_t)getpid(), "started",
	                           (json_int_t)time(NULL), "step", step);
	/* the fields win: a rewrite keeps the first "started" */
	if (rc == TL_OK && (!j || (fields && json_object_update(j, fields) != 0)))
		rc = tl__error_oom();
	char *text = rc ? NULL : json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (rc == TL_OK && !text)
		rc = tl__error_oom();
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	if (rc)
		tl__error_prefix("cannot record the %s of %s before starting it", kind, project);
	json_decref(j);
	free(text);
	free(dir);
	free(path);
	return rc;
}

void tl__oplog_remove(tl_ctx *ctx, const char *project)
{
	char *dir = ops_dir(ctx);
	char *path = record_path(ctx, project);
	if (path && unlink(path) == 0 && dir)
		tl__fsync_dir(dir);
	free(path);
	free(dir);
}

int tl__oplog_read(json_t **out, tl_ctx *ctx, const char *project)
{
	if (!valid_project(project))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "invalid project name for a record");
	char *path = record_path(ctx, project);
	if (!path)
		return TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	int rc = tl__file_read(&text, path);
	json_t *j = NULL;
	if (rc == TL_ENOTFOUND)
		tl_error_clear();
	else if (rc == TL_OK && !(j = json_loadb(text.ptr ? text.ptr : "", text.size, 0, NULL)))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                   "%s is not JSON; inspect and remove it", path);
	else if (rc == TL_OK && !json_is_object(j))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                   "%s is not a record; inspect and remove it", path);
	if (rc == TL_OK)
		*out = j;
	else
		json_decref(j);
	tl_buf_dispose(&text);
	free(path);
	return rc;
}

int tl__oplog_list(char ***out, tl_ctx *ctx)
{
	*out = NULL;
	char *dir = ops_dir(ctx);
	if (!dir)
		return TL_ENOMEM;
	DIR *d = opendir(dir);
	int rc = TL_OK;
	if (!d && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot read %s", dir);
	for (struct dirent *de; d && rc == TL_OK && (de = readdir(d));) {
		size_t n = strlen(de->d_name), sl = strlen(SUFFIX);
		if (n <= sl || strcmp(de->d_name + n - sl, SUFFIX))
			continue;
		char *name = tl__strndup(de->d_name, n - sl);
		if (!name)
			rc = TL_ENOMEM;
		else if (valid_project(name))
			rc = tl__strv_push(out, name);
		free(name);
	}
	if (d)
		closedir(d);
	free(dir);
	return rc;
}

int tl__oplog_malformed(tl_ctx *ctx, const char *project)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
	                     "the in-flight record of %s is malformed; inspect and remove it "
	                     "(%s/ops/%s.json)",
	                     project, tl__cfg(ctx, "TOWLION_STATE_DIR"), project);
}

const char *tl__oplog_str(const json_t *rec, const char *key)
{
	const char *v = json_string_value(json_object_get(rec, key));
	return v ? v : "";
}

int tl__oplog_step(tl_ctx *ctx, const char *project, const char *step)
{
	json_t *rec = NULL;
	int rc = tl__oplog_read(&rec, ctx, project);
	if (rc == TL_OK) {
		json_t *fields = json_deep_copy(rec);
		const char *kind = tl__oplog_str(rec, "kind");
		if (!fields || json_object_del(fields, "kind") || json_object_del(fields, "step") ||
		    json_object_del(fields, "pid"))
			rc = tl__error_oom();
		/* started stays the operation's start */
		if (rc == TL_OK)
			rc = tl__oplog_write(ctx, project, kind, step, fields);
		json_decref(fields);
	}
	json_decref(rec);
	return rc;
}
