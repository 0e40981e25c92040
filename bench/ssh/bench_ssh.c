/* Timing of libtowlion's SSH: N commands on one session, and one upload.
 * usage: bench_ssh N_COMMANDS UPLOAD_FILE REMOTE_PATH
 * (host, port, user, key and known_hosts from the TL_TEST_SSH_* variables)
 * Prints: "connect_ms X", "exec_ms_per_command X", "upload_ms X". */
#include "towlion/towlion.h"
#include "towlion/ssh.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int die(const char *what)
{
	fprintf(stderr, "bench_ssh: %s: %s\n", what, tl_error_last()->message);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_ssh N UPLOAD_FILE REMOTE_PATH\n");
		return 2;
	}
	int n = atoi(argv[1]);
	tl_ssh_options o = TL_SSH_OPTIONS_INIT;
	o.host = getenv("TL_TEST_SSH_HOST");
	o.port = atoi(getenv("TL_TEST_SSH_PORT") ? getenv("TL_TEST_SSH_PORT") : "22");
	o.user = getenv("TL_TEST_SSH_USER");
	o.key_path = getenv("TL_TEST_SSH_KEY");
	o.known_hosts = getenv("TL_TEST_SSH_KNOWN_HOSTS");
	tl_ssh *s = NULL;
	double t0 = now_ms();
	if (tl_ssh_connect(&s, NULL, &o))
		return die("connect");
	printf("connect_ms %.1f\n", now_ms() - t0);
	const char *cmd[] = {"true", NULL};
	tl_ssh_exec_options eo = TL_SSH_EXEC_OPTIONS_INIT;
	eo.stdout_mode = eo.stderr_mode = TL_SSH_OUT_BUFFER;
	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		tl_ssh_result r = TL_SSH_RESULT_INIT;
		if (tl_ssh_exec(&r, s, cmd, &eo) || r.exit_status != 0)
			return die("exec");
		tl_ssh_result_dispose(&r);
	}
	printf("exec_ms_per_command %.1f\n", (now_ms() - t0) / n);
	t0 = now_ms();
	if (tl_ssh_upload(s, argv[2], argv[3], NULL))
		return die("upload");
	printf("upload_ms %.1f\n", now_ms() - t0);
	tl_ssh_free(s);
	return 0;
}
