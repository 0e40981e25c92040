/* Backup file names and timestamps (pure). */
#include "backup_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int format;
	int encrypted;
	const char *ext;
} exts[] = {
	{TL_BACKUP_FORMAT_CUSTOM, 0, "dump.zst"},
	{TL_BACKUP_FORMAT_CUSTOM, 1, "dump.zst.enc"},
	{TL_BACKUP_FORMAT_SQL, 0, "sql.gz"},
	{TL_BACKUP_FORMAT_SQL, 1, "sql.gz.enc"},
};

const char *tl__bk_ext(int format, int encrypted)
{
	for (size_t i = 0; i < TL__ARRAY_SIZE(exts); i++)
		if (exts[i].format == format && exts[i].encrypted == !!encrypted)
			return exts[i].ext;
	return NULL;
}

void tl__bk_ts_format(char out[17], time_t t)
{
	/* not strftime: its %Y writes the year 26 as "26", and the name would
	 * not parse back (found by fuzz_backup_names) */
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 17, "%04u%02u%02uT%02u%02u%02uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
	         (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
	         (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

int tl__bk_ts_parse(time_t *out, const char *s)
{
	int64_t t = 0;
	if (!s || strnlen(s, 16) < 16)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "bad backup timestamp (want YYYYMMDDTHHMMSSZ)");
	/* the format tl__bk_ts_format writes; a date that does not exist (31
	 * February) is refused, not moved */
	if (!tl__parse_utc(&t, s, 16, "%Y%m%dT%H%M%SZ"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "bad backup timestamp %.16s", s);
	*out = (time_t)t;
	return TL_OK;
}

int tl__bk_validate_db(const char *db)
{
	size_t n = db ? strlen(db) : 0;
	if (n == 0 || n > TL__BK_MAX_DB || db[0] == '-')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid database name \"%s\": use 1..63 of [A-Za-z0-9_-]",
		                     db ? db : "(null)");
	for (size_t i = 0; i < n; i++) {
		char c = db[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "invalid database name \"%s\": use 1..63 of [A-Za-z0-9_-]",
			                     db);
	}
	return TL_OK;
}

char *tl__bk_file_name(const char *database, time_t t, int format, int encrypted)
{
	const char *ext = tl__bk_ext(format, encrypted);
	if (!ext) {
		tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "unknown backup format %d", format);
		return NULL;
	}
	char ts[17];
	tl__bk_ts_format(ts, t);
	return tl__sprintf("%s_%s.%s", database, ts, ext);
}

void tl__bk_name_dispose(tl__bk_name *n)
{
	if (n) {
		free(n->database);
		n->database = NULL;
	}
}

int tl__bk_name_parse(tl__bk_name *out, const char *file)
{
	TL__CHECK_ARG(out && file);
	size_t len = strlen(file);
	int partial = 0;
	if (tl__str_endswith(file, ".partial")) {
		partial = 1;
		len -= strlen(".partial");
	}
	/* <db>_<16-char ts>.<ext>: find the extension first. */
	for (size_t i = 0; i < TL__ARRAY_SIZE(exts); i++) {
		size_t el = strlen(exts[i].ext);
		if (len < el + 1 + 16 + 2)
			continue;
		const char *dot = file + len - el - 1;
		if (*dot != '.' || strncmp(dot + 1, exts[i].ext, el) != 0)
			continue;
		const char *ts = dot - 16;
		if (ts[-1] != '_')
			continue;
		char tsbuf[17];
		memcpy(tsbuf, ts, 16);
		tsbuf[16] = '\0';
		time_t t;
		if (tl__bk_ts_parse(&t, tsbuf) != TL_OK)
			break;
		char *db = tl__strndup(file, (size_t)(ts - 1 - file));
		if (!db)
			return TL_ENOMEM;
		if (tl__bk_validate_db(db) != TL_OK) {
			free(db);
			break;
		}
		out->database = db;
		out->created = t;
		out->format = exts[i].format;
		out->encrypted = exts[i].encrypted;
		out->partial = partial;
		return TL_OK;
	}
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
	                     "\"%s\" is not a backup file name (<db>_<YYYYMMDDTHHMMSSZ>.<ext>)",
	                     file);
}

char *tl__bk_derived_db(const char *database, const char *infix, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	char ts[15];
	strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
	char *name = tl__sprintf("%s%s%s", database, infix, ts);
	if (name && strlen(name) > TL__BK_MAX_DB) {
		tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		              "database name \"%s\" is too long for a scratch name (max 63 bytes)",
		              name);
		free(name);
		return NULL;
	}
	return name;
}
