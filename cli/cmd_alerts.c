/* towlion alerts check: thresholds -> one GitHub issue per alert, e-mail. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* A positive threshold up to max, digits with an optional fraction ("85",
 * "0.5"; NULL: not given, *out untouched). The grammar is checked before
 * strtod, which also takes signs, spaces, exponents, hex, inf and nan. */
static int num(cli *c, const char *v, const char *name, double max, double *out)
{
	if (!v)
		return 0;
	size_t i = strspn(v, "0123456789");
	if (i && v[i] == '.' && v[i + 1])
		i += 1 + strspn(v + i + 1, "0123456789");
	double d = i && !v[i] && i < 32 ? strtod(v, NULL) : 0;
	if (!(d > 0 && d <= max))
		return cli_usage(c, "%s: expected a number above 0, at most %g, like 85 or 0.5", name,
		                 max);
	*out = d;
	return 0;
}

static int run_check(cli *c)
{
	const char *repo = NULL, *disk = NULL, *mem = NULL, *backup_h = NULL, *restarts = NULL,
	           *cert = NULL, *mail = NULL, *endpoint = NULL, *from = NULL, *to = NULL;
	cli_opt opts[] = {{"--repo", true, &repo},           {"--disk-pct", true, &disk},
	                  {"--memory-pct", true, &mem},      {"--backup-hours", true, &backup_h},
	                  {"--max-restarts", true, &restarts}, {"--cert-days", true, &cert},
	                  {"--mail", true, &mail},           {"--mail-endpoint", true, &endpoint},
	                  {"--mail-from", true, &from},      {"--mail-to", true, &to}};
	int rc = cli_parse(c, opts, sizeof(opts) / sizeof(opts[0]), NULL, 0, 0, NULL);
	if (rc)
		return rc;
	tl_alert_options o = TL_ALERT_OPTIONS_INIT;
	double bh = 0;
	if ((rc = num(c, disk, "--disk-pct", 100, &o.disk_pct)) ||
	    (rc = num(c, mem, "--memory-pct", 100, &o.memory_pct)) ||
	    (rc = num(c, backup_h, "--backup-hours", 87600, &bh)) ||
	    (rc = cli_opt_int(c, &o.max_restarts, "--max-restarts", restarts, 1, 100000)) ||
	    (rc = cli_opt_int(c, &o.cert_days, "--cert-days", cert, 1, 3650)))
		return rc;
	if (backup_h)
		o.backup_max_age_s = (int64_t)(bh * 3600);
	o.github_repo = repo;
	o.mail_provider = mail;
	o.mail_endpoint = endpoint;
	o.mail_from = from;
	o.mail_to = to; /* the mail token only ever comes from the configuration */
	o.flags = c->dry_run ? TL_ALERT_DRY_RUN : 0;
	tl_ctx *ctx = cli_ctx(c);
	if (!ctx)
		return cli_fail(c, tl_error_last()->code);
	tl_alert_report *r = NULL;
	rc = tl_alerts_check(&r, ctx, &o);
	if (!r)
		return cli_fail(c, rc);
	json_t *arr = json_array();
	for (size_t i = 0; i < tl_alert_report_count(r); i++) {
		const tl_alert *a = tl_alert_report_at(r, i);
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:s, s:I, s:b}", "key", a->key,
		                                     "firing", a->firing, "detail", a->detail,
		                                     "action", a->action, "issue",
		                                     (json_int_t)a->issue, "mailed", a->mailed));
		if (a->firing || strcmp(a->action, "none") || c->verbose)
			cli_print(c, "%-7s %-28s %s%s%s\n", a->firing ? "FIRING" : "ok", a->key, a->detail,
			          strcmp(a->action, "none") ? "  -> " : "",
			          strcmp(a->action, "none") ? a->action : "");
	}
	size_t firing = tl_alert_report_firing(r);
	cli_print(c, "%zu alert%s firing%s\n", firing, firing == 1 ? "" : "s",
	          c->dry_run ? " (dry run: nothing sent)" : "");
	cli_set_result(c, json_pack("{s:b, s:I, s:o}", "dry_run", c->dry_run, "firing",
	                            (json_int_t)firing, "alerts", arr));
	tl_alert_report_free(r);
	/* A failed notification is the command failing (the timer shows it). */
	return rc ? cli_fail(c, rc) : 0;
}

static const cli_verb verbs[] = {
	{"check",
	 "[--repo OWNER/NAME] [--disk-pct N] [--memory-pct N] [--backup-hours N] "
	 "[--max-restarts N] [--cert-days N] [--mail postmark|ses] [--mail-endpoint URL] "
	 "[--mail-from ADDR] [--mail-to ADDR]",
	 "evaluate thresholds; keep one GitHub issue per alert, e-mail on changes",
	 "towlion alerts check --repo acme/ops", true, run_check},
};

const cli_group cli_group_alerts = {"alerts", "thresholds, GitHub issues and e-mail",
                                    verbs, 1};
