/* towlion --host [user@]server[:port] [--ssh-key FILE] [--known-hosts FILE] ...
 *
 * Runs the same command line (minus these three options) as `towlion ...`
 * on the server over SSH, streams its stdout and stderr to ours and exits
 * with its exit code. This is how GitHub Actions deploys.
 *
 * Environment: TOWLION_REMOTE_TOWLION names the program on the server
 * (default "towlion", found in the server's PATH); TOWLION_SSH_KEY_PASSPHRASE
 * unlocks an encrypted --ssh-key (never on the command line). Without
 * --ssh-key, ssh-agent ($SSH_AUTH_SOCK) is asked; without --known-hosts,
 * ~/.ssh/known_hosts is used. Our stdin is forwarded when it is not a
 * terminal (use </dev/null in loops that read a file, as with ssh -n). */
#include "cli.h"

#include "towlion/ssh.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const remote_flags[] = {"--host", "--ssh-key", "--known-hosts"};

/* The flag name `a` is (or starts as "--flag=") one of ours: its index. */
static int remote_flag(const char *a, const char **inline_value)
{
	for (int k = 0; k < 3; k++) {
		size_t l = strlen(remote_flags[k]);
		if (!strncmp(a, remote_flags[k], l) && (a[l] == '\0' || a[l] == '=')) {
			*inline_value = a[l] == '=' ? a + l + 1 : NULL;
			return k;
		}
	}
	return -1;
}

bool cli_remote_requested(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v;
		if (remote_flag(argv[i], &v) >= 0)
			return true;
	}
	return false;
}

static int signal_exit(const char *name)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {{"HUP", 1}, {"INT", 2}, {"QUIT", 3}, {"ILL", 4}, {"ABRT", 6}, {"FPE", 8},
	            {"KILL", 9}, {"SEGV", 11}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15}};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(sigs[i].name, name))
			return 128 + sigs[i].num;
	return EXIT_FAILED;
}

/* The remote stderr arrives line by line (TL_SSH_OUT_EVENTS): written
 * to ours as it comes, escaped, and its first line kept for the message
 * of an exit 127. Other events are the CLI's usual ones. */
typedef struct {
	cli *c;
	char first[512];
	bool have_first;
} remote_events;

static int on_remote_event(const tl_event *ev, void *payload)
{
	remote_events *re = payload;
	if (ev->type != TL_EVENT_OUTPUT || ev->level != TL_LOG_WARN)
		return cli_on_event(ev, re->c);
	if (!re->have_first) {
		snprintf(re->first, sizeof(re->first), "%s", ev->message);
		re->have_first = true;
	}
	cli_progress_clear(re->c);
	cli_fprint(stderr, "%s\n", ev->message);
	return 0;
}

int cli_remote_run(int argc, char **argv)
{
	const char *values[3] = {NULL, NULL, NULL};
	const char *prog = getenv("TOWLION_REMOTE_TOWLION");
	const char **rargv = calloc((size_t)argc + 1, sizeof(*rargv));
	cli c = {0};
	if (!rargv)
		return EXIT_FAILED;
	int n = 0;
	rargv[n++] = prog && *prog ? prog : "towlion";
	bool rest = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *inline_value = NULL;
		int k = rest ? -1 : remote_flag(a, &inline_value);
		if (!strcmp(a, "--"))
			rest = true;
		if (k < 0) {
			/* Everything else goes to the server; -q/-v/--json also
			 * shape our own messages. */
			if (!rest && (!strcmp(a, "-q") || !strcmp(a, "--quiet")))
				c.quiet = true;
			if (!rest && (!strcmp(a, "-v") || !strcmp(a, "--verbose")))
				c.verbose = true;
			if (!rest && !strcmp(a, "--json"))
				c.json = true;
			rargv[n++] = a;
			continue;
		}
		if (!inline_value && i + 1 >= argc) {
			fprintf(stderr, "towlion: %s needs a value\n", remote_flags[k]);
			free(rargv);
			return EXIT_USAGE;
		}
		values[k] = inline_value ? inline_value : argv[++i];
	}
	rargv[n] = NULL;
	if (!values[0]) {
		fprintf(stderr, "towlion: --ssh-key and --known-hosts only make sense with "
		                "--host [user@]server[:port]\n");
		free(rargv);
		return EXIT_USAGE;
	}

	tl_buf user = TL_BUF_INIT, host = TL_BUF_INIT, env_text = TL_BUF_INIT;
	int port = 0, rc;
	/* `env set`: values go through stdin, never the remote argv. */
	if ((rc = cli_env_remote_stdin(&c, rargv, &n, &env_text))) {
		free(rargv);
		return rc;
	}
	if ((rc = tl_ssh_target_parse(&user, &host, &port, values[0]))) {
		cli_fprint(stderr, "towlion: --host: %s\n", tl_error_last()->message);
		free(rargv);
		return EXIT_USAGE;
	}
	c.tty = isatty(STDERR_FILENO);
	c.color = c.tty && !getenv("NO_COLOR");
	/* Only the server's configuration matters: none is read here. */
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_ENV | TL_CTX_NO_CONFIG_FILE;
	remote_events re = {.c = &c};
	co.event_cb = on_remote_event;
	co.event_payload = &re;
	tl_ssh *ssh = NULL;
	int exit_code;
	if ((rc = tl_ctx_new(&c.ctx, &co)) == TL_OK) {
		tl_ssh_options so = TL_SSH_OPTIONS_INIT;
		so.host = host.ptr;
		so.port = port;
		so.user = user.size ? user.ptr : NULL;
		so.key_path = values[1];
		so.key_passphrase = values[1] ? getenv("TOWLION_SSH_KEY_PASSPHRASE") : NULL;
		so.known_hosts = values[2];
		rc = tl_ssh_connect(&ssh, c.ctx, &so);
	}
	if (rc == TL_OK) {
		tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
		eo.stdout_mode = TL_SSH_OUT_FD;
		eo.stdout_fd = STDOUT_FILENO;
		eo.stderr_mode = TL_SSH_OUT_EVENTS;
		eo.stdin_fd = isatty(STDIN_FILENO) ? -1 : STDIN_FILENO;
		if (env_text.ptr) {
			eo.stdin_data = env_text.ptr;
			eo.stdin_len = env_text.size;
			eo.stdin_fd = -1;
		}
		tl_ssh_result res = TL_SSH_RESULT_INIT;
		fflush(stdout);
		rc = tl_ssh_exec(&res, ssh, rargv, &eo);
		if (rc == TL_OK) {
			exit_code = res.exit_status;
			if (res.exit_signal[0]) {
				cli_fprint(stderr, "towlion: the remote command was killed by SIG%s\n",
				        res.exit_signal);
				exit_code = signal_exit(res.exit_signal);
			} else if (exit_code == 127) {
				/* The shell's "not found" and the dynamic loader's "error
				 * while loading shared libraries" both exit 127: say both,
				 * with what the server said. */
				cli_fprint(stderr,
				           "towlion: '%s' was not found on %s or it failed to load "
				           "(exit 127): %s\ninstall towlion there (a non-system "
				           "prefix needs its lib directory next to bin/), or set "
				           "TOWLION_REMOTE_TOWLION to its path\n",
				           rargv[0], host.ptr,
				           re.have_first ? re.first : "(nothing on stderr)");
			}
		}
		tl_ssh_result_dispose(&res);
	}
	if (rc != TL_OK) {
		exit_code = cli_fail(&c, rc);
		if (c.json && c.result) {
			json_dumpf(c.result, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		}
	}
	json_decref(c.result);
	tl_ssh_free(ssh);
	tl_ctx_free(c.ctx);
	tl_buf_dispose(&user);
	tl_buf_dispose(&host);
	if (env_text.ptr)
		explicit_bzero(env_text.ptr, env_text.size);
	tl_buf_dispose(&env_text);
	free(rargv);
	return exit_code;
}
