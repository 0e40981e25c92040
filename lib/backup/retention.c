/*
 * Retention decisions (pure): per database, keep everything younger than
 * keep_days, and never fewer than keep_last newest GOOD backups, however
 * old they are. So a week of failed backups cannot take the last good
 * one with it.
 */
#include "backup_internal.h"

#include <stdlib.h>
#include <string.h>

static int newest_first(const void *a, const void *b, void *arg)
{
	const tl__bk_keep_item *items = arg;
	const tl__bk_keep_item *x = &items[*(const size_t *)a], *y = &items[*(const size_t *)b];
	int c = strcmp(x->database, y->database);
	if (c)
		return c;
	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

void tl__bk_retention(tl__bk_keep_item *items, size_t n, time_t now, int keep_days,
                      int keep_last)
{
	if (!n)
		return;
	size_t *order = malloc(n * sizeof(*order));
	if (!order) {
		/* Keep everything rather than decide without sorting. */
		for (size_t i = 0; i < n; i++) {
			items[i].keep = 1;
			items[i].reason = "kept (out of memory while deciding)";
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), newest_first, items);
	int64_t window = (int64_t)(keep_days < 0 ? 0 : keep_days) * 86400;
	int good_seen = 0;
	for (size_t k = 0; k < n; k++) {
		tl__bk_keep_item *it = &items[order[k]];
		if (k == 0 || strcmp(it->database, items[order[k - 1]].database) != 0)
			good_seen = 0;
		int rank_ok = it->good && good_seen < keep_last;
		if (it->good)
			good_seen++;
		if ((int64_t)now - (int64_t)it->created < window) {
			it->keep = 1;
			it->reason = "within the retention window";
		} else if (rank_ok) {
			it->keep = 1;
			it->reason = "one of the newest good backups";
		} else {
			it->keep = 0;
			it->reason = it->good ? "older than the retention window"
			                      : "failed or incomplete, older than the retention window";
		}
	}
	free(order);
}
