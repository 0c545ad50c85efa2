// The model-based concurrency test (tests/support/model.hpp) on SQLite, with
// group commit. FACTUM_MODEL_SEED=<s> replays one seed, FACTUM_MODEL_SOAK=<n>
// adds n random seeds.
#include "../support/model.hpp"

#include <memory>

#include <catch2/catch.hpp>

#include <factum/store/sqlite_store.hpp>

#include "../support/temp_dir.hpp"

namespace {

/// A store in a fresh folder that lives as long as the store.
struct store_in_dir {
  factum_test::temp_dir dir;
  factum::sqlite_store store{dir / "model.db"};
};

}  // namespace

TEST_CASE("model on SQLite: random schedules of commands, transfers, sweeps and restarts",
          "[runtime][model][concurrency][sqlite]") {
  factum_test::model::run([] {
    auto owner = std::make_shared<store_in_dir>();
    return std::shared_ptr<factum::event_store>(owner, &owner->store);
  });
}
