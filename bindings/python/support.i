/*
 * C helpers of the low-level module: exceptions from result codes, the
 * event callback trampoline, and conversions between Python dicts and the
 * API's plain structs (options in, records out) driven by field tables.
 */
%{
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "towlion/towlion.h"

/* ---- exceptions ---------------------------------------------------------- */

/* An exception raised by the event callback of an operation still running
 * on this thread: it cancelled the operation and is chained to what the
 * call raises (see tl_py_raise). Callbacks run on the calling thread. */
static __thread PyObject *tl_py_pending;

static PyObject *tl_py_errors_module(void)
{
	static PyObject *mod;
	if (!mod)
		mod = PyImport_ImportModule("towlion.errors");
	return mod;
}

/* The exception for `code` and this thread's last error, or NULL with a
 * Python error set. */
static PyObject *tl_py_make_error(int code)
{
	const tl_error *e = tl_error_last();
	PyObject *mod = tl_py_errors_module();
	if (!mod)
		return NULL;
	/* The last error may belong to another code when a caller checks
	 * arguments without setting it; the result code decides. */
	const char *msg = e->code == code && e->message ? e->message : tl_strerror(code);
	return PyObject_CallMethod(mod, "_from_c", "iisssl", code, e->klass,
	                           tl_errclass_name(e->klass), msg,
	                           e->upstream ? e->upstream : "", (long)e->upstream_code);
}

/* Raise for a negative result: Cancelled chained to the callback's own
 * exception when the callback raised; a KeyboardInterrupt or SystemExit
 * from the callback is re-raised as it is. */
static void tl_py_raise(int code)
{
	PyObject *pending = tl_py_pending;
	tl_py_pending = NULL;
	if (pending && !PyObject_IsInstance(pending, PyExc_Exception)) {
		PyErr_SetObject((PyObject *)Py_TYPE(pending), pending);
		Py_DECREF(pending);
		return;
	}
	PyObject *exc = tl_py_make_error(code);
	if (!exc) {
		Py_XDECREF(pending);
		return;
	}
	if (pending)
		PyException_SetCause(exc, pending); /* steals */
	PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
	Py_DECREF(exc);
}

/* After a call that succeeded: an exception the callback raised must not
 * vanish; it is raised (the operation had already passed its last safe
 * point). Returns -1 with the error set, 0 when there was none. */
static int tl_py_check_pending(void)
{
	PyObject *pending = tl_py_pending;
	if (!pending)
		return 0;
	tl_py_pending = NULL;
	PyErr_SetObject((PyObject *)Py_TYPE(pending), pending);
	Py_DECREF(pending);
	return -1;
}

/* ---- events -------------------------------------------------------------- */

static const char *tl_py_event_type_name(int t)
{
	switch (t) {
	case TL_EVENT_LOG: return "log";
	case TL_EVENT_STEP: return "step";
	case TL_EVENT_PROGRESS: return "progress";
	case TL_EVENT_OUTPUT: return "output";
	default: return "unknown";
	}
}

static const char *tl_py_level_name(int l)
{
	switch (l) {
	case TL_LOG_DEBUG: return "debug";
	case TL_LOG_INFO: return "info";
	case TL_LOG_WARN: return "warn";
	case TL_LOG_ERROR: return "error";
	default: return "unknown";
	}
}

static PyObject *tl_py_str_or_none(const char *s)
{
	if (!s)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

/* The event callback of every context made by this module. `payload` is
 * the Python callable, or NULL: then it only lets Ctrl-C (a pending
 * signal) cancel the operation. Runs with the GIL released by the
 * wrapper, so it takes it back first. */
static int tl_py_event_trampoline(const tl_event *ev, void *payload)
{
	PyGILState_STATE g = PyGILState_Ensure();
	int cancel = 0;
	if (tl_py_pending) {
		cancel = 1; /* already cancelling: say so again */
		goto out;
	}
	if (!payload) {
		if (PyErr_CheckSignals() < 0)
			goto failed;
		goto out;
	}
	PyObject *d = Py_BuildValue(
		"{s:s,s:s,s:N,s:N,s:K,s:K,s:N}", "type", tl_py_event_type_name(ev->type),
		"level", tl_py_level_name(ev->level), "message", tl_py_str_or_none(ev->message),
		"step", tl_py_str_or_none(ev->step), "done", (unsigned long long)ev->done,
		"total", (unsigned long long)ev->total, "subject",
		tl_py_str_or_none(ev->subject));
	if (!d)
		goto failed;
	PyObject *r = PyObject_CallOneArg((PyObject *)payload, d);
	Py_DECREF(d);
	if (!r)
		goto failed;
	cancel = PyObject_IsTrue(r) == 1;
	Py_DECREF(r);
	goto out;
failed:
	/* Keep the exception for the call that is running; cancel it. */
	{
		PyObject *t, *v, *tb;
		PyErr_Fetch(&t, &v, &tb);
		PyErr_NormalizeException(&t, &v, &tb);
		if (v && tb)
			PyException_SetTraceback(v, tb);
		Py_XDECREF(t);
		Py_XDECREF(tb);
		tl_py_pending = v;
		cancel = 1;
	}
out:
	PyGILState_Release(g);
	return cancel;
}

/* ---- structs <-> dicts ----------------------------------------------------- */

enum {
	K_STR,    /* const char * */
	K_STRV,   /* const char *const *, NULL-terminated */
	K_STRS,   /* const char *const * with a size_t count at off2 */
	K_BYTES,  /* const void * with a size_t length at off2 */
	K_INT, K_BOOL, K_UINT, K_LONG, K_I64, K_U64, K_DOUBLE,
	K_CHARS,  /* char[] inside the struct (output only) */
	K_BUF,    /* tl_buf inside the struct (output only) */
	K_PATHS   /* tl_caddy_path array with a size_t count at off2 */
};

typedef struct {
	const char *name;
	int kind;
	size_t off, off2;
} tl_py_field;

#define TL_F(st, f, k) {#f, k, offsetof(st, f), 0}
#define TL_F2(st, f, k, n) {#f, k, offsetof(st, f), offsetof(st, n)}
#define TL_FEND {NULL, 0, 0, 0}

/* What an options struct borrows while a call runs: references to the
 * Python strings its pointers point into, and arrays we allocated. */
typedef struct {
	PyObject *refs;
	void *allocs[64];
	int nallocs;
} tl_py_keep;

#define TL_PY_KEEP_INIT {NULL, {NULL}, 0}

static void tl_py_keep_release(tl_py_keep *k)
{
	for (int i = 0; i < k->nallocs; i++)
		free(k->allocs[i]);
	k->nallocs = 0;
	Py_CLEAR(k->refs);
}

static int tl_py_keep_obj(tl_py_keep *k, PyObject *o)
{
	if (!k->refs && !(k->refs = PyList_New(0)))
		return -1;
	return PyList_Append(k->refs, o);
}

static void *tl_py_keep_alloc(tl_py_keep *k, size_t n)
{
	if (k->nallocs == (int)(sizeof(k->allocs) / sizeof(k->allocs[0]))) {
		PyErr_SetString(PyExc_ValueError, "too many list options in one call");
		return NULL;
	}
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		PyErr_NoMemory();
		return NULL;
	}
	k->allocs[k->nallocs++] = p;
	return p;
}

/* A str's UTF-8 text, valid while `k` keeps the object. */
static const char *tl_py_cstr(PyObject *o, tl_py_keep *k, const char *what)
{
	if (PyBytes_Check(o)) {
		if (tl_py_keep_obj(k, o) < 0)
			return NULL;
		return PyBytes_AS_STRING(o);
	}
	if (!PyUnicode_Check(o)) {
		PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what,
		             Py_TYPE(o)->tp_name);
		return NULL;
	}
	PyObject *b = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
	if (!b)
		return NULL;
	int rc = tl_py_keep_obj(k, b);
	Py_DECREF(b);
	if (rc < 0)
		return NULL;
	if ((size_t)PyBytes_GET_SIZE(b) != strlen(PyBytes_AS_STRING(b))) {
		PyErr_Format(PyExc_ValueError, "%s must not contain NUL", what);
		return NULL;
	}
	return PyBytes_AS_STRING(b);
}

/* A sequence of str as a NULL-terminated array (and its length). */
static const char **tl_py_strv(PyObject *o, tl_py_keep *k, size_t *count, const char *what)
{
	if (PyUnicode_Check(o) || PyBytes_Check(o)) {
		PyErr_Format(PyExc_TypeError, "%s must be a list of str, not a single str", what);
		return NULL;
	}
	PyObject *seq = PySequence_Fast(o, what);
	if (!seq)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	const char **v = tl_py_keep_alloc(k, sizeof(char *) * ((size_t)n + 1));
	for (Py_ssize_t i = 0; v && i < n; i++) {
		v[i] = tl_py_cstr(PySequence_Fast_GET_ITEM(seq, i), k, what);
		if (!v[i])
			v = NULL;
	}
	Py_DECREF(seq);
	if (v && count)
		*count = (size_t)n;
	return v;
}

static int tl_py_fill(void *st, const tl_py_field *fields, PyObject *dict,
                      tl_py_keep *k, const char *what);

static const tl_py_field tl_py_caddy_path_fields[] = {
	TL_F(tl_caddy_path, path, K_STR),
	TL_F2(tl_caddy_path, upstreams, K_STRS, nupstreams),
	TL_F(tl_caddy_path, health_uri, K_STR),
	TL_FEND};

static int tl_py_set_field(char *base, const tl_py_field *f, PyObject *v, tl_py_keep *k)
{
	switch (f->kind) {
	case K_STR: {
		const char *s = tl_py_cstr(v, k, f->name);
		if (!s)
			return -1;
		*(const char **)(base + f->off) = s;
		return 0;
	}
	case K_STRV:
	case K_STRS: {
		size_t n = 0;
		const char **a = tl_py_strv(v, k, &n, f->name);
		if (!a)
			return -1;
		*(const char ***)(base + f->off) = a;
		if (f->kind == K_STRS)
			*(size_t *)(base + f->off2) = n;
		return 0;
	}
	case K_BYTES: {
		char *p;
		Py_ssize_t n;
		PyObject *b = PyUnicode_Check(v) ? PyUnicode_AsUTF8String(v) : (Py_INCREF(v), v);
		if (!b)
			return -1;
		int rc = tl_py_keep_obj(k, b);
		Py_DECREF(b);
		if (rc < 0 || PyBytes_AsStringAndSize(b, &p, &n) < 0)
			return -1;
		*(const void **)(base + f->off) = p;
		*(size_t *)(base + f->off2) = (size_t)n;
		return 0;
	}
	case K_PATHS: {
		PyObject *seq = PySequence_Fast(v, "paths must be a list of dicts");
		if (!seq)
			return -1;
		Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
		tl_caddy_path *a = tl_py_keep_alloc(k, sizeof(*a) * ((size_t)n + 1));
		int rc = a ? 0 : -1;
		for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
			rc = tl_py_fill(&a[i], tl_py_caddy_path_fields,
			                PySequence_Fast_GET_ITEM(seq, i), k, "path route");
		Py_DECREF(seq);
		if (rc < 0)
			return -1;
		*(tl_caddy_path **)(base + f->off) = a;
		*(size_t *)(base + f->off2) = (size_t)n;
		return 0;
	}
	case K_BOOL: {
		int t = PyObject_IsTrue(v);
		if (t < 0)
			return -1;
		*(int *)(base + f->off) = t;
		return 0;
	}
	case K_DOUBLE: {
		double d = PyFloat_AsDouble(v);
		if (d == -1.0 && PyErr_Occurred())
			return -1;
		*(double *)(base + f->off) = d;
		return 0;
	}
	default:
		break;
	}
	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", f->name,
		             Py_TYPE(v)->tp_name);
		return -1;
	}
	int overflow = 0;
	long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
	if (x == -1 && PyErr_Occurred())
		return -1;
	switch (f->kind) {
	case K_INT:
		if (overflow || x < INT32_MIN || x > INT32_MAX)
			goto range;
		*(int *)(base + f->off) = (int)x;
		return 0;
	case K_UINT:
		if (overflow || x < 0 || x > (long long)UINT32_MAX)
			goto range;
		*(unsigned int *)(base + f->off) = (unsigned int)x;
		return 0;
	case K_LONG:
	case K_I64:
		if (overflow)
			goto range;
		if (f->kind == K_LONG)
			*(long *)(base + f->off) = (long)x;
		else
			*(int64_t *)(base + f->off) = (int64_t)x;
		return 0;
	case K_U64: {
		unsigned long long u = PyLong_AsUnsignedLongLong(v);
		if (u == (unsigned long long)-1 && PyErr_Occurred())
			return -1;
		*(uint64_t *)(base + f->off) = (uint64_t)u;
		return 0;
	}
	default:
		PyErr_Format(PyExc_TypeError, "%s cannot be set", f->name);
		return -1;
	}
range:
	PyErr_Format(PyExc_OverflowError, "%s is out of range", f->name);
	return -1;
}

/* Fill an options struct (already initialised to its defaults) from a
 * dict; None values keep the default; an unknown key is a TypeError. */
static int tl_py_fill(void *st, const tl_py_field *fields, PyObject *dict,
                      tl_py_keep *k, const char *what)
{
	if (dict == Py_None)
		return 0;
	if (!PyDict_Check(dict)) {
		PyErr_Format(PyExc_TypeError, "%s must be a dict, not %.100s", what,
		             Py_TYPE(dict)->tp_name);
		return -1;
	}
	PyObject *key, *val;
	Py_ssize_t pos = 0;
	while (PyDict_Next(dict, &pos, &key, &val)) {
		const char *name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
		if (!name) {
			PyErr_Format(PyExc_TypeError, "%s: keys must be str", what);
			return -1;
		}
		const tl_py_field *f = fields;
		while (f->name && strcmp(f->name, name) != 0)
			f++;
		if (!f->name || f->kind == K_CHARS || f->kind == K_BUF) {
			PyErr_Format(PyExc_TypeError, "%s has no option '%s'", what, name);
			return -1;
		}
		if (val == Py_None)
			continue;
		if (tl_py_set_field((char *)st, f, val, k) < 0)
			return -1;
	}
	return 0;
}

static PyObject *tl_py_strs_list(const char *const *a, size_t n)
{
	PyObject *l = PyList_New(0);
	for (size_t i = 0; l && a && (n != (size_t)-1 ? i < n : a[i] != NULL); i++) {
		PyObject *s = tl_py_str_or_none(a[i]);
		if (!s || PyList_Append(l, s) < 0) {
			Py_XDECREF(s);
			Py_CLEAR(l);
			break;
		}
		Py_DECREF(s);
	}
	return l;
}

/* A struct as a dict with one entry per field. */
static PyObject *tl_py_struct_dict(const void *st, const tl_py_field *fields)
{
	const char *base = st;
	PyObject *d = PyDict_New();
	for (const tl_py_field *f = fields; d && f->name; f++) {
		PyObject *v = NULL;
		switch (f->kind) {
		case K_STR: v = tl_py_str_or_none(*(const char *const *)(base + f->off)); break;
		case K_STRV: v = tl_py_strs_list(*(const char *const *const *)(base + f->off), (size_t)-1); break;
		case K_STRS: v = tl_py_strs_list(*(const char *const *const *)(base + f->off), *(const size_t *)(base + f->off2)); break;
		case K_CHARS: v = tl_py_str_or_none(base + f->off); break;
		case K_BUF: {
			const tl_buf *b = (const tl_buf *)(base + f->off);
			v = PyUnicode_DecodeUTF8(b->ptr ? b->ptr : "", (Py_ssize_t)b->size,
			                         "surrogateescape");
			break;
		}
		case K_INT: v = PyLong_FromLong(*(const int *)(base + f->off)); break;
		case K_BOOL: v = PyBool_FromLong(*(const int *)(base + f->off)); break;
		case K_UINT: v = PyLong_FromUnsignedLong(*(const unsigned int *)(base + f->off)); break;
		case K_LONG: v = PyLong_FromLong(*(const long *)(base + f->off)); break;
		case K_I64: v = PyLong_FromLongLong(*(const int64_t *)(base + f->off)); break;
		case K_U64: v = PyLong_FromUnsignedLongLong(*(const uint64_t *)(base + f->off)); break;
		case K_DOUBLE: v = PyFloat_FromDouble(*(const double *)(base + f->off)); break;
		default: v = (Py_INCREF(Py_None), Py_None); break;
		}
		if (!v || PyDict_SetItemString(d, f->name, v) < 0)
			Py_CLEAR(d);
		Py_XDECREF(v);
	}
	return d;
}

/* ---- field tables -------------------------------------------------------- */

#define S(f) TL_F(ST, f, K_STR)
#define I(f) TL_F(ST, f, K_INT)
#define B(f) TL_F(ST, f, K_BOOL)
#define U(f) TL_F(ST, f, K_UINT)
#define L(f) TL_F(ST, f, K_LONG)
#define I64(f) TL_F(ST, f, K_I64)
#define U64(f) TL_F(ST, f, K_U64)
#define D(f) TL_F(ST, f, K_DOUBLE)
#define SV(f) TL_F(ST, f, K_STRV)

#define ST tl_app_options
static const tl_py_field tl_py_app_options_fields[] = {
	SV(domains), S(web_service), I(port), S(health_path), S(release_command), I(drain_ms),
	I(keep_images), TL_FEND};
#undef ST
#define ST tl_deploy_options
static const tl_py_field tl_py_deploy_options_fields[] = {
	S(path), S(git_url), S(git_ref), S(release_id), L(health_timeout_ms),
	L(lock_timeout_ms), S(requested_by), TL_FEND};
#undef ST
#define ST tl_rollback_options
static const tl_py_field tl_py_rollback_options_fields[] = {
	S(release_id), L(health_timeout_ms), L(lock_timeout_ms), S(requested_by), B(dry_run),
	TL_FEND};
#undef ST
#define ST tl_destroy_options
static const tl_py_field tl_py_destroy_options_fields[] = {
	B(confirm), B(purge), L(lock_timeout_ms), TL_FEND};
#undef ST
#define ST tl_preview_options
static const tl_py_field tl_py_preview_options_fields[] = {
	S(path), S(git_url), S(git_ref), S(repo), L(health_timeout_ms), L(lock_timeout_ms),
	TL_FEND};
#undef ST
#define ST tl_preview_gc_options
static const tl_py_field tl_py_preview_gc_options_fields[] = {
	I(older_than_days), B(check_github), B(dry_run), TL_FEND};
#undef ST
#define ST tl_pg_options
static const tl_py_field tl_py_pg_options_fields[] = {
	U(flags), I(connection_limit), I(lock_timeout_ms), TL_FEND};
#undef ST
#define ST tl_caddy_route
static const tl_py_field tl_py_caddy_route_fields[] = {
	S(site), TL_F2(ST, hosts, K_STRS, nhosts), TL_F2(ST, upstreams, K_STRS, nupstreams),
	S(health_uri), U(health_interval_s), TL_F2(ST, paths, K_PATHS, npaths), I(tls),
	U64(max_body_bytes), B(security_headers), S(redirect_to), TL_FEND};
#undef ST
#define ST tl_caddy_main_options
static const tl_py_field tl_py_caddy_main_options_fields[] = {S(default_bind), TL_FEND};
#undef ST
#define ST tl_backup_options
static const tl_py_field tl_py_backup_options_fields[] = {
	U(flags), I(format), TL_F2(ST, databases, K_STRS, ndatabases), S(pg_bin_dir),
	I(level), I(timeout_ms), I(lock_timeout_ms), S(into), I(threads), TL_FEND};
#undef ST
#define ST tl_redis_options
static const tl_py_field tl_py_redis_options_fields[] = {U(flags), TL_FEND};
#undef ST
#define ST tl_s3_options
static const tl_py_field tl_py_s3_options_fields[] = {
	S(endpoint), S(region), S(access_key), S(secret_key), I(addressing), L(timeout_ms),
	L(connect_timeout_ms), TL_FEND};
#undef ST
#define ST tl_s3_transfer_options
static const tl_py_field tl_py_s3_transfer_options_fields[] = {
	S(content_type), U64(multipart_threshold), U64(part_size), U(file_mode),
	L(timeout_ms), TL_FEND};
#undef ST
#define ST tl_s3_list_options
static const tl_py_field tl_py_s3_list_options_fields[] = {
	S(prefix), S(delimiter), U(page_size), U(max_pages), S(continuation_token), TL_FEND};
#undef ST
#define ST tl_ssh_options
static const tl_py_field tl_py_ssh_options_fields[] = {
	S(host), I(port), S(user), S(key_path), S(key_passphrase), S(known_hosts),
	I(connect_timeout_ms), I(timeout_ms), I(keepalive_s), TL_FEND};
#undef ST
#define ST tl_ssh_exec_options
static const tl_py_field tl_py_ssh_exec_options_fields[] = {
	I(stdout_mode), I(stderr_mode), I(stdout_fd), I(stderr_fd),
	TL_F2(ST, stdin_data, K_BYTES, stdin_len), I(stdin_fd), I(timeout_ms), S(subject),
	TL_FEND};
#undef ST
#define ST tl_ssh_upload_options
static const tl_py_field tl_py_ssh_upload_options_fields[] = {I(mode), I(timeout_ms), TL_FEND};
#undef ST
#define ST tl_github_options
static const tl_py_field tl_py_github_options_fields[] = {
	S(api), S(token), L(timeout_ms), U(per_page), TL_FEND};
#undef ST
#define ST tl_github_deployment_options
static const tl_py_field tl_py_github_deployment_options_fields[] = {
	S(ref), S(environment), S(description), B(transient), I(production), TL_FEND};
#undef ST
#define ST tl_github_status_options
static const tl_py_field tl_py_github_status_options_fields[] = {
	S(state), S(environment_url), S(log_url), S(description), S(environment), TL_FEND};
#undef ST
#define ST tl_docker_logs_options
static const tl_py_field tl_py_docker_logs_options_fields[] = {
	I(tail), I64(since), B(follow), B(timestamps), B(no_stdout), B(no_stderr), TL_FEND};
#undef ST
#define ST tl_docker_exec_options
static const tl_py_field tl_py_docker_exec_options_fields[] = {
	SV(env), S(user), S(workdir), TL_F2(ST, stdin_data, K_BYTES, stdin_len), B(tty),
	L(timeout_ms), I(stdin_fd), I(stdout_fd), TL_FEND};
#undef ST
#define ST tl_compose_options
static const tl_py_field tl_py_compose_options_fields[] = {
	I(policy), S(app_dir), S(env_file), U(flags), TL_FEND};
#undef ST
#define ST tl_doctor_options
static const tl_py_field tl_py_doctor_options_fields[] = {
	U(checks), D(disk_warn_pct), I64(backup_max_age_s), I(cert_warn_days), TL_FEND};
#undef ST
#define ST tl_platform_options
static const tl_py_field tl_py_platform_options_fields[] = {
	U(flags), S(root), SV(images), S(standalone_app), L(timeout_ms), TL_FEND};
#undef ST
#define ST tl_server_bootstrap_options
static const tl_py_field tl_py_server_bootstrap_options_fields[] = {
	U(flags), SV(packages), SV(images), SV(config), SV(platform_images), S(deploy_user),
	S(deploy_key), I(ssh_port), L(min_disk_mb), L(min_memory_mb), L(timeout_ms),
	SV(package_sources), TL_FEND};
#undef ST
#define ST tl_metrics_options
static const tl_py_field tl_py_metrics_options_fields[] = {U(flags), TL_FEND};
#undef ST
/* the platform at a glance (status.h) */
#define ST tl_status_options
static const tl_py_field tl_py_status_options_fields[] = {S(app), TL_FEND};
#undef ST
/* the cluster (issue 19) */
#define ST tl_cluster_init_options
static const tl_py_field tl_py_cluster_init_options_fields[] = {S(advertise_addr), B(no_registry),
                                                                  TL_FEND};
#undef ST
#define ST tl_alert_options
static const tl_py_field tl_py_alert_options_fields[] = {
	U(flags), D(disk_pct), D(memory_pct), I64(backup_max_age_s), I(max_restarts),
	I(cert_days), S(github_repo), S(mail_provider), S(mail_endpoint), S(mail_token),
	S(mail_from), S(mail_to), S(mail_region), TL_FEND};
#undef ST
#define ST tl_scan_options
static const tl_py_field tl_py_scan_options_fields[] = {
	SV(argv), I(policy), L(timeout_ms), TL_FEND};
#undef ST
/* env files read as a compose project's (no lookup from Python: the file's
 * own keys only) */
#define ST tl_envfile_options
static const tl_py_field tl_py_envfile_options_fields[] = {U(flags), TL_FEND};
#undef ST
/* app settings (envcfg) */
#define ST tl_appenv_options
static const tl_py_field tl_py_appenv_options_fields[] = {
	U(flags), L(lock_timeout_ms), TL_FEND};
#undef ST

/* records returned by the library */
#define ST tl_error
static const tl_py_field tl_py_error_fields[] = {
	I(code), I(klass), S(message), S(upstream), L(upstream_code), TL_FEND};
#undef ST
#define ST tl_check
static const tl_py_field tl_py_check_fields[] = {
	S(name), I(status), S(detail), S(hint), D(elapsed_ms), TL_FEND};
#undef ST
#define ST tl_app_container
static const tl_py_field tl_py_app_container_fields[] = {
	S(name), S(service), S(release), S(state), S(health), S(upstream), I64(created),
	S(node), S(task_state), TL_FEND};
#undef ST
/* the platform at a glance (status.h) */
#define ST tl_status_app
static const tl_py_field tl_py_status_app_fields[] = {
	S(app), S(database), I64(database_bytes), I(database_connections), S(backup_file),
	I64(backup_created), I64(backup_bytes), I(previews), TL_FEND};
#undef ST
#define ST tl_status_source
static const tl_py_field tl_py_status_source_fields[] = {
	S(name), B(answered), S(error), TL_FEND};
#undef ST
#define ST tl_pg_db_info
static const tl_py_field tl_py_pg_db_info_fields[] = {
	S(app), S(database), S(owner), I64(size_bytes), I(connections), I(connection_limit),
	I(previews), TL_FEND};
#undef ST
#define ST tl_caddy_site
static const tl_py_field tl_py_caddy_site_fields[] = {
	S(site), S(path), TL_F2(ST, hosts, K_STRS, nhosts),
	TL_F2(ST, upstreams, K_STRS, nupstreams), S(redirect_to), TL_FEND};
#undef ST
#define ST tl_caddy_upstream
static const tl_py_field tl_py_caddy_upstream_fields[] = {
	S(address), B(healthy), I64(num_requests), I64(fails), TL_FEND};
#undef ST
#define ST tl_backup_info
static const tl_py_field tl_py_backup_info_fields[] = {
	S(file), S(path), S(database), I(format), B(encrypted), I(state), I64(size),
	I64(created), I64(duration_ms), I64(tables), S(sha256), S(pg_version), S(remote),
	I64(verified_at), TL_FEND};
#undef ST
#define ST tl_backup_outcome
static const tl_py_field tl_py_backup_outcome_fields[] = {
	S(database), I(result), S(message), S(file), I64(size), U64(dump_bytes),
	I64(duration_ms), S(remote), TL_FEND};
#undef ST
#define ST tl_backup_prune_item
static const tl_py_field tl_py_backup_prune_item_fields[] = {
	S(file), S(database), B(deleted), S(reason), TL_FEND};
#undef ST
#define ST tl_backup_check
static const tl_py_field tl_py_backup_check_fields[] = {
	U64(bytes), I64(tables), I64(rows), TL_FEND};
#undef ST
#define ST tl_platform_step
static const tl_py_field tl_py_platform_step_fields[] = {
	S(action), S(subject), S(detail), B(changed), TL_FEND};
#undef ST
#define ST tl_server_step
static const tl_py_field tl_py_server_step_fields[] = {
	S(name), I(status), S(detail), D(elapsed_ms), TL_FEND};
#undef ST
#define ST tl_server_secret
static const tl_py_field tl_py_server_secret_fields[] = {S(name), S(value), TL_FEND};
#undef ST
#define ST tl_alert
static const tl_py_field tl_py_alert_fields[] = {
	S(key), B(firing), S(detail), S(action), I64(issue), B(mailed), TL_FEND};
#undef ST
#define ST tl_scan_result
static const tl_py_field tl_py_scan_result_fields[] = {
	I64(critical), I64(high), I64(medium), I64(low), I(exit_status), B(parsed),
	B(blocked), TL_FEND};
#undef ST
#define ST tl_ssh_result
static const tl_py_field tl_py_ssh_result_fields[] = {
	I(exit_status), TL_F(ST, exit_signal, K_CHARS), TL_F(ST, out, K_BUF),
	TL_F(ST, err, K_BUF), TL_FEND};
#undef ST

#undef S
#undef I
#undef B
#undef U
#undef L
#undef I64
#undef U64
#undef D
#undef SV
%}
