// The model-based concurrency test (tests/support/model.hpp) on the memory
// store. FACTUM_MODEL_SEED=<s> replays one seed, FACTUM_MODEL_SOAK=<n> adds n
// random seeds.
#include "../support/model.hpp"

#include <memory>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

TEST_CASE("model on the memory store: random schedules of commands, transfers, sweeps and restarts",
          "[runtime][model][concurrency]") {
  factum_test::model::run([] { return std::make_shared<factum::memory_store>(); });
}
