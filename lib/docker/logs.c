/* Container logs: demultiplexed into buffers, or streamed as events. */
#include "docker_int.h"

#include <stdlib.h>
#include <string.h>

int tl_docker_logs_options_init(tl_docker_logs_options *o, unsigned int version)
{
	tl_docker_logs_options def = TL_DOCKER_LOGS_OPTIONS_INIT;
	return TL__OPTIONS_INIT(o, version, def, TL_DOCKER_LOGS_OPTIONS_VERSION, "tl_docker_logs_options");
}

typedef struct {
	tl__docker_demux m;
	tl_buf *out, *err;
	tl__docker_lines lines;
	int events;
	const char *container;
	const char *kind; /* "container", "service" */
} logs_state;

static int logs_emit(int stream, const char *data, size_t len, void *p)
{
	logs_state *s = p;
	if (s->events)
		return tl__docker_lines_put(&s->lines, stream, data, len);
	tl_buf *b = stream == DK_STDERR ? s->err : s->out;
	if (!b)
		return TL_OK;
	/* a tenant's container can log without end: stop reading at the cap */
	size_t have = (s->out ? s->out->size : 0) + (s->err ? s->err->size : 0);
	if (have + len > DK_BUFFERED_MAX)
		return tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                     "the logs of %s %s are larger than %u bytes (the limit "
		                     "for reading them into memory): ask for fewer with tail or "
		                     "since, or stream them as events", s->kind, s->container,
		                     DK_BUFFERED_MAX);
	return tl__buf_put(b, data, len);
}

static int logs_sink(const char *data, size_t len, void *p)
{
	logs_state *s = p;
	return tl__docker_demux_feed(&s->m, data, len, logs_emit, s);
}

/* The stream is framed unless the unit has a TTY: a container's Config.Tty,
 * a service's TaskTemplate.ContainerSpec.TTY. `*name` gets the unit's name
 * for messages. */
static int unit_tty(int *tty, char **name, tl_docker *d, bool service, const char *id)
{
	if (!service) {
		tl_docker_container *c = NULL;
		int rc = tl_docker_container_inspect(&c, d, id);
		if (rc)
			return rc;
		*tty = json_is_true(json_object_get(json_object_get(c->j, "Config"), "Tty"));
		*name = tl__strdup(tl_docker_container_name(c));
		tl_docker_container_free(c);
		return *name ? TL_OK : TL_ENOMEM;
	}
	json_t *j = NULL;
	int rc = tl__docker_inspect(&j, d, "services", "", "service", id);
	if (rc)
		return rc;
	json_t *spec = json_object_get(j, "Spec");
	*tty = json_is_true(json_object_get(
	    json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), "TTY"));
	const char *n = json_string_value(json_object_get(spec, "Name"));
	*name = tl__strdup(n ? n : id);
	json_decref(j);
	return *name ? TL_OK : TL_ENOMEM;
}

static int unit_logs(tl_buf *out, tl_buf *err, tl_docker *d, bool service, const char *container,
                     const tl_docker_logs_options *opts)
{
	TL__CHECK_ARG(d);
	tl_docker_logs_options def = TL_DOCKER_LOGS_OPTIONS_INIT;
	const tl_docker_logs_options *o = opts ? opts : &def;
	TL__CHECK_VERSION(o, TL_DOCKER_LOGS_OPTIONS_VERSION, "tl_docker_logs_options");
	if (o->follow && (out || err))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "following logs streams them as events: pass NULL buffers");
	int tty = 0;
	char *name = NULL;
	int rc = unit_tty(&tty, &name, d, service, container);
	if (rc)
		return rc;
	const char *kind = service ? "service" : "container";

	tl_buf q = TL_BUF_INIT;
	rc = tl__buf_printf(&q, "/%ss/%s/logs?stdout=%d&stderr=%d", kind, container,
	                    !o->no_stdout, !o->no_stderr);
	if (!rc && o->tail >= 0)
		rc = tl__buf_printf(&q, "&tail=%d", o->tail);
	if (!rc && o->since > 0)
		rc = tl__buf_printf(&q, "&since=%lld", (long long)o->since);
	if (!rc && o->follow)
		rc = tl__buf_puts(&q, "&follow=1");
	if (!rc && o->timestamps)
		rc = tl__buf_puts(&q, "&timestamps=1");
	/* collected aside, so that the caller's buffers change only on success */
	tl_buf got_out = TL_BUF_INIT, got_err = TL_BUF_INIT;
	logs_state s = {0};
	tl__docker_demux_init(&s.m, tty);
	s.out = out ? &got_out : NULL;
	s.err = err ? &got_err : NULL;
	s.events = !out && !err;
	s.lines.ctx = d->ctx;
	s.lines.subject = name;
	s.container = name;
	s.kind = kind;
	char *what = tl__sprintf("read the logs of %s %s", kind, container);
	tl_buf errbody = TL_BUF_INIT;
	long status = 0;
	if (!rc && what) {
		tl__docker_req r = {.path = q.ptr, .upload_len = -1, .sink = logs_sink, .sink_payload = &s,
		            .timeout_ms = o->follow ? 0 : 120000, .what = what};
		rc = tl__docker_request(d, &r, &status, &errbody);
	} else if (!rc) {
		rc = TL_ENOMEM;
	}
	if (!rc && status != 200)
		rc = tl__docker_error(status, errbody.ptr, errbody.size, what);
	if (!rc)
		rc = tl__docker_demux_finish(&s.m);
	if (s.events) {
		int frc = tl__docker_lines_flush(&s.lines);
		if (!rc)
			rc = frc;
	}
	if (!rc && out)
		rc = tl__buf_set(out, got_out.ptr ? got_out.ptr : "", got_out.size);
	if (!rc && err)
		rc = tl__buf_set(err, got_err.ptr ? got_err.ptr : "", got_err.size);
	tl_buf_dispose(&got_out);
	tl_buf_dispose(&got_err);
	tl__docker_lines_dispose(&s.lines);
	tl_buf_dispose(&errbody);
	tl_buf_dispose(&q);
	free(what);
	free(name);
	return rc;
}

int tl_docker_container_logs(tl_buf *out, tl_buf *err, tl_docker *d, const char *container,
                             const tl_docker_logs_options *opts)
{
	return unit_logs(out, err, d, false, container, opts);
}

int tl_docker_service_logs(tl_buf *out, tl_buf *err, tl_docker *d, const char *service,
                           const tl_docker_logs_options *opts)
{
	TL__CHECK_ARG(service);
	int rc = tl__docker_check_ref(service, "service name");
	return rc ? rc : unit_logs(out, err, d, true, service, opts);
}
