/* NULL-terminated vectors of owned strings (argv, env lists, labels). */
#include "core.h"

#include <stdlib.h>
#include <string.h>

size_t tl__strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static int push_owned(char ***v, char *s)
{
	if (!s)
		return TL_ENOMEM;
	size_t n = tl__strv_len(*v);
	char **nv = tl__realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(s);
		return TL_ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return TL_OK;
}

int tl__strv_push(char ***v, const char *s)
{
	return push_owned(v, tl__strdup(s));
}

int tl__strv_pushf(char ***v, const char *fmt, ...)
{
	tl_buf b = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc) {
		tl_buf_dispose(&b);
		return rc;
	}
	return push_owned(v, tl__buf_detach(&b));
}

bool tl__strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

void tl__strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		tl__free_secret(v[i]);
	free(v);
}
