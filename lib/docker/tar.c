/* A ustar/pax writer for build contexts, streamed straight from disk.
 *
 * tl__docker_tar_plan() walks the context once (lstat, no symlink following,
 * sorted for a reproducible archive) and knows the archive's exact size
 * up front, so the upload has a Content-Length and real progress.
 * tl__docker_tar_read() then produces the archive piece by piece: headers (a pax
 * header first when a name or size does not fit ustar), file data, padding
 * and the two zero blocks. Owner is 0:0 like `docker build` sends. */
#include "docker_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	char *rel;   /* path in the archive */
	char *abs;   /* path on disk */
	char *link;  /* symlink target */
	char type;   /* '0' file, '5' dir, '2' symlink */
	mode_t mode;
	int64_t size;
	int64_t mtime;
	size_t hdr_len; /* bytes of header(s) */
} entry;

struct tl__docker_tar {
	entry *e;
	size_t n, cap;
	int64_t total;
	/* reading state */
	size_t cur;
	int phase; /* 0 header, 1 data, 2 padding, 3 trailer, 4 done */
	tl_buf hdr;
	size_t off;   /* offset within the current piece */
	int fd;
	int64_t left; /* data bytes left of the current file */
};

#define BLOCK 512
#define USTAR_MAX_SIZE 077777777777LL

static void octal(char *dst, size_t width, uint64_t v)
{
	/* width includes the terminating NUL */
	dst[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0;) {
		dst[i] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

/* One pax record "LEN key=value\n", LEN counting itself. */
static int pax_record(tl_buf *b, const char *key, const char *value)
{
	size_t base = strlen(key) + strlen(value) + 3; /* ' ' '=' '\n' */
	size_t len = base + 1;
	for (;;) {
		char digits[24];
		int d = snprintf(digits, sizeof(digits), "%zu", len);
		if (base + (size_t)d == len)
			break;
		len = base + (size_t)d;
	}
	return tl__buf_printf(b, "%zu %s=%s\n", len, key, value);
}

/* Where to split a long name into ustar's prefix and name, or -1. */
static long ustar_split(const char *name)
{
	size_t len = strlen(name);
	if (len <= 100)
		return 0;
	for (size_t i = len - 1; i > 0; i--)
		if (name[i] == '/' && i <= 155 && len - i - 1 <= 100 && len - i - 1 > 0)
			return (long)i;
	return -1;
}

static void ustar_header(char *h, const char *name, long split, char type, mode_t mode,
                         int64_t size, int64_t mtime, const char *link)
{
	memset(h, 0, BLOCK);
	if (split > 0) {
		memcpy(h + 345, name, (size_t)split);
		strncpy(h, name + split + 1, 100);
	} else {
		strncpy(h, name, 100);
	}
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size > USTAR_MAX_SIZE ? 0 : (uint64_t)size);
	octal(h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime);
	h[156] = type;
	if (link)
		strncpy(h + 157, link, 100);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

int tl__docker_tar_header(tl_buf *out, const char *rel, char type, mode_t mode, int64_t size,
                  int64_t mtime, const char *link)
{
	tl__buf_clear(out);
	if (type != '0')
		size = 0; /* only a file has data */
	char *name = type == '5' ? tl__sprintf("%s/", rel) : tl__strdup(rel);
	if (!name)
		return TL_ENOMEM;
	long split = ustar_split(name);
	/* ustar's mtime field is 11 octal digits (year 2242): a later one
	 * goes in the pax header rather than wrapping around */
	int need_pax = split < 0 || size > USTAR_MAX_SIZE || mtime > USTAR_MAX_SIZE ||
	               (link && strlen(link) > 100);
	int rc = TL_OK;
	char h[BLOCK];
	if (need_pax) {
		tl_buf rec = TL_BUF_INIT;
		char num[32];
		if (split < 0)
			rc = pax_record(&rec, "path", name);
		if (!rc && link && strlen(link) > 100)
			rc = pax_record(&rec, "linkpath", link);
		if (!rc && size > USTAR_MAX_SIZE) {
			snprintf(num, sizeof(num), "%lld", (long long)size);
			rc = pax_record(&rec, "size", num);
		}
		if (!rc && mtime > USTAR_MAX_SIZE) {
			snprintf(num, sizeof(num), "%lld", (long long)mtime);
			rc = pax_record(&rec, "mtime", num);
		}
		if (!rc) {
			ustar_header(h, "././@PaxHeader", 0, 'x', 0644, (int64_t)rec.size,
			             mtime > USTAR_MAX_SIZE ? 0 : mtime, NULL);
			rc = tl__buf_put(out, h, BLOCK);
		}
		if (!rc)
			rc = tl__buf_put(out, rec.ptr, rec.size);
		size_t pad = (BLOCK - rec.size % BLOCK) % BLOCK;
		for (size_t i = 0; !rc && i < pad; i++)
			rc = tl__buf_putc(out, '\0');
		tl_buf_dispose(&rec);
		if (split < 0)
			split = 0; /* the ustar name is then just a truncated hint */
	}
	if (!rc) {
		ustar_header(h, name, split, type, mode, size,
		             mtime > USTAR_MAX_SIZE ? 0 : mtime, link);
		rc = tl__buf_put(out, h, BLOCK);
	}
	free(name);
	return rc;
}

static int build_header(tl_buf *out, const entry *e)
{
	return tl__docker_tar_header(out, e->rel, e->type, e->mode, e->size, e->mtime, e->link);
}

static int add_entry(tl__docker_tar *t, const char *rel, const char *abs, const struct stat *st)
{
	/* The plan holds every entry in memory (a few hundred bytes each): a
	 * context with millions of files is refused, not planned. */
	if (t->n >= DK_TAR_MAX_ENTRIES)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
		                     "the build context has more than %u files and directories "
		                     "(the limit); leave the rest out with .dockerignore",
		                     DK_TAR_MAX_ENTRIES);
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 64;
		entry *ne = tl__realloc(t->e, nc * sizeof(*ne));
		if (!ne)
			return TL_ENOMEM;
		t->e = ne;
		t->cap = nc;
	}
	entry *e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->rel = tl__strdup(rel);
	e->abs = tl__strdup(abs);
	if (!e->rel || !e->abs) {
		free(e->rel);
		free(e->abs);
		return TL_ENOMEM;
	}
	e->mode = st->st_mode;
	e->mtime = (int64_t)st->st_mtime;
	if (S_ISDIR(st->st_mode)) {
		e->type = '5';
	} else if (S_ISLNK(st->st_mode)) {
		e->type = '2';
		char target[4096];
		ssize_t n = readlink(abs, target, sizeof(target) - 1);
		if (n < 0) {
			free(e->rel);
			free(e->abs);
			return tl__error_os(TL_EIO, errno, "cannot read the symlink %s", abs);
		}
		target[n] = '\0';
		e->link = tl__strdup(target);
	} else {
		e->type = '0';
		e->size = (int64_t)st->st_size;
	}
	tl_buf h = TL_BUF_INIT;
	int rc = build_header(&h, e);
	e->hdr_len = h.size;
	tl_buf_dispose(&h);
	if (rc) {
		free(e->rel);
		free(e->abs);
		free(e->link);
		return rc;
	}
	t->n++;
	t->total += (int64_t)e->hdr_len;
	if (e->type == '0')
		t->total += (e->size + BLOCK - 1) / BLOCK * BLOCK;
	return TL_OK;
}

static int is_always(const char *rel, const char *const *always)
{
	for (const char *const *a = always; a && *a; a++)
		if (strcmp(*a, rel) == 0)
			return 1;
	return 0;
}

static int walk(tl__docker_tar *t, const char *abs_dir, const char *rel_dir, tl__docker_ignore *ig,
                const char *const *always, int depth)
{
	if (depth > 64)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DOCKER,
		                     "build context %s nests too deep", abs_dir);
	struct dirent **names = NULL;
	int n = scandir(abs_dir, &names, NULL, alphasort);
	if (n < 0)
		return tl__error_os(TL_EIO, errno, "cannot read the build context directory %s",
		                    abs_dir);
	int rc = TL_OK;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		if (rc || !strcmp(nm, ".") || !strcmp(nm, "..")) {
			free(names[i]);
			continue;
		}
		char *abs = tl__path_join(abs_dir, nm);
		char *rel = rel_dir[0] ? tl__sprintf("%s/%s", rel_dir, nm) : tl__strdup(nm);
		struct stat st;
		if (!abs || !rel) {
			rc = TL_ENOMEM;
		} else if (lstat(abs, &st) != 0) {
			rc = tl__error_os(TL_EIO, errno, "cannot stat %s in the build context", abs);
		} else {
			int m = tl__docker_ignore_match(ig, rel);
			int excluded = m > 0 && !is_always(rel, always);
			if (m < 0) {
				rc = TL_EINVALID; /* the matching passed its limit: error set */
			} else if (S_ISDIR(st.st_mode)) {
				if (!excluded)
					rc = add_entry(t, rel, abs, &st);
				if (!rc && (!excluded || tl__docker_ignore_may_reinclude(ig, rel)))
					rc = walk(t, abs, rel, ig, always, depth + 1);
			} else if (!excluded && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
				rc = add_entry(t, rel, abs, &st);
			}
			/* sockets, fifos and devices have no place in a build context */
		}
		free(abs);
		free(rel);
		free(names[i]);
	}
	free(names);
	return rc;
}

int tl__docker_tar_plan(tl__docker_tar **out, const char *dir, tl__docker_ignore *ig,
                const char *const *always)
{
	tl__docker_tar *t = tl__calloc(1, sizeof(*t));
	if (!t)
		return TL_ENOMEM;
	t->fd = -1;
	int rc = walk(t, dir, "", ig, always, 0);
	if (rc) {
		tl__docker_tar_free(t);
		return rc;
	}
	t->total += 2 * BLOCK;
	*out = t;
	return TL_OK;
}

int64_t tl__docker_tar_size(const tl__docker_tar *t)
{
	return t->total;
}

size_t tl__docker_tar_count(const tl__docker_tar *t)
{
	return t->n;
}

void tl__docker_tar_free(tl__docker_tar *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].rel);
		free(t->e[i].abs);
		free(t->e[i].link);
	}
	free(t->e);
	if (t->fd >= 0)
		close(t->fd);
	tl_buf_dispose(&t->hdr);
	free(t);
}

/* Move to the next entry's header, or to the trailer. */
static int next_entry(tl__docker_tar *t)
{
	t->off = 0;
	if (t->cur >= t->n) {
		t->phase = 3;
		return TL_OK;
	}
	t->phase = 0;
	return build_header(&t->hdr, &t->e[t->cur]);
}

size_t tl__docker_tar_read(char *buf, size_t len, void *p)
{
	tl__docker_tar *t = p;
	size_t done = 0;
	if (t->phase == 0 && t->off == 0 && t->hdr.size == 0 && next_entry(t))
		return (size_t)-1;
	while (done < len && t->phase != 4) {
		entry *e = t->cur < t->n ? &t->e[t->cur] : NULL;
		if (t->phase == 0) {
			size_t take = t->hdr.size - t->off;
			if (take > len - done)
				take = len - done;
			memcpy(buf + done, t->hdr.ptr + t->off, take);
			t->off += take;
			done += take;
			if (t->off < t->hdr.size)
				continue;
			t->off = 0;
			if (e->type == '0' && e->size > 0) {
				t->fd = open(e->abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
				if (t->fd < 0) {
					tl__error_os(TL_EIO, errno, "cannot read %s from the build context",
					             e->abs);
					return (size_t)-1;
				}
				t->left = e->size;
				t->phase = 1;
			} else {
				t->cur++;
				if (next_entry(t))
					return (size_t)-1;
			}
		} else if (t->phase == 1) {
			size_t want = len - done;
			if ((int64_t)want > t->left)
				want = (size_t)t->left;
			ssize_t r = read(t->fd, buf + done, want);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				tl__error_os(TL_EIO, errno, "cannot read %s from the build context",
				             e->abs);
				return (size_t)-1;
			}
			if (r == 0) { /* the file shrank: pad with zeros to the size announced */
				memset(buf + done, 0, want);
				r = (ssize_t)want;
			}
			done += (size_t)r;
			t->left -= r;
			if (t->left == 0) {
				close(t->fd);
				t->fd = -1;
				t->phase = 2;
				t->off = (size_t)((BLOCK - e->size % BLOCK) % BLOCK);
			}
		} else if (t->phase == 2) {
			size_t take = t->off < len - done ? t->off : len - done;
			memset(buf + done, 0, take);
			done += take;
			t->off -= take;
			if (t->off == 0) {
				t->cur++;
				if (next_entry(t))
					return (size_t)-1;
			}
		} else if (t->phase == 3) {
			size_t take = 2 * BLOCK - t->off;
			if (take > len - done)
				take = len - done;
			memset(buf + done, 0, take);
			done += take;
			t->off += take;
			if (t->off == 2 * BLOCK)
				t->phase = 4;
		}
	}
	return done;
}
