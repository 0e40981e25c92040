# SSH module: quoting (unit, round trip through real shells) and sessions
# against the harness's sshd (integration).
tl_unit_test(ssh_quote)
tl_integration_test(ssh SERVICES TIMEOUT 300)
# The slow unwinder sees through libcrypto (no frame pointers), so the
# suppression can name the libssh2 call instead of all of OpenSSL.
set_tests_properties(integration.ssh PROPERTIES ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/ssh-lsan.supp;ASAN_OPTIONS=fast_unwind_on_malloc=0")
