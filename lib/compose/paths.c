/* Host paths in compose files: made absolute against the compose file's
 * directory, cleaned lexically, and (strict policy) fenced into the app
 * directory with symlinks resolved, so a committed symlink cannot point a
 * mount at the host. */
#include "reader.h"

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

char *rd_abs_path(rd *r, const char *p)
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

int rd_inside_app(rd *r, const char *abs)
{
	if (!r->app_dir)
		return 0;
	/* Resolve the deepest part of the path that exists: what is missing
	 * gets created by Docker as a directory, so it cannot be a link. */
	char *probe = tl__strdup(abs);
	if (!probe)
		return 0;
	char *resolved = NULL;
	const char *tail_start = NULL;
	for (;;) {
		resolved = realpath(probe, NULL);
		if (resolved || errno != ENOENT)
			break;
		struct stat st;
		if (lstat(probe, &st) == 0 && S_ISLNK(st.st_mode)) {
			/* a dangling link: Docker would create its target on the host */
			free(probe);
			return 0;
		}
		char *slash = strrchr(probe, '/');
		if (!slash || slash == probe) {
			resolved = tl__strdup("/");
			break;
		}
		*slash = '\0';
		tail_start = abs + (slash - probe);
	}
	int ok = 0;
	if (resolved) {
		char *full = tail_start ? tl__sprintf("%s%s", resolved, tail_start) : tl__strdup(resolved);
		if (full) {
			clean(full);
			ok = under(r->app_dir, full);
		}
		free(full);
	}
	free(resolved);
	free(probe);
	return ok;
}
