/*
 * tl__path_walk: resolve a host path one component at a time from a
 * directory held open, never letting the kernel follow a symlink for us
 * (every openat is O_NOFOLLOW; a link's target is read and walked by us,
 * under the caller's rules). See pathwalk.h.
 */
#include "core.h"
#include "pathwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	const char *path;  /* as the caller gave it: for messages */
	unsigned flags;
	char *rootc;       /* the root, canonical; "" for "/" */
	int *fds;          /* fds[0]: root; fds[i]: the i-th existing component */
	size_t nfd;        /* existing components walked (fds in use: nfd + 1) */
	size_t *marks;     /* length of cur before each component (existing, then missing) */
	size_t depth;      /* components in cur: nfd + missing */
	char cur[PATH_MAX]; /* "/a/b": the canonical part below root */
	size_t len;
	int top_is_dir;    /* the last existing component is a directory */
	mode_t mode;       /* of the last component; 0 when missing */
	size_t cap;        /* of fds and marks */
} walk;

static int fail(walk *w, int code, const char *why, const char *comp, size_t n,
                const char *extra)
{
	/* "<rootc><cur>/<comp> <why>", and the path being resolved when it
	 * is not that component itself */
	char at[PATH_MAX + NAME_MAX + 2];
	snprintf(at, sizeof(at), "%s%s/%.*s", w->rootc, w->cur, (int)n, comp);
	int same = !strcmp(at, w->path);
	return tl__error_set(code, TL_ERRCLASS_INPUT, "%s %s%s%s%s%s", at, why, extra ? extra : "",
	                     same ? "" : " (resolving ", same ? "" : w->path, same ? "" : ")");
}

static int grow(walk *w)
{
	if (w->depth + 2 <= w->cap)
		return TL_OK;
	size_t cap = w->cap ? w->cap * 2 : 16;
	int *fds = tl__realloc(w->fds, cap * sizeof(*fds));
	if (!fds)
		return TL_ENOMEM;
	w->fds = fds;
	size_t *marks = tl__realloc(w->marks, cap * sizeof(*marks));
	if (!marks)
		return TL_ENOMEM;
	w->marks = marks;
	w->cap = cap;
	return TL_OK;
}

static int push(walk *w, const char *comp, size_t n, int fd)
{
	if (strlen(w->rootc) + w->len + 1 + n >= PATH_MAX) {
		if (fd >= 0)
			close(fd);
		/* the why first: the paths themselves would fill the message */
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "resolved, the path is longer than PATH_MAX (%d bytes): %.200s...",
		                     PATH_MAX, w->path);
	}
	if (grow(w)) {
		if (fd >= 0)
			close(fd);
		return TL_ENOMEM;
	}
	w->marks[w->depth++] = w->len;
	w->cur[w->len++] = '/';
	memcpy(w->cur + w->len, comp, n);
	w->len += n;
	w->cur[w->len] = '\0';
	if (fd >= 0)
		w->fds[++w->nfd] = fd;
	return TL_OK;
}

static void pop(walk *w)
{
	w->len = w->marks[--w->depth];
	w->cur[w->len] = '\0';
	if (w->depth < w->nfd) {
		close(w->fds[w->nfd--]);
		w->top_is_dir = 1; /* every component below the top is a directory */
	}
}

static void reset_to_root(walk *w)
{
	while (w->depth)
		pop(w);
	w->top_is_dir = 1;
}

/* Replace the queue of components still to walk with `target` + "/" +
 * what was left after the link. */
static int requeue(char **rest, size_t *pos, const char *target)
{
	const char *left = *rest + *pos;
	char *n = tl__sprintf("%s/%s", target, left);
	if (!n)
		return TL_ENOMEM;
	free(*rest);
	*rest = n;
	*pos = 0;
	return TL_OK;
}

static int under(const char *root, const char *path)
{
	size_t n = strlen(root);
	return !strncmp(root, path, n) && (path[n] == '/' || path[n] == '\0');
}

/* Where the walk starts in `path`: after root's own prefix. */
static int start_of(const char **rel, walk *w, const char *root)
{
	const char *p = w->path;
	if (p[0] != '/') {
		*rel = p;
		return TL_OK;
	}
	char *r = tl__strdup(root);
	if (!r)
		return TL_ENOMEM;
	size_t n = strlen(r);
	while (n > 1 && r[n - 1] == '/')
		r[--n] = '\0';
	int ok = TL_OK;
	if (!strcmp(r, "/"))
		*rel = p;
	else if (under(r, p))
		*rel = p + n;
	else if (*w->rootc && under(w->rootc, p))
		*rel = p + strlen(w->rootc);
	else
		ok = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s is not under %s", p, root);
	free(r);
	return ok;
}

static int step(walk *w, char **rest, size_t *pos, int *links)
{
	const char *s = *rest + *pos;
	const char *c = s;
	while (*c == '/')
		c++;
	const char *e = c;
	while (*e && *e != '/')
		e++;
	size_t n = (size_t)(e - c);
	*pos += (size_t)(e - s);
	if (n == 0)
		return TL_OK;
	int missing = w->depth > w->nfd;
	if (!missing && !w->top_is_dir)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "%s: %s%s is not a directory, yet the path goes on below it",
		                     w->path, w->rootc, w->cur);
	if (n == 1 && c[0] == '.')
		return TL_OK;
	if (n == 2 && c[0] == '.' && c[1] == '.') {
		if (w->depth > 0)
			pop(w);
		else if (w->flags & TL__WALK_BENEATH)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "%s: \"..\" climbs above %s, which this path may not "
			                     "leave", w->path, *w->rootc ? w->rootc : "/");
		/* else: "/.." is "/" */
		w->mode = w->depth > w->nfd ? 0 : S_IFDIR;
		return TL_OK;
	}
	if (n > NAME_MAX)
		return fail(w, TL_EINVALID, "is a name longer than NAME_MAX", c, n, NULL);
	if (missing)
		return push(w, c, n, -1);
	char name[NAME_MAX + 1];
	memcpy(name, c, n);
	name[n] = '\0';
	int fd = openat(w->fds[w->nfd], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT && (w->flags & TL__WALK_MISSING_OK)) {
			w->mode = 0;
			return push(w, c, n, -1);
		}
		if (err == ENOENT)
			return fail(w, TL_ENOTFOUND, "does not exist", c, n, NULL);
		return tl__error_os(0, err, "%s: cannot open %s%s/%s", w->path, w->rootc, w->cur, name);
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int err = errno;
		close(fd);
		return tl__error_os(0, err, "%s: cannot stat %s%s/%s", w->path, w->rootc, w->cur, name);
	}
	if (!S_ISLNK(st.st_mode)) {
		w->mode = st.st_mode;
		w->top_is_dir = S_ISDIR(st.st_mode);
		return push(w, c, n, fd);
	}
	/* A symlink: read it through the descriptor we hold (the same inode
	 * we just looked at), then walk its target ourselves. */
	if (w->flags & TL__WALK_NOFOLLOW) {
		close(fd);
		return fail(w, TL_EINVALID, "is a symbolic link, and no component of this path may "
		                            "be one", c, n, NULL);
	}
	if (++*links > TL__WALK_MAX_LINKS) {
		close(fd);
		return fail(w, TL_EINVALID, "is one symbolic link too many: the links loop or nest "
		                            "deeper than 40", c, n, NULL);
	}
	char target[PATH_MAX];
	ssize_t tn = readlinkat(fd, "", target, sizeof(target));
	int err = errno;
	close(fd);
	if (tn < 0) {
		return tl__error_os(0, err, "%s: cannot read the link %s%s/%s", w->path, w->rootc, w->cur,
		             name);
	}
	if ((size_t)tn >= sizeof(target))
		return fail(w, TL_EINVALID, "is a symbolic link with a target longer than PATH_MAX",
		            c, n, NULL);
	target[tn] = '\0';
	if (target[0] == '/') {
		if (w->flags & TL__WALK_BENEATH)
			return fail(w, TL_EINVALID, "is a symbolic link to the absolute path ", c, n,
			            target);
		reset_to_root(w);
	}
	return requeue(rest, pos, target);
}

int tl__path_walk(char **out, mode_t *mode, const char *root, const char *path,
                  unsigned flags)
{
	TL__CHECK_ARG(out && root && root[0] == '/' && path);
	walk w;
	memset(&w, 0, sizeof(w));
	w.path = path;
	w.flags = flags;
	w.top_is_dir = 1;
	w.mode = S_IFDIR;
	char *rest = NULL;
	int rc = TL_OK;
	char *rc_root = realpath(root, NULL);
	if (!rc_root)
		return tl__error_os(0, errno, "%s: cannot resolve its root %s", path, root);
	w.rootc = rc_root;
	if (!strcmp(w.rootc, "/"))
		w.rootc[0] = '\0';
	const char *rel = NULL;
	rc = start_of(&rel, &w, root);
	if (rc == TL_OK)
		rc = grow(&w);
	if (rc == TL_OK) {
		w.fds[0] = open(*w.rootc ? w.rootc : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (w.fds[0] < 0)
			rc = tl__error_os(0, errno, "%s: cannot open its root %s", path, root);
	}
	if (rc == TL_OK && !(rest = tl__strdup(rel)))
		rc = TL_ENOMEM;
	size_t pos = 0;
	int links = 0;
	while (rc == TL_OK && rest[pos])
		rc = step(&w, &rest, &pos, &links);
	char *canon = NULL;
	if (rc == TL_OK) {
		canon = (*w.rootc || w.len) ? tl__sprintf("%s%s", w.rootc, w.cur) : tl__strdup("/");
		if (!canon)
			rc = TL_ENOMEM;
	}
	if (rc == TL_OK) {
		*out = canon;
		if (mode)
			*mode = w.depth > w.nfd ? 0 : w.mode;
	}
	if (w.fds) {
		for (size_t i = 0; i <= w.nfd; i++)
			if (w.fds[i] >= 0)
				close(w.fds[i]);
	}
	free(w.fds);
	free(w.marks);
	free(rest);
	free(rc_root);
	return rc;
}
