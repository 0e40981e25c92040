/* The admin connection: URL, AUTH, commands and their errors. */
#include "redis_internal.h"
#include "core/url.h"
#include "towlion/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CONNECT_TIMEOUT_MS 5000
#define COMMAND_TIMEOUT_MS 30000

void tl__redis_password_hash(char out[65], const char *password)
{
	tl__sha256_hex(out, password, strlen(password));
}

int tl__redis_error_reply(const char *what, const char *text)
{
	char code[32];
	size_t n = strcspn(text, " ");
	if (n >= sizeof(code))
		n = sizeof(code) - 1;
	memcpy(code, text, n);
	code[n] = '\0';
	int rc = TL_ERROR;
	const char *hint = "";
	if (!strcmp(code, "WRONGPASS") || !strcmp(code, "NOAUTH")) {
		rc = TL_EAUTH;
		hint = "; check the user and password in TOWLION_REDIS_URL";
	} else if (!strcmp(code, "NOPERM")) {
		rc = TL_EAUTH;
		hint = "; the admin user of TOWLION_REDIS_URL needs +@all (ACL, SCAN, UNLINK)";
	} else if (!strcmp(code, "LOADING") || !strcmp(code, "BUSY") ||
	           !strcmp(code, "MASTERDOWN")) {
		rc = TL_EUNAVAILABLE;
	} else if (!strcmp(code, "ERR") && strstr(text, "unknown command")) {
		rc = TL_EUNSUPPORTED;
	}
	return tl__error_set_upstream(rc, TL_ERRCLASS_REDIS, code, 0, "Redis %s: %s%s", what,
	                              text, hint);
}

int tl__redis_error_conn(const redisContext *c, const char *what, const char *where)
{
	int rc = TL_EIO;
	const char *hint = "";
	int err = c ? c->err : REDIS_ERR_OOM;
	const char *text = c ? c->errstr : "out of memory";
	if (err == REDIS_ERR_IO && (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
	                            errno == ENETUNREACH)) {
		rc = TL_EUNAVAILABLE;
		hint = "; is it running, and is TOWLION_REDIS_URL right?";
	} else if (err == REDIS_ERR_IO && (errno == EAGAIN || errno == ETIMEDOUT ||
	                                   errno == EINPROGRESS)) {
		rc = TL_ETIMEOUT;
	} else if (err == REDIS_ERR_OOM) {
		rc = TL_ENOMEM;
	} else if (err == REDIS_ERR_IO || err == REDIS_ERR_EOF || err == REDIS_ERR_OTHER) {
		rc = TL_EUNAVAILABLE;
	}
	return tl__error_set_upstream(rc, TL_ERRCLASS_REDIS, "", err, "Redis %s at %s: %s%s",
	                              what, where, text, hint);
}

int tl__redis_cmd(redisReply **reply, tl_redis *r, const char *what, int argc,
                  const char **argv)
{
	int rc = tl__cancelled(r->ctx);
	if (rc)
		return rc;
	size_t lens[64];
	if (argc > 64)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_REDIS, "too many arguments");
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
	if (!rep)
		return tl__redis_error_conn(r->c, what, r->where);
	if (rep->type == REDIS_REPLY_ERROR) {
		rc = tl__redis_error_reply(what, rep->str);
		freeReplyObject(rep);
		return rc;
	}
	*reply = rep;
	return TL_OK;
}

void tl_redis_free(tl_redis *r)
{
	if (!r)
		return;
	if (r->c)
		redisFree(r->c);
	free(r->where);
	free(r->admin_user);
	free(r->rules);
	free(r->canonical);
	free(r);
}

const char *tl_redis_server_version(const tl_redis *r)
{
	return r ? r->version : "";
}

/* "redis_version:7.0.15\r\n" out of INFO server. */
static void parse_version(tl_redis *r, const char *info)
{
	const char *v = strstr(info, "redis_version:");
	if (!v)
		return;
	v += strlen("redis_version:");
	size_t n = strcspn(v, "\r\n");
	if (n >= sizeof(r->version))
		n = sizeof(r->version) - 1;
	memcpy(r->version, v, n);
	r->version[n] = '\0';
}

int tl_redis_connect(tl_redis **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	tl__url u;
	int rc = tl__url_parse(&u, tl__cfg(ctx, "TOWLION_REDIS_URL"), "TOWLION_REDIS_URL");
	if (rc)
		return rc;
	if (strcmp(u.scheme, "redis") != 0) {
		rc = strcmp(u.scheme, "rediss") == 0
		         ? tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_CONFIG,
		                         "TOWLION_REDIS_URL: rediss:// (TLS) is not supported; "
		                         "use redis:// on a private network")
		         : tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                         "TOWLION_REDIS_URL must start with redis://");
		tl__url_dispose(&u);
		return rc;
	}
	int db = 0;
	if (*u.path && strcmp(u.path, "/") != 0) {
		/* Strict: strtol took "+3" and " 3" as well. */
		uint64_t v = 0;
		if (tl_parse_uint(&v, u.path + 1, 0, 15, "database number") != TL_OK) {
			tl__url_dispose(&u);
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "TOWLION_REDIS_URL: the path must be a database "
			                     "number 0..15");
		}
		db = (int)v;
	}
	tl_redis *r = tl__calloc(1, sizeof(*r));
	int port = u.port ? u.port : 6379;
	if (r)
		r->where = tl__sprintf(strchr(u.host, ':') ? "[%s]:%d" : "%s:%d", u.host, port);
	if (!r || !r->where) {
		tl_redis_free(r);
		tl__url_dispose(&u);
		return TL_ENOMEM;
	}
	r->ctx = ctx;
	r->admin_user = tl__strdup(u.user && *u.user ? u.user : "default");
	if (!r->admin_user) {
		rc = TL_ENOMEM;
		goto done;
	}
	struct timeval ct = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
	r->c = redisConnectWithTimeout(u.host, port, ct);
	if (!r->c || r->c->err) {
		rc = tl__redis_error_conn(r->c, "connect", r->where);
		goto done;
	}
	struct timeval cmd = {COMMAND_TIMEOUT_MS / 1000, 0};
	redisSetTimeout(r->c, cmd);
	redisReply *rep = NULL;
	if (u.password) {
		const char *argv[] = {"AUTH", u.user && *u.user ? u.user : "default", u.password};
		if ((rc = tl__redis_cmd(&rep, r, "authenticate", 3, argv)))
			goto done;
		freeReplyObject(rep);
	}
	if (db) {
		char dbs[8];
		snprintf(dbs, sizeof(dbs), "%d", db);
		const char *argv[] = {"SELECT", dbs};
		if ((rc = tl__redis_cmd(&rep, r, "select database", 2, argv)))
			goto done;
		freeReplyObject(rep);
	}
	const char *info[] = {"INFO", "server"};
	if ((rc = tl__redis_cmd(&rep, r, "INFO server", 2, info)))
		goto done;
	if (rep->type == REDIS_REPLY_STRING)
		parse_version(r, rep->str);
	freeReplyObject(rep);
	uint64_t major = 0;
	const char *vp = r->version;
	if (!tl__parse_digits(&major, &vp) || major < 6) {
		rc = tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_REDIS,
		                   "Redis at %s is version %s: ACL users need Redis 6 or later",
		                   r->where, r->version[0] ? r->version : "(unknown)");
		goto done;
	}
done:
	tl__url_dispose(&u);
	if (rc) {
		tl_redis_free(r);
		return rc;
	}
	*out = r;
	return TL_OK;
}
