/*
 * towlion - the reference command line of libtowlion.
 *
 * towlion [--config F] [--json] [--dry-run] [-q|-v] GROUP VERB [ARGS]
 * towlion --host [user@]server[:port] [--ssh-key F] [--known-hosts F] ...
 *   runs the rest on the server (remote.c)
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const global_usage =
	"usage: towlion [--config FILE] [--json] [--dry-run] [-q|-v] GROUP VERB [ARGS]\n"
	"       towlion --host [user@]server[:port] [--ssh-key FILE] [--known-hosts FILE] ...\n"
	"       towlion --help | --version | help [GROUP [VERB]]\n";

/* Take the global flags out of argv wherever they stand (before "--"), so
 * `towlion docker ps --json` works as well as `towlion --json docker ps`. */
static int take_global_flags(cli *c, int *argc, char **argv, bool *help, bool *version,
                             bool verb_config)
{
	int w = 1;
	bool rest = false;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		if (rest || a[0] != '-' || !strcmp(a, "-")) {
			argv[w++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			rest = true;
			argv[w++] = argv[i];
		} else if (!strcmp(a, "--json")) {
			c->json = true;
		} else if (!strcmp(a, "--dry-run")) {
			c->dry_run = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			c->quiet = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			c->verbose = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*help = true;
		} else if (!strcmp(a, "--version") && w == 1) {
			*version = true;
		} else if (verb_config && !strncmp(a, "--config", 8)) {
			argv[w++] = argv[i]; /* server bootstrap --config KEY=VALUE */
		} else if (!strcmp(a, "--config")) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "towlion: --config needs a file\n%s", global_usage);
				return EXIT_USAGE;
			}
			c->config_path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			c->config_path = a + 9;
		} else {
			argv[w++] = argv[i]; /* a verb's own option */
		}
	}
	argv[w] = NULL;
	*argc = w;
	if (c->quiet && c->verbose) {
		fprintf(stderr, "towlion: -q and -v cannot be used together\n");
		return EXIT_USAGE;
	}
	return 0;
}

static const cli_group *find_group(const char *name)
{
	for (size_t i = 0; i < cli_ngroups; i++)
		if (!strcmp(cli_groups[i]->name, name))
			return cli_groups[i];
	return NULL;
}

static const cli_verb *find_verb(const cli_group *g, const char *name)
{
	for (size_t i = 0; i < g->nverbs; i++)
		if (!strcmp(g->verbs[i].name, name))
			return &g->verbs[i];
	return NULL;
}

static int unknown(cli *c, const char *what, const char *word, const char *const *names,
                   size_t n, const char *help_cmd)
{
	const char *near = cli_suggest(word, names, n);
	char msg[256];
	snprintf(msg, sizeof(msg), "unknown %s '%s'%s%s%s", what, word,
	         near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
	fputs("towlion: ", stderr);
	cli_write_line(stderr, msg); /* the word is the user's, ESC and all */
	fprintf(stderr, "\nSee '%s'.\n", help_cmd);
	snprintf(c->usage_error, sizeof(c->usage_error), "%s", msg);
	return EXIT_USAGE;
}

/* Hidden verbs of "help" that print documents generated from the command
 * table (gen.c); the build runs them. */
static int help_generate(cli *c, int argc, char **argv, int at)
{
	if (!strcmp(argv[at], "--man") && at + 1 == argc) {
		cli_gen_man(stdout);
		return 0;
	}
	if (!strcmp(argv[at], "--completion") && at + 2 == argc && !strcmp(argv[at + 1], "bash")) {
		cli_gen_bash(stdout);
		return 0;
	}
	fprintf(stderr, "towlion: help takes --man, or --completion bash\n");
	snprintf(c->usage_error, sizeof(c->usage_error), "help takes --man, or --completion bash");
	return EXIT_USAGE;
}

static int print_version(cli *c)
{
	if (c->json) {
		json_t *doc = json_pack("{s:s, s:i, s:i, s:i}", "version", tl_version(), "major",
		                        TL_VERSION_MAJOR, "minor", TL_VERSION_MINOR, "patch",
		                        TL_VERSION_PATCH);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		printf("towlion %s (libtowlion %s)\n", TL_VERSION, tl_version());
	}
	return 0;
}

/* GROUP VERB ARGS -> the verb's run function; help and usage errors. */
static int dispatch(cli *c, int argc, char **argv, bool help)
{
	int at = 1;
	if (at < argc && !strcmp(argv[at], "help")) {
		help = true;
		at++;
		if (at < argc && argv[at][0] == '-')
			return help_generate(c, argc, argv, at);
	}
	if (at >= argc) {
		if (help && c->json) {
			cli_set_result(c, cli_gen_table(NULL));
			return 0;
		}
		cli_help_main(help ? stdout : stderr);
		if (!help)
			snprintf(c->usage_error, sizeof(c->usage_error), "no command given");
		return help ? 0 : EXIT_USAGE;
	}
	const char *names[64];
	for (size_t i = 0; i < cli_ngroups && i < 64; i++)
		names[i] = cli_groups[i]->name;
	const cli_group *g = find_group(argv[at]);
	if (!g)
		return unknown(c, "command", argv[at], names, cli_ngroups, "towlion --help");
	at++;

	/* A group whose only verb is "" is a command by itself (doctor). */
	const cli_verb *v = NULL;
	if (g->nverbs == 1 && g->verbs[0].name[0] == '\0') {
		v = &g->verbs[0];
	} else if (at >= argc) {
		if (help && c->json) {
			cli_set_result(c, cli_gen_table(g));
			return 0;
		}
		cli_help_group(help ? stdout : stderr, g);
		if (!help)
			snprintf(c->usage_error, sizeof(c->usage_error), "towlion %s needs a verb",
			         g->name);
		return help ? 0 : EXIT_USAGE;
	} else if (!(v = find_verb(g, argv[at]))) {
		const char *vn[64];
		for (size_t i = 0; i < g->nverbs && i < 64; i++)
			vn[i] = g->verbs[i].name;
		char hc[128];
		snprintf(hc, sizeof(hc), "towlion %s --help", g->name);
		return unknown(c, "verb", argv[at], vn, g->nverbs, hc);
	} else {
		at++;
	}
	if (help) {
		if (c->json)
			cli_set_result(c, cli_gen_table(g));
		else
			cli_help_verb(stdout, g, v);
		return 0;
	}
	if (c->dry_run && !v->mutating) {
		/* Reading commands change nothing anyway; say so, do not refuse. */
		if (c->verbose)
			fprintf(stderr, "towlion: --dry-run has no effect on a read-only command\n");
	}
	c->group = g;
	c->verb = v;
	c->argc = argc - at;
	c->argv = argv + at;
	return v->run(c);
}

/* --json: a failure without a library error document (a usage error, or
 * a check of the CLI's own) still gets one, shaped like cli_fail's. */
static json_t *error_document(const cli *c, int exit_code)
{
	static const int codes[] = {TL_OK,        TL_ERROR,        TL_EINVALID,  TL_ENOTFOUND,
	                            TL_ECONFLICT, TL_EUNAVAILABLE, TL_EUNHEALTHY, TL_EAUTH};
	int code = exit_code > 0 && exit_code < 8 ? codes[exit_code] : TL_ERROR;
	const char *msg = c->usage_error[0] ? c->usage_error : tl_strerror(code);
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:I}}", "error", "code", tl_strerror(code),
	                 "class", exit_code == EXIT_USAGE ? "usage" : "cli", "message", msg,
	                 "upstream", "", "upstream_code", (json_int_t)0);
}

/* `towlion server ...` runs here even with --host, which names the
 * server it works on (cmd_server.c): the first word that is not an option
 * or an option's value is the group. */
static bool runs_here(int argc, char **argv)
{
	static const char *const valued[] = {"--config", "--host", "--ssh-key", "--known-hosts"};
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		bool takes = false;
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			takes |= !strcmp(argv[i], valued[k]);
		if (takes)
			i++;
		else if (argv[i][0] != '-')
			return !strcmp(argv[i], "server");
	}
	return false;
}

int main(int argc, char **argv)
{
	cli c = {0};
	bool help = false, version = false;
	bool here = runs_here(argc, argv);
	if (cli_remote_requested(argc, argv) && !here)
		return cli_remote_run(argc, argv);
	int rc = take_global_flags(&c, &argc, argv, &help, &version, here);
	if (rc)
		return rc;
	c.tty = isatty(STDERR_FILENO);
	/* https://no-color.org: present and not empty */
	bool no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");
	c.color = c.tty && !no_color;
	c.color_out = isatty(STDOUT_FILENO) && !no_color;
	if (version)
		return print_version(&c);
	rc = dispatch(&c, argc, argv, help);
	if (c.json && rc && !c.result)
		cli_set_result(&c, error_document(&c, rc));
	if (c.json && c.result) {
		json_dumpf(c.result, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	cli_progress_clear(&c);
	json_decref(c.result);
	tl_ctx_free(c.ctx);
	return rc;
}
