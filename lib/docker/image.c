/* Images: build from a context directory, inspect, list, tag, remove,
 * prune and import. */
#include "docker_int.h"
#include "core/url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct tl_docker_build_spec {
	char *context;
	char *dockerfile;
	char *target;
	json_t *tags;   /* array */
	json_t *args;   /* object */
	json_t *labels; /* object */
	int no_cache;
	long timeout_ms;
};

int tl_docker_build_spec_new(tl_docker_build_spec **out, const char *context_dir)
{
	TL__CHECK_ARG(out && context_dir && *context_dir);
	tl_docker_build_spec *s = tl__calloc(1, sizeof(*s));
	if (!s)
		return TL_ENOMEM;
	s->context = tl__strdup(context_dir);
	s->tags = json_array();
	s->args = json_object();
	s->labels = json_object();
	if (!s->context || !s->tags || !s->args || !s->labels) {
		tl_docker_build_spec_free(s);
		return tl__error_oom();
	}
	*out = s;
	return TL_OK;
}

void tl_docker_build_spec_free(tl_docker_build_spec *s)
{
	if (!s)
		return;
	free(s->context);
	free(s->dockerfile);
	free(s->target);
	json_decref(s->tags);
	json_decref(s->args);
	json_decref(s->labels);
	free(s);
}

static int set_str(char **dst, const char *v)
{
	char *n = v ? tl__strdup(v) : NULL;
	if (v && !n)
		return TL_ENOMEM;
	free(*dst);
	*dst = n;
	return TL_OK;
}

int tl_docker_build_spec_set_dockerfile(tl_docker_build_spec *s, const char *path)
{
	TL__CHECK_ARG(s);
	if (path && (path[0] == '/' || strstr(path, "..")))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "Dockerfile path \"%s\" must be relative to the build "
		                     "context and stay inside it", path);
	return set_str(&s->dockerfile, path);
}

int tl_docker_build_spec_set_target(tl_docker_build_spec *s, const char *target)
{
	TL__CHECK_ARG(s);
	return set_str(&s->target, target);
}

int tl_docker_build_spec_add_tag(tl_docker_build_spec *s, const char *tag)
{
	TL__CHECK_ARG(s && tag);
	int rc = tl__docker_check_ref(tag, "image tag");
	if (rc)
		return rc;
	return json_array_append_new(s->tags, json_string(tag)) ? tl__error_oom() : TL_OK;
}

static int set_kv(json_t *obj, const char *key, const char *value)
{
	if (!key || !*key || !value)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "empty key or NULL value");
	json_t *v = json_string(value);
	if (!v)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "value of %s is not valid UTF-8", key);
	return json_object_set_new(obj, key, v) ? tl__error_oom() : TL_OK;
}

int tl_docker_build_spec_add_arg(tl_docker_build_spec *s, const char *key, const char *value)
{
	TL__CHECK_ARG(s);
	return set_kv(s->args, key, value);
}

int tl_docker_build_spec_add_label(tl_docker_build_spec *s, const char *key,
                                   const char *value)
{
	TL__CHECK_ARG(s);
	return set_kv(s->labels, key, value);
}

int tl_docker_build_spec_set_no_cache(tl_docker_build_spec *s, int no_cache)
{
	TL__CHECK_ARG(s);
	s->no_cache = no_cache != 0;
	return TL_OK;
}

int tl_docker_build_spec_set_timeout(tl_docker_build_spec *s, long timeout_ms)
{
	TL__CHECK_ARG(s && timeout_ms >= 0);
	s->timeout_ms = timeout_ms;
	return TL_OK;
}

/* ---- build ---- */

typedef struct {
	tl_docker *d;
	tl__docker_lines lines;
	tl__docker_messages msgs; /* the answer cut into messages */
	tl_buf raw;     /* a non-200 answer */
	tl_buf step;    /* the last "Step N/M : ..." line */
	tl_buf error;   /* errorDetail message */
	tl_buf id;      /* aux.ID */
	tl__docker_tar *tar;
	int64_t sent;
} build_state;

static int on_build_line(void *payload, const char *s, size_t n)
{
	build_state *b = payload;
	json_t *j = json_loadb(s, n, 0, NULL);
	if (!j)
		return TL_OK; /* not ours to judge: keep reading */
	int rc = TL_OK;
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *status = json_string_value(json_object_get(j, "status"));
	json_t *ed = json_object_get(j, "errorDetail");
	const char *err = json_string_value(json_object_get(ed, "message"));
	if (!err)
		err = json_string_value(json_object_get(j, "error"));
	const char *id = json_string_value(json_object_get(json_object_get(j, "aux"), "ID"));
	if (stream) {
		if (tl__str_startswith(stream, "Step ")) {
			size_t l = strcspn(stream, "\r\n");
			tl__buf_set(&b->step, stream, l);
		}
		rc = tl__docker_lines_put(&b->lines, DK_STDOUT, stream, strlen(stream));
	} else if (status) {
		rc = tl__docker_lines_put(&b->lines, DK_STDOUT, status, strlen(status));
		if (!rc)
			rc = tl__docker_lines_put(&b->lines, DK_STDOUT, "\n", 1);
	}
	if (!rc && err && b->error.size == 0) {
		size_t l = strlen(err);
		while (l && (err[l - 1] == '\n' || err[l - 1] == ' '))
			l--;
		rc = tl__buf_set(&b->error, err, l);
		if (!rc)
			rc = tl__docker_lines_put(&b->lines, DK_STDERR, err, strlen(err));
		if (!rc)
			rc = tl__docker_lines_put(&b->lines, DK_STDERR, "\n", 1);
	}
	if (!rc && id)
		rc = tl__buf_set(&b->id, id, strlen(id));
	json_decref(j);
	return rc;
}

/* Docker's answer is JSON lines, one message per chunk the build wrote
 * ({"stream":"..."}); the text of the messages goes line by line to
 * events (tl__docker_lines, which cuts lines at DK_LINE_MAX). A message longer
 * than BUILD_MESSAGE_MAX is not Docker's usual and is dropped with a
 * note, so that memory stays flat whatever the build prints. */
#define BUILD_MESSAGE_MAX (1u << 20)

static int build_message_dropped(void *p)
{
	build_state *b = p;
	char note[120];
	snprintf(note, sizeof(note), "\n[a build message longer than %u bytes was dropped]\n",
	         BUILD_MESSAGE_MAX);
	return tl__docker_lines_put(&b->lines, DK_STDERR, note, strlen(note));
}

static int build_sink(const char *data, size_t len, void *p)
{
	build_state *b = p;
	return tl__docker_messages_put(&b->msgs, data, len);
}

static size_t build_reader(char *buf, size_t len, void *p)
{
	build_state *b = p;
	size_t n = tl__docker_tar_read(buf, len, b->tar);
	if (n != (size_t)-1 && n > 0) {
		b->sent += (int64_t)n;
		if (tl__progress(b->d->ctx, "docker.build.context", (uint64_t)b->sent,
		                 (uint64_t)tl__docker_tar_size(b->tar)))
			return (size_t)-1;
	}
	return n;
}

static int put_query(tl_buf *q, const char *key, const char *value)
{
	int rc = tl__buf_printf(q, "%c%s=", strchr(q->ptr, '?') ? '&' : '?', key);
	return rc ? rc : tl__url_encode(q, value);
}

static int put_query_json(tl_buf *q, const char *key, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return tl__error_oom();
	int rc = put_query(q, key, s);
	free(s);
	return rc;
}

static int read_dockerignore(tl__docker_ignore **ig, const char *ctx_dir)
{
	char *p = tl__path_join(ctx_dir, ".dockerignore");
	if (!p)
		return TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	int rc = tl__file_read_max(&text, p, DK_IGNORE_MAX_BYTES, "the .dockerignore");
	free(p);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		rc = TL_OK;
	}
	if (rc == TL_OK)
		rc = tl__docker_ignore_parse(ig, text.ptr, text.size);
	tl_buf_dispose(&text);
	return rc;
}

int tl_docker_image_build(tl_buf *image_id, tl_docker *d, const tl_docker_build_spec *spec)
{
	TL__CHECK_ARG(d && spec);
	struct stat st;
	if (stat(spec->context, &st) != 0 || !S_ISDIR(st.st_mode))
		return tl__error_set(errno == ENOENT || !errno ? TL_ENOTFOUND : TL_EIO,
		                     TL_ERRCLASS_DOCKER,
		                     "build context %s is not a directory", spec->context);
	const char *dockerfile = spec->dockerfile ? spec->dockerfile : "Dockerfile";
	char *df_path = tl__path_join(spec->context, dockerfile);
	if (!df_path)
		return TL_ENOMEM;
	int df_ok = stat(df_path, &st) == 0 && S_ISREG(st.st_mode);
	free(df_path);
	if (!df_ok)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DOCKER,
		                     "no Dockerfile at %s/%s: add one or name it in the build "
		                     "spec", spec->context, dockerfile);

	build_state b = {0};
	b.d = d;
	b.msgs = (tl__docker_messages){.max = BUILD_MESSAGE_MAX, .on_message = on_build_line,
	                               .on_dropped = build_message_dropped, .payload = &b};
	b.lines.ctx = d->ctx;
	b.lines.subject = json_string_value(json_array_get(spec->tags, 0));
	if (!b.lines.subject)
		b.lines.subject = spec->context;
	tl__docker_ignore *ig = NULL;
	tl_buf q = TL_BUF_INIT;
	const char *always[] = {dockerfile, ".dockerignore", NULL};
	int rc = read_dockerignore(&ig, spec->context);
	if (!rc)
		rc = tl__docker_tar_plan(&b.tar, spec->context, ig, always);
	tl__docker_ignore_free(ig);
	if (!rc)
		rc = tl__step(d->ctx, "docker.build", b.lines.subject,
		              "Building %s from %s (%zu files, %lld bytes of context)",
		              b.lines.subject, spec->context, tl__docker_tar_count(b.tar),
		              (long long)tl__docker_tar_size(b.tar));
	if (!rc)
		rc = tl__buf_puts(&q, "/build?rm=1&forcerm=1");
	size_t i;
	json_t *t;
	json_array_foreach(spec->tags, i, t) {
		if (!rc)
			rc = put_query(&q, "t", json_string_value(t));
	}
	if (!rc)
		rc = put_query(&q, "dockerfile", dockerfile);
	if (!rc && spec->target)
		rc = put_query(&q, "target", spec->target);
	if (!rc && json_object_size(spec->args))
		rc = put_query_json(&q, "buildargs", spec->args);
	if (!rc && json_object_size(spec->labels))
		rc = put_query_json(&q, "labels", spec->labels);
	if (!rc && spec->no_cache)
		rc = tl__buf_puts(&q, "&nocache=1");
	long status = 0;
	if (!rc) {
		tl__docker_req r = {.method = "POST", .path = q.ptr, .content_type = "application/x-tar",
		            .reader = build_reader, .reader_payload = &b,
		            .upload_len = tl__docker_tar_size(b.tar), .sink = build_sink,
		            .sink_payload = &b, .timeout_ms = spec->timeout_ms,
		            .what = "build the image"};
		rc = tl__docker_request(d, &r, &status, &b.raw);
	}
	if (!rc)
		rc = tl__docker_messages_end(&b.msgs);
	if (!rc)
		rc = tl__docker_lines_flush(&b.lines);
	if (!rc && status != 200) {
		char *what = tl__sprintf("build the image from %s", spec->context);
		rc = tl__docker_error(status, b.raw.ptr, b.raw.size, what ? what : "build the image");
		free(what);
	} else if (!rc && b.error.size) {
		char up[8] = "200";
		rc = tl__error_set_upstream(
			TL_ERROR, TL_ERRCLASS_DOCKER, up, 200, "building %s failed%s%s: %s",
			b.lines.subject, b.step.size ? " at " : "", b.step.size ? b.step.ptr : "",
			b.error.ptr);
	} else if (!rc && b.id.size == 0) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "building %s: Docker ended the build without an image id",
		                   b.lines.subject);
	}
	if (!rc && image_id)
		rc = tl__buf_set(image_id, b.id.ptr, b.id.size);
	tl__docker_lines_dispose(&b.lines);
	tl__docker_tar_free(b.tar);
	tl__docker_messages_dispose(&b.msgs);
	tl_buf_dispose(&b.raw);
	tl_buf_dispose(&b.step);
	tl_buf_dispose(&b.error);
	tl_buf_dispose(&b.id);
	tl_buf_dispose(&q);
	return rc;
}

/* ---- inspect, list, tag, remove, prune ---- */

int tl_docker_image_inspect(tl_docker_image **out, tl_docker *d, const char *image)
{
	TL__CHECK_ARG(out && d);
	int rc = tl__docker_check_ref(image, "image name");
	if (rc)
		return rc;
	json_t *j = NULL;
	if ((rc = tl__docker_inspect(&j, d, "images", "/json", "image", image)))
		return rc;
	tl_docker_image *img = tl__docker_image_wrap(j);
	json_decref(j);
	if (!img)
		return TL_ENOMEM;
	*out = img;
	return TL_OK;
}

int tl_docker_image_list_by_label(tl_docker_image_list **out, tl_docker *d,
                                  const char *const *label_filters)
{
	TL__CHECK_ARG(out && d);
	json_t *j = NULL;
	int rc = tl__docker_list(&j, d, "/images/json", label_filters, "list images");
	if (!rc)
		rc = tl__docker_image_list_new(out, j);
	json_decref(j);
	return rc;
}

int tl_docker_image_tag(tl_docker *d, const char *image, const char *repo, const char *tag)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(image, "image name");
	if (!rc)
		rc = tl__docker_check_ref(repo, "repository name");
	if (!rc && tag)
		rc = tl__docker_check_ref(tag, "tag");
	if (rc)
		return rc;
	tl_buf q = TL_BUF_INIT;
	rc = tl__buf_printf(&q, "/images/%s/tag?repo=", image);
	if (!rc)
		rc = tl__url_encode(&q, repo);
	if (!rc)
		rc = tl__buf_puts(&q, "&tag=");
	if (!rc)
		rc = tl__url_encode(&q, tag ? tag : "latest");
	char *what = tl__sprintf("tag image %s as %s:%s", image, repo, tag ? tag : "latest");
	if (!rc)
		rc = what ? tl__docker_call(d, "POST", q.ptr, NULL, NULL, 0, what) : TL_ENOMEM;
	free(what);
	tl_buf_dispose(&q);
	return rc;
}

int tl_docker_image_remove(tl_docker *d, const char *image, int force)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(image, "image name");
	if (rc)
		return rc;
	char *path = tl__sprintf("/images/%s%s", image, force ? "?force=1" : "");
	char *what = tl__sprintf("remove image %s", image);
	rc = path && what ? tl__docker_call(d, "DELETE", path, NULL, NULL, 0, what) : TL_ENOMEM;
	free(path);
	free(what);
	return rc;
}

int tl_docker_image_prune(uint64_t *reclaimed, tl_docker *d, const char *const *label_filters)
{
	TL__CHECK_ARG(d);
	if (!label_filters || !label_filters[0])
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "prune needs at least one label filter, so that only the "
		                     "platform's own images can go");
	json_t *labels = json_array();
	for (const char *const *l = label_filters; *l; l++)
		json_array_append_new(labels, json_string(*l));
	json_t *f = json_pack("{s:o, s:[s]}", "label", labels, "dangling", "false");
	char *fs = f ? json_dumps(f, JSON_COMPACT) : NULL;
	json_decref(f);
	tl_buf q = TL_BUF_INIT;
	int rc = fs ? tl__buf_puts(&q, "/images/prune?filters=") : TL_ENOMEM;
	if (!rc)
		rc = tl__url_encode(&q, fs);
	free(fs);
	json_t *j = NULL;
	if (!rc)
		rc = tl__docker_call(d, "POST", q.ptr, NULL, &j, 0, "prune images");
	if (!rc && reclaimed)
		*reclaimed = (uint64_t)json_integer_value(json_object_get(j, "SpaceReclaimed"));
	json_decref(j);
	tl_buf_dispose(&q);
	return rc;
}

/* ---- import ---- */

typedef struct {
	int fd;
	tl_docker *d;
	int64_t size, sent;
} file_upload;

static size_t file_reader(char *buf, size_t len, void *p)
{
	file_upload *f = p;
	for (;;) {
		ssize_t n = read(f->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tl__error_os(TL_EIO, errno, "cannot read the image tar");
			return (size_t)-1;
		}
		f->sent += n;
		if (n && tl__progress(f->d->ctx, "docker.import", (uint64_t)f->sent,
		                      (uint64_t)f->size))
			return (size_t)-1;
		return (size_t)n;
	}
}

typedef struct {
	tl_buf all;
} collect;

static int collect_sink(const char *data, size_t len, void *p)
{
	collect *c = p;
	if (c->all.size > (1u << 20))
		return TL_OK;
	return tl__buf_put(&c->all, data, len);
}

int tl_docker_image_import(tl_buf *image_id, tl_docker *d, const char *tar_path,
                           const char *reference, const char *const *changes)
{
	TL__CHECK_ARG(d && tar_path);
	int rc = tl__docker_check_ref(reference, "image reference");
	if (rc)
		return rc;
	/* split "repo:tag"; a ':' before the last '/' is a registry port */
	const char *slash = strrchr(reference, '/');
	const char *colon = strrchr(slash ? slash : reference, ':');
	char *repo = colon ? tl__strndup(reference, (size_t)(colon - reference))
	                   : tl__strdup(reference);
	const char *tag = colon ? colon + 1 : "latest";
	tl_buf q = TL_BUF_INIT;
	rc = repo ? tl__buf_puts(&q, "/images/create?fromSrc=-&repo=") : TL_ENOMEM;
	if (!rc)
		rc = tl__url_encode(&q, repo);
	if (!rc)
		rc = tl__buf_puts(&q, "&tag=");
	if (!rc)
		rc = tl__url_encode(&q, tag);
	for (const char *const *c = changes; !rc && c && *c; c++) {
		rc = tl__buf_puts(&q, "&changes=");
		if (!rc)
			rc = tl__url_encode(&q, *c);
	}
	free(repo);
	file_upload f = {-1, d, 0, 0};
	struct stat st;
	if (!rc) {
		f.fd = open(tar_path, O_RDONLY | O_CLOEXEC);
		if (f.fd < 0 || fstat(f.fd, &st) != 0)
			rc = tl__error_os(errno == ENOENT ? TL_ENOTFOUND : TL_EIO, errno,
			                  "cannot open the image tar %s", tar_path);
		else
			f.size = (int64_t)st.st_size;
	}
	collect c = {TL_BUF_INIT};
	long status = 0;
	if (!rc) {
		tl__docker_req r = {.method = "POST", .path = q.ptr, .content_type = "application/x-tar",
		            .reader = file_reader, .reader_payload = &f, .upload_len = f.size,
		            .sink = collect_sink, .sink_payload = &c, .what = "import the image"};
		rc = tl__docker_request(d, &r, &status, &c.all);
	}
	if (f.fd >= 0)
		close(f.fd);
	if (!rc && status != 200)
		rc = tl__docker_error(status, c.all.ptr, c.all.size, "import the image");
	/* The answer is JSON lines: {"status":"sha256:..."} or {"error": ...}. */
	const char *last_status = NULL;
	json_t *keep = NULL;
	for (char *line = c.all.ptr, *next; !rc && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		json_t *j = json_loads(line, 0, NULL);
		const char *err = json_string_value(json_object_get(j, "error"));
		if (err)
			rc = tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_DOCKER, "200", 200,
			                            "importing %s as %s failed: %s", tar_path,
			                            reference, err);
		const char *s = json_string_value(json_object_get(j, "status"));
		if (s && tl__str_startswith(s, "sha256:")) {
			json_decref(keep);
			keep = json_incref(j);
			last_status = s;
		}
		json_decref(j);
	}
	if (!rc && !last_status)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "importing %s: Docker did not answer an image id", tar_path);
	if (!rc && image_id)
		rc = tl__buf_set(image_id, last_status, strlen(last_status));
	json_decref(keep);
	tl_buf_dispose(&c.all);
	tl_buf_dispose(&q);
	return rc;
}
