/* Fuzz the validators against independent, naive reference rules: they
 * must never crash, and never accept what the reference refuses. */
#include "towlion/validate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ref_app(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 32 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && s[i + 1] == '-')
			return false;
	}
	return true;
}

static bool ref_domain_chars(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	if (tl_validate_app_name(s) == TL_OK && !ref_app(s))
		abort();
	if (tl_validate_domain(s) == TL_OK && !ref_domain_chars(s))
		abort();
	if (tl_validate_hostport(s) == TL_OK) {
		const char *colon = strrchr(s, ':');
		if (!colon || atol(colon + 1) < 1 || atol(colon + 1) > 65535 ||
		    strpbrk(s, " \t\n;/@$`'\"") != NULL)
			abort();
	}
	uint32_t pr = 0;
	if (tl_parse_pr(&pr, s) == TL_OK && (pr < 1 || pr > TL_PR_MAX))
		abort();
	/* Every rejection leaves a message without raw control characters. */
	if (tl_validate_app_name(s) != TL_OK) {
		const char *m = tl_error_last()->message;
		for (const char *p = m; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	}
	free(s);
	return 0;
}
