/*
 * Why a preview's binds are copies: Docker resolves a bind's host path
 * again every time the container starts, restarts included, long after
 * the deploy checked it. A preview's checkout is rewritten in place by
 * the next push (git replaces a directory by a committed symlink), even
 * when that push is then refused; a restart of the running release would
 * then mount whatever the link names, the host's "/" included. So each
 * release of a preview binds a copy of its sources, made right after the
 * check, in a directory only the platform writes (the preview's state
 * directory, 0700), with every component opened O_NOFOLLOW. Symlinks
 * inside the copied tree stay symlinks: the container's kernel resolves
 * them inside the container, where they cannot reach the host.
 */
#include "bindsnap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	const char *src;
	int64_t bytes;
	long files;
} budget;

static int too_big(const budget *b)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
	                     "bind source %s is too big for a preview, which binds copies of its "
	                     "sources (more than %lld MiB or %ld files in all): bind a smaller "
	                     "directory, put the files in the image, or use a named volume",
	                     b->src, TL__BIND_SNAPSHOT_MAX_BYTES >> 20, TL__BIND_SNAPSHOT_MAX_FILES);
}

/* What the copies of one release hold so far ("<bytes> <files>" in
 * <release>/.used): the limits are for all of them together, so that many
 * binds of one big tree cannot multiply it. */
static int used_read(budget *b, const char *rel)
{
	char *path = tl__path_join(rel, ".used");
	tl_buf text = TL_BUF_INIT;
	int rc = path ? tl__file_read(&text, path) : TL_ENOMEM;
	if (rc == TL_ENOTFOUND) { /* the release's first copy */
		tl_error_clear();
		tl_buf_dispose(&text);
		free(path);
		return TL_OK;
	}
	/* Ours, and read as strictly as input: "<bytes> <files>\n". A bad one
	 * would reset the budget the limits count on. */
	uint64_t bytes = 0, files = 0;
	const char *p = text.ptr ? text.ptr : "";
	if (rc == TL_OK &&
	    (!tl__parse_digits(&bytes, &p) || *p++ != ' ' || !tl__parse_digits(&files, &p) ||
	     strcmp(p, "\n") || bytes > INT64_MAX || files > LONG_MAX))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DEPLOY,
		                   "%s is not \"<bytes> <files>\"; remove the release's bind copies "
		                   "(its directory) and deploy again",
		                   path);
	if (rc == TL_OK) {
		b->bytes = (int64_t)bytes;
		b->files = (long)files;
	}
	tl_buf_dispose(&text);
	free(path);
	return rc;
}

static int used_write(const budget *b, const char *rel)
{
	char *path = tl__path_join(rel, ".used");
	char text[64];
	int n = snprintf(text, sizeof(text), "%lld %ld\n", (long long)b->bytes, b->files);
	int rc = path ? tl__file_write_atomic(path, text, (size_t)n, 0600) : TL_ENOMEM;
	free(path);
	return rc;
}

/* Open a canonical path with O_NOFOLLOW on every component (read-only,
 * never blocking on a FIFO): a link anywhere fails with ELOOP. */
static int open_nofollow(int *out, const char *path)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *copy = tl__strdup(path);
	if (fd < 0 || !copy) {
		if (fd >= 0)
			close(fd);
		free(copy);
		return copy ? tl__error_os(0, errno, "cannot open /") : TL_ENOMEM;
	}
	char *save = NULL;
	char *c = strtok_r(copy, "/", &save);
	while (c) {
		char *next = strtok_r(NULL, "/", &save);
		int flags = next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK;
		int nfd = openat(fd, c, flags | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		close(fd);
		if (nfd < 0) {
			free(copy);
			return tl__error_os(0, err, "cannot open %s without following links", path);
		}
		fd = nfd;
		c = next;
	}
	free(copy);
	*out = fd;
	return TL_OK;
}

static void same_owner_and_mode(int fd, const struct stat *st)
{
	/* As root we keep the owner, so a container user reads what it read
	 * in the checkout; as anyone else the copy is ours. */
	if (fchown(fd, st->st_uid, st->st_gid) != 0)
		errno = 0;
	fchmod(fd, st->st_mode & 07777);
}

static int copy_file(int sdir, int ddir, const char *name, budget *b)
{
	int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return tl__error_os(0, errno, "cannot read %s in %s", name, b->src);
	struct stat st;
	int out = -1, rc = TL_OK;
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return TL_OK; /* replaced under us by something else: not copied */
	}
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		rc = tl__error_os(0, errno, "cannot write the copy of %s in %s", name, b->src);
	char buf[65536];
	while (rc == TL_OK) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tl__error_os(0, errno, "cannot read %s in %s", name, b->src);
			break;
		}
		if (n == 0)
			break;
		b->bytes += n;
		if (b->bytes > TL__BIND_SNAPSHOT_MAX_BYTES) {
			rc = too_big(b);
			break;
		}
		for (ssize_t off = 0; off < n && rc == TL_OK;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno != EINTR)
				rc = tl__error_os(0, errno, "cannot write the copy of %s", name);
			else if (w > 0)
				off += w;
		}
	}
	if (rc == TL_OK)
		same_owner_and_mode(out, &st);
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int copy_tree(int sdir, int ddir, budget *b, int depth)
{
	if (depth > TL__BIND_SNAPSHOT_MAX_DEPTH)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "bind source %s nests directories deeper than %d", b->src,
		                     TL__BIND_SNAPSHOT_MAX_DEPTH);
	int dfd = dup(sdir);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return tl__error_os(0, errno, "cannot list %s", b->src);
	}
	int rc = TL_OK;
	struct dirent *e;
	while (rc == TL_OK && (e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		struct stat st;
		if (fstatat(sdir, n, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		if (++b->files > TL__BIND_SNAPSHOT_MAX_FILES)
			return closedir(d), too_big(b);
		if (S_ISREG(st.st_mode)) {
			rc = copy_file(sdir, ddir, n, b);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tn = readlinkat(sdir, n, target, sizeof(target) - 1);
			if (tn >= 0) {
				target[tn] = '\0';
				if (symlinkat(target, ddir, n) != 0)
					rc = tl__error_os(0, errno, "cannot copy the link %s in %s", n, b->src);
			}
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(ddir, n, 0700) != 0) {
				rc = tl__error_os(0, errno, "cannot copy the directory %s in %s", n, b->src);
				break;
			}
			int s2 = openat(sdir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(ddir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 >= 0 && d2 >= 0) {
				rc = copy_tree(s2, d2, b, depth + 1);
				if (rc == TL_OK)
					same_owner_and_mode(d2, &st);
			}
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		}
		/* devices, FIFOs and sockets are not copied */
	}
	closedir(d);
	return rc;
}

/* Copies of releases without a container (running or not) go. */
static void prune(const tl__deploy_attempt *a, const char *root)
{
	DIR *d = opendir(root);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (n[0] == '.' || !strcmp(n, a->release_id))
			continue;
		char f1[300], f2[300];
		snprintf(f1, sizeof(f1), "towlion.project=%s", a->p->name);
		snprintf(f2, sizeof(f2), "towlion.release=%s", n);
		const char *filters[] = {f1, f2, NULL};
		tl_docker_container_list *l = NULL;
		if (tl_docker_container_list_by_label(&l, a->docker, filters, 1) == TL_OK &&
		    tl_docker_container_list_count(l) == 0) {
			char *path = tl__path_join(root, n);
			if (path)
				tl__rm_rf(path, root);
			free(path);
		}
		tl_docker_container_list_free(l);
	}
	closedir(d);
	tl_error_clear();
}

/* The copy's name: one per source path (FNV-1a, 64 bits). */
static void name_of(char out[17], const char *src)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int tl__bind_snapshot(char **out, const tl__deploy_attempt *a, const char *src, mode_t mode)
{
	char name[17];
	name_of(name, src);
	const char *base = strrchr(src, '/');
	base = base && base[1] ? base + 1 : "root";
	char *root = tl__path_join(a->p->state_dir, "binds");
	char *rel = root ? tl__path_join(root, a->release_id) : NULL;
	char *final = rel ? tl__path_join(rel, name) : NULL;
	char *tmp = rel ? tl__sprintf("%s/.tmp-%s-%ld", rel, name, (long)getpid()) : NULL;
	int rc = (root && rel && final && tmp) ? TL_OK : TL_ENOMEM;
	int sfd = -1, dfd = -1;
	struct stat st, have;
	if (rc == TL_OK && lstat(final, &have) == 0 && S_ISDIR(have.st_mode))
		goto done; /* made for an earlier container of this release */
	if (rc == TL_OK)
		rc = tl__mkdir_p(rel, 0700);
	if (rc == TL_OK)
		prune(a, root);
	if (rc == TL_OK)
		tl__rm_rf(tmp, rel); /* a copy a killed deploy left */
	if (rc == TL_OK && mkdir(tmp, 0700) != 0)
		rc = tl__error_os(0, errno, "cannot make %s", tmp);
	if (rc == TL_OK && (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = tl__error_os(0, errno, "cannot open %s", tmp);
	budget b = {src, 0, 0};
	if (rc == TL_OK)
		rc = used_read(&b, rel);
	if (rc == TL_OK && S_ISDIR(mode)) {
		rc = open_nofollow(&sfd, src);
		if (rc == TL_OK && (fstat(sfd, &st) != 0 || !S_ISDIR(st.st_mode)))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
			                   "bind source %s changed while it was copied", src);
		if (rc == TL_OK)
			rc = copy_tree(sfd, dfd, &b, 0);
		if (rc == TL_OK)
			same_owner_and_mode(dfd, &st);
	} else if (rc == TL_OK && S_ISREG(mode)) {
		/* a file: the copy is <final>/<its name> */
		char *parent = tl__strndup(src, (size_t)(base - src));
		if (!parent)
			rc = TL_ENOMEM;
		else
			rc = open_nofollow(&sfd, parent);
		if (rc == TL_OK)
			rc = copy_file(sfd, dfd, base, &b);
		free(parent);
	} else if (rc == TL_OK) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "bind source %s is neither a directory nor a regular file", src);
	}
	/* On disk before a container may rely on it after a reboot. */
	if (rc == TL_OK && syncfs(dfd) != 0)
		rc = tl__error_os(0, errno, "cannot sync the copy of %s", src);
	if (rc == TL_OK)
		rc = used_write(&b, rel);
	if (rc == TL_OK && rename(tmp, final) != 0)
		rc = tl__error_os(0, errno, "cannot put the copy of %s in place", src);
	if (rc == TL_OK)
		rc = tl__fsync_dir(rel);
	if (rc != TL_OK && rc != TL_ENOMEM) {
		tl__error_saved saved;
		tl__error_save(&saved);
		tl__rm_rf(tmp, rel);
		tl__error_set_upstream(rc, saved.klass, saved.upstream, saved.upstream_code, "%s",
		                       saved.message);
	}
done:
	if (rc == TL_OK) {
		*out = S_ISREG(mode) ? tl__sprintf("%s/%s", final, base) : tl__strdup(final);
		if (!*out)
			rc = TL_ENOMEM;
	}
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	free(root);
	free(rel);
	free(final);
	free(tmp);
	return rc;
}
