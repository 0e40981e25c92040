/* The backup module's pure parts: file names, manifests, retention
 * decisions (table-driven), the container format (compression +
 * encryption + SHA-256) and key files. No services. */
#include "tl_test.h"

#include "backup/backup_internal.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- names ---------------------------------------------------------- */

static void test_file_names(void **state)
{
	time_t t = 1796014507; /* 2026-11-30T04:55:07Z */
	char ts[17];
	tl__bk_ts_format(ts, t);
	assert_string_equal(ts, "20261130T045507Z");
	/* a year below 1000 keeps four digits, so the name parses back (found
	 * by fuzz_backup_names: strftime's %Y wrote "26") */
	time_t y26;
	tl_assert_ok(tl__bk_ts_parse(&y26, "00261130T044242Z"));
	tl__bk_ts_format(ts, y26);
	assert_string_equal(ts, "00261130T044242Z");
	char *f = tl__bk_file_name("shop_db", t, TL_BACKUP_FORMAT_CUSTOM, 0);
	assert_string_equal(f, "shop_db_20261130T045507Z.dump.zst");
	free(f);
	f = tl__bk_file_name("shop_db", t, TL_BACKUP_FORMAT_SQL, 1);
	assert_string_equal(f, "shop_db_20261130T045507Z.sql.gz.enc");
	free(f);
	assert_null(tl__bk_file_name("x", t, 7, 0));

	static const struct {
		const char *file;
		int ok;
		const char *db;
		int format, encrypted, partial;
	} cases[] = {
		{"shop_db_20261130T045507Z.dump.zst", 1, "shop_db", 0, 0, 0},
		{"my_app_db_20260101T000000Z.dump.zst.enc", 1, "my_app_db", 0, 1, 0},
		{"a_20260101T000000Z.sql.gz", 1, "a", 1, 0, 0},
		{"a_b_20260101T000000Z.sql.gz.enc.partial", 1, "a_b", 1, 1, 1},
		{"x-y_20261231T235959Z.dump.zst.partial", 1, "x-y", 0, 0, 1},
		{"shop_db_20261130T045507Z.dump.zst.json", 0, NULL, 0, 0, 0},
		{"shop_db_20261130T045507Z.tar", 0, NULL, 0, 0, 0},
		{"shop_db_20260231T000000Z.dump.zst", 0, NULL, 0, 0, 0}, /* 31 Feb */
		{"shop_db_20261130T245507Z.dump.zst", 0, NULL, 0, 0, 0}, /* hour 24 */
		{"shop_db-20261130T045507Z.dump.zst", 0, NULL, 0, 0, 0},
		{"_20261130T045507Z.dump.zst", 0, NULL, 0, 0, 0},
		{"sh op_20261130T045507Z.dump.zst", 0, NULL, 0, 0, 0},
		{"../x_20261130T045507Z.dump.zst", 0, NULL, 0, 0, 0},
		{"20261130T045507Z.dump.zst", 0, NULL, 0, 0, 0},
		{"", 0, NULL, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl__bk_name n = {0};
		int rc = tl__bk_name_parse(&n, cases[i].file);
		if ((rc == TL_OK) != cases[i].ok)
			print_error("case %zu (%s): rc %d\n", i, cases[i].file, rc);
		assert_int_equal(rc == TL_OK, cases[i].ok);
		if (!cases[i].ok) {
			tl_assert_error_contains("not a backup file name");
			continue;
		}
		assert_string_equal(n.database, cases[i].db);
		assert_int_equal(n.format, cases[i].format);
		assert_int_equal(n.encrypted, cases[i].encrypted);
		assert_int_equal(n.partial, cases[i].partial);
		assert_int_equal(n.created, i == 0 ? t : n.created);
		tl__bk_name_dispose(&n);
	}
}

static void test_derived_names_and_db_validation(void **state)
{
	time_t t = 1796014507;
	char *s = tl__bk_derived_db("shop_db", "__pre_restore_", t);
	assert_string_equal(s, "shop_db__pre_restore_20261130045507");
	free(s);
	/* The longest app database (32-char app + "_db") still fits. */
	const char *longest = "abcdefghijklmnopqrstuvwxyz012345_db";
	s = tl__bk_derived_db(longest, "__pre_restore_", t);
	assert_non_null(s);
	assert_true(strlen(s) <= 63);
	free(s);
	char big[64];
	memset(big, 'a', 60);
	big[60] = '\0';
	assert_null(tl__bk_derived_db(big, "__restore_", t));
	tl_assert_error_contains("too long");
	tl_assert_ok(tl__bk_validate_db("shop_db"));
	tl_assert_rc(TL_EINVALID, tl__bk_validate_db(""));
	tl_assert_rc(TL_EINVALID, tl__bk_validate_db("a;drop"));
	tl_assert_rc(TL_EINVALID, tl__bk_validate_db("-x"));
	tl_assert_rc(TL_EINVALID, tl__bk_validate_db("a/b"));
	memset(big, 'a', 63);
	big[63] = '\0';
	tl_assert_ok(tl__bk_validate_db(big));
}

/* ---- manifests ------------------------------------------------------- */

static void test_manifest_round_trip(void **state)
{
	tl__bk_manifest m = {0};
	m.database = strdup("shop_db");
	m.file = strdup("shop_db_20261130T045507Z.dump.zst.enc");
	m.format = TL_BACKUP_FORMAT_CUSTOM;
	m.encrypted = 1;
	m.compression = strdup("zstd");
	m.size = 123456789012LL;
	memset(m.sha256, 'a', 64);
	m.pg_version = strdup("15.4 \"quoted\"");
	m.created = 1796014507;
	m.duration_ms = 1234;
	m.dump_bytes = 5000000000ULL;
	m.tables = 12;
	m.state = TL_BACKUP_VERIFIED;
	m.verified_at = 1796014600;
	m.remote = strdup("s3://b/p/x");
	tl_buf text = TL_BUF_INIT;
	tl_assert_ok(tl__bk_manifest_format(&text, &m));
	assert_non_null(strstr(text.ptr, "\"verified\": \"verified\""));
	assert_non_null(strstr(text.ptr, "\"started\": \"2026-11-30T04:55:07Z\""));
	tl__bk_manifest back = {0};
	tl_assert_ok(tl__bk_manifest_parse(&back, text.ptr, "test"));
	assert_string_equal(back.database, m.database);
	assert_string_equal(back.file, m.file);
	assert_string_equal(back.sha256, m.sha256);
	assert_string_equal(back.pg_version, m.pg_version);
	assert_string_equal(back.remote, m.remote);
	assert_int_equal(back.size, m.size);
	assert_int_equal(back.dump_bytes, m.dump_bytes);
	assert_int_equal(back.tables, 12);
	assert_int_equal(back.encrypted, 1);
	assert_int_equal(back.state, TL_BACKUP_VERIFIED);
	assert_int_equal(back.verified_at, m.verified_at);
	assert_int_equal(back.created, m.created);
	assert_int_equal(back.duration_ms, 1234);
	tl__bk_manifest_dispose(&back);
	tl__bk_manifest_dispose(&m);
	tl_buf_dispose(&text);
}

static void test_manifest_rejects_bad_input(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"{\"manifest_version\": 1}",
		/* no sha256 */
		"{\"manifest_version\":1,\"database\":\"a\",\"file\":\"f\",\"format\":\"custom\","
		"\"encrypted\":false,\"size\":1,\"started_epoch\":1}",
		/* short sha256 */
		"{\"manifest_version\":1,\"database\":\"a\",\"file\":\"f\",\"format\":\"custom\","
		"\"encrypted\":false,\"size\":1,\"sha256\":\"ab\",\"started_epoch\":1}",
		/* unknown format */
		"{\"manifest_version\":1,\"database\":\"a\",\"file\":\"f\",\"format\":\"tar\","
		"\"encrypted\":false,\"size\":1,\"sha256\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"started_epoch\":1}",
		/* future version */
		"{\"manifest_version\":2,\"database\":\"a\",\"file\":\"f\",\"format\":\"sql\","
		"\"encrypted\":false,\"size\":1,\"sha256\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"started_epoch\":1}",
		/* a version that wraps to 1 in an int */
		"{\"manifest_version\":4294967297,\"database\":\"a\",\"file\":\"f\","
		"\"format\":\"sql\",\"encrypted\":false,\"size\":1,\"sha256\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"started_epoch\":1}",
		/* negative size */
		"{\"manifest_version\":1,\"database\":\"a\",\"file\":\"f\",\"format\":\"sql\","
		"\"encrypted\":false,\"size\":-5,\"sha256\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"started_epoch\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl__bk_manifest m = {0};
		int rc = tl__bk_manifest_parse(&m, bad[i], "m.json");
		if (rc != TL_EINVALID)
			print_error("case %zu accepted\n", i);
		assert_int_equal(rc, TL_EINVALID);
		tl_assert_error_contains("m.json");
	}
	/* The minimal valid one. */
	tl__bk_manifest m = {0};
	tl_assert_ok(tl__bk_manifest_parse(
		&m,
		"{\"manifest_version\":1,\"database\":\"a\",\"file\":\"f\",\"format\":\"sql\","
		"\"encrypted\":false,\"size\":1,\"sha256\":"
		"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"started_epoch\":1}",
		"m.json"));
	assert_int_equal(m.format, TL_BACKUP_FORMAT_SQL);
	assert_int_equal(m.state, TL_BACKUP_UNVERIFIED);
	assert_int_equal(m.tables, -1);
	/* a start no calendar holds formats as "", not from an unset struct
	 * tm (found reviewing fuzz_backup_names' round trip) */
	m.created = INT64_MIN;
	tl_buf text = TL_BUF_INIT;
	tl_assert_ok(tl__bk_manifest_format(&text, &m));
	assert_non_null(strstr(text.ptr, "\"started\": \"\""));
	assert_non_null(strstr(text.ptr, "\"started_epoch\": -9223372036854775808"));
	tl_buf_dispose(&text);
	tl__bk_manifest_dispose(&m);
}

/* ---- retention ------------------------------------------------------- */

#define DAY 86400
#define NOW ((time_t)1800000000)

typedef struct {
	const char *db;
	int age_hours;
	int good;
	int keep; /* expected */
} rcase;

static void check_retention(const char *name, const rcase *cases, size_t n, int keep_days,
                            int keep_last)
{
	tl__bk_keep_item items[32];
	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++) {
		items[i] = (tl__bk_keep_item){cases[i].db, NOW - (time_t)cases[i].age_hours * 3600,
		                              cases[i].good, -1, NULL};
	}
	tl__bk_retention(items, n, NOW, keep_days, keep_last);
	for (size_t i = 0; i < n; i++) {
		if (items[i].keep != cases[i].keep)
			print_error("%s: item %zu (%s, %d h, good %d): keep %d, expected %d (%s)\n", name,
			            i, cases[i].db, cases[i].age_hours, cases[i].good, items[i].keep,
			            cases[i].keep, items[i].reason);
		assert_int_equal(items[i].keep, cases[i].keep);
		assert_non_null(items[i].reason);
	}
}

static void test_retention_table(void **state)
{
	/* 8 days of failed backups must not delete the last good one. */
	static const rcase eight_failed[] = {
		{"a", 9 * 24, 1, 1}, /* the last good one, 9 days old */
		{"a", 8 * 24, 0, 0}, {"a", 7 * 24, 0, 0}, /* exactly 7 days: outside */
		{"a", 6 * 24, 0, 1}, {"a", 5 * 24, 0, 1}, {"a", 4 * 24, 0, 1},
		{"a", 3 * 24, 0, 1}, {"a", 2 * 24, 0, 1}, {"a", 1 * 24, 0, 1},
	};
	check_retention("eight failed", eight_failed, TL__ARRAY_SIZE(eight_failed), 7, 3);

	/* Ten good daily backups: the window keeps a week. */
	static const rcase daily[] = {
		{"a", 0, 1, 1}, {"a", 24, 1, 1}, {"a", 48, 1, 1}, {"a", 72, 1, 1},
		{"a", 96, 1, 1}, {"a", 120, 1, 1}, {"a", 144, 1, 1}, {"a", 168, 1, 0},
		{"a", 192, 1, 0}, {"a", 216, 1, 0},
	};
	check_retention("daily", daily, TL__ARRAY_SIZE(daily), 7, 3);

	/* Backups stopped a month ago: the 3 newest good ones stay forever. */
	static const rcase stopped[] = {
		{"a", 30 * 24, 1, 1}, {"a", 31 * 24, 0, 0}, {"a", 32 * 24, 1, 1},
		{"a", 33 * 24, 1, 1}, {"a", 34 * 24, 1, 0}, {"a", 35 * 24, 1, 0},
	};
	check_retention("stopped", stopped, TL__ARRAY_SIZE(stopped), 7, 3);

	/* Databases are ranked separately, in any input order. */
	static const rcase two[] = {
		{"b", 40 * 24, 1, 1}, {"a", 40 * 24, 1, 1}, {"a", 41 * 24, 1, 0},
		{"b", 2, 0, 1},       {"b", 41 * 24, 1, 1}, {"a", 1, 1, 1},
		{"b", 42 * 24, 1, 0},
	};
	check_retention("two dbs", two, TL__ARRAY_SIZE(two), 7, 2);

	/* keep_days 0: only the newest good ones. */
	static const rcase zero[] = {
		{"a", 1, 0, 0}, {"a", 2, 1, 1}, {"a", 3, 1, 0},
	};
	check_retention("zero days", zero, TL__ARRAY_SIZE(zero), 0, 1);

	/* A backup from the future (clock skew) is inside the window. */
	static const rcase future[] = {{"a", -5, 0, 1}, {"a", 30 * 24, 1, 1}};
	check_retention("future", future, TL__ARRAY_SIZE(future), 7, 1);

	/* Nothing good at all: everything outside the window goes. */
	static const rcase none_good[] = {{"a", 10 * 24, 0, 0}, {"a", 1, 0, 1}};
	check_retention("none good", none_good, TL__ARRAY_SIZE(none_good), 7, 3);

	tl__bk_retention(NULL, 0, NOW, 7, 3); /* empty is fine */
}

/* ---- container format -------------------------------------------------- */

static unsigned char test_key[TL__BK_KEY_BYTES];
static unsigned char other_key[TL__BK_KEY_BYTES];

/* Data that compresses (text) with random parts in it. */
static unsigned char *make_data(size_t len)
{
	unsigned char *d = malloc(len ? len : 1);
	for (size_t i = 0; i < len; i++)
		d[i] = (i % 97 < 60) ? (unsigned char)('a' + i % 26) : (unsigned char)(rand() & 0xff);
	return d;
}

/* Write `data` through a writer into a fresh file; returns its path. */
static char *write_container(const char *dir, const char *name, const unsigned char *data,
                             size_t len, int comp, const unsigned char *key, char sha[65])
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	sprintf(path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	tl__bk_writer *w = NULL;
	tl_assert_ok(tl__bk_writer_new(&w, fd, comp, 0, comp == TL__BK_ZSTD ? 1 : 0, key));
	/* Uneven pieces, as a pipe delivers them. */
	size_t off = 0, step = 1;
	while (off < len) {
		size_t take = step < len - off ? step : len - off;
		tl_assert_ok(tl__bk_writer_write(w, data + off, take));
		off += take;
		step = step * 3 + 7;
	}
	uint64_t written = 0;
	tl_assert_ok(tl__bk_writer_finish(w, sha, &written));
	tl__bk_writer_free(w);
	close(fd);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, written);
	return path;
}

/* Read a container back; returns the rc, fills out and outlen on success. */
static int read_container(const char *path, int comp, const unsigned char *key,
                          unsigned char **out, size_t *outlen, char sha[65])
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	tl__bk_reader *r = NULL;
	tl_assert_ok(tl__bk_reader_new(&r, fd, comp, key));
	size_t cap = 1 << 20, len = 0;
	unsigned char *buf = malloc(cap);
	int rc;
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		size_t n = 0;
		rc = tl__bk_reader_read(r, buf + len, cap - len < 7000 ? cap - len : 7000, &n);
		if (rc || n == 0)
			break;
		len += n;
	}
	if (sha)
		tl__bk_reader_sha256(r, sha, NULL);
	tl__bk_reader_free(r);
	close(fd);
	if (rc == TL_OK && out) {
		*out = buf;
		*outlen = len;
	} else {
		free(buf);
	}
	return rc;
}

static void file_sha256(const char *path, char out[65])
{
	char *text = NULL;
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unsigned char d[32];
	crypto_hash_sha256(d, (unsigned char *)text, (unsigned long long)n);
	sodium_bin2hex(out, 65, d, 32);
	free(text);
}

static void test_container_round_trips(void **state)
{
	char *dir = tl_test_tmpdir();
	size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 17};
	for (int comp = 0; comp < 2; comp++)
		for (int enc = 0; enc < 2; enc++)
			for (size_t s = 0; s < TL__ARRAY_SIZE(sizes); s++) {
				unsigned char *data = make_data(sizes[s]);
				char sha_w[65], sha_r[65], sha_f[65];
				char *path = write_container(dir, "c", data, sizes[s], comp,
				                             enc ? test_key : NULL, sha_w);
				unsigned char *back = NULL;
				size_t blen = 0;
				tl_assert_ok(read_container(path, comp, enc ? test_key : NULL, &back, &blen,
				                            sha_r));
				assert_int_equal(blen, sizes[s]);
				assert_memory_equal(back, data, sizes[s]);
				file_sha256(path, sha_f);
				assert_string_equal(sha_w, sha_f);
				assert_string_equal(sha_r, sha_f);
				if (enc) {
					/* The plain text does not show through. */
					char *text = tl_test_read_file(path);
					assert_memory_equal(text, TL__BK_MAGIC, TL__BK_MAGIC_LEN);
					free(text);
				}
				free(back);
				free(data);
				free(path);
			}
	tl_test_rmdir(dir);
}

static void truncate_to(const char *path, off_t len)
{
	assert_int_equal(truncate(path, len), 0);
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void append_bytes(const char *path, const char *bytes)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
	close(fd);
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_container_detects_damage(void **state)
{
	char *dir = tl_test_tmpdir();
	size_t len = 300000;
	unsigned char *data = make_data(len);
	char sha[65];
	for (int comp = 0; comp < 2; comp++)
		for (int enc = 0; enc < 2; enc++) {
			const unsigned char *key = enc ? test_key : NULL;
			char *path = write_container(dir, "d", data, len, comp, key, sha);
			off_t full = size_of(path);
			/* Truncated anywhere: never a clean end. */
			off_t cuts[] = {full - 1, full - 5, full / 2, 30, 1, 0};
			for (size_t i = 0; i < TL__ARRAY_SIZE(cuts); i++) {
				free(path);
				path = write_container(dir, "d", data, len, comp, key, sha);
				truncate_to(path, cuts[i]);
				int rc = read_container(path, comp, key, NULL, NULL, NULL);
				if (rc != TL_EIO)
					print_error("comp %d enc %d cut at %lld of %lld: rc %d\n", comp, enc,
					            (long long)cuts[i], (long long)full, rc);
				assert_int_equal(rc, TL_EIO);
			}
			/* A flipped byte in the middle. */
			free(path);
			path = write_container(dir, "d", data, len, comp, key, sha);
			flip_byte(path, full / 2);
			assert_int_equal(read_container(path, comp, key, NULL, NULL, NULL), TL_EIO);
			if (enc)
				tl_assert_error_contains("tampered");
			else
				tl_assert_error_contains("corrupted");
			/* Bytes appended after the end. */
			free(path);
			path = write_container(dir, "d", data, len, comp, key, sha);
			append_bytes(path, "garbage after the end");
			assert_int_equal(read_container(path, comp, key, NULL, NULL, NULL), TL_EIO);
			if (enc) {
				/* The wrong key is named as such. */
				free(path);
				path = write_container(dir, "d", data, len, comp, key, sha);
				assert_int_equal(read_container(path, comp, other_key, NULL, NULL, NULL),
				                 TL_EAUTH);
				tl_assert_error_contains("wrong key");
			}
			free(path);
		}
	free(data);
	tl_test_rmdir(dir);
}

/* ---- keys ---------------------------------------------------------------- */

static void test_key_files(void **state)
{
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/backup.key", dir);
	tl_assert_ok(tl_backup_key_generate(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	char *first = tl_test_read_file(path);
	/* Never overwritten. */
	tl_assert_rc(TL_EEXISTS, tl_backup_key_generate(path));
	tl_assert_error_contains("never overwritten");
	char *again = tl_test_read_file(path);
	assert_string_equal(first, again);
	/* Loaded through the context, and refused when others can read it. */
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", path));
	unsigned char k[TL__BK_KEY_BYTES];
	int have = 0;
	tl_assert_ok(tl__bk_key_load(k, &have, ctx));
	assert_int_equal(have, 1);
	unsigned char k2[TL__BK_KEY_BYTES];
	tl_assert_ok(tl__bk_key_parse(k2, first, strlen(first), path));
	assert_memory_equal(k, k2, sizeof(k));
	assert_int_equal(chmod(path, 0644), 0);
	tl_assert_rc(TL_EAUTH, tl__bk_key_load(k, &have, ctx));
	tl_assert_error_contains("chmod 600");
	assert_int_equal(chmod(path, 0600), 0);
	/* Missing file, and not configured at all. */
	char missing[600];
	snprintf(missing, sizeof(missing), "%s/nope.key", dir);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", missing));
	tl_assert_rc(TL_ENOTFOUND, tl__bk_key_load(k, &have, ctx));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", ""));
	have = 7;
	tl_assert_ok(tl__bk_key_load(k, &have, ctx));
	assert_int_equal(have, 0);
	/* Malformed contents. */
	tl_assert_rc(TL_EINVALID, tl__bk_key_parse(k, "abc", 3, "f"));
	char bad[65];
	memset(bad, 'g', 64);
	bad[64] = '\0';
	tl_assert_rc(TL_EINVALID, tl__bk_key_parse(k, bad, 64, "f"));
	tl_assert_rc(TL_EINVALID, tl_backup_key_generate(NULL));
	free(first);
	free(again);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static void test_options(void **state)
{
	tl_backup_options o;
	tl_assert_ok(tl_backup_options_init(&o, TL_BACKUP_OPTIONS_VERSION));
	tl_assert_rc(TL_EINVALID, tl_backup_options_init(&o, 99));
	tl__bk_opts io;
	tl_assert_ok(tl__bk_opts_read(&io, &o));
	assert_int_equal(io.lock_timeout_ms, 30000);
	o.format = 5;
	tl_assert_rc(TL_EINVALID, tl__bk_opts_read(&io, &o));
	o.format = TL_BACKUP_FORMAT_SQL;
	o.level = 12;
	tl_assert_rc(TL_EINVALID, tl__bk_opts_read(&io, &o));
	o.level = 0;
	const char *dbs[] = {"ok_db", "bad name"};
	o.databases = dbs;
	o.ndatabases = 2;
	tl_assert_rc(TL_EINVALID, tl__bk_opts_read(&io, &o));
	tl_assert_error_contains("bad name");
	assert_string_equal(tl_backup_state_name(TL_BACKUP_FAILED), "failed");
	assert_string_equal(tl_backup_format_name(TL_BACKUP_FORMAT_SQL), "sql");
	/* Restore refuses without confirmation, before touching anything. */
	tl_ctx *ctx = tl_test_ctx(0);
	tl_backup_options_init(&o, TL_BACKUP_OPTIONS_VERSION);
	tl_assert_rc(TL_EINVALID, tl_backup_restore(NULL, ctx, "shop_db", "x", &o));
	tl_assert_error_contains("confirm");
	tl_ctx_free(ctx);
}

/* The password of TOWLION_PG_URL, whole or in the pieces libpq's URL
 * parser may cut it into, never survives in a message. */
static void test_scrub(void **state)
{
	const struct {
		const char *url, *msg, *want;
	} cases[] = {
		{"postgresql://u:Wx9/QzKp7@h:5432/db",
		 "invalid integer value \"Wx9\" for connection option \"port\"",
		 "invalid integer value \"***\" for connection option \"port\""},
		{"postgresql://u:Hu:nt@er2Zq@h/db",
		 "could not translate host name \"er2Zq@h\" to address; integer \"nt\"",
		 "could not translate host name \"***@h\" to address; integer \"*\""},
		{"postgresql://u:s%40cret99@h/db", "password s@cret99 and s%40cret99",
		 "password *** and ***"},
		{"host=h password='Pw7 Kd9Xs' user=u", "\"Pw7 Kd9Xs\" \"Kd9\"", "\"***\" \"*\""},
		{"postgresql://u@h/db", "nothing \"secret\" here", "nothing \"secret\" here"},
		{"postgresql://u:pw@h/db?sslmode=x", "password \"pw\"", "password \"***\""},
	};
	for (size_t i = 0; i < TL__ARRAY_SIZE(cases); i++) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", cases[i].msg);
		tl__scrub_password(msg, sizeof(msg), cases[i].url);
		assert_string_equal(msg, cases[i].want);
	}
	/* A message at its capacity stays terminated. */
	char small[12] = "ab ab ab ab";
	tl__scrub_password(small, sizeof(small), "postgresql://u:ab@h/db");
	assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
	tl_assert_ok(sodium_init() < 0 ? TL_ERROR : TL_OK);
	randombytes_buf(test_key, sizeof(test_key));
	randombytes_buf(other_key, sizeof(other_key));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_derived_names_and_db_validation),
		cmocka_unit_test(test_manifest_round_trip),
		cmocka_unit_test(test_manifest_rejects_bad_input),
		cmocka_unit_test(test_retention_table),
		cmocka_unit_test(test_container_round_trips),
		cmocka_unit_test(test_container_detects_damage),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_scrub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
