/* Helpers every command uses: the context, errors, output, options. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The colour sequences the CLI writes itself: passed through as they are
 * (a tenant can only change colours with them, nothing else). */
static const char *const own_sgr[] = {"\033[0m", "\033[1;34m", "\033[31m", "\033[32m",
                                      "\033[33m"};

/* keep_lines: newline and tab pass, and so do the CLI's own colours;
 * otherwise every control is escaped (one line of a message). */
static void write_escaped(FILE *f, const char *s, size_t n, bool keep_lines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == 0x1b && keep_lines) {
			size_t k = 0, len = 0;
			for (; k < sizeof(own_sgr) / sizeof(own_sgr[0]); k++) {
				len = strlen(own_sgr[k]);
				if (len <= n - i && !memcmp(s + i, own_sgr[k], len))
					break;
			}
			if (k < sizeof(own_sgr) / sizeof(own_sgr[0])) {
				fwrite(s + i, 1, len, f);
				i += len - 1;
				continue;
			}
		}
		if ((ch < 0x20 && !(keep_lines && (ch == '\n' || ch == '\t'))) || ch == 0x7f) {
			fprintf(f, "\\x%02x", ch);
		} else if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		           (unsigned char)s[i + 1] <= 0x9f) {
			/* A C1 control in UTF-8 (U+0080..U+009F; U+009B is a CSI). */
			fprintf(f, "\\u%04x", (unsigned char)s[i + 1]);
			i++;
		} else {
			fputc(ch, f);
		}
	}
}

void cli_write_safe(FILE *f, const char *s, size_t n)
{
	write_escaped(f, s, n, true);
}

void cli_write_line(FILE *f, const char *s)
{
	write_escaped(f, s, strlen(s), false);
}

/* "towlion: MESSAGE" on stderr, in red on a terminal. The message is one
 * line whatever it holds: it quotes arguments, file names and errors of
 * peers, so a newline or an ESC in them must not forge lines or move the
 * cursor. */
static void print_error_line(cli *c, const char *message)
{
	fputs("towlion: ", stderr);
	if (c->color)
		fputs("\033[31m", stderr);
	cli_write_line(stderr, message);
	if (c->color)
		fputs("\033[0m", stderr);
	fputc('\n', stderr);
}

void cli_vfprint(FILE *f, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	char small[1024];
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		cli_write_safe(f, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big)
		return;
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	cli_write_safe(f, big, (size_t)n);
	free(big);
}

void cli_fprint(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vfprint(f, fmt, ap);
	va_end(ap);
}

/* A restore killed halfway may have left a database closed to
 * connections: every command repairs that first, as the backup commands
 * and doctor do themselves (only an opendir when nothing is recorded).
 * The repair reports through events; its own failure is a warning, as
 * the command itself may not need the database. */
static void repair_interrupted(cli *c)
{
	const char *g = c->group ? c->group->name : "";
	if (c->dry_run)
		return;
	if (strcmp(g, "backup") && strcmp(g, "doctor") &&
	    tl_backup_repair(NULL, c->ctx, NULL) != TL_OK) {
		cli_fprint(stderr, "towlion: warning: %s\n", tl_error_last()->message);
		tl_error_clear();
	}
	/* Deploys, rollbacks, preview ups and route changes a kill left in
	 * flight: finished or undone, and said so (the events are silent
	 * under --json, this line is not). */
	tl_buf done = TL_BUF_INIT;
	if (tl_deploy_repair(&done, c->ctx) != TL_OK) {
		cli_fprint(stderr, "towlion: warning: %s\n", tl_error_last()->message);
		tl_error_clear();
	} else if (done.size && c->json) {
		for (char *line = done.ptr, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			cli_fprint(stderr, "towlion: warning: %.*s\n",
			           (int)(nl ? (size_t)(nl - line) : strlen(line)), line);
		}
	}
	tl_buf_dispose(&done);
}

tl_ctx *cli_ctx(cli *c)
{
	if (c->ctx)
		return c->ctx;
	tl_ctx_options o = TL_CTX_OPTIONS_INIT;
	o.config_path = c->config_path;
	o.event_cb = cli_on_event;
	o.event_payload = c;
	if (tl_ctx_new(&c->ctx, &o) != TL_OK) {
		c->ctx = NULL;
		return NULL;
	}
	repair_interrupted(c);
	return c->ctx;
}

int cli_exit_code(int rc)
{
	switch (rc) {
	case TL_OK: return EXIT_OK_;
	case TL_ENOTFOUND: return EXIT_NOTFOUND;
	case TL_ECONFLICT:
	case TL_EEXISTS:
	case TL_ELOCKED: return EXIT_CONFLICT;
	case TL_EUNAVAILABLE:
	case TL_ETIMEOUT: return EXIT_UNAVAILABLE;
	case TL_EUNHEALTHY: return EXIT_UNHEALTHY;
	case TL_EAUTH: return EXIT_AUTH;
	default: return EXIT_FAILED;
	}
}

int cli_fail(cli *c, int rc)
{
	const tl_error *e = tl_error_last();
	if (c->json) {
		json_decref(c->result);
		c->result = json_pack("{s:{s:s, s:s, s:s, s:s, s:I}}", "error", "code",
		                      tl_strerror(rc), "class", tl_errclass_name(e->klass),
		                      "message", e->message, "upstream", e->upstream,
		                      "upstream_code", (json_int_t)e->upstream_code);
	}
	cli_progress_clear(c);
	print_error_line(c, e->message);
	return cli_exit_code(rc);
}

int cli_error(cli *c, int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->usage_error, sizeof(c->usage_error), fmt, ap);
	va_end(ap);
	cli_progress_clear(c);
	print_error_line(c, c->usage_error);
	return exit_code;
}

int cli_usage(cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->usage_error, sizeof(c->usage_error), fmt, ap);
	va_end(ap);
	cli_progress_clear(c);
	fprintf(stderr, "towlion %s%s%s: ", c->group->name, c->verb->name[0] ? " " : "",
	        c->verb->name);
	cli_write_line(stderr, c->usage_error);
	fprintf(stderr, "\nusage: towlion %s%s%s%s%s\nSee 'towlion %s%s%s --help'.\n",
	        c->group->name, c->verb->name[0] ? " " : "", c->verb->name,
	        c->verb->args[0] ? " " : "", c->verb->args, c->group->name,
	        c->verb->name[0] ? " " : "", c->verb->name);
	return EXIT_USAGE;
}

void cli_print(cli *c, const char *fmt, ...)
{
	if (c->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	cli_vfprint(stdout, fmt, ap);
	va_end(ap);
}

void cli_set_result(cli *c, json_t *doc)
{
	json_decref(c->result);
	c->result = doc;
}

int cli_unknown_option(cli *c, const char *word)
{
	/* The candidates are the options the verb's synopsis names. */
	char names[32][40];
	const char *cands[32];
	size_t n = 0;
	for (const char *p = c->verb->args; *p && n < 32; p++) {
		if (*p != '-' || (p > c->verb->args && !strchr(" [(|", p[-1])))
			continue;
		size_t len = strspn(p, "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		if (len > 1 && len < sizeof(names[0]) && strncmp(p, "--", len)) {
			snprintf(names[n], sizeof(names[0]), "%.*s", (int)len, p);
			cands[n] = names[n];
			n++;
		}
		p += len ? len - 1 : 0;
	}
	const char *near = cli_suggest(word, cands, n);
	if (near)
		return cli_usage(c, "unknown option '%s'; did you mean '%s'?", word, near);
	return cli_usage(c, "unknown option '%s'", word);
}

/* Append `v` to the NULL-terminated array *list (which may be NULL). */
static int append_value(const char ***list, const char *v)
{
	size_t n = 0;
	while (*list && (*list)[n])
		n++;
	const char **grown = realloc((void *)*list, (n + 2) * sizeof(*grown));
	if (!grown)
		return -1;
	grown[n] = v;
	grown[n + 1] = NULL;
	*list = grown;
	return 0;
}

int cli_parse(cli *c, const cli_opt *opts, size_t nopts, const char **pos, size_t minpos,
              size_t maxpos, size_t *npos)
{
	return cli_parse_lists(c, opts, nopts, NULL, 0, pos, minpos, maxpos, npos);
}

int cli_begin(cli *c, tl_ctx **ctx, const cli_opt *opts, size_t nopts, const char **pos,
              size_t minpos, size_t maxpos, size_t *npos)
{
	int rc = cli_parse(c, opts, nopts, pos, minpos, maxpos, npos);
	if (rc)
		return rc;
	if (!(*ctx = cli_ctx(c)))
		return cli_fail(c, tl_error_last()->code);
	return 0;
}

int cli_parse_lists(cli *c, const cli_opt *opts, size_t nopts, const cli_list_opt *lists,
                    size_t nlists, const char **pos, size_t minpos, size_t maxpos,
                    size_t *npos)
{
	size_t n = 0;
	bool rest = false;
	for (int i = 0; i < c->argc; i++) {
		const char *a = c->argv[i];
		if (!rest && !strcmp(a, "--")) {
			rest = true;
			continue;
		}
		if (rest || a[0] != '-' || !strcmp(a, "-")) {
			if (n >= maxpos)
				return cli_usage(c, "unexpected argument '%s'", a);
			pos[n++] = a;
			continue;
		}
		const cli_opt *o = NULL;
		const char *inline_val = NULL;
		for (size_t k = 0; k < nopts && !o; k++) {
			size_t l = strlen(opts[k].name);
			if (!strcmp(a, opts[k].name))
				o = &opts[k];
			else if (opts[k].takes_value && !strncmp(a, opts[k].name, l) && a[l] == '=') {
				o = &opts[k];
				inline_val = a + l + 1;
			}
		}
		const cli_list_opt *l = NULL;
		for (size_t k = 0; k < nlists && !o && !l; k++) {
			size_t len = strlen(lists[k].name);
			if (!strcmp(a, lists[k].name))
				l = &lists[k];
			else if (!strncmp(a, lists[k].name, len) && a[len] == '=') {
				l = &lists[k];
				inline_val = a + len + 1;
			}
		}
		if (!o && !l)
			return cli_unknown_option(c, a);
		bool takes_value = l || o->takes_value;
		const char *v = "1";
		if (takes_value && inline_val)
			v = inline_val;
		else if (takes_value && i + 1 < c->argc)
			v = c->argv[++i];
		else if (takes_value)
			return cli_usage(c, "%s needs a value", l ? l->name : o->name);
		if (o)
			*o->value = v;
		else if (append_value(l->values, v))
			return cli_error(c, EXIT_FAILED, "out of memory");
	}
	if (n < minpos)
		return cli_usage(c, "missing argument");
	if (npos)
		*npos = n;
	return 0;
}
