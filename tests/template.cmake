# The app template (examples/app-template): its Dockerfiles built unchanged
# on the stand-in base images (tests/images app-python, app-node), the API's
# pytest in the built image against the harness's PostgreSQL and S3, the
# frontend image serving / and /health. Cold: the two base images (minutes)
# and the Next.js build; cached: the image builds only.
add_test(NAME template.check
         COMMAND ${PROJECT_SOURCE_DIR}/tests/harness/with-env ${TL_HARNESS_ENV}
                 ${PROJECT_SOURCE_DIR}/tests/template/check $<TARGET_FILE:towlion_cli>)
set_tests_properties(template.check PROPERTIES LABELS integration FIXTURES_REQUIRED services
                     RESOURCE_LOCK services SKIP_RETURN_CODE 77 TIMEOUT 2400)
