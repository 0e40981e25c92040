# tests/images: the platform's images built from Debian's packages (cached
# by content under TL_IMAGE_CACHE), each run for real in the harness's
# dockerd. A cold build takes minutes; a cached run only loads or reuses.
add_test(NAME images.selftest
         COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_HARNESS_ENV}
                 ${PROJECT_SOURCE_DIR}/tests/images/selftest)
set_tests_properties(images.selftest PROPERTIES LABELS images FIXTURES_REQUIRED services
                     SKIP_RETURN_CODE 77 TIMEOUT 2400)
