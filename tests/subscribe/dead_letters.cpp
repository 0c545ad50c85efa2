// A dead letter parks its stream: the subscriber holds the stream's later
// events, in order, until the letter is retried (they follow it), skipped
// (they go on without it) or removed (they are dropped); other streams never
// wait. Survives a restart (the letters and the checkpoint are the state).
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "../support/faulty_store.hpp"
#include "helpers.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

namespace {

/// The scenario: a row per account, that a deposit needs. While
/// `broken`, opening account "x" fails, as a bug in the projection would.
struct rows_projection {
  static constexpr std::string_view name = "rows";
  using interested_in = factum::events<account_opened, money_deposited>;
  std::shared_ptr<std::atomic<bool>> broken = std::make_shared<std::atomic<bool>>(true);

  void project(balances::writer& w, const account_opened& o, const factum::recorded_event& e) {
    if (*broken && o.owner == "x") throw std::runtime_error("no row for x today");
    w.put(e.stream.str(), 0);
  }
  void project(balances::writer& w, const money_deposited& d, const factum::recorded_event& e) {
    if (!w.find(e.stream.str()))
      throw std::runtime_error("a deposit to " + e.stream.str() + " without its row");
    w.update(e.stream.str(), [&](std::int64_t& b) { b = b * 100 + d.amount; });  // order shows
  }
};

/// Records (stream, amount) of every deposit in order; fails on `poison`
/// while `broken`.
struct ledger {
  static constexpr std::string_view name = "ledger";
  using interested_in = factum::events<money_deposited>;
  std::int64_t poison = 13;
  std::shared_ptr<std::atomic<bool>> broken = std::make_shared<std::atomic<bool>>(true);
  struct log {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::int64_t>> entries;
  };
  std::shared_ptr<log> out = std::make_shared<log>();

  void handle(const money_deposited& d, const factum::recorded_event& e) {
    if (*broken && d.amount == poison) throw std::runtime_error("cannot take the poison");
    std::lock_guard lock(out->mutex);
    out->entries.emplace_back(e.stream.str(), d.amount);
  }
  [[nodiscard]] std::vector<std::pair<std::string, std::int64_t>> entries() const {
    std::lock_guard lock(out->mutex);
    return out->entries;
  }
  [[nodiscard]] std::vector<std::int64_t> of(const std::string& stream) const {
    std::vector<std::int64_t> amounts;
    for (const auto& [s, a] : entries())
      if (s == stream) amounts.push_back(a);
    return amounts;
  }
};

void deposits(factum::runtime& rt, std::string_view id, std::initializer_list<std::int64_t> all) {
  for (auto amount : all)
    REQUIRE(!run(rt, id, deposit_money{amount}).ec);
}

}  // namespace

TEST_CASE("dead letters: a projection that gave up on a stream's event holds the rest of it") {
  auto store = std::make_shared<factum::memory_store>();
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto model = std::make_shared<balances>();
  rows_projection p;
  auto sub = subs.add(p, model, quick(2));
  REQUIRE(!run(rt, "x", open_account{"x"}).ec);  // poison
  REQUIRE(!run(rt, "y", open_account{"y"}).ec);
  deposits(rt, "x", {1, 2});
  deposits(rt, "y", {3});
  REQUIRE(sub.wait_until(head(rt)));

  // x waits behind its letter; y went on.
  CHECK(!model->get("account-x"));
  CHECK(model->get("account-y") == 3);
  auto letters = subs.dead_letters("rows").value();
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].parks_stream);
  CHECK(letters[0].event.type == "AccountOpened");
  auto parked = subs.parked_streams().value();
  REQUIRE(parked.size() == 1);
  CHECK(parked[0] ==
        factum::parked_stream{"rows", "account-x", letters[0].id, letters[0].event.version, 2});

  // Fixed and retried: the row, then the deposits in stream order.
  *p.broken = false;
  REQUIRE(subs.retry_dead_letter(letters[0].id));
  CHECK(model->get("account-x") == 102);
  CHECK(subs.dead_letters().value().empty());
  CHECK(subs.parked_streams().value().empty());

  // The stream goes on live.
  deposits(rt, "x", {4});
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(model->get("account-x") == 10204);
}

TEST_CASE("dead letters: a projection's release cut short projects nothing twice") {
  auto store = std::make_shared<faulty_store>(std::make_shared<factum::memory_store>());
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto model = std::make_shared<balances>();
  rows_projection p;
  auto sub = subs.add(p, model, quick(1));
  REQUIRE(!run(rt, "x", open_account{"x"}).ec);
  deposits(rt, "x", {1, 2});
  REQUIRE(sub.wait_until(head(rt)));
  const auto letter = subs.dead_letters().value().at(0).id;
  *p.broken = false;
  // Everything is projected, but the letter cannot be deleted: the retry
  // fails and the stream stays parked.
  store->fail_dead_letter_removals(1);
  CHECK(subs.retry_dead_letter(letter).error() == factum::errc::storage_io);
  CHECK(model->get("account-x") == 102);
  // Again: nothing is projected twice.
  REQUIRE(subs.retry_dead_letter(letter));
  CHECK(model->get("account-x") == 102);
  CHECK(subs.dead_letters().value().empty());
  deposits(rt, "x", {3});
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(model->get("account-x") == 10203);
}

TEST_CASE("dead letters: two retries of one letter release it once") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  ledger l;
  auto sub = subs.add(l, quick(1));
  REQUIRE(!run(rt, "a", open_account{"a"}).ec);
  deposits(rt, "a", {13, 1});
  REQUIRE(sub.wait_until(head(rt)));
  const auto letter = subs.dead_letters().value().at(0).id;
  *l.broken = false;
  auto first = std::async(std::launch::async, [&] { return subs.retry_dead_letter(letter); });
  auto second = subs.retry_dead_letter(letter);
  auto one = first.get();
  CHECK(static_cast<bool>(one) != static_cast<bool>(second));  // one of them did it
  CHECK((one ? second : one).error() == factum::errc::not_found);
  CHECK(l.of("account-a") == std::vector<std::int64_t>{13, 1});
}

TEST_CASE("dead letters: a poison event in one stream does not hold another stream") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  ledger l;
  auto sub = subs.add(l, quick(2));
  REQUIRE(!run(rt, "a", open_account{"a"}).ec);
  REQUIRE(!run(rt, "b", open_account{"b"}).ec);
  deposits(rt, "a", {1, 13, 2});
  deposits(rt, "b", {5, 6});
  deposits(rt, "a", {3});
  deposits(rt, "b", {7});
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(l.of("account-a") == std::vector<std::int64_t>{1});
  CHECK(l.of("account-b") == std::vector<std::int64_t>{5, 6, 7});
  auto parked = subs.parked_streams("ledger").value();
  REQUIRE(parked.size() == 1);
  CHECK(parked[0].stream == "account-a");
  CHECK(parked[0].waiting == 2);  // 2 and 3

  *l.broken = false;
  REQUIRE(subs.retry_dead_letter(parked[0].letter));
  CHECK(l.of("account-a") == std::vector<std::int64_t>{1, 13, 2, 3});
  CHECK(l.of("account-b") == std::vector<std::int64_t>{5, 6, 7});
}

TEST_CASE("dead letters: a skip releases the held events, a removal drops them") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  ledger l;
  auto sub = subs.add(l, quick(1));
  REQUIRE(!run(rt, "a", open_account{"a"}).ec);
  REQUIRE(!run(rt, "b", open_account{"b"}).ec);
  deposits(rt, "a", {13, 1, 2});
  deposits(rt, "b", {13, 5});
  REQUIRE(sub.wait_until(head(rt)));
  auto letters = subs.dead_letters().value();
  REQUIRE(letters.size() == 2);
  CHECK(l.entries().empty());

  SECTION("skip") {
    REQUIRE(subs.skip_dead_letter(letters[0].id));
    CHECK(l.of("account-a") == std::vector<std::int64_t>{1, 2});  // without the 13
    CHECK(l.of("account-b").empty());                             // still parked
  }
  SECTION("remove") {
    REQUIRE(subs.remove_dead_letter(letters[0].id));
    CHECK(l.of("account-a").empty());
    deposits(rt, "a", {3});  // later events of the stream are handled
    REQUIRE(sub.wait_until(head(rt)));
    CHECK(l.of("account-a") == std::vector<std::int64_t>{3});
  }
  CHECK(subs.dead_letters().value().size() == 1);
  CHECK(subs.parked_streams().value().size() == 1);
  CHECK(subs.skip_dead_letter(9999).error() == factum::errc::not_found);
}

TEST_CASE("dead letters: a held event that fails when released takes the letter's place") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  ledger l;
  auto sub = subs.add(l, quick(1));
  REQUIRE(!run(rt, "a", open_account{"a"}).ec);
  deposits(rt, "a", {13, 1, 13, 2});
  REQUIRE(sub.wait_until(head(rt)));
  auto first = subs.dead_letters().value();
  REQUIRE(first.size() == 1);

  // The skip passes the first 13; the second one fails again.
  auto skipped = subs.skip_dead_letter(first[0].id);
  REQUIRE(!skipped);
  CHECK(skipped.error() == factum::errc::domain_exception);
  CHECK(skipped.error().message().find("it is dead letter") != std::string::npos);
  CHECK(l.of("account-a") == std::vector<std::int64_t>{1});
  auto second = subs.dead_letters().value();
  REQUIRE(second.size() == 1);
  CHECK(second[0].id != first[0].id);
  CHECK(second[0].event.version == first[0].event.version + 2);
  CHECK(subs.parked_streams().value().at(0).waiting == 1);

  *l.broken = false;
  REQUIRE(subs.retry_dead_letter(second[0].id));
  CHECK(l.of("account-a") == std::vector<std::int64_t>{1, 13, 2});
}

TEST_CASE("dead letters: a parked stream stays parked across a restart") {
  auto store = std::make_shared<factum::memory_store>();
  ledger l;
  std::uint64_t letter = 0;
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    auto sub = subs.add(l, quick(1));
    REQUIRE(!run(rt, "a", open_account{"a"}).ec);
    deposits(rt, "a", {13, 1});
    REQUIRE(sub.wait_until(head(rt)));
    letter = subs.dead_letters().value().at(0).id;
  }
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto sub = subs.add(l, quick(1));
  deposits(rt, "a", {2});
  REQUIRE(!run(rt, "b", open_account{"b"}).ec);
  deposits(rt, "b", {5});
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(l.of("account-a").empty());
  CHECK(l.of("account-b") == std::vector<std::int64_t>{5});
  CHECK(subs.parked_streams().value().at(0).waiting == 2);

  *l.broken = false;
  REQUIRE(subs.retry_dead_letter(letter));
  CHECK(l.of("account-a") == std::vector<std::int64_t>{13, 1, 2});
}

namespace {
/// Waits (up to 10 s) until `l` handled a deposit to `stream`.
bool saw(const ledger& l, const std::string& stream) {
  for (int i = 0; i < 1000; ++i) {
    if (!l.of(stream).empty()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}
factum::subscription_options slow_retries(std::chrono::milliseconds first) {
  auto o = quick(50);
  o.retry.initial_backoff = first;
  o.retry.max_backoff = first;
  o.retry.jitter = 0;
  return o;
}
}  // namespace

TEST_CASE("dead letters: while an event is tried again, other streams go on") {
  factum::runtime rt{factum::memory_store{}, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  ledger l;
  auto sub = subs.add(l, slow_retries(200ms));
  REQUIRE(!run(rt, "a", open_account{"a"}).ec);
  REQUIRE(!run(rt, "b", open_account{"b"}).ec);
  deposits(rt, "a", {13, 1});
  deposits(rt, "b", {5});
  // b is handled while a's 13 waits for its next attempt (blocking retries
  // would hold b until the 13 succeeded, which it cannot while broken).
  REQUIRE(saw(l, "account-b"));
  CHECK(l.of("account-a").empty());
  *l.broken = false;  // the next attempt succeeds, and what waited follows
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(l.entries() == std::vector<std::pair<std::string, std::int64_t>>{
                           {"account-b", 5}, {"account-a", 13}, {"account-a", 1}});
  CHECK(subs.dead_letters().value().empty());
}

TEST_CASE("dead letters: attempts a restart interrupted go on after it") {
  auto store = std::make_shared<factum::memory_store>();
  ledger l;
  {
    factum::runtime rt{store, threads(2)};
    factum::subscriptions subs{rt, quiet()};
    auto sub = subs.add(l, slow_retries(60s));  // the next attempt never comes here
    REQUIRE(!run(rt, "a", open_account{"a"}).ec);
    deposits(rt, "a", {13, 1});
    for (int i = 0; i < 1000 && subs.dead_letters().value().empty(); ++i)
      std::this_thread::sleep_for(10ms);
    REQUIRE(subs.dead_letters().value().at(0).attempts == 1);
  }
  *l.broken = false;
  factum::runtime rt{store, threads(2)};
  factum::subscriptions subs{rt, quiet()};
  auto sub = subs.add(l, slow_retries(10ms));
  REQUIRE(sub.wait_until(head(rt)));
  CHECK(l.of("account-a") == std::vector<std::int64_t>{13, 1});
  CHECK(subs.dead_letters().value().empty());
}
