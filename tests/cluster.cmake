# The cluster verbs (issue 19) on a real swarm of two dockerds, each in a
# network namespace of its own (tests/harness/swarmd): the shared test
# dockerd is never made a swarm. Needs root (namespaces), dockerd and
# busybox-static, as the e2e server test does; no harness services.
add_executable(cluster_tenant_net cluster/tenant_net.c)
target_link_libraries(cluster_tenant_net PRIVATE towlion_obj)
target_compile_options(cluster_tenant_net PRIVATE ${TL_WARNINGS})
# the registry's push for the deploy engine (tl__cluster_image_ref)
add_executable(cluster_image_ref cluster/image_ref.c)
target_link_libraries(cluster_image_ref PRIVATE towlion_obj)
target_compile_options(cluster_image_ref PRIVATE ${TL_WARNINGS})
add_test(NAME integration.cluster
  COMMAND ${PROJECT_SOURCE_DIR}/tests/cluster/run $<TARGET_FILE:towlion_cli>
          $<TARGET_FILE:cluster_tenant_net> $<TARGET_FILE:cluster_image_ref>
          $<$<BOOL:${TL_WITH_PYTHON}>:${PROJECT_BINARY_DIR}/bindings/python/python>)
set_tests_properties(integration.cluster PROPERTIES LABELS integration TIMEOUT 600)

# The registry's credentials and X-Registry-Auth, without services.
tl_unit_test(registry_auth)
# Reading Swarm's task objects (the port a task publishes), without services.
tl_unit_test(swarm_tasks)

# The Swarm deploy engine (TOWLION_ENGINE=swarm) on a single-node swarm in
# a namespace of its own, with the harness's Caddy started inside it.
add_test(NAME integration.cluster_deploy
  COMMAND ${PROJECT_SOURCE_DIR}/tests/cluster/deploy $<TARGET_FILE:towlion_cli>)
set_tests_properties(integration.cluster_deploy PROPERTIES LABELS integration TIMEOUT 900
  SKIP_RETURN_CODE 77)

# The Swarm deploy engine on two nodes: drain, activate and a lost node
# under a client loop through Caddy, the route following Swarm's tasks.
add_test(NAME integration.cluster_deploy2
  COMMAND ${PROJECT_SOURCE_DIR}/tests/cluster/deploy2 $<TARGET_FILE:towlion_cli>)
set_tests_properties(integration.cluster_deploy2 PROPERTIES LABELS integration TIMEOUT 900
  SKIP_RETURN_CODE 77)

# The single-server engine's own C suites (deploy, rollback, path routes,
# the zero-failure client loop; previews) run again on a single-node swarm,
# the same test code with TOWLION_ENGINE=swarm as its parameter
# (tests/cluster/csuite); a test of what only one server does skips itself.
foreach(suite deploy preview)
  add_test(NAME integration.swarm_${suite}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/cluster/csuite $<TARGET_FILE:towlion_cli>
            $<TARGET_FILE:test_${suite}>)
  set_tests_properties(integration.swarm_${suite} PROPERTIES LABELS integration TIMEOUT 900
    SKIP_RETURN_CODE 77)
endforeach()
