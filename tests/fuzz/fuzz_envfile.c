/* Fuzz the env-file parser: no crash on any input, and what we render
 * parses back to the same keys and values. */
#include "towlion/envfile.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tl_envfile *env = NULL;
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
