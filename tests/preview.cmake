# Previews of pull requests (issue: previews).
tl_integration_test(preview SERVICES TIMEOUT 900)
