// Multi-stream commands: transfers between accounts, atomic over both
// streams, retried on conflicts; the total balance is conserved.
#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

#include "helpers.hpp"

using namespace factum;
using namespace factum_test;

TEST_CASE("a transfer appends to both accounts atomically", "[runtime][transact]") {
  runtime rt{memory_store{}, threads(2)};
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "a", deposit_money{100}).ec);
  REQUIRE_FALSE(run(rt, "b", open_account{"bob"}).ec);
  auto t = transfer(rt, "a", "b", 30);
  REQUIRE_FALSE(t.ec);
  CHECK(t.result.streams == std::vector<stream_version>{{"account-a", 3}, {"account-b", 2}});
  REQUIRE(t.result.events.size() == 2);
  CHECK(t.result.events[0].global_position + 1 == t.result.events[1].global_position);
  CHECK(balance(rt, "a") == 70);
  CHECK(balance(rt, "b") == 30);
  // the live instances moved on with it: single commands see the new state
  REQUIRE_FALSE(run(rt, "a", withdraw_money{70}).ec);

  auto refused = transfer(rt, "a", "b", 1);
  CHECK(refused.ec == rejection_error("insufficient_funds"));
  CHECK(rt.store().stream_version("account-b").value() == 2);
  CHECK(transfer(rt, "a", "a", 1).ec == errc::invalid_argument);
  CHECK(transfer(rt, "", "a", 1).ec == errc::invalid_stream_id);
  auto f = rt.transact<account, account>({"b", "a"}, transfer_decision(5), boost::asio::use_future);
  CHECK(f.get().streams[0].version == 3);
}

TEST_CASE("concurrent transfers among a few accounts conserve the total", "[runtime][transact]") {
  auto store = std::make_shared<memory_store>();
  runtime rt{store, threads(2)};
  runtime other{store, threads(2)};  // a second writer on the same store
  rt.configure<account>(patient());
  other.configure<account>(patient());
  constexpr int accounts = 4, per_thread = 150, threads = 4;
  constexpr std::int64_t initial = 1000;
  for (int a = 0; a < accounts; ++a) {
    REQUIRE_FALSE(run(rt, std::to_string(a), open_account{"x"}).ec);
    REQUIRE_FALSE(run(rt, std::to_string(a), deposit_money{initial}).ec);
  }
  std::atomic<int> applied{0}, rejected{0}, failed{0};
  std::atomic<std::int64_t> moved{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&, t] {
      std::mt19937 gen(static_cast<unsigned>(t));
      runtime& r = t % 2 ? other : rt;
      for (int i = 0; i < per_thread; ++i) {
        const int from = static_cast<int>(gen() % accounts);
        const int to = (from + 1 + static_cast<int>(gen() % (accounts - 1))) % accounts;
        const std::int64_t amount = 1 + static_cast<std::int64_t>(gen() % 50);
        dispatch_options o;
        o.command = uuid::v7();
        auto a = transfer(r, std::to_string(from), std::to_string(to), amount, o);
        if (!a.ec) {
          ++applied;
          moved += amount;
          // the same command again is answered from the record, not applied twice
          auto again = transfer(r, std::to_string(from), std::to_string(to), amount, o);
          if (again.ec || !again.result.already_appended) ++failed;
        } else if (is_rejection(a.ec)) {
          ++rejected;
        } else {
          ++failed;
        }
        // single commands interleave with the transfers
        if (i % 10 == 0) (void)run(r, std::to_string(from), deposit_money{0});
      }
    });
  for (auto& c : callers)
    c.join();
  CHECK(failed == 0);
  CHECK(applied + rejected == threads * per_thread);
  CHECK(applied > 0);
  std::int64_t total = 0;
  std::int64_t withdrawn = 0;
  for (int a = 0; a < accounts; ++a) {
    total += balance(rt, std::to_string(a));
    for (const auto& e : store->read_stream("account-" + std::to_string(a)).value())
      if (e.type == "MoneyWithdrawn")
        withdrawn += account_codec::decode(e).value().index() == 2
                         ? std::get<money_withdrawn>(account_codec::decode(e).value()).amount
                         : 0;
  }
  CHECK(total == accounts * initial);
  CHECK(withdrawn == moved);  // each applied transfer stored exactly once
  CHECK(balance(other, "0") == balance(rt, "0"));
}

TEST_CASE("a multi-stream command checks the streams it only reads, and decides off their strands",
          "[runtime][transact]") {
  runtime rt{memory_store{}, threads(2)};
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "a", deposit_money{100}).ec);
  REQUIRE_FALSE(run(rt, "b", open_account{"bob"}).ec);
  REQUIRE_FALSE(run(rt, "auth", open_account{"authority"}).ec);  // balance 0: transfers allowed

  // The first decide waits until the test lets it go; the authority's
  // balance (read, never written) says whether a transfer is allowed.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> deciding;
  std::atomic<int> calls{0};
  auto decide = [&](const account::state& from, const account::state& to,
                    const account::state& auth) -> decisions<account, account, account> {
    if (calls.fetch_add(1) == 0) {
      deciding.set_value();
      released.wait();
    }
    if (auth.balance != 0) return {reject("revoked", "the authority moved"), {}, {}};
    if (!from.open || !to.open) return {reject("not_open"), {}, {}};
    return {money_withdrawn{10}, money_deposited{10}, {}};
  };
  std::promise<answer> done;
  rt.transact<account, account, account>({"a", "b", "auth"}, decide,
                                         [&](std::error_code ec, dispatch_result r) {
                                           done.set_value({ec, std::move(r)});
                                         });
  deciding.get_future().wait();
  // While decide runs, a command to a participant goes through at once.
  std::promise<std::error_code> revoked;
  rt.dispatch<account>("auth", deposit_money{1},
                       [&](std::error_code ec, dispatch_result) { revoked.set_value(ec); });
  auto f = revoked.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK_FALSE(f.get());
  release.set_value();

  // The append carried the authority's version as a condition: it failed,
  // and the retry decided on the revoked authority.
  auto a = done.get_future().get();
  CHECK(a.ec == rejection_error("revoked"));
  CHECK(calls.load() == 2);
  CHECK(balance(rt, "a") == 100);
  CHECK(balance(rt, "b") == 0);
  CHECK(rt.store().stream_version("account-auth").value() == 2);
}

TEST_CASE("a multi-stream command that commits names its read-only streams at their versions",
          "[runtime][transact]") {
  runtime rt{memory_store{}, threads(2)};
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "a", deposit_money{50}).ec);
  REQUIRE_FALSE(run(rt, "b", open_account{"bob"}).ec);
  REQUIRE_FALSE(run(rt, "r", open_account{"reader"}).ec);
  auto decide = [](const account::state&, const account::state&,
                   const account::state& read) -> decisions<account, account, account> {
    if (!read.open) return {reject("closed"), {}, {}};
    return {money_withdrawn{5}, money_deposited{5}, {}};
  };
  std::promise<answer> done;
  rt.transact<account, account, account>({"a", "b", "r"}, decide,
                                         [&](std::error_code ec, dispatch_result r) {
                                           done.set_value({ec, std::move(r)});
                                         });
  auto t = done.get_future().get();
  REQUIRE_FALSE(t.ec);
  CHECK(t.result.streams ==
        std::vector<stream_version>{{"account-a", 3}, {"account-b", 2}, {"account-r", 1}});
  CHECK(t.result.events.size() == 2);
  CHECK(rt.store().stream_version("account-r").value() == 1);
}
