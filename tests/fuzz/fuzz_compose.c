/* Fuzz the compose reader: no crash, no leak and no hang on any input,
 * under both policies; what loads must serialise to JSON that parses. */
#include "towlion/compose.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	/* deterministic: no process environment, no env file */
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	o.policy = size && (data[0] & 1) ? TL_COMPOSE_STRICT : TL_COMPOSE_TRUSTED;
	tl_compose *c = NULL;
	int rc = tl_compose_parse(&c, (const char *)data, size, "fuzz.yml", "/tmp", &o);
	if (rc != TL_OK) {
		if (c || rc != TL_EINVALID) /* bad input is TL_EINVALID, nothing else */
			abort();
		return 0;
	}
	tl_buf js = TL_BUF_INIT;
	if (tl_compose_to_json(&js, c) != TL_OK)
		abort();
	json_t *j = json_loads(js.ptr, 0, NULL);
	if (!j)
		abort();
	json_decref(j);
	tl_buf_dispose(&js);
	/* every service is reachable in start order exactly once */
	size_t n = tl_compose_service_count(c);
	for (size_t i = 0; i < n; i++) {
		const tl_compose_service *s = tl_compose_start_order_at(c, i);
		if (!s || !tl_compose_service_get(c, tl_compose_service_name(s)))
			abort();
		for (size_t k = 0; k < tl_compose_service_env_count(s); k++)
			tl_compose_service_env_at(s, k, NULL, NULL);
	}
	tl_compose_free(c);
	return 0;
}
