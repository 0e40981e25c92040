# The s3 module: names, XML and digests without services (unit), and the
# harness S3 server with SigV4 enforced (integration).
tl_unit_test(s3_names)
tl_integration_test(s3 SERVICES TIMEOUT 600)
# The integration test also drives the towlion command.
add_dependencies(test_s3 towlion_cli)
