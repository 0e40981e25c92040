/*
 * libtowlion - validators for the names that reach a server.
 *
 * Names are validated, never cleaned: a bad one is refused with
 * TL_EINVALID and a message that says what rule it breaks. Every module
 * runs these before it touches anything.
 */
#ifndef TOWLION_VALIDATE_H
#define TOWLION_VALIDATE_H

#include "towlion/common.h"

TL_BEGIN_DECL

/** Longest app name; apps are DNS labels and part of other names. */
#define TL_APP_NAME_MAX 32

/** Largest PR number (2^31). */
#define TL_PR_MAX 2147483648u

/**
 * App name: ^[a-z][a-z0-9-]{0,30}[a-z0-9]$, no "--", and not ending in
 * "-pr-<digits>" (that is the name of a preview of another app).
 */
TL_EXTERN(int) tl_validate_app_name(const char *name);

/**
 * Domain name per RFC 1123: labels of 1..63 lowercase letters, digits and
 * inner hyphens, dot separated, at most 253 characters, no trailing dot,
 * and a top-level label that is not all digits.
 */
TL_EXTERN(int) tl_validate_domain(const char *domain);

/** PR number: 1 .. 2^31. */
TL_EXTERN(int) tl_validate_pr(long long pr);

/** Parse a PR number written in decimal ("42"), validated as above. */
TL_EXTERN(int) tl_parse_pr(uint32_t *out, const char *text);

/**
 * host:port where host is a domain name (as above, single labels such as
 * "app" allowed), a dotted IPv4 address or a [bracketed] IPv6 address,
 * and port is 1..65535 without sign or leading zeros.
 */
TL_EXTERN(int) tl_validate_hostport(const char *hostport);

/*
 * Strict numbers from outside (options, config, files). The text is ASCII
 * digits with an optional unit and nothing else: no sign, no spaces, no
 * trailing text or newline; overflow is an error, never a wrap. A bad
 * value gets TL_EINVALID with a message naming `what` (e.g.
 * "--health-interval"), quoting the value escaped, and saying what is
 * expected, units included. *out is written only on success.
 */

/** A whole number in decimal, from min to max. */
TL_EXTERN(int) tl_parse_uint(uint64_t *out, const char *text, uint64_t min, uint64_t max,
                             const char *what);

/**
 * A duration in milliseconds: digits and a unit, ms, s, m or h ("500ms",
 * "10s", "2m", "1h"). A bare number counts in bare_unit_ms (1000: seconds;
 * 0: a unit is required). The result must lie from min_ms to max_ms.
 */
TL_EXTERN(int) tl_parse_duration_ms(uint64_t *out, const char *text, uint64_t bare_unit_ms,
                                    uint64_t min_ms, uint64_t max_ms, const char *what);

/**
 * A size in bytes: digits, optionally up to 6 decimals, then an optional
 * k, m, g or t (powers of 1024) and an optional b ("4096", "512k", "1.5g",
 * "10MB"); a fraction needs a unit. The result must lie from min to max.
 */
TL_EXTERN(int) tl_parse_size(uint64_t *out, const char *text, uint64_t min, uint64_t max,
                             const char *what);

TL_END_DECL

#endif
