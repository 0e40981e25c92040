/*
 * The release engine: from a plan to a routed, healthy release, shared by
 * apps and previews (see include/towlion/deploy.h for the sequence).
 *
 * Invariants: the route only ever points at containers that answered their
 * health path; old containers are removed only after the route moved away
 * from them; anything a failed attempt started is removed before the call
 * returns, and anything a killed attempt left behind is removed by the next
 * one (it holds the same lock, so it knows nobody else is working).
 */
#include "core/oplog.h"
#include "runtime.h"
#include "towlion/appenv.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "towlion/envfile.h"
#include "towlion/platform.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define LOCK_TIMEOUT_DEFAULT_MS (10 * 60 * 1000)
#define HEALTH_TIMEOUT_DEFAULT_MS 60000
#define RELEASE_CMD_TIMEOUT_MS (15 * 60 * 1000)

void tl__project_dispose(tl__project *p)
{
	if (!p)
		return;
	free(p->state_dir);
	free(p->checkout_dir);
	free(p->env_path);
	tl__strv_free(p->hosts);
	tl_app_free(p->registry);
	memset(p, 0, sizeof(*p));
}

/* ---- steps ------------------------------------------------------------ */

/* Random lowercase letters and digits: container names are hostnames on
 * the project's network (Caddy reaches them by name), and hostnames are
 * compared lowercase. */
static int tl__random_label(char *out, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	if (tl__secret_generate(out, len))
		return TL_EIO;
	for (size_t i = 0; i < len; i++)
		out[i] = chars[(unsigned char)out[i] % 36];
	return TL_OK;
}

static int make_release_id(tl__deploy_attempt *a, const char *wanted)
{
	if (wanted) {
		for (const char *c = wanted; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
				return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
				                     "invalid release id \"%s\": use letters, digits, "
				                     "'-', '_' and '.'",
				                     wanted);
		if (!*wanted || strlen(wanted) > 64 || wanted[0] == '-' || wanted[0] == '.')
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "invalid release id \"%s\"", wanted);
		a->release_id = tl__strdup(wanted);
		return a->release_id ? TL_OK : TL_ENOMEM;
	}
	char when[32], rnd[5];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	/* The commit says what it is; a random tail keeps two deploys of the
	 * same commit in the same second apart. */
	if (tl__random_label(rnd, 4))
		return TL_EIO;
	if (a->commit.size >= 7)
		a->release_id = tl__sprintf("%s-%.7s", when, a->commit.ptr);
	else
		a->release_id = tl__sprintf("%s-%s", when, rnd);
	return a->release_id ? TL_OK : TL_ENOMEM;
}

static int fetch_source(tl__deploy_attempt *a, const tl_deploy_options *o)
{
	if (o->path) {
		a->src_dir = realpath(o->path, NULL);
		if (!a->src_dir)
			return tl__error_os(0, errno, "cannot use %s as the source", o->path);
		if (tl__source_commit_of(&a->commit, a->ctx, a->src_dir) != TL_OK)
			tl__buf_clear(&a->commit);
		return tl__step(a->ctx, "deploy.source", a->p->name, "source: %s", a->src_dir);
	}
	int rc = tl__mkdir_p(tl__cfg(a->ctx, "TOWLION_APPS_DIR"), 0755);
	if (rc == TL_OK)
		rc = tl__source_git(&a->commit, a->ctx, a->p->checkout_dir, o->git_url, o->git_ref);
	if (rc == TL_OK && !(a->src_dir = tl__strdup(a->p->checkout_dir)))
		rc = TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__step(a->ctx, "deploy.source", a->p->name, "source: %s at %.12s",
		              o->git_url, a->commit.ptr);
	return rc;
}

/* A rollback runs kept images: they must still be there. */
static int check_images(tl__deploy_attempt *a)
{
	for (size_t i = 0; i < a->plan.n; i++) {
		tl_docker_image *img = NULL;
		int rc = tl_docker_image_inspect(&img, a->docker, a->plan.svcs[i].image);
		tl_docker_image_free(img);
		if (rc == TL_ENOTFOUND)
			return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
			                     "release %s cannot come back: its image %s was pruned "
			                     "(raise the app's keep-images, or deploy that commit)",
			                     a->release_id, a->plan.svcs[i].image);
		if (rc)
			return rc;
	}
	return TL_OK;
}

static int build_images(tl__deploy_attempt *a)
{
	for (size_t i = 0; i < a->plan.n; i++) {
		tl__svc *svc = &a->plan.svcs[i];
		if (!svc->build) {
			tl_docker_image *img = NULL;
			int rc = tl_docker_image_inspect(&img, a->docker, svc->image);
			tl_docker_image_free(img);
			if (rc == TL_ENOTFOUND)
				return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
				                     "service %s: image %s is not on this server (build "
				                     "it, or give the service a build: section)",
				                     svc->name, svc->image);
			if (rc)
				return rc;
			continue;
		}
		/* Services built from the same context and Dockerfile share one build. */
		const tl__svc *same = NULL;
		for (size_t k = 0; k < i && !same; k++) {
			const tl__svc *o = &a->plan.svcs[k];
			if (o->build && !strcmp(o->build_context, svc->build_context) &&
			    !strcmp(o->dockerfile ? o->dockerfile : "", svc->dockerfile ? svc->dockerfile : "") &&
			    !strcmp(o->target ? o->target : "", svc->target ? svc->target : "") &&
			    tl__strv_len(o->build_args) == 0 && tl__strv_len(svc->build_args) == 0)
				same = o;
		}
		free(svc->image);
		svc->image = tl__sprintf("towlion/%s-%s:%s", a->p->name, svc->name, a->release_id);
		if (!svc->image)
			return TL_ENOMEM;
		int rc;
		if (same) {
			char *colon = strrchr(svc->image, ':');
			char *repo = tl__strndup(svc->image, (size_t)(colon - svc->image));
			rc = repo ? tl_docker_image_tag(a->docker, same->image, repo, colon + 1)
			          : TL_ENOMEM;
			free(repo);
			if (rc)
				return rc;
			continue;
		}
		if ((rc = tl__step(a->ctx, "deploy.build", svc->name, "building %s", svc->image)))
			return rc;
		tl_docker_build_spec *b = NULL;
		rc = tl_docker_build_spec_new(&b, svc->build_context);
		if (rc == TL_OK && svc->dockerfile)
			rc = tl_docker_build_spec_set_dockerfile(b, svc->dockerfile);
		if (rc == TL_OK && svc->target)
			rc = tl_docker_build_spec_set_target(b, svc->target);
		if (rc == TL_OK)
			rc = tl_docker_build_spec_add_tag(b, svc->image);
		for (size_t k = 0; rc == TL_OK && svc->build_args && svc->build_args[k]; k++) {
			char *eq = strchr(svc->build_args[k], '=');
			char *key = tl__strndup(svc->build_args[k],
			                        eq ? (size_t)(eq - svc->build_args[k])
			                           : strlen(svc->build_args[k]));
			rc = key ? tl_docker_build_spec_add_arg(b, key, eq ? eq + 1 : "") : TL_ENOMEM;
			free(key);
		}
		const char *labels[][2] = {{"towlion.app", a->p->app},
		                           {"towlion.project", a->p->name},
		                           {"towlion.release", a->release_id},
		                           {"towlion.service", svc->name},
		                           {"towlion.pr", a->p->pr}};
		for (size_t k = 0; rc == TL_OK && k < TL__ARRAY_SIZE(labels); k++)
			if (labels[k][1])
				rc = tl_docker_build_spec_add_label(b, labels[k][0], labels[k][1]);
		if (rc == TL_OK)
			rc = tl_docker_image_build(NULL, a->docker, b);
		tl_docker_build_spec_free(b);
		if (rc) {
			tl__error_prefix("building service %s", svc->name);
			return rc;
		}
	}
	return TL_OK;
}

/* The image scan hook (TOWLION_SCAN_COMMAND): every image this release
 * built is scanned before anything runs; under the block policy a HIGH or
 * CRITICAL finding refuses the release. */
static int scan_images(tl__deploy_attempt *a)
{
	const char *cmd = tl__cfg(a->ctx, "TOWLION_SCAN_COMMAND");
	if (!*cmd)
		return TL_OK;
	char **argv = NULL;
	int rc = TL_OK;
	char *copy = tl__strdup(cmd);
	if (!copy)
		return TL_ENOMEM;
	for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w && rc == TL_OK;
	     w = strtok_r(NULL, " \t", &save))
		rc = tl__strv_push(&argv, w);
	free(copy);
	tl_scan_options o = TL_SCAN_OPTIONS_INIT;
	o.argv = (const char *const *)argv;
	o.policy = strcmp(tl__cfg(a->ctx, "TOWLION_SCAN_POLICY"), "block") ? TL_SCAN_WARN
	                                                                    : TL_SCAN_BLOCK;
	char **done = NULL;
	for (size_t i = 0; rc == TL_OK && i < a->plan.n; i++) {
		const tl__svc *svc = &a->plan.svcs[i];
		if (!svc->build || tl__strv_contains(done, svc->image))
			continue;
		rc = tl__step(a->ctx, "deploy.scan", svc->name, "scanning %s", svc->image);
		tl_scan_result res;
		if (rc == TL_OK)
			rc = tl_platform_scan_image(&res, a->ctx, svc->image, &o);
		if (rc == TL_ECONFLICT)
			tl__error_prefix("the image scan refused service %s; nothing was changed",
			                 svc->name);
		if (rc == TL_OK)
			rc = tl__strv_push(&done, svc->image);
	}
	tl__strv_free(done);
	tl__strv_free(argv);
	return rc;
}

static int run_release_command(tl__deploy_attempt *a)
{
	const char *cmd = a->p->release_command;
	/* The web service's image runs it (with routes, the default route may
	 * be a frontend that knows nothing of the database). */
	const tl__svc *web = NULL;
	for (size_t i = 0; i < a->plan.n && !web; i++)
		if (a->plan.web_service && !strcmp(a->plan.svcs[i].name, a->plan.web_service))
			web = &a->plan.svcs[i];
	if (!web)
		web = tl__plan_default_svc(&a->plan);
	if (!cmd || !*cmd || !web)
		return TL_OK;
	/* The command itself is not shown: interpolation may have put a
	 * secret in it, and events never carry secrets. */
	int rc = tl__step(a->ctx, "deploy.release", a->p->name,
	                  "running the release command in a one-off container");
	char *name = tl__sprintf("%s-release-%s", a->p->name, a->release_id);
	if (rc == TL_OK)
		rc = name ? a->rt->run_once(a, web, name, cmd, RELEASE_CMD_TIMEOUT_MS) : TL_ENOMEM;
	free(name);
	return rc;
}

static int alive(void *payload)
{
	void **pp = payload;
	tl__deploy_attempt *a = pp[0];
	return a->rt->alive(a, pp[1]);
}

/* Start one unit of `svc` for this release; it joins a->run. */
static int start_one(tl__deploy_attempt *a, const tl__svc *svc, const char *role)
{
	char rnd[5];
	if (tl__random_label(rnd, 4))
		return TL_EIO;
	tl__started_container *grown = tl__realloc(a->run, (a->nrun + 1) * sizeof(*grown));
	if (!grown)
		return TL_ENOMEM;
	a->run = grown;
	tl__started_container *st = &a->run[a->nrun];
	memset(st, 0, sizeof(*st));
	st->svc = svc;
	st->name = tl__sprintf("%s-%s-%s", a->p->name, svc->name, rnd);
	if (!st->name)
		return TL_ENOMEM;
	a->nrun++; /* from here on, cleanup knows about it */
	return a->rt->start(a, st, role);
}

static void remove_started(tl__deploy_attempt *a)
{
	tl__error_saved saved;
	tl__error_save(&saved);
	for (size_t i = 0; i < a->nrun; i++)
		a->rt->remove(a, a->run[i].name);
	tl__error_restore(&saved);
	a->rt->prune_secrets(a);
}

static int start_routed(tl__deploy_attempt *a)
{
	for (size_t i = 0; i < a->plan.n; i++) {
		const tl__svc *svc = &a->plan.svcs[i];
		if (!svc->routed)
			continue;
		int rc = tl__step(a->ctx, "deploy.start", svc->name, "starting %s (%s)", svc->name,
		                  a->release_id);
		if (rc == TL_OK)
			rc = start_one(a, svc, "web");
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < a->nrun; i++) {
		tl__started_container *st = &a->run[i];
		int rc = tl__step(a->ctx, "deploy.health", st->svc->name,
		                  "waiting for %s to answer %s", st->svc->name, st->svc->health_path);
		void *payload[2] = {a, st->name};
		/* Every task of a unit (a swarm service's replicas) answers. */
		for (size_t k = 0; rc == TL_OK && st->probes && st->probes[k]; k++)
			rc = tl__health_wait(a->ctx, st->probes[k], st->svc->health_path,
			                     a->health_timeout_ms, alive, payload);
		if (rc == TL_EUNHEALTHY)
			tl__fail_with_logs(a, st->name, TL_EUNHEALTHY,
			               "the new release is not healthy; the current one keeps "
			               "serving");
		if (rc)
			return rc;
	}
	return TL_OK;
}

/* One route change moves every routed service at once. */
static int switch_route(tl__deploy_attempt *a)
{
	int rc = tl__step(a->ctx, "deploy.switch", a->p->name, "switching %s to %s", a->p->hosts[0],
	                  a->release_id);
	return rc ? rc : tl__route_units(a->ctx, a->p, &a->plan, a->run, a->nrun);
}

static int start_workers(tl__deploy_attempt *a)
{
	for (size_t i = 0; i < a->plan.n; i++) {
		const tl__svc *svc = &a->plan.svcs[i];
		if (svc->routed)
			continue;
		int rc = tl__step(a->ctx, "deploy.worker", svc->name, "starting %s (%s)", svc->name,
		                  a->release_id);
		if (rc == TL_OK)
			rc = start_one(a, svc, "worker");
		if (rc)
			return rc;
	}
	return TL_OK;
}

static int record(tl__deploy_attempt *a, int status, const tl_deploy_options *o, long t0)
{
	tl_release *r = a->rel;
	r->status = status;
	r->duration_ms = tl__clock_ms() - t0;
	if (status == TL_RELEASE_FAILED) {
		free(r->error);
		r->error = tl__strdup(tl_error_last()->message);
	}
	for (size_t i = 0; i < a->plan.n && status != TL_RELEASE_FAILED; i++)
		if (tl__release_add_service(r, a->plan.svcs[i].name, a->plan.svcs[i].image))
			return TL_ENOMEM;
	(void)o;
	int rc = TL_OK;
	if (status != TL_RELEASE_FAILED && a->plan_json.size)
		rc = tl__plan_save(a->p->state_dir, r->id, a->plan_json.ptr);
	return rc ? rc : tl__history_record(a->p->state_dir, r);
}

static int new_release(tl__deploy_attempt *a, const tl_deploy_options *o, const char *source)
{
	tl_release *r = tl__calloc(1, sizeof(*r));
	if (!r)
		return TL_ENOMEM;
	a->rel = r;
	r->id = tl__strdup(a->release_id);
	r->created = (int64_t)time(NULL);
	r->source = tl__strdup(source);
	r->commit = tl__strdup(a->commit.ptr ? a->commit.ptr : "");
	r->requested_by = tl__strdup(o->requested_by ? o->requested_by : "");
	r->error = tl__strdup("");
	return (r->id && r->source && r->commit && r->requested_by && r->error) ? TL_OK
	                                                                        : TL_ENOMEM;
}

/* The environment the containers get: the compose file's, then the
 * app's settings (`towlion env`; a preview leaves out the production-only
 * ones), then the platform's values (DATABASE_URL, REDIS_URL, S3_*,
 * APP_DOMAIN), which win. Nothing of it is ever put in an event. */
static int merge_platform_env(tl__deploy_attempt *a)
{
	tl_envfile *env = NULL;
	tl_appenv *settings = NULL;
	/* Only the app itself is production; anything else is a preview. */
	bool production = !strcmp(a->p->name, a->p->app);
	int rc = tl_appenv_load(&settings, a->ctx, a->p->app);
	if (rc == TL_ENOTFOUND && !production) {
		tl_error_clear(); /* a preview of an app that is not registered */
		rc = TL_OK;
	}
	if (rc == TL_OK)
		rc = tl_envfile_open(&env, a->p->env_path, TL_ENVFILE_CREATE);
	if (rc) {
		tl_appenv_free(settings);
		return rc;
	}
	for (size_t i = 0; rc == TL_OK && i < a->plan.n; i++) {
		tl__svc *svc = &a->plan.svcs[i];
		for (size_t k = 0; rc == TL_OK && k < tl_appenv_count(settings); k++) {
			const char *key = tl_appenv_key_at(settings, k);
			/* A platform key edited into the file by hand never reaches
			 * a container: the platform's own may not be there to win. */
			if (tl_appenv_check_key(key) != TL_OK) {
				tl_error_clear();
				if (i == 0)
					rc = tl__log(a->ctx, TL_LOG_WARN, "%s: the settings file holds %s, "
					             "which only the platform sets: ignored", a->p->app, key);
				continue;
			}
			/* a value the service reads as a secret file stays out of
			 * its environment */
			if ((production || !tl_appenv_production_only_at(settings, k)) &&
			    !tl__svc_secret_key(svc, key))
				rc = tl__env_set(&svc->env, key, tl_appenv_value_at(settings, k));
		}
		for (size_t k = 0; rc == TL_OK && k < tl_envfile_count(env); k++) {
			const char *key, *value;
			tl_envfile_at(env, k, &key, &value);
			if (!tl__svc_secret_key(svc, key))
				rc = tl__env_set(&svc->env, key, value);
		}
		if (rc == TL_OK && !tl__svc_secret_key(svc, "APP_DOMAIN"))
			rc = tl__env_set(&svc->env, "APP_DOMAIN", a->p->hosts[0]);
		if (rc == TL_OK)
			rc = tl__svc_secrets_resolve(a->ctx, svc, settings, env, a->p->hosts[0],
			                             production);
	}
	tl_envfile_free(env);
	tl_appenv_free(settings);
	return rc;
}

/* Settings from x-towlion where the registry left them open. */
static void apply_plan_settings(tl__deploy_attempt *a)
{
	if (!a->p->release_command && a->plan.release_command)
		a->p->release_command = a->plan.release_command;
}

static void attempt_dispose(tl__deploy_attempt *a)
{
	for (size_t i = 0; i < a->nrun; i++) {
		free(a->run[i].name);
		tl__strv_free(a->run[i].upstreams);
		tl__strv_free(a->run[i].probes);
	}
	free(a->run);
	tl__plan_dispose(&a->plan);
	free(a->release_id);
	free(a->src_dir);
	tl_buf_dispose(&a->commit);
	tl__buf_dispose_secret(&a->plan_json);
	tl_release_free(a->rel);
	tl__tenant_net_dispose(&a->net);
	tl_docker_free(a->docker);
}

/* ---- what the attempt runs: a new release, a restart, a rollback ------ */

/* A new release from a directory or a git ref: its compose file is read. */
static int plan_new(tl__deploy_attempt *a, const tl_deploy_options *o)
{
	int rc = fetch_source(a, o);
	if (rc == TL_OK)
		rc = make_release_id(a, o->release_id);
	if (rc == TL_OK)
		rc = tl__step(a->ctx, "deploy.plan", a->p->name, "reading the compose file");
	if (rc == TL_OK)
		rc = tl__plan_load(&a->plan, a->ctx, a->p, a->src_dir);
	if (rc == TL_OK)
		apply_plan_settings(a);
	return rc;
}

/* The serving release again, as a new release (new containers next to the
 * old, then the switch), from the same images and plan: only the
 * environment is read anew. The id takes a random tail, never the commit:
 * it must differ from the one it restarts even within the same second. */
static int plan_restart(tl__deploy_attempt *a, const tl_release *from)
{
	int rc = tl__step(a->ctx, "deploy.plan", a->p->name,
	                  "restarting %s with the settings of now", from->id);
	if (rc == TL_OK)
		rc = make_release_id(a, NULL);
	if (rc == TL_OK)
		rc = tl__buf_puts(&a->commit, from->commit ? from->commit : "");
	if (rc == TL_OK)
		rc = tl__plan_restore(&a->plan, a->p->state_dir, from->id);
	if (rc == TL_OK)
		rc = check_images(a);
	return rc;
}

/* A kept release back under its own id, from its saved plan and images. */
static int plan_rollback(tl__deploy_attempt *a, const tl_release *from)
{
	int rc = tl__step(a->ctx, "deploy.plan", a->p->name, "rolling back to %s", from->id);
	if (rc == TL_OK && !(a->release_id = tl__strdup(from->id)))
		rc = TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__buf_puts(&a->commit, from->commit ? from->commit : "");
	if (rc == TL_OK)
		rc = tl__plan_restore(&a->plan, a->p->state_dir, from->id);
	if (rc == TL_OK)
		rc = check_images(a);
	return rc;
}

/* The release's source as the history shows it: path:, git:, or what a
 * restart or rollback brings back (a restart of a restart names the
 * original source once). */
static void describe_source(char *out, size_t len, const tl__deploy_attempt *a,
                            const tl_deploy_options *o, const tl_release *from)
{
	if (from)
		snprintf(out, len, "%s:%s", a->p->restart ? "restart" : "rollback",
		         !from->source                                   ? ""
		         : tl__str_startswith(from->source, "restart:") ? from->source + 8
		                                                         : from->source);
	else if (o->path)
		snprintf(out, len, "path:%s", a->src_dir ? a->src_dir : o->path);
	else
		snprintf(out, len, "git:%s#%s", o->git_url, o->git_ref);
}

int tl__deploy_project(tl_release **out, tl_ctx *ctx, tl__project *p,
                       const tl_deploy_options *o, const tl_release *from)
{
	if (!from && (o->path != NULL) == (o->git_url != NULL))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "give either a directory or a git URL to deploy from");
	if (!from && o->git_url && !o->git_ref)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a git URL needs a ref (branch, tag or commit)");
	long t0 = tl__clock_ms();
	tl__deploy_attempt a = {ctx, p, NULL, {0}, NULL, NULL, TL_BUF_INIT, NULL, 0, NULL,
	             o->health_timeout_ms > 0 ? o->health_timeout_ms : HEALTH_TIMEOUT_DEFAULT_MS,
	             TL_BUF_INIT, {0}, tl__runtime_for(ctx)};
	tl__lock *lock = NULL;
	char **serving = NULL;
	char *locks = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	char *lock_name = tl__sprintf("app-%s", p->name);
	int rc = (locks && lock_name) ? TL_OK : TL_ENOMEM;
	long lt = o->lock_timeout_ms ? o->lock_timeout_ms : LOCK_TIMEOUT_DEFAULT_MS;
	/* A dry run (a rollback's or restart's plan) takes no lock: it
	 * changes nothing, and tells what the real call would find now. */
	if (rc == TL_OK && !p->dry_run)
		rc = tl__step(ctx, "deploy.lock", p->name, "locking %s", p->name);
	if (rc == TL_OK && !p->dry_run)
		rc = tl__lock_acquire(&lock, ctx, locks, lock_name, lt < 0 ? 0 : (int)lt);
	if (rc == TL_OK)
		rc = tl_docker_open(&a.docker, ctx);
	if (rc == TL_OK)
		rc = !from ? plan_new(&a, o) : p->restart ? plan_restart(&a, from)
		                                          : plan_rollback(&a, from);
	/* What a killed attempt left in flight is settled first; then this
	 * one is recorded before it changes anything. */
	bool in_flight = false;
	if (rc == TL_OK && !p->dry_run)
		rc = tl__deploy_op_settle(ctx, p, a.docker, NULL);
	const char *kind = p->restart ? "restart" : from ? "rollback" : p->pr ? "preview up"
	                                                                       : "deploy";
	if (rc == TL_OK && !p->dry_run &&
	    (rc = tl__deploy_op_begin(ctx, p, kind, a.release_id)) == TL_OK)
		in_flight = true;
	/* The project's own network, Caddy and the shared services on it,
	 * before the first container. */
	if (rc == TL_OK && !p->dry_run)
		rc = tl__step(ctx, "deploy.network", p->name, "joining the network of %s", p->name);
	if (rc == TL_OK && !p->dry_run)
		rc = a.rt->join(&a);

	/* Converge first: whatever a killed attempt left is not serving. */
	if (rc == TL_OK)
		rc = tl__serving_releases(&serving, &a);
	/* A deploy between reading the history and taking the lock: restarting
	 * what no longer serves would be a rollback nobody asked for. */
	if (rc == TL_OK && p->restart && !tl__strv_contains(serving, from->id))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DEPLOY,
		                   "release %s stopped serving while the restart waited for the "
		                   "lock; nothing was restarted",
		                   from->id);
	if (rc == TL_OK && from && !p->restart && tl__strv_contains(serving, from->id))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY, "release %s is serving already",
		                   from->id);
	/* The dry run ends here, every check of the real call passed: what
	 * would come back is `from`. */
	if (rc == TL_OK && p->dry_run) {
		if (out)
			rc = tl__release_copy(out, from);
		goto out;
	}
	if (rc == TL_OK)
		rc = tl__remove_other_releases(&a, NULL, "release", 0);
	if (rc == TL_OK)
		rc = tl__remove_other_releases(&a, serving, NULL, 0);

	char source[1200];
	describe_source(source, sizeof(source), &a, o, from);
	bool recordable = rc == TL_OK && !from;
	if (rc == TL_OK)
		rc = new_release(&a, o, source);
	if (rc == TL_OK && !from)
		rc = build_images(&a);
	if (rc == TL_OK && !from)
		rc = scan_images(&a);
	if (rc == TL_OK)
		rc = tl__plan_to_json(&a.plan_json, &a.plan);
	if (rc == TL_OK)
		rc = merge_platform_env(&a);
	if (rc == TL_OK && !from)
		rc = run_release_command(&a);
	if (rc == TL_OK && (rc = tl__oplog_step(ctx, p->name, "start")) == TL_OK)
		rc = start_routed(&a);
	bool switching = false;
	if (rc == TL_OK && (rc = tl__oplog_step(ctx, p->name, "switch")) == TL_OK) {
		switching = true;
		rc = switch_route(&a);
	}
	if (rc) {
		/* A switch that failed any other way than a refusal may have
		 * reached Caddy: the record stays for the next command to settle
		 * (it puts the route back before the containers go). */
		if (!switching || rc == TL_EINVALID || rc == TL_ECONFLICT || rc == TL_EUSER)
			remove_started(&a);
		else {
			in_flight = false;
			tl__log(ctx, TL_LOG_WARN, "the route of %s may have moved; the next command on "
			        "it settles that", p->name);
		}
		if (recordable && a.rel && rc != TL_EUSER) {
			tl__error_saved saved;
			tl__error_save(&saved);
			record(&a, TL_RELEASE_FAILED, o, t0);
			saved.code = rc;
			tl__error_restore(&saved);
		}
		goto out;
	}
	/* The route serves the new release: record it at once (a kill from
	 * here on must not make the next deploy remove it), then clean up.
	 * Failures from here on leave the new release serving. */
	rc = record(&a, TL_RELEASE_ACTIVE, o, t0);
	if (rc == TL_OK)
		rc = tl__oplog_step(ctx, p->name, "recorded");
	char *const keep[] = {a.release_id, NULL};
	if (rc == TL_OK)
		rc = tl__remove_other_releases(&a, keep, "web", p->drain_ms);
	if (rc == TL_OK)
		rc = start_workers(&a);
	if (rc == TL_OK)
		rc = tl__remove_other_releases(&a, keep, "worker", 0);
	if (rc == TL_OK)
		a.rt->prune_secrets(&a);
	if (rc)
		tl__error_prefix("release %s serves, but finishing the deploy failed",
		                 a.release_id);
	if (rc == TL_OK) {
		tl__step(ctx, "deploy.prune", p->name, "keeping the images of the last %d releases",
		         p->keep_images);
		tl__prune_images(&a);
		tl__step(ctx, "deploy.done", p->name, "release %s is live on %s", a.release_id,
		         p->hosts[0]);
	}
	if (rc == TL_OK && out) {
		*out = a.rel;
		a.rel = NULL;
	}
out:
	if (in_flight)
		tl__oplog_remove(ctx, p->name);
	tl__strv_free(serving);
	attempt_dispose(&a);
	tl__lock_release(lock);
	free(locks);
	free(lock_name);
	return rc;
}
