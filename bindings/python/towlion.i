/*
 * The low-level module `towlion._towlion`: every public function of
 * libtowlion, mapped by a few systematic rules (the Pythonic API is the
 * pure-Python package `towlion` on top of it):
 *
 *  - an `int` result is a result code: negative raises the matching
 *    towlion.errors exception (message, class, upstream from
 *    tl_error_last()), TL_OK returns None, or the out-params (value
 *    getters that return a plain int are listed below);
 *  - out-params (`T **`, `tl_buf *`, `int *`, `const char **`...) take no
 *    argument and are returned, several as a list in parameter order;
 *    handles come back as bare pointers the caller frees with the C free
 *    function (towlion's Handle does that, exactly once);
 *  - options structs are dicts (unknown keys are a TypeError; versions
 *    and defaults come from the _INIT macros); records returned by the
 *    library (`const tl_check *`...) are dicts;
 *  - NULL-terminated string lists are Python lists (None for NULL);
 *  - every call releases the GIL (swig -threads); the event callback
 *    takes it back.
 */
%module _towlion

%include <stdint.i>
%include "support.i"

%{
#include "towlion/towlion.h"
%}

/* ---- result codes -------------------------------------------------------- */

%typemap(out) int {
	if ($1 < 0) {
		tl_py_raise($1);
		SWIG_fail;
	}
	if (tl_py_check_pending() < 0)
		SWIG_fail;
	$result = Py_None;
	Py_INCREF(Py_None);
}

/* Functions whose int is a value, not a result code. */
%define TL_VALUE_INT(NAME)
%typemap(out) int NAME { $result = PyLong_FromLong($1); }
%enddef
TL_VALUE_INT(tl_init)
TL_VALUE_INT(tl_shutdown)
TL_VALUE_INT(tl_app_port)
TL_VALUE_INT(tl_app_drain_ms)
TL_VALUE_INT(tl_app_keep_images)
TL_VALUE_INT(tl_compose_web_port)
TL_VALUE_INT(tl_compose_service_healthcheck)
TL_VALUE_INT(tl_compose_service_healthcheck_retries)
TL_VALUE_INT(tl_compose_service_init)
TL_VALUE_INT(tl_compose_service_read_only)
TL_VALUE_INT(tl_compose_service_replicas)
TL_VALUE_INT(tl_release_status)
TL_VALUE_INT(tl_app_status_healthy)
TL_VALUE_INT(tl_app_status_route)
TL_VALUE_INT(tl_app_status_health)
TL_VALUE_INT(tl_docker_container_running)
TL_VALUE_INT(tl_docker_container_exit_code)
TL_VALUE_INT(tl_docker_container_host_port)
TL_VALUE_INT(tl_github_comment_created)
TL_VALUE_INT(tl_github_pr_state_get)
TL_VALUE_INT(tl_github_issue_action)
TL_VALUE_INT(tl_pg_report_dry_run)
TL_VALUE_INT(tl_pg_server_version)
TL_VALUE_INT(tl_doctor_report_worst)
TL_VALUE_INT(tl_preview_healthy)
TL_VALUE_INT(tl_redis_report_dry_run)
TL_VALUE_INT(tl_redis_stats_user_exists)
/* app settings (envcfg) */
TL_VALUE_INT(tl_appenv_production_only_at)
/* the platform at a glance */
TL_VALUE_INT(tl_status_health)
/* the cluster (issue 19) */
TL_VALUE_INT(tl_cluster_init_result_already)
TL_VALUE_INT(tl_cluster_init_result_encrypted)
TL_VALUE_INT(tl_cluster_init_result_registry_created)

/* A backup run sets its report also when some databases failed: the call
 * returns [error or None, report] so that the caller sees every outcome. */
%typemap(out) int tl_backup_run {
	if ($1 < 0) {
		tl_py_raise($1);
		PyObject *t, *v, *tb;
		PyErr_Fetch(&t, &v, &tb);
		PyErr_NormalizeException(&t, &v, &tb);
		if (!v)
			SWIG_fail;
		if (tb)
			PyException_SetTraceback(v, tb);
		Py_XDECREF(t);
		Py_XDECREF(tb);
		$result = PyList_New(0);
		if (!$result || PyList_Append($result, v) < 0) {
			Py_DECREF(v);
			SWIG_fail;
		}
		Py_DECREF(v);
	} else {
		if (tl_py_check_pending() < 0)
			SWIG_fail;
		$result = PyList_New(0);
		if (!$result || PyList_Append($result, Py_None) < 0)
			SWIG_fail;
	}
}

/* ---- handles as out-params ------------------------------------------------ */

/* On failure the library leaves *out alone; whatever is there when the
 * wrapper fails (a Python error after the call) is freed here. */
%define TL_HANDLE(TYPE, FREE)
%typemap(in, numinputs=0) TYPE ** (TYPE *tmp = NULL) { $1 = &tmp; }
%typemap(argout) TYPE ** {
	PyObject *o = tmp$argnum ? SWIG_NewPointerObj(SWIG_as_voidptr(tmp$argnum),
	                                              $*1_descriptor, 0)
	                         : (Py_INCREF(Py_None), Py_None);
	if (!o)
		SWIG_fail;
	tmp$argnum = NULL;
	$result = SWIG_Python_AppendOutput($result, o);
}
%typemap(freearg) TYPE ** { if (tmp$argnum) FREE(tmp$argnum); }
%enddef

TL_HANDLE(tl_ctx, tl_ctx_free)
TL_HANDLE(tl_envfile, tl_envfile_free)
TL_HANDLE(tl_app, tl_app_free)
TL_HANDLE(tl_app_list, tl_app_list_free)
TL_HANDLE(tl_release, tl_release_free)
TL_HANDLE(tl_release_list, tl_release_list_free)
TL_HANDLE(tl_app_status, tl_app_status_free)
TL_HANDLE(tl_preview, tl_preview_free)
TL_HANDLE(tl_preview_list, tl_preview_list_free)
TL_HANDLE(tl_pg, tl_pg_free)
TL_HANDLE(tl_pg_report, tl_pg_report_free)
TL_HANDLE(tl_pg_db_list, tl_pg_db_list_free)
TL_HANDLE(tl_caddy_sites, tl_caddy_sites_free)
TL_HANDLE(tl_caddy_upstreams, tl_caddy_upstreams_free)
TL_HANDLE(tl_backup_list, tl_backup_list_free)
TL_HANDLE(tl_backup_report, tl_backup_report_free)
TL_HANDLE(tl_backup_prune_report, tl_backup_prune_report_free)
TL_HANDLE(tl_redis, tl_redis_free)
TL_HANDLE(tl_redis_report, tl_redis_report_free)
TL_HANDLE(tl_redis_stats, tl_redis_stats_free)
TL_HANDLE(tl_s3, tl_s3_free)
TL_HANDLE(tl_s3_bucket_list, tl_s3_bucket_list_free)
TL_HANDLE(tl_s3_object, tl_s3_object_free)
TL_HANDLE(tl_s3_object_list, tl_s3_object_list_free)
TL_HANDLE(tl_ssh, tl_ssh_free)
TL_HANDLE(tl_github, tl_github_free)
TL_HANDLE(tl_github_comment, tl_github_comment_free)
TL_HANDLE(tl_github_pr, tl_github_pr_free)
TL_HANDLE(tl_github_issue, tl_github_issue_free)
TL_HANDLE(tl_doctor_report, tl_doctor_report_free)
TL_HANDLE(tl_platform_report, tl_platform_report_free)
TL_HANDLE(tl_server_report, tl_server_report_free)
TL_HANDLE(tl_alert_report, tl_alert_report_free)
TL_HANDLE(tl_docker, tl_docker_free)
TL_HANDLE(tl_docker_container, tl_docker_container_free)
TL_HANDLE(tl_docker_container_list, tl_docker_container_list_free)
TL_HANDLE(tl_docker_image, tl_docker_image_free)
TL_HANDLE(tl_docker_image_list, tl_docker_image_list_free)
TL_HANDLE(tl_docker_build_spec, tl_docker_build_spec_free)
TL_HANDLE(tl_docker_container_spec, tl_docker_container_spec_free)
TL_HANDLE(tl_compose, tl_compose_free)
/* app settings (envcfg) */
TL_HANDLE(tl_appenv, tl_appenv_free)
/* the platform at a glance */
TL_HANDLE(tl_status_report, tl_status_free)
/* the cluster (issue 19) */
TL_HANDLE(tl_cluster_init_result, tl_cluster_init_result_free)
TL_HANDLE(tl_cluster_node_list, tl_cluster_node_list_free)

/* ---- other out-params ----------------------------------------------------- */

%typemap(in, numinputs=0) tl_buf * (tl_buf tmp = TL_BUF_INIT) { $1 = &tmp; }
%typemap(argout) tl_buf * {
	PyObject *o = PyUnicode_DecodeUTF8(tmp$argnum.ptr ? tmp$argnum.ptr : "",
	                                   (Py_ssize_t)tmp$argnum.size, "surrogateescape");
	if (!o)
		SWIG_fail;
	$result = SWIG_Python_AppendOutput($result, o);
}
%typemap(freearg) tl_buf * { tl_buf_dispose(&tmp$argnum); }

%define TL_SCALAR_OUT(TYPE, CONV)
%typemap(in, numinputs=0) TYPE * (TYPE tmp = 0) { $1 = &tmp; }
%typemap(argout) TYPE * {
	PyObject *o = CONV(tmp$argnum);
	if (!o)
		SWIG_fail;
	$result = SWIG_Python_AppendOutput($result, o);
}
%enddef
TL_SCALAR_OUT(int, PyLong_FromLong)
TL_SCALAR_OUT(int64_t, PyLong_FromLongLong)
TL_SCALAR_OUT(uint64_t, PyLong_FromUnsignedLongLong)
TL_SCALAR_OUT(uint32_t, PyLong_FromUnsignedLong)

%typemap(in, numinputs=0) const char ** (const char *tmp = NULL) { $1 = ($1_ltype)&tmp; }
%typemap(argout) const char ** {
	PyObject *o = tl_py_str_or_none(tmp$argnum);
	if (!o)
		SWIG_fail;
	$result = SWIG_Python_AppendOutput($result, o);
}

/* Records written through a pointer (their buffers freed after). */
%define TL_RECORD_OUT(TYPE, INIT, FIELDS, DISPOSE)
%typemap(in, numinputs=0) TYPE * (TYPE tmp = INIT) { $1 = &tmp; }
%typemap(argout) TYPE * {
	PyObject *o = tl_py_struct_dict(&tmp$argnum, FIELDS);
	if (!o)
		SWIG_fail;
	$result = SWIG_Python_AppendOutput($result, o);
}
%typemap(freearg) TYPE * { DISPOSE; }
%enddef
TL_RECORD_OUT(tl_backup_check, {0}, tl_py_backup_check_fields, (void)0)
TL_RECORD_OUT(tl_scan_result, {0}, tl_py_scan_result_fields, (void)0)
TL_RECORD_OUT(tl_ssh_result, TL_SSH_RESULT_INIT, tl_py_ssh_result_fields,
              tl_ssh_result_dispose(&tmp$argnum))

/* Records the library returns (owned by a list or report): dicts. */
%define TL_RECORD_RET(TYPE, FIELDS)
%typemap(out) const TYPE * {
	if ($1) {
		$result = tl_py_struct_dict($1, FIELDS);
		if (!$result)
			SWIG_fail;
	} else {
		$result = Py_None;
		Py_INCREF(Py_None);
	}
}
%enddef
TL_RECORD_RET(tl_error, tl_py_error_fields)
TL_RECORD_RET(tl_check, tl_py_check_fields)
TL_RECORD_RET(tl_app_container, tl_py_app_container_fields)
TL_RECORD_RET(tl_pg_db_info, tl_py_pg_db_info_fields)
TL_RECORD_RET(tl_caddy_site, tl_py_caddy_site_fields)
TL_RECORD_RET(tl_caddy_upstream, tl_py_caddy_upstream_fields)
TL_RECORD_RET(tl_backup_info, tl_py_backup_info_fields)
TL_RECORD_RET(tl_backup_outcome, tl_py_backup_outcome_fields)
TL_RECORD_RET(tl_backup_prune_item, tl_py_backup_prune_item_fields)
TL_RECORD_RET(tl_platform_step, tl_py_platform_step_fields)
TL_RECORD_RET(tl_server_step, tl_py_server_step_fields)
TL_RECORD_RET(tl_server_secret, tl_py_server_secret_fields)
TL_RECORD_RET(tl_alert, tl_py_alert_fields)
/* the platform at a glance */
TL_RECORD_RET(tl_status_app, tl_py_status_app_fields)
TL_RECORD_RET(tl_status_source, tl_py_status_source_fields)

/* ---- inputs ------------------------------------------------------------------ */

/* Options structs from dicts (None: the defaults). */
%define TL_OPTIONS(TYPE, INIT, FIELDS)
%typemap(in) const TYPE * (TYPE tmp, tl_py_keep keep = TL_PY_KEEP_INIT) {
	{
		TYPE init = INIT;
		tmp = init;
	}
	if (tl_py_fill(&tmp, FIELDS, $input, &keep, "TYPE") < 0)
		SWIG_fail;
	$1 = &tmp;
}
%typemap(freearg) const TYPE * { tl_py_keep_release(&keep$argnum); }
%enddef
TL_OPTIONS(tl_app_options, TL_APP_OPTIONS_INIT, tl_py_app_options_fields)
TL_OPTIONS(tl_deploy_options, TL_DEPLOY_OPTIONS_INIT, tl_py_deploy_options_fields)
TL_OPTIONS(tl_rollback_options, TL_ROLLBACK_OPTIONS_INIT, tl_py_rollback_options_fields)
TL_OPTIONS(tl_destroy_options, TL_DESTROY_OPTIONS_INIT, tl_py_destroy_options_fields)
TL_OPTIONS(tl_preview_options, TL_PREVIEW_OPTIONS_INIT, tl_py_preview_options_fields)
TL_OPTIONS(tl_preview_gc_options, TL_PREVIEW_GC_OPTIONS_INIT, tl_py_preview_gc_options_fields)
TL_OPTIONS(tl_pg_options, TL_PG_OPTIONS_INIT, tl_py_pg_options_fields)
TL_OPTIONS(tl_caddy_route, TL_CADDY_ROUTE_INIT, tl_py_caddy_route_fields)
TL_OPTIONS(tl_caddy_main_options, TL_CADDY_MAIN_OPTIONS_INIT, tl_py_caddy_main_options_fields)
TL_OPTIONS(tl_backup_options, TL_BACKUP_OPTIONS_INIT, tl_py_backup_options_fields)
TL_OPTIONS(tl_redis_options, TL_REDIS_OPTIONS_INIT, tl_py_redis_options_fields)
TL_OPTIONS(tl_s3_options, TL_S3_OPTIONS_INIT, tl_py_s3_options_fields)
TL_OPTIONS(tl_s3_transfer_options, TL_S3_TRANSFER_OPTIONS_INIT, tl_py_s3_transfer_options_fields)
TL_OPTIONS(tl_s3_list_options, TL_S3_LIST_OPTIONS_INIT, tl_py_s3_list_options_fields)
TL_OPTIONS(tl_ssh_options, TL_SSH_OPTIONS_INIT, tl_py_ssh_options_fields)
TL_OPTIONS(tl_ssh_exec_options, TL_SSH_EXEC_OPTIONS_INIT, tl_py_ssh_exec_options_fields)
TL_OPTIONS(tl_ssh_upload_options, TL_SSH_UPLOAD_OPTIONS_INIT, tl_py_ssh_upload_options_fields)
TL_OPTIONS(tl_github_options, TL_GITHUB_OPTIONS_INIT, tl_py_github_options_fields)
TL_OPTIONS(tl_github_deployment_options, TL_GITHUB_DEPLOYMENT_OPTIONS_INIT,
           tl_py_github_deployment_options_fields)
TL_OPTIONS(tl_github_status_options, TL_GITHUB_STATUS_OPTIONS_INIT,
           tl_py_github_status_options_fields)
TL_OPTIONS(tl_docker_logs_options, TL_DOCKER_LOGS_OPTIONS_INIT, tl_py_docker_logs_options_fields)
TL_OPTIONS(tl_docker_exec_options, TL_DOCKER_EXEC_OPTIONS_INIT, tl_py_docker_exec_options_fields)
TL_OPTIONS(tl_compose_options, TL_COMPOSE_OPTIONS_INIT, tl_py_compose_options_fields)
TL_OPTIONS(tl_doctor_options, TL_DOCTOR_OPTIONS_INIT, tl_py_doctor_options_fields)
TL_OPTIONS(tl_platform_options, TL_PLATFORM_OPTIONS_INIT, tl_py_platform_options_fields)
TL_OPTIONS(tl_server_bootstrap_options, TL_SERVER_BOOTSTRAP_OPTIONS_INIT,
           tl_py_server_bootstrap_options_fields)
TL_OPTIONS(tl_metrics_options, TL_METRICS_OPTIONS_INIT, tl_py_metrics_options_fields)
TL_OPTIONS(tl_alert_options, TL_ALERT_OPTIONS_INIT, tl_py_alert_options_fields)
TL_OPTIONS(tl_scan_options, TL_SCAN_OPTIONS_INIT, tl_py_scan_options_fields)
TL_OPTIONS(tl_envfile_options, TL_ENVFILE_OPTIONS_INIT, tl_py_envfile_options_fields)
/* app settings (envcfg) */
TL_OPTIONS(tl_appenv_options, TL_APPENV_OPTIONS_INIT, tl_py_appenv_options_fields)
/* the platform at a glance */
TL_OPTIONS(tl_status_options, TL_STATUS_OPTIONS_INIT, tl_py_status_options_fields)
/* the cluster (issue 19) */
TL_OPTIONS(tl_cluster_init_options, TL_CLUSTER_INIT_OPTIONS_INIT,
           tl_py_cluster_init_options_fields)

/* NULL-terminated lists of strings from a list (None: NULL). */
%typemap(in) const char *const * (tl_py_keep keep = TL_PY_KEEP_INIT) {
	if ($input == Py_None) {
		$1 = NULL;
	} else {
		$1 = ($1_ltype)tl_py_strv($input, &keep, NULL, "$1_name");
		if (!$1)
			SWIG_fail;
	}
}
%typemap(freearg) const char *const * { tl_py_keep_release(&keep$argnum); }

/* Byte strings with a length (bytes, or str as UTF-8). */
%typemap(in) (const void *data, size_t len) (PyObject *b = NULL),
             (const char *data, size_t len) (PyObject *b = NULL),
             (const char *word, size_t len) (PyObject *b = NULL) {
	char *p;
	Py_ssize_t n;
	b = PyUnicode_Check($input) ? PyUnicode_AsUTF8String($input)
	                            : (Py_INCREF($input), $input);
	if (!b || PyBytes_AsStringAndSize(b, &p, &n) < 0)
		SWIG_fail;
	$1 = ($1_ltype)p;
	$2 = (size_t)n;
}
%typemap(freearg) (const void *data, size_t len), (const char *data, size_t len),
                  (const char *word, size_t len) { Py_XDECREF(b$argnum); }

/* ---- what is not wrapped as is ------------------------------------------------ */

%ignore tl_ctx_new;            /* tl_py_ctx_new installs the callback trampoline */
%ignore tl_ctx_options_init;
%ignore tl_ctx_set_event_cb;   /* tl_py_ctx_set_callback */
%ignore tl_buf_dispose;        /* buffers never reach Python */
%ignore tl_ssh_result_dispose;
%ignore tl_caddy_route_init;
%rename("$ignore", regextarget=1) "_options_init$";
/* Structs are dicts here: no accessor functions for their fields. */
%rename("$ignore", %$isclass) "";

%include "towlion/common.h"
%include "towlion/version.h"
%include "towlion/context.h"
%include "towlion/envfile.h"
%include "towlion/validate.h"
%include "towlion/platform.h"
%include "towlion/pg.h"
%include "towlion/app.h"
%include "towlion/deploy.h"
%include "towlion/preview.h"
%include "towlion/caddy.h"
%include "towlion/redis.h"
%include "towlion/s3.h"
%include "towlion/github.h"
%include "towlion/ssh.h"
%include "towlion/backup.h"
%include "towlion/docker.h"
%include "towlion/compose.h"
/* app settings (envcfg) */
%include "towlion/appenv.h"
%include "towlion/server.h"
/* the platform at a glance */
%include "towlion/status.h"
/* the cluster (issue 19) */
%include "towlion/cluster.h"

/* ---- contexts and their callback ----------------------------------------------- */

%nothread tl_py_ctx_set_callback;
%typemap(in) PyObject *callable { $1 = $input; }
%inline %{
/* A context whose events go through the trampoline: to `callable` once
 * tl_py_ctx_set_callback() names one, else only Ctrl-C is checked. */
int tl_py_ctx_new(tl_ctx **out, const char *config_path, unsigned int flags)
{
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.config_path = config_path;
	o.flags = flags;
	o.event_cb = tl_py_event_trampoline;
	return tl_ctx_new(out, &o);
}

/* Route the context's events to `callable` (None: no callable). The
 * caller keeps a reference to it for as long as the context lives. */
void tl_py_ctx_set_callback(tl_ctx *ctx, PyObject *callable)
{
	tl_ctx_set_event_cb(ctx, tl_py_event_trampoline,
	                    callable == Py_None ? NULL : (void *)callable);
}
%}
