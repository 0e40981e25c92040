/*
 * Service names the platform keeps for itself. On every project's own
 * network the shared services answer under fixed names (see
 * lib/deploy/tenant_net.c); a service of the same name would share that
 * name in Docker's DNS, take a part of the traffic meant for the platform
 * (and the passwords that come with it). So no compose file, trusted or
 * not, may name a service so.
 */
#include "reader.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name, *what;
} reserved[] = {
	{"postgres", "the shared PostgreSQL (DATABASE_URL)"},
	{"redis", "the shared Redis (REDIS_URL)"},
	{"s3", "the shared object store (S3_ENDPOINT)"},
	{"storage", "the shared object store (S3_ENDPOINT)"},
	{"minio", "the shared object store (S3_ENDPOINT)"},
};

const char *tl__compose_reserved_name(const char *name)
{
	for (size_t i = 0; name && i < TL__ARRAY_SIZE(reserved); i++)
		if (!strcasecmp(name, reserved[i].name))
			return reserved[i].what;
	return NULL;
}

int tl__compose_check_reserved(tl__compose_reader *r, const yaml_node_t *knode, const char *name)
{
	const char *what = tl__compose_reserved_name(name);
	if (!what)
		return TL_OK;
	return tl__compose_fail(r, knode,
	               "service name \"%s\" is reserved: on the app's network it is the name of "
	               "%s; rename the service (the app reaches the platform's under that name)",
	               name, what);
}
