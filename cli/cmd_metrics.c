/* towlion metrics: the platform's state in the Prometheus text format. */
#include "cli.h"

#include <string.h>
#include <sys/stat.h>

static int run_metrics(cli *c)
{
	const char *out = NULL, *textfile = NULL;
	cli_opt opts[] = {{"-o", true, &out}, {"--textfile", true, &textfile}};
	int rc = cli_parse(c, opts, 2, NULL, 0, 0, NULL);
	if (rc)
		return rc;
	if (out && textfile)
		return cli_usage(c, "-o and --textfile are two ways to say where: give one");
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	if (textfile) {
		/* node-exporter's textfile collector: DIR/towlion.prom, whole. */
		tl_buf path = TL_BUF_INIT;
		if ((rc = tl_metrics_write_textfile(&path, ctx, textfile, NULL)))
			return cli_fail(c, rc);
		struct stat st;
		json_int_t bytes = stat(path.ptr, &st) == 0 ? (json_int_t)st.st_size : 0;
		cli_set_result(c, json_pack("{s:s, s:I}", "file", path.ptr, "bytes", bytes));
		tl_buf_dispose(&path);
		return 0;
	}
	tl_buf text = TL_BUF_INIT;
	if ((rc = tl_metrics_render(&text, ctx, NULL)))
		return cli_fail(c, rc);
	if (out && strcmp(out, "-")) {
		/* For node-exporter's textfile collector: write a whole file,
		 * never a half one (a temporary file renamed into place). */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", out);
		FILE *f = fopen(tmp, "w");
		if (!f || fwrite(text.ptr, 1, text.size, f) != text.size || fclose(f) != 0 ||
		    rename(tmp, out) != 0) {
			tl_buf_dispose(&text);
			return cli_error(c, EXIT_FAILED, "cannot write %s: %m", out);
		}
		cli_set_result(c, json_pack("{s:s, s:I}", "file", out, "bytes", (json_int_t)text.size));
	} else if (c->json) {
		cli_set_result(c, json_pack("{s:s}", "metrics", text.ptr));
	} else {
		fwrite(text.ptr, 1, text.size, stdout);
	}
	tl_buf_dispose(&text);
	return 0;
}

static const cli_verb verbs[] = {
	{"", "[-o FILE | --textfile DIR]",
	 "print the platform's metrics (Prometheus text format), or write them for "
	 "node-exporter's textfile collector",
	 "towlion metrics --textfile /data/node-exporter/textfile", false, run_metrics},
};

const cli_group cli_group_metrics = {"metrics", "the platform's metrics for Prometheus",
                                     verbs, 1};
