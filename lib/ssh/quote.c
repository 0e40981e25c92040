/* The one quoting function for remote command lines, and target parsing.
 *
 * sshd hands the command line to the user's login shell (`$SHELL -c`),
 * so an argv must be turned into text that shell splits back into the
 * very same words. Single quotes are the only POSIX quoting in which no
 * byte is special except ' itself, so every word that is not plainly safe
 * is single-quoted and each ' becomes '\'' (close, escaped quote, reopen).
 * NUL cannot be in a shell word (nor in an execve argv), so it is refused.
 * tests/fuzz/fuzz_ssh_quote.c checks the grammar and the round trip. */
#include "core/core.h"
#include "towlion/ssh.h"

#include <stdlib.h>
#include <string.h>

/* Bytes that mean nothing to sh, dash, bash or zsh anywhere in a word.
 * Not '=' (an assignment, or zsh's =cmd), '~' (tilde expansion), '^' and
 * '#' (zsh globbing, comments), nor anything glob- or syntax-related. */
static bool safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_./:@%+,-", c) != NULL;
}

static int quote_word(tl_buf *out, const char *word, size_t len, bool force)
{
	if (len && memchr(word, '\0', len))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a remote command argument contains a NUL byte, which "
		                     "no shell word can hold");
	bool bare = len > 0 && !force;
	for (size_t i = 0; bare && i < len; i++)
		bare = safe_byte((unsigned char)word[i]);
	if (bare)
		return tl__buf_put(out, word, len);
	int rc = tl__buf_putc(out, '\'');
	for (size_t i = 0; rc == TL_OK && i < len; i++)
		rc = word[i] == '\'' ? tl__buf_put(out, "'\\''", 4) : tl__buf_putc(out, word[i]);
	return rc ? rc : tl__buf_putc(out, '\'');
}

int tl_ssh_quote_word(tl_buf *out, const char *word, size_t len)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(word || len == 0);
	size_t was = out->size;
	int rc = quote_word(out, word ? word : "", len, false);
	if (rc && out->ptr) { /* leave `out` as it was */
		out->size = was;
		out->ptr[was] = '\0';
	}
	return rc;
}

int tl_ssh_quote_argv(tl_buf *out, const char *const *argv)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(argv && argv[0]);
	tl_buf line = TL_BUF_INIT;
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && argv[i]; i++) {
		if (i)
			rc = tl__buf_putc(&line, ' ');
		if (rc == TL_OK)
			rc = quote_word(&line, argv[i], strlen(argv[i]), i == 0);
	}
	if (rc) {
		tl_buf_dispose(&line);
		return rc;
	}
	tl_buf_dispose(out);
	*out = line;
	return TL_OK;
}

static bool host_byte(unsigned char c, bool bracketed)
{
	/* Inside brackets: an IPv6 address, maybe with a zone ("%eth0"). */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || (bracketed && (c == ':' || c == '%'));
}

int tl_ssh_target_parse(tl_buf *user, tl_buf *host, int *port, const char *target)
{
	TL__CHECK_ARG(user && host && port && target);
	const char *at = strrchr(target, '@');
	const char *h = at ? at + 1 : target;
	size_t ulen = at ? (size_t)(at - target) : 0;
	if (at && ulen == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "ssh target '%s': empty user before '@'", target);
	for (size_t i = 0; i < ulen; i++) {
		unsigned char c = (unsigned char)target[i];
		if (!(safe_byte(c) && c != '/' && c != ':' && c != '@'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "ssh target '%s': the user name has a character "
			                     "that cannot be in one", target);
	}
	const char *hend, *p = NULL;
	bool bracketed = h[0] == '[';
	if (bracketed) {
		h++;
		hend = strchr(h, ']');
		if (!hend || (hend[1] && hend[1] != ':'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "ssh target '%s': write an IPv6 address as "
			                     "[addr] or [addr]:port", target);
		if (hend[1] == ':')
			p = hend + 2;
	} else {
		hend = strchr(h, ':');
		if (hend)
			p = hend + 1;
		else
			hend = h + strlen(h);
	}
	if (hend == h)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "ssh target '%s': no host; expected [user@]host[:port]",
		                     target);
	for (const char *c = h; c < hend; c++)
		if (!host_byte((unsigned char)*c, bracketed))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "ssh target '%s': '%c' cannot be in a host name",
			                     target, *c);
	uint64_t pv = 0;
	if (p) {
		const char *end = p;
		if (!tl__parse_digits(&pv, &end) || *end || pv < 1 || pv > 65535)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "ssh target '%s': the port must be a number from 1 "
			                     "to 65535", target);
	}
	tl_buf u = TL_BUF_INIT, hb = TL_BUF_INIT;
	int rc = tl__buf_set(&u, target, ulen);
	if (rc == TL_OK)
		rc = tl__buf_set(&hb, h, (size_t)(hend - h));
	if (rc) {
		tl_buf_dispose(&u);
		tl_buf_dispose(&hb);
		return rc;
	}
	tl_buf_dispose(user);
	tl_buf_dispose(host);
	*user = u;
	*host = hb;
	*port = (int)pv;
	return TL_OK;
}
