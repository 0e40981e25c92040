/* Fuzz the remote command quoting: any argv (byte strings without NUL)
 * quoted by tl_ssh_quote_argv() must follow the exact grammar below, and
 * splitting it as a POSIX shell would must give back the same argv. A word
 * holding a NUL must be refused with TL_EINVALID, leaving the buffer as
 * it was.
 *
 * Input: records of one length byte followed by that many bytes (the last
 * record takes what is left).
 *
 * Grammar of the output (nothing else may appear):
 *   line  = word *(" " word)
 *   word  = 1*(safe / "'" *(any byte but "'") "'" / "\'")
 *   safe  = A-Z a-z 0-9 _ . / : @ % + , -
 * In a POSIX shell, bytes inside '...' are literal, \' is a literal quote
 * and safe bytes mean nothing, so the splitter below is exact. */
#include "towlion/ssh.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

static int is_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("_./:@%+,-", c));
}

/* Split `line` into words (each malloc'd, with its length); aborts on any
 * byte the grammar does not allow. Returns the number of words. */
static size_t split(const char *line, size_t len, char **words, size_t *lens,
                    unsigned char *first_quoted)
{
	size_t n = 0, i = 0;
	if (len == 0)
		abort(); /* an argv is never empty */
	while (i < len) {
		if (n == MAX_WORDS)
			abort();
		char *w = malloc(len + 1);
		size_t wl = 0;
		size_t start = i;
		while (i < len && line[i] != ' ') {
			unsigned char c = (unsigned char)line[i];
			if (c == '\'') {
				const char *end = memchr(line + i + 1, '\'', len - i - 1);
				if (!end)
					abort(); /* unterminated quote */
				size_t k = (size_t)(end - (line + i + 1));
				memcpy(w + wl, line + i + 1, k);
				wl += k;
				i += k + 2;
			} else if (c == '\\') {
				if (i + 1 >= len || line[i + 1] != '\'')
					abort(); /* only \' is ever written */
				w[wl++] = '\'';
				i += 2;
			} else if (is_safe(c)) {
				w[wl++] = (char)c;
				i++;
			} else {
				abort(); /* a byte the shell would interpret */
			}
		}
		if (i == start)
			abort(); /* an empty word: two spaces, or a leading space */
		if (n == 0)
			*first_quoted = (unsigned char)line[start] == '\'';
		words[n] = w;
		lens[n] = wl;
		n++;
		if (i < len) {
			i++; /* the single space */
			if (i == len)
				abort(); /* trailing space */
		}
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_WORDS + 1];
	char *owned[MAX_WORDS];
	size_t nargs = 0;
	tl_buf single = TL_BUF_INIT;
	for (size_t i = 0; i < size && nargs < MAX_WORDS;) {
		size_t len = data[i++];
		if (len > size - i)
			len = size - i;
		const char *rec = (const char *)data + i;
		i += len;
		/* Each record alone through tl_ssh_quote_word, appended to
		 * what is already in the buffer. */
		size_t before = single.size;
		int rc = tl_ssh_quote_word(&single, rec, len);
		if (memchr(rec, '\0', len)) {
			if (rc != TL_EINVALID || single.size != before)
				abort();
			continue; /* cannot be in an argv */
		}
		if (rc != TL_OK)
			abort();
		{
			char *w[MAX_WORDS];
			size_t wl[MAX_WORDS];
			unsigned char fq = 0;
			size_t n = split(single.ptr + before, single.size - before, w, wl, &fq);
			if (n != 1 || wl[0] != len || memcmp(w[0], rec, len) != 0)
				abort();
			free(w[0]);
		}
		owned[nargs] = malloc(len + 1);
		memcpy(owned[nargs], rec, len);
		owned[nargs][len] = '\0';
		argv[nargs] = owned[nargs];
		nargs++;
	}
	tl_buf_dispose(&single);
	argv[nargs] = NULL;

	tl_buf line = TL_BUF_INIT;
	int rc = tl_ssh_quote_argv(&line, argv);
	if (nargs == 0) {
		if (rc != TL_EINVALID)
			abort();
	} else {
		if (rc != TL_OK)
			abort();
		char *w[MAX_WORDS];
		size_t wl[MAX_WORDS];
		unsigned char first_quoted = 0;
		size_t n = split(line.ptr, line.size, w, wl, &first_quoted);
		if (n != nargs || !first_quoted)
			abort();
		for (size_t k = 0; k < n; k++) {
			if (wl[k] != strlen(argv[k]) || memcmp(w[k], argv[k], wl[k]) != 0)
				abort();
			free(w[k]);
		}
	}
	tl_buf_dispose(&line);
	for (size_t k = 0; k < nargs; k++)
		free(owned[k]);
	return 0;
}
