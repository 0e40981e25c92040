/* towlion server bootstrap --host USER@SERVER: a fresh Debian 12 server to
 * a running platform, over SSH (lib/server). `--host` here names the
 * server to bootstrap: this verb runs on the operator's machine (main.c
 * does not hand it to the server as it does other commands). */
#include "cli.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPEAT 64

/* Pull every "NAME VALUE" / "NAME=VALUE" out of the verb's argv into
 * `list` (NULL-terminated, at most MAX_REPEAT). */
static int take_repeated(cli *c, const char *name, const char **list)
{
	int w = 0, n = 0;
	bool rest = false;
	size_t l = strlen(name);
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i], *v = NULL;
		rest |= !strcmp(a, "--");
		if (!rest && !strcmp(a, name)) {
			if (i + 1 >= c->argc)
				return cli_usage(c, "%s needs a value", name);
			v = c->argv[++i];
		} else if (!rest && !strncmp(a, name, l) && a[l] == '=') {
			v = a + l + 1;
		}
		if (!v) {
			c->argv[w++] = c->argv[i];
			continue;
		}
		if (n >= MAX_REPEAT)
			return cli_usage(c, "too many %s options", name);
		list[n++] = v;
	}
	c->argc = w;
	list[n] = NULL;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .deb files of DIR, sorted (libraries and CLI go in one apt-get). */
static int debs_in(cli *c, const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	if (!d)
		return cli_error(c, EXIT_NOTFOUND, "--packages %s: cannot open the directory",
		                 dir);
	size_t n = 0;
	char **v = calloc(MAX_REPEAT + 1, sizeof(*v));
	struct dirent *e;
	while (v && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".deb") || n >= MAX_REPEAT)
			continue;
		size_t need = strlen(dir) + l + 2;
		if (!(v[n] = malloc(need)))
			break;
		snprintf(v[n++], need, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (!v)
		return cli_error(c, EXIT_FAILED, "out of memory");
	if (!n) {
		free(v);
		return cli_error(c, EXIT_NOTFOUND, "--packages %s: no .deb file there", dir);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return 0;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* --deploy-key: a public key line, or the file holding one. */
static int read_key(cli *c, const char *arg, char *key, size_t size)
{
	if (!strncmp(arg, "ssh-", 4) || !strncmp(arg, "ecdsa-", 6) || !strncmp(arg, "sk-", 3)) {
		snprintf(key, size, "%s", arg);
		return 0;
	}
	FILE *f = fopen(arg, "r");
	if (!f)
		return cli_error(c, EXIT_NOTFOUND, "--deploy-key %s: cannot read it", arg);
	if (!fgets(key, (int)size, f))
		key[0] = '\0';
	fclose(f);
	key[strcspn(key, "\r\n")] = '\0';
	return 0;
}

static const char *status_name(int st)
{
	switch (st) {
	case TL_SERVER_UNCHANGED: return "unchanged";
	case TL_SERVER_CHANGED: return "changed";
	case TL_SERVER_WOULD_CHANGE: return "would change";
	default: return "skipped";
	}
}

static void print_report(cli *c, const tl_server_report *r)
{
	json_t *steps = json_array(), *secrets = json_object();
	for (size_t i = 0; i < tl_server_report_count(r); i++) {
		const tl_server_step *s = tl_server_report_at(r, i);
		json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:f}", "name", s->name,
		                                       "status", status_name(s->status), "detail",
		                                       s->detail, "elapsed_ms", s->elapsed_ms));
		cli_print(c, "%-12s %-9s %6.1f s  %s\n", status_name(s->status), s->name,
		          s->elapsed_ms / 1000, s->detail);
	}
	size_t changed = tl_server_report_changed(r);
	cli_print(c, "server bootstrap: %zu step%s %s\n", changed, changed == 1 ? "" : "s",
	          c->dry_run ? "would change (dry run: nothing done)" : "changed");
	if (!c->dry_run)
		cli_print(c, "\nGitHub Actions secrets of the app repository:\n");
	for (size_t i = 0; i < tl_server_report_secret_count(r); i++) {
		const tl_server_secret *s = tl_server_report_secret_at(r, i);
		json_object_set_new(secrets, s->name, json_string(s->value));
		if (!c->dry_run)
			cli_print(c, "  %-18s %s\n", s->name, s->value);
	}
	cli_set_result(c, json_pack("{s:b, s:I, s:o, s:o}", "dry_run", c->dry_run, "changed",
	                            (json_int_t)changed, "steps", steps, "secrets", secrets));
}

static int run_bootstrap(cli *c)
{
	const char *images[MAX_REPEAT + 1], *config[MAX_REPEAT + 1], *plat[MAX_REPEAT + 1],
		*sources[MAX_REPEAT + 1];
	int rc;
	if ((rc = take_repeated(c, "--images", images)) ||
	    (rc = take_repeated(c, "--config", config)) || (rc = take_repeated(c, "--image", plat)) ||
	    (rc = take_repeated(c, "--packages-from", sources)))
		return rc;
	const char *target = NULL, *port_s = NULL, *key = NULL, *known = NULL, *pkgdir = NULL,
	           *deploy_key = NULL, *deploy_user = NULL;
	cli_opt opts[] = {{"--host", true, &target},         {"--ssh-port", true, &port_s},
	                  {"--ssh-key", true, &key},         {"--known-hosts", true, &known},
	                  {"--packages", true, &pkgdir},     {"--deploy-key", true, &deploy_key},
	                  {"--deploy-user", true, &deploy_user}};
	if ((rc = cli_parse(c, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, 0, NULL)))
		return rc;
	if (!target)
		return cli_usage(c, "--host USER@SERVER is required");
	int fw_port = 0;
	if ((rc = cli_opt_int(c, &fw_port, "--ssh-port", port_s, 1, 65535)))
		return rc;
	tl_buf user = TL_BUF_INIT, host = TL_BUF_INIT;
	int port = 0;
	if (tl_ssh_target_parse(&user, &host, &port, target))
		return cli_usage(c, "--host: %s", tl_error_last()->message);
	char pubkey[16384 + 1];
	char **debs = NULL;
	if (deploy_key && (rc = read_key(c, deploy_key, pubkey, sizeof(pubkey))))
		goto out;
	if (pkgdir && (rc = debs_in(c, pkgdir, &debs)))
		goto out;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx) {
		rc = cli_fail(c, tl_error_last()->code);
		goto out;
	}
	tl_ssh_options so = TL_SSH_OPTIONS_INIT;
	so.host = host.ptr;
	/* --ssh-port is the port sshd listens on: connect there too, unless
	 * --host names another (a forwarded port). */
	so.port = port ? port : fw_port;
	so.user = user.size ? user.ptr : "root";
	so.key_path = key;
	so.key_passphrase = key ? getenv("TOWLION_SSH_KEY_PASSPHRASE") : NULL;
	so.known_hosts = known;
	tl_server_bootstrap_options o = TL_SERVER_BOOTSTRAP_OPTIONS_INIT;
	o.flags = c->dry_run ? TL_SERVER_DRY_RUN : 0;
	o.packages = (const char *const *)debs;
	o.package_sources = sources[0] ? sources : NULL;
	o.images = images[0] ? images : NULL;
	o.config = config[0] ? config : NULL;
	o.platform_images = plat[0] ? plat : NULL;
	o.deploy_user = deploy_user;
	o.deploy_key = deploy_key ? pubkey : NULL;
	o.ssh_port = fw_port;
	tl_server_report *r = NULL;
	if ((rc = tl_server_bootstrap(&r, ctx, &so, &o)) != TL_OK) {
		rc = cli_fail(c, rc);
		goto out;
	}
	print_report(c, r);
	tl_server_report_free(r);
out:
	free_strv(debs);
	tl_buf_dispose(&user);
	tl_buf_dispose(&host);
	return rc;
}

static const cli_verb verbs[] = {
	{"bootstrap",
	 "--host USER@SERVER [--ssh-port N] [--ssh-key FILE] [--known-hosts FILE] "
	 "[--packages DIR] [--packages-from PATH|URL]... [--images TAR]... [--image SVC=IMAGE]... [--config KEY=VALUE]... "
	 "[--deploy-key PUBKEY|FILE] [--deploy-user NAME]",
	 "make a fresh Debian 12 server a running platform over SSH (idempotent)",
	 "towlion server bootstrap --host root@apps.example.com --packages ./debs "
	 "--config TOWLION_DOMAIN=example.com --deploy-key ~/.ssh/towlion_deploy.pub",
	 true, run_bootstrap},
};

const cli_group cli_group_server = {"server", "set up a server for the platform", verbs, 1};
