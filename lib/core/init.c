/* Reference-counted global initialisation of the libraries we wrap. */
#include "core.h"
#include "towlion/version.h"

#include <curl/curl.h>
#include <libssh2.h>
#include <pthread.h>

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

int tl_init(void)
{
	int rc;
	pthread_mutex_lock(&init_lock);
	if (init_count == 0) {
		CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (cc != CURLE_OK) {
			rc = tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_CURL, "", (long)cc,
			                            "curl_global_init failed: %s",
			                            curl_easy_strerror(cc));
			goto out;
		}
		int sc = libssh2_init(0);
		if (sc != 0) {
			curl_global_cleanup();
			rc = tl__error_set_upstream(TL_ERROR, TL_ERRCLASS_SSH, "", sc,
			                            "libssh2_init failed (%d)", sc);
			goto out;
		}
	}
	rc = ++init_count;
out:
	pthread_mutex_unlock(&init_lock);
	return rc;
}

int tl_shutdown(void)
{
	int rc;
	pthread_mutex_lock(&init_lock);
	if (init_count == 0) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                   "tl_shutdown called more often than tl_init");
	} else {
		rc = --init_count;
		if (init_count == 0) {
			libssh2_exit();
			curl_global_cleanup();
		}
	}
	pthread_mutex_unlock(&init_lock);
	return rc;
}

const char *tl_version(void)
{
	return TL_VERSION;
}

void tl_version_numbers(int *major, int *minor, int *patch)
{
	if (major)
		*major = TL_VERSION_MAJOR;
	if (minor)
		*minor = TL_VERSION_MINOR;
	if (patch)
		*patch = TL_VERSION_PATCH;
}
