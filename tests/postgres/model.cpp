// The model-based concurrency test (tests/support/model.hpp) on PostgreSQL,
// a fresh database of the shared test cluster per seed.
// FACTUM_MODEL_SEED=<s> replays one seed, FACTUM_MODEL_SOAK=<n> adds n
// random seeds.
#include "../support/model.hpp"

#include <memory>

#include <catch2/catch.hpp>

#include <factum/store/postgres_store.hpp>

#include "../support/pg_cluster.hpp"

TEST_CASE("model on PostgreSQL: random schedules of commands, transfers, sweeps and restarts",
          "[runtime][model][concurrency][postgres]") {
  factum_test::model::run([] {
    return std::make_shared<factum::postgres_store>(factum_test::pg_cluster::fresh_database_uri());
  });
}
