# Observability (issue 16): profiles, Grafana provisioning, log rotation,
# the metrics textfile. Unit tests need no service (docker-compose and
# python3-yaml run as programs).
tl_unit_test(observability)

# towlion metrics --textfile read by Debian's node-exporter and scraped by
# Debian's Prometheus, both on loopback (no harness needed).
add_test(NAME integration.observability_textfile_scrape
         COMMAND ${PROJECT_SOURCE_DIR}/tests/observability/textfile-scrape
                 $<TARGET_FILE:towlion_cli>)
set_tests_properties(integration.observability_textfile_scrape PROPERTIES
                     LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77)

# On the harness: a deployed app runs with the json-file limits (Docker
# rotates its log at them); the platform routes go live in Caddy.
tl_integration_test(observability_server SERVICES TIMEOUT 300)

# Debian's Prometheus and node-exporter in containers on the platform's
# internal network: towlion's series scraped by service name; a tenant's
# container reaches neither port.
tl_integration_test(observability_net SERVICES TIMEOUT 300)
