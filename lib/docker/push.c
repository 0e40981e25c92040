/*
 * Push an image to its registry (POST /images/{name}/push), and the
 * X-Registry-Auth value that carries a registry's credentials to Docker.
 *
 * Docker answers 200 at once and then streams one JSON message a line:
 * progress ({"status":"Pushing","id":...}), the result ({"aux":{"Tag",
 * "Digest","Size"}}) or a failure ({"error":..., "errorDetail":...}),
 * which arrives inside that 200 answer: only reading the stream to its
 * end tells a push that worked from one that did not.
 */
#include "docker_int.h"
#include "core/url.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Longer messages than this are not Docker's: dropped, not buffered. */
#define PUSH_MESSAGE_MAX (64u * 1024)

typedef struct {
	tl_docker *d;
	const char *subject; /* repo:tag, for events */
	tl__docker_messages msgs; /* the answer cut into messages */
	tl_buf error;        /* the first error message */
	tl_buf digest;       /* aux.Digest */
} push_state;

static int on_push_message(void *payload, const char *s, size_t n)
{
	push_state *p = payload;
	json_t *j = json_loadb(s, n, 0, NULL);
	if (!j)
		return TL_OK;
	int rc = TL_OK;
	const char *err = json_string_value(json_object_get(json_object_get(j, "errorDetail"),
	                                                    "message"));
	if (!err)
		err = json_string_value(json_object_get(j, "error"));
	const char *digest = json_string_value(json_object_get(json_object_get(j, "aux"),
	                                                       "Digest"));
	const char *status = json_string_value(json_object_get(j, "status"));
	const char *id = json_string_value(json_object_get(j, "id"));
	if (err && p->error.size == 0)
		rc = tl__buf_puts(&p->error, err);
	else if (digest)
		rc = tl__buf_puts(&p->digest, digest);
	/* Byte counts of each layer are many and say little: the other
	 * statuses (Preparing, Pushed, Layer already exists, the digest) do. */
	else if (status && strcmp(status, "Pushing"))
		rc = tl__log(p->d->ctx, TL_LOG_DEBUG, "push %s: %s%s%s", p->subject, id ? id : "",
		             id ? ": " : "", status);
	json_decref(j);
	return rc;
}

static int push_sink(const char *data, size_t len, void *payload)
{
	push_state *p = payload;
	return tl__docker_messages_put(&p->msgs, data, len);
}

/* A registry's refusal of the credentials (or of none), as Docker words it. */
static int refused_for_auth(const char *msg)
{
	return strstr(msg, "unauthorized") || strstr(msg, "authentication required") ||
	       strstr(msg, "no basic auth credentials") || strstr(msg, "denied");
}

int tl_docker_image_push(tl_buf *digest, tl_docker *d, const char *repo, const char *tag,
                         const char *registry_auth)
{
	TL__CHECK_ARG(d && repo);
	if (!tag)
		tag = "latest";
	int rc = tl__docker_check_ref(repo, "image name");
	if (rc == TL_OK)
		rc = tl__docker_check_ref(tag, "image tag");
	if (rc)
		return rc;
	push_state p = {.d = d};
	p.msgs = (tl__docker_messages){.max = PUSH_MESSAGE_MAX, .on_message = on_push_message,
	                               .payload = &p};
	char *subject = tl__sprintf("%s:%s", repo, tag);
	tl_buf path = TL_BUF_INIT, answer = TL_BUF_INIT;
	rc = subject ? tl__buf_printf(&path, "/images/%s/push?tag=", repo) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__url_encode(&path, tag);
	if (rc == TL_OK)
		rc = tl__step(d->ctx, "docker.push", subject, "pushing %s", subject);
	long status = 0;
	if (rc == TL_OK) {
		p.subject = subject;
		char *what = tl__sprintf("push %s", subject);
		/* Docker refuses a push without the header (even an anonymous
		 * one): "{}" is the empty credential. */
		tl__docker_req r = {.method = "POST", .path = path.ptr, .sink = push_sink,
		                    .sink_payload = &p, .what = what,
		                    .registry_auth = registry_auth && *registry_auth ? registry_auth
		                                                                     : "e30="};
		rc = what ? tl__docker_request(d, &r, &status, &answer) : TL_ENOMEM;
		free(what);
	}
	if (rc == TL_OK && (status < 200 || status > 299))
		rc = tl__docker_error(status, answer.ptr, answer.size, "push an image");
	if (rc == TL_OK)
		rc = tl__docker_messages_end(&p.msgs);
	if (rc == TL_OK && p.error.size)
		rc = tl__error_set(refused_for_auth(p.error.ptr) ? TL_EAUTH : TL_ERROR,
		                   TL_ERRCLASS_DOCKER, "cannot push %s: %s", subject, p.error.ptr);
	if (rc == TL_OK && !p.digest.size)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "cannot push %s: Docker's answer ended without the pushed digest",
		                   subject);
	if (rc == TL_OK && digest)
		rc = tl__buf_set(digest, p.digest.ptr, p.digest.size);
	free(subject);
	tl_buf_dispose(&path);
	tl_buf_dispose(&answer);
	tl__docker_messages_dispose(&p.msgs);
	tl_buf_dispose(&p.error);
	tl_buf_dispose(&p.digest);
	return rc;
}

int tl_docker_registry_auth(tl_buf *out, const char *server, const char *user,
                            const char *password)
{
	TL__CHECK_ARG(out && server && *server && user && *user && password);
	json_t *j = json_pack("{s:s, s:s, s:s}", "username", user, "password", password,
	                      "serveraddress", server);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "registry credentials must be valid UTF-8");
	size_t n = strlen(s);
	/* Docker decodes the header as base64url (Go's URLEncoding, padded). */
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE);
	char *b64 = tl__calloc(1, cap);
	int rc = b64 ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK) {
		sodium_bin2base64(b64, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_URLSAFE);
		rc = tl__buf_puts(out, b64);
		sodium_memzero(b64, cap);
	}
	sodium_memzero(s, n);
	free(s);
	free(b64);
	return rc;
}
