/*
 * Log rotation of every container towlion creates (app, preview, release
 * and platform containers): Docker's json-file driver with a size cap.
 * Without one, a chatty tenant's stdout grows under /var/lib/docker until
 * the disk every other tenant shares is full. json-file (not `local`)
 * because Promtail reads those files (the logs profile).
 */
#include "docker/logrotate.h"

#include <string.h>

/* A Docker size: digits, then an optional k, m or g ("10m"); "0": off. */
static bool is_docker_size(const char *v)
{
	size_t n = strspn(v, "0123456789");
	if (n == 0 || n > 9 || (v[0] == '0' && n > 1))
		return false;
	return v[n] == '\0' || (strchr("kmg", v[n]) && v[n + 1] == '\0');
}

int tl__log_rotation(const char **max_size, const char **max_file, tl_ctx *ctx)
{
	const char *size = tl__cfg(ctx, "TOWLION_LOG_MAX_SIZE");
	const char *files = tl__cfg(ctx, "TOWLION_LOG_MAX_FILE");
	if (!is_docker_size(size))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_LOG_MAX_SIZE=\"%s\": must be a size such as 10m, "
		                     "500k or 1g (0: no rotation)",
		                     size);
	size_t n = strspn(files, "0123456789");
	if (n == 0 || n > 3 || files[n] || files[0] == '0')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_LOG_MAX_FILE=\"%s\": must be a whole number of "
		                     "files from 1 to 999",
		                     files);
	*max_size = size;
	*max_file = files;
	return TL_OK;
}

int tl__docker_spec_rotate_logs(tl_docker_container_spec *s, tl_ctx *ctx)
{
	const char *size, *files;
	int rc = tl__log_rotation(&size, &files, ctx);
	if (rc || !strcmp(size, "0"))
		return rc;
	char o_size[48], o_files[32];
	snprintf(o_size, sizeof(o_size), "max-size=%s", size);
	snprintf(o_files, sizeof(o_files), "max-file=%s", files);
	const char *opts[] = {o_size, o_files, NULL};
	return tl_docker_container_spec_set_log(s, "json-file", opts);
}
