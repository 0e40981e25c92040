/*
 * In-flight operation records (lib/core/oplog.c).
 *
 * An operation that changes a project in several steps (a deploy, a
 * rollback, a preview up) writes <TOWLION_STATE_DIR>/ops/<project>.json
 * (atomically, 0600) under the project's lock before it changes anything,
 * and removes it when it is done, failed cleanly or not. A record whose
 * project lock is free therefore belongs to a process that died: the next
 * command on that project settles it (finishes or undoes it, and says
 * which). The format follows the restore intents of lib/backup/intent.c:
 * a JSON object with "version", "kind", "pid", "started", "step", plus the
 * operation's own fields (all strings).
 */
#ifndef TL_CORE_OPLOG_H
#define TL_CORE_OPLOG_H

#include "core.h"

#include <jansson.h>

/* Write (or rewrite) the record of `project`: `fields` is a JSON object of
 * the operation's own string fields (borrowed); kind and step are added. */
int tl__oplog_write(tl_ctx *ctx, const char *project, const char *kind, const char *step,
                    json_t *fields);
/* Rewrite the record's step (the other fields stay). */
int tl__oplog_step(tl_ctx *ctx, const char *project, const char *step);
/* Remove the record (gone already: fine). */
void tl__oplog_remove(tl_ctx *ctx, const char *project);
/* The record of `project`; TL_ENOTFOUND (error cleared) when there is none. */
int tl__oplog_read(json_t **out, tl_ctx *ctx, const char *project);
/* The projects with a record (NULL when none: only an opendir). */
int tl__oplog_list(char ***out, tl_ctx *ctx);
/* TL_EINVALID: the record of `project` is not what its kind writes. */
int tl__oplog_malformed(tl_ctx *ctx, const char *project);
/* A string field of a record, "" when missing. */
const char *tl__oplog_str(const json_t *rec, const char *key);

#endif
