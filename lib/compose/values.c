/* The small value syntaxes of compose files: durations, byte sizes,
 * command strings and port specs. Messages carry no location: the reader
 * prefixes file:line. */
#include "compose_int.h"
#include "towlion/validate.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cp_duration_ms(long *out, const char *s)
{
	/* Go's time.ParseDuration: a sequence of number+unit (1h30m, 1.5s). */
	double total = 0;
	const char *p = s;
	if (!*p)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "empty duration");
	while (*p) {
		double v;
		if (!tl__parse_decimal_prefix(&v, &p))
			goto bad;
		double mult;
		if (!strncmp(p, "ms", 2)) {
			mult = 1;
			p += 2;
		} else if (!strncmp(p, "us", 2) || !strncmp(p, "\xc2\xb5s", 3)) {
			mult = 0.001;
			p += p[0] == 'u' ? 2 : 3;
		} else if (!strncmp(p, "ns", 2)) {
			mult = 0.000001;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60000;
			p++;
		} else if (*p == 'h') {
			mult = 3600000;
			p++;
		} else {
			goto bad;
		}
		total += v * mult;
		if (total > 1e12)
			goto bad;
	}
	*out = (long)(total + 0.5);
	return TL_OK;
bad:
	return tl__error_bad_input("duration", s, "write e.g. 30s, 1m30s, 500ms");
}

int cp_bytes(int64_t *out, const char *s)
{
	/* Compose also writes 512MiB: the i of the binary units is ours too. */
	char buf[64];
	size_t n = strlen(s);
	if (n >= 4 && n < sizeof(buf) && (s[n - 2] == 'i' || s[n - 2] == 'I') &&
	    (s[n - 1] == 'b' || s[n - 1] == 'B') && strchr("kKmMgGtT", s[n - 3])) {
		memcpy(buf, s, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	uint64_t v;
	int rc = tl_parse_size(&v, s, 0, INT64_MAX, "size");
	if (rc == TL_OK)
		*out = (int64_t)v;
	return rc;
}

int cp_shell_split(json_t **out, const char *s)
{
	json_t *arr = json_array();
	tl_buf w = TL_BUF_INIT;
	int in_word = 0, rc = TL_OK;
	const char *p = s;
	while (!rc) {
		char ch = *p;
		if (ch == '\0' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
			if (in_word) {
				char *word = tl__buf_detach(&w);
				json_t *js = word ? json_string(word) : NULL;
				free(word);
				if (!js || json_array_append_new(arr, js))
					rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
					                   "command is not valid UTF-8");
				in_word = 0;
			}
			if (!ch)
				break;
			p++;
		} else if (ch == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q) {
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                   "unterminated ' quote in command \"%.80s\"", s);
				break;
			}
			rc = tl__buf_put(&w, p + 1, (size_t)(q - p - 1));
			if (!rc && !w.ptr)
				rc = tl__buf_grow(&w, 0);
			in_word = 1;
			p = q + 1;
		} else if (ch == '"') {
			p++;
			in_word = 1;
			if (!w.ptr)
				rc = tl__buf_grow(&w, 0);
			while (!rc && *p && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
					p++;
				rc = tl__buf_putc(&w, *p++);
			}
			if (!rc && *p != '"') {
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                   "unterminated \" quote in command \"%.80s\"", s);
				break;
			}
			p++;
		} else if (ch == '\\' && p[1]) {
			rc = tl__buf_putc(&w, p[1]);
			in_word = 1;
			p += 2;
		} else {
			rc = tl__buf_putc(&w, ch);
			in_word = 1;
			p++;
		}
	}
	tl_buf_dispose(&w);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return TL_OK;
}

/* "8000" or "8000-8005" -> lo, hi. */
static int port_range(const char *s, size_t n, int *lo, int *hi)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	const char *p = buf;
	uint64_t a, b;
	if (!tl__parse_digits(&a, &p) || (*p && *p != '-') || a < 1 || a > 65535)
		return -1;
	b = a;
	if (*p == '-' && (p++, !tl__parse_digits(&b, &p) || *p || b < a || b > 65535))
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

int cp_ports_short(json_t *into, const char *spec)
{
	char *s = tl__strdup(spec);
	if (!s)
		return TL_ENOMEM;
	const char *proto = "tcp";
	char *slash = strrchr(s, '/');
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
	}
	int rc = TL_OK;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                   "port \"%s\": protocol must be tcp, udp or sctp", spec);
		goto out;
	}
	/* split "[ip:][host:]container" from the right; an IPv6 address is in
	 * brackets */
	char *ip = NULL, *host = NULL, *cont = s;
	char *last = strrchr(s, ':');
	if (last && (!strchr(s, ']') || last > strchr(s, ']'))) {
		*last = '\0';
		cont = last + 1;
		host = s;
		char *prev = strrchr(s, ':');
		if (prev && (!strchr(s, ']') || prev > strchr(s, ']'))) {
			*prev = '\0';
			ip = s;
			host = prev + 1;
		} else if (s[0] == '[') {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                   "port \"%s\": an address needs a port after it", spec);
			goto out;
		}
	}
	if (ip) {
		size_t l = strlen(ip);
		if (ip[0] == '[' && l >= 2 && ip[l - 1] == ']') {
			ip[l - 1] = '\0';
			ip++;
		}
		for (const char *c = ip; *c; c++)
			if (!isxdigit((unsigned char)*c) && *c != '.' && *c != ':') {
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                   "port \"%s\": \"%s\" is not an IP address", spec, ip);
				goto out;
			}
	}
	int clo, chi, hlo = 0, hhi = 0;
	if (port_range(cont, strlen(cont), &clo, &chi) != 0 ||
	    (host && *host && port_range(host, strlen(host), &hlo, &hhi) != 0)) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                   "port \"%s\" is not [IP:][HOST:]CONTAINER[/PROTOCOL] with ports "
		                   "1-65535", spec);
		goto out;
	}
	if (hlo && hhi - hlo != chi - clo && hhi != hlo) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                   "port \"%s\": host and container ranges differ in size", spec);
		goto out;
	}
	if (chi - clo >= 100) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                   "port \"%s\": a range of more than 100 ports", spec);
		goto out;
	}
	for (int i = 0; i <= chi - clo; i++) {
		int hp = hlo ? (hhi == hlo ? hlo : hlo + i) : 0;
		json_t *p = json_pack("{s:s, s:i, s:i, s:s}", "host_ip", ip ? ip : "", "host_port", hp,
		                      "container_port", clo + i, "protocol", proto);
		if (!p || json_array_append_new(into, p)) {
			rc = tl__error_oom();
			goto out;
		}
	}
out:
	free(s);
	return rc;
}
