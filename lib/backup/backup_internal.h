/* The backup module's internals (not API). */
#ifndef TL_BACKUP_INTERNAL_H
#define TL_BACKUP_INTERNAL_H

#include "core/core.h"
#include "towlion/backup.h"
#include "towlion/docker.h"

#include <libpq-fe.h>
#include <time.h>

#define TL__BK_KEY_BYTES 32
/* Plaintext bytes per encrypted record. */
#define TL__BK_CHUNK (64 * 1024)
/* The encrypted container starts with this magic, then an 8-byte key id,
 * then the 24-byte secretstream header, then records of a 4-byte
 * big-endian length and that many bytes of ciphertext; the last record
 * carries the FINAL tag (so truncation is detected). */
#define TL__BK_MAGIC "TLBKENC1"
#define TL__BK_MAGIC_LEN 8
#define TL__BK_KEYID_LEN 8

/* Longest database name PostgreSQL keeps (NAMEDATALEN - 1). */
#define TL__BK_MAX_DB 63

/* ---- names.c: file names and timestamps (pure) ---- */

typedef struct {
	char *database;
	time_t created;
	int format;    /* tl_backup_format */
	int encrypted;
	int partial;   /* name ends in ".partial" */
} tl__bk_name;

/* The extension of a format: "dump.zst", "sql.gz.enc"... */
const char *tl__bk_ext(int format, int encrypted);
/* "20261130T044243Z" into out (17 bytes). */
void tl__bk_ts_format(char out[17], time_t t);
/* Parse "20261130T044243Z"; TL_EINVALID when malformed. */
int tl__bk_ts_parse(time_t *out, const char *s);
/* "<db>_<ts>.<ext>", to free(). */
char *tl__bk_file_name(const char *database, time_t t, int format, int encrypted);
/* Split a backup file name (base name); TL_EINVALID when it is not one. */
int tl__bk_name_parse(tl__bk_name *out, const char *file);
void tl__bk_name_dispose(tl__bk_name *n);
/* A database name we accept for files, locks and identifiers:
 * 1..63 of [A-Za-z0-9_-], not starting with '-'. */
int tl__bk_validate_db(const char *database);
/* "<db><infix><YYYYMMDDHHMMSS>" when it fits in 63 bytes, else NULL with
 * TL_EINVALID. */
char *tl__bk_derived_db(const char *database, const char *infix, time_t t);

/* ---- manifest.c ---- */

typedef struct {
	char *database;
	char *file;
	int format;
	int encrypted;
	char *compression; /* "zstd" / "gzip" */
	int64_t size;
	char sha256[65];
	char *pg_version;
	int64_t created;      /* start */
	int64_t duration_ms;
	uint64_t dump_bytes;
	int64_t tables;
	int state;            /* verified / failed / unverified */
	int64_t verified_at;
	char *remote;
} tl__bk_manifest;

void tl__bk_manifest_dispose(tl__bk_manifest *m);
/* JSON text of a manifest. */
int tl__bk_manifest_format(tl_buf *out, const tl__bk_manifest *m);
/* Parse; TL_EINVALID naming `what` on bad JSON or a missing field. */
int tl__bk_manifest_parse(tl__bk_manifest *out, const char *json, const char *what);
/* Read / atomically write `<backup path>.json`. */
int tl__bk_manifest_load(tl__bk_manifest *out, const char *backup_path);
int tl__bk_manifest_save(const tl__bk_manifest *m, const char *backup_path);

/* ---- stream.c: compression, encryption and SHA-256 of a backup ---- */

typedef enum { TL__BK_ZSTD = 0, TL__BK_GZIP = 1 } tl__bk_compression;

typedef struct tl__bk_writer tl__bk_writer;

/* Compress (and, with `key`, encrypt) into `fd`. `workers` > 0 lets zstd
 * compress on that many threads of its own. */
int tl__bk_writer_new(tl__bk_writer **out, int fd, int compression, int level, int workers,
                      const unsigned char *key);
int tl__bk_writer_write(tl__bk_writer *w, const void *data, size_t len);
/* Flush everything; the hex SHA-256 and size of the bytes written. */
int tl__bk_writer_finish(tl__bk_writer *w, char sha256[65], uint64_t *written);
void tl__bk_writer_free(tl__bk_writer *w);

typedef struct tl__bk_reader tl__bk_reader;

int tl__bk_reader_new(tl__bk_reader **out, int fd, int compression,
                      const unsigned char *key);
/* Up to `cap` plain bytes; *n == 0 is the end, reached only when the
 * stream was complete and intact. TL_EIO saying truncated / corrupted /
 * wrong key otherwise. */
int tl__bk_reader_read(tl__bk_reader *r, void *buf, size_t cap, size_t *n);
/* Hex SHA-256 of the file bytes read so far, and their count. */
void tl__bk_reader_sha256(tl__bk_reader *r, char sha256[65], uint64_t *read);
void tl__bk_reader_free(tl__bk_reader *r);

/* ---- key.c ---- */

/* The key named by TOWLION_BACKUP_KEY into `key`; *have = 0 when the key
 * is not configured. Refuses a file others can read or write. */
int tl__bk_key_load(unsigned char key[TL__BK_KEY_BYTES], int *have, tl_ctx *ctx);
/* Parse a key file's text (64 hex digits, optional newline). */
int tl__bk_key_parse(unsigned char key[TL__BK_KEY_BYTES], const char *text, size_t len,
                     const char *path);

/* ---- retention.c (pure) ---- */

typedef struct {
	const char *database;
	time_t created;
	int good;        /* complete and not failed verification */
	/* decision */
	int keep;
	const char *reason;
} tl__bk_keep_item;

/* Decide for every item (any order; groups by database). */
void tl__bk_retention(tl__bk_keep_item *items, size_t n, time_t now, int keep_days,
                      int keep_last);

/* ---- pgc.c: PostgreSQL connections and client programs ---- */

/* Connect to TOWLION_PG_URL, or to `dbname` on the same server; with
 * `user`, as that role with `password` instead of the URL's. The session's
 * search_path is pg_catalog (a tenant may set its database's). Errors
 * never quote the URL's password. */
int tl__bk_pg_open(PGconn **out, tl_ctx *ctx, const char *dbname);
int tl__bk_pg_open_as(PGconn **out, tl_ctx *ctx, const char *dbname, const char *user,
                      const char *password);
/* Set the error from a failed result (or the connection); returns the
 * code. */
int tl__bk_pg_fail(PGconn *conn, const PGresult *res, const char *fmt, ...)
	TL__PRINTF(3, 4);
/* Run a statement with text params; *out (may be NULL) gets the result. */
int tl__bk_pg_exec(PGresult **out, PGconn *conn, const char *what, const char *sql,
                   int nparams, const char *const *params);
/* Run one statement built with quoted identifiers (no parameters). */
int tl__bk_pg_execf(PGconn *c, const char *what, const char *fmt, ...) TL__PRINTF(3, 4);
/* A quoted identifier to free(); NULL with the error set. */
char *tl__bk_pg_ident(PGconn *conn, const char *name);
/* Number of user tables (not system, not temporary) in the connected db. */
int tl__bk_pg_table_count(int64_t *out, PGconn *conn);

/* What a child program needs to reach the server: a conninfo string for
 * --dbname (no password) and "PGPASSWORD=..." (or NULL). */
typedef struct {
	char *conninfo;
	char *pgpassword_env; /* secret */
} tl__bk_client;

int tl__bk_client_for(tl__bk_client *out, tl_ctx *ctx, const char *dbname);
/* The same, logging in as `user` with `password` (the URL's user and
 * password are left out). */
int tl__bk_client_as(tl__bk_client *out, tl_ctx *ctx, const char *dbname, const char *user,
                     const char *password);
/* The same, reaching the server at `host`:`port` instead of the URL's
 * (and without the URL's options naming files on this host). */
int tl__bk_client_at(tl__bk_client *out, tl_ctx *ctx, const char *dbname, const char *user,
                     const char *password, const char *host, const char *port);
void tl__bk_client_dispose(tl__bk_client *c);
/* Path of `prog` (pg_dump, pg_restore): bin_dir, else
 * /usr/lib/postgresql/<major>/bin, else the bare name (PATH). */
char *tl__bk_program(const char *bin_dir, int server_version, const char *prog);

/* ---- tools.c: dump tools of the server's own major version ---- */

typedef struct {
	int in_container;  /* run by docker exec in `container` */
	char *where;       /* host: the tools' directory ("PATH"); else the container's name */
	char *container;   /* the platform's postgres container (id) */
	int server_major;
	int tools_major;
	char *dump, *restore, *psql; /* programs (paths inside the container there) */
	tl_docker *docker; /* container: used by one thread at a time */
} tl__bk_tools;

/* Pick the tools for the server `server` is connected to (see tools.c),
 * or TL_EUNSUPPORTED saying why none fit. */
int tl__bk_tools_pick(tl__bk_tools *out, tl_ctx *ctx, PGconn *server, const char *bin_dir);
void tl__bk_tools_dispose(tl__bk_tools *t);
/* The major version in a `pg_dump --version` line; 0 when none. */
int tl__bk_tools_major(const char *version_line);
/* tl__bk_client_as() for where the tools run (`t` NULL: the host). */
int tl__bk_tools_client(tl__bk_client *out, const tl__bk_tools *t, tl_ctx *ctx,
                        const char *dbname, const char *user, const char *password);
/* tl__spawn(`so`) with these tools: on the host, or as an exec whose
 * stdin/stdout are `so`'s FD descriptors (else none), its stderr into
 * res->err. Safe on a worker thread (no events). */
int tl__bk_tools_run(tl__spawn_result *res, const tl__bk_tools *t, const tl__spawn_opts *so);

/* ---- common.c ---- */

typedef struct {
	unsigned int flags;
	int format;
	const char *const *databases;
	size_t ndatabases;
	const char *pg_bin_dir;
	int level;
	int timeout_ms;
	int lock_timeout_ms;
	const char *into;
	int threads;
	const tl__bk_tools *tools; /* set once picked (restore, deep verify) */
} tl__bk_opts;

/* Copy a caller's options (NULL: defaults), checking the version. */
int tl__bk_opts_read(tl__bk_opts *out, const tl_backup_options *opts);
/* Take the per-database lock. */
int tl__bk_lock(tl__lock **out, tl_ctx *ctx, const char *database, int timeout_ms);
/* Let go of a tl__bk_lock and remove its file: one lock file per database
 * name would outlive databases (and names that never were one). Safe while
 * others wait on it (lib/core/lock.c). NULL: nothing. */
void tl__bk_unlock(tl__lock *lk);
/* Resolve a backup argument (a file name in TOWLION_BACKUP_DIR or a path)
 * to a path and its parsed name. */
int tl__bk_resolve(char **path, tl__bk_name *name, tl_ctx *ctx, const char *backup);
/* Record `when` as the last success of `database` (atomic JSON file). */
int tl__bk_record_success(tl_ctx *ctx, const char *database, time_t when,
                          const char *file);
/* Whether a parsed key/name/flags combination can be read: loads the key
 * when the backup is encrypted. */
int tl__bk_key_for(unsigned char key[TL__BK_KEY_BYTES], tl_ctx *ctx, int encrypted,
                   const char *file);

/* ---- stream into a program: pg_restore fed from a backup file ---- */

typedef struct {
	uint64_t bytes;   /* plain bytes fed */
	char sha256[65];  /* of the file */
} tl__bk_feed_result;

/* Stream the backup at `path` (decrypted, decompressed) into `argv`'s
 * stdin (or, argv NULL, nowhere: a plain integrity check). Checks the
 * SHA-256 against `expect_sha` when not NULL/empty. */
int tl__bk_feed(tl__bk_feed_result *out, tl_ctx *ctx, const tl__bk_tools *tools,
                const char *path, const tl__bk_name *name, const char *const *argv,
                const char *const *env,
                int timeout_ms, const char *expect_sha, const char *subject);

/* ---- restore.c helpers shared with verify ---- */

/* Create `scratch` like the backup's database, owned by `owner`, closed to
 * PUBLIC, open to `login` (the throwaway role, tenant.c), and pg_restore
 * the backup into it logged in as `login` (--role=owner when they
 * differ); on failure drops it. `kind` ("restore", "verify") names the
 * test pause points. */
int tl__bk_restore_scratch(tl_ctx *ctx, PGconn *admin, const char *kind, const char *scratch,
                           const char *owner, const char *login, const char *login_pw,
                           const char *path, const tl__bk_name *name,
                           const tl__bk_manifest *m, const tl__bk_opts *o);
/* Drop a database (terminating its sessions); errors are logged only. */
void tl__bk_drop_db(tl_ctx *ctx, PGconn *admin, const char *db);

/* ---- tenant.c: restoring without platform rights ---- */

#define TL__BK_PW_LEN 32

/* TL_EINVALID when `owner` (of `database`) has platform rights
 * (superuser, CREATEROLE, BYPASSRLS, REPLICATION); TL_ENOTFOUND when it
 * does not exist. */
int tl__bk_owner_check(PGconn *admin, const char *database, const char *owner);
/* Create the throwaway login role `name` (a member of `member_of` when
 * not NULL); `password` gets its random password. */
int tl__bk_restorer_create(char password[TL__BK_PW_LEN + 1], PGconn *admin, const char *name,
                           const char *member_of);
int tl__bk_role_exists(int *out, PGconn *admin, const char *role);
/* In the database `db` is connected to: objects of `role` go to `owner`,
 * its rights are revoked. */
int tl__bk_disown(PGconn *db, const char *role, const char *owner);
/* End the role's sessions and drop it (a warning event on failure). */
int tl__bk_restorer_drop(tl_ctx *ctx, PGconn *admin, const char *role);
/* In the restored app database `db` (named `database`), give every schema
 * pr_N and its objects to the preview role <x>_pr_N when it exists. */
int tl__bk_preview_owners(tl_ctx *ctx, PGconn *db, const char *database, int *moved);

/* ---- intent.c: crash-safe restores ---- */

typedef struct {
	const char *kind;     /* "restore" or "verify" */
	const char *database; /* the backup's database (the lock's name) */
	const char *target;   /* where the restored copy goes (NULL: database) */
	const char *scratch;
	const char *role;     /* the throwaway role */
	const char *owner;    /* the owner the restore runs as ("" verify) */
	const char *pre;      /* the kept copy's name after a swap, or NULL */
	const char *step;     /* "scratch", then "swap" once the live db closes */
	int64_t started;
} tl__bk_intent;

int tl__bk_intent_save(tl_ctx *ctx, const tl__bk_intent *in);
int tl__bk_intent_step(tl_ctx *ctx, tl__bk_intent *in, const char *step);
void tl__bk_intent_remove(tl_ctx *ctx, const char *database);
/* Repair what killed restores/verifies left (see intent.c); one line per
 * repair appended to `done`. Records of live operations are skipped. */
int tl__bk_repair(tl_ctx *ctx, tl_buf *done, int dry_run);

/* ---- remote.c: offsite copies ---- */

/* Whether TOWLION_BACKUP_REMOTE is set (and not disabled by flags). */
int tl__bk_remote_enabled(tl_ctx *ctx, unsigned int flags);
/* Upload a backup and its manifest, check the copy; *url gets the
 * object's s3:// URL. */
int tl__bk_remote_upload(char **url, tl_ctx *ctx, const char *path, const char *file);
/* Delete the remote copy of `file` (and its manifest). */
int tl__bk_remote_delete(tl_ctx *ctx, const char *file);

#endif
