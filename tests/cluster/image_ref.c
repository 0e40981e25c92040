/*
 * tests/cluster/run's way to the internal tl__cluster_image_ref (the
 * Swarm deploy engine is its caller): put a local image of the engine at
 * TOWLION_DOCKER_HOST in the cluster's registry, print the reference the
 * nodes pull, and write the X-Registry-Auth value to AUTH_FILE (0600: it
 * holds the registry's password).
 *
 * Usage: cluster_image_ref IMAGE AUTH_FILE
 * Exit 0; 1 with the error; 7 when the registry refused the credentials.
 */
#include "cluster/cluster_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cluster_image_ref IMAGE AUTH_FILE\n");
		return 2;
	}
	tl_ctx *ctx = NULL;
	tl_docker *d = NULL;
	char *ref = NULL, *auth = NULL;
	int rc = tl_ctx_new(&ctx, NULL);
	if (rc == TL_OK)
		rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = tl__cluster_image_ref(&ref, &auth, ctx, d, argv[1]);
	if (rc == TL_OK) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		size_t n = strlen(auth);
		if (fd < 0 || write(fd, auth, n) != (ssize_t)n || close(fd) != 0) {
			perror(argv[2]);
			rc = TL_EIO;
		} else {
			printf("%s\n", ref);
		}
	} else {
		fprintf(stderr, "cluster_image_ref: %s\n", tl_error_last()->message);
	}
	free(ref);
	free(auth);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return rc == TL_OK ? 0 : rc == TL_EAUTH ? 7 : 1;
}
