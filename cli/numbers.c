/*
 * Numbers in options, through the library's strict parsers (towlion/
 * validate.h): "-1", "abc", "10s\n}" and overflow are usage errors that
 * name the option and say what it takes, before anything is changed.
 */
#include "cli.h"

#include <limits.h>

static int refused(cli *c)
{
	return cli_usage(c, "%s", tl_error_last()->message);
}

int cli_opt_uint(cli *c, uint64_t *out, const char *name, const char *text, uint64_t min,
                 uint64_t max)
{
	if (text && tl_parse_uint(out, text, min, max, name) != TL_OK)
		return refused(c);
	return 0;
}

int cli_opt_int(cli *c, int *out, const char *name, const char *text, int min, int max)
{
	uint64_t v;
	if (!text)
		return 0;
	if (tl_parse_uint(&v, text, (uint64_t)min, (uint64_t)max, name) != TL_OK)
		return refused(c);
	*out = (int)v;
	return 0;
}

int cli_opt_duration_ms(cli *c, uint64_t *out, const char *name, const char *text,
                        uint64_t bare_unit_ms, uint64_t min_ms, uint64_t max_ms)
{
	if (text && tl_parse_duration_ms(out, text, bare_unit_ms, min_ms, max_ms, name) != TL_OK)
		return refused(c);
	return 0;
}

int cli_opt_size(cli *c, uint64_t *out, const char *name, const char *text, uint64_t min,
                 uint64_t max)
{
	if (text && tl_parse_size(out, text, min, max, name) != TL_OK)
		return refused(c);
	return 0;
}
