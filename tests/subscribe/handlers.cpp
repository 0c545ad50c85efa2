// Event handlers: retries with backoff, dead letters (list, retry, delete),
// a failing handler does not hold up the others, strong consistency.
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

namespace {
struct flaky {
  static constexpr std::string_view name = "flaky";
  using interested_in = factum::events<money_deposited>;
  std::shared_ptr<seen> out = std::make_shared<seen>();
  factum::result<void> handle(const money_deposited& d) {
    if (out->calls.fetch_add(1) < 2)
      return factum::error{factum::errc::storage_busy, "the mail server is busy"};
    out->add(0, d.amount);
    return {};
  }
};
}  // namespace

TEST_CASE("a handler that fails a few times succeeds on a retry") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  flaky f;
  auto sub = subs.add(f, quick(5));
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{9}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(f.out->total() == 9);
  CHECK(f.out->calls == 3);
  CHECK(subs.dead_letters().value().empty());
}

TEST_CASE("a handler that always throws ends in the dead letters and the others go on") {
  // The poison parks stream a for picky (tests/subscribe/dead_letters.cpp);
  // stream b goes on.
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  picky p;
  recorder r;
  auto bad = subs.add(p, quick(3));
  auto good = subs.add(r);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{1}).ec);
  REQUIRE(!run(rt, "a", deposit_money{13}).ec);  // poison for picky
  REQUIRE(!run(rt, "a", deposit_money{2}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(rt, "b", deposit_money{5}).ec);
  REQUIRE(good.wait_until(head(rt)));
  REQUIRE(bad.wait_until(head(rt)));
  CHECK(r.out->total() == 21);
  CHECK(p.out->total() == 6);  // 1 and 5: a's 2 waits behind the poison, b went on
  auto letters = subs.dead_letters("picky").value();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].attempts == 3);
  CHECK(letters[0].event.type == "MoneyDeposited");
  CHECK(letters[0].error.find("cannot take 13") != std::string::npos);
  CHECK(subs.dead_letters("recorder").value().empty());
  // The checkpoint moved past it.
  CHECK(store->load_checkpoint("picky").value()->global() == head(rt).global());
}

TEST_CASE("dead letters are listed, a failing retry keeps them, and they can be deleted") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  picky p;
  auto sub = subs.add(p, quick(2));
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{13}).ec);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(rt, "b", deposit_money{13}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  auto letters = subs.dead_letters().value();
  REQUIRE(letters.size() == 2);
  // Still poison: the retry fails and the letter stays.
  auto again = subs.retry_dead_letter(letters[0].id);
  CHECK(again.error() == factum::errc::domain_exception);
  CHECK(subs.dead_letters().value().size() == 2);
  REQUIRE(subs.remove_dead_letter(letters[0].id));
  CHECK(subs.dead_letters().value().size() == 1);
  CHECK(subs.retry_dead_letter(9999).error() == factum::errc::not_found);
  CHECK(subs.remove_dead_letter(letters[0].id).error() == factum::errc::not_found);
}

namespace {
struct switchable {
  static constexpr std::string_view name = "switchable";
  using interested_in = factum::events<money_deposited>;
  std::shared_ptr<std::atomic<bool>> broken = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<seen> out = std::make_shared<seen>();
  void handle(const money_deposited& d) {
    if (*broken) throw std::runtime_error("down");
    out->add(0, d.amount);
  }
};
}  // namespace

TEST_CASE("a retried dead letter that now succeeds is deleted") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  switchable s;
  auto sub = subs.add(s, quick(2));
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{4}).ec);
  REQUIRE(sub.wait_until(head(rt)));
  auto letters = subs.dead_letters().value();
  REQUIRE(letters.size() == 1);
  *s.broken = false;
  REQUIRE(subs.retry_dead_letter(letters[0].id));
  CHECK(s.out->total() == 4);
  CHECK(subs.dead_letters().value().empty());
}

namespace {
struct slow_counter {
  static constexpr std::string_view name = "slow-counter";
  using interested_in = factum::events<money_deposited>;
  std::shared_ptr<seen> out = std::make_shared<seen>();
  void handle(const money_deposited& d) {
    std::this_thread::sleep_for(20ms);
    out->add(0, d.amount);
  }
};
}  // namespace

TEST_CASE("strong consistency: dispatch answers after the strong subscriber handled the events") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  slow_counter c;
  factum::subscription_options strong;
  strong.strong = true;
  auto sub = subs.add(c, strong);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);  // not its type: no wait
  factum::dispatch_options o;
  o.consistency = factum::consistency::strong;
  REQUIRE(!run(rt, "a", deposit_money{5}, o).ec);
  CHECK(c.out->total() == 5);  // handled before the answer
  // Eventual (the default) does not wait (the handler takes 20 ms).
  REQUIRE(!run(rt, "a", deposit_money{6}).ec);
  CHECK(c.out->total() == 5);
  REQUIRE(sub.wait_until(head(rt)));
}

TEST_CASE("strong consistency reports a strong subscriber that gave up") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  picky p;
  factum::subscription_options strong = quick(2);
  strong.strong = true;
  auto sub = subs.add(p, strong);
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  factum::dispatch_options o;
  o.consistency = factum::consistency::strong;
  auto a = run(rt, "a", deposit_money{13}, o);
  CHECK(a.ec == factum::errc::domain_exception);
  // The stream is parked behind the letter: its next event waits too.
  CHECK(run(rt, "a", deposit_money{1}, o).ec == factum::errc::stream_parked);
  REQUIRE(!run(rt, "b", open_account{"bob"}).ec);
  CHECK(run(rt, "b", deposit_money{1}, o).ec == std::error_code{});
}

TEST_CASE("two subscribers with one name are refused") {
  factum::runtime rt{factum::memory_store{}, threads(1)};
  factum::subscriptions subs{rt, quiet()};
  recorder a, b;
  auto s = subs.add(a);
  CHECK_THROWS_AS(subs.add(b), factum::system_error);
}
