# Tests of the SQLite backend (included from tests/CMakeLists.txt).
add_executable(factum_sqlite_tests
  sqlite/conformance.cpp)
target_link_libraries(factum_sqlite_tests PRIVATE factum::sqlite factum_test_main)
target_precompile_headers(factum_sqlite_tests REUSE_FROM factum_core_tests)
catch_discover_tests(factum_sqlite_tests)
