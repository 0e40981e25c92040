/* .dockerignore: which paths of a build context stay out of the tar.
 *
 * Same rules as Docker's: one pattern per line, '#' comments, patterns
 * are cleaned and relative to the context root, `*` `?` `[...]` match
 * within one path segment, `**` matches any number of segments, a pattern
 * also excludes everything below a directory it matches, `!pattern`
 * re-includes, and the last matching line wins.
 *
 * The file is the tenant's, and so is the tree it is matched against:
 * matching is linear in pattern and path (no backtracking blow-up on
 * "**" after "**"), and the patterns, their segments and the matching
 * work for a whole build context have limits (docs/security.md, "Limits
 * on untrusted input"). */
#include "docker_int.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATTERNS 10000
#define MAX_SEGMENTS 128 /* path segments in one pattern */
/* segment comparisons for one build context: far above what any real
 * tree needs, far below what hurts */
#define MAX_STEPS 50000000ull

typedef struct {
	char **seg;
	size_t nseg;
	int exception;
} pattern;

struct tl__docker_ignore {
	pattern *p;
	size_t n;
	unsigned long long steps; /* segment comparisons so far (MAX_STEPS) */
};

static void pattern_dispose(pattern *p)
{
	for (size_t i = 0; i < p->nseg; i++)
		free(p->seg[i]);
	free(p->seg);
}

/* Split a path on '/', dropping empty and "." segments and resolving
 * ".." lexically (like Go's filepath.Clean); a ".." above the root is
 * dropped, so patterns never point outside the context. */
static int split_clean(char ***out, size_t *n, const char *s)
{
	char **seg = NULL;
	size_t cnt = 0;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == 0)
			break;
		if (len == 1 && s[0] == '.') {
			/* skip */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (cnt)
				free(seg[--cnt]);
		} else {
			char *dup = tl__strndup(s, len);
			char **ns = dup ? realloc(seg, (cnt + 1) * sizeof(*seg)) : NULL;
			if (!ns) {
				free(dup);
				for (size_t i = 0; i < cnt; i++)
					free(seg[i]);
				free(seg);
				return tl__error_oom();
			}
			seg = ns;
			seg[cnt++] = dup;
		}
		s += len;
	}
	*out = seg;
	*n = cnt;
	return TL_OK;
}

int tl__docker_ignore_parse(tl__docker_ignore **out, const char *text, size_t len)
{
	if (len > DK_IGNORE_MAX_BYTES)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
		                     ".dockerignore: %zu bytes is more than %u (the limit)", len,
		                     DK_IGNORE_MAX_BYTES);
	tl__docker_ignore *ig = tl__calloc(1, sizeof(*ig));
	if (!ig)
		return TL_ENOMEM;
	size_t i = 0, lineno = 0;
	while (text && i < len) {
		lineno++;
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		char *line = tl__strndup(text + i, e - i);
		i = e + 1;
		if (!line)
			goto oom;
		char *s = line;
		size_t l = strlen(s);
		while (l && (s[l - 1] == '\r' || s[l - 1] == ' ' || s[l - 1] == '\t'))
			s[--l] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#') {
			free(line);
			continue;
		}
		pattern p = {0};
		if (*s == '!') {
			p.exception = 1;
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		int rc = split_clean(&p.seg, &p.nseg, s);
		free(line);
		if (rc)
			goto oom;
		if (p.nseg == 0) { /* "." or "/" matches nothing useful */
			pattern_dispose(&p);
			continue;
		}
		if (p.nseg > MAX_SEGMENTS || ig->n == MAX_PATTERNS) {
			pattern_dispose(&p);
			tl__docker_ignore_free(ig);
			return p.nseg > MAX_SEGMENTS
			               ? tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
			                               ".dockerignore:%zu: a pattern of more than %d "
			                               "path segments (the limit)", lineno, MAX_SEGMENTS)
			               : tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
			                               ".dockerignore:%zu: more than %d patterns (the "
			                               "limit)", lineno, MAX_PATTERNS);
		}
		pattern *np = realloc(ig->p, (ig->n + 1) * sizeof(*np));
		if (!np) {
			pattern_dispose(&p);
			goto oom;
		}
		ig->p = np;
		ig->p[ig->n++] = p;
	}
	*out = ig;
	return TL_OK;
oom:
	tl__docker_ignore_free(ig);
	return tl__error_oom();
}

void tl__docker_ignore_free(tl__docker_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		pattern_dispose(&ig->p[i]);
	free(ig->p);
	free(ig);
}

static int is_dstar(const pattern *p, size_t i)
{
	return i >= p->nseg || strcmp(p->seg[i], "**") == 0;
}

/* Does the pattern match the path or one of its parents? That is: does
 * the pattern, followed by one more "**" segment, match the whole path,
 * with "**" standing for any number of segments? Greedy, going back only to the last "**" seen (the usual
 * wildcard algorithm): at most nseg * n comparisons, where trying every
 * split for every "**" would be exponential. 1, 0, or -1 past MAX_STEPS. */
static int match_path(tl__docker_ignore *ig, const pattern *p, char *const *path, size_t n)
{
	size_t pi = 0, si = 0, star = (size_t)-1, star_si = 0;
	for (;;) {
		if (is_dstar(p, pi)) {
			if (pi >= p->nseg)
				return 1; /* pattern used up: it matched the path or a parent */
			star = pi++;
			star_si = si;
			continue;
		}
		if (++ig->steps > MAX_STEPS)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
			                     ".dockerignore: matching its patterns against the build "
			                     "context took more than %llu comparisons (the limit); "
			                     "simplify the patterns", MAX_STEPS),
			       -1;
		if (si < n && fnmatch(p->seg[pi], path[si], 0) == 0) {
			pi++;
			si++;
			continue;
		}
		if (star == (size_t)-1 || star_si >= n)
			return 0;
		pi = star + 1; /* let the last "**" take one more segment */
		si = ++star_si;
	}
}

static int split_path(char ***seg, size_t *n, const char *rel)
{
	return split_clean(seg, n, rel);
}

static void free_segs(char **seg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(seg[i]);
	free(seg);
}

int tl__docker_ignore_match(tl__docker_ignore *ig, const char *rel)
{
	if (!ig || !ig->n)
		return 0;
	char **seg;
	size_t n;
	if (split_path(&seg, &n, rel))
		return -1;
	int excluded = 0;
	for (size_t i = 0; i < ig->n && excluded >= 0; i++) {
		int m = match_path(ig, &ig->p[i], seg, n);
		if (m < 0)
			excluded = -1;
		else if (m)
			excluded = !ig->p[i].exception;
	}
	free_segs(seg, n);
	return excluded;
}

int tl__docker_ignore_may_reinclude(const tl__docker_ignore *ig, const char *rel)
{
	if (!ig)
		return 0;
	char **seg;
	size_t n;
	if (split_path(&seg, &n, rel))
		return 1;
	int may = 0;
	for (size_t i = 0; i < ig->n && !may; i++) {
		const pattern *p = &ig->p[i];
		if (!p->exception)
			continue;
		size_t k = 0;
		for (; k < n && k < p->nseg; k++) {
			if (strcmp(p->seg[k], "**") == 0 || fnmatch(p->seg[k], seg[k], 0) != 0)
				break;
		}
		if (k == n || k == p->nseg || strcmp(p->seg[k], "**") == 0)
			may = 1;
	}
	free_segs(seg, n);
	return may;
}
