/* towlion env: an app's own settings and secrets (towlion/appenv.h).
 *
 * Values are secrets: they are never printed (not in --json, --dry-run or
 * an error) unless `list --show` asks for them. A value given on our
 * command line is overwritten in our argv as soon as it is copied, so
 * `ps` and the app lock's holder record (which quotes /proc/self/cmdline)
 * see stars; --from-stdin keeps it off every command line, ours and, with
 * --host, the server's. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STDIN_MAX_BYTES (4u << 20)

/* The pairs to set: keys and values owned here (values wiped at the end). */
typedef struct {
	char **keys, **values;
	size_t n, cap;
} pairs;

static void pairs_dispose(pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->keys[i]);
		if (p->values[i]) {
			explicit_bzero(p->values[i], strlen(p->values[i]));
			free(p->values[i]);
		}
	}
	free(p->keys);
	free(p->values);
}

static int pairs_add(pairs *p, const char *key, size_t klen, const char *value)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **k = realloc(p->keys, cap * sizeof(*k));
		if (k)
			p->keys = k;
		char **v = k ? realloc(p->values, cap * sizeof(*v)) : NULL;
		if (!v)
			return -1;
		p->values = v;
		p->cap = cap;
	}
	p->keys[p->n] = strndup(key, klen);
	p->values[p->n] = strdup(value);
	p->n++;
	return p->keys[p->n - 1] && p->values[p->n - 1] ? 0 : -1;
}

/* Every pair of a parsed .env text (the platform's own env-file reader,
 * the one compose's env_file goes through). */
static int pairs_from_envfile(cli *c, pairs *p, const tl_envfile *env)
{
	for (size_t i = 0; i < tl_envfile_warning_count(env); i++)
		cli_fprint(stderr, "towlion: warning: %s\n", tl_envfile_warning(env, i));
	for (size_t i = 0; i < tl_envfile_count(env); i++) {
		const char *k = NULL, *v = NULL;
		tl_envfile_at(env, i, &k, &v);
		if (k && pairs_add(p, k, strlen(k), v ? v : ""))
			return cli_error(c, EXIT_FAILED, "out of memory");
	}
	return 0;
}

static int read_stdin(cli *c, pairs *p)
{
	tl_buf in = TL_BUF_INIT;
	char chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cli_error(c, EXIT_FAILED, "cannot read stdin: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (in.size + (size_t)n > STDIN_MAX_BYTES) {
			rc = cli_error(c, EXIT_USAGE, "stdin holds more than %u bytes of settings",
			               STDIN_MAX_BYTES);
			break;
		}
		char *grown = realloc(in.ptr, in.size + (size_t)n + 1);
		if (!grown) {
			rc = cli_error(c, EXIT_FAILED, "out of memory");
			break;
		}
		in.ptr = grown;
		memcpy(in.ptr + in.size, chunk, (size_t)n);
		in.size += (size_t)n;
		in.ptr[in.size] = '\0';
	}
	explicit_bzero(chunk, sizeof(chunk));
	tl_envfile *env = NULL;
	if (rc == 0 && tl_envfile_parse(&env, in.ptr ? in.ptr : "", in.size, "stdin") != TL_OK)
		rc = cli_fail(c, tl_error_last()->code);
	if (rc == 0)
		rc = pairs_from_envfile(c, p, env);
	tl_envfile_free(env);
	if (in.ptr)
		explicit_bzero(in.ptr, in.size);
	free(in.ptr);
	return rc;
}

/* KEY=VALUE arguments; each value is starred out in our argv once copied. */
static int pairs_from_args(cli *c, pairs *p, char **args, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		if (!eq)
			/* Not shown: it may be a value whose KEY= was forgotten. */
			return cli_usage(c, "argument %zu after the app is not KEY=VALUE (it is not "
			                    "shown: it may be a secret)", i + 1);
		if (pairs_add(p, args[i], (size_t)(eq - args[i]), eq + 1))
			return cli_error(c, EXIT_FAILED, "out of memory");
		memset(eq + 1, '*', strlen(eq + 1));
	}
	return 0;
}

/* The pairs of `env set`, in the order where a later one wins: the
 * file, then stdin, then the arguments. */
static int collect_pairs(cli *c, pairs *p, const char *file, bool from_stdin, char **args,
                         size_t nargs)
{
	int rc = 0;
	if (file) {
		tl_envfile *env = NULL;
		if (tl_envfile_open(&env, file, 0) != TL_OK)
			rc = cli_fail(c, tl_error_last()->code);
		else
			rc = pairs_from_envfile(c, p, env);
		tl_envfile_free(env);
	}
	if (!rc && from_stdin)
		rc = read_stdin(c, p);
	if (!rc)
		rc = pairs_from_args(c, p, args, nargs);
	if (!rc && p->n == 0)
		rc = cli_usage(c, "nothing to set: give KEY=VALUE, --from-file F or --from-stdin");
	return rc;
}

/* "A, B, C" (the keys, never values); the caller frees it. */
static char *keys_line(char *const *keys, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(keys[i]) + 2;
	char *out = calloc(len, 1);
	for (size_t i = 0; out && i < n; i++) {
		if (i)
			strcat(out, ", ");
		strcat(out, keys[i]);
	}
	return out;
}

/* The --json document of set and unset: keys, never values. */
static json_t *change_json(const char *app, const char *what, char *const *keys, size_t n,
                           bool dry, bool prod)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(keys[i]));
	json_t *doc = json_pack("{s:s, s:o, s:b}", "app", app, what, arr, "dry_run", dry);
	if (!strcmp(what, "set"))
		json_object_set_new(doc, "production_only", json_boolean(prod));
	json_object_set_new(doc, "restarted", json_null());
	return doc;
}

/* --restart: the active release again with the settings of now; its id
 * goes into `doc`. */
static int restart(cli *c, const char *app, json_t *doc)
{
	if (c->dry_run) {
		cli_print(c, "would restart the active release of %s with them\n", app);
		return 0;
	}
	tl_rollback_options o = TL_ROLLBACK_OPTIONS_INIT;
	o.requested_by = "cli";
	tl_release *r = NULL;
	int rc = tl_restart(&r, c->ctx, app, &o);
	if (rc) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", tl_error_last()->message);
		return cli_error(c, cli_exit_code(rc),
		                 "the settings of %s are saved, but the restart failed (they take "
		                 "effect on the next deploy; or run the restart again): %s",
		                 app, msg);
	}
	cli_print(c, "%s: release %s serves with them\n", app, tl_release_id(r));
	json_object_set_new(doc, "restarted", json_string(tl_release_id(r)));
	tl_release_free(r);
	return 0;
}

/* What set and unset say after the change, and --restart. */
static int changed(cli *c, const char *app, const char *verb, char *const *keys, size_t n,
                   bool prod, bool restart_now)
{
	char *names = keys_line(keys, n);
	cli_print(c, "%s%s %s %s %s%s%s\n", c->dry_run ? "would " : "", verb,
	          names ? names : "", !strcmp(verb, "set") ? "on" : "of", app,
	          prod ? " (production-only: previews do not get them)" : "",
	          restart_now || c->dry_run ? ""
	                                    : "; this takes effect on the next deploy (or now "
	                                      "with --restart)");
	free(names);
	json_t *doc = change_json(app, verb, keys, n, c->dry_run, prod);
	int rc = restart_now ? restart(c, app, doc) : 0;
	if (rc == 0)
		cli_set_result(c, doc);
	else
		json_decref(doc);
	return rc;
}

static int run_set(cli *c)
{
	const char *file = NULL, *from_stdin = NULL, *prod = NULL, *restart_now = NULL;
	cli_opt opts[] = {{"--from-file", true, &file},
	                  {"--from-stdin", false, &from_stdin},
	                  {"--production-only", false, &prod},
	                  {"--restart", false, &restart_now}};
	size_t max = (size_t)c->argc + 1, npos = 0;
	const char **pos = calloc(max, sizeof(*pos));
	if (!pos)
		return cli_error(c, EXIT_FAILED, "out of memory");
	int rc = cli_parse(c, opts, 4, pos, 1, max, &npos);
	pairs p = {0};
	tl_ctx *ctx = rc ? NULL : cli_ctx(c);
	if (!rc && !ctx)
		rc = cli_fail(c, tl_error_last()->code);
	if (!rc)
		rc = collect_pairs(c, &p, file, from_stdin != NULL, (char **)pos + 1, npos - 1);
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.flags = (prod ? TL_APPENV_PRODUCTION_ONLY : 0) | (c->dry_run ? TL_APPENV_DRY_RUN : 0);
	if (!rc && tl_appenv_set(ctx, pos[0], (const char *const *)p.keys,
	                         (const char *const *)p.values, p.n, &o) != TL_OK)
		rc = cli_fail(c, tl_error_last()->code);
	if (!rc)
		rc = changed(c, pos[0], "set", p.keys, p.n, prod != NULL, restart_now != NULL);
	pairs_dispose(&p);
	free(pos);
	return rc;
}

static int run_unset(cli *c)
{
	const char *restart_now = NULL;
	cli_opt opts[] = {{"--restart", false, &restart_now}};
	size_t max = (size_t)c->argc + 1, npos = 0;
	const char **pos = calloc(max, sizeof(*pos));
	if (!pos)
		return cli_error(c, EXIT_FAILED, "out of memory");
	int rc = cli_parse(c, opts, 1, pos, 2, max, &npos);
	tl_ctx *ctx = rc ? NULL : cli_ctx(c);
	if (!rc && !ctx)
		rc = cli_fail(c, tl_error_last()->code);
	tl_appenv_options o = TL_APPENV_OPTIONS_INIT;
	o.flags = c->dry_run ? TL_APPENV_DRY_RUN : 0;
	if (!rc && tl_appenv_unset(ctx, pos[0], pos + 1, npos - 1, &o) != TL_OK)
		rc = cli_fail(c, tl_error_last()->code);
	if (!rc)
		rc = changed(c, pos[0], "unset", (char *const *)pos + 1, npos - 1, false,
		             restart_now != NULL);
	free(pos);
	return rc;
}

/* One KEY=VALUE line in .env syntax (quoted as needed), for --show. */
static void print_pair(cli *c, const char *key, const char *value)
{
	tl_envfile *one = NULL;
	tl_buf line = TL_BUF_INIT;
	if (tl_envfile_parse(&one, "", 0, NULL) == TL_OK && tl_envfile_set(one, key, value) == TL_OK &&
	    tl_envfile_render(&line, one) == TL_OK && line.ptr)
		cli_print(c, "%s", line.ptr);
	if (line.ptr)
		explicit_bzero(line.ptr, line.size);
	tl_buf_dispose(&line);
	tl_envfile_free(one);
}

static int run_list(cli *c)
{
	const char *app = NULL, *show = NULL;
	cli_opt opts[] = {{"--show", false, &show}};
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 1, &app, 1, 1, NULL);
	if (rc)
		return rc;
	tl_appenv *env = NULL;
	if ((rc = tl_appenv_load(&env, ctx, app)))
		return cli_fail(c, rc);
	size_t n = tl_appenv_count(env);
	json_t *arr = json_array();
	if (n == 0)
		cli_print(c, "%s has no settings; add some with `towlion env set %s KEY=VALUE`\n", app,
		          app);
	/* With --show: .env text that `env set --from-file` reads back, the
	 * production-only keys last under a comment. */
	for (int pass = 0; pass < 2; pass++) {
		bool header = false;
		for (size_t i = 0; i < n; i++) {
			const char *k = tl_appenv_key_at(env, i);
			int prod = tl_appenv_production_only_at(env, i);
			if (prod != pass)
				continue;
			if (show && prod && !header) {
				cli_print(c, "# production-only (previews do not get these):\n");
				header = true;
			}
			if (show)
				print_pair(c, k, tl_appenv_value_at(env, i));
			else
				cli_print(c, "%s%s\n", k, prod ? "  (production-only)" : "");
			json_t *o = json_pack("{s:s, s:b}", "key", k, "production_only", prod);
			if (show)
				json_object_set_new(o, "value", json_string(tl_appenv_value_at(env, i)));
			json_array_append_new(arr, o);
		}
	}
	cli_set_result(c, json_pack("{s:s, s:o}", "app", app, "settings", arr));
	tl_appenv_free(env);
	return 0;
}

static const cli_verb env_verbs[] = {
	{"set", "APP KEY=VALUE... [--from-file F] [--from-stdin] [--production-only] [--restart]",
	 "set settings of APP for its containers (platform keys refused; values never shown); "
	 "they take effect on the next deploy, or now with --restart",
	 "towlion env set shop --from-stdin --restart < shop-secrets.env", true, run_set},
	{"unset", "APP KEY... [--restart]", "remove settings of APP",
	 "towlion env unset shop EMAIL_API_KEY --restart", true, run_unset},
	{"list", "APP [--show]",
	 "the settings of APP: names and whether production-only; values only with --show",
	 "towlion env list shop --json", false, run_list},
};
const cli_group cli_group_env = {"env", "an app's own settings and secrets", env_verbs, 3};

/*
 * --host: `env set` sends its values through the remote command's stdin,
 * never its command line (the server's ps, its shell's history, the
 * app lock's holder record). The pairs of the arguments, of --from-file
 * (a file here, not on the server) and of our stdin are rendered as one
 * .env text into `text`, and rargv loses them and gains --from-stdin.
 * Any other command: rargv and text are left alone. 0, or an exit code
 * after the error was printed.
 */
int cli_env_remote_stdin(cli *c, const char **rargv, int *n, tl_buf *text)
{
	int at = 0, verb = -1;
	bool rest = false;
	for (int i = 1; i < *n && verb < 0; i++) {
		const char *a = rargv[i];
		if (!rest && !strcmp(a, "--")) {
			rest = true;
		} else if (!rest && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--config") || !strcmp(a, "--from-file"))
				i++;
		} else if (at++ == 0 && strcmp(a, "env")) {
			return 0;
		} else if (at == 2) {
			if (strcmp(a, "set"))
				return 0;
			verb = i;
		}
	}
	if (verb < 0)
		return 0;
	c->group = &cli_group_env; /* for usage errors */
	c->verb = &env_verbs[0];
	const char *file = NULL;
	bool from_stdin = false;
	char **args = calloc((size_t)*n, sizeof(*args));
	const char **keep = calloc((size_t)*n + 2, sizeof(*keep));
	size_t nargs = 0;
	int nkeep = 0, rc = 0;
	if (!args || !keep)
		rc = cli_error(c, EXIT_FAILED, "out of memory");
	rest = false;
	at = 0;
	for (int i = 0; !rc && i < *n; i++) {
		const char *a = rargv[i];
		if (i <= verb || (!rest && a[0] == '-' && a[1] && strcmp(a, "--from-file") &&
		                  strncmp(a, "--from-file=", 12) && strcmp(a, "--from-stdin"))) {
			rest = rest || !strcmp(a, "--");
			keep[nkeep++] = a;
			if (i > verb && !strcmp(a, "--config") && i + 1 < *n)
				keep[nkeep++] = rargv[++i];
		} else if (!rest && !strcmp(a, "--from-file")) {
			if (i + 1 >= *n)
				rc = cli_usage(c, "--from-file needs a value");
			else
				file = rargv[++i];
		} else if (!rest && !strncmp(a, "--from-file=", 12)) {
			file = a + 12;
		} else if (!rest && !strcmp(a, "--from-stdin")) {
			from_stdin = true;
		} else if (at++ == 0 || !strchr(a, '=')) {
			keep[nkeep++] = a; /* the app; a bad argument is the server's to refuse */
		} else {
			args[nargs++] = (char *)a;
		}
	}
	pairs p = {0};
	if (!rc)
		rc = collect_pairs(c, &p, file, from_stdin, args, nargs);
	tl_envfile *env = NULL;
	if (!rc && tl_envfile_parse(&env, "", 0, NULL) != TL_OK)
		rc = cli_fail(c, tl_error_last()->code);
	for (size_t i = 0; !rc && i < p.n; i++)
		if (tl_appenv_check_key(p.keys[i]) != TL_OK ||
		    tl_envfile_set(env, p.keys[i], p.values[i]) != TL_OK)
			rc = cli_fail(c, tl_error_last()->code);
	if (!rc && tl_envfile_render(text, env) != TL_OK)
		rc = cli_fail(c, tl_error_last()->code);
	if (!rc) {
		keep[nkeep++] = "--from-stdin";
		for (int i = 0; i < nkeep; i++)
			rargv[i] = keep[i];
		rargv[nkeep] = NULL;
		*n = nkeep;
	}
	tl_envfile_free(env);
	pairs_dispose(&p);
	free(args);
	free(keep);
	return rc;
}
