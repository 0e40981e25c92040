/* Documents generated from the command table (commands.c), so that the
 * man page, the bash completion and `towlion --json help` can never
 * disagree with what the CLI accepts:
 *
 *   towlion help --man              towlion(1) in roff
 *   towlion help --completion bash  a bash completion script
 *   towlion --json help [GROUP]     the table as JSON
 *
 * The build runs the first two (cmake/cli-docs.cmake). */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- roff ---------------------------------------------------------------- */

/* Text for roff: backslashes escaped, hyphens as \- (these are command
 * lines, where a typographic hyphen would break copy and paste), and a
 * line never starting with a control character. */
static void roff(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '\n')
			fputs("\n.br\n", out);
		else
			fputc(*s, out);
	}
}

static const char *man_date(char *buf, size_t len)
{
	/* Reproducible builds set SOURCE_DATE_EPOCH. */
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t e = 0;
	time_t t = time(NULL);
	if (sde && *sde && tl_parse_uint(&e, sde, 0, INT32_MAX, "SOURCE_DATE_EPOCH") == TL_OK)
		t = (time_t)e;
	else if (sde && *sde)
		fprintf(stderr, "gen: %s; using the current date\n", tl_error_last()->message);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
	return buf;
}

static const char *const exit_codes[][2] = {
	{"0", "success"},
	{"1", "the operation failed (see the message)"},
	{"2", "usage error: unknown command or option, missing or bad argument"},
	{"3", "not found: the app, release, backup or object does not exist"},
	{"4", "conflict: it exists already, clashes with something, or another operation holds "
	      "the lock"},
	{"5", "a service could not be reached (or timed out); doctor exits 5 when a check fails"},
	{"6", "unhealthy: a new release did not become healthy (the old one still serves); "
	      "status exits 6 when an app is unhealthy"},
	{"7", "authentication or permission refused"},
};

static void man_globals(FILE *out)
{
	static const char *const opts[][2] = {
		{"--config FILE", "Read FILE instead of /etc/towlion/towlion.conf. A key set in the "
		                  "environment (TOWLION_*) wins over the file."},
		{"--json", "Print one JSON document on standard output: the command's result, or "
		           "{\"error\": {...}} when it fails. Human output and progress are not "
		           "printed. The documents are described in docs/cli-json.md."},
		{"--dry-run", "On a command that changes something, print the plan and change "
		              "nothing. Reading commands ignore it."},
		{"-q, --quiet", "Print nothing on standard error but errors: no steps, progress or "
		                "warnings. The result on standard output is still printed."},
		{"-v, --verbose", "Print the library's log lines and steps even when standard error "
		                  "is not a terminal."},
		{"-h, --help", "Show the help of the command (or of a group or verb)."},
		{"--version", "Print the version of the command and of libtowlion."},
		{"--host [USER@]SERVER[:PORT]", "Run the rest of the command line on SERVER over SSH "
		                                "(strict host keys) and stream its output; exit with "
		                                "its exit status."},
		{"--ssh-key FILE", "Private key for --host (default: ssh-agent). Its passphrase, if "
		                   "any, comes from TOWLION_SSH_KEY_PASSPHRASE."},
		{"--known-hosts FILE", "Host keys for --host (default: ~/.ssh/known_hosts)."},
	};
	fputs(".SH OPTIONS\nGlobal options may stand anywhere before \\fB\\-\\-\\fR.\n", out);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		fputs(".TP\n.B ", out);
		roff(out, opts[i][0]);
		fputc('\n', out);
		roff(out, opts[i][1]);
		fputc('\n', out);
	}
}

static void man_environment(FILE *out)
{
	fputs(".SH ENVIRONMENT\n"
	      "Every configuration key may be set in the environment, where it wins over the "
	      "configuration file. Defaults are shown as built, before derivation from other "
	      "keys.\n",
	      out);
	tl_ctx *ctx = NULL;
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.flags = TL_CTX_NO_ENV | TL_CTX_NO_CONFIG_FILE; /* defaults, not this machine's */
	if (tl_ctx_new(&ctx, &o) == TL_OK) {
		for (size_t i = 0; i < tl_config_key_count(); i++) {
			const char *k = NULL, *v = NULL, *d = NULL;
			int src = 0;
			if (tl_ctx_config_at(ctx, i, 0, &k, &v, &d, &src) != TL_OK || !k)
				continue;
			fputs(".TP\n.B ", out);
			roff(out, k);
			fputc('\n', out);
			roff(out, d && *d ? d : "(undocumented)");
			if (v && *v && strcmp(v, "(set)")) {
				fputs(" (default: ", out);
				roff(out, v);
				fputc(')', out);
			}
			fputs(".\n", out);
		}
		tl_ctx_free(ctx);
	}
	fputs(".TP\n.B NO_COLOR\nWhen set (and not empty), no colors on the terminal.\n", out);
	fputs(".TP\n.B TOWLION_REMOTE_TOWLION\nThe program run on the server by \\-\\-host "
	      "(default: towlion in the server's PATH).\n",
	      out);
}

void cli_gen_man(FILE *out)
{
	char date[32];
	fprintf(out, ".\\\" towlion(1), generated from the command table by `towlion help --man`."
	             "\n.\\\" Do not edit: change cli/cmd_*.c and rebuild.\n");
	fprintf(out, ".TH TOWLION 1 \"%s\" \"towlion %s\" \"User Commands\"\n",
	        man_date(date, sizeof(date)), TL_VERSION);
	/* no hyphenation, ragged right: command lines and URLs stay whole */
	fputs(".nh\n.ad l\n", out);
	fputs(".SH NAME\ntowlion \\- run many small web apps on one server you own\n"
	      ".SH SYNOPSIS\n.B towlion\n"
	      "[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-json\\fR] [\\fB\\-\\-dry\\-run\\fR] "
	      "[\\fB\\-q\\fR|\\fB\\-v\\fR] \\fIGROUP\\fR \\fIVERB\\fR [\\fIARGS\\fR]\n.br\n"
	      ".B towlion\n\\fB\\-\\-host\\fR [\\fIUSER\\fB@\\fR]\\fISERVER\\fR[:\\fIPORT\\fR] "
	      "[\\fB\\-\\-ssh\\-key\\fR \\fIFILE\\fR] [\\fB\\-\\-known\\-hosts\\fR \\fIFILE\\fR] "
	      "\\fIGROUP\\fR \\fIVERB\\fR [\\fIARGS\\fR]\n.br\n"
	      ".B towlion help\n[\\fIGROUP\\fR [\\fIVERB\\fR]]\n"
	      ".SH DESCRIPTION\n"
	      ".B towlion\n"
	      "is the command line of libtowlion, the engine of a self\\-hosted app platform: "
	      "each app is a set of Docker containers behind Caddy, with its own database and "
	      "role in a shared PostgreSQL, a user in a shared Redis and a bucket in S3\\-"
	      "compatible storage; pull requests get preview environments.\n"
	      ".PP\n"
	      "Commands are groups of verbs. Human output goes to standard output, diagnostics "
	      "to standard error. Long operations show steps and progress bars (with rate and "
	      "time left) only when standard error is a terminal, never with \\-\\-json.\n",
	      out);
	man_globals(out);
	fputs(".SH COMMANDS\n", out);
	for (size_t i = 0; i < cli_ngroups; i++) {
		const cli_group *g = cli_groups[i];
		fputs(".SS ", out);
		roff(out, g->name);
		fputs(" \\(em ", out);
		roff(out, g->summary);
		fputc('\n', out);
		for (size_t k = 0; k < g->nverbs; k++) {
			const cli_verb *v = &g->verbs[k];
			fputs(".TP\n\\fBtowlion ", out);
			roff(out, g->name);
			if (v->name[0]) {
				fputc(' ', out);
				roff(out, v->name);
			}
			fputs("\\fR", out);
			if (v->args[0]) {
				fputc(' ', out);
				roff(out, v->args);
			}
			fputc('\n', out);
			roff(out, v->summary);
			fputs(v->mutating ? ". With \\-\\-dry\\-run it prints the plan and changes "
			                    "nothing.\n"
			                  : ".\n",
			      out);
			fputs(".RS\n.PP\nExample:\n.EX\n", out);
			roff(out, v->example);
			fputs("\n.EE\n.RE\n", out);
		}
	}
	fputs(".SH EXIT STATUS\n", out);
	for (size_t i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		fprintf(out, ".TP\n.B %s\n%s\n", exit_codes[i][0], exit_codes[i][1]);
	fputs(".PP\n"
	      "\\fBexec\\fR exits with the status of the command it ran.\n"
	      "With \\-\\-json, a failure prints {\"error\": {\"code\", \"class\", \"message\", "
	      "\"upstream\", \"upstream_code\"}} on standard output as well.\n",
	      out);
	man_environment(out);
	fputs(".SH FILES\n"
	      ".TP\n.I /etc/towlion/towlion.conf\n"
	      "The configuration: KEY=VALUE lines (the .env syntax). Unknown keys are an error.\n"
	      ".TP\n.I /data\n"
	      "Persistent data: postgres, redis, s3, caddy, backups/postgres, towlion (the "
	      "app registry, release history and locks).\n"
	      ".TP\n.I /opt/apps/APP\n"
	      "An app's checkout; previews in /opt/apps/APP\\-pr\\-N.\n"
	      ".SH EXAMPLES\n"
	      "Register an app, give it a database, deploy it and look at the platform:\n"
	      ".PP\n.EX\n"
	      "towlion app create shop \\-\\-domain shop.example.com\n"
	      "towlion db create shop\n"
	      "towlion deploy shop \\-\\-path /opt/apps/shop\n"
	      "towlion status\n"
	      ".EE\n"
	      ".PP\n"
	      "See what a command would change, then script with its JSON:\n"
	      ".PP\n.EX\n"
	      "towlion \\-\\-dry\\-run backup prune\n"
	      "towlion \\-\\-json app list\n"
	      ".EE\n"
	      ".SH SEE ALSO\n"
	      ".BR docker (1),\n.BR caddy (1),\n.BR pg_dump (1),\n.BR ssh (1)\n",
	      out);
}

/* ---- bash completion ----------------------------------------------------- */

/* Options named in a synopsis ("APP [--tail N] [-f]" -> "--tail -f"), and
 * among them those whose value is a file or directory. */
static void synopsis_options(const char *args, char *opts, size_t olen, char *fopts,
                             size_t flen)
{
	size_t on = 0, fn = 0;
	opts[0] = fopts[0] = '\0';
	for (const char *p = args; *p; p++) {
		if (*p != '-' || (p > args && !strchr(" [(|", p[-1])))
			continue;
		const char *s = p;
		while (*p == '-' || isalnum((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - s);
		if (len < 2 || (len == 2 && s[1] == '-')) { /* "-" or "--" alone */
			if (!*p)
				break;
			continue;
		}
		char word[64];
		snprintf(word, sizeof(word), "%.*s", (int)len, s);
		/* once only */
		char padded[70];
		snprintf(padded, sizeof(padded), " %s ", word);
		char hay[1100];
		snprintf(hay, sizeof(hay), " %s ", opts);
		if (!strstr(hay, padded) && on + len + 2 < olen)
			on += (size_t)snprintf(opts + on, olen - on, "%s%s", on ? " " : "", word);
		/* the value's placeholder: FILE, DIR, PATH... */
		const char *v = *p == ' ' || *p == '=' ? p + 1 : p;
		if ((!strncmp(v, "FILE", 4) || !strncmp(v, "DIR", 3) || !strncmp(v, "FILE|", 5)) &&
		    fn + len + 2 < flen)
			fn += (size_t)snprintf(fopts + fn, flen - fn, "%s%s", fn ? " " : "", word);
		if (!*p)
			break;
	}
}

void cli_gen_bash(FILE *out)
{
	static const char globals[] =
		"--config --json --dry-run -q --quiet -v --verbose -h --help --version --host "
		"--ssh-key --known-hosts";
	fprintf(out,
	        "# bash completion for towlion(1), generated from its command table by\n"
	        "# `towlion help --completion bash` (towlion %s). Do not edit.\n\n",
	        TL_VERSION);
	fputs("_towlion_groups=\"", out);
	for (size_t i = 0; i < cli_ngroups; i++)
		fprintf(out, "%s%s", i ? " " : "", cli_groups[i]->name);
	fputs(" help\"\n\n", out);

	/* verbs of a group; empty for a group that is itself the command */
	fputs("_towlion_verbs()\n{\n\tcase $1 in\n", out);
	for (size_t i = 0; i < cli_ngroups; i++) {
		const cli_group *g = cli_groups[i];
		if (g->nverbs == 1 && !g->verbs[0].name[0])
			continue;
		fprintf(out, "\t%s) echo \"", g->name);
		for (size_t k = 0; k < g->nverbs; k++)
			fprintf(out, "%s%s", k ? " " : "", g->verbs[k].name);
		fputs("\" ;;\n", out);
	}
	fputs("\tesac\n}\n\n", out);

	/* options of a verb, and those taking a file */
	fputs("_towlion_options()\n{\n\tcase \"$1 $2\" in\n", out);
	for (size_t i = 0; i < cli_ngroups; i++) {
		const cli_group *g = cli_groups[i];
		for (size_t k = 0; k < g->nverbs; k++) {
			char opts[1024], fopts[512];
			synopsis_options(g->verbs[k].args, opts, sizeof(opts), fopts, sizeof(fopts));
			fprintf(out, "\t\"%s %s\") _towlion_opts=\"%s\" _towlion_file_opts=\"%s\" ;;\n", g->name,
			        g->verbs[k].name, opts, fopts);
		}
	}
	fputs("\tesac\n}\n\n", out);

	fprintf(out,
	        "_towlion()\n"
	        "{\n"
	        "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
	        "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	        "\tlocal globals=\"%s\"\n"
	        "\tlocal i w group= verb= verbs= helping=\n"
	        "\tlocal _towlion_opts= _towlion_file_opts=\n"
	        "\tCOMPREPLY=()\n"
	        "\t# the group and verb typed so far, skipping options and their values\n"
	        "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	        "\t\tw=${COMP_WORDS[i]}\n"
	        "\t\tcase $w in\n"
	        "\t\t--) break ;;\n"
	        "\t\t--config | --host | --ssh-key | --known-hosts) ((i++)); continue ;;\n"
	        "\t\t-*) continue ;;\n"
	        "\t\tesac\n"
	        "\t\tif [[ -z $group && $w == help && -z $helping ]]; then\n"
	        "\t\t\thelping=1\n"
	        "\t\telif [[ -z $group ]]; then\n"
	        "\t\t\tgroup=$w\n"
	        "\t\t\tverbs=$(_towlion_verbs \"$group\")\n"
	        "\t\t\t[[ -z $verbs ]] && break\n"
	        "\t\telif [[ -z $verb ]]; then\n"
	        "\t\t\tverb=$w\n"
	        "\t\t\tbreak\n"
	        "\t\tfi\n"
	        "\tdone\n"
	        "\tcase $prev in\n"
	        "\t--config | --ssh-key | --known-hosts)\n"
	        "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	        "\t\treturn ;;\n"
	        "\t--host) return ;;\n"
	        "\tesac\n"
	        "\tif [[ -z $group ]]; then\n"
	        "\t\tif [[ $cur == -* ]]; then\n"
	        "\t\t\tCOMPREPLY=($(compgen -W \"$globals\" -- \"$cur\"))\n"
	        "\t\telif [[ -n $helping ]]; then\n"
	        "\t\t\tCOMPREPLY=($(compgen -W \"${_towlion_groups%% help}\" -- \"$cur\"))\n"
	        "\t\telse\n"
	        "\t\t\tCOMPREPLY=($(compgen -W \"$_towlion_groups\" -- \"$cur\"))\n"
	        "\t\tfi\n"
	        "\t\treturn\n"
	        "\tfi\n"
	        "\tif [[ -n $verbs && -z $verb ]]; then\n"
	        "\t\tif [[ $cur == -* ]]; then\n"
	        "\t\t\tCOMPREPLY=($(compgen -W \"--help $globals\" -- \"$cur\"))\n"
	        "\t\telse\n"
	        "\t\t\tCOMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n"
	        "\t\tfi\n"
	        "\t\treturn\n"
	        "\tfi\n"
	        "\t[[ -n $helping ]] && return\n"
	        "\t_towlion_options \"$group\" \"$verb\"\n"
	        "\tif [[ \" $_towlion_file_opts \" == *\" $prev \"* ]]; then\n"
	        "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	        "\telif [[ $cur == -* ]]; then\n"
	        "\t\tCOMPREPLY=($(compgen -W \"$_towlion_opts --help $globals\" -- \"$cur\"))\n"
	        "\telse\n"
	        "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	        "\tfi\n"
	        "}\n\n"
	        "complete -F _towlion towlion\n",
	        globals);
}

/* ---- the table as JSON ---------------------------------------------------- */

json_t *cli_gen_table(const cli_group *only)
{
	json_t *groups = json_array();
	for (size_t i = 0; i < cli_ngroups; i++) {
		const cli_group *g = cli_groups[i];
		if (only && g != only)
			continue;
		json_t *verbs = json_array();
		for (size_t k = 0; k < g->nverbs; k++) {
			const cli_verb *v = &g->verbs[k];
			json_array_append_new(verbs, json_pack("{s:s, s:s, s:s, s:s, s:b}", "name",
			                                       v->name, "args", v->args, "summary",
			                                       v->summary, "example", v->example,
			                                       "mutating", v->mutating));
		}
		json_array_append_new(groups, json_pack("{s:s, s:s, s:o}", "name", g->name, "summary",
		                                        g->summary, "verbs", verbs));
	}
	return json_pack("{s:s, s:o}", "version", TL_VERSION, "groups", groups);
}
