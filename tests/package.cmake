# The Debian packages end to end (tests/package/run): build, lintian,
# install, upgrade and purge in a fresh Debian 12 root file system. Label
# e2e (left out of the main run, which is `ctest -LE e2e`; scripts/test runs
# it in the background) and package (`ctest -L package`). It needs root
# and the Debian mirror, and builds the packages itself (cached by content).
add_test(NAME package.debian
         COMMAND ${PROJECT_SOURCE_DIR}/tests/package/run
                 --dir ${PROJECT_BINARY_DIR}/package-test)
set_tests_properties(package.debian PROPERTIES LABELS "e2e;package" TIMEOUT 3600
                     RESOURCE_LOCK package_test)
