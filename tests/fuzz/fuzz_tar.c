/* Fuzz the tar of a build context. The input describes members (name,
 * type, mode, size, mtime, link target); each member's header blocks are
 * read back by a small reference reader here (checksums, ustar prefix and
 * name, pax records with their self-counting lengths) and must say
 * exactly what was described. With the first byte's low three bits set
 * (one input in eight: it costs files) the members are also made as a
 * real tree in a scratch directory, planned, and read through
 * tl__docker_tar_read() in odd slices: the archive must be as
 * long as tl__docker_tar_size() promised and list the tree in order.
 *
 * Input: byte 0 (flags), then per member: type byte, 2 bytes mode,
 * 8 bytes size, 8 bytes mtime, name NUL, link NUL. */
#include "docker/docker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BLOCK 512

typedef struct {
	char *name, *link;
	char type;
	unsigned mode;
	int64_t size, mtime;
} member;

static uint64_t octal_field(const unsigned char *f, size_t width)
{
	uint64_t v = 0;
	for (size_t i = 0; i < width && f[i]; i++) {
		if (f[i] < '0' || f[i] > '7')
			abort(); /* we always write plain octal */
		v = v * 8 + (f[i] - '0');
	}
	return v;
}

static void check_sum(const unsigned char *h)
{
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	if (octal_field(h + 148, 7) != sum)
		abort();
}

/* Read one member's header(s) at *off in [a, a+n): what it says. */
static void read_member(const unsigned char *a, size_t n, size_t *off, member *m)
{
	char *pax_path = NULL, *pax_link = NULL;
	int64_t pax_size = -1, pax_mtime = -1;
	if (*off + BLOCK > n)
		abort();
	const unsigned char *h = a + *off;
	check_sum(h);
	if (h[156] == 'x') {
		uint64_t len = octal_field(h + 124, 12);
		const unsigned char *r = h + BLOCK, *end = r + len;
		if ((size_t)(end - a) > n)
			abort();
		while (r < end) {
			/* "LEN key=value\n", LEN counting the whole record */
			char *sp;
			unsigned long rl = strtoul((const char *)r, &sp, 10);
			if (*sp != ' ' || rl == 0 || r + rl > end || r[rl - 1] != '\n')
				abort();
			const char *kv = sp + 1, *eq = memchr(kv, '=', (size_t)((const char *)r + rl - kv));
			if (!eq)
				abort();
			char *val = strndup(eq + 1, (size_t)((const char *)r + rl - 1 - eq - 1));
			if (!strncmp(kv, "path=", 5))
				pax_path = val;
			else if (!strncmp(kv, "linkpath=", 9))
				pax_link = val;
			else if (!strncmp(kv, "size=", 5))
				pax_size = strtoll(val, NULL, 10), free(val);
			else if (!strncmp(kv, "mtime=", 6))
				pax_mtime = strtoll(val, NULL, 10), free(val);
			else
				abort();
			r += rl;
		}
		*off += BLOCK + (len + BLOCK - 1) / BLOCK * BLOCK;
		if (*off + BLOCK > n)
			abort();
		h = a + *off;
		check_sum(h);
	}
	if (memcmp(h + 257, "ustar\0" "00", 8))
		abort();
	m->type = (char)h[156];
	m->mode = (unsigned)octal_field(h + 100, 8);
	m->size = pax_size >= 0 ? pax_size : (int64_t)octal_field(h + 124, 12);
	m->mtime = pax_mtime >= 0 ? pax_mtime : (int64_t)octal_field(h + 136, 12);
	if (pax_path) {
		m->name = pax_path;
	} else {
		char prefix[156] = "", name[101] = "";
		memcpy(prefix, h + 345, 155);
		memcpy(name, h, 100);
		m->name = *prefix ? (char *)NULL : strdup(name);
		if (*prefix && asprintf(&m->name, "%s/%s", prefix, name) < 0)
			abort();
	}
	if (pax_link) {
		m->link = pax_link;
	} else {
		char link[101] = "";
		memcpy(link, h + 157, 100);
		m->link = strdup(link);
	}
	*off += BLOCK;
}

static void check_headers(const member *want)
{
	tl_buf b = TL_BUF_INIT;
	if (tl__docker_tar_header(&b, want->name, want->type, (mode_t)want->mode, want->size,
	                  want->mtime, want->type == '2' ? want->link : NULL) != TL_OK)
		abort();
	if (b.size % BLOCK)
		abort();
	size_t off = 0;
	member got = {0};
	read_member((const unsigned char *)b.ptr, b.size, &off, &got);
	if (off != b.size)
		abort();
	char *name = want->type == '5' ? NULL : strdup(want->name);
	if (!name && asprintf(&name, "%s/", want->name) < 0)
		abort();
	if (strcmp(got.name, name) || got.type != want->type || got.mode != (want->mode & 07777) ||
	    got.size != (want->type == '0' ? want->size : 0) ||
	    got.mtime != (want->mtime < 0 ? 0 : want->mtime) ||
	    strcmp(got.link, want->type == '2' ? want->link : ""))
		abort();
	free(name);
	free(got.name);
	free(got.link);
	tl_buf_dispose(&b);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

/* Make the members as a tree, tar it, read the archive back. */
static void check_tree(member *v, size_t n, unsigned slicing)
{
	char root[] = "/tmp/towlion-fuzz-tar.XXXXXX";
	if (!mkdtemp(root))
		abort();
	size_t files = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = NULL;
		/* one flat level of simple names: the walk sorts and recurses */
		if (!*v[i].name || strchr(v[i].name, '/') || !strcmp(v[i].name, ".") ||
		    !strcmp(v[i].name, "..") || asprintf(&p, "%s/%s", root, v[i].name) < 0)
			continue;
		int ok = 0;
		if (v[i].type == '5')
			ok = mkdir(p, 0755) == 0;
		else if (v[i].type == '2')
			ok = *v[i].link && symlink(v[i].link, p) == 0;
		else {
			int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
			ok = fd >= 0 && ftruncate(fd, v[i].size & 0xffff) == 0;
			if (fd >= 0)
				close(fd);
		}
		files += ok;
		free(p);
	}
	tl__docker_tar *t = NULL;
	if (tl__docker_tar_plan(&t, root, NULL, NULL) != TL_OK || tl__docker_tar_count(t) != files)
		abort();
	int64_t total = tl__docker_tar_size(t);
	unsigned char *a = malloc((size_t)total + 1);
	size_t got = 0;
	for (unsigned k = 0;; k++) {
		size_t want = 1 + (slicing * 31 + k * 97) % 1500;
		if (want > (size_t)total + 1 - got)
			want = (size_t)total + 1 - got;
		size_t r = tl__docker_tar_read((char *)a + got, want, t);
		if (r == (size_t)-1)
			abort();
		if (r == 0)
			break;
		got += r;
		if (got > (size_t)total)
			abort(); /* more than promised */
	}
	if (got != (size_t)total)
		abort();
	size_t off = 0;
	char *prev = NULL;
	for (size_t i = 0; i < files; i++) {
		member m = {0};
		read_member(a, got, &off, &m);
		size_t nl = strlen(m.name);
		if (m.type == '5' && nl && m.name[nl - 1] == '/')
			m.name[nl - 1] = '\0'; /* sorted as the walk sees it: by entry name */
		if (prev && strcmp(prev, m.name) >= 0)
			abort(); /* sorted */
		if (m.type == '0')
			off += (size_t)(m.size + BLOCK - 1) / BLOCK * BLOCK;
		free(prev);
		prev = m.name;
		free(m.link);
	}
	free(prev);
	if (off + 2 * BLOCK != got)
		abort();
	for (size_t i = off; i < got; i++)
		if (a[i])
			abort();
	free(a);
	tl__docker_tar_free(t);
	nftw(root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	size_t off = 1, n = 0;
	member v[16];
	while (n < 16 && off + 19 <= size) {
		member *m = &v[n];
		static const char types[] = {'0', '5', '2'};
		m->type = types[data[off] % 3];
		m->mode = (unsigned)be(data + off + 1, 2);
		m->size = (int64_t)(be(data + off + 3, 8) & 0x3fffffffffffffffull);
		m->mtime = (int64_t)be(data + off + 11, 8);
		off += 19;
		const char *nul = memchr(data + off, 0, size - off);
		size_t nl = nul ? (size_t)(nul - (const char *)data - off) : size - off;
		m->name = strndup((const char *)data + off, nl);
		off += nl + (nul != NULL);
		nul = off < size ? memchr(data + off, 0, size - off) : NULL;
		size_t ll = off < size ? (nul ? (size_t)(nul - (const char *)data - off) : size - off) : 0;
		m->link = strndup((const char *)data + off, ll);
		off += ll + (nul != NULL);
		check_headers(m);
		n++;
	}
	if ((flags & 7) == 7)
		check_tree(v, n, flags >> 3);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].link);
	}
	return 0;
}
