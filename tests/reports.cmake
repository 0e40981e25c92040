# A report over every app lists Docker's containers once (issue 21):
# tests/integration/test_reports.c against the harness's dockerd.
tl_integration_test(reports SERVICES TIMEOUT 300)
