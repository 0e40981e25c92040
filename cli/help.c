/* --help text, generated from the command table, and "did you mean". */
#include "cli.h"

#include <string.h>

void cli_help_main(FILE *out)
{
	fprintf(out,
	        "usage: towlion [--config FILE] [--json] [--dry-run] [-q|-v] GROUP VERB [ARGS]\n\n"
	        "Run many small web apps on one server you own.\n\nCommands:\n");
	for (size_t i = 0; i < cli_ngroups; i++)
		fprintf(out, "  %-10s %s\n", cli_groups[i]->name, cli_groups[i]->summary);
	fprintf(out,
	        "\nGlobal options:\n"
	        "  --config FILE  read FILE instead of /etc/towlion/towlion.conf\n"
	        "  --json         print one JSON document on stdout\n"
	        "  --dry-run      print what a command would change, change nothing\n"
	        "  -q, -v         quieter, or more detail on stderr\n"
	        "  --version      print the version\n"
	        "  --host [USER@]SERVER[:PORT]\n"
	        "                 run this command on SERVER over SSH (strict host keys)\n"
	        "  --ssh-key FILE private key for --host (default: ssh-agent)\n"
	        "  --known-hosts FILE\n"
	        "                 host keys for --host (default: ~/.ssh/known_hosts)\n\n"
	        "'towlion GROUP --help' lists a group's verbs; 'man towlion' has it all,\n"
	        "with the exit codes and the environment.\n");
}

void cli_help_group(FILE *out, const cli_group *g)
{
	if (g->nverbs == 1 && !g->verbs[0].name[0]) {
		cli_help_verb(out, g, &g->verbs[0]);
		return;
	}
	fprintf(out, "usage: towlion %s VERB [ARGS]\n\n%s\n\nVerbs:\n", g->name, g->summary);
	for (size_t i = 0; i < g->nverbs; i++)
		fprintf(out, "  %-10s %s\n", g->verbs[i].name, g->verbs[i].summary);
	fprintf(out, "\n'towlion %s VERB --help' shows one verb with an example.\n", g->name);
}

void cli_help_verb(FILE *out, const cli_group *g, const cli_verb *v)
{
	const char *sp = v->name[0] ? " " : "";
	fprintf(out, "usage: towlion %s%s%s%s%s\n\n%s\n", g->name, sp, v->name,
	        v->args[0] ? " " : "", v->args, v->summary);
	if (v->mutating)
		fprintf(out, "With --dry-run it prints the plan and changes nothing.\n");
	fprintf(out, "\nExample:\n  %s\n", v->example);
}

/* Levenshtein distance, bounded to short words. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

const char *cli_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = 3; /* more than two edits away is no suggestion */
	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);
		if (d < bd || (strlen(word) >= 3 && !strncmp(cands[i], word, strlen(word)))) {
			bd = d < bd ? d : bd;
			best = cands[i];
		}
	}
	return best;
}
