/*
 * towlion's metrics for node-exporter's textfile collector: the rendered
 * series written whole into DIR/towlion.prom. The collector reads every
 * *.prom file at each scrape, so a half-written file would be a scrape of
 * garbage: the file is replaced atomically (a temporary file whose name
 * does not end in .prom, fsync, rename).
 *
 * Why a textfile and not an endpoint: a towlion that listened would be a
 * daemon with the platform's rights and a port tenants could try; the
 * timer (examples/systemd/towlion-metrics.timer) runs a short-lived
 * command instead, and node-exporter, already on the internal network,
 * carries the series to Prometheus.
 */
#include "platform_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#define TEXTFILE_NAME "towlion.prom"

int tl_metrics_write_textfile(tl_buf *written, tl_ctx *ctx, const char *dir,
                              const tl_metrics_options *opts)
{
	TL__CHECK_ARG(ctx && dir);
	struct stat st;
	if (dir[0] != '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "the textfile directory \"%s\" is not an absolute path", dir);
	int err = stat(dir, &st) != 0 ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
	if (err)
		return tl__error_os(TL_ENOTFOUND, err,
		                    "%s is not a directory: give node-exporter's "
		                    "--collector.textfile.directory (`platform init` makes "
		                    "TOWLION_DATA_DIR/node-exporter/textfile)",
		                    dir);
	char *path = tl__path_join(dir, TEXTFILE_NAME);
	tl_buf text = TL_BUF_INIT;
	int rc = path ? tl_metrics_render(&text, ctx, opts) : TL_ENOMEM;
	/* Readable by node-exporter, which runs as nobody. */
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text.ptr, text.size, 0644);
	if (rc == TL_OK && written) {
		tl__buf_clear(written);
		rc = tl__buf_puts(written, path);
	}
	tl_buf_dispose(&text);
	free(path);
	return rc;
}
