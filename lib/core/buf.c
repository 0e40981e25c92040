/* Memory helpers and tl_buf, the growable string handed to callers. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

void *tl__malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		tl__error_oom();
	return p;
}

void *tl__calloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		tl__error_oom();
	return p;
}

void *tl__realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		tl__error_oom();
	return q;
}

char *tl__strndup(const char *s, size_t n)
{
	char *d = tl__malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *tl__strdup(const char *s)
{
	return s ? tl__strndup(s, strlen(s)) : NULL;
}

char *tl__sprintf(const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		tl_buf_dispose(&b);
		return NULL;
	}
	return tl__buf_detach(&b);
}

bool tl__str_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool tl__str_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

void tl__free_secret(char *s)
{
	if (!s)
		return;
	/* volatile so the compiler cannot drop the wipe before free(). */
	volatile char *v = s;
	while (*v)
		*v++ = '\0';
	free(s);
}

void tl_buf_dispose(tl_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->size = b->asize = 0;
}

void tl__buf_dispose_secret(tl_buf *b)
{
	if (!b)
		return;
	if (b->ptr) {
		volatile char *v = b->ptr;
		for (size_t i = 0; i < b->asize; i++)
			v[i] = 0;
	}
	tl_buf_dispose(b);
}

int tl__buf_grow(tl_buf *b, size_t need)
{
	if (need + 1 <= b->asize)
		return TL_OK;
	size_t n = b->asize ? b->asize : 64;
	while (n < need + 1) {
		if (n > SIZE_MAX / 2)
			return tl__error_oom();
		n *= 2;
	}
	char *p = tl__realloc(b->ptr, n);
	if (!p)
		return TL_ENOMEM;
	b->ptr = p;
	b->asize = n;
	return TL_OK;
}

int tl__buf_put(tl_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->size - 1)
		return tl__error_oom();
	int rc = tl__buf_grow(b, b->size + len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = '\0';
	return TL_OK;
}

int tl__buf_puts(tl_buf *b, const char *s)
{
	return tl__buf_put(b, s, strlen(s));
}

int tl__buf_putc(tl_buf *b, char c)
{
	return tl__buf_put(b, &c, 1);
}

int tl__buf_vprintf(tl_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "bad format string");
	int rc = tl__buf_grow(b, b->size + (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->ptr + b->size, (size_t)n + 1, fmt, ap);
	b->size += (size_t)n;
	return TL_OK;
}

int tl__buf_printf(tl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int tl__buf_set(tl_buf *b, const void *data, size_t len)
{
	tl__buf_clear(b);
	return tl__buf_put(b, data, len);
}

void tl__buf_clear(tl_buf *b)
{
	b->size = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *tl__buf_detach(tl_buf *b)
{
	if (!b->ptr && tl__buf_grow(b, 0) < 0)
		return NULL;
	b->ptr[b->size] = '\0';
	char *p = b->ptr;
	b->ptr = NULL;
	b->size = b->asize = 0;
	return p;
}
