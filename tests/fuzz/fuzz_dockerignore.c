/* Fuzz the .dockerignore matcher against a slow reference: input is
 * patterns, a NUL byte, then paths one per line. For every plain pattern
 * line, the linear matcher must answer what trying every split of every
 * "**" answers (memoised here so that the reference stays fast too), and
 * no input may crash, leak, or take long (the "**" bombs in the corpus). */
#include "docker/docker_int.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXSEG 256

/* Split like ignore.c: drop empty and "." segments, ".." pops. */
static size_t split(char *s, char **seg)
{
	size_t n = 0;
	for (char *tok = strtok(s, "/"); tok; tok = strtok(NULL, "/")) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (n)
				n--;
			continue;
		}
		if (n == MAXSEG)
			return (size_t)-1;
		seg[n++] = tok;
	}
	return n;
}

/* pattern[pi..] matches path[si..] or a parent: every split of "**". */
static int ref(char **p, size_t m, size_t pi, char **s, size_t n, size_t si,
               signed char *memo)
{
	signed char *cell = &memo[pi * (MAXSEG + 1) + si];
	if (*cell >= 0)
		return *cell;
	int r;
	if (pi == m)
		r = 1;
	else if (!strcmp(p[pi], "**")) {
		r = 0;
		for (size_t k = si; k <= n && !r; k++)
			r = ref(p, m, pi + 1, s, n, k, memo);
	} else
		r = si < n && fnmatch(p[pi], s[si], 0) == 0 && ref(p, m, pi + 1, s, n, si + 1, memo);
	*cell = (signed char)r;
	return r;
}

/* A path as the walk makes it: segments neither empty nor "." or "..". */
static int walkable(const char *path)
{
	for (const char *s = path;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (!e)
			return 1;
		s = e + 1;
	}
}

static int plain(const char *line)
{
	return *line && *line != '#' && *line != '!' && *line != ' ' && *line != '\t' &&
	       line[strlen(line) - 1] != ' ' && line[strlen(line) - 1] != '\t' &&
	       line[strlen(line) - 1] != '\r';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - (const char *)data) : size;
	tl__docker_ignore *ig = NULL;
	if (tl__docker_ignore_parse(&ig, (const char *)data, plen) != TL_OK)
		return 0;
	char *paths = nul ? strndup(nul + 1, size - plen - 1) : strdup("");
	signed char *memo = malloc((MAXSEG + 1) * (MAXSEG + 1));
	for (char *sp = NULL, *path = strtok_r(paths, "\n", &sp); path;
	     path = strtok_r(NULL, "\n", &sp)) {
		int m = tl__docker_ignore_match(ig, path);
		if (m != 0 && m != 1)
			abort();
		/* every ancestor directory the walk passes */
		for (char *slash = strchr(path, '/'); m == 0 && walkable(path) && slash; slash = strchr(slash + 1, '/')) {
			char *dir = strndup(path, (size_t)(slash - path));
			if (*dir && tl__docker_ignore_match(ig, dir) == 1 && !tl__docker_ignore_may_reinclude(ig, dir))
				abort();
			free(dir);
		}
		char *pats = strndup((const char *)data, plen);
		char *pcopy = strdup(path);
		char *s[MAXSEG];
		size_t n = split(pcopy, s);
		for (char *lp = NULL, *line = strtok_r(pats, "\n", &lp); line && n != (size_t)-1;
		     line = strtok_r(NULL, "\n", &lp)) {
			if (!plain(line))
				continue;
			tl__docker_ignore *one = NULL;
			if (tl__docker_ignore_parse(&one, line, strlen(line)) != TL_OK)
				continue;
			char *lcopy = strdup(line);
			char *p[MAXSEG];
			size_t k = split(lcopy, p);
			if (k != (size_t)-1 && k > 0) {
				memset(memo, -1, (k + 1) * (MAXSEG + 1)); /* the rows ref() reads */
				if (tl__docker_ignore_match(one, path) != ref(p, k, 0, s, n, 0, memo))
					abort();
			}
			free(lcopy);
			tl__docker_ignore_free(one);
		}
		free(pats);
		free(pcopy);
	}
	free(memo);
	free(paths);
	tl__docker_ignore_free(ig);
	return 0;
}
