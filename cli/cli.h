/*
 * The towlion command: shared declarations. The CLI is a thin layer over
 * the public API (towlion/towlion.h); it never talks to a service itself.
 *
 * Commands are "groups" of "verbs" (towlion GROUP VERB ARGS), declared in
 * one table (commands.c) from which --help, the man page and the bash
 * completion are all generated.
 */
#ifndef TL_CLI_H
#define TL_CLI_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "towlion/towlion.h"

/* Exit codes (docs/cli.md). */
enum {
	EXIT_OK_ = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3,
	EXIT_CONFLICT = 4, /* conflict or locked */
	EXIT_UNAVAILABLE = 5,
	EXIT_UNHEALTHY = 6,
	EXIT_AUTH = 7
};

/* The progress bar being drawn on stderr (events.c). */
typedef struct cli_progress {
	bool drawn;          /* a bar is on the current line */
	char step[48];       /* what it measures ("s3.put") */
	double start, last_draw; /* seconds (monotonic) */
	double step_time;    /* when the last step began, until a transfer takes it */
	uint64_t first_done; /* done at start, for the rate */
	uint64_t last_done;
} cli_progress;

typedef struct cli {
	const char *config_path;
	bool json, dry_run, quiet, verbose;
	bool tty, color;  /* stderr is a terminal; colors allowed there */
	bool color_out;   /* colors allowed on stdout (a terminal, no NO_COLOR) */
	cli_progress progress;
	char usage_error[512]; /* the last CLI-side error, for --json */
	tl_ctx *ctx;     /* created on first use by cli_ctx() */
	json_t *result;  /* --json: the document to print */
	int argc;        /* the verb's arguments (after GROUP VERB) */
	char **argv;
	const struct cli_verb *verb;
	const struct cli_group *group;
} cli;

typedef struct cli_verb {
	const char *name;    /* "" for a group that is itself the command */
	const char *args;    /* synopsis of the arguments: "APP [--tail N]" */
	const char *summary; /* one line */
	const char *example; /* a full example command line */
	bool mutating;       /* honours --dry-run */
	int (*run)(cli *c);
} cli_verb;

typedef struct cli_group {
	const char *name;
	const char *summary;
	const cli_verb *verbs;
	size_t nverbs;
} cli_group;

extern const cli_group *const cli_groups[];
extern const size_t cli_ngroups;

/* The context, created on first use with --config; NULL after printing an
 * error (the caller returns cli_fail()). */
tl_ctx *cli_ctx(cli *c);

/* Report the library's last error on stderr (or in --json) and map its
 * code to an exit code. */
int cli_fail(cli *c, int rc);
/* A usage error about the current verb: message + synopsis, exit 2. */
int cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(int tl_rc);
/* An error found by the CLI itself (not the library): printed on stderr,
 * kept for the --json error document; returns exit_code. */
int cli_error(cli *c, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Human output goes to stdout unless --json (then it is dropped); the
 * --json document is c->result, printed by main. */
void cli_print(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write text that may come from a tenant (build output, logs, container
 * messages, names) to a terminal: control characters (ESC, CR, BS, ...,
 * DEL and the C1 controls) come out escaped as \xNN / \uNNNN, so a tenant
 * cannot move the cursor, rewrite lines, set the title or answer-back.
 * Newline and tab stay; so do the colour sequences the CLI writes itself.
 * cli_print, cli_fail, cli_error and the event renderer all go through it. */
void cli_write_safe(FILE *f, const char *s, size_t n);
/* The same for one line of a message (an error quoting arguments, file
 * names, errors of peers): newline and tab are escaped too. */
void cli_write_line(FILE *f, const char *s);
void cli_fprint(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_vfprint(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Set the --json document (steals the reference). */
void cli_set_result(cli *c, json_t *doc);

/* format.c: sizes and times for people. "512 B", "1.5 MiB" (powers of
 * 1024); an ISO 8601 UTC time "2026-12-05T02:40:00Z", "-" for 0. */
void cli_format_bytes(char *out, size_t len, double bytes);
void cli_format_time(char out[32], int64_t t);

/* Argument helpers for verbs: option parsing over c->argc/argv. */
typedef struct {
	const char *name;   /* "--tail" */
	bool takes_value;
	const char **value; /* where a value (or "1" for flags) is stored */
} cli_opt;
/* A repeatable option taking a value ("--upstream A --upstream B"): every
 * value is appended to a NULL-terminated array of borrowed strings,
 * malloc'd; the caller frees the array (not the strings) whatever the
 * parser returns. */
typedef struct {
	const char *name;
	const char ***values;
} cli_list_opt;
/* Parse options; positional arguments are collected into pos (up to
 * maxpos). Returns 0, or an exit code after printing the usage error. */
int cli_parse(cli *c, const cli_opt *opts, size_t nopts, const char **pos,
              size_t minpos, size_t maxpos, size_t *npos);
/* The start of most verbs: cli_parse, then the context (cli_ctx); 0, or
 * the exit code after the usage or library error was reported. */
int cli_begin(cli *c, tl_ctx **ctx, const cli_opt *opts, size_t nopts, const char **pos,
              size_t minpos, size_t maxpos, size_t *npos);
/* The same with repeatable options too. */
int cli_parse_lists(cli *c, const cli_opt *opts, size_t nopts, const cli_list_opt *lists,
                    size_t nlists, const char **pos, size_t minpos, size_t maxpos,
                    size_t *npos);
/* The usage error for an unknown option, suggesting the nearest one the
 * verb's synopsis names. */
int cli_unknown_option(cli *c, const char *word);

/* numbers.c: the value `text` of option `name` (NULL: not given, *out
 * untouched) through the library's strict parsers; 0, or the exit code
 * after a usage error naming the option and what it takes. min >= 0. */
int cli_opt_uint(cli *c, uint64_t *out, const char *name, const char *text, uint64_t min,
                 uint64_t max);
int cli_opt_int(cli *c, int *out, const char *name, const char *text, int min, int max);
int cli_opt_duration_ms(cli *c, uint64_t *out, const char *name, const char *text,
                        uint64_t bare_unit_ms, uint64_t min_ms, uint64_t max_ms);
int cli_opt_size(cli *c, uint64_t *out, const char *name, const char *text, uint64_t min,
                 uint64_t max);

/* Events: render steps/progress/logs on stderr (cli_events.c). */
int cli_on_event(const tl_event *ev, void *payload);

/* remote.c: --host mode, which runs the command line on a server. */
bool cli_remote_requested(int argc, char **argv);
int cli_remote_run(int argc, char **argv);
/* cmd_env.c: `env set` over --host moves its values into the remote
 * command's stdin (`text`), off the command line. */
int cli_env_remote_stdin(cli *c, const char **rargv, int *n, tl_buf *text);

/* Clear a progress bar from the terminal line before printing on
 * stderr (events.c). */
void cli_progress_clear(cli *c);

/* gen.c: documents generated from the command table. */
void cli_gen_man(FILE *out);
void cli_gen_bash(FILE *out);
json_t *cli_gen_table(const cli_group *only);

/* help.c */
void cli_help_main(FILE *out);
void cli_help_group(FILE *out, const cli_group *g);
void cli_help_verb(FILE *out, const cli_group *g, const cli_verb *v);
const char *cli_suggest(const char *word, const char *const *candidates, size_t n);

#endif
