// Loading, snapshots, TTL passivation, memory pressure and conflict retries.
#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

#include "helpers.hpp"

using namespace factum;
using namespace factum_test;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("an idle instance is passivated after its TTL and reloads with the same state",
          "[runtime][lifespan]") {
  runtime_options o;
  o.threads = 2;
  o.sweep_interval = 5ms;
  runtime rt{memory_store{}, o};
  rt.configure<account>(with_ttl(30ms));
  REQUIRE_FALSE(run(rt, "1", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "1", deposit_money{40}).ec);
  const auto before = rt.state_of<account>("1").value();
  CHECK(rt.is_live<account>("1"));
  CHECK(eventually([&] { return !rt.is_live<account>("1"); }));
  const auto after = rt.state_of<account>("1").value();  // loads it again
  CHECK(after.state == before.state);
  CHECK(after.version == before.version);
  REQUIRE_FALSE(run(rt, "1", withdraw_money{40}).ec);
  CHECK(balance(rt, "1") == 0);
}

TEST_CASE("passivation never drops a command in flight", "[runtime][lifespan]") {
  runtime_options o;
  o.threads = 2;
  o.sweep_interval = 1ms;
  runtime rt{memory_store{}, o};
  rt.configure<account>(with_ttl(1ms));
  REQUIRE_FALSE(run(rt, "2", open_account{"ann"}).ec);
  std::atomic<int> ok{0};
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i) {
    rt.dispatch<account>("2", deposit_money{1},
                         [&](std::error_code ec, dispatch_result) { ok += ec ? 0 : 1; });
    if (i % 100 == 0) std::this_thread::sleep_for(2ms);  // let sweeps run in between
  }
  REQUIRE(eventually([&] { return ok.load() == n; }));
  CHECK(balance(rt, "2") == n);
}

TEST_CASE("state from a snapshot plus the tail equals state from a full replay",
          "[runtime][snapshots]") {
  auto store = std::make_shared<memory_store>();
  {
    runtime rt{store, threads(2)};
    rt.configure<account>(snapshot_every(4));
    REQUIRE_FALSE(run(rt, "3", open_account{"ann"}).ec);
    for (int i = 1; i <= 10; ++i)
      REQUIRE_FALSE(run(rt, "3", deposit_money{i}).ec);
    // versions 1..11: snapshots at 4 and 8
    auto s = store->load_snapshot("account-3", 1).value();
    REQUIRE(s);
    CHECK(s->version == 8);
    REQUIRE_FALSE(run(rt, "3", withdraw_money{5}).ec);  // version 12, snapshot on passivation
  }                                                     // stop() passivates: a snapshot at 12
  CHECK(store->load_snapshot("account-3", 1).value()->version == 12);
  REQUIRE(store->append("account-3", expected_version::exact(12), {deposit(1000)}));

  runtime with{store, threads(2)};
  with.configure<account>(snapshot_every(4));
  runtime without{store, threads(2)};  // snapshots off: full replay
  const auto a = with.state_of<account>("3").value();
  const auto b = without.state_of<account>("3").value();
  CHECK(a.state == b.state);
  CHECK(a.version == b.version);
  CHECK(a.state.balance == 55 - 5 + 1000);
  CHECK(a.version == 13);
}

TEST_CASE("a snapshot that does not decode is ignored", "[runtime][snapshots]") {
  auto store = std::make_shared<memory_store>();
  REQUIRE(store->append("account-4", expected_version::no_stream(),
                        {account_codec::encode(account_opened{"ann", 5}), deposit(3)}));
  REQUIRE(store->save_snapshot({"account-4", 2, 1, "{\"unexpected\":true}", {}}));
  runtime rt{store, threads(1)};
  rt.configure<account>(snapshot_every(10));
  CHECK(rt.state_of<account>("4").value().state.balance == 8);
}

TEST_CASE("memory pressure shortens TTLs and passivates the longest idle first",
          "[runtime][lifespan]") {
  std::atomic<double> used{0.1};
  runtime_options o;
  o.threads = 2;
  o.sweep_interval = std::chrono::hours(1);  // sweeps only when the test calls sweep()
  o.max_passivations_per_sweep = 1;
  o.memory.probe = [&] { return used.load(); };
  runtime rt{memory_store{}, o};
  rt.configure<account>(with_ttl(2000ms));
  REQUIRE_FALSE(run(rt, "old", open_account{"a"}).ec);
  std::this_thread::sleep_for(50ms);
  REQUIRE_FALSE(run(rt, "new", open_account{"b"}).ec);
  std::this_thread::sleep_for(250ms);

  CHECK(rt.sweep() == 0);  // normal: 2 s TTL
  CHECK(rt.pressure() == memory_pressure::normal);
  used = 0.75;
  CHECK(rt.sweep() == 0);  // elevated: 1 s
  CHECK(rt.pressure() == memory_pressure::elevated);
  used = 0.95;  // critical: 200 ms, both are past it; one per sweep, oldest first
  CHECK(rt.sweep() == 1);
  CHECK(rt.pressure() == memory_pressure::critical);
  CHECK_FALSE(rt.is_live<account>("old"));
  CHECK(rt.is_live<account>("new"));
  CHECK(rt.sweep() == 1);
  CHECK(rt.live_count() == 0);
}

TEST_CASE("a conflict with another writer reloads and retries", "[runtime][retry]") {
  auto store = std::make_shared<memory_store>();
  runtime rt{store, threads(2)};
  REQUIRE_FALSE(run(rt, "5", open_account{"ann"}).ec);  // live at version 1
  // Another process appends behind the instance's back.
  REQUIRE(store->append("account-5", expected_version::exact(1), {deposit(50)}));
  auto r = run(rt, "5", withdraw_money{30});  // decided on balance 0: rejected? no: retried
  // The first attempt decides on the stale state (balance 0) and is rejected,
  // which is an answer: rejections are not retried, and the stale state is
  // the aggregate's view. What a conflict retries is an accepted decision:
  CHECK(r.ec == rejection_error("insufficient_funds"));
  REQUIRE(store->append("account-5", expected_version::exact(2), {deposit(10)}));
  auto d = run(rt, "5", deposit_money{1});  // conflict at 2, catch up to 3, retry
  REQUIRE_FALSE(d.ec);
  CHECK(d.result.version == 4);
  CHECK(balance(rt, "5") == 61);
}

TEST_CASE("the retry policy bounds the attempts", "[runtime][retry]") {
  auto store = std::make_shared<memory_store>();
  runtime rt{store, threads(2)};
  aggregate_options once;
  once.retry = retry_policy{};
  once.retry->max_attempts = 1;
  rt.configure<account>(once);
  REQUIRE_FALSE(run(rt, "6", open_account{"ann"}).ec);
  REQUIRE(store->append("account-6", expected_version::exact(1), {deposit(50)}));
  auto r = run(rt, "6", deposit_money{1});
  CHECK(r.ec == errc::concurrency_conflict);
  // The command that gave up left its instance caught up: the next one
  // decides on the stored version at once (no state_of in between).
  REQUIRE_FALSE(run(rt, "6", deposit_money{1}).ec);
  CHECK(balance(rt, "6") == 51);

  // The same for a multi-stream command's participants.
  REQUIRE_FALSE(run(rt, "7", open_account{"bob"}).ec);
  REQUIRE(store->append("account-7", expected_version::exact(1), {deposit(5)}));
  CHECK(transfer(rt, "6", "7", 1).ec == errc::concurrency_conflict);
  answer after;
  for (int i = 0; i < 100; ++i) {  // the catch-up is posted to the participants' strands
    after = transfer(rt, "6", "7", 1);
    if (!after.ec) break;
  }
  CHECK_FALSE(after.ec);
  CHECK(balance(rt, "7") == 6);

  retry_policy p;
  p.initial_backoff = 100us;
  p.multiplier = 2;
  p.max_backoff = 1000us;
  p.jitter = 0.5;
  CHECK(p.backoff(1, 0.0) == 100us);
  CHECK(p.backoff(3, 0.0) == 400us);
  CHECK(p.backoff(10, 0.0) == 1000us);
  CHECK(p.backoff(3, 0.999) >= 200us);
  CHECK(p.backoff(3, 0.999) < 202us);
}

TEST_CASE("two runtimes on one store racing on the same accounts lose no update",
          "[runtime][retry]") {
  auto store = std::make_shared<memory_store>();
  runtime a{store, threads(2)};
  runtime b{store, threads(2)};
  a.configure<account>(patient());
  b.configure<account>(patient());
  constexpr int accounts = 3, per_runtime = 300;
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
  REQUIRE(eventually([&] { return done.load() == 2 * per_runtime; }, 30s));
  CHECK(errors == 0);
  std::int64_t total = 0;
  for (int i = 0; i < accounts; ++i)
    total += balance(a, std::to_string(i));
  CHECK(total == 2 * per_runtime);
}

namespace {

// The bank account with its own snapshot encoding ("open,balance").
struct compact_account : bank_account {
  static constexpr std::uint32_t snapshot_schema = 2;
  static inline std::atomic<int> decoded{0};
  static std::string encode_state(const state& s) {
    return std::to_string(s.open ? 1 : 0) + "," + std::to_string(s.balance);
  }
  static std::optional<state> decode_state(std::string_view text) {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    ++decoded;
    return state{text.substr(0, comma) == "1", std::stoll(std::string(text.substr(comma + 1)))};
  }
};

}  // namespace

TEST_CASE("an aggregate may encode its own snapshots", "[runtime][snapshots]") {
  auto store = std::make_shared<memory_store>();
  {
    runtime rt{store, threads(2)};
    rt.configure<compact_account>(snapshot_every(2));
    REQUIRE_FALSE(run<compact_account>(rt, "9", open_account{"ann"}).ec);
    REQUIRE_FALSE(run<compact_account>(rt, "9", deposit_money{30}).ec);
  }
  auto s = store->load_snapshot("account-9", 2).value();
  REQUIRE(s);
  CHECK(s->state == "1,30");
  CHECK_FALSE(store->load_snapshot("account-9", 1).value());  // not the JSON layout
  runtime rt{store, threads(2)};
  rt.configure<compact_account>(snapshot_every(2));
  compact_account::decoded = 0;
  CHECK(rt.state_of<compact_account>("9").value().state.balance == 30);
  CHECK(compact_account::decoded == 1);
}
