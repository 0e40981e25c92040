/* The quoting function for remote commands: exact output for known words,
 * NUL refused, target parsing, and the round trip through real shells -
 * any byte string (but NUL) quoted, run by `sh -c`, arrives as the same
 * argv (printed back by printf '%s\0'). */
#include "tl_test.h"

#include "core/core.h"
#include "towlion/ssh.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_known_quotes(void **state)
{
	struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "plain"},
		{"a/b.c:d@e%f+g,h-i_j", "a/b.c:d@e%f+g,h-i_j"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", "'it'\\''s'"},
		{"'", "''\\'''"},
		{"a=b", "'a=b'"},
		{"~root", "'~root'"},
		{"$(id)", "'$(id)'"},
		{"`id`", "'`id`'"},
		{"a;b", "'a;b'"},
		{"*", "'*'"},
		{"line\nbreak", "'line\nbreak'"},
		{"\\", "'\\'"},
		{"caf\xc3\xa9", "'caf\xc3\xa9'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tl_buf b = TL_BUF_INIT;
		tl_assert_ok(tl_ssh_quote_word(&b, cases[i].in, strlen(cases[i].in)));
		assert_string_equal(b.ptr, cases[i].out);
		tl_buf_dispose(&b);
	}
	/* The command name is always quoted, so it is never a keyword. */
	const char *argv[] = {"towlion", "--version", "", "a b", NULL};
	tl_buf line = TL_BUF_INIT;
	tl_assert_ok(tl_ssh_quote_argv(&line, argv));
	assert_string_equal(line.ptr, "'towlion' --version '' 'a b'");
	const char *kw[] = {"if", NULL};
	tl_assert_ok(tl_ssh_quote_argv(&line, kw));
	assert_string_equal(line.ptr, "'if'");
	tl_buf_dispose(&line);
}

static void test_nul_and_bad_arguments(void **state)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_ssh_quote_word(&b, "keep", 4));
	tl_assert_rc(TL_EINVALID, tl_ssh_quote_word(&b, "a\0b", 3));
	tl_assert_error_contains("NUL");
	assert_string_equal(b.ptr, "keep"); /* unchanged */
	assert_int_equal(b.size, 4);
	tl_assert_rc(TL_EINVALID, tl_ssh_quote_word(NULL, "x", 1));
	tl_assert_rc(TL_EINVALID, tl_ssh_quote_word(&b, NULL, 1));
	tl_assert_ok(tl_ssh_quote_word(&b, NULL, 0));
	assert_string_equal(b.ptr, "keep''");
	const char *empty[] = {NULL};
	tl_assert_rc(TL_EINVALID, tl_ssh_quote_argv(&b, empty));
	tl_assert_rc(TL_EINVALID, tl_ssh_quote_argv(&b, NULL));
	assert_string_equal(b.ptr, "keep''");
	tl_buf_dispose(&b);
}

static void test_target_parse(void **state)
{
	struct {
		const char *in, *user, *host;
		int port;
	} ok[] = {
		{"server", "", "server", 0},
		{"deploy@server.example.com", "deploy", "server.example.com", 0},
		{"root@127.0.0.1:2222", "root", "127.0.0.1", 2222},
		{"host:22", "", "host", 22},
		{"[::1]:2200", "", "::1", 2200},
		{"u@[fe80::1%eth0]", "u", "fe80::1%eth0", 0},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		tl_buf u = TL_BUF_INIT, h = TL_BUF_INIT;
		int port = -1;
		tl_assert_ok(tl_ssh_target_parse(&u, &h, &port, ok[i].in));
		assert_string_equal(u.ptr, ok[i].user);
		assert_string_equal(h.ptr, ok[i].host);
		assert_int_equal(port, ok[i].port);
		tl_buf_dispose(&u);
		tl_buf_dispose(&h);
	}
	const char *bad[] = {"", "@host", "user@", "host:", "host:0", "host:65536",
	                     "host:22x", "ho st", "h;rm", "[::1", "[::1]x", "a b@host",
	                     "host:-1", ":22", "host:+22", "host: 22", "host:22\n",
	                     "host:99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_buf u = TL_BUF_INIT, h = TL_BUF_INIT;
		int port = 7;
		tl_assert_rc(TL_EINVALID, tl_ssh_target_parse(&u, &h, &port, bad[i]));
		assert_int_equal(port, 7); /* untouched on failure */
		assert_null(u.ptr);
	}
}

static void test_options_init(void **state)
{
	tl_ssh_options o;
	tl_assert_ok(tl_ssh_options_init(&o, TL_SSH_OPTIONS_VERSION));
	assert_int_equal(o.version, TL_SSH_OPTIONS_VERSION);
	assert_null(o.host);
	tl_assert_rc(TL_EINVALID, tl_ssh_options_init(&o, 99));
	tl_ssh_exec_options e;
	tl_assert_ok(tl_ssh_exec_options_init(&e, TL_SSH_EXEC_OPTIONS_VERSION));
	assert_int_equal(e.stdin_fd, -1);
	assert_int_equal(e.stdout_mode, TL_SSH_OUT_EVENTS);
	tl_ssh_upload_options u;
	tl_assert_ok(tl_ssh_upload_options_init(&u, TL_SSH_UPLOAD_OPTIONS_VERSION));
	assert_int_equal(u.mode, 0);
	/* Connect checks its arguments before touching the network. */
	tl_ssh *s = (tl_ssh *)&o;
	tl_assert_rc(TL_EINVALID, tl_ssh_connect(&s, NULL, &o)); /* no host */
	assert_ptr_equal(s, (tl_ssh *)&o);
	tl_ssh_free(NULL);
}

/* Words that have broken quoting functions before. */
static const char *const nasty[] = {
	"", " ", "  two  spaces ", "'", "''", "\"", "\\", "\\'", "'\\''", "$HOME", "${HOME}",
	"$(id)", "`id`", "a;b", "a|b", "a&b", "a&&b", "<in", ">out", "2>&1", "*", "?", "[a]",
	"{a,b}", "~", "~root", "a=b", "#comment", "!", "!!", "line\nbreak", "\n", "\t",
	"\r\n", "caf\xc3\xa9 \xe2\x9c\x93", "\xff\xfe\x80", "-n", "-e", "--", "%s", "\\0",
	"if", "then", "fi", "{", "}", "(", ")", "^", "=cmd", "a b'c\"d$e`f\\g",
};

static int round_trip(const char *shell, const char *const *words, size_t n)
{
	/* printf '%s\0' WORDS... prints each word followed by a NUL. */
	const char **argv = calloc(n + 3, sizeof(*argv));
	argv[0] = "printf";
	argv[1] = "%s\\0";
	for (size_t i = 0; i < n; i++)
		argv[i + 2] = words[i];
	tl_buf line = TL_BUF_INIT, want = TL_BUF_INIT;
	tl_assert_ok(tl_ssh_quote_argv(&line, argv));
	for (size_t i = 0; i < n; i++)
		tl__buf_put(&want, words[i], strlen(words[i]) + 1);
	const char *sh_argv[] = {shell, "-c", line.ptr, NULL};
	tl__spawn_opts o = {0};
	o.argv = sh_argv;
	o.stdout_mode = TL__STDIO_BUFFER;
	o.stderr_mode = TL__STDIO_BUFFER;
	o.timeout_ms = 20000;
	tl__spawn_result r = {0};
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	int same = r.exited && r.exit_status == 0 && r.out.size == want.size &&
	           (want.size == 0 || memcmp(r.out.ptr, want.ptr, want.size) == 0);
	if (!same)
		print_error("%s -c %s\nexit %d, got %zu bytes, want %zu; stderr: %s\n", shell,
		            line.ptr, r.exit_status, r.out.size, want.size,
		            r.err.ptr ? r.err.ptr : "");
	tl__spawn_result_dispose(&r);
	tl_buf_dispose(&line);
	tl_buf_dispose(&want);
	free(argv);
	return same;
}

static void test_round_trip_through_shells(void **state)
{
	const char *shells[] = {"/bin/sh", "/bin/dash", "/bin/bash", "/usr/bin/zsh"};
	srand(20261130);
	int tried = 0;
	for (size_t s = 0; s < sizeof(shells) / sizeof(shells[0]); s++) {
		if (access(shells[s], X_OK) != 0)
			continue;
		tried++;
		assert_true(round_trip(shells[s], nasty, sizeof(nasty) / sizeof(nasty[0])));
		/* Random byte strings, every byte value but NUL. */
		for (int round = 0; round < 40; round++) {
			char *words[8];
			size_t n = 1 + (size_t)(rand() % 8);
			for (size_t i = 0; i < n; i++) {
				size_t len = (size_t)(rand() % 40);
				words[i] = malloc(len + 1);
				for (size_t k = 0; k < len; k++)
					words[i][k] = (char)(1 + rand() % 255);
				words[i][len] = '\0';
			}
			int ok = round_trip(shells[s], (const char *const *)words, n);
			for (size_t i = 0; i < n; i++)
				free(words[i]);
			assert_true(ok);
		}
		/* A long word (the quoted line stays under Linux's 128 KiB limit for
		 * one execve argument). */
		char *big = malloc(50001);
		for (size_t k = 0; k < 50000; k++)
			big[k] = "ab'\" $\n"[k % 7];
		big[50000] = '\0';
		const char *w[] = {big};
		assert_true(round_trip(shells[s], w, 1));
		free(big);
	}
	assert_true(tried >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_quotes),
		cmocka_unit_test(test_nul_and_bad_arguments),
		cmocka_unit_test(test_target_parse),
		cmocka_unit_test(test_options_init),
		cmocka_unit_test(test_round_trip_through_shells),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
