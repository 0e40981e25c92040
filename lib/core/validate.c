/* Validators for names that reach a server (design §4). */
#include "core.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

static int bad(const char *what, const char *value, const char *why)
{
	return tl__error_bad_input(what, value, why);
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int tl_validate_app_name(const char *name)
{
	const char *what = "app name";
	if (!name)
		return bad(what, "", "no name given");
	size_t n = strlen(name);
	if (n == 0)
		return bad(what, name, "it is empty");
	if (n < 2 || n > TL_APP_NAME_MAX)
		return bad(what, name, "use 2 to 32 characters");
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return bad(what, name, "it must start with a lowercase letter");
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(name[i]) && name[i] != '-')
			return bad(what, name, "use only lowercase letters, digits and '-'");
	if (name[n - 1] == '-')
		return bad(what, name, "it must not end with '-'");
	if (strstr(name, "--"))
		return bad(what, name, "it must not contain \"--\"");
	/* "<app>-pr-<N>" names a preview's project and directory. */
	const char *pr = strstr(name, "-pr-");
	while (pr) {
		const char *d = pr + 4;
		if (*d && strspn(d, "0123456789") == strlen(d))
			return bad(what, name,
			           "names ending in -pr-<number> are reserved for previews");
		pr = strstr(pr + 1, "-pr-");
	}
	return TL_OK;
}

/* One DNS label per RFC 1123: 1..63 of [a-z0-9-], no '-' at either end. */
static const char *label_problem(const char *s, size_t n)
{
	if (n == 0)
		return "it has an empty label (\"..\", or a dot at either end)";
	if (n > 63)
		return "a label is longer than 63 characters";
	if (s[0] == '-' || s[n - 1] == '-')
		return "a label starts or ends with '-'";
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return "use lowercase letters";
		if (!lower_alnum(s[i]) && s[i] != '-')
			return "use only letters, digits, '-' and '.' (IDNs in punycode)";
	}
	return NULL;
}

static int check_domain(const char *domain, bool allow_single_label)
{
	const char *what = "domain";
	if (!domain)
		return bad(what, "", "no domain given");
	size_t n = strlen(domain);
	if (n == 0)
		return bad(what, domain, "it is empty");
	if (n > 253)
		return bad(what, domain, "it is longer than 253 characters");
	size_t labels = 0;
	const char *last = domain;
	for (const char *s = domain;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		const char *why = label_problem(s, len);
		if (why)
			return bad(what, domain, why);
		labels++;
		last = s;
		if (!dot)
			break;
		s = dot + 1;
	}
	if (labels < 2 && !allow_single_label)
		return bad(what, domain, "use a fully qualified name such as example.com");
	if (strspn(last, "0123456789") == strlen(last))
		return bad(what, domain, "the top-level label cannot be all digits");
	return TL_OK;
}

int tl_validate_domain(const char *domain)
{
	return check_domain(domain, false);
}

int tl_validate_pr(long long pr)
{
	if (pr < 1 || pr > (long long)TL_PR_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid PR number %lld: use 1 to %u", pr, TL_PR_MAX);
	return TL_OK;
}

int tl_parse_pr(uint32_t *out, const char *text)
{
	TL__CHECK_ARG(out);
	if (!text || !*text || text[0] == '0' || strspn(text, "0123456789") != strlen(text) ||
	    strlen(text) > 10)
		return bad("PR number", text ? text : "", "use a whole number from 1 to 2147483648");
	uint64_t v = 0;
	const char *p = text;
	tl__parse_digits(&v, &p); /* at most 10 digits: no overflow */
	int rc = tl_validate_pr((long long)v);
	if (rc)
		return rc;
	*out = (uint32_t)v;
	return TL_OK;
}

static bool ipv4(const char *s, size_t n)
{
	int parts = 0;
	size_t i = 0;
	while (i < n) {
		size_t st = i;
		int v = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - st < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == st || v > 255 || (i - st > 1 && s[st] == '0'))
			return false;
		parts++;
		if (i == n)
			break;
		if (s[i] != '.' || parts == 4)
			return false;
		i++;
		if (i == n)
			return false;
	}
	return parts == 4;
}

static bool ipv6(const char *s, size_t n)
{
	char a[46];
	if (n < 2 || n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = '\0';
	int colons = 0;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if (c == ':')
			colons++;
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		           (c >= 'A' && c <= 'F') || c == '.'))
			return false;
	}
	const char *dbl = strstr(a, "::");
	if (colons < 2 || colons > 7 || (dbl && strstr(dbl + 1, "::")) || strstr(a, ":::"))
		return false; /* "::" at most once */
	return true;
}

int tl_validate_hostport(const char *hp)
{
	const char *what = "host:port";
	if (!hp || !*hp)
		return bad(what, hp ? hp : "", "it is empty");
	const char *colon = strrchr(hp, ':');
	if (!colon)
		return bad(what, hp, "add a port, as in app:8000");
	const char *port = colon + 1;
	size_t plen = strlen(port);
	uint64_t pv = 0;
	const char *pp = port;
	if (plen == 0 || plen > 5 || port[0] == '0' || !tl__parse_digits(&pv, &pp) || *pp ||
	    pv > 65535)
		return bad(what, hp, "the port must be a number from 1 to 65535");
	size_t hlen = (size_t)(colon - hp);
	if (hlen == 0)
		return bad(what, hp, "the host is empty");
	if (hp[0] == '[') {
		if (hp[hlen - 1] != ']' || !ipv6(hp + 1, hlen - 2))
			return bad(what, hp, "a bracketed host must be an IPv6 address");
		return TL_OK;
	}
	if (memchr(hp, ':', hlen))
		return bad(what, hp, "write an IPv6 host in brackets, as in [::1]:8000");
	if (strspn(hp, "0123456789.") == hlen)
		return ipv4(hp, hlen) ? TL_OK : bad(what, hp, "not a valid IPv4 address");
	char host[256];
	if (hlen >= sizeof(host))
		return bad(what, hp, "the host is longer than 253 characters");
	memcpy(host, hp, hlen);
	host[hlen] = '\0';
	int rc = check_domain(host, true);
	if (rc)
		tl__error_prefix("invalid host:port \"%s\"", hp);
	return rc;
}
