# Compose compatibility: the tables of tests/compose/ (interpolation and
# env files as Docker Compose reads them).
tl_unit_test(compose_tables)
