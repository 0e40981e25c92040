/* Rendering the library's events on stderr: step lines and progress on a
 * terminal, log lines with -v; nothing in --json or -q mode. */
#include "cli.h"

#include <string.h>

static void human_bytes(char *out, size_t len, double v)
{
	const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int cli_on_event(const tl_event *ev, void *payload)
{
	cli *c = payload;
	if (c->json || c->quiet)
		return 0;
	switch (ev->type) {
	case TL_EVENT_STEP:
		if (c->tty || c->verbose)
			fprintf(stderr, "%s==>%s %s\n", c->color ? "\033[1;34m" : "",
			        c->color ? "\033[0m" : "", ev->message);
		break;
	case TL_EVENT_PROGRESS:
		if (c->tty) {
			char d[32], t[32];
			human_bytes(d, sizeof(d), (double)ev->done);
			human_bytes(t, sizeof(t), (double)ev->total);
			if (ev->total)
				fprintf(stderr, "\r    %s / %s (%3.0f%%)\033[K", d, t,
				        100.0 * (double)ev->done / (double)ev->total);
			else
				fprintf(stderr, "\r    %s\033[K", d);
			if (ev->total && ev->done >= ev->total)
				fputc('\n', stderr);
		}
		break;
	case TL_EVENT_OUTPUT:
		if (c->verbose || c->tty)
			fprintf(stderr, "    %s\n", ev->message);
		break;
	case TL_EVENT_LOG:
	default:
		if (ev->level >= TL_LOG_WARN || c->verbose)
			fprintf(stderr, "%s%s\n",
			        ev->level >= TL_LOG_WARN ? "warning: " : "", ev->message);
		break;
	}
	return 0;
}
