/*
 * Overlay networks on the swarm: the platform's and one per tenant.
 *
 * Encryption: Docker's "encrypted" option makes the overlay's VXLAN
 * traffic between nodes IPsec (ESP) in the kernel's xfrm layer. Kernels
 * built without it lose all traffic between nodes (ipsec.c), so where the
 * engine is on this machine (a unix socket: the same kernel) and the kernel
 * cannot, the overlay is made unencrypted at once; where
 * Docker refuses an encrypted one for the kernel, it is made again
 * unencrypted. Both say why, in a warning event and to the caller.
 */
#include "cluster_int.h"
#include "deploy/deploy_int.h" /* tl__tenant_network: one name on both engines */
#include "towlion/validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* "k=v" strings into a JSON object of labels. */
static json_t *labels_object(const char *const *labels)
{
	json_t *o = json_object();
	for (const char *const *l = labels; o && l && *l; l++) {
		const char *eq = strchr(*l, '=');
		char *k = eq ? tl__strndup(*l, (size_t)(eq - *l)) : tl__strdup(*l);
		if (!k || json_object_set_new(o, k, json_string(eq ? eq + 1 : ""))) {
			free(k);
			json_decref(o);
			return NULL;
		}
		free(k);
	}
	return o;
}

static bool contains_nocase(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; s && *s; s++) {
		size_t i = 0;
		while (i < n && s[i] && tolower((unsigned char)s[i]) == word[i])
			i++;
		if (i == n)
			return true;
	}
	return false;
}

/* Docker's refusal of an encrypted overlay for want of kernel support. */
static bool refused_for_kernel(const char *message)
{
	static const char *const words[] = {"encrypt", "xfrm", "esp", "ipsec"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(words); i++)
		if (contains_nocase(message, words[i]))
			return true;
	return false;
}

/* The existing network `name` (exact name: inspect also matches id
 * prefixes), or NULL in *out when there is none. */
static int check_existing(bool *encrypted, tl_buf *why_not, const json_t *net, const char *name)
{
	const char *driver = json_string_value(json_object_get(net, "Driver"));
	const char *scope = json_string_value(json_object_get(net, "Scope"));
	if (!driver || strcmp(driver, "overlay") || !scope || strcmp(scope, "swarm"))
		return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
		                     "network %s exists with driver %s (scope %s), not as a swarm "
		                     "overlay: it belongs to the single-server engine; remove it "
		                     "once nothing uses it (docker network rm %s)",
		                     name, driver ? driver : "?", scope ? scope : "?", name);
	*encrypted = json_object_get(json_object_get(net, "Options"), "encrypted") != NULL;
	if (!*encrypted && why_not) {
		tl__buf_clear(why_not);
		tl__buf_puts(why_not, "it was created unencrypted");
	}
	return TL_OK;
}

static int create(tl_docker *d, const char *name, json_t *labels, bool encrypted)
{
	json_t *opts = encrypted ? json_pack("{s:s}", "encrypted", "") : json_object();
	json_t *body = opts ? json_pack("{s:s, s:s, s:b, s:b, s:O, s:o}", "Name", name, "Driver",
	                                "overlay", "Attachable", 1, "CheckDuplicate", 1, "Labels",
	                                labels, "Options", opts)
	                    : NULL;
	char *what = tl__sprintf("create the %soverlay network %s", encrypted ? "encrypted " : "",
	                         name);
	int rc = body && what ? tl__docker_call(d, "POST", "/networks/create", body, NULL, 0, what)
	                      : TL_ENOMEM;
	json_decref(body);
	free(what);
	return rc;
}

int tl__cluster_overlay_ensure(bool *encrypted, tl_buf *why_not, tl_ctx *ctx, tl_docker *d,
                               const char *name, const char *const *labels)
{
	int rc = tl__docker_check_ref(name, "network name");
	if (rc)
		return rc;
	json_t *net = NULL;
	if ((rc = tl__docker_network_find(&net, d, name, false, "swarm")))
		return rc;
	if (net) {
		rc = check_existing(encrypted, why_not, net, name);
		json_decref(net);
		tl_buf lack = TL_BUF_INIT;
		/* Plain: the kernel is the better reason. Encrypted before (another
		 * kernel, or by hand): say what happens, but never remove a network
		 * services may be using. */
		if (rc == TL_OK && d->sock && !tl__kernel_ipsec(&lack)) {
			if (*encrypted)
				rc = tl__log(ctx, TL_LOG_WARN, "overlay network %s is encrypted, but %s",
				             name, lack.ptr);
			if (rc == TL_OK && why_not)
				rc = tl__buf_set(why_not, lack.ptr, lack.size);
		}
		tl_buf_dispose(&lack);
		return rc;
	}
	json_t *lab = labels_object(labels);
	if (!lab)
		return TL_ENOMEM;
	tl_buf why = TL_BUF_INIT;
	bool enc = true;
	if (d->sock && !tl__kernel_ipsec(&why)) /* a unix socket: the engine runs on this kernel */
		enc = false;
	rc = create(d, name, lab, enc);
	if (rc && rc != TL_ECONFLICT && enc && refused_for_kernel(tl_error_last()->message)) {
		enc = false;
		tl__buf_printf(&why, "Docker refused an encrypted overlay: %s",
		               tl_error_last()->message);
		tl_error_clear();
		rc = create(d, name, lab, false);
	}
	json_decref(lab);
	if (rc == TL_ECONFLICT) { /* made meanwhile by another run: check it instead */
		tl_error_clear();
		tl_buf_dispose(&why);
		if ((rc = tl__docker_network_find(&net, d, name, false, "swarm")) == TL_OK && net)
			rc = check_existing(encrypted, why_not, net, name);
		else if (rc == TL_OK)
			rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
			                   "Docker refused to make the overlay network %s as a duplicate, "
			                   "but the swarm has none of that name",
			                   name);
		json_decref(net);
		return rc;
	}
	if (rc == TL_OK && !enc)
		rc = tl__log(ctx, TL_LOG_WARN, "overlay network %s is NOT encrypted: %s", name,
		             why.ptr);
	if (rc == TL_OK) {
		*encrypted = enc;
		if (why_not)
			tl__buf_set(why_not, why.ptr ? why.ptr : "", why.size);
	}
	tl_buf_dispose(&why);
	return rc;
}

char *tl__cluster_platform_network(tl_ctx *ctx)
{
	return tl__sprintf("%s-platform", tl__cfg(ctx, "TOWLION_NETWORK"));
}

int tl__cluster_tenant_net(char **name, bool *encrypted, tl_ctx *ctx, tl_docker *d,
                           const char *app, uint32_t pr)
{
	TL__CHECK_ARG(name && encrypted && ctx && d);
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	char *project = pr ? tl__sprintf("%s-pr-%u", app, pr) : tl__strdup(app);
	char *net = project ? tl__tenant_network(ctx, project) : NULL;
	char **labels = NULL;
	rc = net ? tl__strv_pushf(&labels, "towlion.app=%s", app) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__strv_pushf(&labels, "towlion.project=%s", project);
	if (rc == TL_OK && pr)
		rc = tl__strv_pushf(&labels, "towlion.pr=%u", pr);
	if (rc == TL_OK)
		rc = tl__strv_push(&labels, "towlion.network=tenant");
	if (rc == TL_OK)
		rc = tl__cluster_overlay_ensure(encrypted, NULL, ctx, d, net,
		                                (const char *const *)labels);
	tl__strv_free(labels);
	free(project);
	if (rc) {
		free(net);
		return rc;
	}
	*name = net;
	return TL_OK;
}
