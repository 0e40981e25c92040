# The docker and compose modules: stream/tar/ignore and compose parsing
# without services (unit), and the real dockerd of the harness.
tl_unit_test(docker_stream)
tl_integration_test(docker SERVICES TIMEOUT 600)
tl_unit_test(compose_fixtures)
tl_unit_test(compose)
tl_integration_test(docker_cli SERVICES TIMEOUT 300)
add_dependencies(test_docker_cli towlion_cli)
