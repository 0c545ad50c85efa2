// The runtime on real SQLite files: group commit, two runtimes (two stores,
// as two processes would have) racing on one file, idempotency across a
// restart.
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../runtime/helpers.hpp"
#include "../support/temp_dir.hpp"

using namespace factum;
using namespace factum_test;

namespace {

std::int64_t stored_balance(event_store& store, const std::string& id) {
  std::int64_t b = 0;
  for (const auto& e : store.read_stream("account-" + id).value()) {
    auto ev = account_codec::decode(e).value();
    if (auto* o = std::get_if<account_opened>(&ev)) b += o->initial;
    if (auto* d = std::get_if<money_deposited>(&ev)) b += d->amount;
    if (auto* w = std::get_if<money_withdrawn>(&ev)) b -= w->amount;
  }
  return b;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return pred();
}

}  // namespace

TEST_CASE("runtime on SQLite: many commands in flight go through group commit",
          "[runtime][sqlite]") {
  temp_dir dir;
  runtime rt{sqlite_store{dir / "bank.db"}, threads(2)};
  CHECK(rt.store().prefers_batches());
  constexpr int accounts = 100, per_account = 20;
  for (int a = 0; a < accounts; ++a)
    REQUIRE_FALSE(run(rt, std::to_string(a), open_account{"x"}).ec);
  std::atomic<int> done{0}, errors{0};
  std::vector<dispatch_result> results(accounts * per_account);
  for (int i = 0; i < per_account; ++i)
    for (int a = 0; a < accounts; ++a)
      rt.dispatch<account>(std::to_string(a), deposit_money{a + 1},
                           [&, slot = i * accounts + a](std::error_code ec, dispatch_result r) {
                             if (ec) ++errors;
                             results[static_cast<std::size_t>(slot)] = std::move(r);
                             ++done;
                           });
  REQUIRE(eventually([&] { return done.load() == accounts * per_account; }));
  CHECK(errors == 0);
  for (int a = 0; a < accounts; ++a)
    CHECK(stored_balance(rt.store(), std::to_string(a)) == (a + 1) * per_account);
  // each caller got its own events, as stored
  const auto& r = results[5];
  REQUIRE(r.events.size() == 1);
  auto stored = rt.store().read_stream(r.events[0].stream, r.events[0].version, 1).value();
  CHECK(stored.at(0).id == r.events[0].id);
  CHECK(stored.at(0).global_position == r.events[0].global_position);
}

TEST_CASE("runtime on SQLite: two runtimes on one file racing on the same accounts lose no update",
          "[runtime][sqlite]") {
  temp_dir dir;
  runtime a{sqlite_store{dir / "bank.db"}, threads(2)};
  runtime b{sqlite_store{dir / "bank.db"}, threads(2)};
  a.configure<account>(patient());
  b.configure<account>(patient());
  constexpr int accounts = 3, per_runtime = 200;
  for (int i = 0; i < accounts; ++i)
    REQUIRE_FALSE(run(a, std::to_string(i), open_account{"x"}).ec);
  std::atomic<int> done{0}, errors{0};
  for (int i = 0; i < per_runtime; ++i)
    for (runtime* rt : {&a, &b})
      rt->dispatch<account>(std::to_string(i % accounts), deposit_money{1},
                            [&](std::error_code ec, dispatch_result) {
                              if (ec) ++errors;
                              ++done;
                            });
  REQUIRE(eventually([&] { return done.load() == 2 * per_runtime; }));
  CHECK(errors == 0);
  std::int64_t total = 0;
  for (int i = 0; i < accounts; ++i) {
    total += stored_balance(a.store(), std::to_string(i));
    CHECK(balance(a, std::to_string(i)) == balance(b, std::to_string(i)));
  }
  CHECK(total == 2 * per_runtime);
}

TEST_CASE("runtime on SQLite: concurrent transfers from two runtimes conserve the total",
          "[runtime][sqlite][transact]") {
  temp_dir dir;
  runtime a{sqlite_store{dir / "bank.db"}, threads(2)};
  runtime b{sqlite_store{dir / "bank.db"}, threads(2)};
  a.configure<account>(patient());
  b.configure<account>(patient());
  constexpr int accounts = 4, per_thread = 60;
  for (int i = 0; i < accounts; ++i) {
    REQUIRE_FALSE(run(a, std::to_string(i), open_account{"x"}).ec);
    REQUIRE_FALSE(run(a, std::to_string(i), deposit_money{500}).ec);
  }
  std::atomic<int> applied{0}, failed{0};
  std::mutex m;
  std::string first_failure;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      std::mt19937 gen(static_cast<unsigned>(t) + 7);
      runtime& rt = t % 2 ? a : b;
      for (int i = 0; i < per_thread; ++i) {
        const int from = static_cast<int>(gen() % accounts);
        const int to = (from + 1 + static_cast<int>(gen() % (accounts - 1))) % accounts;
        auto r = transfer(rt, std::to_string(from), std::to_string(to), 1 + gen() % 40);
        if (!r.ec)
          ++applied;
        else if (!is_rejection(r.ec)) {
          ++failed;
          std::lock_guard lock(m);
          if (first_failure.empty()) first_failure = r.ec.message();
        }
      }
    });
  for (auto& c : callers)
    c.join();
  INFO("first failure: " << first_failure);
  CHECK(failed == 0);
  CHECK(applied > 0);
  std::int64_t total = 0;
  for (int i = 0; i < accounts; ++i)
    total += stored_balance(a.store(), std::to_string(i));
  CHECK(total == accounts * 500);
}

TEST_CASE("runtime on SQLite: a command id is answered from its record after a restart",
          "[runtime][sqlite][idempotency]") {
  temp_dir dir;
  dispatch_options o;
  o.command = uuid::v7();
  dispatch_result first;
  {
    runtime rt{sqlite_store{dir / "bank.db"}, threads(2)};
    REQUIRE_FALSE(run(rt, "1", open_account{"ann"}).ec);
    auto r = run(rt, "1", deposit_money{42}, o);
    REQUIRE_FALSE(r.ec);
    first = r.result;
  }
  runtime rt{sqlite_store{dir / "bank.db"}, threads(2)};
  auto again = run(rt, "1", deposit_money{42}, o);
  REQUIRE_FALSE(again.ec);
  CHECK(again.result.already_appended);
  CHECK(again.result.version == first.version);
  REQUIRE(again.result.events.size() == 1);
  CHECK(again.result.events[0].id == first.events[0].id);
  CHECK(balance(rt, "1") == 42);
}
