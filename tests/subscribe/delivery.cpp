// The router and durable delivery: order, catch-up then live with no gap
// and no duplicate, resume from a checkpoint, start_from, other writers,
// overflow, unknown types, unsubscribing.
#include <algorithm>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

namespace {

/// Every position in `v` is strictly increasing (no duplicate, in order).
bool increasing(const std::vector<std::uint64_t>& v) {
  return std::adjacent_find(v.begin(), v.end(), [](auto a, auto b) { return a >= b; }) == v.end();
}

}  // namespace

TEST_CASE("a handler sees the events of its types in global order, live") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  recorder r;
  auto sub = subs.add(r);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  for (int i = 0; i < 20; ++i) {
    REQUIRE(!run(rt, i % 2 ? "a" : "b", deposit_money{i + 1}).ec);
    if (i % 5 == 4) REQUIRE(!run(rt, "a", withdraw_money{1}).ec);
  }
  REQUIRE(sub.wait_until(head(rt)));
  auto seen = r.out->snapshot();
  CHECK(increasing(seen));
  // withdrawals are not among its types; opening and deposits are.
  auto all = rt.store().read_all().value();
  std::vector<std::uint64_t> expected;
  for (const auto& e : all)
    if (e.type != "MoneyWithdrawn") expected.push_back(e.global_position);
  CHECK(seen == expected);
}

TEST_CASE("catch-up switches to live under concurrent appends with no gap and no duplicate") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  for (int a = 0; a < 8; ++a)
    REQUIRE(!run(rt, "acc-" + std::to_string(a), open_account{"x"}).ec);
  // Writers keep appending while the subscriber starts from the origin.
  std::atomic<bool> go{true};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; go && i < 400; ++i)
        run(rt, "acc-" + std::to_string((i + w) % 8), deposit_money{1});
    });
  std::this_thread::sleep_for(5ms);
  recorder r;
  factum::subscription_options small;
  small.batch_size = 7;  // many catch-up steps while the writers run
  auto sub = subs.add(r, small);
  for (auto& t : writers)
    t.join();
  REQUIRE(sub.wait_until(head(rt)));
  const auto seen = r.out->snapshot();
  CHECK(increasing(seen));
  CHECK(seen.size() == rt.store().read_all().value().size());  // every event: all are its types
  CHECK(r.out->total() == 800);
}

TEST_CASE("a subscriber resumes from its checkpoint after a restart") {
  auto store = std::make_shared<factum::memory_store>();
  std::vector<std::uint64_t> first, second;
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    recorder r;
    auto sub = subs.add(r);
    REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
    for (int i = 0; i < 5; ++i)
      REQUIRE(!run(rt, "a", deposit_money{1}).ec);
    REQUIRE(sub.wait_until(head(rt)));
    first = r.out->snapshot();
  }
  {
    factum::runtime rt{store, threads(2)};  // no subscriber runs meanwhile
    for (int i = 0; i < 3; ++i)
      REQUIRE(!run(rt, "a", deposit_money{10}).ec);
  }
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    recorder r;
    auto sub = subs.add(r);
    REQUIRE(!run(rt, "a", deposit_money{100}).ec);
    REQUIRE(sub.wait_until(head(rt)));
    second = r.out->snapshot();
    CHECK(r.out->total() == 130);
  }
  CHECK(first.size() == 6);
  REQUIRE(second.size() == 4);
  CHECK(second.front() == first.back() + 1);
}

namespace {
struct other : recorder {
  static constexpr std::string_view name = "other";
};
}  // namespace

TEST_CASE("start_from now skips the past, origin reads it") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{5}).ec);
  recorder from_now, from_origin;
  factum::subscription_options now;
  now.start_from = factum::start_from::now;
  auto a = subs.add(from_now, now);
  other o;
  auto b = subs.add(o);
  REQUIRE(!run(rt, "a", deposit_money{7}).ec);
  REQUIRE(a.wait_until(head(rt)));
  REQUIRE(b.wait_until(head(rt)));
  CHECK(from_now.out->total() == 7);
  CHECK(o.out->total() == 12);
}

TEST_CASE("events another writer appends to the store reach the subscribers") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet(10ms)};
  recorder r;
  auto sub = subs.add(r);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  // Not through this runtime: the router finds them by polling the store.
  REQUIRE(store->append("account-z", factum::expected_version::any(), {deposit(40)}));
  REQUIRE(!run(rt, "a", deposit_money{2}).ec);  // after a gap the router fills
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(r.out->total() == 42);
  CHECK(increasing(r.out->snapshot()));
}

namespace {
struct slow {
  static constexpr std::string_view name = "slow";
  using interested_in = factum::events<money_deposited>;
  std::shared_ptr<seen> out = std::make_shared<seen>();
  void handle(const money_deposited& d, const factum::recorded_event& e) {
    if (out->positions.size() < 5) std::this_thread::sleep_for(5ms);
    out->add(e.global_position, d.amount);
  }
};
}  // namespace

TEST_CASE("a slow subscriber's full live queue falls back to the store and loses nothing") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  slow s;
  factum::subscription_options tiny;
  tiny.queue_capacity = 4;
  tiny.batch_size = 2;
  auto sub = subs.add(s, tiny);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  for (int i = 0; i < 200; ++i)
    REQUIRE(!run(rt, "a", deposit_money{1}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(s.out->total() == 200);
  CHECK(increasing(s.out->snapshot()));
}

TEST_CASE("an event type no C++ type knows is skipped by typed subscribers, not a crash") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  std::vector<std::string> lines;
  std::mutex m;
  factum::subscriptions_options o = quiet();
  o.log = [&](std::string_view line) {
    std::lock_guard lock(m);
    lines.emplace_back(line);
  };
  factum::subscriptions subs{rt, o};
  recorder r;
  auto sub = subs.add(r);
  // A deposit stored by a newer build: schema version 9, which this build
  // cannot decode; and a type no one registered.
  factum::event_data future = deposit(1000);
  future.schema_version = 9;
  factum::event_data stranger = deposit(1);
  stranger.type = "NobodyKnowsMe";
  REQUIRE(store->append("account-a", factum::expected_version::any(), {future}));
  REQUIRE(store->append("account-b", factum::expected_version::any(), {stranger}));
  REQUIRE(store->append("account-b", factum::expected_version::any(), {deposit(3)}));
  REQUIRE(store->append("account-a", factum::expected_version::any(), {deposit(4)}));
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(r.out->total() == 3);
  CHECK(subs.dead_letters("recorder").value().size() == 1);  // the undecodable one
  // It parks its stream: the 4 waits behind it.
  CHECK(subs.parked_streams("recorder").value().at(0).waiting == 1);
  std::lock_guard lock(m);
  CHECK(!lines.empty());
}

TEST_CASE("unsubscribing while events flow stops delivery and keeps the checkpoint") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  recorder r;
  auto sub = subs.add(r);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i)
      run(rt, "a", deposit_money{1});
  });
  std::this_thread::sleep_for(2ms);
  sub.stop();
  const auto at_stop = r.out->snapshot().size();
  writer.join();
  std::this_thread::sleep_for(20ms);
  CHECK(r.out->snapshot().size() == at_stop);
  CHECK(sub.stopped());
  const auto checkpoint = store->load_checkpoint("recorder").value();
  if (at_stop > 0) {
    REQUIRE(checkpoint);
    CHECK(checkpoint->global() == r.out->snapshot().back());
  }
  // Subscribing again under the same name resumes where it stopped.
  recorder again;
  auto sub2 = subs.add(again);
  REQUIRE(sub2.wait_until(head(rt)));
  auto before = r.out->snapshot(), after = again.out->snapshot();
  if (!before.empty() && !after.empty()) CHECK(after.front() > before.back());
  CHECK(before.size() + after.size() == store->read_all().value().size());
}

namespace {
/// Untyped: stored events by type name, no C++ event types.
struct audit_log {
  static constexpr std::string_view name = "audit";
  static constexpr std::array<std::string_view, 0> interested_in{};  // every type
  std::shared_ptr<std::vector<std::string>> types = std::make_shared<std::vector<std::string>>();
  void handle(const factum::recorded_event& e) { types->push_back(e.type); }
};
struct deposits_only {
  static constexpr std::string_view name = "deposits-only";
  static constexpr std::array<std::string_view, 1> interested_in{"MoneyDeposited"};
  std::shared_ptr<std::vector<std::string>> data = std::make_shared<std::vector<std::string>>();
  factum::result<void> handle(const factum::recorded_event& e) {
    data->push_back(e.data);
    return {};
  }
};
}  // namespace

TEST_CASE("untyped handlers get stored events by type name, or all of them") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  audit_log all;
  deposits_only some;
  auto a = subs.add(all);
  auto b = subs.add(some);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{5}).ec);
  factum::event_data stranger = deposit(1);
  stranger.type = "NobodyKnowsMe";
  REQUIRE(store->append("other-x", factum::expected_version::any(), {stranger}));
  REQUIRE(a.wait_until(head(rt)));
  REQUIRE(b.wait_until(head(rt)));
  CHECK(*all.types == std::vector<std::string>{"AccountOpened", "MoneyDeposited", "NobodyKnowsMe"});
  CHECK(*some.data == std::vector<std::string>{R"({"amount":5})"});
}
