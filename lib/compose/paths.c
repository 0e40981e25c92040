/* Host paths in compose files: made absolute against the compose file's
 * directory, cleaned lexically, then walked component by component
 * (core/pathwalk.c) into their canonical form, which (strict policy) must
 * stay inside the app directory, so a committed symlink cannot point a
 * mount at the host. The canonical path is what the plan keeps and what
 * the deploy checks again right before each container is created. */
#include "reader.h"
#include "core/pathwalk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Clean "/a/./b//../c" -> "/a/c" in place (absolute paths only). */
static void clean(char *p)
{
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t len = (size_t)(in - seg);
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

char *tl__compose_abs_path(tl__compose_reader *r, const char *p)
{
	char *a;
	if (p[0] == '/')
		a = tl__strdup(p);
	else if (p[0] == '~' && (p[1] == '/' || !p[1]))
		a = tl__sprintf("%s%s", getenv("HOME") ? getenv("HOME") : "/root", p + 1);
	else
		a = tl__path_join(r->base_dir, p);
	if (a)
		clean(a);
	return a;
}

static int under(const char *root, const char *path)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return 1;
	return !strncmp(root, path, n) && (path[n] == '/' || path[n] == '\0');
}

/* `abs` with the compose file's directory (which may be reached through a
 * symlink the platform trusts, like the apps root) written as its real
 * path, so that it can be compared with the app directory, which is. */
static char *rebase(tl__compose_reader *r, const char *abs)
{
	if (!r->base_dir || !under(r->base_dir, abs) || !strcmp(r->base_dir, "/"))
		return tl__strdup(abs);
	char *real = realpath(r->base_dir, NULL);
	if (!real)
		return tl__strdup(abs);
	char *out = tl__sprintf("%s%s", real, abs + strlen(r->base_dir));
	free(real);
	return out;
}

int tl__compose_canonical(tl__compose_reader *r, const char *abs, char **out)
{
	char *p = rebase(r, abs);
	if (!p)
		return TL_ENOMEM;
	int rc;
	if (r->policy == TL_COMPOSE_STRICT) {
		/* Every component is walked beneath the app directory: a link
		 * may point anywhere inside it, never out of it (nor through an
		 * absolute target); a missing tail is what Docker would create. */
		rc = r->app_dir ? tl__path_walk(out, NULL, r->app_dir, p,
		                                TL__WALK_BENEATH | TL__WALK_MISSING_OK)
		                : tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                                "no app directory to check %s against", abs);
	} else {
		/* Trusted: anywhere, but resolved now, so that the plan shows
		 * (and the deploy re-checks) the path the container will get.
		 * A path we cannot walk stays as written: creating the
		 * container re-checks it and says why. */
		rc = tl__path_walk(out, NULL, "/", p, TL__WALK_MISSING_OK);
		if (rc != TL_OK && rc != TL_ENOMEM) {
			tl_error_clear();
			*out = p;
			return TL_OK;
		}
	}
	free(p);
	return rc;
}

int tl__compose_inside_app(tl__compose_reader *r, const char *abs)
{
	if (!r->app_dir || r->policy != TL_COMPOSE_STRICT)
		return r->app_dir && under(r->app_dir, abs);
	char *canon = NULL;
	int rc = tl__compose_canonical(r, abs, &canon);
	free(canon);
	return rc == TL_OK;
}
