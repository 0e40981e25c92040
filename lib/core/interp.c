/* Variable interpolation as Docker Compose does it (see interp.h). */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 8 /* defaults nest ${A:-${B:-...}}; enough for anyone */
/* One value may not grow past this through variables ("$A$A$A..." with a
 * long A); see docs/security.md, "Limits on untrusted input". */
#define MAX_VALUE (1u << 20)

/* Compose's names are ASCII whatever the locale: [_A-Za-z][_A-Za-z0-9]* */
static int is_name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

typedef struct {
	tl__interp_lookup lookup;
	void *payload;
	tl_buf *missing;
	unsigned flags;
} interp_ctx;

/* The '}' that closes a "${" whose body starts at `s`, as compose-go finds
 * it: every '{' and '}' counts, so a default may hold JSON; without a
 * balanced one, the last '}' of the line (Compose's pattern is greedy and
 * stops at a newline). NULL when the line has no '}'. Linear. */
static const char *closing_brace(const char *s, const char *end)
{
	const char *eol = memchr(s, '\n', (size_t)(end - s));
	const char *last = NULL;
	int depth = 1;
	if (eol)
		end = eol;
	for (; s < end; s++) {
		if (*s == '{') {
			depth++;
		} else if (*s == '}') {
			if (--depth == 0)
				return s;
			last = s;
		}
	}
	return last;
}

static int expand(tl_buf *out, const char *in, size_t len, const interp_ctx *c, int depth);

static int too_long(void)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
	                     "interpolation makes a value longer than %u bytes (the limit)",
	                     MAX_VALUE);
}

static int invalid(const interp_ctx *c, const char *body, size_t blen, const char *why)
{
	if (c->flags & TL__INTERP_QUIET)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "invalid interpolation: %s",
		                     why);
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "invalid interpolation \"${%.*s}\": %s",
	                     (int)(blen > 60 ? 60 : blen), body, why);
}

static int note_missing(const interp_ctx *c, const char *name)
{
	if (c->missing && c->missing->size == 0)
		return tl__buf_puts(c->missing, name);
	return TL_OK;
}

/* The body of ${...}: NAME, then nothing or one of :- - :+ + :? ? and an
 * argument that is itself interpolated. */
static int braced(tl_buf *out, const char *body, size_t blen, const interp_ctx *c, int depth)
{
	size_t n = 0;
	if (blen == 0 || !is_name_start(body[0]))
		return invalid(c, body, blen, "a variable name starts with a letter or _");
	while (n < blen && is_name_char(body[n]))
		n++;
	char *name = tl__strndup(body, n);
	if (!name)
		return TL_ENOMEM;
	const char *val = c->lookup(name, c->payload);
	const char *op = body + n;
	size_t rest = blen - n;
	int colon = rest > 0 && op[0] == ':';
	char kind = rest > (size_t)colon ? op[colon] : '\0';
	int rc = TL_OK;
	if (rest == 0) {
		rc = val ? tl__buf_puts(out, val) : note_missing(c, name);
		free(name);
		return rc;
	}
	if (kind != '-' && kind != '+' && kind != '?') {
		free(name);
		return invalid(c, body, blen, "after the name comes }, :-, -, :+, +, :? or ?");
	}
	/* Compose expands the argument whether it is used or not: an error or
	 * an unset variable in it counts either way */
	tl_buf arg = TL_BUF_INIT;
	const char *a = op + colon + 1;
	rc = expand(&arg, a, rest - (size_t)colon - 1, c, depth + 1);
	int set = val && (!colon || *val);
	if (rc) {
		/* the argument's own error stands */
	} else if (kind == '-') {
		rc = set ? tl__buf_puts(out, val) : tl__buf_put(out, arg.ptr, arg.size);
	} else if (kind == '+') {
		rc = set ? tl__buf_put(out, arg.ptr, arg.size) : tl__buf_puts(out, val ? val : "");
	} else if (set) {
		rc = tl__buf_puts(out, val);
	} else if (c->flags & TL__INTERP_QUIET) {
		/* the message is text of the file, which may be a secret's */
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "required variable %s is %s",
		                   name, val ? "empty" : "missing");
	} else {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "required variable %s is %s: %s",
		                   name, val ? "empty" : "missing",
		                   arg.size ? arg.ptr : "set it in the env file");
	}
	tl_buf_dispose(&arg);
	free(name);
	return rc;
}

static int expand(tl_buf *out, const char *in, size_t len, const interp_ctx *c, int depth)
{
	if (depth > MAX_DEPTH)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "interpolation nests deeper than %d levels", MAX_DEPTH);
	const char *end = in + len;
	int rc = out->ptr ? TL_OK : tl__buf_put(out, "", 0); /* a C string even when empty */
	while (in < end && !rc) {
		if (out->size > MAX_VALUE)
			return too_long();
		const char *d = memchr(in, '$', (size_t)(end - in));
		if (!d)
			return tl__buf_put(out, in, (size_t)(end - in));
		if ((rc = tl__buf_put(out, in, (size_t)(d - in))))
			return rc;
		if (d + 1 < end && d[1] == '$') {
			rc = tl__buf_putc(out, '$');
			in = d + 2;
		} else if (d + 1 < end && d[1] == '{') {
			const char *cb = closing_brace(d + 2, end);
			if (!cb)
				return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                     "invalid interpolation: \"${\" without a closing \"}\"");
			rc = braced(out, d + 2, (size_t)(cb - (d + 2)), c, depth);
			in = cb + 1;
		} else if (d + 1 < end && is_name_start(d[1])) {
			const char *s = d + 1;
			while (s < end && is_name_char(*s))
				s++;
			char *name = tl__strndup(d + 1, (size_t)(s - d - 1));
			if (!name)
				return TL_ENOMEM;
			const char *val = c->lookup(name, c->payload);
			rc = val ? tl__buf_puts(out, val) : note_missing(c, name);
			free(name);
			in = s;
		} else {
			/* "a $ b", "5$": no name follows, and Compose keeps the $ */
			rc = tl__buf_putc(out, '$');
			in = d + 1;
		}
	}
	return rc;
}

int tl__interpolate(tl_buf *out, const char *in, size_t len, tl__interp_lookup lookup,
                    void *payload, tl_buf *missing, unsigned flags)
{
	interp_ctx c = {lookup, payload, missing, flags};
	size_t before = out->size;
	int rc = expand(out, in, len, &c, 0);
	if (!rc && out->size - before > MAX_VALUE)
		rc = too_long();
	return rc;
}
