/*
 * Where a release's source comes from: a directory as it is, or an exact
 * commit of a git repository checked out into TOWLION_APPS_DIR/<project>.
 * git is spawned with an argv (never a shell), without prompts.
 */
#include "deploy_int.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIT_TIMEOUT_MS (10 * 60 * 1000)

/* A ref or commit we are willing to hand to git: no option lookalikes, no
 * ".." or control characters (git check-ref-format is stricter still). */
static int check_ref(const char *ref)
{
	if (!ref || !*ref || ref[0] == '-' || strstr(ref, "..") || strlen(ref) > 200)
		goto bad;
	for (const char *p = ref; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._/-+", *p)))
			goto bad;
	return TL_OK;
bad:
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
	                     "invalid git ref \"%s\": use a branch, tag, refs/... path or "
	                     "commit id",
	                     ref ? ref : "");
}

static int check_url(const char *url)
{
	if (!url || !*url || url[0] == '-' || strpbrk(url, " \t\r\n") ||
	    strncmp(url, "ext::", 5) == 0 || strncmp(url, "fd::", 4) == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid git URL \"%s\"", url ? url : "");
	return TL_OK;
}

/* Run git with `args`; stdout (trimmed) into `out` when not NULL. */
static int git(tl_buf *out, tl_ctx *ctx, const char *const *args)
{
	static const char *const env[] = {"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false",
	                                  "LC_ALL=C", NULL};
	tl__spawn_opts o = {0};
	o.argv = args;
	o.env = env;
	o.stdout_mode = out ? TL__STDIO_BUFFER : TL__STDIO_EVENTS;
	o.stderr_mode = TL__STDIO_BUFFER;
	o.timeout_ms = GIT_TIMEOUT_MS;
	o.subject = "git";
	tl__spawn_result r;
	int rc = tl__spawn(&r, ctx, &o);
	if (rc == TL_OK && !(r.exited && r.exit_status == 0)) {
		char how[64];
		/* git's own message is the useful part: keep its last line. */
		char *err = r.err.ptr ? r.err.ptr : "";
		size_t n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
			err[--n] = '\0';
		char *last = strrchr(err, '\n');
		rc = tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_PROCESS, "", r.exit_status,
		                            "git %s failed (%s): %s", args[1],
		                            tl__spawn_describe(&r, how, sizeof(how)),
		                            last ? last + 1 : err);
	}
	if (rc == TL_OK && out) {
		tl__buf_set(out, r.out.ptr ? r.out.ptr : "", r.out.size);
		while (out->size && (out->ptr[out->size - 1] == '\n'))
			out->ptr[--out->size] = '\0';
	}
	tl__spawn_result_dispose(&r);
	return rc;
}

int tl__source_git(tl_buf *commit, tl_ctx *ctx, const char *dest, const char *url,
                   const char *ref)
{
	int rc = check_url(url);
	if (rc == TL_OK)
		rc = check_ref(ref);
	if (rc)
		return rc;
	struct stat st;
	char *gitdir = tl__path_join(dest, ".git");
	if (!gitdir)
		return TL_ENOMEM;
	bool have = stat(gitdir, &st) == 0;
	free(gitdir);
	if (!have) {
		rc = tl__step(ctx, "deploy.fetch", NULL, "cloning %s", url);
		const char *clone[] = {"git", "clone", "--quiet", "--no-checkout", "--", url, dest,
		                       NULL};
		if (rc == TL_OK)
			rc = git(NULL, ctx, clone);
	} else {
		/* The checkout belongs to the platform: point it at the URL asked
		 * for, whatever it was cloned from. */
		const char *seturl[] = {"git", "-C", dest, "remote", "set-url", "origin", url, NULL};
		rc = git(NULL, ctx, seturl);
	}
	if (rc == TL_OK)
		rc = tl__step(ctx, "deploy.fetch", NULL, "fetching %s", ref);
	const char *fetch[] = {"git", "-C", dest, "fetch", "--quiet", "--force", "origin",
	                       ref, NULL};
	if (rc == TL_OK)
		rc = git(NULL, ctx, fetch);
	const char *resolve[] = {"git", "-C", dest, "rev-parse", "--verify",
	                         "FETCH_HEAD^{commit}", NULL};
	tl_buf sha = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = git(&sha, ctx, resolve);
	const char *checkout[] = {"git", "-C", dest, "checkout", "--quiet", "--force",
	                          "--detach", sha.ptr, NULL};
	if (rc == TL_OK)
		rc = git(NULL, ctx, checkout);
	/* Leave exactly the commit: drop files an earlier build left, but keep
	 * an operator's .env next to the code. */
	const char *clean[] = {"git", "-C", dest, "clean", "-ffdxq", "-e", ".env", NULL};
	if (rc == TL_OK)
		rc = git(NULL, ctx, clean);
	if (rc == TL_OK)
		rc = tl__buf_set(commit, sha.ptr, sha.size);
	tl_buf_dispose(&sha);
	return rc;
}

int tl__source_commit_of(tl_buf *commit, tl_ctx *ctx, const char *dir)
{
	char *gitdir = tl__path_join(dir, ".git");
	struct stat st;
	bool have = gitdir && stat(gitdir, &st) == 0;
	free(gitdir);
	if (!have)
		return TL_ENOTFOUND;
	const char *head[] = {"git", "-C", dir, "rev-parse", "--verify", "HEAD^{commit}", NULL};
	int rc = git(commit, ctx, head);
	if (rc)
		tl_error_clear();
	return rc ? TL_ENOTFOUND : TL_OK;
}
