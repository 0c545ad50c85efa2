// Projections into the memory read model: batches commit with the
// checkpoint, a failing event rolls its batch back (no double counting),
// rebuilds, queries.
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

TEST_CASE("a projection keeps a memory read model that queries read") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto model = std::make_shared<balances>();
  auto sub = subs.add(balance_projection{}, model);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{50}).ec);
  REQUIRE(!run(rt, "a", withdraw_money{20}).ec);
  REQUIRE(!run(rt, "b", deposit_money{7}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(model->get("account-a") == 30);
  CHECK(model->get("account-b") == 7);
  CHECK(model->size() == 2);
  CHECK(!model->get("account-c"));
  CHECK(model->load_checkpoint("balances").value() == head(rt));
}

namespace {
struct fragile {
  static constexpr std::string_view name = "fragile";
  using interested_in = factum::events<account_opened, money_deposited>;
  std::shared_ptr<std::atomic<int>> failures = std::make_shared<std::atomic<int>>(0);
  void project(balances::writer& w, const account_opened&, const factum::recorded_event& e) {
    w.put(e.stream.str(), 0);
  }
  void project(balances::writer& w, const money_deposited& d, const factum::recorded_event& e) {
    // writes first, then fails half way: the write must be undone
    w.update(e.stream.str(), [&](std::int64_t& b) { b += d.amount; });
    if (d.amount == 13 && failures->fetch_add(1) < 2) throw std::runtime_error("disk hiccup");
  }
};
}  // namespace

TEST_CASE("a projection event that fails rolls its batch back: no double counting") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  // Store the events first, so the projection meets them in one batch.
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  for (int i = 0; i < 10; ++i)
    REQUIRE(!run(rt, "a", deposit_money{i == 6 ? 13 : 1}).ec);
  auto model = std::make_shared<balances>();
  fragile f;
  auto sub = subs.add(f, model, quick(5));
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(model->get("account-a") == 9 + 13);
  CHECK(*f.failures == 3);
  CHECK(subs.dead_letters().value().empty());
}

TEST_CASE("a projection resumes from the read model's checkpoint without double counting") {
  // The read model outlives the runtime (as an SQLite file would): a new
  // runtime and subscriptions on the same store continue from its checkpoint.
  auto store = std::make_shared<factum::memory_store>();
  auto model = std::make_shared<balances>();
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    auto sub = subs.add(balance_projection{}, model);
    REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
    std::thread writer([&] {
      for (int i = 0; i < 200; ++i)
        run(rt, "a", deposit_money{1});
    });
    std::this_thread::sleep_for(3ms);
    sub.stop();  // in the middle of the stream of events
    writer.join();
  }
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    auto sub = subs.add(balance_projection{}, model);
    REQUIRE(!run(rt, "a", deposit_money{1000}).ec);
    REQUIRE(sub.wait_until(head(rt)));
  }
  CHECK(model->get("account-a") == 1200);
}

TEST_CASE("rebuilding a projection drops the read model and catches up from zero") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto model = std::make_shared<balances>();
  auto sub = subs.add(balance_projection{}, model);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{5}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  // Corrupt the model on purpose, as a bug in an old projection would have.
  REQUIRE(model->commit("balances", head(rt), [](balances::writer& w) -> factum::result<void> {
    w.put("account-a", -1);
    w.put("account-ghost", 99);
    return {};
  }));
  REQUIRE(sub.rebuild());
  REQUIRE(!run(rt, "a", deposit_money{1}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(model->get("account-a") == 6);
  CHECK(!model->get("account-ghost"));
}

TEST_CASE("a rebuild over a store with no events ends at once") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto model = std::make_shared<balances>();
  auto sub = subs.add(balance_projection{}, model);
  REQUIRE(sub.rebuild());
  CHECK(sub.wait_until(factum::position{}, 1s));
  CHECK(model->size() == 0);
}

TEST_CASE("an event handler cannot be rebuilt") {
  factum::runtime rt{factum::memory_store{}, threads(1)};
  factum::subscriptions subs{rt, quiet()};
  recorder r;
  auto sub = subs.add(r);
  CHECK(sub.rebuild().error() == factum::errc::invalid_argument);
}

TEST_CASE("the memory read model's writer undoes everything a failed batch did") {
  balances model;
  REQUIRE(
      model.commit("p", factum::position::at(1), [](balances::writer& w) -> factum::result<void> {
        w.put("x", 1);
        w.put("y", 2);
        return {};
      }));
  auto failed =
      model.commit("p", factum::position::at(2), [](balances::writer& w) -> factum::result<void> {
        w.put("x", 10);
        w.erase("y");
        w.put("z", 3);
        w.clear();
        w.put("w", 4);
        return factum::error{factum::errc::invalid_argument, "no"};
      });
  CHECK(failed.error() == factum::errc::invalid_argument);
  CHECK(model.get("x") == 1);
  CHECK(model.get("y") == 2);
  CHECK(!model.get("z"));
  CHECK(!model.get("w"));
  CHECK(model.load_checkpoint("p").value() == factum::position::at(1));
  auto thrown =
      model.commit("p", factum::position::at(3), [](balances::writer& w) -> factum::result<void> {
        w.erase("x");
        throw std::runtime_error("boom");
      });
  CHECK(thrown.error() == factum::errc::domain_exception);
  CHECK(model.get("x") == 1);
}
