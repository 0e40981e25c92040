/* Variable interpolation in compose values, as docker compose does it. */
#include "compose_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 8 /* defaults nest ${A:-${B:-...}}; enough for anyone */
/* One value may not grow past this through variables ("$A$A$A..." with a
 * long A); see docs/security.md, "Limits on untrusted input". */
#define MAX_VALUE (1u << 20)

static int is_name_start(char c)
{
	return c == '_' || isalpha((unsigned char)c);
}

static int is_name_char(char c)
{
	return c == '_' || isalnum((unsigned char)c);
}

/* Position of the '}' closing a ${ that starts before `s`, honouring nested
 * ${...}, looking no further than `end`; NULL when unbalanced. Linear:
 * no copy of the rest of the value per "${". */
static const char *closing_brace(const char *s, const char *end)
{
	int depth = 1;
	for (; s < end && *s; s++) {
		if (s[0] == '$' && s + 1 < end && s[1] == '$') {
			s++;
		} else if (s[0] == '$' && s + 1 < end && s[1] == '{') {
			depth++;
			s++;
		} else if (*s == '}' && --depth == 0) {
			return s;
		}
	}
	return NULL;
}

static int interp(tl_buf *out, const char *in, size_t len, cp_lookup lookup, void *p,
                  tl_buf *missing, int depth);

static int too_long(void)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
	                     "interpolation makes a value longer than %u bytes (the limit)",
	                     MAX_VALUE);
}

static int braced(tl_buf *out, const char *body, size_t blen, cp_lookup lookup, void *p,
                  tl_buf *missing, int depth)
{
	size_t n = 0;
	if (blen == 0 || !is_name_start(body[0]))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "invalid interpolation \"${%.*s}\": a variable name starts "
		                     "with a letter or _", (int)(blen > 60 ? 60 : blen), body);
	while (n < blen && is_name_char(body[n]))
		n++;
	char *name = tl__strndup(body, n);
	if (!name)
		return TL_ENOMEM;
	const char *val = lookup(name, p);
	int rc = TL_OK;
	const char *op = body + n;
	size_t rest = blen - n;
	if (rest == 0) {
		if (val)
			rc = tl__buf_puts(out, val);
		else if (missing && missing->size == 0)
			rc = tl__buf_puts(missing, name);
	} else {
		int colon = op[0] == ':';
		char kind = op[colon];
		const char *arg = op + colon + 1;
		size_t alen = rest - (size_t)colon - 1;
		if (rest < (size_t)colon + 1 || (kind != '-' && kind != '?')) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                   "invalid interpolation \"${%.*s}\": after the name comes "
			                   "}, :-, -, :? or ?", (int)(blen > 60 ? 60 : blen), body);
		} else {
			int unset = !val || (colon && !*val);
			if (!unset) {
				rc = tl__buf_puts(out, val);
			} else if (kind == '-') {
				rc = interp(out, arg, alen, lookup, p, missing, depth + 1);
			} else {
				tl_buf msg = TL_BUF_INIT;
				rc = interp(&msg, arg, alen, lookup, p, NULL, depth + 1);
				if (!rc)
					rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
					                   "required variable %s is %s: %s", name,
					                   val ? "empty" : "missing",
					                   msg.size ? msg.ptr : "set it in the env file");
				tl_buf_dispose(&msg);
			}
		}
	}
	free(name);
	return rc;
}

static int interp(tl_buf *out, const char *in, size_t len, cp_lookup lookup, void *p,
                  tl_buf *missing, int depth)
{
	if (depth > MAX_DEPTH)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "interpolation nests deeper than %d levels", MAX_DEPTH);
	const char *end = in + len;
	int rc = TL_OK;
	if (out->ptr == NULL && (rc = tl__buf_grow(out, 1)))
		return rc;
	while (in < end && !rc) {
		if (out->size > MAX_VALUE)
			return too_long();
		const char *d = memchr(in, '$', (size_t)(end - in));
		if (!d)
			return tl__buf_put(out, in, (size_t)(end - in));
		if ((rc = tl__buf_put(out, in, (size_t)(d - in))))
			return rc;
		if (d + 1 >= end) { /* a lone $ at the end stays */
			return tl__buf_putc(out, '$');
		} else if (d[1] == '$') {
			rc = tl__buf_putc(out, '$');
			in = d + 2;
		} else if (d[1] == '{') {
			/* find the matching brace within [d+2, end) */
			const char *cb = closing_brace(d + 2, end);
			if (!cb)
				return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                     "invalid interpolation: \"${\" without a closing \"}\"");
			size_t blen = (size_t)(cb - (d + 2));
			rc = braced(out, d + 2, blen, lookup, p, missing, depth);
			in = d + 2 + blen + 1;
		} else if (is_name_start(d[1])) {
			const char *s = d + 1;
			while (s < end && is_name_char(*s))
				s++;
			char *name = tl__strndup(d + 1, (size_t)(s - d - 1));
			if (!name)
				return TL_ENOMEM;
			const char *val = lookup(name, p);
			if (val)
				rc = tl__buf_puts(out, val);
			else if (missing && missing->size == 0)
				rc = tl__buf_puts(missing, name);
			free(name);
			in = s;
		} else {
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                     "invalid interpolation: \"$%c\" (write $$ for a literal $)",
			                     d[1]);
		}
	}
	return rc;
}

int cp_interpolate(char **out, const char *in, cp_lookup lookup, void *payload,
                   tl_buf *missing)
{
	tl_buf b = TL_BUF_INIT;
	int rc = interp(&b, in, strlen(in), lookup, payload, missing, 0);
	if (!rc && b.size > MAX_VALUE)
		rc = too_long();
	if (rc) {
		tl_buf_dispose(&b);
		return rc;
	}
	*out = tl__buf_detach(&b);
	return *out ? TL_OK : TL_ENOMEM;
}
