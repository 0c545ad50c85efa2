// Schema evolution on a real old file: tests/fixtures/bank-v1.db was made by
// the bank example as it was when its events were all at version 1 (see
// tests/fixtures/README.md). Here the domain has changed since: AccountOpened
// is now called AccountCreated, and MoneyDeposited is at version 2 with a
// memo. The old events still load, replay, route and decode.
#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "../support/temp_dir.hpp"

namespace bank_v2 {

struct account_opened {
  std::string owner;
};
FACTUM_EVENT(account_opened, "AccountCreated", 1, owner)
FACTUM_EVENT_OLD_NAMES(account_opened, "AccountOpened")

struct money_deposited {
  std::int64_t amount = 0;
  std::string memo;
};
FACTUM_EVENT(money_deposited, "MoneyDeposited", 2, amount, memo)
/// Version 1 had no memo.
inline void factum_upcast(factum::type_tag<money_deposited>, factum::upcast_from<1>,
                          factum::json& data) {
  data["memo"] = "(before memos)";
}

struct money_withdrawn {
  std::int64_t amount = 0;
};
FACTUM_EVENT(money_withdrawn, "MoneyWithdrawn", 1, amount)

struct deposit {
  std::int64_t amount = 0;
  std::string memo;
};

struct account {
  static constexpr std::string_view category = "account";
  using event = std::variant<account_opened, money_deposited, money_withdrawn>;
  using command = std::variant<deposit>;
  struct state {
    std::string owner;
    std::int64_t balance = 0;
    std::vector<std::string> memos;
  };
  static factum::decision<event> execute(const state&, const command& c) {
    const auto& d = std::get<deposit>(c);
    return money_deposited{d.amount, d.memo};
  }
  static void apply(state& s, const event& e) {
    std::visit(
        [&](const auto& ev) {
          using E = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<E, account_opened>) s.owner = ev.owner;
          if constexpr (std::is_same_v<E, money_deposited>) {
            s.balance += ev.amount;
            s.memos.push_back(ev.memo);
          }
          if constexpr (std::is_same_v<E, money_withdrawn>) s.balance -= ev.amount;
        },
        e);
  }
};

/// Counts openings: routed by the old name as well as the new.
struct openings {
  static constexpr std::string_view name = "openings";
  using interested_in = factum::events<account_opened>;
  std::shared_ptr<std::vector<std::string>> owners = std::make_shared<std::vector<std::string>>();
  void handle(const account_opened& e) { owners->push_back(e.owner); }
};

}  // namespace bank_v2

TEST_CASE("sqlite: an old file's events load and replay after the domain changed",
          "[sqlite][upcast]") {
  factum_test::temp_dir dir;
  const auto file = dir / "bank.db";
  std::filesystem::copy_file(std::filesystem::path(FACTUM_TEST_FIXTURES) / "bank-v1.db", file);
  factum::runtime rt{factum::sqlite_store{file}};
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  bank_v2::openings o;
  auto sub = subs.add(o);

  auto acc = rt.state_of<bank_v2::account>("acc-1");
  REQUIRE(acc);
  CHECK(acc->version == 6);
  CHECK(acc->state.owner == "Ann");
  CHECK(acc->state.balance == 45);  // 100 - 30 - 25 - 10 + 10
  CHECK(acc->state.memos == std::vector<std::string>{"(before memos)", "(before memos)"});

  // New events are written at the new version and name, beside the old.
  auto r =
      rt.dispatch<bank_v2::account>("acc-1", bank_v2::deposit{5, "coffee"}, boost::asio::use_future)
          .get();
  CHECK(r.events.at(0).schema_version == 2);
  auto stream = rt.store().read_stream(factum::stream_of<bank_v2::account>("acc-1")).value();
  REQUIRE(stream.size() == 7);
  CHECK(stream[1].schema_version == 1);  // the stored text is untouched
  const auto old = factum::codec<bank_v2::account::event>::decode(stream[1]).value();
  CHECK(std::get<bank_v2::money_deposited>(old).memo == "(before memos)");
  CHECK(rt.state_of<bank_v2::account>("acc-1").value().state.balance == 50);

  // Subscribers of the renamed type get the events stored under its old name.
  REQUIRE(sub.wait_until(rt.store().head().value()));
  CHECK(*o.owners == std::vector<std::string>{"Ann", "Bob"});
}
