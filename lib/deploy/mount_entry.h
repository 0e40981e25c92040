/*
 * One compose mount entry, as the plan holds it (tl__svc.binds and .tmpfs),
 * split once for both engines: the single-server engine turns it into a
 * container's binds, volumes and tmpfs, the swarm engine into a service's
 * Mounts.
 */
#ifndef TL_DEPLOY_MOUNT_ENTRY_H
#define TL_DEPLOY_MOUNT_ENTRY_H

#include <stdbool.h>

typedef struct {
	char *buf;           /* owns the strings below */
	const char *source;  /* a volume name or an absolute host path; NULL for tmpfs */
	const char *target;  /* the path in the container */
	const char *options; /* tmpfs: "size=64m,mode=1777" or NULL */
	bool read_only;      /* ":ro" */
} tl__mount_entry;

/* "SOURCE:TARGET[:MODE]"; an entry without a target is a TL_EINVALID that
 * names the service. */
int tl__mount_entry_bind(tl__mount_entry *m, const char *service, const char *entry);

/* "TARGET[:OPTIONS]". */
int tl__mount_entry_tmpfs(tl__mount_entry *m, const char *entry);

void tl__mount_entry_free(tl__mount_entry *m);

/* A tmpfs's options as Swarm's TmpfsOptions can hold them: size=SIZE
 * (bytes, or k/m/g) and mode=OCTAL. Any other option (noexec, nosuid...) is
 * refused with TL_EUNSUPPORTED rather than dropped: a tenant who asked for
 * noexec must not silently get an executable tmpfs. */
int tl__tmpfs_swarm_options(long long *size_bytes, int *mode, const char *service,
                            const char *target, const char *options);

#endif
