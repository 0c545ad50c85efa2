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
