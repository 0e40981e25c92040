/* Versioned options structs: see options.h. */
#include "core.h"

#include "towlion/version.h"

#include <string.h>

int tl__options_check(const void *opts, unsigned int current, const char *name,
                      const char *function)
{
	if (!opts)
		return TL_OK;
	/* Every options struct starts with `unsigned int version`. */
	unsigned int version = *(const unsigned int *)opts;
	if (version >= 1 && version <= current)
		return TL_OK;
	if (version == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "%s: %s has version 0 (not initialised: start from its "
		                     "_INIT macro or _init() function)",
		                     function, name);
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
	                     "%s: %s version %u is newer than this library knows "
	                     "(versions 1 to %u): the program was built against a newer "
	                     "libtowlion than the one loaded (%s)",
	                     function, name, version, current, tl_version());
}

int tl__options_init(void *out, unsigned int version, const void *defaults,
                     const size_t *sizes, unsigned int current, const char *name,
                     const char *function)
{
	if (!out)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s: no %s to initialise",
		                     function, name);
	int rc = tl__options_check(&version, current, name, function);
	if (rc)
		return rc;
	memcpy(out, defaults, sizes[version - 1]);
	memcpy(out, &version, sizeof version);
	return TL_OK;
}

int tl__options_upgrade(void *copy, const void *opts, const size_t *sizes,
                        unsigned int current, const char *name, const char *function)
{
	int rc = tl__options_check(opts, current, name, function);
	if (rc || !opts)
		return rc;
	unsigned int version = *(const unsigned int *)opts;
	memcpy(copy, opts, sizes[version - 1]);
	memcpy(copy, &current, sizeof current);
	return TL_OK;
}
