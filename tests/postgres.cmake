# Tests of the PostgreSQL backend (included from tests/CMakeLists.txt). Each
# test process starts a throwaway cluster (tests/support/pg_cluster.hpp).
find_program(FACTUM_PG_CTL pg_ctl PATHS /usr/lib/postgresql/15/bin NO_DEFAULT_PATH)
if(NOT FACTUM_PG_CTL)
  message(WARNING "pg_ctl (postgresql-15) not found: the PostgreSQL tests are not built")
  return()
endif()
get_filename_component(FACTUM_PG_BINDIR "${FACTUM_PG_CTL}" DIRECTORY)

add_executable(factum_postgres_tests
  postgres/batches.cpp
  postgres/conformance.cpp
  postgres/gap.cpp
  postgres/faults.cpp
  postgres/read_model.cpp
  postgres/nodes.cpp
  postgres/model.cpp)
target_link_libraries(factum_postgres_tests PRIVATE factum::postgres PostgreSQL::PostgreSQL
  factum_test_main)
target_compile_definitions(factum_postgres_tests PRIVATE
  FACTUM_PG_BINDIR="${FACTUM_PG_BINDIR}"
  FACTUM_TEST_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/fixtures")
target_precompile_headers(factum_postgres_tests REUSE_FROM factum_core_tests)
factum_discover_tests(factum_postgres_tests)

add_executable(factum_pg_node postgres/node_main.cpp)
target_link_libraries(factum_pg_node PRIVATE factum::postgres)
target_compile_definitions(factum_postgres_tests PRIVATE
  FACTUM_TEST_PG_NODE="$<TARGET_FILE:factum_pg_node>")
add_dependencies(factum_postgres_tests factum_pg_node)
if(FACTUM_BUILD_EXAMPLES)  # the bank example on PostgreSQL (examples/ comes after tests/)
  target_compile_definitions(factum_postgres_tests PRIVATE FACTUM_TEST_BANK="$<TARGET_FILE:bank>")
  add_dependencies(factum_postgres_tests bank)
endif()

# Replaces the global operator new (to fail allocations), so it is an
# executable of its own.
add_executable(factum_pg_alloc_fault_tests postgres/alloc_faults.cpp)
target_link_libraries(factum_pg_alloc_fault_tests PRIVATE factum::postgres PostgreSQL::PostgreSQL
  factum_test_main)
target_compile_definitions(factum_pg_alloc_fault_tests PRIVATE
  FACTUM_PG_BINDIR="${FACTUM_PG_BINDIR}")
factum_discover_tests(factum_pg_alloc_fault_tests)
