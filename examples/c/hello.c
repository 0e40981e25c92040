/*
 * The smallest libtowlion program: print the library version, validate a
 * name, and read the configuration.
 *
 *   cc hello.c $(pkg-config --cflags --libs towlion)
 */
#include <stdio.h>
#include <towlion/towlion.h>

int main(int argc, char **argv)
{
	const char *app = argc > 1 ? argv[1] : "hello";
	printf("libtowlion %s (header %s)\n", tl_version(), TL_VERSION);

	if (tl_validate_app_name(app) != TL_OK) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}

	tl_ctx_options opts = TL_CTX_OPTIONS_INIT;
	opts.flags = TL_CTX_NO_CONFIG_FILE; /* a demo: defaults + environment */
	tl_ctx *ctx = NULL;
	if (tl_ctx_new(&ctx, &opts) != TL_OK) {
		fprintf(stderr, "towlion: %s\n", tl_error_last()->message);
		return 1;
	}
	printf("app %s would live in %s/%s\n", app,
	       tl_ctx_config_get(ctx, "TOWLION_APPS_DIR"), app);
	tl_ctx_free(ctx);
	return 0;
}
