/* The cluster registry's credentials (lib/cluster/registry_auth.c) and the
 * X-Registry-Auth value (tl_docker_registry_auth), without services. */
#include "tl_test.h"
#include "cluster/cluster_int.h"

#include <crypt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	char *dir;
	char *pw_path;
	char *ht_path;
	tl_ctx *ctx;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = tl_test_tmpdir();
	char *sd = tl__path_join(f->dir, "state");
	f->pw_path = tl__path_join(sd, "registry/password");
	f->ht_path = tl__path_join(sd, "registry/htpasswd");
	assert_int_equal(tl_ctx_new(&f->ctx, NULL), TL_OK);
	assert_int_equal(tl_ctx_config_set(f->ctx, "TOWLION_STATE_DIR", sd), TL_OK);
	free(sd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tl_ctx_free(f->ctx);
	free(f->pw_path);
	free(f->ht_path);
	tl_test_rmdir(f->dir);
	free(f);
	return 0;
}

static void assert_mode(const char *path, mode_t want)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, want);
}

/* The htpasswd line holds a bcrypt hash of `password` for user towlion. */
static void assert_htpasswd_for(const char *path, const char *password)
{
	char *line = tl_test_read_file(path);
	assert_non_null(line);
	assert_true(!strncmp(line, "towlion:$2b$", 12));
	char *hash = line + strlen("towlion:");
	hash[strcspn(hash, "\n")] = '\0';
	struct crypt_data cd;
	memset(&cd, 0, sizeof(cd));
	assert_string_equal(crypt_rn(password, hash, &cd, sizeof(cd)), hash);
	free(line);
}

static void test_created_once_and_kept(void **state)
{
	fixture *f = *state;
	tl_buf pw = TL_BUF_INIT, pw2 = TL_BUF_INIT;
	char *ht = NULL;
	bool changed = false;
	/* Without create (the deploy engine's call), a missing password says
	 * to run cluster init, and makes nothing. */
	assert_int_equal(tl__registry_secrets(&pw, NULL, NULL, f->ctx, false), TL_ENOTFOUND);
	tl_assert_error_contains("towlion cluster init");
	assert_null(tl_test_read_file(f->pw_path));

	assert_int_equal(tl__registry_secrets(&pw, &ht, &changed, f->ctx, true), TL_OK);
	assert_int_equal(pw.size, 32);
	assert_true(changed);
	assert_string_equal(ht, f->ht_path);
	assert_mode(f->pw_path, 0600);
	assert_mode(f->ht_path, 0600);
	char *dir = tl__path_join(f->dir, "state/registry");
	assert_mode(dir, 0700);
	free(dir);
	assert_htpasswd_for(f->ht_path, pw.ptr);
	char *ht_before = tl_test_read_file(f->ht_path);

	/* Again: the same password, the htpasswd untouched (its salt too). */
	free(ht);
	ht = NULL;
	assert_int_equal(tl__registry_secrets(&pw2, &ht, &changed, f->ctx, true), TL_OK);
	assert_string_equal(pw2.ptr, pw.ptr);
	assert_false(changed);
	char *ht_after = tl_test_read_file(f->ht_path);
	assert_string_equal(ht_after, ht_before);
	free(ht_after);

	/* A lost or foreign htpasswd is written again for the kept password. */
	tl_test_write_file(f->ht_path, "towlion:$2b$05$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY\n", 0600);
	tl__buf_clear(&pw2);
	assert_int_equal(tl__registry_secrets(&pw2, NULL, &changed, f->ctx, true), TL_OK);
	assert_true(changed);
	assert_string_equal(pw2.ptr, pw.ptr);
	assert_htpasswd_for(f->ht_path, pw.ptr);
	free(ht_before);
	free(ht);
	tl_buf_dispose(&pw);
	tl_buf_dispose(&pw2);
}

static void test_bad_password_file_refused(void **state)
{
	fixture *f = *state;
	tl_buf pw = TL_BUF_INIT;
	assert_int_equal(tl__registry_secrets(&pw, NULL, NULL, f->ctx, true), TL_OK);
	tl_test_write_file(f->pw_path, "short\n", 0600);
	tl__buf_clear(&pw);
	char *ht_before = tl_test_read_file(f->ht_path);
	assert_int_equal(tl__registry_secrets(&pw, NULL, NULL, f->ctx, true), TL_EINVALID);
	tl_assert_error_contains("is not a registry password");
	assert_null(pw.ptr && *pw.ptr ? pw.ptr : NULL); /* nothing handed out */
	/* and nothing replaced */
	char *now = tl_test_read_file(f->pw_path);
	assert_string_equal(now, "short\n");
	char *ht_now = tl_test_read_file(f->ht_path);
	assert_string_equal(ht_now, ht_before);
	free(now);
	free(ht_now);
	free(ht_before);
	tl_buf_dispose(&pw);
}

static void test_x_registry_auth(void **state)
{
	(void)state;
	tl_buf h = TL_BUF_INIT;
	/* a password whose JSON makes '+' and '/' in plain base64 */
	assert_int_equal(tl_docker_registry_auth(&h, "127.0.0.1:5000", "towlion", "?>?>~~~"), TL_OK);
	assert_null(strpbrk(h.ptr, "+/"));
	unsigned char bin[256];
	size_t n = 0;
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), h.ptr, h.size, NULL, &n, NULL,
	                                   sodium_base64_VARIANT_URLSAFE),
	                 0);
	bin[n] = '\0';
	assert_string_equal((char *)bin, "{\"username\":\"towlion\",\"password\":\"?>?>~~~\","
	                                 "\"serveraddress\":\"127.0.0.1:5000\"}");
	tl_buf_dispose(&h);
	assert_int_equal(tl_docker_registry_auth(&h, "", "u", "p"), TL_EINVALID);
	assert_int_equal(tl_docker_registry_auth(&h, "s", "u", "\xff"), TL_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_once_and_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_password_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_registry_auth, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
