/* The report of a platform operation: what it did, step by step. */
#include "platform_int.h"

#include <stdlib.h>

typedef struct {
	tl_platform_step pub;
	char *action, *subject, *detail;
} step_item;

struct tl_platform_report {
	step_item *v;
	size_t n, cap;
};

tl_platform_report *tl__plat_report_new(void)
{
	return tl__calloc(1, sizeof(tl_platform_report));
}

int tl__plat_step(tl_platform_report *r, const char *action, const char *subject,
                  int changed, const char *fmt, ...)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		step_item *v = tl__realloc(r->v, cap * sizeof(*v));
		if (!v)
			return TL_ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	tl_buf d = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(&d, fmt, ap);
	va_end(ap);
	step_item *it = &r->v[r->n];
	it->action = tl__strdup(action);
	it->subject = tl__strdup(subject);
	it->detail = rc ? NULL : tl__buf_detach(&d);
	if (!it->action || !it->subject || !it->detail) {
		free(it->action);
		free(it->subject);
		free(it->detail);
		tl_buf_dispose(&d);
		return tl__error_oom();
	}
	it->pub = (tl_platform_step){it->action, it->subject, it->detail, changed ? 1 : 0};
	r->n++;
	return TL_OK;
}

size_t tl_platform_report_count(const tl_platform_report *r)
{
	return r ? r->n : 0;
}

const tl_platform_step *tl_platform_report_at(const tl_platform_report *r, size_t i)
{
	return r && i < r->n ? &r->v[i].pub : NULL;
}

size_t tl_platform_report_changed(const tl_platform_report *r)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		n += (size_t)r->v[i].pub.changed;
	return n;
}

void tl_platform_report_free(tl_platform_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].action);
		free(r->v[i].subject);
		free(r->v[i].detail);
	}
	free(r->v);
	free(r);
}
