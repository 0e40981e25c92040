/* The Docker client's pure parts: the log stream demultiplexer (frames
 * split anywhere, empty frames, TTY streams, garbage), the .dockerignore
 * matcher and the build-context tar writer (checked by reading the
 * archive back with the system's tar). */
#include "tl_test.h"

#include "core/core.h"
#include "docker/docker_int.h"
#include "docker/serving.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	tl_buf out, err;
	int calls;
} sink;

static int to_sink(int stream, const char *data, size_t len, void *p)
{
	sink *s = p;
	s->calls++;
	return tl__buf_put(stream == DK_STDERR ? &s->err : &s->out, data, len);
}

static size_t frame(char *dst, int stream, const char *payload)
{
	size_t n = strlen(payload);
	dst[0] = (char)stream;
	dst[1] = dst[2] = dst[3] = 0;
	dst[4] = (char)(n >> 24);
	dst[5] = (char)(n >> 16);
	dst[6] = (char)(n >> 8);
	dst[7] = (char)n;
	memcpy(dst + 8, payload, n);
	return n + 8;
}

static void test_demux_split_everywhere(void **state)
{
	char stream[256];
	size_t n = 0;
	n += frame(stream + n, 1, "hello ");
	n += frame(stream + n, 2, "oops\n");
	n += frame(stream + n, 1, ""); /* zero-length frame */
	n += frame(stream + n, 1, "world\n");
	/* Feed it in every possible pair of slices, and byte by byte. */
	for (size_t cut = 0; cut <= n; cut++) {
		sink s = {TL_BUF_INIT, TL_BUF_INIT, 0};
		tl__docker_demux m;
		tl__docker_demux_init(&m, 0);
		tl_assert_ok(tl__docker_demux_feed(&m, stream, cut, to_sink, &s));
		tl_assert_ok(tl__docker_demux_feed(&m, stream + cut, n - cut, to_sink, &s));
		tl_assert_ok(tl__docker_demux_finish(&m));
		assert_string_equal(s.out.ptr, "hello world\n");
		assert_string_equal(s.err.ptr, "oops\n");
		tl_buf_dispose(&s.out);
		tl_buf_dispose(&s.err);
	}
	sink s = {TL_BUF_INIT, TL_BUF_INIT, 0};
	tl__docker_demux m;
	tl__docker_demux_init(&m, 0);
	for (size_t i = 0; i < n; i++)
		tl_assert_ok(tl__docker_demux_feed(&m, stream + i, 1, to_sink, &s));
	tl_assert_ok(tl__docker_demux_finish(&m));
	assert_string_equal(s.out.ptr, "hello world\n");
	assert_string_equal(s.err.ptr, "oops\n");
	tl_buf_dispose(&s.out);
	tl_buf_dispose(&s.err);
}

static void test_demux_truncated_and_garbage(void **state)
{
	char stream[64];
	size_t n = frame(stream, 1, "abcdef");
	sink s = {TL_BUF_INIT, TL_BUF_INIT, 0};
	tl__docker_demux m;
	tl__docker_demux_init(&m, 0);
	tl_assert_ok(tl__docker_demux_feed(&m, stream, n - 2, to_sink, &s));
	tl_assert_rc(TL_EIO, tl__docker_demux_finish(&m));
	tl_assert_error_contains("inside a frame");
	/* a TTY stream fed to a framed demuxer is refused, not misread */
	tl__docker_demux_init(&m, 0);
	tl_assert_rc(TL_EIO, tl__docker_demux_feed(&m, "hello world\n", 12, to_sink, &s));
	tl_assert_error_contains("TTY");
	/* in raw (TTY) mode everything is stdout, as is */
	tl_buf_dispose(&s.out);
	tl__docker_demux_init(&m, 1);
	tl_assert_ok(tl__docker_demux_feed(&m, "hello world\n", 12, to_sink, &s));
	tl_assert_ok(tl__docker_demux_finish(&m));
	assert_string_equal(s.out.ptr, "hello world\n");
	tl_buf_dispose(&s.out);
	tl_buf_dispose(&s.err);
}

static int collect_events(const tl_event *ev, void *p)
{
	tl_buf *b = p;
	if (ev->type == TL_EVENT_OUTPUT)
		tl__buf_printf(b, "%d:%s|", ev->level, ev->message);
	return 0;
}

static void test_lines_split_and_flush(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_buf got = TL_BUF_INIT;
	tl_ctx_set_event_cb(ctx, collect_events, &got);
	tl__docker_lines l = {ctx, "c1", {TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT}, {0, 0, 0}};
	tl_assert_ok(tl__docker_lines_put(&l, DK_STDOUT, "one\r\ntw", 7));
	tl_assert_ok(tl__docker_lines_put(&l, DK_STDERR, "err", 3));
	tl_assert_ok(tl__docker_lines_put(&l, DK_STDOUT, "o\n\nthree", 8));
	tl_assert_ok(tl__docker_lines_flush(&l));
	assert_string_equal(got.ptr, "1:one|1:two|1:|1:three|2:err|");
	tl_buf_dispose(&got);
	tl_ctx_free(ctx);
}

static void test_dockerignore_rules(void **state)
{
	const char *text = "# comment\n"
	                   "*.md\n"
	                   "!README.md\n"
	                   "node_modules\n"
	                   "**/*.pyc\n"
	                   "/build/\n"
	                   "docs/**/draft*\n"
	                   "secret?.txt\n"
	                   "logs\n"
	                   "!logs/keep.log\n"
	                   "  \n";
	tl__docker_ignore *ig = NULL;
	tl_assert_ok(tl__docker_ignore_parse(&ig, text, strlen(text)));
	assert_true(tl__docker_ignore_match(ig, "CHANGES.md"));
	assert_false(tl__docker_ignore_match(ig, "README.md"));
	assert_false(tl__docker_ignore_match(ig, "sub/CHANGES.md")); /* * stays in one segment */
	assert_true(tl__docker_ignore_match(ig, "node_modules"));
	assert_true(tl__docker_ignore_match(ig, "node_modules/x/y.js")); /* below an excluded dir */
	assert_true(tl__docker_ignore_match(ig, "a.pyc"));
	assert_true(tl__docker_ignore_match(ig, "app/sub/b.pyc"));
	assert_true(tl__docker_ignore_match(ig, "build/out.o"));
	assert_true(tl__docker_ignore_match(ig, "docs/x/y/draft-1.txt"));
	assert_true(tl__docker_ignore_match(ig, "docs/draft.txt")); /* ** matches zero dirs */
	assert_false(tl__docker_ignore_match(ig, "docs/final.txt"));
	assert_true(tl__docker_ignore_match(ig, "secret1.txt"));
	assert_false(tl__docker_ignore_match(ig, "secret12.txt"));
	assert_false(tl__docker_ignore_match(ig, "app/main.py"));
	assert_true(tl__docker_ignore_match(ig, "logs/a.log"));
	assert_false(tl__docker_ignore_match(ig, "logs/keep.log"));
	assert_true(tl__docker_ignore_may_reinclude(ig, "logs"));
	assert_false(tl__docker_ignore_may_reinclude(ig, "node_modules"));
	tl__docker_ignore_free(ig);
	/* no file: nothing is ignored */
	tl_assert_ok(tl__docker_ignore_parse(&ig, NULL, 0));
	assert_false(tl__docker_ignore_match(ig, "anything"));
	tl__docker_ignore_free(ig);
}

/* The answer to an exec start: headers, then frames; split anywhere. */
static void test_hijack_answer(void **state)
{
	char answer[512];
	const char *head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: "
	                   "application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\n"
	                   "Upgrade: tcp\r\n\r\n";
	size_t n = strlen(head);
	memcpy(answer, head, n);
	n += frame(answer + n, DK_STDOUT, "hello\n");
	n += frame(answer + n, DK_STDERR, "oops\n");
	for (size_t cut = 0; cut <= n; cut++) {
		sink s = {TL_BUF_INIT, TL_BUF_INIT, 0};
		tl__docker_hijack h;
		tl__docker_hijack_init(&h, 0);
		tl_assert_ok(tl__docker_hijack_feed(&h, answer, cut, to_sink, &s, "run ls"));
		tl_assert_ok(tl__docker_hijack_feed(&h, answer + cut, n - cut, to_sink, &s, "run ls"));
		tl_assert_ok(tl__docker_hijack_finish(&h, "run ls"));
		assert_int_equal(h.status, 101);
		assert_string_equal(s.out.ptr, "hello\n");
		assert_string_equal(s.err.ptr, "oops\n");
		tl__docker_hijack_dispose(&h);
		tl_buf_dispose(&s.out);
		tl_buf_dispose(&s.err);
	}
	/* a NUL inside a header does not hide the end of the headers (it
	 * used to: the answer then read as a connection closed early) */
	static const char nul[] = "HTTP/1.1 101 UPGRADED\r\nX-A: a\0b\r\n\r\n"
	                          "\1\0\0\0\0\0\0\2hi";
	sink s = {TL_BUF_INIT, TL_BUF_INIT, 0};
	tl__docker_hijack h;
	tl__docker_hijack_init(&h, 0);
	tl_assert_ok(tl__docker_hijack_feed(&h, nul, sizeof(nul) - 1, to_sink, &s, "run ls"));
	tl_assert_ok(tl__docker_hijack_finish(&h, "run ls"));
	assert_string_equal(s.out.ptr, "hi");
	tl__docker_hijack_dispose(&h);
	tl_buf_dispose(&s.out);
	/* an error status: Docker's message, and its body is no output */
	const char *conflict = "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n"
	                       "{\"message\":\"container 4f2a is not running\"}\n";
	tl__docker_hijack_init(&h, 0);
	tl_assert_ok(tl__docker_hijack_feed(&h, conflict, strlen(conflict), to_sink, &s, "run ls"));
	tl_assert_rc(TL_ECONFLICT, tl__docker_hijack_finish(&h, "run ls"));
	assert_non_null(strstr(tl_error_last()->message, "is not running"));
	assert_null(s.out.ptr);
	tl__docker_hijack_dispose(&h);
	/* not HTTP; and a connection closed before the headers ended */
	tl__docker_hijack_init(&h, 0);
	tl_assert_rc(TL_EIO, tl__docker_hijack_feed(&h, "garbage\r\n\r\n", 11, to_sink, &s, "x"));
	tl__docker_hijack_dispose(&h);
	tl__docker_hijack_init(&h, 0);
	tl_assert_ok(tl__docker_hijack_feed(&h, "HTTP/1.1 101 UPGRADED\r\n", 23, to_sink, &s, "x"));
	tl_assert_rc(TL_EIO, tl__docker_hijack_finish(&h, "x"));
	tl__docker_hijack_dispose(&h);
}

/* ustar holds 11 octal digits of mtime (until 2242): a later file time
 * goes into the pax header instead of wrapping around. */
static void test_tar_header_late_mtime(void **state)
{
	tl_buf b = TL_BUF_INIT;
	int64_t late = (int64_t)1 << 34; /* in the year 2514 */
	tl_assert_ok(tl__docker_tar_header(&b, "app.py", '0', 0644, 5, late, NULL));
	assert_int_equal(b.size, 3 * 512); /* pax header, its records, the member */
	assert_int_equal(b.ptr[156], 'x');
	assert_non_null(memmem(b.ptr + 512, 512, " mtime=17179869184\n", 19));
	assert_string_equal(b.ptr + 1024 + 136, "00000000000"); /* not the low bits */
	/* a time that fits stays plain ustar; a directory carries no size */
	tl_assert_ok(tl__docker_tar_header(&b, "static", '5', 0755, 4096, 1764900000, NULL));
	assert_int_equal(b.size, 512);
	assert_string_equal(b.ptr, "static/");
	assert_string_equal(b.ptr + 124, "00000000000");
	tl_buf_dispose(&b);
}

static char *run_tar_list(const char *tarpath)
{
	const char *argv[] = {"tar", "-tvf", tarpath, NULL};
	tl__spawn_opts o = {.argv = argv, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 10000};
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	if (r.exit_status != 0)
		print_error("tar: %s\n", r.err.ptr ? r.err.ptr : "");
	assert_int_equal(r.exit_status, 0);
	char *text = strdup(r.out.ptr ? r.out.ptr : "");
	tl__spawn_result_dispose(&r);
	return text;
}

static void test_tar_roundtrip(void **state)
{
	char *dir = tl_test_tmpdir();
	char p[1024], longdir[600];
	snprintf(p, sizeof(p), "%s/ctx", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/ctx/Dockerfile", dir);
	tl_test_write_file(p, "FROM scratch\n", 0644);
	snprintf(p, sizeof(p), "%s/ctx/.dockerignore", dir);
	tl_test_write_file(p, "*.log\nDockerfile\n", 0644);
	snprintf(p, sizeof(p), "%s/ctx/app.log", dir);
	tl_test_write_file(p, "ignored\n", 0644);
	snprintf(p, sizeof(p), "%s/ctx/run.sh", dir);
	tl_test_write_file(p, "#!/bin/sh\necho hi\n", 0755);
	/* a 513-byte file crosses a block boundary */
	char big[514];
	memset(big, 'x', 513);
	big[513] = '\0';
	snprintf(p, sizeof(p), "%s/ctx/big.bin", dir);
	tl_test_write_file(p, big, 0600);
	/* a path longer than 100 bytes (ustar prefix) and one over 255 (pax) */
	snprintf(longdir, sizeof(longdir), "%s/ctx/%0120d", dir, 0);
	assert_int_equal(mkdir(longdir, 0755), 0);
	snprintf(p, sizeof(p), "%s/%0110d.txt", longdir, 1);
	tl_test_write_file(p, "deep\n", 0644);
	snprintf(p, sizeof(p), "%s/%0200d.txt", longdir, 2);
	tl_test_write_file(p, "deeper\n", 0644);
	snprintf(p, sizeof(p), "%s/ctx/link", dir);
	assert_int_equal(symlink("run.sh", p), 0);

	snprintf(p, sizeof(p), "%s/ctx", dir);
	tl_buf ig_text = TL_BUF_INIT;
	char igp[1100];
	snprintf(igp, sizeof(igp), "%s/.dockerignore", p);
	tl_assert_ok(tl__file_read(&ig_text, igp));
	tl__docker_ignore *ig = NULL;
	tl_assert_ok(tl__docker_ignore_parse(&ig, ig_text.ptr, ig_text.size));
	const char *always[] = {"Dockerfile", ".dockerignore", NULL};
	tl__docker_tar *t = NULL;
	tl_assert_ok(tl__docker_tar_plan(&t, p, ig, always));
	tl__docker_ignore_free(ig);
	tl_buf_dispose(&ig_text);
	int64_t size = tl__docker_tar_size(t);
	assert_int_equal(size % 512, 0);
	/* read it in odd-sized pieces */
	char tarpath[1024];
	snprintf(tarpath, sizeof(tarpath), "%s/out.tar", dir);
	FILE *f = fopen(tarpath, "wb");
	char buf[777];
	int64_t total = 0;
	for (;;) {
		size_t n = tl__docker_tar_read(buf, sizeof(buf), t);
		assert_true(n != (size_t)-1);
		if (n == 0)
			break;
		fwrite(buf, 1, n, f);
		total += (int64_t)n;
	}
	fclose(f);
	tl__docker_tar_free(t);
	assert_int_equal(total, size);
	char *list = run_tar_list(tarpath);
	assert_non_null(strstr(list, " Dockerfile\n")); /* ignored, but always sent */
	assert_non_null(strstr(list, " .dockerignore\n"));
	assert_null(strstr(list, "app.log"));
	assert_non_null(strstr(list, "-rwxr-xr-x root/root"));
	assert_non_null(strstr(list, " 513 "));
	assert_non_null(strstr(list, "link -> run.sh"));
	char name[400];
	snprintf(name, sizeof(name), "%0120d/%0110d.txt", 0, 1);
	assert_non_null(strstr(list, name));
	snprintf(name, sizeof(name), "%0120d/%0200d.txt", 0, 2);
	assert_non_null(strstr(list, name));
	free(list);
	/* and the content survives */
	char xdir[1024];
	snprintf(xdir, sizeof(xdir), "%s/x", dir);
	assert_int_equal(mkdir(xdir, 0755), 0);
	const char *argv[] = {"tar", "-xf", tarpath, "-C", xdir, NULL};
	tl__spawn_opts o = {.argv = argv, .timeout_ms = 10000};
	tl__spawn_result r;
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_int_equal(r.exit_status, 0);
	tl__spawn_result_dispose(&r);
	snprintf(p, sizeof(p), "%s/x/%0120d/%0200d.txt", dir, 0, 2);
	char *content = tl_test_read_file(p);
	assert_string_equal(content, "deeper\n");
	free(content);
	snprintf(p, sizeof(p), "%s/x/big.bin", dir);
	content = tl_test_read_file(p);
	assert_string_equal(content, big);
	free(content);
	tl_test_rmdir(dir);
}

/* The drain's count of served connections, from tables as the kernel
 * writes them: established connections to a listening port count (IPv4
 * and IPv6), the container's own outgoing ones (to its database) and
 * those in other states do not; header rows and garbage count nothing. */
static void test_tcp_tables_serving(void **state)
{
	const char *tables =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n"
	    /* listening on 0.0.0.0:8000 (1F40) */
	    "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
	    "      0 1 1 0000000000000000 100 0 0 10 0\n"
	    /* Caddy's request in flight: established to 8000 */
	    "   1: 0200A8C0:1F40 0100A8C0:D2F0 01 00000000:00000000 00:00000000 00000000     0  "
	    "      0 2 1 0000000000000000 20 4 30 10 -1\n"
	    /* the app's own connection to PostgreSQL (local port 40000 = 9C40) */
	    "   2: 0200A8C0:9C40 0300A8C0:1538 01 00000000:00000000 00:00000000 00000000     0  "
	    "      0 3 1 0000000000000000 20 4 30 10 -1\n"
	    /* a client that closed: TIME_WAIT (06) on 8000 */
	    "   3: 0200A8C0:1F40 0100A8C0:D2F1 06 00000000:00000000 03:00000F3A 00000000     0  "
	    "      0 0 3 0000000000000000\n"
	    "  sl  local_address                         remote_address                        st "
	    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	    /* listening on [::]:9000 (2328), one request on it */
	    "   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 0000000000000000FFFF00000200A8C0:2328 0000000000000000FFFF00000100A8C0:C350 01 "
	    "00000000:00000000 00:00000000 00000000     0        0 5 1 0000000000000000 20 4 30 10 -1\n";
	assert_int_equal(tl__tcp_tables_serving(tables), 2);
	/* Nothing listens: an established connection is the app's own. */
	assert_int_equal(tl__tcp_tables_serving(
	                     "   2: 0200A8C0:9C40 0300A8C0:1538 01 00000000:00000000 00:00000000 "
	                     "00000000     0        0 3 1\n"),
	                 0);
	assert_int_equal(tl__tcp_tables_serving(""), 0);
	assert_int_equal(tl__tcp_tables_serving("garbage\n: : :\n 1: x\n   9: 1:FFFFFF 2:3 01\n"),
	                 0);
	/* Rows of another shape are no rows: sscanf's %x took "+1F40" as 8000
	 * and a listening state " +A" or "0A junk" */
	static const char *const listeners[] = {
	    "   0: 00000000:+1F40 00000000:0000 0A 0\n", "   0: 00000000:1F40 00000000:0000 +A 0\n",
	    "   0: 00000000:1F40 00000000:0000 0Ax 0\n", "   0: 0000000:1F40 00000000:0000 0A 0\n",
	    "   0: 00000000:01F40 00000000:0000 0A 0\n", "   0:  00000000:1F40 00000000:0000 0A 0\n",
	    "   0: 00000000:1F40  00000000:0000 0A 0\n"};
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		char t[256];
		snprintf(t, sizeof(t), "%s   1: 0200A8C0:1F40 0100A8C0:D2F0 01 0\n", listeners[i]);
		if (tl__tcp_tables_serving(t) != 0)
			print_error("row taken: %s", listeners[i]);
		assert_int_equal(tl__tcp_tables_serving(t), 0);
	}
	/* the same rows in the kernel's shape count */
	assert_int_equal(tl__tcp_tables_serving("   0: 00000000:1F40 00000000:0000 0A 0\n"
	                                        "   1: 0200A8C0:1f40 0100A8C0:D2F0 01 0\n"),
	                 1);
}

/* Streamed JSON messages: cut at newlines whatever the chunks, an
 * oversized one dropped (told once) without losing the next, the last
 * one without its newline delivered at the end. */
typedef struct {
	tl_buf got; /* messages joined by '|' */
	int dropped;
} msgs_seen;

static int seen_message(void *p, const char *m, size_t n)
{
	msgs_seen *s = p;
	int rc = tl__buf_put(&s->got, m, n);
	return rc ? rc : tl__buf_put(&s->got, "|", 1);
}

static int seen_dropped(void *p)
{
	((msgs_seen *)p)->dropped++;
	return TL_OK;
}

static void test_messages_split_and_drop(void **state)
{
	(void)state;
	const char *in = "{\"a\":1}\n\n{\"b\":2}\n0123456789ABCDEF\n{\"c\":3}\n{\"d\":4}";
	for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
		msgs_seen s = {TL_BUF_INIT, 0};
		tl__docker_messages m = {.max = 10, .on_message = seen_message,
		                         .on_dropped = seen_dropped, .payload = &s};
		for (size_t at = 0; at < strlen(in); at += chunk) {
			size_t n = strlen(in) - at < chunk ? strlen(in) - at : chunk;
			tl_assert_ok(tl__docker_messages_put(&m, in + at, n));
		}
		tl_assert_ok(tl__docker_messages_end(&m));
		assert_string_equal(s.got.ptr, "{\"a\":1}|{\"b\":2}|{\"c\":3}|{\"d\":4}|");
		assert_int_equal(s.dropped, 1);
		assert_true(m.line.size == 0);
		tl__docker_messages_dispose(&m);
		tl_buf_dispose(&s.got);
	}
}

/* Docker's Api-Version header: MAJOR.MINOR and nothing else. */
static void test_api_number(void **state)
{
	assert_int_equal(tl__docker_api_number("1.41"), 1041);
	assert_int_equal(tl__docker_api_number("1.47"), 1047);
	assert_int_equal(tl__docker_api_number("2.0"), 2000);
	assert_true(tl__docker_api_number("1.100") > tl__docker_api_number("1.99"));
	static const char *const bad[] = {"",     "1",      "1.",   ".41",  "1.41junk", " 1.41",
	                                  "1.-5", "+1.41", "1.41.2", "1,41", "1000.1",   "1.1000"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tl__docker_api_number(bad[i]) != -1)
			print_error("API version \"%s\" taken\n", bad[i]);
		assert_int_equal(tl__docker_api_number(bad[i]), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demux_split_everywhere),
		cmocka_unit_test(test_demux_truncated_and_garbage),
		cmocka_unit_test(test_lines_split_and_flush),
		cmocka_unit_test(test_dockerignore_rules),
		cmocka_unit_test(test_tar_roundtrip),
		cmocka_unit_test(test_hijack_answer),
		cmocka_unit_test(test_tar_header_late_mtime),
		cmocka_unit_test(test_tcp_tables_serving),
		cmocka_unit_test(test_api_number),
		cmocka_unit_test(test_messages_split_and_drop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
