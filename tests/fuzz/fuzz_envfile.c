/* Fuzz the env-file parser: no crash on any input, and what we render
 * parses back to the same keys and values. */
#include "towlion/envfile.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Variables from outside the file: A... is set, E... empty, others unset. */
static const char *lookup(const char *name, void *payload)
{
	(void)payload;
	return name[0] == 'A' ? "outside" : name[0] == 'E' ? "" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* read as Compose reads a project's files: bad input is TL_EINVALID,
	 * nothing else */
	tl_envfile_options o = TL_ENVFILE_OPTIONS_INIT;
	o.flags = TL_ENVFILE_INTERPOLATE;
	o.lookup = lookup;
	tl_envfile *env = NULL;
	int rc = tl_envfile_parse_with(&env, (const char *)data, size, "fuzz", &o);
	if ((rc != TL_OK && rc != TL_EINVALID) || (rc != TL_OK) != (env == NULL))
		abort();
	tl_envfile_free(env);
	env = NULL;
	if (tl_envfile_parse(&env, (const char *)data, size, "fuzz") != TL_OK)
		return 0;
	/* Edit: overwrite the first key, add one with awkward characters. */
	const char *k0 = NULL;
	if (tl_envfile_count(env) > 0)
		tl_envfile_at(env, 0, &k0, NULL);
	if (k0) {
		char *key = strdup(k0);
		tl_envfile_set(env, key, "x\"y'z\n$w\\");
		free(key);
	}
	tl_envfile_set(env, "FUZZ_ADDED", (const char *)"a b#c");
	tl_buf out = TL_BUF_INIT;
	if (tl_envfile_render(&out, env) != TL_OK)
		abort();
	tl_envfile *again = NULL;
	if (tl_envfile_parse(&again, out.ptr, out.size, "rendered") != TL_OK)
		abort(); /* what we write must always read back */
	if (tl_envfile_count(again) != tl_envfile_count(env))
		abort();
	for (size_t i = 0; i < tl_envfile_count(env); i++) {
		const char *k, *v;
		tl_envfile_at(env, i, &k, &v);
		const char *v2 = tl_envfile_get(again, k);
		if (!v2 || strcmp(v, v2) != 0)
			abort();
	}
	tl_envfile_free(again);
	tl_buf_dispose(&out);
	tl_envfile_free(env);
	return 0;
}
