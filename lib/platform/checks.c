/*
 * The doctor's server checks: the OS, disk and inodes, the HTTP(S) ports,
 * backup freshness and certificate expiry. Each one fills an outcome and
 * never fails the report.
 */
#include "platform_int.h"
#include "towlion/validate.h"
#include "caddy/caddy_internal.h"
#include "towlion/backup.h"
#include "towlion/envfile.h"
#include "towlion/pg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

void tl__say(tl__outcome *o, int status, const char *hint, const char *fmt, ...)
{
	va_list ap;
	o->status = status;
	o->hint = hint;
	tl__buf_clear(&o->detail);
	va_start(ap, fmt);
	tl__buf_vprintf(&o->detail, fmt, ap);
	va_end(ap);
}

char *tl__existing_ancestor(const char *path)
{
	char *p = tl__strdup(path);
	struct stat st;
	while (p && stat(p, &st) != 0) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			strcpy(p, "/");
			break;
		}
		*slash = '\0';
	}
	return p;
}

void tl__check_os(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	struct utsname u;
	const char *kernel = uname(&u) == 0 ? u.release : "unknown";
	tl_envfile *rel = NULL;
	if (tl_envfile_open(&rel, "/etc/os-release", 0) != TL_OK) {
		tl__say(o, TL_CHECK_WARN, "Towlion targets Debian 12 (bookworm) or newer",
		        "no /etc/os-release; Linux %s", kernel);
		return;
	}
	const char *id = tl_envfile_get(rel, "ID"), *ver = tl_envfile_get(rel, "VERSION_ID");
	const char *pretty = tl_envfile_get(rel, "PRETTY_NAME");
	bool debian = id && !strcmp(id, "debian");
	/* "12" or "12.5": the major version's digits (none: not a release) */
	uint64_t major = 0;
	const char *vp = ver;
	if (!ver || !tl__parse_digits(&major, &vp) || (*vp && *vp != '.'))
		major = 0;
	if (debian && major >= 12)
		tl__say(o, TL_CHECK_OK, "", "%s, Linux %s", pretty ? pretty : "Debian", kernel);
	else
		tl__say(o, TL_CHECK_WARN, "Towlion is tested on Debian 12 (bookworm) or newer",
		        "%s, Linux %s", pretty ? pretty : id ? id : "unknown", kernel);
	tl_envfile_free(rel);
}

void tl__check_disk(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	char *at = tl__existing_ancestor(tl__cfg(ctx, "TOWLION_DATA_DIR"));
	tl__disk d;
	if (!at || tl__probe_disk(&d, at) != TL_OK) {
		tl__say(o, TL_CHECK_FAIL, "check that the data directory's file system is mounted",
		        "%s", at ? tl_error_last()->message : "out of memory");
		free(at);
		return;
	}
	double worst = d.used_pct > d.inodes_pct ? d.used_pct : d.inodes_pct;
	int st = worst >= 95 ? TL_CHECK_FAIL : worst > opts->disk_warn_pct ? TL_CHECK_WARN
	                                                                    : TL_CHECK_OK;
	tl__say(o, st,
	        st == TL_CHECK_OK ? ""
	                          : "free space: prune old images (towlion app prune), old "
	                            "backups (towlion backup prune) and logs",
	        "%s: %.1f%% of %.1f GiB used, %.1f%% of inodes", at, d.used_pct,
	        (double)d.total / (1024.0 * 1024 * 1024), d.inodes_pct);
	free(at);
}

/* 1: something accepts connections on 127.0.0.1:port. */
static int port_listening(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* 0 when the port can be bound on every address, else the errno. */
static int port_bind_errno(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	int err = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
	close(fd);
	return err;
}

/* Caddy answers on its admin API: a free port then means no site uses
 * it yet, not that Caddy is down. */
static bool caddy_running(tl_ctx *ctx)
{
	json_t *j = NULL;
	bool up = tl__caddy_get(&j, ctx, "/config/admin") == TL_OK;
	json_decref(j);
	tl_error_clear();
	return up;
}

void tl__check_ports(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	/* With TLS off, sites serve plain HTTP only: 443 is not Caddy's. */
	bool tls_off = !strcmp(tl__cfg(ctx, "TOWLION_TLS"), "off");
	const char *keys[] = {"TOWLION_HTTP_PORT", "TOWLION_HTTPS_PORT"};
	tl_buf d = TL_BUF_INIT;
	int status = TL_CHECK_OK;
	const char *hint = "";
	int caddy = -1; /* not asked yet */
	for (size_t i = 0; i < (tls_off ? 1u : 2u); i++) {
		const char *v = tl__cfg(ctx, keys[i]);
		uint64_t p = 0;
		int bad = tl_parse_uint(&p, v, 1, 65535, keys[i]);
		long port = (long)p;
		tl_error_clear();
		if (bad) {
			tl__say(o, TL_CHECK_FAIL, "set it to a TCP port", "%s=\"%s\" is not a port",
			        keys[i], v);
			tl_buf_dispose(&d);
			return;
		}
		if (i)
			tl__buf_puts(&d, "; ");
		if (port_listening((int)port)) {
			tl__buf_printf(&d, "%ld: listening", port);
			continue;
		}
		int err = port_bind_errno((int)port);
		if (err == 0) {
			if (caddy < 0)
				caddy = caddy_running(ctx);
			if (caddy) {
				tl__buf_printf(&d, "%ld: free (Caddy runs; no site listens on it yet)",
				               port);
				continue;
			}
			tl__buf_printf(&d, "%ld: free (nothing listens)", port);
			hint = "start Caddy (towlion platform up) so it serves the sites";
		} else if (err == EACCES) {
			tl__buf_printf(&d, "%ld: needs root or CAP_NET_BIND_SERVICE to bind", port);
			hint = "run Caddy as root or give it CAP_NET_BIND_SERVICE";
		} else {
			tl__buf_printf(&d, "%ld: in use on another address (%s)", port, strerror(err));
			continue;
		}
		status = TL_CHECK_WARN;
	}
	if (tls_off)
		tl__buf_puts(&d, " (TLS off: no HTTPS port)");
	tl__say(o, status, hint, "%s", d.ptr ? d.ptr : "");
	tl_buf_dispose(&d);
}

/* What a killed restore or deep verify left (a closed database, a scratch
 * database, a throwaway role) is repaired here too, and said first. */
static void repair_restores(tl_ctx *ctx, tl__outcome *o)
{
	tl_buf done = TL_BUF_INIT;
	if (tl_backup_repair(&done, ctx, NULL) != TL_OK) {
		tl__say(o, TL_CHECK_FAIL, "start PostgreSQL, then run `towlion backup repair`",
		        "an interrupted restore could not be repaired: %s", tl_error_last()->message);
	} else if (done.size) {
		for (char *p = done.ptr; *p; p++)
			if (*p == '\n')
				*p = ';';
		tl__buf_printf(&o->detail, "; repaired %s", done.ptr);
		if (o->status == TL_CHECK_OK || o->status == TL_CHECK_SKIP) {
			o->status = TL_CHECK_WARN;
			o->hint = "a restore or deep verify was killed; what it left was cleaned up: "
			          "check that the database holds what you expect";
		}
	}
	tl_buf_dispose(&done);
}

void tl__check_backups(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	tl__check_backups_list(ctx, opts, o);
	if (o->status != TL_CHECK_FAIL)
		repair_restores(ctx, o);
	tl_error_clear();
}

void tl__check_backups_list(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	tl_backup_list *l = NULL;
	if (tl_backup_list_get(&l, ctx, NULL) != TL_OK) {
		tl__say(o, TL_CHECK_WARN, "check TOWLION_BACKUP_DIR", "cannot list the backups: %s",
		        tl_error_last()->message);
		return;
	}
	/* App databases without any backup are the worst case: find them. */
	tl_pg *pg = NULL;
	tl_pg_db_list *dbs = NULL;
	if (tl_pg_connect(&pg, ctx) == TL_OK)
		tl_pg_list(&dbs, pg);
	tl_buf d = TL_BUF_INIT;
	int status = TL_CHECK_OK, n = 0;
	const char *hint = "";
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < tl_backup_list_count(l); i++) {
		const tl_backup_info *b = tl_backup_list_at(l, i);
		bool newest = true; /* newest first: the first of each database */
		for (size_t k = 0; k < i && newest; k++)
			newest = strcmp(tl_backup_list_at(l, k)->database, b->database) != 0;
		if (!newest)
			continue;
		int64_t age = now - b->created;
		bool old = age > opts->backup_max_age_s;
		bool bad = b->state == TL_BACKUP_FAILED || b->state == TL_BACKUP_INCOMPLETE;
		tl__buf_printf(&d, "%s%s %.1f h ago (%s)", n++ ? "; " : "", b->database,
		               (double)age / 3600.0, tl_backup_state_name(b->state));
		if (old || bad) {
			status = TL_CHECK_WARN;
			hint = bad ? "the newest backup is not usable: run `towlion backup run`"
			           : "backups are late: check the towlion-backup.timer";
		}
	}
	for (size_t i = 0; i < tl_pg_db_list_count(dbs); i++) {
		const char *db = tl_pg_db_list_at(dbs, i)->database;
		bool found = false;
		for (size_t k = 0; k < tl_backup_list_count(l) && !found; k++)
			found = !strcmp(tl_backup_list_at(l, k)->database, db);
		if (!found) {
			tl__buf_printf(&d, "%s%s never backed up", n++ ? "; " : "", db);
			status = TL_CHECK_WARN;
			hint = "run `towlion backup run` and enable towlion-backup.timer";
		}
	}
	if (n == 0)
		tl__say(o, TL_CHECK_SKIP, "", "no backups and no app databases yet");
	else
		tl__say(o, status, hint, "%s", d.ptr);
	tl_buf_dispose(&d);
	tl_pg_db_list_free(dbs);
	tl_pg_free(pg);
	tl_backup_list_free(l);
	tl_error_clear();
}

void tl__check_certs(tl_ctx *ctx, const tl_doctor_options *opts, tl__outcome *o)
{
	tl__cert *c = NULL;
	size_t n = 0;
	const char *dir = tl__cfg(ctx, "TOWLION_CADDY_DIR");
	if (tl__probe_certs(&c, &n, dir) != TL_OK) {
		tl__say(o, TL_CHECK_WARN, "", "cannot read the certificates: %s",
		        tl_error_last()->message);
		return;
	}
	if (n == 0) {
		tl__say(o, TL_CHECK_SKIP, "", "no certificates in %s/data/caddy/certificates", dir);
		return;
	}
	/* Sorted by expiry: the first is the one that matters. */
	double days = (double)(c[0].not_after - (int64_t)time(NULL)) / 86400.0;
	int st = days <= 0 ? TL_CHECK_FAIL : days < opts->cert_warn_days ? TL_CHECK_WARN
	                                                                 : TL_CHECK_OK;
	tl__say(o, st,
	        st == TL_CHECK_OK ? ""
	                          : "Caddy renews 30 days ahead: check its logs for ACME errors "
	                            "and that ports 80/443 reach this server",
	        "%zu certificate%s; %s %s in %.1f days", n, n == 1 ? "" : "s", c[0].subject,
	        days <= 0 ? "expired" : "expires", days < 0 ? -days : days);
	tl__certs_free(c, n);
}
