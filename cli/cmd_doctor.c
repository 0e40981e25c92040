/* towlion doctor: is every service reachable, and if not, why. */
#include "cli.h"

#include <string.h>

static int run_doctor(cli *c)
{
	size_t npos;
	tl_ctx *ctx = NULL;
	int rc = cli_begin(c, &ctx, NULL, 0, NULL, 0, 0, &npos);
	if (rc)
		return rc;
	tl_doctor_report *r = NULL;
	if ((rc = tl_doctor_run_with(&r, ctx, NULL)) != TL_OK)
		return cli_fail(c, rc);
	json_t *checks = json_array();
	bool service_failed = false;
	for (size_t i = 0; i < tl_doctor_report_count(r); i++) {
		const tl_check *k = tl_doctor_report_at(r, i);
		service_failed |= k->status == TL_CHECK_FAIL && strcmp(k->name, "apps") != 0;
		const char *st = tl_check_status_name(k->status);
		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:s, s:f}", "name", k->name,
		                                        "status", st, "detail", k->detail, "hint",
		                                        k->hint, "elapsed_ms", k->elapsed_ms));
		const char *color = !c->color_out ? "" : k->status == TL_CHECK_OK ? "\033[32m"
		                                  : k->status == TL_CHECK_FAIL ? "\033[31m"
		                                                                : "\033[33m";
		cli_print(c, "%s%-4s%s  %-12s %s\n", color, st, c->color_out ? "\033[0m" : "", k->name,
		          k->detail);
		if (k->status != TL_CHECK_OK && k->hint[0])
			cli_print(c, "      %-12s hint: %s\n", "", k->hint);
	}
	int worst = tl_doctor_report_worst(r);
	cli_set_result(c, json_pack("{s:s, s:o}", "status", tl_check_status_name(worst),
	                            "checks", checks));
	tl_doctor_report_free(r);
	/* A failed check is a service that cannot be reached, or (when only
	 * the apps check failed) an app that is not healthy. */
	if (worst != TL_CHECK_FAIL)
		return 0;
	return service_failed ? EXIT_UNAVAILABLE : EXIT_UNHEALTHY;
}

static const cli_verb verbs[] = {
	{"", "", "check the server and every service the platform needs",
	 "towlion doctor --json", false, run_doctor},
};

const cli_group cli_group_doctor = {"doctor", "check the platform's services", verbs, 1};
