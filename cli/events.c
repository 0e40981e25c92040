/* Rendering the library's events on stderr:
 * - STEP: a "==>" line per step, on a terminal (or with -v);
 * - PROGRESS: one bar redrawn in place with bytes, rate and time left,
 *   only on a terminal;
 * - OUTPUT: build and command output, on a terminal (or with -v);
 * - LOG: warnings always, the rest with -v.
 * Nothing at all with --json or -q (errors are printed by cli_fail). */
#include "cli.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Redraw at most this often (seconds): a bar is for eyes, not a log. */
#define REDRAW_EVERY 0.1

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human_duration(char *out, size_t len, double s)
{
	if (s < 0 || s > 359999)
		snprintf(out, len, "--:--");
	else if (s >= 3600)
		snprintf(out, len, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
	else
		snprintf(out, len, "%d:%02d", (int)s / 60, (int)s % 60);
}

static int term_width(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col > 200 ? 200 : ws.ws_col;
	return 80;
}

void cli_progress_clear(cli *c)
{
	if (!c->progress.drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	c->progress.drawn = false;
}

/* What a progress step is, in words ("s3.put" -> "upload"). */
static const char *progress_label(const char *step)
{
	static const char *const names[][2] = {
		{"s3.put", "upload"},          {"s3.get", "download"},
		{"ssh.upload", "upload"},      {"backup.dump", "backup"},
		{"backup.read", "reading"},    {"docker.build.context", "build context"},
		{"docker.import", "import"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(step, names[i][0]))
			return names[i][1];
	return step;
}

static void draw_progress(cli *c, const tl_event *ev)
{
	cli_progress *p = &c->progress;
	const char *step = ev->step ? ev->step : "";
	double t = now_s();
	/* A new transfer: another step, or the count went back. */
	if (strncmp(p->step, step, sizeof(p->step) - 1) || ev->done < p->last_done ||
	    p->start == 0) {
		snprintf(p->step, sizeof(p->step), "%s", step);
		/* The transfer began with the step announcing it, if there was
		 * one, not with its first report (after a first MiB, often). */
		bool from_step = p->step_time > 0;
		p->start = from_step ? p->step_time : t;
		p->first_done = from_step ? 0 : ev->done;
		p->step_time = 0;
		p->last_draw = 0;
	}
	p->last_done = ev->done;
	bool finished = ev->total && ev->done >= ev->total;
	if (!finished && t - p->last_draw < REDRAW_EVERY)
		return;
	p->last_draw = t;

	double elapsed = t - p->start;
	double rate = elapsed > 0.001 ? (double)(ev->done - p->first_done) / elapsed : 0;
	char done[32], total[32], rt[32], eta[32], line[512];
	cli_format_bytes(done, sizeof(done), (double)ev->done);
	cli_format_bytes(total, sizeof(total), (double)ev->total);
	cli_format_bytes(rt, sizeof(rt), rate);
	if (finished)
		human_duration(eta, sizeof(eta), elapsed);
	else
		human_duration(eta, sizeof(eta),
		               rate > 0 && ev->total ? (double)(ev->total - ev->done) / rate : -1);
	const char *label = progress_label(step);
	int width = term_width();
	if (!ev->total) {
		/* Unknown size: no bar, no time left. */
		snprintf(line, sizeof(line), "  %-12.12s %s  %s/s", label, done, rate > 0 ? rt : "-");
		fprintf(stderr, "\r%s\033[K", line);
	} else {
		double frac = (double)ev->done / (double)ev->total;
		if (frac > 1)
			frac = 1;
		char tail[160];
		snprintf(tail, sizeof(tail), " %3.0f%%  %s / %s  %s/s  %s %s", frac * 100, done,
		         total, rate > 0 ? rt : "-", finished ? "in" : "ETA", eta);
		/* a fixed width for the whole transfer, so the bar does not jump */
		int bar = width - 17 - 52;
		if (bar > 40)
			bar = 40;
		if (bar < 10)
			bar = 10;
		int fill = (int)(frac * bar);
		char cells[64];
		for (int i = 0; i < bar; i++)
			cells[i] = i < fill ? '#' : '.';
		cells[bar] = '\0';
		fprintf(stderr, "\r  %-12.12s %s[%.*s%s%s]%s%s\033[K", label, c->color ? "\033[36m" : "",
		        fill, cells, c->color ? "\033[2m" : "", cells + fill,
		        c->color ? "\033[0m" : "", tail);
	}
	p->drawn = true;
	if (finished) {
		fputc('\n', stderr);
		p->drawn = false;
		p->start = 0;
	}
	fflush(stderr);
}

int cli_on_event(const tl_event *ev, void *payload)
{
	cli *c = payload;
	if (c->json || c->quiet)
		return 0;
	switch (ev->type) {
	case TL_EVENT_STEP:
		c->progress.step_time = now_s();
		if (c->tty || c->verbose) {
			cli_progress_clear(c);
			cli_fprint(stderr, "%s==>%s %s\n", c->color ? "\033[1;34m" : "",
			           c->color ? "\033[0m" : "", ev->message);
		}
		break;
	case TL_EVENT_PROGRESS:
		if (c->tty)
			draw_progress(c, ev);
		break;
	case TL_EVENT_OUTPUT:
		if (c->verbose || c->tty) {
			cli_progress_clear(c);
			/* Build output and the like: the tenant's bytes, escaped. */
			cli_fprint(stderr, "    %s\n", ev->message);
		}
		break;
	case TL_EVENT_LOG:
	default:
		if (ev->level >= TL_LOG_WARN || c->verbose) {
			cli_progress_clear(c);
			cli_fprint(stderr, "%s%s%s%s\n",
			           c->color && ev->level >= TL_LOG_WARN ? "\033[33m" : "",
			           ev->level >= TL_LOG_WARN ? "warning: " : "", ev->message,
			           c->color && ev->level >= TL_LOG_WARN ? "\033[0m" : "");
		}
		break;
	}
	return 0;
}
