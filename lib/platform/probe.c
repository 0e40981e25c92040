/*
 * Measurements shared by the doctor, the metrics and the alerts: disk and
 * inode use (statvfs), memory (/proc/meminfo), and the expiry of the
 * certificates Caddy keeps on disk.
 *
 * Certificates are read from Caddy's storage rather than through TLS
 * handshakes: no traffic, no SNI guessing, and it sees every certificate
 * Caddy manages, routed or not. The PEM files are decoded with a minimal
 * DER walk (Certificate > TBSCertificate > validity.notAfter, subject CN)
 * so the library needs no crypto library for it.
 */
#include "platform_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

int tl__probe_disk(tl__disk *out, const char *path)
{
	struct statvfs v;
	if (statvfs(path, &v) != 0)
		return tl__error_os(tl__errno_to_result(errno), errno, "cannot measure the disk of %s",
		                    path);
	memset(out, 0, sizeof(*out));
	uint64_t fr = v.f_frsize ? v.f_frsize : v.f_bsize;
	out->total = (uint64_t)v.f_blocks * fr;
	out->used = (uint64_t)(v.f_blocks - v.f_bfree) * fr;
	/* Like df: the share of what non-root users can have. */
	uint64_t usable = (uint64_t)(v.f_blocks - v.f_bfree + v.f_bavail) * fr;
	out->used_pct = usable ? 100.0 * (double)out->used / (double)usable : 0;
	out->inodes = v.f_files;
	out->inodes_used = v.f_files - v.f_ffree;
	out->inodes_pct = v.f_files ? 100.0 * (double)out->inodes_used / (double)v.f_files : 0;
	return TL_OK;
}

int tl__probe_memory(double *used_pct, uint64_t *total, uint64_t *available)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return tl__error_os(TL_EUNSUPPORTED, errno, "cannot read /proc/meminfo");
	char line[256];
	unsigned long long t = 0, a = 0, v;
	bool have_a = false;
	/* the kernel's own file, "MemTotal:  16318536 kB": sscanf is enough */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			t = v;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			a = v, have_a = true;
	}
	fclose(f);
	if (!t || !have_a)
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_OS,
		                     "/proc/meminfo has no MemTotal/MemAvailable");
	*used_pct = 100.0 * (double)(t - a) / (double)t;
	if (total)
		*total = t * 1024;
	if (available)
		*available = a * 1024;
	return TL_OK;
}

/* ---- a minimal DER reader --------------------------------------------- */

typedef struct {
	const unsigned char *p, *end;
} der;

/* Read one TLV; `in` advances past it, `val` spans its contents. */
static bool der_next(der *in, int *tag, der *val)
{
	if (in->end - in->p < 2)
		return false;
	*tag = in->p[0];
	size_t len = in->p[1];
	const unsigned char *q = in->p + 2;
	if (len & 0x80) {
		size_t n = len & 0x7f;
		if (n == 0 || n > 4 || (size_t)(in->end - q) < n)
			return false;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | *q++;
	}
	if ((size_t)(in->end - q) < len)
		return false;
	val->p = q;
	val->end = q + len;
	in->p = q + len;
	return true;
}

static int64_t der_time(int tag, const der *v)
{
	size_t n = (size_t)(v->end - v->p);
	const char *s = (const char *)v->p;
	int64_t t = -1;
	/* RFC 5280: UTCTime YYMMDDHHMMSSZ (50-99: 19xx), GeneralizedTime
	 * YYYYMMDDHHMMSSZ, both in UTC and with seconds */
	if (tag == 0x17 && tl__parse_utc(&t, s, n, "%y%m%d%H%M%SZ"))
		return t;
	if (tag == 0x18 && tl__parse_utc(&t, s, n, "%Y%m%d%H%M%SZ"))
		return t;
	return -1;
}

/* notAfter and the subject's CN of a DER certificate. */
static bool cert_parse(const unsigned char *buf, size_t len, int64_t *not_after, char **cn)
{
	der in = {buf, buf + len}, cert, tbs, x;
	int tag;
	if (!der_next(&in, &tag, &cert) || tag != 0x30 || !der_next(&cert, &tag, &tbs) ||
	    tag != 0x30)
		return false;
	if (!der_next(&tbs, &tag, &x)) /* [0] version, or the serial */
		return false;
	if (tag == 0xa0 && !der_next(&tbs, &tag, &x)) /* serial */
		return false;
	der validity, subject;
	if (!der_next(&tbs, &tag, &x) || /* signature algorithm */
	    !der_next(&tbs, &tag, &x) || /* issuer */
	    !der_next(&tbs, &tag, &validity) || tag != 0x30 ||
	    !der_next(&tbs, &tag, &subject) || tag != 0x30)
		return false;
	if (!der_next(&validity, &tag, &x) || !der_next(&validity, &tag, &x))
		return false;
	*not_after = der_time(tag, &x);
	*cn = NULL;
	/* subject: SET { SEQ { OID, value } } ... ; CN is 2.5.4.3 */
	der set, atv, oid, val;
	while (!*cn && der_next(&subject, &tag, &set))
		while (!*cn && der_next(&set, &tag, &atv))
			if (der_next(&atv, &tag, &oid) && tag == 0x06 && oid.end - oid.p == 3 &&
			    !memcmp(oid.p, "\x55\x04\x03", 3) && der_next(&atv, &tag, &val))
				*cn = tl__strndup((const char *)val.p, (size_t)(val.end - val.p));
	return *not_after >= 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The first certificate of a PEM text, decoded. */
static unsigned char *pem_first(const char *text, size_t *len)
{
	const char *b = strstr(text, "-----BEGIN CERTIFICATE-----");
	const char *e = b ? strstr(b, "-----END CERTIFICATE-----") : NULL;
	if (!e)
		return NULL;
	b += 27;
	unsigned char *out = malloc((size_t)(e - b) * 3 / 4 + 3);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; out && b < e; b++) {
		int v = b64val((unsigned char)*b);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*len = n;
	return out;
}

static int add_cert(tl__cert **v, size_t *n, const char *path)
{
	tl_buf text = TL_BUF_INIT;
	if (tl__file_read(&text, path) != TL_OK) {
		tl_error_clear();
		return TL_OK; /* vanished or unreadable: Caddy may be renewing it */
	}
	size_t len = 0;
	unsigned char *der_buf = pem_first(text.ptr, &len);
	tl_buf_dispose(&text);
	int64_t na;
	char *cn = NULL;
	int rc = TL_OK;
	if (der_buf && cert_parse(der_buf, len, &na, &cn)) {
		tl__cert *nv = tl__realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv) {
			rc = TL_ENOMEM;
		} else {
			*v = nv;
			const char *base = strrchr(path, '/');
			base = base ? base + 1 : path;
			nv[*n].path = tl__strdup(path);
			/* Caddy's certificates name their hosts in the SAN only;
			 * the file is named after the host. */
			nv[*n].subject = cn ? cn : tl__strndup(base, strlen(base) - 4);
			nv[*n].not_after = na;
			cn = NULL;
			(*n)++;
		}
	}
	free(cn);
	free(der_buf);
	return rc;
}

/* certificates/<issuer>/<name>/<name>.crt */
static int walk(tl__cert **v, size_t *n, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return TL_OK;
	struct dirent *e;
	int rc = TL_OK;
	while (rc == TL_OK && (e = readdir(d))) {
		/* Certificates of Caddy's own CA ("local" issuer, TLS internal)
		 * live 12 hours and renew by themselves: not an expiry risk. */
		if (e->d_name[0] == '.' || (depth == 0 && !strcmp(e->d_name, "local")))
			continue;
		char *path = tl__path_join(dir, e->d_name);
		if (!path) {
			rc = TL_ENOMEM;
			break;
		}
		if (depth < 2)
			rc = walk(v, n, path, depth + 1);
		else if (tl__str_endswith(e->d_name, ".crt"))
			rc = add_cert(v, n, path);
		free(path);
	}
	closedir(d);
	return rc;
}

static int cert_cmp(const void *a, const void *b)
{
	const tl__cert *x = a, *y = b;
	return x->not_after < y->not_after ? -1 : x->not_after > y->not_after;
}

int tl__probe_certs(tl__cert **out, size_t *n, const char *caddy_dir)
{
	char *dir = tl__path_join(caddy_dir, "data/caddy/certificates");
	tl__cert *v = NULL;
	size_t cnt = 0;
	int rc = dir ? walk(&v, &cnt, dir, 0) : TL_ENOMEM;
	free(dir);
	if (rc) {
		tl__certs_free(v, cnt);
		return rc;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cert_cmp); /* soonest expiry first */
	*out = v;
	*n = cnt;
	return TL_OK;
}

void tl__certs_free(tl__cert *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].path);
		free(c[i].subject);
	}
	free(c);
}
