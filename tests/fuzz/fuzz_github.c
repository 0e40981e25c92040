/* Fuzz what the GitHub client parses from answers it does not control:
 * Link headers (the next URL must be a substring of the header between
 * '<' and '>'), error bodies and header blocks turned into messages (which
 * must never contain the token), and the repository / marker validators
 * (an accepted repo has exactly one '/' and no ".." name).
 *
 * Input: first byte selects the target, the rest is its text; for tl__github_error
 * the text is split at the first NUL into headers and body. */
#include "github/github_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char TOKEN[] = "ghs_fuzzTOKENfuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0] % 4;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	char *text = malloc(n + 1);
	memcpy(text, p, n);
	text[n] = '\0';
	tl_buf b = TL_BUF_INIT;
	switch (sel) {
	case 0:
		if (tl__github_link_next(&b, text) == TL_OK) {
			/* The URL came from inside <...>. */
			if (!strstr(text, b.size ? b.ptr : "<>") && b.size)
				abort();
			if (memchr(b.ptr ? b.ptr : "", '>', b.size))
				abort();
			(void)tl__github_url_under_base(b.ptr ? b.ptr : "", "https://api.github.com");
		}
		break;
	case 1: {
		size_t hl = strlen(text); /* headers up to the first NUL */
		const char *body = hl < n ? text + hl + 1 : NULL;
		size_t bl = body ? n - hl - 1 : 0;
		tl_github gh = {.token = (char *)TOKEN};
		long status = 400 + (long)(n % 130);
		if (tl__github_error(&gh, status, text, hl, body, bl, "fuzz") == TL_OK)
			abort();
		if (strstr(tl_error_last()->message, TOKEN))
			abort();
		break;
	}
	case 2:
		if (tl_github_validate_repo(text) == TL_OK) {
			const char *s = strchr(text, '/');
			if (!s || strchr(s + 1, '/') || !strcmp(s + 1, "..") || !strcmp(s + 1, "."))
				abort();
		}
		break;
	case 3:
		if (tl_github_marker(&b, text) == TL_OK) {
			/* The key cannot close the comment early. */
			if (strstr(b.ptr + 5, "--") != b.ptr + b.size - 3)
				abort();
		}
		break;
	}
	tl_buf_dispose(&b);
	free(text);
	return 0;
}
