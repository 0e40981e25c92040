/*
 * The image scan hook: run a configured scanner (trivy or anything with
 * the same conventions) on an image before it is released, and apply the
 * policy: warn, or block on HIGH/CRITICAL findings.
 */
#include "platform_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int tl_scan_options_init(tl_scan_options *opts, unsigned int version)
{
	tl_scan_options def = TL_SCAN_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_SCAN_OPTIONS_VERSION, "tl_scan_options");
}

/* `arg` with every "{image}" replaced. */
static char *substitute(const char *arg, const char *image)
{
	tl_buf b = TL_BUF_INIT;
	const char *p;
	while ((p = strstr(arg, "{image}"))) {
		tl__buf_put(&b, arg, (size_t)(p - arg));
		tl__buf_puts(&b, image);
		arg = p + 7;
	}
	tl__buf_puts(&b, arg);
	return tl__buf_detach(&b);
}

/* Count trivy's findings: Results[].Vulnerabilities[].Severity. */
static bool parse_trivy(tl_scan_result *r, const char *text, size_t len)
{
	/* Scanners may log before the JSON: start at the first '{'. */
	const char *brace = memchr(text, '{', len);
	if (!brace)
		return false;
	json_t *doc = json_loadb(brace, len - (size_t)(brace - text), JSON_DISABLE_EOF_CHECK,
	                         NULL);
	json_t *results = doc ? json_object_get(doc, "Results") : NULL;
	if (!doc || (!json_is_array(results) && !json_is_null(results) && results)) {
		json_decref(doc);
		return false;
	}
	if (!json_object_get(doc, "SchemaVersion") && !results) {
		json_decref(doc);
		return false;
	}
	r->critical = r->high = r->medium = r->low = 0;
	size_t i, k;
	json_t *res, *v;
	json_array_foreach(results, i, res)
	{
		json_array_foreach(json_object_get(res, "Vulnerabilities"), k, v)
		{
			const char *sev = json_string_value(json_object_get(v, "Severity"));
			if (!sev)
				continue;
			if (!strcmp(sev, "CRITICAL"))
				r->critical++;
			else if (!strcmp(sev, "HIGH"))
				r->high++;
			else if (!strcmp(sev, "MEDIUM"))
				r->medium++;
			else if (!strcmp(sev, "LOW"))
				r->low++;
		}
	}
	json_decref(doc);
	return true;
}

int tl_platform_scan_image(tl_scan_result *out, tl_ctx *ctx, const char *image,
                           const tl_scan_options *opts)
{
	TL__CHECK_ARG(ctx && image && *image && opts);
	TL__CHECK_VERSION(opts, TL_SCAN_OPTIONS_VERSION, "tl_scan_options");
	TL__CHECK_ARG(opts->argv && opts->argv[0] && *opts->argv[0]);
	TL__CHECK_ARG(opts->policy == TL_SCAN_WARN || opts->policy == TL_SCAN_BLOCK);
	if (strpbrk(image, " \t\n") || image[0] == '-')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "\"%s\" is not an image reference", image);
	const char *prog = opts->argv[0];
	char *argv[MAX_ARGS + 1] = {0};
	size_t n = 0;
	int rc = TL_OK;
	for (; opts->argv[n]; n++) {
		if (n == MAX_ARGS) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                   "the scanner command has more than %d arguments", MAX_ARGS);
			goto out;
		}
		if (!(argv[n] = substitute(opts->argv[n], image))) {
			rc = TL_ENOMEM;
			goto out;
		}
	}
	if ((rc = tl__step(ctx, "scan.image", image, "scanning %s with %s", image, prog)))
		goto out;
	tl__spawn_opts so = {.argv = (const char *const *)argv,
	                     .stdout_mode = TL__STDIO_BUFFER,
	                     .stderr_mode = TL__STDIO_BUFFER,
	                     .timeout_ms = opts->timeout_ms > 0 ? (int)opts->timeout_ms : 600000,
	                     .subject = image};
	tl__spawn_result sr = {0};
	if ((rc = tl__spawn(&sr, ctx, &so))) {
		if (rc == TL_ENOTFOUND)
			tl__error_prefix("image scan: the scanner %s", prog);
		tl__spawn_result_dispose(&sr);
		goto out;
	}
	tl_scan_result r = {-1, -1, -1, -1, sr.exited ? sr.exit_status : -1, 0, 0};
	r.parsed = sr.out.size && parse_trivy(&r, sr.out.ptr, sr.out.size);
	if (!r.parsed) {
		/* No report to read: the exit status is the verdict. */
		if (!sr.exited) {
			char why[64];
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_PROCESS, "image scan of %s: %s %s",
			                   image, prog, tl__spawn_describe(&sr, why, sizeof(why)));
			tl__spawn_result_dispose(&sr);
			goto out;
		}
		r.critical = 0;
		r.high = r.exit_status != 0;
	}
	int64_t serious = r.critical + r.high;
	if (serious > 0) {
		r.blocked = opts->policy == TL_SCAN_BLOCK;
		if (r.blocked)
			rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PROCESS,
			                   "image scan refused %s: %lld critical and %lld high "
			                   "findings (policy block; see the scanner's report)",
			                   image, (long long)r.critical, (long long)r.high);
		else
			rc = tl__log(ctx, TL_LOG_WARN,
			             "image scan of %s: %lld critical and %lld high findings "
			             "(policy warn: released anyway)",
			             image, (long long)r.critical, (long long)r.high);
	} else {
		rc = tl__log(ctx, TL_LOG_INFO, "image scan of %s: no high or critical findings",
		             image);
	}
	tl__spawn_result_dispose(&sr);
	if (out && (rc == TL_OK || r.blocked))
		*out = r;
out:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	return rc;
}
