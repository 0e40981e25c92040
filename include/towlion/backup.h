/*
 * libtowlion - backups of the app databases, and a restore that cannot
 * lose data.
 *
 * A backup is one file per database in TOWLION_BACKUP_DIR named
 * `<db>_<YYYYMMDDTHHMMSSZ>.<ext>` (mode 0600) plus a manifest
 * `<file>.json` next to it (database, size, SHA-256, format, PostgreSQL
 * version, encryption, start, duration, table count, verification state).
 * The file is written as `<file>.partial`, fsynced and renamed, so a
 * backup is either complete or absent; a `.partial` left by a killed run
 * is never listed and is removed by the next run on that database.
 *
 * Formats:
 *   TL_BACKUP_FORMAT_CUSTOM (default, ext "dump.zst"): `pg_dump -Fc -Z0`
 *     compressed by libtowlion with zstd; `zstd -dc F | pg_restore` works.
 *   TL_BACKUP_FORMAT_SQL (ext "sql.gz"): plain SQL compressed with gzip;
 *     `gunzip -c F | psql` works.
 * When TOWLION_BACKUP_KEY names a key file (32 bytes as 64 hex digits,
 * mode 0600 or stricter, see tl_backup_key_generate()), the compressed
 * stream is encrypted with libsodium's secretstream (XChaCha20-Poly1305)
 * and ".enc" is appended to the extension.
 *
 * Which databases: by default the app databases, i.e. those named
 * `<x>_db` and owned by the role `<x>_user` (the pg module's tenancy
 * convention), including one that refuses connections (it is then
 * reported as failed, never skipped). Callers may name databases
 * explicitly.
 *
 * pg_dump and pg_restore run with an argv, never a shell; the password of
 * TOWLION_PG_URL reaches them only through the child's PGPASSWORD.
 * They are always of the server's own major version (TOWLION_PG_TOOLS):
 * the host's from opts->pg_bin_dir, else /usr/lib/postgresql/<server
 * major>/bin, else PATH, when their --version says that major; else those
 * of the platform's PostgreSQL container (labels towlion.platform=1 and
 * towlion.service=postgres), run by docker exec as nobody with the
 * password in the exec's own environment. With none that fits, a backup,
 * restore or deep verify fails with TL_EUNSUPPORTED before it changes
 * anything (no lock held, no intent record, no scratch database).
 *
 * Locks: one per database (<TOWLION_STATE_DIR>/locks/backup.<db>.lock)
 * while it is backed up or restored.
 * Monitoring: the time of the last successful backup of each database is
 * kept in <TOWLION_STATE_DIR>/backups/last-success.json.
 */
#ifndef TOWLION_BACKUP_H
#define TOWLION_BACKUP_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/** Backup formats (tl_backup_options.format). */
typedef enum {
	TL_BACKUP_FORMAT_CUSTOM = 0, /* pg_dump -Fc, zstd: "dump.zst" */
	TL_BACKUP_FORMAT_SQL = 1     /* plain SQL, gzip: "sql.gz" */
} tl_backup_format;

/** Verification state of a backup. */
typedef enum {
	TL_BACKUP_UNVERIFIED = 0, /* complete, never verified */
	TL_BACKUP_VERIFIED = 1,   /* the last verify succeeded */
	TL_BACKUP_FAILED = 2,     /* the last verify failed */
	TL_BACKUP_INCOMPLETE = 3  /* manifest missing/unreadable or size differs */
} tl_backup_state;

/** Flags for tl_backup_options.flags. */
#define TL_BACKUP_DRY_RUN (1u << 0)   /* plan only: change nothing */
#define TL_BACKUP_DEEP (1u << 1)      /* verify: restore into a scratch db */
#define TL_BACKUP_CONFIRM (1u << 2)   /* required by tl_backup_restore() */
#define TL_BACKUP_NO_REMOTE (1u << 3) /* ignore TOWLION_BACKUP_REMOTE */

typedef struct {
	unsigned int version;          /* TL_BACKUP_OPTIONS_VERSION */
	unsigned int flags;            /* TL_BACKUP_* */
	int format;                    /* run: a tl_backup_format */
	const char *const *databases;  /* run/list/prune: only these (NULL:
	                                  all app databases / all backups) */
	size_t ndatabases;
	const char *pg_bin_dir;        /* where pg_dump/pg_restore live; NULL:
	                                  see above */
	int level;                     /* compression level; 0: the default,
	                                  1 for both zstd and gzip (measured:
	                                  bench/backup) */
	int timeout_ms;                /* per pg_dump / pg_restore; 0: none */
	int lock_timeout_ms;           /* wait for a busy database; 0: 30000,
	                                  < 0: do not wait */
	const char *into;              /* restore: restore side by side into
	                                  this new database, no swap */
	int threads;                   /* run: extra zstd worker threads;
	                                  0: none, the thread reading pg_dump's
	                                  pipe compresses (enough for one
	                                  pg_dump stream; see bench/backup) */
} tl_backup_options;

#define TL_BACKUP_OPTIONS_VERSION 1
#define TL_BACKUP_OPTIONS_INIT {TL_BACKUP_OPTIONS_VERSION, 0, 0, NULL, 0, NULL, 0, 0, 0, NULL, 0}

TL_EXTERN(int) tl_backup_options_init(tl_backup_options *opts, unsigned int version);

/* ---- backups on disk ------------------------------------------------- */

/** One backup. Strings are owned by the list it came from. */
typedef struct {
	const char *file;       /* base name */
	const char *path;       /* full path */
	const char *database;
	int format;             /* a tl_backup_format */
	int encrypted;
	int state;              /* a tl_backup_state */
	int64_t size;           /* bytes on disk */
	int64_t created;        /* start, seconds since the epoch (UTC) */
	int64_t duration_ms;    /* -1 when unknown */
	int64_t tables;         /* tables in the database, -1 when unknown */
	const char *sha256;     /* hex, "" when unknown */
	const char *pg_version; /* server version, "" when unknown */
	const char *remote;     /* URL of the checked offsite copy, or "" */
	int64_t verified_at;    /* last verify, 0 never */
} tl_backup_info;

typedef struct tl_backup_list tl_backup_list;

/**
 * The backups in TOWLION_BACKUP_DIR (only of opts->databases when set),
 * newest first. `.partial` files are never listed. A missing directory is
 * an empty list.
 */
TL_EXTERN(int) tl_backup_list_get(tl_backup_list **out, tl_ctx *ctx,
                                  const tl_backup_options *opts);
TL_EXTERN(size_t) tl_backup_list_count(const tl_backup_list *l);
/** The i-th backup, NULL past the end. */
TL_EXTERN(const tl_backup_info *) tl_backup_list_at(const tl_backup_list *l, size_t i);
TL_EXTERN(void) tl_backup_list_free(tl_backup_list *l);

/** Static name of a state ("verified") and of a format ("custom"). */
TL_EXTERN(const char *) tl_backup_state_name(int state);
TL_EXTERN(const char *) tl_backup_format_name(int format);

/* ---- run --------------------------------------------------------------- */

/** What happened to one database in a run. Owned by the report. */
typedef struct {
	const char *database;
	int result;            /* TL_OK or a negative tl_result */
	const char *message;   /* why it failed, or "" */
	const char *file;      /* the new backup (the planned name under
	                          TL_BACKUP_DRY_RUN), "" on failure */
	int64_t size;          /* bytes written */
	uint64_t dump_bytes;   /* bytes pg_dump produced (uncompressed) */
	int64_t duration_ms;
	const char *remote;    /* offsite copy URL, or "" */
} tl_backup_outcome;

typedef struct tl_backup_report tl_backup_report;

TL_EXTERN(size_t) tl_backup_report_count(const tl_backup_report *r);
TL_EXTERN(const tl_backup_outcome *) tl_backup_report_at(const tl_backup_report *r,
                                                         size_t i);
TL_EXTERN(void) tl_backup_report_free(tl_backup_report *r);

/**
 * Back up every app database (or opts->databases), one after the other.
 * A database that fails does not stop the others. Returns TL_OK when all
 * succeeded, else the code of the first failure, with a message naming
 * every database that failed. Unlike other out-params, `*out` is also set
 * when some databases failed (so the caller sees each outcome); it stays
 * untouched only when the run could not start (bad options, config,
 * PostgreSQL unreachable). Progress: steps "backup.database" and
 * TL_EVENT_PROGRESS "backup.dump" with bytes read from pg_dump.
 * When TOWLION_BACKUP_REMOTE is set, each backup and its manifest are
 * uploaded there and the copy is checked (HEAD: size and ETag); a failed
 * upload fails that database (the local backup stays).
 */
TL_EXTERN(int) tl_backup_run(tl_backup_report **out, tl_ctx *ctx,
                             const tl_backup_options *opts);

/* ---- verify ------------------------------------------------------------ */

typedef struct {
	uint64_t bytes;  /* uncompressed dump bytes */
	int64_t tables;  /* deep: tables restored */
	int64_t rows;    /* deep: rows counted in them */
} tl_backup_check;

/**
 * Verify a backup (a file name from the list or a path): decrypt,
 * decompress and compare the SHA-256 with the manifest; with
 * TL_BACKUP_DEEP also restore it into a scratch database
 * `<db>__verify_<ts>` owned by, and restored and counted as, a throwaway
 * role that owns nothing else (never the admin), check the table count
 * against the manifest, count the rows and drop the scratch database and
 * the role. The manifest's state becomes
 * verified or failed. `out` may be NULL. A corrupt, truncated or tampered
 * backup is TL_EIO with a message saying which (and marks it failed); the
 * wrong key is TL_EAUTH (the file is not blamed).
 */
TL_EXTERN(int) tl_backup_verify(tl_backup_check *out, tl_ctx *ctx, const char *backup,
                                const tl_backup_options *opts);

/* ---- prune --------------------------------------------------------------- */

/** One prune decision. Owned by the report. */
typedef struct {
	const char *file;   /* backup file, or the kept database's name */
	const char *database;
	int deleted;        /* 1 deleted (or would be, under DRY_RUN) */
	const char *reason; /* "within the retention window"... */
	int is_database;    /* 1: a `<db>__pre_restore_<ts>` database */
} tl_backup_prune_item;

typedef struct tl_backup_prune_report tl_backup_prune_report;

TL_EXTERN(size_t) tl_backup_prune_report_count(const tl_backup_prune_report *r);
TL_EXTERN(const tl_backup_prune_item *) tl_backup_prune_report_at(
	const tl_backup_prune_report *r, size_t i);
TL_EXTERN(void) tl_backup_prune_report_free(tl_backup_prune_report *r);

/**
 * Apply retention per database: keep every backup younger than
 * TOWLION_BACKUP_KEEP_DAYS days, and never fewer than
 * TOWLION_BACKUP_KEEP_LAST newest good ones (verified or unverified but
 * complete), however old. Failed and incomplete backups older than the
 * window go. Deletes the file, its manifest and, with
 * TOWLION_BACKUP_REMOTE, the offsite copy.
 * Databases kept by restores (`<db>__pre_restore_<YYYYMMDDHHMMSS>`) older
 * than KEEP_DAYS are dropped too; when PostgreSQL cannot be reached that
 * part is skipped with a warning event (files are still pruned).
 */
TL_EXTERN(int) tl_backup_prune(tl_backup_prune_report **out, tl_ctx *ctx,
                               const tl_backup_options *opts);

/* ---- restore ------------------------------------------------------------- */

/**
 * Restore `backup` into database `database` (which must exist, unless
 * opts->into is set). The backup is restored into a scratch database
 * `<db>__restore_<ts>` owned by the database's owner, by pg_restore
 * logged in as a throwaway role of the same name (NOSUPERUSER, NOINHERIT,
 * a member of the owner only; dropped afterwards) with --exit-on-error
 * --no-owner --role=<owner>, so every object belongs to the app's role
 * and the backup's code never runs with the admin's rights. Schemas
 * `pr_N` go back to their preview roles `<x>_pr_N` when those exist. A
 * database owned by a role with platform rights (superuser, CREATEROLE,
 * BYPASSRLS, REPLICATION) is refused (TL_EINVALID). The copy is checked
 * (checksum, stream integrity, table count),
 * and only then swapped in: new connections to the current database are
 * refused, its sessions terminated, it is renamed `<db>__pre_restore_<ts>`
 * (and kept) and the scratch database takes its name, owner, connection
 * limit, CONNECT/TEMP grants and settings. Any failure before the swap
 * drops the scratch database and leaves the current one exactly as it
 * was. With opts->into the scratch database is renamed to that (new)
 * name instead and nothing else changes. An intent record makes a killed
 * restore repairable (tl_backup_repair(), done first by every call here).
 * Requires TL_BACKUP_CONFIRM. `previous` (may be NULL) receives the name
 * of the kept database ("" with `into`).
 */
TL_EXTERN(int) tl_backup_restore(tl_buf *previous, tl_ctx *ctx, const char *database,
                                 const char *backup, const tl_backup_options *opts);

/**
 * Repair what a killed restore or deep verify left behind: each one
 * records its intent in <TOWLION_STATE_DIR>/backups/intent.<db>.json
 * first, so that once its process is gone (its lock is free) this
 * allows connections again to the databases it closed, drops its scratch
 * database and its throwaway role, and removes the record. Every other
 * tl_backup_* call that touches a database does this first (warning
 * events "repaired: ..."), and so does the doctor. `done` (may be NULL)
 * receives one line per repaired operation ("" when there was nothing).
 * Under TL_BACKUP_DRY_RUN nothing is changed. Records of operations
 * still running are left alone.
 */
TL_EXTERN(int) tl_backup_repair(tl_buf *done, tl_ctx *ctx, const tl_backup_options *opts);

/* ---- keys ---------------------------------------------------------------- */

/**
 * Write a new random key to `path` (64 hex digits and a newline), mode
 * 0600, atomically; TL_EEXISTS when the file exists (never overwritten).
 */
TL_EXTERN(int) tl_backup_key_generate(const char *path);

/* ---- dump tools -------------------------------------------------------- */

/**
 * Which dump tools backups would use now, as one line for a doctor:
 * "host /usr/lib/postgresql/15/bin (PostgreSQL 15 tools, server 15)" or
 * "container towlion-postgres (PostgreSQL 17 tools, server 17)". Connects
 * to TOWLION_PG_URL; TL_EUNSUPPORTED (saying why) when none fit.
 */
TL_EXTERN(int) tl_backup_pg_tools(tl_buf *out, tl_ctx *ctx);

TL_END_DECL

#endif
