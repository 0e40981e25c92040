/* The connection to dockerd: one persistent libcurl handle per tl_docker,
 * API version negotiation, requests and the mapping of Docker's errors. */
#include "docker_int.h"

#include "core/url.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- requests ------------------------------------------------------- */

typedef struct {
	tl_docker *d;
	const tl__docker_req *r;
	tl_buf *body;
	int rc;           /* failure raised in a callback */
	tl_buf api_hdr;   /* Api-Version header, when asked for */
	int want_api;
	int checked; /* status looked at before the first streamed byte */
	int divert;  /* an error answer: buffer it instead of streaming it */
} xfer;

static size_t on_write(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;
	if (x->r->sink && !x->checked) {
		/* An error answer is Docker's JSON message, not the stream the sink
		 * expects: keep it for the caller's `body` instead. */
		long status = 0;
		curl_easy_getinfo(x->d->curl, CURLINFO_RESPONSE_CODE, &status);
		x->divert = status < 200 || status > 299;
		x->checked = 1;
	}
	int rc = TL_OK;
	if (x->r->sink && !x->divert)
		rc = x->r->sink(data, len, x->r->sink_payload);
	else if (!x->body)
		rc = TL_OK;
	else if (x->divert && x->body->size >= (1u << 20))
		rc = TL_OK; /* an error answer: its first MiB says why */
	else if (!x->divert && x->body->size + len > DK_ANSWER_MAX)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "cannot %s: Docker's answer is larger than %u bytes (the limit)",
		                   x->r->what ? x->r->what : "talk to Docker", DK_ANSWER_MAX);
	else
		rc = tl__buf_put(x->body, data, len);
	if (rc) {
		x->rc = rc;
		return 0;
	}
	return len;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t n = x->r->reader(buf, size * nmemb, x->r->reader_payload);
	if (n == (size_t)-1) {
		x->rc = tl_error_last()->code ? tl_error_last()->code : TL_EIO;
		return CURL_READFUNC_ABORT;
	}
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	xfer *x = p;
	size_t len = size * nmemb;
	static const char name[] = "api-version:";
	if (x->want_api && len > sizeof(name) - 1 &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		tl__buf_set(&x->api_hdr, v, vl);
	}
	return len;
}

static int on_progress(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	xfer *x = p;
	if (tl__cancelled(x->d->ctx)) {
		x->rc = TL_EUSER;
		return 1;
	}
	return 0;
}

static int transport_error(tl_docker *d, CURLcode cc, const char *what)
{
	int code = TL_EIO;
	const char *hint = "";
	if (cc == CURLE_COULDNT_CONNECT) {
		code = TL_EUNAVAILABLE;
		hint = "; is dockerd running (systemctl start docker), and does "
		       "TOWLION_DOCKER_HOST point at its socket?";
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		code = TL_ETIMEOUT;
	}
	return tl__error_set_upstream(code, TL_ERRCLASS_DOCKER, "", (long)cc,
	                              "cannot %s: no answer from Docker at %s: %s%s",
	                              what ? what : "talk to Docker", d->host,
	                              curl_easy_strerror(cc), hint);
}

static int perform(tl_docker *d, const tl__docker_req *r, long *status, tl_buf *body, xfer *x)
{
	CURL *c = d->curl;
	tl_buf url = TL_BUF_INIT;
	int rc;
	if (x->want_api)
		rc = tl__buf_printf(&url, "%s%s", d->base, r->path);
	else
		rc = tl__buf_printf(&url, "%s/v%s%s", d->base, d->api, r->path);
	if (rc)
		return rc;
	/* Reset options but keep the connection cache. */
	curl_easy_reset(c);
	struct curl_slist *hdrs = NULL;
	const char *method = r->method ? r->method : "GET";
	/* Anything but a read may change the containers a report lists. */
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		tl__docker_snapshot_drop(d->ctx);
	tl__ctx_docker_count(d->ctx, !strcmp(method, "GET") &&
	                                     tl__str_startswith(r->path, "/containers/json"));
	curl_easy_setopt(c, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	if (d->sock)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	if (r->reader) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s",
		         r->content_type ? r->content_type : "application/x-tar");
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		if (r->upload_len >= 0)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_len);
		/* dockerd never sends 100-continue; do not wait for it. */
		hdrs = curl_slist_append(hdrs, "Expect:");
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (r->body) {
			char ct[128];
			snprintf(ct, sizeof(ct), "Content-Type: %s",
			         r->content_type ? r->content_type : "application/json");
			hdrs = curl_slist_append(hdrs, ct);
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
	}
	tl_buf auth_hdr = TL_BUF_INIT; /* a credential: wiped after the call */
	if (r->registry_auth && *r->registry_auth) {
		if (tl__buf_printf(&auth_hdr, "X-Registry-Auth: %s", r->registry_auth)) {
			curl_slist_free_all(hdrs);
			tl_buf_dispose(&url);
			return TL_ENOMEM;
		}
		hdrs = curl_slist_append(hdrs, auth_hdr.ptr);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	if (r->timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	/* The progress callback is how a long transfer notices cancellation;
	 * short calls skip it to stay cheap. */
	if (r->sink || r->reader || r->timeout_ms == 0) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	if (auth_hdr.ptr)
		explicit_bzero(auth_hdr.ptr, auth_hdr.size);
	tl_buf_dispose(&auth_hdr);
	tl_buf_dispose(&url);
	if (x->rc)
		return x->rc;
	if (cc != CURLE_OK)
		return transport_error(d, cc, r->what);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	(void)body;
	return TL_OK;
}

int tl__docker_request(tl_docker *d, const tl__docker_req *r, long *status, tl_buf *body)
{
	xfer x = {d, r, body, TL_OK, TL_BUF_INIT, 0, 0, 0};
	if (body)
		tl__buf_clear(body);
	int rc = perform(d, r, status, body, &x);
	tl_buf_dispose(&x.api_hdr);
	return rc;
}

int tl__docker_error(long status, const char *body, size_t len, const char *what)
{
	char msg[512] = "";
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
	if (m)
		snprintf(msg, sizeof(msg), "%s", m);
	else if (body && len)
		snprintf(msg, sizeof(msg), "%.*s", (int)(len > 300 ? 300 : len), body);
	json_decref(j);
	size_t ml = strlen(msg);
	while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
		msg[--ml] = '\0';
	int code = status == 404   ? TL_ENOTFOUND
	           : status == 409 ? TL_ECONFLICT
	           : status == 401 || status == 403 ? TL_EAUTH
	           : status == 400 ? TL_EINVALID
	                           : TL_ERROR;
	char up[16];
	snprintf(up, sizeof(up), "%ld", status);
	return tl__error_set_upstream(code, TL_ERRCLASS_DOCKER, up, status,
	                              "cannot %s: Docker said: %s (HTTP %ld)",
	                              what ? what : "talk to Docker",
	                              ml ? msg : "(no message)", status);
}

int tl__docker_call(tl_docker *d, const char *method, const char *path, json_t *body, json_t **out,
            long ok_status, const char *what)
{
	return tl__docker_call_auth(d, method, path, body, out, ok_status, what, NULL);
}

int tl__docker_call_auth(tl_docker *d, const char *method, const char *path, json_t *body,
                         json_t **out, long ok_status, const char *what,
                         const char *registry_auth)
{
	char *text = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return tl__error_oom();
	}
	tl__docker_req r = {.method = method, .path = path, .body = text,
	            .body_len = text ? strlen(text) : 0, .upload_len = -1,
	            .timeout_ms = 60000, .what = what, .registry_auth = registry_auth};
	tl_buf resp = TL_BUF_INIT;
	long status = 0;
	int rc = tl__docker_request(d, &r, &status, &resp);
	free(text);
	if (rc == TL_OK && (status < 200 || status > 299) && status != ok_status)
		rc = tl__docker_error(status, resp.ptr, resp.size, what);
	if (rc == TL_OK && out) {
		if (resp.size == 0) {
			*out = json_null();
		} else {
			json_error_t je;
			*out = json_loadb(resp.ptr, resp.size, 0, &je);
			if (!*out)
				rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
				                   "cannot %s: Docker answered invalid JSON: %s", what,
				                   je.text);
		}
	}
	tl_buf_dispose(&resp);
	return rc;
}

int tl__docker_label_filters(tl_buf *q, const char *const *labels)
{
	if (!labels || !labels[0])
		return TL_OK;
	json_t *arr = json_array();
	for (const char *const *l = labels; *l; l++)
		json_array_append_new(arr, json_string(*l));
	json_t *f = json_pack("{s:o}", "label", arr);
	char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;
	json_decref(f);
	if (!s)
		return tl__error_oom();
	int rc = tl__buf_puts(q, strchr(q->ptr ? q->ptr : "", '?') ? "&filters=" : "?filters=");
	if (!rc)
		rc = tl__url_encode(q, s);
	free(s);
	return rc;
}

int tl__docker_inspect(json_t **out, tl_docker *d, const char *collection, const char *suffix,
               const char *kind, const char *name)
{
	char *path = tl__sprintf("/%s/%s%s", collection, name, suffix);
	char *what = tl__sprintf("inspect %s %s", kind, name);
	int rc = path && what ? tl__docker_call(d, "GET", path, NULL, out, 0, what) : TL_ENOMEM;
	free(path);
	free(what);
	return rc;
}

int tl__docker_list(json_t **out, tl_docker *d, const char *path, const char *const *labels,
            const char *what)
{
	tl_buf q = TL_BUF_INIT;
	int rc = tl__buf_puts(&q, path);
	if (!rc)
		rc = tl__docker_label_filters(&q, labels);
	if (!rc)
		rc = tl__docker_call(d, "GET", q.ptr, NULL, out, 0, what);
	tl_buf_dispose(&q);
	return rc;
}

/* ---- opening --------------------------------------------------------- */

static int parse_host(tl_docker *d)
{
	const char *h = d->host;
	if (tl__str_startswith(h, "unix://")) {
		if (h[7] != '/')
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "TOWLION_DOCKER_HOST \"%s\": a unix socket path must be "
			                     "absolute (unix:///var/run/docker.sock)", h);
		d->sock = tl__strdup(h + 7);
		d->base = tl__strdup("http://localhost");
		return d->sock && d->base ? TL_OK : TL_ENOMEM;
	}
	if (tl__str_startswith(h, "tcp://")) {
		tl__url u;
		tl_buf tmp = TL_BUF_INIT;
		if (tl__buf_printf(&tmp, "http://%s", h + 6))
			return TL_ENOMEM;
		int rc = tl__url_parse(&u, tmp.ptr, "TOWLION_DOCKER_HOST");
		tl_buf_dispose(&tmp);
		if (rc)
			return rc;
		d->tcp_host = tl__strdup(u.host);
		d->tcp_port = u.port ? u.port : 2375;
		d->base = strchr(u.host, ':') ? tl__sprintf("http://[%s]:%d", u.host, d->tcp_port)
		                              : tl__sprintf("http://%s:%d", u.host, d->tcp_port);
		tl__url_dispose(&u);
		return d->tcp_host && d->base ? TL_OK : TL_ENOMEM;
	}
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
	                     "TOWLION_DOCKER_HOST \"%s\" is not supported: use "
	                     "unix:///path/to/docker.sock or tcp://host:port", h);
}

/* Say precisely why a unix socket cannot be used before trying it. */
static int check_socket(const tl_docker *d)
{
	struct stat st;
	if (stat(d->sock, &st) != 0) {
		int e = errno;
		return tl__error_set_upstream(
			e == EACCES ? TL_EAUTH : TL_EUNAVAILABLE, TL_ERRCLASS_DOCKER, "", e,
			"Docker socket %s: %s; is dockerd running (systemctl start docker)? "
			"Otherwise set TOWLION_DOCKER_HOST to its socket", d->sock, strerror(e));
	}
	if (!S_ISSOCK(st.st_mode))
		return tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_DOCKER,
		                     "%s is not a socket; set TOWLION_DOCKER_HOST to dockerd's "
		                     "socket (unix:///var/run/docker.sock)", d->sock);
	if (access(d->sock, R_OK | W_OK) != 0)
		return tl__error_os(TL_EAUTH, errno,
		                    "no permission to use the Docker socket %s (run as root or "
		                    "add the user to the docker group)", d->sock);
	return TL_OK;
}

long tl__docker_api_number(const char *v)
{
	uint64_t major = 0, minor = 0;
	const char *p = v;
	if (!tl__parse_digits(&major, &p) || *p++ != '.' || !tl__parse_digits(&minor, &p) || *p ||
	    major > 999 || minor > 999)
		return -1;
	return (long)(major * 1000 + minor);
}

static int negotiate(tl_docker *d)
{
	tl__docker_req r = {.path = "/_ping", .upload_len = -1, .timeout_ms = 10000,
	            .what = "reach Docker"};
	tl_buf body = TL_BUF_INIT;
	xfer x = {d, &r, &body, TL_OK, TL_BUF_INIT, 1, 0, 0};
	long status = 0;
	int rc = perform(d, &r, &status, &body, &x);
	if (rc == TL_OK && status != 200)
		rc = tl__error_set_upstream(TL_EUNAVAILABLE, TL_ERRCLASS_DOCKER, "", status,
		                            "Docker at %s answered /_ping with HTTP %ld: is "
		                            "TOWLION_DOCKER_HOST really dockerd?", d->host, status);
	if (rc == TL_OK && x.api_hdr.size == 0)
		rc = tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DOCKER,
		                   "Docker at %s did not say its API version; it is too old "
		                   "(API %s or newer is required)", d->host, TL_DOCKER_API_VERSION);
	if (rc == TL_OK && tl__docker_api_number(x.api_hdr.ptr) < 0)
		rc = tl__error_bad_value(TL_EUNSUPPORTED, TL_ERRCLASS_DOCKER, "Docker API version",
		                         x.api_hdr.ptr, "Docker's Api-Version header must be like 1.41");
	if (rc == TL_OK) {
		snprintf(d->server_api, sizeof(d->server_api), "%s", x.api_hdr.ptr);
		if (tl__docker_api_number(d->server_api) < tl__docker_api_number(TL_DOCKER_API_VERSION))
			rc = tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DOCKER,
			                   "Docker at %s speaks API %s; libtowlion needs %s or newer "
			                   "(Docker 20.10+): upgrade Docker", d->host, d->server_api,
			                   TL_DOCKER_API_VERSION);
		/* We speak 1.41: newer daemons keep serving it unchanged. */
		snprintf(d->api, sizeof(d->api), "%s", TL_DOCKER_API_VERSION);
	}
	tl_buf_dispose(&x.api_hdr);
	tl_buf_dispose(&body);
	return rc;
}

int tl_docker_open(tl_docker **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out && ctx);
	tl_docker *d = tl__calloc(1, sizeof(*d));
	if (!d)
		return TL_ENOMEM;
	d->ctx = ctx;
	d->host = tl__strdup(tl__cfg(ctx, "TOWLION_DOCKER_HOST"));
	int rc = d->host ? parse_host(d) : TL_ENOMEM;
	if (rc == TL_OK && d->sock)
		rc = check_socket(d);
	if (rc == TL_OK && !(d->curl = curl_easy_init()))
		rc = tl__error_set(TL_ENOMEM, TL_ERRCLASS_CURL, "curl_easy_init failed");
	if (rc == TL_OK)
		rc = negotiate(d);
	if (rc) {
		tl_docker_free(d);
		return rc;
	}
	*out = d;
	return TL_OK;
}

void tl_docker_free(tl_docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	free(d->host);
	free(d->sock);
	free(d->tcp_host);
	free(d->base);
	free(d);
}

const char *tl_docker_api_version(const tl_docker *d)
{
	return d ? d->api : "";
}

const char *tl_docker_server_api_version(const tl_docker *d)
{
	return d ? d->server_api : "";
}

int tl_docker_version(tl_buf *version, tl_buf *os_arch, tl_docker *d)
{
	TL__CHECK_ARG(d);
	json_t *j = NULL;
	int rc = tl__docker_call(d, "GET", "/version", NULL, &j, 0, "read Docker's version");
	if (rc)
		return rc;
	const char *v = json_string_value(json_object_get(j, "Version"));
	const char *os = json_string_value(json_object_get(j, "Os"));
	const char *arch = json_string_value(json_object_get(j, "Arch"));
	if (version)
		rc = tl__buf_set(version, v ? v : "", v ? strlen(v) : 0);
	if (!rc && os_arch) {
		tl__buf_clear(os_arch);
		rc = tl__buf_printf(os_arch, "%s/%s", os ? os : "?", arch ? arch : "?");
	}
	json_decref(j);
	return rc;
}

int tl__docker_check_ref(const char *s, const char *what)
{
	if (!s || !*s)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s is empty", what);
	size_t n = 0;
	for (const char *p = s; *p; p++, n++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '/' || ch == ':' || ch == '@' || ch == '+' ||
		      ch == '-'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "%s \"%.80s\" has a character Docker names cannot have "
			                     "(0x%02x)", what, s, (unsigned char)ch);
		if (n > 255)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "%s is longer than 255 characters", what);
	}
	if (strstr(s, ".."))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s \"%s\" contains \"..\"",
		                     what, s);
	return TL_OK;
}
