/* The SCAN loop: every key under a prefix, batch by batch. */
#include "redis_internal.h"

#include <stdio.h>
#include <string.h>

/* How many keys one SCAN call looks at: a hint to the server. */
#define SCAN_COUNT "1000"

/* "prefix*" with the prefix's glob characters escaped: it matches literally. */
static int literal_prefix_pattern(tl_buf *pattern, const char *prefix)
{
	int rc = TL_OK;
	for (const char *p = prefix; !rc && *p; p++) {
		if (strchr("*?[]\\", *p))
			rc = tl__buf_putc(pattern, '\\');
		if (!rc)
			rc = tl__buf_putc(pattern, *p);
	}
	return rc ? rc : tl__buf_putc(pattern, '*');
}

int tl__redis_scan_prefix(tl_redis *r, const char *prefix, const char *type,
                          tl__redis_batch_fn fn, void *payload)
{
	tl_buf pattern = TL_BUF_INIT;
	int rc = literal_prefix_pattern(&pattern, prefix);
	char cursor[32] = "0";
	do {
		if (rc)
			break;
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern.ptr, "COUNT", SCAN_COUNT,
		                      "TYPE", type};
		redisReply *rep = NULL;
		if ((rc = tl__redis_cmd(&rep, r, "SCAN", type ? 8 : 6, argv)))
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_REDIS, "Redis SCAN: unexpected reply");
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		if (rep->element[1]->elements)
			rc = fn(r, rep->element[1], payload);
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	tl_buf_dispose(&pattern);
	return rc;
}
