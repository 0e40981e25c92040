/*
 * libtowlion - the server as a whole: health checks of every service the
 * platform depends on ("doctor").
 */
#ifndef TOWLION_PLATFORM_H
#define TOWLION_PLATFORM_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef enum {
	TL_CHECK_OK = 0,
	TL_CHECK_WARN = 1,
	TL_CHECK_FAIL = 2,
	TL_CHECK_SKIP = 3 /* not configured */
} tl_check_status;

/** One check of the doctor's report. Strings are owned by the report. */
typedef struct {
	const char *name;   /* "docker", "postgres", ... */
	int status;         /* a tl_check_status */
	const char *detail; /* what was found ("Docker 20.10.24, API 1.41") */
	const char *hint;   /* what to do when not ok, or "" */
	double elapsed_ms;  /* how long the check took */
} tl_check;

typedef struct tl_doctor_report tl_doctor_report;

/**
 * Check every configured service (Docker, PostgreSQL, Redis, Caddy, S3)
 * and the platform's directories. Each check is bounded by a short
 * timeout. Returns TL_OK when the report was made, whatever it found;
 * see tl_doctor_report_worst().
 */
TL_EXTERN(int) tl_doctor_run(tl_doctor_report **out, tl_ctx *ctx);

TL_EXTERN(size_t) tl_doctor_report_count(const tl_doctor_report *report);
/** The i-th check, or NULL past the end. */
TL_EXTERN(const tl_check *) tl_doctor_report_at(const tl_doctor_report *report, size_t i);
/** The worst status in the report (TL_CHECK_SKIP counts as ok). */
TL_EXTERN(int) tl_doctor_report_worst(const tl_doctor_report *report);
TL_EXTERN(void) tl_doctor_report_free(tl_doctor_report *report);

/** "ok", "warn", "fail", "skip". */
TL_EXTERN(const char *) tl_check_status_name(int status);

TL_END_DECL

#endif
