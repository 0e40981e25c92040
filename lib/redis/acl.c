/* The ACL of an app's user: which commands a tenant may run, and which
 * user names a tenant may never get.
 *
 * Key and channel patterns confine every command that names keys or
 * channels to the tenant's prefix (Redis 7 also checks the commands a
 * script runs). What is left are the commands that see or change the
 * whole server without naming a key: they are denied below. */
#include "redis_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Applied in this order after `+@all`. */
static const char *const tenant_rules[] = {
	/* FLUSHALL, FLUSHDB, KEYS, SWAPDB, CONFIG, DEBUG, MONITOR, INFO, SORT,
	 * MIGRATE, RESTORE, SHUTDOWN, CLIENT LIST|KILL|PAUSE|UNBLOCK|NO-EVICT,
	 * ACL LIST|GETUSER|SETUSER|LOG..., SLOWLOG, LATENCY, MODULE, ... */
	"-@dangerous",
	"-@admin",
	/* Spelt out too, so the rules say so even if a category changes. */
	"-flushall", "-flushdb", "-keys", "-swapdb", "-monitor", "-debug", "-config",
	/* Keyspace-wide without naming a key: other tenants' key names and counts. */
	"-scan", "-randomkey", "-dbsize",
	/* Only database 0 (the one in REDIS_URL): no data hidden in others. */
	"-select", "+select|0", "-move",
	/* Other tenants' channel names and subscriber counts. */
	"-pubsub",
	/* CLIENT TRACKING ... BCAST sends the name of every key anyone
	 * changes (tried: Redis 7.0 does not check it against key patterns). */
	"-client|tracking",
	/* Scripts and functions are server-wide: FUNCTION LOAD|FLUSH|DELETE,
	 * SCRIPT FLUSH|KILL, FCALL of another tenant's library. EVAL stays:
	 * the commands a script runs are checked like the user's own. */
	"-@scripting", "+eval", "+evalsha", "+eval_ro", "+evalsha_ro", "+script|load",
	"+script|exists",
	/* Server memory figures; MEMORY USAGE names a key and stays. */
	"-memory", "+memory|usage",
	/* The ACL of everybody (ACL WHOAMI and CAT included: nothing needs them). */
	"-acl",
	/* Replication is the platform's. */
	"-wait", "-waitaof", "-failover", "-replicaof", "-slaveof",
};

/* Rules naming a command this server does not know are left out (Redis
 * refuses them, and an unknown command cannot be run anyway): WAITAOF is
 * Redis 7.2. Computed once per connection, with one COMMAND INFO of all
 * the names (it was one round trip per rule: 29 of them). */
int tl__redis_tenant_rules(const char *const **rules, size_t *count, tl_redis *r)
{
	if (r->rules) {
		*rules = (const char *const *)r->rules;
		*count = r->rule_count;
		return TL_OK;
	}
	size_t n = TL__ARRAY_SIZE(tenant_rules);
	const char **out = tl__calloc(n, sizeof(char *));
	/* COMMAND INFO name...: argv[2 + j] is the command of rule at[j]. */
	char names[TL__ARRAY_SIZE(tenant_rules)][64];
	const char *argv[2 + TL__ARRAY_SIZE(tenant_rules)] = {"COMMAND", "INFO"};
	size_t at[TL__ARRAY_SIZE(tenant_rules)], asked = 0;
	if (!out)
		return TL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *rule = tenant_rules[i];
		if (rule[1] == '@')
			continue;
		size_t len = strcspn(rule + 1, "|");
		snprintf(names[asked], sizeof(names[asked]), "%.*s", (int)len, rule + 1);
		argv[2 + asked] = names[asked];
		at[asked++] = i;
	}
	redisReply *rep = NULL;
	int rc = tl__redis_cmd(&rep, r, "COMMAND INFO", (int)(2 + asked), argv);
	if (rc == TL_OK && (rep->type != REDIS_REPLY_ARRAY || rep->elements != asked))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_REDIS,
		                   "Redis COMMAND INFO of %zu commands answered something else", asked);
	size_t k = 0;
	for (size_t i = 0, j = 0; rc == TL_OK && i < n; i++) {
		/* Known: an array of the command's properties (nil otherwise). */
		if (j < asked && at[j] == i && rep->element[j++]->type != REDIS_REPLY_ARRAY)
			continue;
		out[k++] = tenant_rules[i];
	}
	freeReplyObject(rep);
	if (rc) {
		free(out);
		return rc;
	}
	r->rules = out;
	r->rule_count = k;
	*rules = out;
	*count = k;
	return TL_OK;
}

/* Redis rewrites rules its own way (ACL GETUSER: sorted, merged), so the
 * string to compare an app user's "commands" with is what it makes of
 * ours: it is read back from a probe user that nobody can log in as
 * (off, no password) and whose name no app can have ("--"), one per
 * process and connection so that concurrent probes do not meet. A probe
 * left behind by a kill -9 can do nothing and is not an app's user. */
#define PROBE_FMT "towlion--acl-probe-%ld-%lx"

int tl__redis_rules_canonical(const char **out, tl_redis *r)
{
	if (r->canonical) {
		*out = r->canonical;
		return TL_OK;
	}
	const char *const *rules = NULL;
	size_t n = 0;
	int rc = tl__redis_tenant_rules(&rules, &n, r);
	if (rc)
		return rc;
	char probe[80];
	snprintf(probe, sizeof(probe), PROBE_FMT, (long)getpid(), (unsigned long)(uintptr_t)r);
	const char *argv[64] = {"ACL", "SETUSER", probe, "reset", "off", "+@all"};
	int argc = 6;
	for (size_t i = 0; i < n && argc < 64; i++)
		argv[argc++] = rules[i];
	redisReply *rep = NULL;
	if ((rc = tl__redis_cmd(&rep, r, "ACL SETUSER (probe)", argc, argv)))
		return rc;
	freeReplyObject(rep);
	const char *get[] = {"ACL", "GETUSER", probe};
	rc = tl__redis_cmd(&rep, r, "ACL GETUSER (probe)", 3, get);
	char *found = NULL;
	for (size_t i = 0; !rc && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
		if (rep->element[i]->str && !strcmp(rep->element[i]->str, "commands") &&
		    rep->element[i + 1]->str)
			found = tl__strdup(rep->element[i + 1]->str);
	if (!rc)
		freeReplyObject(rep);
	const char *del[] = {"ACL", "DELUSER", probe};
	redisReply *d = NULL;
	int drc = tl__redis_cmd(&d, r, "ACL DELUSER (probe)", 3, del);
	freeReplyObject(d);
	if (!rc)
		rc = drc;
	if (!rc && !found)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_REDIS,
		                   "Redis ACL GETUSER %s: no commands in the reply", probe);
	if (rc) {
		free(found);
		return rc;
	}
	r->canonical = found;
	*out = found;
	return TL_OK;
}

/* Names of users Redis or the platform owns: an app of that name would get
 * (or, dropped, delete) that user. Users that exist and are not shaped
 * like an app's are refused by tenant.c too. */
static const char *const reserved[] = {"default"};

int tl__redis_check_user(tl_redis *r, const char *user)
{
	for (size_t i = 0; i < TL__ARRAY_SIZE(reserved); i++)
		if (!strcmp(user, reserved[i]))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "app name \"%s\" is reserved: Redis user \"%s\" is "
			                     "Redis's own admin user; choose another app name",
			                     user, user);
	if (r->admin_user && !strcmp(user, r->admin_user))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "app name \"%s\" is reserved: Redis user \"%s\" is the "
		                     "platform's admin user (TOWLION_REDIS_URL); choose another "
		                     "app name", user, user);
	return TL_OK;
}
