/* Parsing service URLs (postgresql://, redis://, http://) (internal). */
#ifndef TL_CORE_URL_H
#define TL_CORE_URL_H

#include "core.h"

typedef struct {
	char *scheme;   /* lowercase */
	char *user;     /* percent-decoded, or NULL */
	char *password; /* percent-decoded, or NULL */
	char *host;     /* without brackets for IPv6 */
	int port;       /* 0 when absent */
	char *path;     /* from the first '/', or "" */
} tl__url;

/* Parse `text`; TL_EINVALID naming `what` (the config key) on failure.
 * The password never appears in messages. */
int tl__url_parse(tl__url *out, const char *text, const char *what);
void tl__url_dispose(tl__url *url);
/* Percent-encode everything outside RFC 3986's unreserved set. */
int tl__url_encode(tl_buf *out, const char *s);
/* The same, but '/' stays as it is (a path, an S3 object key). */
int tl__url_encode_path(tl_buf *out, const char *s);
/* Append "scheme://user:password@", both percent-encoded. */
int tl__url_put_userinfo(tl_buf *out, const char *scheme, const char *user,
                         const char *password);

#endif
