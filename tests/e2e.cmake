# End to end: the whole platform on a server of its own (tests/e2e/server:
# a dockerd in a network namespace of its own, the images from
# tests/images/build). Label e2e; it needs no harness service, so
# scripts/test runs it in the background next to the other suites
# (`ctest -L e2e`), and the main run leaves it out (`-LE e2e`).
add_test(NAME e2e.server
         COMMAND ${PROJECT_SOURCE_DIR}/tests/e2e/server/run
                 --towlion $<TARGET_FILE:towlion_cli>
                 --dir ${PROJECT_BINARY_DIR}/e2e-server)
set_tests_properties(e2e.server PROPERTIES LABELS e2e TIMEOUT 1800
                     RESOURCE_LOCK e2e_server)

# towlion server bootstrap (issue 20): a Debian 12 systemd container made
# by the test, bootstrapped over SSH, an app deployed to it, its firewall
# checked from outside, bootstrapped again without a change.
add_test(NAME e2e.bootstrap
         COMMAND ${PROJECT_SOURCE_DIR}/tests/e2e/bootstrap/run
                 --towlion $<TARGET_FILE:towlion_cli>
                 --dir ${PROJECT_BINARY_DIR}/e2e-bootstrap)
set_tests_properties(e2e.bootstrap PROPERTIES LABELS e2e TIMEOUT 2400
                     RESOURCE_LOCK e2e_bootstrap)
# The app template end to end (tests/e2e/template, issue 17): the same kind
# of server, plus an sshd there, the template's base images, and its GitHub
# workflows run by a runner on this machine. Label e2e like the server run;
# its own lock so both can run at once (each has its own dockerd).
add_test(NAME e2e.template
         COMMAND ${PROJECT_SOURCE_DIR}/tests/e2e/template/run
                 --towlion $<TARGET_FILE:towlion_cli>
                 --dir ${PROJECT_BINARY_DIR}/e2e-template)
set_tests_properties(e2e.template PROPERTIES LABELS e2e TIMEOUT 3600
                     RESOURCE_LOCK e2e_template)
