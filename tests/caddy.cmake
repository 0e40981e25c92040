# Tests of the caddy module (routing): rendering without services, and
# the real Caddy from the harness (shared: tests run serially via the
# services resource lock, with a private TOWLION_CADDY_DIR each).
tl_unit_test(caddy_render)
tl_integration_test(caddy SERVICES TIMEOUT 300)
target_link_libraries(test_caddy PRIVATE PkgConfig::CURL Threads::Threads)
