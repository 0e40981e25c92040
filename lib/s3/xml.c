/* A tolerant extractor for the small, flat XML documents S3 answers with
 * (errors, listings, upload ids). It finds elements by name and decodes
 * the five predefined entities and numeric character references; it is
 * not a general XML parser and needs none: S3 never nests an element
 * inside another of the same name in these documents. */
#include "s3_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *find_bytes(const char *p, const char *end, const char *s, size_t n)
{
	while (p && p + n <= end) {
		const char *hit = memchr(p, s[0], (size_t)(end - p));
		if (!hit || hit + n > end)
			return NULL;
		if (memcmp(hit, s, n) == 0)
			return hit;
		p = hit + 1;
	}
	return NULL;
}

bool tl__s3_xml_find(const char *p, const char *end, const char *name,
                     const char **inner, size_t *inner_len, const char **after)
{
	size_t n = strlen(name);
	while (p && p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (!lt || lt + 1 + n >= end)
			return false;
		const char *q = lt + 1 + n;
		if (memcmp(lt + 1, name, n) != 0 || !(*q == '>' || *q == '/' || *q == ' ' ||
		                                      *q == '\t' || *q == '\r' || *q == '\n')) {
			p = lt + 1;
			continue;
		}
		const char *gt = memchr(q, '>', (size_t)(end - q));
		if (!gt)
			return false;
		if (gt[-1] == '/') { /* <Name/> */
			*inner = gt + 1;
			*inner_len = 0;
			*after = gt + 1;
			return true;
		}
		const char *open_end = gt + 1;
		/* The closing tag: "</Name>" (possibly with spaces before '>'). */
		const char *c = open_end;
		for (;;) {
			c = find_bytes(c, end, "</", 2);
			if (!c)
				return false;
			const char *t = c + 2;
			if (t + n <= end && memcmp(t, name, n) == 0) {
				const char *u = t + n;
				while (u < end && (*u == ' ' || *u == '\t' || *u == '\r' || *u == '\n'))
					u++;
				if (u < end && *u == '>') {
					*inner = open_end;
					*inner_len = (size_t)(c - open_end);
					*after = u + 1;
					return true;
				}
			}
			c += 2;
		}
	}
	return false;
}

static int put_utf8(tl_buf *out, unsigned long cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return tl__buf_put(out, b, n);
}

int tl__s3_xml_text(tl_buf *out, const char *s, size_t len)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	int rc = tl__buf_put(out, "", 0);
	const char *end = s + len;
	/* XML has no NUL character: one here would cut a key or a name short
	 * in C (an object "a\0b" listed as "a", and then deleted as "a"). */
	if (len && memchr(s, '\0', len))
		return tl__error_set(TL_EIO, TL_ERRCLASS_S3,
		                     "S3 answered text holding a NUL byte (that is not XML)");
	/* CDATA sections are taken literally. */
	while (!rc && s < end) {
		if (end - s >= 9 && memcmp(s, "<![CDATA[", 9) == 0) {
			const char *close = find_bytes(s + 9, end, "]]>", 3);
			const char *stop = close ? close : end;
			rc = tl__buf_put(out, s + 9, (size_t)(stop - s - 9));
			s = close ? close + 3 : end;
			continue;
		}
		if (*s != '&') {
			rc = tl__buf_putc(out, *s++);
			continue;
		}
		const char *semi = memchr(s, ';', (size_t)(end - s));
		bool done = false;
		if (semi && semi - s > 2 && s[1] == '#') {
			/* "&#65;" or "&#x41;", XML's grammar: strtoul also took "&#+65;",
			 * "&# 65;" and "&#X41;" */
			const char *q = s + 2;
			uint64_t cp = 0;
			bool ok = *q == 'x' ? (q++, tl__parse_hex_digits(&cp, &q, 8))
			                    : tl__parse_digits(&cp, &q);
			if (ok && q == semi && cp > 0 && cp <= 0x10FFFF) {
				rc = put_utf8(out, (unsigned long)cp);
				done = true;
			}
		}
		for (size_t i = 0; !done && semi && i < TL__ARRAY_SIZE(ents); i++) {
			size_t el = strlen(ents[i].name);
			if ((size_t)(end - s - 1) >= el && memcmp(s + 1, ents[i].name, el) == 0) {
				rc = tl__buf_putc(out, ents[i].c);
				done = true;
			}
		}
		if (done)
			s = semi + 1;
		else
			rc = tl__buf_putc(out, *s++); /* a stray '&': keep it */
	}
	return rc;
}

int tl__s3_xml_get(tl_buf *out, const char *p, const char *end, const char *name)
{
	const char *inner, *after;
	size_t len;
	tl__buf_clear(out);
	if (!tl__s3_xml_find(p, end, name, &inner, &len, &after)) {
		tl__buf_put(out, "", 0);
		return TL_ENOTFOUND;
	}
	return tl__s3_xml_text(out, inner, len);
}

int tl__s3_xml_escape(tl_buf *out, const char *s)
{
	int rc = TL_OK;
	for (; !rc && *s; s++) {
		switch (*s) {
		case '&': rc = tl__buf_puts(out, "&amp;"); break;
		case '<': rc = tl__buf_puts(out, "&lt;"); break;
		case '>': rc = tl__buf_puts(out, "&gt;"); break;
		case '"': rc = tl__buf_puts(out, "&quot;"); break;
		case '\'': rc = tl__buf_puts(out, "&apos;"); break;
		default: rc = tl__buf_putc(out, *s);
		}
	}
	return rc;
}
