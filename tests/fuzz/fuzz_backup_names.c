/* Fuzz what the backup module reads by name or from small files: backup
 * file names (a directory listing, a local or remote object key, a
 * caller's argument), their timestamps, manifests (<backup>.json) and key
 * files. An accepted name is written back identically by
 * tl__bk_file_name(); an accepted timestamp formats back to itself; an
 * accepted manifest formats and parses back to the same fields.
 *
 * First byte: 0 name, 1 timestamp, 2 manifest, 3 key file. */
#include "backup/backup_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_name(const char *text)
{
	tl__bk_name n = {0};
	if (tl__bk_name_parse(&n, text) != TL_OK)
		return;
	if (tl__bk_validate_db(n.database))
		abort();
	char *back = tl__bk_file_name(n.database, n.created, n.format, n.encrypted);
	char *full = back && n.partial ? tl__sprintf("%s.partial", back) : NULL;
	if (!back || strcmp(n.partial ? full : back, text))
		abort();
	free(full);
	free(back);
	tl__bk_name_dispose(&n);
}

static void fuzz_ts(const char *text)
{
	time_t t;
	if (tl__bk_ts_parse(&t, text) != TL_OK)
		return;
	char back[17];
	tl__bk_ts_format(back, t);
	if (strncmp(back, text, 16))
		abort();
}

static void same(const tl__bk_manifest *a, const tl__bk_manifest *b)
{
	if (strcmp(a->database, b->database) || strcmp(a->file, b->file) ||
	    a->format != b->format || a->encrypted != b->encrypted ||
	    strcmp(a->compression, b->compression) || a->size != b->size ||
	    strcmp(a->sha256, b->sha256) || strcmp(a->pg_version, b->pg_version) ||
	    a->created != b->created || a->duration_ms != b->duration_ms ||
	    a->dump_bytes != b->dump_bytes || a->tables != b->tables || a->state != b->state ||
	    strcmp(a->remote, b->remote))
		abort();
}

static void fuzz_manifest(const char *text)
{
	tl__bk_manifest m;
	if (tl__bk_manifest_parse(&m, text, "fuzz.json") != TL_OK)
		return;
	if (m.size < 0 || strlen(m.sha256) != 64)
		abort();
	tl_buf out = TL_BUF_INIT;
	tl__bk_manifest again;
	if (tl__bk_manifest_format(&out, &m) != TL_OK ||
	    tl__bk_manifest_parse(&again, out.ptr, "formatted") != TL_OK)
		abort();
	same(&m, &again);
	tl__bk_manifest_dispose(&again);
	tl__bk_manifest_dispose(&m);
	tl_buf_dispose(&out);
}

static void fuzz_key(const char *text, size_t len)
{
	unsigned char key[TL__BK_KEY_BYTES];
	if (tl__bk_key_parse(key, text, len, "/etc/towlion/backup.key") == TL_OK) {
		/* 64 hex digits and line ends, nothing else */
		size_t hex = 0;
		for (size_t i = 0; i < len; i++)
			hex += strchr("0123456789abcdefABCDEF", text[i]) && text[i];
		if (hex != 2 * TL__BK_KEY_BYTES)
			abort();
	} else if (strstr(tl_error_last()->message, "fuzzsecret")) {
		abort(); /* a refused key file is never quoted */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	char *text = malloc(n + 1);
	memcpy(text, data + 1, n);
	text[n] = '\0';
	switch (data[0] % 4) {
	case 0: fuzz_name(text); break;
	case 1: fuzz_ts(text); break;
	case 2: fuzz_manifest(text); break;
	case 3: fuzz_key(text, n); break;
	}
	free(text);
	return 0;
}
