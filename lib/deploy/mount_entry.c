#include "mount_entry.h"
#include "core/core.h"
#include "towlion/validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl__mount_entry_free(tl__mount_entry *m)
{
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

int tl__mount_entry_bind(tl__mount_entry *m, const char *service, const char *entry)
{
	memset(m, 0, sizeof(*m));
	if (!(m->buf = tl__strdup(entry)))
		return TL_ENOMEM;
	char *target = strchr(m->buf, ':');
	if (!target) {
		tl__mount_entry_free(m);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "service %s: volume \"%s\" has no target", service, entry);
	}
	*target++ = '\0';
	char *mode = strchr(target, ':');
	if (mode) {
		*mode++ = '\0';
		m->read_only = strcmp(mode, "ro") == 0;
	}
	m->source = m->buf;
	m->target = target;
	return TL_OK;
}

int tl__mount_entry_tmpfs(tl__mount_entry *m, const char *entry)
{
	memset(m, 0, sizeof(*m));
	if (!(m->buf = tl__strdup(entry)))
		return TL_ENOMEM;
	char *opts = strchr(m->buf, ':');
	if (opts)
		*opts++ = '\0';
	m->target = m->buf;
	m->options = opts && *opts ? opts : NULL;
	return TL_OK;
}

static int refuse(const char *service, const char *target, const char *what, const char *opt)
{
	return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DEPLOY,
	                     "service %s: tmpfs %s: %s \"%s\" (a swarm service's tmpfs takes only "
	                     "size= and mode=)",
	                     service, target, what, opt);
}

int tl__tmpfs_swarm_options(long long *size_bytes, int *mode, const char *service,
                            const char *target, const char *options)
{
	*size_bytes = 0;
	*mode = 0;
	if (!options)
		return TL_OK;
	char *copy = tl__strdup(options);
	if (!copy)
		return TL_ENOMEM;
	int rc = TL_OK;
	char *save = NULL;
	for (char *opt = strtok_r(copy, ",", &save); opt && rc == TL_OK;
	     opt = strtok_r(NULL, ",", &save)) {
		uint64_t v = 0;
		if (!strncmp(opt, "size=", 5)) {
			char what[256];
			snprintf(what, sizeof(what), "service %s: tmpfs %s size", service, target);
			if ((rc = tl_parse_size(&v, opt + 5, 1, (uint64_t)1 << 50, what)) == TL_OK)
				*size_bytes = (long long)v;
		} else if (!strncmp(opt, "mode=", 5)) {
			const char *p = opt + 5;
			size_t n = strspn(p, "01234567");
			if (!*p || p[n] || n > 4)
				rc = refuse(service, target, "mode is not an octal mode", p);
			else
				*mode = (int)strtol(p, NULL, 8); /* checked above: 1-4 octal digits */
		} else {
			rc = refuse(service, target, "cannot give the option", opt);
		}
	}
	free(copy);
	return rc;
}
