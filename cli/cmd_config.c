/* towlion config: show the effective configuration and where it came from. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *source_name(int s)
{
	switch (s) {
	case TL_CONFIG_FROM_FILE: return "file";
	case TL_CONFIG_FROM_ENV: return "env";
	case TL_CONFIG_FROM_API: return "api";
	case TL_CONFIG_FROM_STATE: return "generated";
	default: return "default";
	}
}

static int run_show(cli *c)
{
	const char *reveal = NULL;
	cli_opt opts[] = {{"--reveal", false, &reveal}};
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, opts, 1, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	json_t *keys = json_object();
	const char *path = tl_ctx_config_path(ctx);
	/* The generated file is read from TOWLION_STATE_DIR when it exists
	 * (lib/core/ctx.c): name it so "from generated" says which file. */
	char *generated = NULL;
	const char *state = tl_ctx_config_get(ctx, "TOWLION_STATE_DIR");
	if (state && asprintf(&generated, "%s/towlion.conf", state) < 0)
		generated = NULL;
	cli_print(c, "# config file: %s\n", path ? path : "(none read)");
	cli_print(c, "# generated file (platform init): %s\n", generated ? generated : "?");
	for (size_t i = 0; i < tl_config_key_count(); i++) {
		const char *k, *v, *d;
		int src;
		tl_ctx_config_at(ctx, i, reveal != NULL, &k, &v, &d, &src);
		json_object_set_new(keys, k,
		                    json_pack("{s:s, s:s}", "value", v, "source", source_name(src)));
		cli_print(c, "%s=%s%s%s\n", k, v, src ? "    # from " : "",
		          src ? source_name(src) : "");
	}
	cli_set_result(c, json_pack("{s:s?, s:s?, s:o}", "file", path, "generated_file",
	                            generated, "keys", keys));
	free(generated);
	return 0;
}

static const cli_verb verbs[] = {
	{"show", "[--reveal]",
	 "print every configuration key, its value and where it came from (secrets "
	 "masked unless --reveal)",
	 "towlion config show --json", false, run_show},
};

const cli_group cli_group_config = {"config", "inspect the configuration", verbs, 1};
