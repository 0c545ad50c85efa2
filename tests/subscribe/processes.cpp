// Process managers: a transfer saga that sends commands, compensates a
// failed credit with a refund, ends, survives a lost step record without
// sending twice, and gets its deadline back after a restart.
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "../support/faulty_store.hpp"
#include "helpers.hpp"
#include "transfers.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

TEST_CASE("a process manager sends its commands and ends after its deadline") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  auto sub = subs.add_process(transfers{});
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{100}).ec);
  request(*store, {"t1", "a", "b", 30});
  REQUIRE(eventually([&] { return balance(rt, "b") == 30; }));
  CHECK(balance(rt, "a") == 70);
  // The deadline's event arrives, the process ends: its stream is closed.
  REQUIRE(eventually([&] {
    auto s = store->read_stream(factum::stream_id{"process-transfers-t1"}).value();
    return !s.empty() && s.back().type == "factum.ProcessEnded";
  }));
  // A late event for the finished process changes nothing.
  request(*store, {"t1-again", "a", "b", 1});
  REQUIRE(eventually([&] { return balance(rt, "b") == 31; }));
}

TEST_CASE("a failed credit is compensated with a refund") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  transfers t;
  auto sub = subs.add_process(t);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{100}).ec);
  request(*store, {"t2", "a", "nobody", 40});  // the credit is rejected: not open
  REQUIRE(eventually([&] { return *t.compensations == 1; }));
  REQUIRE(eventually(
      [&] { return store->stream_version(factum::stream_id{"account-a"}).value() == 4; }));
  CHECK(balance(rt, "a") == 100);  // debited 40, refunded 40
  CHECK(subs.dead_letters().value().empty());
}

TEST_CASE("a debit that is refused sends nothing after it and needs no compensation") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  transfers t;
  auto sub = subs.add_process(t);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  request(*store, {"t3", "a", "b", 40});  // a has nothing
  REQUIRE(eventually([&] {
    return !store->read_stream(factum::stream_id{"process-transfers-t3"}).value().empty();
  }));
  CHECK(balance(rt, "a") == 0);
  CHECK(balance(rt, "b") == 0);
  CHECK(*t.compensations == 0);
}

TEST_CASE("a step whose record failed is redone without sending its commands twice") {
  auto inner = std::make_shared<factum::memory_store>();
  auto faulty = std::make_shared<faulty_store>(inner);
  factum::runtime rt{faulty, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  transfers t;
  t.close_after = 1h;
  auto sub = subs.add_process(t, quick(5));
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{100}).ec);
  faulty->only_streams("process-");
  faulty->lose_replies(1);  // the step is stored, the reply lost: as a crash right after
  faulty->fail_appends(1);  // and first the record fails outright once
  request(*inner, {"t4", "a", "b", 25});
  REQUIRE(eventually([&] {
    return !inner->read_stream(factum::stream_id{"process-transfers-t4"}).value().empty();
  }));
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(balance(rt, "a") == 75);
  CHECK(balance(rt, "b") == 25);
  CHECK(inner->read_stream(factum::stream_id{"process-transfers-t4"}).value().size() == 1);
}

TEST_CASE("a process manager resumes after a restart: no step twice, its deadline still comes") {
  // Single owner: the deadlines are armed when it wins its claim.
  const bool single_owner = GENERATE(false, true);
  CAPTURE(single_owner);
  auto store = std::make_shared<factum::memory_store>();
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet(5ms)};
    transfers t;
    t.close_after = 150ms;
    auto sub = subs.add_process(t);
    REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
    REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
    REQUIRE(!run(rt, "a", deposit_money{100}).ec);
    request(*store, {"t5", "a", "b", 10});
    REQUIRE(eventually([&] { return balance(rt, "b") == 10; }));
    REQUIRE(sub.wait_until(head(rt)));
  }  // stopped before the deadline
  // The checkpoint is lost too: everything is delivered again.
  REQUIRE(store->save_checkpoint("transfers", factum::position{}));
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  factum::subscription_options options;
  options.single_owner = single_owner;
  auto sub = subs.add_process(transfers{}, options);
  REQUIRE(eventually([&] {
    auto s = store->read_stream(factum::stream_id{"process-transfers-t5"}).value();
    return !s.empty() && s.back().type == "factum.ProcessEnded";
  }));
  CHECK(balance(rt, "a") == 90);
  CHECK(balance(rt, "b") == 10);
  CHECK(store->read_stream(factum::stream_id{"timeouts-transfers"}).value().size() == 1);
}

TEST_CASE("a refused command is not tried again when its step is redone: it is compensated") {
  auto inner = std::make_shared<factum::memory_store>();
  auto faulty = std::make_shared<faulty_store>(inner);
  factum::runtime rt{faulty, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  transfers t;
  t.close_after = 1h;
  factum::subscription_options slow = quick(5);
  slow.retry.initial_backoff = 300ms;
  slow.retry.max_backoff = 300ms;
  auto sub = subs.add_process(t, slow);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{100}).ec);
  faulty->only_streams("process-");
  faulty->lose_replies(1);  // the refusal is stored, its reply lost: the step fails
  request(*inner, {"t6", "a", "later", 40});
  const factum::stream_id process{"process-transfers-t6"};
  REQUIRE(eventually([&] { return !inner->read_stream(process).value().empty(); }));
  // Meanwhile the credit would succeed: it must not be sent again.
  REQUIRE(!run(rt, "later", open_account{"lee"}).ec);
  REQUIRE(eventually([&] { return inner->read_stream(process).value().size() == 2; }));
  CHECK(inner->read_stream(process).value()[1].type == "factum.ProcessStep");
  CHECK(balance(rt, "a") == 100);  // debited, then refunded
  CHECK(balance(rt, "later") == 0);
  CHECK(*t.compensations == 1);
}

namespace lockers {
struct locked {
  std::string by;
};
FACTUM_EVENT(locked, "Locked", 1, by)
struct lock {
  std::string by;
};
enum class refused { locked_already = 1 };
FACTUM_REJECTIONS(refused, "test.process.locker", locked_already)

struct locker {
  static constexpr std::string_view category = "locker";
  using event = std::variant<locked>;
  using command = std::variant<lock>;
  struct state {
    std::string holder;
  };
  static factum::decision<event> decide(const state& s, const lock& c) {
    if (!s.holder.empty()) return factum::reject(refused::locked_already, "held by " + s.holder);
    return locked{c.by};
  }
  static void evolve(state& s, const locked& e) { s.holder = e.by; }
};

/// Locks `to` for `from` on each transfer request, and keeps what a refusal
/// was when it compensates.
struct lock_for_transfers {
  static constexpr std::string_view name = "lock-for-transfers";
  using interested_in = factum::events<transfer_requested>;
  struct state {};
  using command = std::variant<factum::send<locker>>;
  struct refusal {
    std::error_code code;
    std::string message;
  };
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<refusal>> refusals = std::make_shared<std::vector<refusal>>();

  factum::correlation correlate(const transfer_requested& e) const {
    return factum::correlation::start(e.id);
  }
  void apply(state&, const transfer_requested&) const {}
  factum::reaction<command> handle(const state&, const transfer_requested& e) const {
    return {factum::send<locker>{e.to, lock{e.from}}};
  }
  std::vector<command> compensate(const state&, const command&, const factum::error& why) const {
    std::lock_guard guard(*mutex);
    refusals->push_back({why.code(), why.message()});
    return {};
  }
};
}  // namespace lockers

TEST_CASE("a typed rejection comes back as itself when its step is redone from the record") {
  auto inner = std::make_shared<factum::memory_store>();
  auto faulty = std::make_shared<faulty_store>(inner);
  factum::runtime rt{faulty, threads(2)};
  factum::subscriptions subs{rt, quiet(5ms)};
  lockers::lock_for_transfers p;
  factum::subscription_options slow = quick(5);
  slow.retry.initial_backoff = 100ms;
  slow.retry.max_backoff = 100ms;
  auto sub = subs.add_process(p, slow);
  REQUIRE(!run<lockers::locker>(rt, "door", lockers::lock{"cy"}).ec);
  faulty->only_streams("process-");
  faulty->lose_replies(1);  // the refusal is stored, its reply lost: the step is redone
  request(*inner, {"t7", "ann", "door", 1});
  REQUIRE(eventually([&] {
    std::lock_guard guard(*p.mutex);
    return !p.refusals->empty();
  }));
  std::lock_guard guard(*p.mutex);
  REQUIRE(p.refusals->size() == 1);
  const auto& why = p.refusals->front();
  CHECK(why.code == factum::rejection_error(lockers::refused::locked_already));
  CHECK(std::string(why.code.category().name()) == "test.process.locker");
  CHECK_THAT(why.message, Catch::Contains("held by cy"));
  const auto record = inner->read_stream(factum::stream_id{"process-lock-for-transfers-t7"});
  REQUIRE(record);
  REQUIRE(!record->empty());
  CHECK(record->front().type == "factum.ProcessCommandRejected");
  CHECK_THAT(record->front().data, Catch::Contains("\"category\":\"test.process.locker\""));
}
