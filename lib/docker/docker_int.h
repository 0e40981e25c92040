/* Internals of the Docker client shared by lib/docker/ (not API). */
#ifndef TL_DOCKER_INT_H
#define TL_DOCKER_INT_H

#include "core/core.h"
#include "core/http.h"
#include "towlion/docker.h"

#include <jansson.h>
#include <sys/types.h>

struct tl_docker {
	tl_ctx *ctx;
	char *host;     /* TOWLION_DOCKER_HOST as configured */
	char *sock;     /* unix socket path, or NULL for tcp */
	char *tcp_host; /* tcp://host:port */
	int tcp_port;
	char *base;     /* "http://localhost" or "http://host:port" */
	void *curl;     /* one CURL easy handle: keeps the connection alive */
	char api[16];        /* version used in request paths */
	char server_api[16]; /* what the daemon said it speaks */
};

/* Reads upload data for a streamed request body (like curl's read
 * callback): returns bytes written to buf (0 at the end), or (size_t)-1
 * after setting the error. */
typedef size_t (*tl__docker_reader)(char *buf, size_t len, void *payload);

typedef struct {
	const char *method;       /* "GET" when NULL */
	const char *path;         /* "/containers/json?all=1", without the version */
	const char *body;         /* JSON or other body, or NULL */
	size_t body_len;
	const char *content_type; /* default application/json when body is set */
	tl__docker_reader reader;         /* streamed upload instead of body */
	void *reader_payload;
	int64_t upload_len;       /* total length for reader, or -1 (chunked) */
	tl__http_sink sink;       /* stream the response body here */
	void *sink_payload;
	long timeout_ms;          /* 0: none */
	const char *what;         /* for messages: "start container x" */
	const char *registry_auth; /* X-Registry-Auth value (push, services/create), or NULL */
} tl__docker_req;

/* The largest answer of Docker's read into memory (lists, inspects). */
#define DK_ANSWER_MAX (32u << 20)

/* Perform a request; TL_OK when Docker answered (any status). The body is
 * buffered into `body` (may be NULL; TL_EIO past DK_ANSWER_MAX) unless
 * streamed; with a sink, an error answer (not 2xx) goes to `body` instead
 * of the sink (its first MiB). */
int tl__docker_request(tl_docker *d, const tl__docker_req *r, long *status, tl_buf *body);
/* Docker's Api-Version "1.41" -> 1041, so versions compare as numbers; -1
 * for anything but MAJOR.MINOR (sscanf's "%d.%d" took "1.41junk", " 1.41"
 * and "1.-5"). */
long tl__docker_api_number(const char *v);

/* Map a non-2xx answer to an error: 404 TL_ENOTFOUND, 409 TL_ECONFLICT,
 * others TL_ERROR; the message carries Docker's "message". */
int tl__docker_error(long status, const char *body, size_t len, const char *what);

/* A request with an optional JSON body (borrowed) whose answer must be
 * 2xx (or `ok_status`, e.g. 304, when non-zero); the parsed JSON answer
 * goes to *out when out is not NULL (json null when empty). */
int tl__docker_call(tl_docker *d, const char *method, const char *path, json_t *body,
            json_t **out, long ok_status, const char *what);
/* The same, sending `registry_auth` (may be NULL) as X-Registry-Auth:
 * the credentials Swarm hands the nodes that pull a service's image. */
int tl__docker_call_auth(tl_docker *d, const char *method, const char *path, json_t *body,
                         json_t **out, long ok_status, const char *what,
                         const char *registry_auth);

/* "?filters=<urlencoded {"label":[...]}>" for label filters. */
int tl__docker_label_filters(tl_buf *q, const char *const *labels);

/* GET /<collection>/<name><suffix> ("containers", "web", "/json"): the
 * object's JSON, errors naming "inspect <kind> <name>". */
int tl__docker_inspect(json_t **out, tl_docker *d, const char *collection, const char *suffix,
               const char *kind, const char *name);
/* The network named `name` (or, with or_id, whose id is `name`): its
 * inspect JSON in *out, or *out NULL when there is none. `scope` "swarm"
 * asks the swarm's managers only: a removed overlay's copy that this node
 * still lists (up to seconds after the removal) is not found. */
int tl__docker_network_find(json_t **out, tl_docker *d, const char *name, bool or_id,
                            const char *scope);
/* GET `path` narrowed by label filters (NULL: none): a JSON array, errors
 * naming `what` ("list images"). */
int tl__docker_list(json_t **out, tl_docker *d, const char *path, const char *const *labels,
            const char *what);


/* ---- log stream demultiplexer (demux.c), pure and fuzzable ---- */

/* Stream numbers in Docker's 8-byte frame header. */
enum { DK_STDIN = 0, DK_STDOUT = 1, DK_STDERR = 2, DK_SYSERR = 3 };

typedef struct {
	int raw;                 /* TTY: no frames, everything is stdout */
	unsigned char hdr[8];    /* a header being collected */
	size_t hdr_len;
	int stream;              /* stream of the current frame */
	uint32_t remaining;      /* payload bytes left in the current frame */
} tl__docker_demux;

/* Receives demultiplexed payload: TL_OK to go on, or an error code. */
typedef int (*tl__docker_demux_emit)(int stream, const char *data, size_t len, void *payload);

void tl__docker_demux_init(tl__docker_demux *m, int raw);
/* Feed any slice of the stream; frames may be split anywhere. A malformed
 * header is TL_EIO. */
int tl__docker_demux_feed(tl__docker_demux *m, const char *data, size_t len,
                          tl__docker_demux_emit emit, void *payload);
/* At the end of the stream: TL_EIO when it stopped inside a frame. */
int tl__docker_demux_finish(const tl__docker_demux *m);

/* ---- the answer to a hijacked exec start (hijack.c), pure and fuzzable ---- */

typedef struct {
	tl__docker_demux m;      /* the command's output, once the headers are read */
	tl_buf head;     /* header bytes, then the start of an error body */
	int in_headers;
	int status;      /* HTTP status, once the headers are read */
} tl__docker_hijack;

void tl__docker_hijack_init(tl__docker_hijack *h, int raw);
/* Feed any slice of the answer: 101/200 stream their payload to `emit`;
 * another status keeps the body for tl__docker_hijack_finish(). TL_EIO when it is
 * not an HTTP answer or its headers pass 64 KiB; `what` names the call. */
int tl__docker_hijack_feed(tl__docker_hijack *h, const char *data, size_t len,
                           tl__docker_demux_emit emit, void *payload, const char *what);
/* At the end: TL_OK when the output ended at a frame boundary, else the
 * error (closed before the headers, Docker's message for an error
 * status, a cut frame). */
int tl__docker_hijack_finish(tl__docker_hijack *h, const char *what);
void tl__docker_hijack_dispose(tl__docker_hijack *h);

/* The longest line sent as one event: a longer one is cut there and
 * marked, and the rest of it dropped, so that output without newlines
 * (a tenant's build step, logs, exec) keeps memory flat. */
#define DK_LINE_MAX (64u * 1024)
/* The most output read into a caller's buffers (logs, exec): past it the
 * call fails naming the limit; streamed as events there is no limit. */
#define DK_BUFFERED_MAX (16u << 20)

/* Splits streamed output into lines for OUTPUT events. */
typedef struct {
	tl_ctx *ctx;
	const char *subject;
	tl_buf pending[3]; /* partial line per stream (stdout, stderr, syserr) */
	int cutting[3];    /* dropping the rest of a line cut at DK_LINE_MAX */
} tl__docker_lines;

int tl__docker_lines_put(tl__docker_lines *l, int stream, const char *data, size_t len);

/* Splits a streamed answer of JSON messages, one a line (build, push),
 * into calls of on_message (messages.c). */
typedef struct {
	size_t max; /* longer messages are dropped */
	int (*on_message)(void *payload, const char *msg, size_t len);
	int (*on_dropped)(void *payload); /* told once per dropped message; may be NULL */
	void *payload;
	tl_buf line;  /* the message being read */
	int dropping; /* skipping the rest of an oversized message */
} tl__docker_messages;

int tl__docker_messages_put(tl__docker_messages *m, const char *data, size_t len);
/* The last message, when the answer ended without its newline. */
int tl__docker_messages_end(tl__docker_messages *m);
void tl__docker_messages_dispose(tl__docker_messages *m);
/* Emit what is left and free the buffers. */
int tl__docker_lines_flush(tl__docker_lines *l);
void tl__docker_lines_dispose(tl__docker_lines *l);

/* ---- tar of a build context (tar.c, ignore.c) ---- */

typedef struct tl__docker_ignore tl__docker_ignore;
/* The largest .dockerignore read. */
#define DK_IGNORE_MAX_BYTES (1u << 20)
/* Parse .dockerignore text (NULL/empty: nothing ignored); TL_EINVALID
 * past its limits (size, patterns, segments of a pattern). */
int tl__docker_ignore_parse(tl__docker_ignore **out, const char *text, size_t len);
void tl__docker_ignore_free(tl__docker_ignore *ig);
/* 1 when the relative path (slash separated) is excluded, 0 when not, -1
 * (error set) when the matching work for this context passed its limit. */
int tl__docker_ignore_match(tl__docker_ignore *ig, const char *rel);
/* 1 when some exception (!pattern) could match below directory `rel`, so
 * an excluded directory must still be walked. */
int tl__docker_ignore_may_reinclude(const tl__docker_ignore *ig, const char *rel);

typedef struct tl__docker_tar tl__docker_tar;
/* The most files and directories one build context may hold. */
#define DK_TAR_MAX_ENTRIES 200000u
/* Walk `dir` and plan a tar of it; `always` paths (NULL-terminated, may be
 * NULL) are included even when ignored. */
int tl__docker_tar_plan(tl__docker_tar **out, const char *dir, tl__docker_ignore *ig,
                const char *const *always);
/* Total bytes the tar will have. */
int64_t tl__docker_tar_size(const tl__docker_tar *t);
size_t tl__docker_tar_count(const tl__docker_tar *t);
/* The next bytes of the archive (a tl__docker_reader). */
size_t tl__docker_tar_read(char *buf, size_t len, void *tar);
void tl__docker_tar_free(tl__docker_tar *t);
/* The header block(s) of one member: type '0' file, '5' directory (the
 * name gets its '/'), '2' symlink to `link`; a pax header first when the
 * name, link, size or mtime does not fit ustar. Owner 0:0, mode & 07777,
 * a negative mtime as 0. */
int tl__docker_tar_header(tl_buf *out, const char *rel, char type, mode_t mode, int64_t size,
                  int64_t mtime, const char *link);

/* Container/image objects wrap the JSON Docker answered. */
struct tl_docker_container {
	json_t *j;
};
struct tl_docker_image {
	json_t *j;
};
tl_docker_container *tl__docker_container_wrap(json_t *j); /* takes a reference */
tl_docker_image *tl__docker_image_wrap(json_t *j);
/* Lists over a JSON array Docker answered (borrowed; items take refs). */
int tl__docker_container_list_new(tl_docker_container_list **out, json_t *arr);
int tl__docker_image_list_new(tl_docker_image_list **out, json_t *arr);

/* Names, ids and references go into request paths as they are: refuse
 * anything outside [A-Za-z0-9._/:@+-] (TL_EINVALID naming `what`). */
int tl__docker_check_ref(const char *s, const char *what);

#endif
