/* Redis module internals. */
#ifndef TL_REDIS_INTERNAL_H
#define TL_REDIS_INTERNAL_H

#include "core/core.h"
#include "towlion/redis.h"

#include <hiredis/hiredis.h>

struct tl_redis {
	tl_ctx *ctx;
	redisContext *c;
	char *where;   /* host:port for messages */
	char version[32];
	char *admin_user;      /* user of TOWLION_REDIS_URL ("default" without one) */
	const char **rules;    /* tenant rules this server knows (acl.c) */
	size_t rule_count;
	char *canonical;       /* the server's spelling of them (acl.c) */
};

/* The command rules of an app's user, after "+@all" (cached in r). */
int tl__redis_tenant_rules(const char *const **rules, size_t *count, tl_redis *r);

/* How ACL GETUSER spells those rules on this server (cached in r). */
int tl__redis_rules_canonical(const char **out, tl_redis *r);

/* TL_EINVALID for a user name Redis or the platform owns ("default", the
 * admin user of TOWLION_REDIS_URL). */
int tl__redis_check_user(tl_redis *r, const char *user);

/* Run a command given as argv (binary-safe, no formatting). On success
 * *reply is a non-error reply the caller frees with freeReplyObject; an
 * error reply becomes the last error (TL_EAUTH for NOPERM/WRONGPASS/
 * NOAUTH) naming `what`. */
int tl__redis_cmd(redisReply **reply, tl_redis *r, const char *what, int argc,
                  const char **argv);

/* The error for a server error reply ("WRONGPASS invalid ..."). */
int tl__redis_error_reply(const char *what, const char *text);

/* The error for a broken connection. */
int tl__redis_error_conn(const redisContext *c, const char *what, const char *where);

/* Called with each non-empty batch of keys (an array reply) of a SCAN. */
typedef int (*tl__redis_batch_fn)(tl_redis *r, const redisReply *keys, void *payload);
/* SCAN every key under `prefix` (matched literally, glob characters and
 * all), only those of `type` unless NULL ("list"); each batch goes to `fn`,
 * and its error stops the scan. (scan.c) */
int tl__redis_scan_prefix(tl_redis *r, const char *prefix, const char *type,
                          tl__redis_batch_fn fn, void *payload);

/* The whole number of field `name` in an INFO text ("name:123\r\n"); a
 * field missing or not digits alone is TL_EIO naming it, not a silent 0. */
int tl__redis_info_field(uint64_t *out, const char *info, const char *name);

/* Hex SHA-256 of a password, as ACL GETUSER lists it. */
void tl__redis_password_hash(char out[65], const char *password);

#endif
