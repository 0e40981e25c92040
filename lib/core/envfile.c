/*
 * The env-file parser and editor (KEY=VALUE). The file is kept as a list
 * of items in order: entries, and "raw" items (comments, blank lines) that
 * are written back exactly. Unchanged entries are written back exactly
 * too, so editing one key never reformats the rest of a user's file.
 */
#include "core.h"
#include "interp.h"
#include "towlion/envfile.h"

#define TL__ENVFILE_MAX_BYTES (4u << 20)

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *key;      /* NULL for a raw item */
	char *value;
	char *raw;      /* text as read (without the final newline), or NULL
	                   once the entry was changed */
	unsigned line;  /* first line, 1-based; 0 for added entries */
	bool exported;  /* had an `export ` prefix */
	bool shadowed;  /* a later entry has the same key */
} env_item;

struct tl_envfile {
	env_item *items;
	size_t n, cap;
	char *path;
	char **warnings;
	size_t nwarn;
	bool bom;       /* the file began with a UTF-8 byte-order mark */
};

/* Keys as tl_envfile_set() writes them: a shell can source such a file. */
static bool key_start(int c) { return isalpha(c) || c == '_'; }
static bool key_char(int c) { return isalnum(c) || c == '_'; }
/* Keys as Docker Compose reads them (spring.profiles.active, 2FA_SECRET,
 * a-b, list[0]); ASCII only, where Compose takes any letter. */
static bool read_key_char(int c) { return key_char(c) || c == '.' || c == '-' || c == '[' || c == ']'; }
static bool blank(int c) { return c == ' ' || c == '\t'; }

static bool valid_key(const char *k)
{
	if (!k || !key_start((unsigned char)*k))
		return false;
	for (k++; *k; k++)
		if (!key_char((unsigned char)*k))
			return false;
	return true;
}

static void item_dispose(env_item *it)
{
	free(it->key);
	tl__free_secret(it->value);
	tl__free_secret(it->raw);
}

void tl_envfile_free(tl_envfile *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < env->n; i++)
		item_dispose(&env->items[i]);
	for (size_t i = 0; i < env->nwarn; i++)
		free(env->warnings[i]);
	free(env->warnings);
	free(env->items);
	free(env->path);
	free(env);
}

static env_item *push_item(tl_envfile *env)
{
	if (env->n == env->cap) {
		size_t cap = env->cap ? env->cap * 2 : 16;
		env_item *p = tl__realloc(env->items, cap * sizeof(*p));
		if (!p)
			return NULL;
		env->items = p;
		env->cap = cap;
	}
	env_item *it = &env->items[env->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

static int add_warning(tl_envfile *env, char *msg)
{
	if (!msg)
		return TL_ENOMEM;
	char **w = tl__realloc(env->warnings, (env->nwarn + 1) * sizeof(*w));
	if (!w) {
		free(msg);
		return TL_ENOMEM;
	}
	env->warnings = w;
	env->warnings[env->nwarn++] = msg;
	return TL_OK;
}

/* Parser state over the whole input. */
typedef struct {
	const char *start, *p, *end;
	unsigned line;
	const char *name;
	json_t *index; /* key -> position of its live entry: keeps a file of
	                  many keys linear to parse, not quadratic */
	tl_envfile *env;
	const tl_envfile_options *opts;
} parser;

static bool interpolating(const parser *ps)
{
	return ps->opts && (ps->opts->flags & TL_ENVFILE_INTERPOLATE);
}

/* A parse error at `at`, on line `line`: FILE:LINE:COLUMN and what was
 * expected, never a byte of the file itself. An env file holds secrets,
 * and --env-file may be pointed at any file (a line of /etc/shadow starts
 * with a user name): quoting "the bad key" would print them. */
static int perr(const parser *ps, unsigned line, const char *at, const char *what)
{
	const char *bol = at;
	while (bol > ps->start && bol[-1] != '\n')
		bol--;
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "%s:%u:%zu: %s", ps->name, line,
	                     (size_t)(at - bol) + 1, what);
}

/* Append the bytes of a quoted value, turning CRLF into LF. */
static int put_char(tl_buf *v, parser *ps, char c)
{
	if (c == '\n')
		ps->line++;
	if (c == '\r' && ps->p < ps->end && *ps->p == '\n')
		return TL_OK; /* the \n that follows is added next */
	return tl__buf_putc(v, c);
}

/* 'literal': no escapes and no variables, but like Compose a quote after
 * a backslash does not end the value ('it\'s' is it\'s; 'x\' is open). */
static int parse_single(parser *ps, tl_buf *v, unsigned start_line)
{
	const char *open = ps->p - 1;
	while (ps->p < ps->end && !(*ps->p == '\'' && ps->p[-1] != '\\')) {
		char c = *ps->p++;
		int rc = put_char(v, ps, c);
		if (rc)
			return rc;
	}
	if (ps->p >= ps->end)
		return perr(ps, start_line, open, "unterminated single-quoted value");
	ps->p++;
	return TL_OK;
}

static bool octal(char c) { return c >= '0' && c <= '7'; }

/* After "\0": three octal digits of a byte value (Compose's \0NNN) */
static bool octal3(const char *o, const char *end)
{
	return end - o >= 3 && o[0] <= '3' && octal(o[0]) && octal(o[1]) && octal(o[2]);
}

static int put_octal(parser *ps, tl_buf *v)
{
	const char *o = ps->p;
	unsigned cp = (unsigned)(o[0] - '0') << 6 | (unsigned)(o[1] - '0') << 3 |
	              (unsigned)(o[2] - '0');
	if (cp == 0)
		return perr(ps, ps->line, o - 2, "\\0000 is a NUL byte, which a value cannot hold");
	ps->p += 3;
	/* Compose writes the code point, in UTF-8 */
	if (cp < 0x80)
		return tl__buf_putc(v, (char)cp);
	return tl__buf_printf(v, "%c%c", (char)(0xc0 | cp >> 6), (char)(0x80 | (cp & 0x3f)));
}

/* "escaped": Compose's escapes \a \b \f \n \r \t \v \" \\ \$ and \0NNN
 * (octal); any other backslash stays as written. When the value is to be
 * interpolated, \$ becomes $$ so that it stays a literal $. */
static int parse_double(parser *ps, tl_buf *v, unsigned start_line)
{
	const char *open = ps->p - 1;
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p++;
		int rc;
		if (c == '\\' && ps->p < ps->end) {
			char e = *ps->p++;
			if (e == '0' && octal3(ps->p, ps->end)) {
				rc = put_octal(ps, v);
			} else switch (e) {
			case 'a': rc = tl__buf_putc(v, '\a'); break;
			case 'b': rc = tl__buf_putc(v, '\b'); break;
			case 'f': rc = tl__buf_putc(v, '\f'); break;
			case 'n': rc = tl__buf_putc(v, '\n'); break;
			case 'r': rc = tl__buf_putc(v, '\r'); break;
			case 't': rc = tl__buf_putc(v, '\t'); break;
			case 'v': rc = tl__buf_putc(v, '\v'); break;
			case '"': case '\\': rc = tl__buf_putc(v, e); break;
			case '$': rc = tl__buf_puts(v, interpolating(ps) ? "$$" : "$"); break;
			default:
				/* Unknown escapes stay as written, like most dotenv readers. */
				rc = tl__buf_putc(v, '\\');
				if (rc == TL_OK)
					rc = put_char(v, ps, e);
			}
		} else {
			rc = put_char(v, ps, c);
		}
		if (rc)
			return rc;
	}
	if (ps->p >= ps->end)
		return perr(ps, start_line, open, "unterminated double-quoted value");
	ps->p++;
	return TL_OK;
}

/* After a closing quote only blanks and a comment may follow. */
static int parse_after_quote(parser *ps)
{
	while (ps->p < ps->end && blank(*ps->p))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	if (ps->p >= ps->end || *ps->p == '\n')
		return TL_OK;
	if (*ps->p == '#') {
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
		return TL_OK;
	}
	return perr(ps, ps->line, ps->p, "unexpected text after the closing quote");
}

static int parse_unquoted(parser *ps, tl_buf *v)
{
	const char *s = ps->p;
	const char *e = s;
	/* a comment starts at " #", as in Compose: KEY=#x is "#x" */
	while (e < ps->end && *e != '\n') {
		if (*e == '#' && e > s && e[-1] == ' ')
			break;
		e++;
	}
	const char *stop = e;
	while (stop < ps->end && *stop != '\n')
		stop++;
	ps->p = stop;
	while (e > s && (blank(e[-1]) || e[-1] == '\r'))
		e--;
	return tl__buf_put(v, s, (size_t)(e - s));
}

/* The raw text of an item, byte for byte (CRs included): parsing it again
 * gives exactly what it gave the first time, and an untouched line of a
 * CRLF file keeps its line ending. */
static char *raw_text(const char *s, const char *e)
{
	return tl__strndup(s, (size_t)(e - s));
}

/* Variables for a value: the caller's first, then the keys of the file
 * read so far, as Compose's dotenv does. */
static const char *value_lookup(const char *name, void *payload)
{
	const parser *ps = payload;
	const char *v = ps->opts->lookup ? ps->opts->lookup(name, ps->opts->payload) : NULL;
	json_t *at = v ? NULL : json_object_get(ps->index, name);
	return at ? ps->env->items[json_integer_value(at)].value : v;
}

/* Replace `v` by its interpolation. Errors and warnings name the place,
 * never the text: it may be a secret. Not even an unset variable's name:
 * in "pa$sw0rd" it is part of a password. */
static int interpolate_value(parser *ps, tl_buf *v, const char *k, size_t klen,
                             unsigned line, const char *value_at)
{
	tl_buf out = TL_BUF_INIT, missing = TL_BUF_INIT;
	int rc = tl__interpolate(&out, v->ptr, v->size, value_lookup, ps, &missing,
	                         TL__INTERP_QUIET);
	if (rc == TL_EINVALID) {
		char why[256];
		snprintf(why, sizeof(why), "%s", tl_error_last()->message);
		rc = perr(ps, line, value_at, why);
	} else if (rc == TL_OK && missing.size) {
		rc = add_warning(ps->env, tl__sprintf("%s:%u: the value of %.*s names a variable that "
		                                      "is not set, which an empty string replaces "
		                                      "(write $$ for a literal $)", ps->name, line,
		                                      (int)klen, k));
	}
	tl_buf_dispose(&missing);
	if (rc) {
		tl__buf_dispose_secret(&out);
		return rc;
	}
	tl__buf_dispose_secret(v);
	*v = out;
	return TL_OK;
}

static env_item *find_live(const tl_envfile *env, const char *key)
{
	for (size_t i = env->n; i > 0; i--) {
		env_item *it = &env->items[i - 1];
		if (it->key && !it->shadowed && strcmp(it->key, key) == 0)
			return it;
	}
	return NULL;
}

static int parse_entry(tl_envfile *env, parser *ps, const char *line_start)
{
	unsigned start_line = ps->line;
	bool exported = false;
	if (ps->end - ps->p > 7 && memcmp(ps->p, "export", 6) == 0 && blank(ps->p[6])) {
		exported = true;
		ps->p += 6;
		while (ps->p < ps->end && blank(*ps->p))
			ps->p++;
	}
	const char *k = ps->p;
	if (ps->p >= ps->end || !read_key_char((unsigned char)*ps->p))
		return perr(ps, start_line, ps->p,
		            "expected KEY=VALUE (a key has letters, digits and _ . - [ ])");
	while (ps->p < ps->end && read_key_char((unsigned char)*ps->p))
		ps->p++;
	size_t klen = (size_t)(ps->p - k);
	while (ps->p < ps->end && blank(*ps->p))
		ps->p++;
	if (ps->p >= ps->end || *ps->p == '\n' ||
	    (*ps->p == '\r' && (ps->p + 1 >= ps->end || ps->p[1] == '\n')))
		return perr(ps, start_line, ps->p,
		            "a key without '=' (Compose would take its value from the "
		            "environment, but towlion never passes its own environment to "
		            "an app, on purpose: the server's variables are not the app's); "
		            "write KEY=VALUE");
	if (*ps->p != '=')
		return perr(ps, start_line, ps->p,
		            "expected '=' after the key (KEY=VALUE; a key has letters, digits "
		            "and _ . - [ ])");
	ps->p++;
	while (ps->p < ps->end && blank(*ps->p))
		ps->p++;

	tl_buf v = TL_BUF_INIT;
	const char *value_at = ps->p;
	bool literal = false;
	int rc;
	if (ps->p < ps->end && (*ps->p == '\'' || *ps->p == '"')) {
		char q = *ps->p++;
		literal = q == '\'';
		rc = literal ? parse_single(ps, &v, start_line) : parse_double(ps, &v, start_line);
		if (rc == TL_OK)
			rc = parse_after_quote(ps);
	} else {
		rc = parse_unquoted(ps, &v);
	}
	if (rc == TL_OK && !v.ptr)
		rc = tl__buf_grow(&v, 0);
	if (rc == TL_OK && interpolating(ps) && !literal)
		rc = interpolate_value(ps, &v, k, klen, start_line, value_at);
	if (rc) {
		tl__buf_dispose_secret(&v);
		return rc;
	}

	json_t *seen = json_object_getn(ps->index, k, klen);
	size_t prev_idx = seen ? (size_t)json_integer_value(seen) + 1 : 0;
	char *key = tl__strndup(k, klen);
	char *raw = raw_text(line_start, ps->p);
	env_item *it = (key && raw) ? push_item(env) : NULL;
	if (!it || json_object_set_new_nocheck(ps->index, key,
	                                       json_integer((json_int_t)(env->n - 1)))) {
		if (it)
			env->n--;
		free(key);
		tl__free_secret(raw);
		tl__buf_dispose_secret(&v);
		return TL_ENOMEM;
	}
	/* the live entry of this key so far (push_item may have moved it) */
	env_item *prev = prev_idx ? &env->items[prev_idx - 1] : NULL;
	it->key = key;
	it->value = tl__buf_detach(&v);
	it->raw = raw;
	it->line = start_line;
	it->exported = exported;
	if (prev && prev != it) {
		prev->shadowed = true;
		return add_warning(env, tl__sprintf("%s:%u: %s is set again (first at line "
		                                    "%u); the last value wins",
		                                    ps->name, start_line, key, prev->line));
	}
	return TL_OK;
}

int tl_envfile_options_init(tl_envfile_options *opts, unsigned int version)
{
	tl_envfile_options def = TL_ENVFILE_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_ENVFILE_OPTIONS_VERSION, "tl_envfile_options");
}

int tl_envfile_parse(tl_envfile **out, const char *data, size_t len, const char *name)
{
	return tl_envfile_parse_with(out, data, len, name, NULL);
}

int tl_envfile_parse_with(tl_envfile **out, const char *data, size_t len, const char *name,
                          const tl_envfile_options *opts)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(data || len == 0);
	if (opts)
		TL__CHECK_VERSION(opts, TL_ENVFILE_OPTIONS_VERSION, "tl_envfile_options");
	if (data && memchr(data, '\0', len))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s: contains a NUL byte; not a text file",
		                     name ? name : "(env)");
	tl_envfile *env = tl__calloc(1, sizeof(*env));
	if (!env)
		return TL_ENOMEM;
	parser ps = {data ? data : "", data ? data : "", (data ? data : "") + len, 1,
	             name ? name : "(env)",
	             json_object(), env, opts};
	int rc = ps.index ? TL_OK : TL_ENOMEM;
	/* Windows editors start a file with a byte-order mark; Compose skips
	 * it, and rendering puts it back */
	if (len >= 3 && !memcmp(ps.p, "\xef\xbb\xbf", 3)) {
		env->bom = true;
		ps.p += 3;
		ps.start = ps.p;
	}
	while (ps.p < ps.end && rc == TL_OK) {
		const char *line_start = ps.p;
		const char *q = ps.p;
		while (q < ps.end && blank(*q))
			q++;
		if (q >= ps.end || *q == '\n' || *q == '#' ||
		    (*q == '\r' && (q + 1 >= ps.end || q[1] == '\n'))) {
			while (q < ps.end && *q != '\n')
				q++;
			env_item *it = push_item(env);
			if (!it || !(it->raw = raw_text(line_start, q)))
				rc = TL_ENOMEM;
			else
				it->line = ps.line;
			ps.p = q;
		} else {
			ps.p = q;
			rc = parse_entry(env, &ps, line_start);
		}
		if (rc == TL_OK && ps.p < ps.end && *ps.p == '\n') {
			ps.p++;
			ps.line++;
		}
	}
	json_decref(ps.index);
	if (rc) {
		tl_envfile_free(env);
		return rc;
	}
	*out = env;
	return TL_OK;
}

int tl_envfile_open(tl_envfile **out, const char *path, unsigned int flags)
{
	tl_envfile_options o = TL_ENVFILE_OPTIONS_INIT;
	o.flags = flags;
	return tl_envfile_read(out, path, &o);
}

int tl_envfile_read(tl_envfile **out, const char *path, const tl_envfile_options *opts)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(path && *path);
	unsigned int flags = opts ? opts->flags : 0;
	tl_buf data = TL_BUF_INIT;
	/* env files can be a tenant's (a service's env_file, the .env of a
	 * checkout): bounded, so that a link to /dev/zero cannot exhaust memory */
	int rc = tl__file_read_max(&data, path, TL__ENVFILE_MAX_BYTES, "env file");
	if (rc == TL_ENOTFOUND && (flags & TL_ENVFILE_CREATE))
		rc = TL_OK;
	tl_envfile *env = NULL;
	if (rc == TL_OK)
		rc = tl_envfile_parse_with(&env, data.ptr, data.size, path, opts);
	tl__buf_dispose_secret(&data);
	if (rc)
		return rc;
	if (!(env->path = tl__strdup(path))) {
		tl_envfile_free(env);
		return TL_ENOMEM;
	}
	*out = env;
	return TL_OK;
}

const char *tl_envfile_get(const tl_envfile *env, const char *key)
{
	if (!env || !key)
		return NULL;
	env_item *it = find_live(env, key);
	return it ? it->value : NULL;
}

unsigned int tl_envfile_line(const tl_envfile *env, const char *key)
{
	if (!env || !key)
		return 0;
	env_item *it = find_live(env, key);
	return it ? it->line : 0;
}

size_t tl_envfile_count(const tl_envfile *env)
{
	size_t n = 0;
	for (size_t i = 0; env && i < env->n; i++)
		if (env->items[i].key && !env->items[i].shadowed)
			n++;
	return n;
}

int tl_envfile_at(const tl_envfile *env, size_t idx, const char **key,
                  const char **value)
{
	TL__CHECK_ARG(env);
	for (size_t i = 0; i < env->n; i++) {
		const env_item *it = &env->items[i];
		if (!it->key || it->shadowed)
			continue;
		if (idx-- == 0) {
			if (key)
				*key = it->key;
			if (value)
				*value = it->value;
			return TL_OK;
		}
	}
	return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT, "env entry index out of range");
}

int tl_envfile_set(tl_envfile *env, const char *key, const char *value)
{
	TL__CHECK_ARG(env);
	TL__CHECK_ARG(value);
	if (!valid_key(key))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid env key \"%s\": use letters, digits and '_', "
		                     "not starting with a digit",
		                     key ? key : "(null)");
	char *v = tl__strdup(value);
	if (!v)
		return TL_ENOMEM;
	env_item *it = find_live(env, key);
	if (!it) {
		char *k = tl__strdup(key);
		if (!k || !(it = push_item(env))) {
			free(k);
			tl__free_secret(v);
			return TL_ENOMEM;
		}
		it->key = k;
	}
	tl__free_secret(it->value);
	tl__free_secret(it->raw);
	it->raw = NULL;
	it->value = v;
	return TL_OK;
}

int tl_envfile_unset(tl_envfile *env, const char *key)
{
	TL__CHECK_ARG(env);
	TL__CHECK_ARG(key);
	size_t w = 0;
	bool found = false;
	for (size_t i = 0; i < env->n; i++) {
		if (env->items[i].key && strcmp(env->items[i].key, key) == 0) {
			found = true;
			item_dispose(&env->items[i]);
			continue;
		}
		env->items[w++] = env->items[i];
	}
	env->n = w;
	if (!found)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT, "%s is not set", key);
	return TL_OK;
}

/* Characters that never need quotes. */
static bool plain_char(unsigned char c)
{
	return isalnum(c) || strchr("_./:@%+,=~^-", c) != NULL;
}

static int render_value(tl_buf *out, const char *v)
{
	bool plain = true, has_single = false, has_ctl = false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (!plain_char(*p))
			plain = false;
		if (*p == '\'')
			has_single = true;
		if (*p == '\n' || *p == '\r' || *p == '\t')
			has_ctl = true;
	}
	if (plain)
		return tl__buf_puts(out, v);
	/* 'x\' would not end at its quote (Compose's rule): double quotes then */
	size_t n = strlen(v);
	if (!has_single && !has_ctl && !(n && v[n - 1] == '\\'))
		return tl__buf_printf(out, "'%s'", v);
	int rc = tl__buf_putc(out, '"');
	for (const char *p = v; *p && rc == TL_OK; p++) {
		switch (*p) {
		case '\n': rc = tl__buf_puts(out, "\\n"); break;
		case '\r': rc = tl__buf_puts(out, "\\r"); break;
		case '\t': rc = tl__buf_puts(out, "\\t"); break;
		case '"': rc = tl__buf_puts(out, "\\\""); break;
		case '\\': rc = tl__buf_puts(out, "\\\\"); break;
		case '$': rc = tl__buf_puts(out, "\\$"); break;
		default: rc = tl__buf_putc(out, *p);
		}
	}
	return rc ? rc : tl__buf_putc(out, '"');
}

int tl_envfile_render(tl_buf *out, const tl_envfile *env)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(env);
	tl_buf b = TL_BUF_INIT;
	int rc = env->bom ? tl__buf_puts(&b, "\xef\xbb\xbf") : tl__buf_grow(&b, 0);
	for (size_t i = 0; i < env->n && rc == TL_OK; i++) {
		const env_item *it = &env->items[i];
		if (it->raw) {
			rc = tl__buf_puts(&b, it->raw);
		} else {
			rc = tl__buf_printf(&b, "%s%s=", it->exported ? "export " : "", it->key);
			if (rc == TL_OK)
				rc = render_value(&b, it->value);
		}
		if (rc == TL_OK)
			rc = tl__buf_putc(&b, '\n');
	}
	if (rc) {
		tl__buf_dispose_secret(&b);
		return rc;
	}
	tl__buf_dispose_secret(out);
	*out = b;
	return TL_OK;
}

int tl_envfile_save(tl_envfile *env, const char *path, unsigned int mode)
{
	TL__CHECK_ARG(env);
	TL__CHECK_ARG(path || env->path);
	TL__CHECK_ARG(mode <= 07777);
	tl_buf text = TL_BUF_INIT;
	int rc = tl_envfile_render(&text, env);
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path ? path : env->path, text.ptr, text.size,
		                           (mode_t)mode);
	tl__buf_dispose_secret(&text);
	return rc;
}

size_t tl_envfile_warning_count(const tl_envfile *env)
{
	return env ? env->nwarn : 0;
}

const char *tl_envfile_warning(const tl_envfile *env, size_t i)
{
	return (env && i < env->nwarn) ? env->warnings[i] : NULL;
}
