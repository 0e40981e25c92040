/*
 * The routing table on disk and the transaction that changes it.
 *
 * apply(): under the "routes" lock, read the main Caddyfile and every site
 * file, put the changed site in (or take it out), get each site's adapted
 * JSON (from the cache in adapted/, or from Caddy's /adapt when the file
 * or the global options changed), merge them with the globals, POST /load
 * the result, and only then write the site file. When anything fails
 * before Caddy accepted the config, the disk is as it was.
 */
#include "caddy_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS 60000
/* A site file's stamp is kept in the cache only when the file had not
 * changed for this long when the table read began: a change made after
 * that then gets a later ctime even on a file system whose timestamps
 * are whole seconds (ext4 with small inodes, some NFS servers). */
#define STAMP_SETTLED_S 2

typedef struct {
	char *name; /* site name = file name without .caddy */
	char *path;
	char *text;
	tl__caddy_header hdr;
	const char *rec; /* its adapted config as a record (merge.c) */
	size_t rec_len;
	tl_buf own;      /* holds rec when adapted now */
	bool fresh;      /* adapted now, not from the cache */
	bool has_stamp;  /* stamp may go into the cache (see read_sites) */
	tl__caddy_stamp stamp;
} site_entry;

typedef struct {
	char *dir, *sites_dir, *cache_dir, *main_path;
	tl_buf main;
	size_t prefix_len;  /* main text before the import line */
	size_t suffix_off;  /* main text after it */
	int prefix_lines;
	site_entry *v;
	size_t n;
	char *cache;          /* adapted/cache, when made with these globals */
	size_t cache_len, cache_map; /* its length; the size of its mapping */
	tl__caddy_cached *cached; /* its sites, sorted by name */
	size_t ncached;
	struct timespec cache_mtime; /* when the cache was written */
	bool stamps_new;      /* a site file was read whose stamp the cache lacks */
	const char *base;     /* the globals' record, from the cache or base_own */
	size_t base_len;
	json_t *base_adapted; /* the globals adapted now (no cache) */
	tl_buf base_own;
} table;

static void entry_dispose(site_entry *e)
{
	free(e->name);
	free(e->path);
	free(e->text);
	tl__caddy_header_dispose(&e->hdr);
	tl_buf_dispose(&e->own);
	memset(e, 0, sizeof(*e));
}

static void table_dispose(table *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_dispose(&t->v[i]);
	free(t->v);
	free(t->dir);
	free(t->sites_dir);
	free(t->cache_dir);
	free(t->main_path);
	tl_buf_dispose(&t->main);
	if (t->cache)
		munmap(t->cache, t->cache_map);
	free(t->cached);
	json_decref(t->base_adapted);
	tl_buf_dispose(&t->base_own);
	memset(t, 0, sizeof(*t));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const site_entry *)a)->name, ((const site_entry *)b)->name);
}

/* Find the import line of the main Caddyfile (a line of its own). */
static int find_import(table *t)
{
	const char *s = t->main.ptr;
	size_t il = strlen(TL__CADDY_IMPORT_LINE);
	int lines = 0;
	for (const char *p = s; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			len--;
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if ((size_t)(p + len - q) == il && !strncmp(q, TL__CADDY_IMPORT_LINE, il)) {
			t->prefix_len = (size_t)(p - s);
			t->suffix_off = nl ? (size_t)(nl + 1 - s) : t->main.size;
			t->prefix_lines = lines;
			return TL_OK;
		}
		lines++;
		p = nl ? nl + 1 : NULL;
	}
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
	                     "%s has no line \"" TL__CADDY_IMPORT_LINE "\"; rewrite it with "
	                     "`towlion route init` or add that line",
	                     t->main_path);
}

static int caddyfile_text(tl_buf *out, const table *t, const char *const *sites, size_t n);
static void cache_load(table *t, const char *globals, size_t globals_len);

static void stamp_of(tl__caddy_stamp *s, const struct stat *st)
{
	*s = (tl__caddy_stamp){(unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
	                       (unsigned long long)st->st_size, st->st_mtim.tv_sec,
	                       st->st_mtim.tv_nsec, st->st_ctim.tv_sec, st->st_ctim.tv_nsec};
}

static bool stamp_equal(const tl__caddy_stamp *a, const tl__caddy_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
	       a->ctime_s == b->ctime_s && a->ctime_ns == b->ctime_ns;
}

/* Were the file's mtime and ctime both before `t`? */
static bool stamp_before(const tl__caddy_stamp *s, const struct timespec *t)
{
	return (s->mtime_s < t->tv_sec || (s->mtime_s == t->tv_sec && s->mtime_ns < t->tv_nsec)) &&
	       (s->ctime_s < t->tv_sec || (s->ctime_s == t->tv_sec && s->ctime_ns < t->tv_nsec));
}

/*
 * Site file `nm`'s text from the cache, without reading the file, when
 * its stamp (device, inode, size, mtime, ctime) is the one recorded with
 * that text. A write to the file changes its ctime, which no one can set
 * back, so a match means the same bytes - unless the write fell in the
 * same clock tick as the recorded stamp. Two rules close that window:
 * a stamp is recorded only for a file that had settled before the read
 * began (read_sites), and, as git does for its index, a recorded stamp
 * not older than the cache file itself is not trusted ("racy").
 */
static bool text_from_cache(const table *t, site_entry *e, const tl__caddy_stamp *now)
{
	const tl__caddy_cached *c = tl__caddy_cache_find(t->cached, t->ncached, e->name);
	if (!c || !c->has_stamp || !stamp_equal(&c->stamp, now) ||
	    !stamp_before(&c->stamp, &t->cache_mtime) || memchr(c->source, '\0', c->source_len))
		return false;
	return (e->text = tl__strndup(c->source, c->source_len)) != NULL;
}

static int read_sites(table *t)
{
	DIR *d = opendir(t->sites_dir);
	if (!d) {
		if (errno == ENOENT)
			return TL_OK;
		return tl__error_os(TL_EIO, errno, "cannot read %s", t->sites_dir);
	}
	int rc = TL_OK;
	size_t cap = 0;
	struct timespec settled;
	clock_gettime(CLOCK_REALTIME, &settled);
	settled.tv_sec -= STAMP_SETTLED_S;
	for (struct dirent *de; rc == TL_OK && (de = readdir(d));) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		/* what Caddy's import of sites/NAME.caddy would read */
		if (len <= 6 || strcmp(nm + len - 6, ".caddy"))
			continue;
		if (t->n == cap) {
			site_entry *nv = tl__realloc(t->v, (cap = cap ? cap * 2 : 16) * sizeof(*nv));
			if (!nv) {
				rc = TL_ENOMEM;
				break;
			}
			t->v = nv;
		}
		site_entry *e = &t->v[t->n];
		memset(e, 0, sizeof(*e));
		t->n++;
		tl_buf text = TL_BUF_INIT;
		/* The stamp before the read: a write after it makes the next
		 * stamp differ, so the file is read again then. */
		struct stat st;
		bool stamped = fstatat(dirfd(d), nm, &st, 0) == 0 && S_ISREG(st.st_mode);
		if (stamped)
			stamp_of(&e->stamp, &st);
		if (!(e->name = tl__strndup(nm, len - 6)) ||
		    !(e->path = tl__path_join(t->sites_dir, nm))) {
			rc = TL_ENOMEM;
		} else if (stamped && text_from_cache(t, e, &e->stamp)) {
			e->has_stamp = true;
		} else if ((rc = tl__file_read_at(&text, dirfd(d), nm, e->path)) == TL_OK) {
			e->has_stamp = stamped && stamp_before(&e->stamp, &settled);
			t->stamps_new = t->stamps_new || e->has_stamp;
			e->text = text.ptr ? tl__buf_detach(&text) : tl__strdup("");
			if (!e->text)
				rc = TL_ENOMEM;
		}
		tl_buf_dispose(&text);
	}
	closedir(d);
	if (rc == TL_OK && t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_entry);
	return rc;
}

/* Validate the headers; a file whose header names another site is as
 * broken as one without a header. */
static int parse_headers(table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		site_entry *e = &t->v[i];
		int rc = tl__caddy_header_parse(&e->hdr, e->text, e->path);
		if (rc)
			return rc;
		if (strcmp(e->hdr.site, e->name))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY,
			                     "%s: its header says site=%s, not %s", e->path,
			                     e->hdr.site, e->name);
	}
	return TL_OK;
}

static int table_open(table *t, tl_ctx *ctx, bool need_main)
{
	memset(t, 0, sizeof(*t));
	const char *dir = tl__cfg(ctx, "TOWLION_CADDY_DIR");
	if (!*dir)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "TOWLION_CADDY_DIR is empty");
	if (!(t->dir = tl__strdup(dir)) || !(t->sites_dir = tl__path_join(dir, "sites")) ||
	    !(t->cache_dir = tl__path_join(dir, "adapted")) ||
	    !(t->main_path = tl__path_join(dir, "Caddyfile")))
		return TL_ENOMEM;
	int rc;
	if (need_main) {
		rc = tl__file_read(&t->main, t->main_path);
		if (rc == TL_ENOTFOUND) {
			/* First use: the main Caddyfile with the defaults. */
			if ((rc = tl_caddy_write_main(ctx, NULL)) ||
			    (rc = tl__file_read(&t->main, t->main_path)))
				return rc;
		} else if (rc) {
			return rc;
		}
		if ((rc = find_import(t)))
			return rc;
		/* The cache first: a site file whose stamp it holds is not read. */
		tl_buf globals = TL_BUF_INIT;
		if ((rc = caddyfile_text(&globals, t, NULL, 0)) == TL_OK)
			cache_load(t, globals.ptr, globals.size);
		tl_buf_dispose(&globals);
		if (rc)
			return rc;
	}
	return read_sites(t);
}

/* Caddyfile text: the main file with `sites` (n of them) in place of the
 * import line. */
static int caddyfile_text(tl_buf *out, const table *t, const char *const *sites, size_t n)
{
	tl__buf_clear(out);
	int rc = tl__buf_put(out, t->main.ptr, t->prefix_len);
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		rc = tl__buf_puts(out, sites[i]);
		if (rc == TL_OK && *sites[i] && sites[i][strlen(sites[i]) - 1] != '\n')
			rc = tl__buf_putc(out, '\n');
		/* Caddy accepts a block left open at the end of its input, but in
		 * the real main Caddyfile it would swallow the next site file. An
		 * (empty) snippet after each file turns that into an error. */
		if (rc == TL_OK)
			rc = tl__buf_printf(out, "(towlion_end_of_site_file_%zu) {\n}\n", i);
	}
	if (rc == TL_OK)
		rc = tl__buf_put(out, t->main.ptr + t->suffix_off, t->main.size - t->suffix_off);
	if (rc == TL_OK && !out->ptr)
		rc = tl__buf_puts(out, "");
	return rc;
}

/* The cache, adapted/cache (its format: cache.c). It is used only when
 * made with the same globals, and a site's record only when made from the
 * same file text, so a hand edit or a new main Caddyfile simply makes
 * Caddy adapt again. */
static char *cache_file(const table *t)
{
	return tl__path_join(t->cache_dir, "cache");
}

/* Read the cache into anonymous memory faulted in by one mmap
 * (MAP_POPULATE): at a thousand sites it is a megabyte, and 256 separate
 * page faults into a malloc'd buffer cost more than the read itself.
 * Sets t->cache_mtime from the same open file, taken before its text:
 * an older time only makes more stamps "racy" (read again). */
static int cache_read(table *t, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TL_ENOTFOUND;
	struct stat st;
	int rc = fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size ? TL_EIO : TL_OK;
	size_t len = 0, cap = rc ? 0 : (size_t)st.st_size + 1;
	char *m = rc ? MAP_FAILED
	             : mmap(NULL, cap, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		rc = TL_EIO;
	while (rc == TL_OK) {
		ssize_t n = read(fd, m + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? TL_EIO : TL_OK;
		if (n <= 0)
			break;
		if ((len += (size_t)n) == cap)
			rc = TL_EIO; /* it grew while read: another time */
	}
	close(fd);
	if (rc && m != MAP_FAILED)
		munmap(m, cap);
	if (rc)
		return rc;
	t->cache = m;
	t->cache_len = len;
	t->cache_map = cap;
	t->cache_mtime = st.st_mtim;
	return TL_OK;
}

/* Read the cache; any problem just means no cache. */
static void cache_load(table *t, const char *globals, size_t globals_len)
{
	char *p = cache_file(t);
	int rc = p ? cache_read(t, p) : TL_ENOMEM;
	free(p);
	if (rc == TL_OK)
		rc = tl__caddy_cache_parse(t->cache, t->cache_len, globals, globals_len, &t->base,
		                           &t->base_len, &t->cached, &t->ncached);
	if (rc && t->cache) {
		munmap(t->cache, t->cache_map);
		t->cache = NULL;
		t->cache_len = t->cache_map = 0;
	}
	if (rc)
		tl_error_clear();
}

static bool cache_lookup(const table *t, site_entry *e)
{
	const tl__caddy_cached *c = tl__caddy_cache_find(t->cached, t->ncached, e->name);
	if (!c || c->source_len != strlen(e->text) || memcmp(c->source, e->text, c->source_len))
		return false;
	e->rec = c->rec;
	e->rec_len = c->rec_len;
	return true;
}

static int adapt_entry(tl_ctx *ctx, const table *t, site_entry *e, bool use_cache)
{
	if (use_cache && cache_lookup(t, e))
		return TL_OK;
	tl_buf text = TL_BUF_INIT;
	json_t *adapted = NULL;
	const char *one[] = {e->text};
	int rc = caddyfile_text(&text, t, one, 1);
	if (rc == TL_OK)
		rc = tl__caddy_adapt(&adapted, ctx, text.ptr, text.size, e->path, t->prefix_lines);
	if (rc == TL_OK && (rc = tl__caddy_split(&e->own, adapted)) == TL_OK) {
		e->rec = e->own.ptr;
		e->rec_len = e->own.size;
		e->fresh = true;
	}
	json_decref(adapted);
	tl_buf_dispose(&text);
	return rc;
}

/* A record field (merge.c's format) straight to the file. */
static bool field_write(FILE *f, char tag, const char *v, size_t len)
{
	return fprintf(f, "%c %zu\n", tag, len) > 0 && fwrite(v, 1, len, f) == len &&
	       putc('\n', f) != EOF;
}

/* Only a cache: written without fsync (a torn file fails to parse and
 * costs an /adapt per site next time, nothing else). Streamed through
 * stdio's buffer: a megabyte built in memory first was a megabyte of
 * fresh pages to fault in and copy at a thousand sites. */
static void cache_store(tl_ctx *ctx, const table *t, const tl_buf *globals, const char *base,
                        size_t base_len, site_entry *const *sites, size_t n)
{
	char *p = cache_file(t);
	char *tmp = p ? tl__sprintf("%s.tmp-%ld", p, (long)getpid()) : NULL;
	bool ok = false;
	if (tmp && tl__mkdir_p(t->cache_dir, 0755) == TL_OK) {
		FILE *f = fopen(tmp, "we");
		if (f) {
			char stamp[TL__CADDY_STAMP_MAX];
			size_t sl;
			setvbuf(f, NULL, _IOFBF, 64 * 1024); /* 16 writes a megabyte, not 256 */
			ok = fputs(TL__CADDY_CACHE_MAGIC, f) != EOF &&
			     field_write(f, 'g', globals->ptr, globals->size) &&
			     field_write(f, 'b', base, base_len);
			for (size_t i = 0; ok && i < n; i++)
				ok = field_write(f, 'n', sites[i]->name, strlen(sites[i]->name)) &&
				     (!sites[i]->has_stamp ||
				      ((sl = tl__caddy_stamp_text(stamp, &sites[i]->stamp)) &&
				       field_write(f, 's', stamp, sl))) &&
				     field_write(f, 'f', sites[i]->text, strlen(sites[i]->text)) &&
				     field_write(f, 'e', sites[i]->rec, sites[i]->rec_len);
			ok = (fclose(f) == 0) && ok;
			ok = ok && rename(tmp, p) == 0;
			if (!ok)
				unlink(tmp);
		}
	}
	if (!ok)
		tl__log(ctx, TL_LOG_WARN, "cannot write the cache %s (the next change adapts every "
		        "site again)", p ? p : "adapted/cache");
	free(p);
	free(tmp);
}

static int find_entry(const table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return (int)i;
	return -1;
}

static int lock_routes(tl__lock **lk, tl_ctx *ctx)
{
	char *dir = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	if (!dir)
		return TL_ENOMEM;
	int rc = tl__mkdir_p(dir, 0700);
	if (rc == TL_OK)
		rc = tl__lock_acquire(lk, ctx, dir, "routes", LOCK_TIMEOUT_MS);
	free(dir);
	return rc;
}

/* A site's pending file: written before Caddy is asked to load a change
 * to that site, so that a process killed between Caddy accepting it and
 * the site file being written leaves a record of it. Empty: the change
 * removes the site. Caddy imports only the .caddy files: never this one. */
#define PENDING_SUFFIX ".caddy.pending"

static char *pending_path(const table *t, const char *name)
{
	return tl__sprintf("%s/%s" PENDING_SUFFIX, t->sites_dir, name);
}

/* The configuration Caddy runs when site `name` has file text `text`
 * (NULL: the site is removed; name NULL: the table as on disk). */
typedef struct {
	const char *name, *text;
	int idx;                 /* the site's index in the table, or -1 */
	site_entry fresh;        /* the changed site */
	site_entry **live;       /* the sites as they will be, sorted */
	size_t nlive;
	tl_buf globals, config;
} change;

static void change_dispose(change *c)
{
	entry_dispose(&c->fresh);
	free(c->live);
	tl_buf_dispose(&c->globals);
	tl_buf_dispose(&c->config);
	memset(c, 0, sizeof(*c));
}

/* The server-wide security headers route for the sites `live` (*out
 * NULL when no site wants it): every host but those of the sites without
 * security_headers=1 in their header line. */
static int security_route(char **out, site_entry *const *live, size_t n)
{
	size_t nhosts = 0, k = 0;
	bool any = false;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		nhosts += live[i]->hdr.nhosts;
		any = any || live[i]->hdr.security_headers;
	}
	if (!any)
		return TL_OK;
	const char **optout = tl__calloc(nhosts + 1, sizeof(char *));
	if (!optout)
		return TL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		for (size_t h = 0; !live[i]->hdr.security_headers && h < live[i]->hdr.nhosts; h++)
			optout[k++] = live[i]->hdr.hosts[h];
	int rc = tl__caddy_security_route(out, optout, k);
	free(optout);
	return rc;
}

static int change_build(change *c, tl_ctx *ctx, table *t, const char *name, const char *text)
{
	int rc;
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->text = text;
	c->idx = name ? find_entry(t, name) : -1;
	site_entry *fe = &c->fresh;
	if (name && text) {
		if (!(fe->name = tl__strdup(name)) ||
		    !(fe->path = tl__sprintf("%s/%s.caddy", t->sites_dir, name)) ||
		    !(fe->text = tl__strdup(text)))
			return TL_ENOMEM;
		if ((rc = tl__caddy_header_parse(&fe->hdr, text, fe->path)))
			return rc;
		/* A hostname belongs to one site. */
		for (size_t i = 0; i < t->n; i++) {
			if ((int)i == c->idx)
				continue;
			for (size_t a = 0; a < fe->hdr.nhosts; a++)
				for (size_t b = 0; b < t->v[i].hdr.nhosts; b++)
					if (!strcmp(fe->hdr.hosts[a], t->v[i].hdr.hosts[b]))
						return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_CADDY,
						                     "hostname %s is already routed by site %s "
						                     "(%s); remove it there first",
						                     fe->hdr.hosts[a], t->v[i].name, t->v[i].path);
		}
	}
	const char **recs = tl__calloc(t->n + 2, sizeof(char *));
	size_t *lens = tl__calloc(t->n + 2, sizeof(size_t));
	c->live = tl__calloc(t->n + 1, sizeof(site_entry *));
	if (!recs || !lens || !c->live) {
		rc = TL_ENOMEM;
		goto out;
	}
	if ((rc = caddyfile_text(&c->globals, t, NULL, 0)))
		goto out;
	if (!t->cache)
		cache_load(t, c->globals.ptr, c->globals.size);
	if (!t->base) {
		if ((rc = tl__caddy_adapt(&t->base_adapted, ctx, c->globals.ptr, c->globals.size,
		                          t->main_path, -1)) ||
		    (rc = tl__caddy_split(&t->base_own, t->base_adapted)))
			goto out;
		t->base = t->base_own.ptr;
		t->base_len = t->base_own.size;
	}
	if (name && text && (rc = adapt_entry(ctx, t, fe, false)))
		goto out;
	/* The changed one in its place. */
	bool placed = !(name && text);
	for (size_t i = 0; i < t->n; i++) {
		if ((int)i == c->idx) {
			if (text)
				c->live[c->nlive++] = fe;
			placed = true;
			continue;
		}
		if (!placed && strcmp(name, t->v[i].name) < 0) {
			c->live[c->nlive++] = fe;
			placed = true;
		}
		c->live[c->nlive++] = &t->v[i];
	}
	if (!placed)
		c->live[c->nlive++] = fe;
	recs[0] = t->base;
	lens[0] = t->base_len;
	for (size_t i = 0; i < c->nlive; i++) {
		site_entry *e = c->live[i];
		if ((rc = tl__cancelled(ctx)) || (!e->rec && (rc = adapt_entry(ctx, t, e, true))))
			goto out;
		recs[i + 1] = e->rec;
		lens[i + 1] = e->rec_len;
	}
	char *lead = NULL;
	if ((rc = security_route(&lead, c->live, c->nlive)) == TL_OK)
		rc = tl__caddy_assemble(&c->config, recs, lens, c->nlive + 1, lead);
	free(lead);
out:
	free(recs);
	free(lens);
	return rc;
}

/* Does Caddy run exactly `config` now? */
static int caddy_runs(bool *out, const json_t *live, const tl_buf *config)
{
	json_t *j = json_loadb(config->ptr ? config->ptr : "", config->size, 0, NULL);
	if (!j)
		return tl__error_set(TL_EIO, TL_ERRCLASS_CADDY, "an assembled configuration is not JSON");
	*out = json_equal(live, j);
	json_decref(j);
	return TL_OK;
}

/* Make the site file say what the pending change says (finish) or drop
 * the pending change (undo); the directory is synced either way. */
static int settle_pending(table *t, const char *name, const char *text, bool finish)
{
	char *pend = pending_path(t, name);
	char *path = tl__sprintf("%s/%s.caddy", t->sites_dir, name);
	int rc = pend && path ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK && finish && text && rename(pend, path) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot rename %s to %s", pend, path);
	if (rc == TL_OK && finish && !text && unlink(path) != 0 && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot remove %s", path);
	if (rc == TL_OK && (!finish || !text) && unlink(pend) != 0 && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot remove %s", pend);
	if (rc == TL_OK)
		tl__fsync_dir(t->sites_dir);
	free(pend);
	free(path);
	return rc;
}

/*
 * A pending change of site `name` left by a process that died (or whose
 * /load answer was lost): when Caddy runs the configuration with it, the
 * change is finished (the file follows Caddy); otherwise it is undone, and
 * Caddy gets the table as on disk when it runs anything else (a restart
 * from an autosave, a hand edit). After this, Caddy and the files agree.
 */
static int reconcile_one(tl_ctx *ctx, table *t, const char *name, tl_buf *done)
{
	char *pend = pending_path(t, name);
	tl_buf text = TL_BUF_INIT;
	int rc = pend ? tl__file_read(&text, pend) : TL_ENOMEM;
	const char *new_text = text.size ? text.ptr : NULL;
	json_t *live = NULL;
	change cnew, cold;
	memset(&cnew, 0, sizeof(cnew));
	memset(&cold, 0, sizeof(cold));
	bool runs_new = false, runs_old = false;
	if (rc == TL_OK)
		rc = tl__caddy_get(&live, ctx, "/config/");
	if (rc == TL_OK && (rc = change_build(&cnew, ctx, t, name, new_text)) == TL_OK)
		rc = caddy_runs(&runs_new, live, &cnew.config);
	if (rc == TL_OK && !runs_new && (rc = change_build(&cold, ctx, t, NULL, NULL)) == TL_OK)
		rc = caddy_runs(&runs_old, live, &cold.config);
	if (rc == TL_OK && !runs_new && !runs_old)
		rc = tl__caddy_load_json(ctx, cold.config.ptr, cold.config.size);
	if (rc == TL_OK)
		rc = settle_pending(t, name, new_text, runs_new);
	if (rc == TL_OK) {
		const char *what = runs_new ? (new_text ? "finished: Caddy had accepted it, the site "
		                                          "file now says the same"
		                                        : "finished: Caddy had accepted it, the site "
		                                          "file is removed")
		                            : "undone: Caddy and the site file keep the route as it "
		                              "was";
		tl__step(ctx, "caddy.reconcile", name, "interrupted route change of %s %s", name,
		         what);
		tl__log(ctx, TL_LOG_WARN, "route %s: an interrupted change was %s", name, what);
		if (done)
			tl__buf_printf(done, "%sroute %s: interrupted change %s", done->size ? "\n" : "",
			               name, runs_new ? "finished" : "undone");
	} else {
		tl__error_prefix("cannot settle the interrupted route change of %s (%s stays)", name,
		                 pend ? pend : "its pending file");
	}
	json_decref(live);
	change_dispose(&cnew);
	change_dispose(&cold);
	tl_buf_dispose(&text);
	free(pend);
	return rc;
}

/* Names of the sites with a pending change (NULL-terminated, may be NULL). */
static int pending_names(char ***out, const table *t)
{
	*out = NULL;
	DIR *d = opendir(t->sites_dir);
	if (!d)
		return errno == ENOENT ? TL_OK : tl__error_os(TL_EIO, errno, "cannot read %s",
		                                               t->sites_dir);
	int rc = TL_OK;
	size_t sl = strlen(PENDING_SUFFIX);
	for (struct dirent *de; rc == TL_OK && (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len <= sl || strcmp(de->d_name + len - sl, PENDING_SUFFIX))
			continue;
		char *name = tl__strndup(de->d_name, len - sl);
		if (!name)
			rc = TL_ENOMEM;
		else if (tl__caddy_validate_site(name) != TL_OK)
			tl_error_clear(); /* not a name we would write: not ours */
		else
			rc = tl__strv_push(out, name);
		free(name);
	}
	closedir(d);
	return rc;
}

/* Settle every pending change; the table is read again after one. */
static int reconcile_locked(tl_ctx *ctx, table *t, tl_buf *done)
{
	char **names = NULL;
	int rc = pending_names(&names, t);
	for (size_t i = 0; rc == TL_OK && names && names[i]; i++)
		rc = reconcile_one(ctx, t, names[i], done);
	if (rc == TL_OK && names) {
		table_dispose(t);
		if ((rc = table_open(t, ctx, true)) == TL_OK)
			rc = parse_headers(t);
	}
	tl__strv_free(names);
	return rc;
}

/*
 * The transaction. `name`: the site changed (NULL: none, a reload);
 * `text`: its new file text, or NULL to remove it. Called under the lock.
 * The order makes a kill at any point recoverable: the pending file, then
 * Caddy's /load, then the pending file becomes the site file.
 */
/* Write site `name`'s new text (NULL: its removal) as its pending file,
 * which a process killed from here on leaves for reconcile_one(). */
static int write_pending(table *t, const char *name, const char *text)
{
	char *pend = pending_path(t, name);
	int rc = pend ? tl__mkdir_p(t->sites_dir, 0755) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(pend, text ? text : "", text ? strlen(text) : 0, 0644);
	free(pend);
	return rc;
}

/* Whether site `name`'s file says `text` (NULL: the file is gone). */
static bool site_file_says(const table *t, const char *name, const char *text)
{
	char *path = tl__sprintf("%s/%s.caddy", t->sites_dir, name);
	tl_buf now = TL_BUF_INIT;
	bool says = path && (text ? tl__file_read(&now, path) == TL_OK && now.ptr &&
	                                !strcmp(now.ptr, text)
	                          : access(path, F_OK) != 0);
	tl_buf_dispose(&now);
	free(path);
	return says;
}

/*
 * Caddy's /load failed (`rc`) with a pending change of `name` on disk.
 * Refused: the live config is unchanged, so the disk goes back too. Any
 * other failure (an answer lost) is settled by asking Caddy what it runs;
 * TL_OK when that turns out to be the change. The load's error is kept.
 */
static int settle_failed_load(tl_ctx *ctx, table *t, const char *name, const char *text,
                              int rc)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	if (rc == TL_EINVALID || rc == TL_EUSER)
		settle_pending(t, name, text, false);
	else if (reconcile_one(ctx, t, name, NULL) == TL_OK && site_file_says(t, name, text))
		return TL_OK;
	tl__error_restore(&saved);
	return rc;
}

/* Keep what was adapted for the next change, when anything is new. */
static void cache_if_changed(tl_ctx *ctx, table *t, const change *c, const char *name)
{
	bool changed = name != NULL || t->base_adapted || t->ncached != c->nlive || t->stamps_new;
	for (size_t i = 0; i < c->nlive && !changed; i++)
		changed = c->live[i]->fresh;
	if (changed)
		cache_store(ctx, t, &c->globals, t->base, t->base_len, c->live, c->nlive);
}

/* Apply a change of site `name` (text NULL: remove it; name NULL: the
 * table as on disk) under the routing lock: the pending file, Caddy's
 * /load, then the site file follows what Caddy runs. */
static int apply_locked(tl_ctx *ctx, table *t, const char *name, const char *text)
{
	change c;
	bool pending = false;
	int rc = change_build(&c, ctx, t, name, text);
	if (rc == TL_OK && name && (text || c.idx >= 0))
		pending = (rc = write_pending(t, name, text)) == TL_OK;
	if (rc == TL_OK)
		rc = tl__step(ctx, "caddy.load", name, "loading the new configuration into Caddy");
	if (rc == TL_OK && (rc = tl__caddy_load_json(ctx, c.config.ptr, c.config.size)) &&
	    pending) {
		rc = settle_failed_load(ctx, t, name, text, rc);
		pending = false; /* settled either way */
	}
	/* Caddy runs the new config: now the disk follows. */
	if (rc == TL_OK && pending &&
	    (rc = tl__step(ctx, "caddy.loaded", name, "Caddy accepted it; confirming the site file")) ==
	        TL_OK)
		rc = settle_pending(t, name, text, true);
	if (rc == TL_OK)
		cache_if_changed(ctx, t, &c, name);
	if (rc && name && text)
		tl__error_prefix("route %s not applied", name);
	change_dispose(&c);
	return rc;
}

/* Lock, open the table, run the transaction. */
static int apply(tl_ctx *ctx, const char *name, const char *text, const char *remove_by,
                 tl_buf *removed, tl_buf *done)
{
	tl__lock *lk = NULL;
	table t;
	memset(&t, 0, sizeof(t));
	int rc = lock_routes(&lk, ctx);
	if (rc)
		return rc;
	if ((rc = table_open(&t, ctx, true)) || (rc = parse_headers(&t)) ||
	    (rc = reconcile_locked(ctx, &t, done)))
		goto out;
	if (remove_by) {
		int idx = find_entry(&t, remove_by);
		for (size_t i = 0; idx < 0 && i < t.n; i++)
			for (size_t k = 0; k < t.v[i].hdr.nhosts; k++)
				if (!strcmp(t.v[i].hdr.hosts[k], remove_by))
					idx = (int)i;
		if (idx < 0) {
			rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CADDY,
			                   "no site is named %s or routes it (see `towlion route "
			                   "list`)",
			                   remove_by);
			goto out;
		}
		name = t.v[idx].name;
	}
	if ((rc = apply_locked(ctx, &t, name, text)) == TL_OK && removed && remove_by) {
		tl__buf_clear(removed);
		rc = tl__buf_puts(removed, name);
	}
out:
	table_dispose(&t);
	tl__lock_release(lk);
	return rc;
}

int tl__caddy_site_apply(tl_ctx *ctx, const char *name, const char *text)
{
	return apply(ctx, name, text, NULL, NULL, NULL);
}

int tl_caddy_write_main(tl_ctx *ctx, const tl_caddy_main_options *opts)
{
	TL__CHECK_ARG(ctx);
	tl_buf text = TL_BUF_INIT;
	const char *dir = tl__cfg(ctx, "TOWLION_CADDY_DIR");
	char *sites = tl__path_join(dir, "sites"), *main_path = tl__path_join(dir, "Caddyfile");
	int rc = !sites || !main_path ? TL_ENOMEM : tl_caddy_render_main(&text, ctx, opts);
	if (rc == TL_OK && (rc = tl__mkdir_p(sites, 0755)) == TL_OK)
		rc = tl__file_write_atomic(main_path, text.ptr, text.size, 0644);
	free(sites);
	free(main_path);
	tl_buf_dispose(&text);
	return rc;
}

int tl_caddy_route_set(tl_ctx *ctx, const tl_caddy_route *route)
{
	TL__CHECK_ARG(ctx && route);
	tl_buf text = TL_BUF_INIT;
	int rc = tl_caddy_render_site(&text, ctx, route);
	if (rc)
		return rc;
	if ((rc = tl__step(ctx, "caddy.apply", route->site, "routing %s", route->site)) == TL_OK)
		rc = apply(ctx, route->site, text.ptr, NULL, NULL, NULL);
	tl_buf_dispose(&text);
	return rc;
}

int tl_caddy_route_remove(tl_buf *removed, tl_ctx *ctx, const char *name)
{
	TL__CHECK_ARG(ctx && name && *name);
	int rc = tl__step(ctx, "caddy.remove", name, "removing the route of %s", name);
	return rc ? rc : apply(ctx, NULL, NULL, name, removed, NULL);
}

int tl_caddy_reload(tl_ctx *ctx)
{
	TL__CHECK_ARG(ctx);
	int rc = tl__step(ctx, "caddy.reload", NULL, "applying the routes on disk");
	return rc ? rc : apply(ctx, NULL, NULL, NULL, NULL, NULL);
}

int tl_caddy_reconcile(tl_buf *done, tl_ctx *ctx)
{
	TL__CHECK_ARG(ctx);
	tl__lock *lk = NULL;
	table t;
	tl_buf d = TL_BUF_INIT;
	/* Only a directory read when nothing is pending; the lock otherwise
	 * (a change in progress holds it, and settles its own file). */
	char **names = NULL;
	memset(&t, 0, sizeof(t));
	t.sites_dir = tl__path_join(tl__cfg(ctx, "TOWLION_CADDY_DIR"), "sites");
	int rc = t.sites_dir ? pending_names(&names, &t) : TL_ENOMEM;
	bool any = names != NULL;
	tl__strv_free(names);
	table_dispose(&t);
	if (rc == TL_OK && any && (rc = lock_routes(&lk, ctx)) == TL_OK &&
	    (rc = table_open(&t, ctx, true)) == TL_OK && (rc = parse_headers(&t)) == TL_OK)
		rc = reconcile_locked(ctx, &t, &d);
	if (rc == TL_OK && done)
		rc = tl__buf_set(done, d.ptr ? d.ptr : "", d.size);
	tl_buf_dispose(&d);
	table_dispose(&t);
	tl__lock_release(lk);
	return rc;
}

int tl_caddy_check(tl_ctx *ctx)
{
	TL__CHECK_ARG(ctx);
	table t;
	tl_buf text = TL_BUF_INIT, problems = TL_BUF_INIT;
	int rc = table_open(&t, ctx, true);
	if (rc)
		goto out;
	size_t bad = 0;
	const char **all = tl__calloc(t.n + 1, sizeof(char *));
	if (!all) {
		rc = TL_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		all[i] = t.v[i].text;
		site_entry *e = &t.v[i];
		if (tl__caddy_header_parse(&e->hdr, e->text, e->path) == TL_OK &&
		    strcmp(e->hdr.site, e->name))
			tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY, "%s: its header says site=%s",
			              e->path, e->hdr.site);
		else if (e->hdr.site)
			continue;
		tl__buf_printf(&problems, "%s%s", bad++ ? "; " : "", tl_error_last()->message);
	}
	/* One /adapt of the whole text, as Caddy would read it at start. */
	json_t *cfg = NULL;
	rc = caddyfile_text(&text, &t, all, t.n);
	if (rc == TL_OK && tl__caddy_adapt(&cfg, ctx, text.ptr, text.size, "the routing table",
	                                   -1) != TL_OK) {
		if (tl_error_last()->code != TL_EINVALID) {
			rc = tl_error_last()->code;
			free(all);
			goto out;
		}
		/* Find the broken files: each one on its own. */
		char *whole = tl__strdup(tl_error_last()->message);
		size_t before = bad;
		for (size_t i = 0; i < t.n; i++) {
			json_t *one = NULL;
			const char *txt[] = {t.v[i].text};
			tl_buf single = TL_BUF_INIT;
			if (caddyfile_text(&single, &t, txt, 1) == TL_OK &&
			    tl__caddy_adapt(&one, ctx, single.ptr, single.size, t.v[i].path,
			                    t.prefix_lines) != TL_OK)
				tl__buf_printf(&problems, "%s%s", bad++ ? "; " : "",
				               tl_error_last()->message);
			json_decref(one);
			tl_buf_dispose(&single);
		}
		if (bad == before) /* the main file, or the files together */
			tl__buf_printf(&problems, "%s%s", bad++ ? "; " : "", whole ? whole : "?");
		free(whole);
	}
	json_decref(cfg);
	free(all);
	if (rc == TL_OK && bad)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CADDY, "%zu problem%s in %s: %s", bad,
		                   bad == 1 ? "" : "s", t.dir, problems.ptr);
out:
	tl_buf_dispose(&text);
	tl_buf_dispose(&problems);
	table_dispose(&t);
	return rc;
}
