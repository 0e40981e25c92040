/* towlion backup: run, list, verify, prune, restore, key generate. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DBS 64

/* Pull every "--db X" / "--db=X" out of the verb's arguments (cli_parse
 * keeps one value per option; --db may repeat). */
static int take_dbs(cli *c, const char **dbs, size_t *n)
{
	int w = 0;
	*n = 0;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		const char *v = NULL;
		if (!strcmp(a, "--db")) {
			if (i + 1 >= c->argc)
				return cli_usage(c, "--db needs a value");
			v = c->argv[++i];
		} else if (!strncmp(a, "--db=", 5)) {
			v = a + 5;
		} else {
			c->argv[w++] = c->argv[i];
			continue;
		}
		if (*n >= MAX_DBS)
			return cli_usage(c, "at most %d --db options", MAX_DBS);
		dbs[(*n)++] = v;
	}
	c->argc = w;
	return 0;
}

static void base_opts(cli *c, tl_backup_options *o, const char **dbs, size_t ndbs)
{
	tl_backup_options_init(o, TL_BACKUP_OPTIONS_VERSION);
	if (c->dry_run)
		o->flags |= TL_BACKUP_DRY_RUN;
	if (ndbs) {
		o->databases = dbs;
		o->ndatabases = ndbs;
	}
}

static int run_run(cli *c)
{
	const char *dbs[MAX_DBS];
	size_t ndbs;
	int rc = take_dbs(c, dbs, &ndbs);
	if (rc)
		return rc;
	const char *format = NULL, *level = NULL, *threads = NULL;
	cli_opt opts[] = {{"--format", true, &format},
	                  {"--level", true, &level},
	                  {"--threads", true, &threads}};
	if ((rc = cli_parse(c, opts, 3, NULL, 0, 0, NULL)))
		return rc;
	tl_backup_options o;
	base_opts(c, &o, dbs, ndbs);
	if (format && !strcmp(format, "sql"))
		o.format = TL_BACKUP_FORMAT_SQL;
	else if (format && strcmp(format, "custom"))
		return cli_usage(c, "--format is custom or sql");
	/* zstd levels are 1..22; threads are extra zstd workers (0: none). */
	if ((rc = cli_opt_int(c, &o.level, "--level", level, 1, 22)) ||
	    (rc = cli_opt_int(c, &o.threads, "--threads", threads, 0, 256)))
		return rc;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_backup_report *r = NULL;
	rc = tl_backup_run(&r, ctx, &o);
	if (!r)
		return cli_fail(c, rc);
	json_t *arr = json_array();
	for (size_t i = 0; i < tl_backup_report_count(r); i++) {
		const tl_backup_outcome *b = tl_backup_report_at(r, i);
		json_array_append_new(
			arr, json_pack("{s:s, s:b, s:s, s:s, s:I, s:I, s:I, s:s}", "database", b->database,
			               "ok", b->result == TL_OK, "error", b->message, "file", b->file,
			               "size", (json_int_t)b->size, "dump_bytes",
			               (json_int_t)b->dump_bytes, "duration_ms",
			               (json_int_t)b->duration_ms, "remote", b->remote));
		char s[32], d[32];
		cli_format_bytes(s, sizeof(s), (double)b->size);
		cli_format_bytes(d, sizeof(d), (double)b->dump_bytes);
		if (b->result)
			cli_print(c, "FAIL  %s: %s\n", b->database, b->message);
		else if (c->dry_run)
			cli_print(c, "plan  %s -> %s (--dry-run: nothing written)\n", b->database, b->file);
		else
			cli_print(c, "ok    %s -> %s  %s (from %s) in %.1f s%s%s\n", b->database, b->file,
			          s, d, (double)b->duration_ms / 1000, b->remote[0] ? ", copied to " : "",
			          b->remote);
	}
	if (!tl_backup_report_count(r))
		cli_print(c, "no app databases to back up\n");
	cli_set_result(c, json_pack("{s:b, s:b, s:o}", "ok", rc == TL_OK, "dry_run", c->dry_run,
	                            "backups", arr));
	tl_backup_report_free(r);
	if (rc) {
		/* Keep the per-database document (it says which failed and why);
		 * the summary goes to stderr and sets the exit code. */
		fputs("towlion: ", stderr);
		cli_write_line(stderr, tl_error_last()->message);
		fputc('\n', stderr);
		return cli_exit_code(rc);
	}
	return 0;
}

static int run_list(cli *c)
{
	const char *dbs[MAX_DBS];
	size_t ndbs;
	int rc = take_dbs(c, dbs, &ndbs);
	if (rc || (rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL)))
		return rc;
	tl_backup_options o;
	base_opts(c, &o, dbs, ndbs);
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_backup_list *l = NULL;
	if ((rc = tl_backup_list_get(&l, ctx, &o)))
		return cli_fail(c, rc);
	json_t *arr = json_array();
	for (size_t i = 0; i < tl_backup_list_count(l); i++) {
		const tl_backup_info *b = tl_backup_list_at(l, i);
		char when[32], s[32];
		cli_format_time(when, b->created);
		cli_format_bytes(s, sizeof(s), (double)b->size);
		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:s, s:s}", "file",
			               b->file, "path", b->path, "database", b->database, "created", when,
			               "format", tl_backup_format_name(b->format), "encrypted",
			               b->encrypted, "state", tl_backup_state_name(b->state), "size",
			               (json_int_t)b->size, "tables", (json_int_t)b->tables, "sha256",
			               b->sha256, "remote", b->remote));
		cli_print(c, "%-20s  %-10s  %10s  %-10s  %s\n", when, b->database, s,
		          tl_backup_state_name(b->state), b->file);
	}
	if (!tl_backup_list_count(l))
		cli_print(c, "no backups\n");
	cli_set_result(c, json_pack("{s:o}", "backups", arr));
	tl_backup_list_free(l);
	return 0;
}

static int run_verify(cli *c)
{
	const char *deep = NULL, *backup = NULL;
	cli_opt opts[] = {{"--deep", false, &deep}};
	int rc = cli_parse(c, opts, 1, &backup, 1, 1, NULL);
	if (rc)
		return rc;
	tl_backup_options o;
	base_opts(c, &o, NULL, 0);
	if (deep)
		o.flags |= TL_BACKUP_DEEP;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_backup_check k;
	if ((rc = tl_backup_verify(&k, ctx, backup, &o)))
		return cli_fail(c, rc);
	cli_set_result(c, json_pack("{s:s, s:b, s:b, s:I, s:I, s:I}", "backup", backup, "ok", 1,
	                            "deep", deep != NULL, "bytes", (json_int_t)k.bytes, "tables",
	                            (json_int_t)k.tables, "rows", (json_int_t)k.rows));
	if (c->dry_run)
		cli_print(c, "would verify %s%s (--dry-run: nothing checked)\n", backup,
		          deep ? " by restoring it into a scratch database" : "");
	else if (deep)
		cli_print(c, "ok: %s restores: %lld tables, %lld rows\n", backup, (long long)k.tables,
		          (long long)k.rows);
	else
		cli_print(c, "ok: %s is intact (%llu bytes of dump, checksum matches)\n", backup,
		          (unsigned long long)k.bytes);
	return 0;
}

static int run_prune(cli *c)
{
	const char *dbs[MAX_DBS];
	size_t ndbs;
	int rc = take_dbs(c, dbs, &ndbs);
	if (rc || (rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL)))
		return rc;
	tl_backup_options o;
	base_opts(c, &o, dbs, ndbs);
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_backup_prune_report *r = NULL;
	if ((rc = tl_backup_prune(&r, ctx, &o)))
		return cli_fail(c, rc);
	json_t *arr = json_array();
	size_t gone = 0;
	for (size_t i = 0; i < tl_backup_prune_report_count(r); i++) {
		const tl_backup_prune_item *it = tl_backup_prune_report_at(r, i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "file", it->file,
		                                     "database", it->database, "deleted",
		                                     it->deleted, "reason", it->reason));
		gone += it->deleted != 0;
		cli_print(c, "%s  %s (%s)\n",
		          it->deleted ? (c->dry_run ? "would delete" : "deleted    ")
		                      : (c->dry_run ? "would keep  " : "kept       "),
		          it->file, it->reason);
	}
	cli_print(c, "%zu backup(s) %s\n", gone, c->dry_run ? "would be deleted" : "deleted");
	cli_set_result(c, json_pack("{s:b, s:o}", "dry_run", c->dry_run, "items", arr));
	tl_backup_prune_report_free(r);
	return 0;
}

static int run_restore(cli *c)
{
	const char *yes = NULL, *into = NULL, *pos[2] = {NULL, NULL};
	cli_opt opts[] = {{"--yes", false, &yes}, {"--into", true, &into}};
	int rc = cli_parse(c, opts, 2, pos, 2, 2, NULL);
	if (rc)
		return rc;
	if (!yes && !c->dry_run)
		return cli_usage(c, "restoring replaces database %s: add --yes to confirm (the current "
		                    "database is kept as <db>__pre_restore_<time>)",
		                 pos[0]);
	tl_backup_options o;
	base_opts(c, &o, NULL, 0);
	if (yes)
		o.flags |= TL_BACKUP_CONFIRM;
	o.into = into;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_buf prev = TL_BUF_INIT;
	if ((rc = tl_backup_restore(&prev, ctx, pos[0], pos[1], &o)))
		return cli_fail(c, rc);
	const char *kept = prev.ptr ? prev.ptr : "";
	cli_set_result(c, json_pack("{s:s, s:s, s:s, s:s, s:b}", "database", into ? into : pos[0],
	                            "backup", pos[1], "previous", kept, "mode",
	                            into ? "side-by-side" : "swap", "dry_run", c->dry_run));
	if (c->dry_run)
		cli_print(c, "would restore %s into %s (--dry-run: nothing changed)\n", pos[1],
		          into ? into : pos[0]);
	else if (kept[0])
		cli_print(c, "restored %s from %s; the previous database is kept as %s\n", pos[0],
		          pos[1], kept);
	else
		cli_print(c, "restored %s into %s\n", pos[1], into ? into : pos[0]);
	tl_buf_dispose(&prev);
	return 0;
}

static int run_repair(cli *c)
{
	int rc = cli_parse(c, NULL, 0, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_backup_options o;
	base_opts(c, &o, NULL, 0);
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_buf done = TL_BUF_INIT;
	if ((rc = tl_backup_repair(&done, ctx, &o)))
		return cli_fail(c, rc);
	const char *d = done.ptr ? done.ptr : "";
	cli_set_result(c, json_pack("{s:b, s:s}", "dry_run", c->dry_run, "repaired", d));
	if (*d)
		cli_print(c, "repaired: %s\n", d);
	else
		cli_print(c, "nothing to repair%s\n", c->dry_run ? " (--dry-run: nothing changed)" : "");
	tl_buf_dispose(&done);
	return 0;
}

static int run_key(cli *c)
{
	const char *pos[2] = {NULL, NULL};
	size_t n;
	int rc = cli_parse(c, NULL, 0, pos, 2, 2, &n);
	if (rc)
		return rc;
	if (strcmp(pos[0], "generate"))
		return cli_usage(c, "unknown key command '%s' (try: generate FILE)", pos[0]);
	if (c->dry_run) {
		cli_print(c, "would write a new backup key to %s (mode 0600)\n", pos[1]);
		cli_set_result(c, json_pack("{s:s, s:b}", "path", pos[1], "dry_run", 1));
		return 0;
	}
	if ((rc = tl_backup_key_generate(pos[1])))
		return cli_fail(c, rc);
	cli_print(c, "wrote a new backup key to %s (mode 0600); set TOWLION_BACKUP_KEY=%s and keep "
	             "a copy somewhere safe: without it the backups cannot be read\n",
	          pos[1], pos[1]);
	cli_set_result(c, json_pack("{s:s, s:b}", "path", pos[1], "dry_run", 0));
	return 0;
}

static const cli_verb verbs[] = {
	{"run", "[--db DB]... [--format custom|sql] [--level N] [--threads N]",
	 "back up every app database (or the ones named), compressed, encrypted when "
	 "TOWLION_BACKUP_KEY is set, copied offsite when TOWLION_BACKUP_REMOTE is set",
	 "towlion backup run --db shop_db", true, run_run},
	{"list", "[--db DB]...", "list the backups, newest first, with sizes and verification state",
	 "towlion backup list --json", false, run_list},
	{"verify", "BACKUP [--deep]",
	 "check a backup: decrypt, decompress, checksum; --deep restores it into a scratch database "
	 "and counts its rows",
	 "towlion backup verify shop_db_20260101T020000Z.dump.zst --deep", true, run_verify},
	{"prune", "[--db DB]...",
	 "delete backups older than TOWLION_BACKUP_KEEP_DAYS, always keeping the "
	 "TOWLION_BACKUP_KEEP_LAST newest good ones",
	 "towlion --dry-run backup prune", true, run_prune},
	{"restore", "DB BACKUP --yes [--into NAME]",
	 "restore a backup into a scratch database, check it, then swap it in (the current database "
	 "is kept); --into restores side by side",
	 "towlion backup restore shop_db shop_db_20260101T020000Z.dump.zst --yes", true,
	 run_restore},
	{"repair", "",
	 "clean up after a killed restore or deep verify: allow connections again, drop its scratch "
	 "database and role (every backup command and the doctor do this first)",
	 "towlion backup repair", true, run_repair},
	{"key", "generate FILE", "write a new random backup key (mode 0600, never overwrites)",
	 "towlion backup key generate /etc/towlion/backup.key", true, run_key},
};

const cli_group cli_group_backup = {"backup", "back up, verify, prune and restore the databases",
                                    verbs, sizeof(verbs) / sizeof(verbs[0])};
