#include <factum/store/conformance.hpp>
#include <factum/store/postgres_store.hpp>

#include "../support/pg_cluster.hpp"

namespace {
/// Each test case gets a fresh schema on the process' throwaway cluster.
struct postgres_backend {
  factum::postgres_store store{factum_test::pg_cluster::shared().uri(),
                               {.schema = factum_test::pg_cluster::fresh_schema()}};
};
}  // namespace

FACTUM_STORE_CONFORMANCE("postgres", postgres_backend)
