# Tests of the SQLite backend (included from tests/CMakeLists.txt).
add_executable(factum_sqlite_writer sqlite/writer_main.cpp)
target_link_libraries(factum_sqlite_writer PRIVATE factum::sqlite)

add_executable(factum_bank_node sqlite/bank_node_main.cpp)
target_link_libraries(factum_bank_node PRIVATE factum::sqlite)

add_executable(factum_sqlite_tests
  sqlite/conformance.cpp
  sqlite/faults.cpp
  sqlite/vfs_faults.cpp
  sqlite/read_model.cpp
  sqlite/read_side.cpp
  sqlite/runtime.cpp
  sqlite/upcast.cpp
  sqlite/model.cpp
  runtime/concurrency.cpp)
target_link_libraries(factum_sqlite_tests PRIVATE factum::sqlite SQLite::SQLite3 factum_test_main)
target_compile_definitions(factum_sqlite_tests PRIVATE
  FACTUM_TEST_WRITER="$<TARGET_FILE:factum_sqlite_writer>"
  FACTUM_TEST_BANK_NODE="$<TARGET_FILE:factum_bank_node>"
  FACTUM_TEST_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
add_dependencies(factum_sqlite_tests factum_sqlite_writer factum_bank_node)
target_precompile_headers(factum_sqlite_tests REUSE_FROM factum_core_tests)
factum_discover_tests(factum_sqlite_tests)

# Replaces the global operator new (to fail allocations), so it is an
# executable of its own.
add_executable(factum_alloc_fault_tests sqlite/alloc_faults.cpp)
target_link_libraries(factum_alloc_fault_tests PRIVATE factum::sqlite factum_test_main)
factum_discover_tests(factum_alloc_fault_tests)
