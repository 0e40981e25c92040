/*
 * The manifest `<backup>.json`: what the backup holds and how it was
 * checked. Written atomically; a backup without a readable manifest is
 * "incomplete" and never counts as good.
 */
#include "backup_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_VERSION 1

void tl__bk_manifest_dispose(tl__bk_manifest *m)
{
	if (!m)
		return;
	free(m->database);
	free(m->file);
	free(m->compression);
	free(m->pg_version);
	free(m->remote);
	memset(m, 0, sizeof(*m));
}

static const char *state_word(int s)
{
	return s == TL_BACKUP_VERIFIED ? "verified" : s == TL_BACKUP_FAILED ? "failed" : "unverified";
}

static void iso(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	/* A time gmtime cannot represent (a manifest read back may say
	 * anything) is left empty, not formatted from an unset struct tm. */
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

int tl__bk_manifest_format(tl_buf *out, const tl__bk_manifest *m)
{
	char started[32], verified[32];
	iso(started, m->created);
	iso(verified, m->verified_at);
	json_t *j = json_pack(
		"{s:i, s:s, s:s, s:s, s:s, s:b, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s}",
		"manifest_version", MANIFEST_VERSION, "database", m->database, "file", m->file,
		"format", tl_backup_format_name(m->format), "compression",
		m->compression ? m->compression : "", "encrypted", m->encrypted, "size",
		(json_int_t)m->size, "sha256", m->sha256, "pg_version",
		m->pg_version ? m->pg_version : "", "started", started, "started_epoch",
		(json_int_t)m->created, "duration_ms", (json_int_t)m->duration_ms, "dump_bytes",
		(json_int_t)m->dump_bytes, "tables", (json_int_t)m->tables, "verified",
		state_word(m->state), "verified_at", m->verified_at ? verified : "", "remote",
		m->remote ? m->remote : "");
	if (!j)
		return tl__error_oom();
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return tl__error_oom();
	tl__buf_clear(out);
	int rc = tl__buf_puts(out, text);
	if (rc == TL_OK)
		rc = tl__buf_putc(out, '\n');
	free(text);
	return rc;
}

static int parse_iso(int64_t *out, const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int tl__bk_manifest_parse(tl__bk_manifest *out, const char *text, const char *what)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP, "%s: bad JSON at line %d: %s",
		                     what, jerr.line, jerr.text);
	tl__bk_manifest m = {0};
	const char *db = NULL, *file = NULL, *format = NULL, *comp = "", *sha = NULL,
	           *pgv = "", *verified = "unverified", *verified_at = NULL, *remote = "";
	int enc = 0;
	/* 'I', not 'i': an int would take 4294967297 for version 1 */
	json_int_t mv = 0, size = -1, started = 0, dur = -1, dump = 0, tables = -1;
	int bad = json_unpack_ex(j, &jerr, 0,
	                         "{s:I, s:s, s:s, s:s, s?s, s:b, s:I, s:s, s?s, s:I, s?I, s?I, "
	                         "s?I, s?s, s?s, s?s}",
	                         "manifest_version", &mv, "database", &db, "file", &file,
	                         "format", &format, "compression", &comp, "encrypted", &enc,
	                         "size", &size, "sha256", &sha, "pg_version", &pgv,
	                         "started_epoch", &started, "duration_ms", &dur, "dump_bytes",
	                         &dump, "tables", &tables, "verified", &verified, "verified_at",
	                         &verified_at, "remote", &remote);
	int rc = TL_OK;
	if (bad)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP, "%s: %s", what, jerr.text);
	else if (mv != MANIFEST_VERSION)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                   "%s: manifest version %lld is not supported", what,
		                   (long long)mv);
	else if (strlen(sha) != 64 || size < 0)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP, "%s: bad size or sha256", what);
	if (rc == TL_OK) {
		if (!strcmp(format, "custom"))
			m.format = TL_BACKUP_FORMAT_CUSTOM;
		else if (!strcmp(format, "sql"))
			m.format = TL_BACKUP_FORMAT_SQL;
		else
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP, "%s: unknown format \"%s\"",
			                   what, format);
	}
	if (rc == TL_OK) {
		m.state = !strcmp(verified, "verified") ? TL_BACKUP_VERIFIED
		          : !strcmp(verified, "failed") ? TL_BACKUP_FAILED
		                                        : TL_BACKUP_UNVERIFIED;
		if (verified_at && *verified_at && parse_iso(&m.verified_at, verified_at) != 0)
			m.verified_at = 0;
		m.database = tl__strdup(db);
		m.file = tl__strdup(file);
		m.compression = tl__strdup(comp);
		m.pg_version = tl__strdup(pgv);
		m.remote = tl__strdup(remote);
		memcpy(m.sha256, sha, 65);
		m.encrypted = enc;
		m.size = size;
		m.created = started;
		m.duration_ms = dur;
		m.dump_bytes = (uint64_t)dump;
		m.tables = tables;
		if (!m.database || !m.file || !m.compression || !m.pg_version || !m.remote)
			rc = TL_ENOMEM;
	}
	json_decref(j);
	if (rc) {
		tl__bk_manifest_dispose(&m);
		return rc;
	}
	*out = m;
	return TL_OK;
}

int tl__bk_manifest_load(tl__bk_manifest *out, const char *backup_path)
{
	char *path = tl__sprintf("%s.json", backup_path);
	if (!path)
		return TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	int rc = tl__file_read(&text, path);
	if (rc == TL_OK)
		rc = tl__bk_manifest_parse(out, text.ptr, path);
	tl_buf_dispose(&text);
	free(path);
	return rc;
}

int tl__bk_manifest_save(const tl__bk_manifest *m, const char *backup_path)
{
	char *path = tl__sprintf("%s.json", backup_path);
	if (!path)
		return TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	int rc = tl__bk_manifest_format(&text, m);
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text.ptr, text.size, 0600);
	tl_buf_dispose(&text);
	free(path);
	return rc;
}
