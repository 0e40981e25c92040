/*
 * Which keys an app may set. The platform injects its own keys into every
 * container of an app (engine.c, merge_platform_env: the app's env file
 * written by pg/secret.c, redis/tenant.c and s3/app.c, plus APP_DOMAIN);
 * an app setting one of them would be overruled at best, and at worst a
 * reader of the settings file would take a stale copy for the real one.
 * So they are refused by name, with the module that owns each, and so is
 * every key under a prefix the platform owns: a key the platform adds
 * later under REDIS_ or S3_ can never collide with a stored setting.
 */
#include "appenv_int.h"

#include <string.h>

static const struct {
	const char *key;
	const char *owner;
} platform_keys[] = {
	{"DATABASE_URL", "the app's PostgreSQL database (towlion db)"},
	{"APP_DOMAIN", "the app's route (towlion app)"},
};

static const struct {
	const char *prefix;
	const char *owner;
} platform_prefixes[] = {
	{"REDIS_", "the app's Redis user and key prefix (towlion redis)"},
	{"S3_", "the app's bucket and keys (towlion s3)"},
	{"TOWLION_", "the platform's own configuration"},
};

static bool key_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool key_char(char c) { return key_start(c) || (c >= '0' && c <= '9'); }

int tl_appenv_check_key(const char *key)
{
	TL__CHECK_ARG(key);
	size_t n = strlen(key);
	if (n == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "an empty key: give KEY=VALUE with a name before the '='");
	if (n > TL_APPENV_KEY_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a key is %zu bytes long; keys are at most %d", n,
		                     TL_APPENV_KEY_MAX);
	/* A key that breaks the name rules is not quoted: it may be a value
	 * given without its KEY= (a base64 secret ends in '='). */
	if (key[0] >= '0' && key[0] <= '9')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a key starts with a digit; an environment variable name "
		                     "starts with a letter or '_' (the key is not shown: it may be "
		                     "a value given without KEY=)");
	for (size_t i = 0; i < n; i++)
		if (!(i == 0 ? key_start(key[i]) : key_char(key[i])))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "a key has a character other than A-Z, a-z, 0-9 and '_' "
			                     "(at byte %zu); environment variable names are "
			                     "[A-Za-z_][A-Za-z0-9_]* (the key is not shown: it may be a "
			                     "value given without KEY=)",
			                     i + 1);
	for (size_t i = 0; i < TL__ARRAY_SIZE(platform_keys); i++)
		if (!strcmp(key, platform_keys[i].key))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "%s is a platform key, set by %s: the platform's value "
			                     "always wins, so it cannot be set or unset here",
			                     key, platform_keys[i].owner);
	for (size_t i = 0; i < TL__ARRAY_SIZE(platform_prefixes); i++)
		if (tl__str_startswith(key, platform_prefixes[i].prefix))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "%s is a platform key: keys starting with %s belong to %s, "
			                     "so it cannot be set or unset here; choose another name",
			                     key, platform_prefixes[i].prefix, platform_prefixes[i].owner);
	return TL_OK;
}
