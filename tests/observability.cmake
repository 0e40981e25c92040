# Observability (issue 16): profiles, Grafana provisioning, log rotation,
# the metrics textfile. Unit tests need no service (docker-compose and
# python3-yaml run as programs).
tl_unit_test(observability)
