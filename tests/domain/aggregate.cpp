#include <catch2/catch.hpp>

#include <factum/domain/testing.hpp>

#include "bank_account.hpp"

using namespace factum_test;
using factum::testing::expectation_failed;
using factum::testing::given;

static_assert(factum::aggregate<bank_account>);
static_assert(factum::check_aggregate<bank_account>());
static_assert(!factum::aggregate<int>);
static_assert(!factum::aggregate<money_deposited>);

TEST_CASE("decisions hold events or a rejection", "[domain][decision]") {
  using decision = factum::decision<account_event>;
  const decision one = money_deposited{5};
  CHECK(one.accepted());
  REQUIRE(one.events().size() == 1);
  CHECK(std::get<money_deposited>(one.events()[0]).amount == 5);
  const decision two{money_deposited{1}, money_withdrawn{2}};
  CHECK(two.events().size() == 2);
  const decision none;
  CHECK(none.accepted());
  CHECK(none.events().empty());
  const decision no = factum::reject("insufficient_funds", "balance 3");
  CHECK(no.rejected());
  CHECK(no.events().empty());
  CHECK(no.rejection() == factum::rejection{"insufficient_funds", "balance 3"});
  CHECK(factum::stream_of<bank_account>("acc-1") == factum::stream_id{"account-acc-1"});
}

TEST_CASE("given/when/then: events, nothing, rejections, exceptions, state", "[domain][testing]") {
  given<bank_account>().when(open_account{"ann"}).then_expect({account_opened{"ann", 0}});
  given<bank_account>({account_opened{"ann", 0}, money_deposited{100}})
      .when(withdraw_money{30})
      .then_expect({money_withdrawn{30}})
      .then_state([](const bank_account::state& s) { return s.balance == 70; });
  given<bank_account>({account_opened{"ann", 500}})
      .when(withdraw_money{200})
      .then_expect({money_withdrawn{200}, money_withdrawn{1}});
  given<bank_account>({account_opened{"ann", 0}}).when(deposit_money{0}).then_expect_nothing();
  given<bank_account>({account_opened{"ann", 0}, money_deposited{100}})
      .when(withdraw_money{200})
      .then_reject("insufficient_funds");
  given<bank_account>().when(deposit_money{1}).then_reject("not_open");
  given<bank_account>().when(open_account{""}).then_throw();
  auto r = given<bank_account>({account_opened{"ann", 9}}).when(withdraw_money{10}).result();
  CHECK(r.rejection().message == "balance 9");
}

TEST_CASE("given/when/then reports what went wrong", "[domain][testing]") {
  const auto opened = std::vector<account_event>{account_opened{"ann", 10}};
  CHECK_THROWS_AS(
      given<bank_account>(opened).when(withdraw_money{5}).then_expect({money_withdrawn{6}}),
      expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened).when(withdraw_money{5}).then_reject("x"),
                  expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened).when(withdraw_money{50}).then_reject("insufficient"),
                  expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened).when(withdraw_money{50}).then_expect({}),
                  expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened).when(withdraw_money{5}).then_throw(),
                  expectation_failed);
  CHECK_THROWS_AS(given<bank_account>().when(open_account{""}).then_expect({}), expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened)
                      .when(withdraw_money{5})
                      .then_state([](const bank_account::state& s) { return s.balance == 6; }),
                  expectation_failed);
  CHECK_THROWS_AS(given<bank_account>(opened).result(), expectation_failed);
  try {
    given<bank_account>(opened).when(withdraw_money{5}).then_expect({money_withdrawn{6}});
  } catch (const expectation_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("MoneyWithdrawn v2 {\"amount\":6}") &&
                             Catch::Contains("{\"amount\":5}"));
  }
}

namespace lossy {
struct renamed {
  std::int64_t kept = 0;
  std::int64_t forgotten = 0;  // not listed in FACTUM_EVENT
  friend bool operator==(const renamed&, const renamed&) = default;
};
FACTUM_EVENT(renamed, "Renamed", 1, kept)

struct agg {
  static constexpr std::string_view category = "lossy";
  using event = std::variant<renamed>;
  using command = int;
  struct state {};
  static factum::decision<event> execute(const state&, int) { return renamed{1, 2}; }
  static void apply(state&, const event&) {}
};
}  // namespace lossy

TEST_CASE("given/when/then catches a field missing from FACTUM_EVENT", "[domain][testing]") {
  CHECK_THROWS_WITH(given<lossy::agg>().when(1).then_expect({lossy::renamed{1, 2}}),
                    Catch::Contains("is every field listed in FACTUM_EVENT"));
}

// The simplest form: one decide per command, one evolve per event, and
// rejections of an enum of the aggregate's own.
namespace lockers {
struct locked {
  std::string by;
};
FACTUM_EVENT(locked, "Locked", 1, by)
struct unlocked {};
FACTUM_EVENT_NAME(unlocked, "Unlocked", 1)
inline void to_json(factum::json& j, const unlocked&) {
  j = factum::json::object();
}
inline void from_json(const factum::json&, unlocked&) {}

struct lock {
  std::string by;
};
struct unlock {};

enum class refused { locked_already = 3, not_locked = 7, unknown_user };
FACTUM_REJECTIONS(refused, "test.locker", locked_already, not_locked, unknown_user)

struct locker {
  static constexpr std::string_view category = "locker";
  using event = std::variant<locked, unlocked>;
  using command = std::variant<lock, unlock>;
  struct state {
    std::string holder;
  };
  static factum::decision<event> decide(const state& s, const lock& c) {
    if (c.by.empty()) return factum::reject(refused::unknown_user);
    if (!s.holder.empty()) return factum::reject(refused::locked_already, "held by " + s.holder);
    return locked{c.by};
  }
  static factum::decision<event> decide(const state& s, const unlock&) {
    if (s.holder.empty()) return factum::reject(refused::not_locked);
    return unlocked{};
  }
  static void evolve(state& s, const locked& e) { s.holder = e.by; }
  static void evolve(state& s, const unlocked&) { s.holder.clear(); }
};
static_assert(factum::check_aggregate<locker>());

/// A command that is not a variant, and a string code of the same name.
struct stringly {
  static constexpr std::string_view category = "stringly";
  using event = std::variant<unlocked>;
  using command = unlock;
  struct state {};
  static factum::decision<event> decide(const state&, const unlock&) {
    return factum::reject("not_locked");
  }
  static void evolve(state&, const unlocked&) {}
};
static_assert(factum::check_aggregate<stringly>());

// An enum renumbered since its refusals were stored (v1 had insufficient = 2),
// its list written by a macro, and two enums that took one category name.
enum class renumbered { not_open = 1, frozen, insufficient };
#define LOCKERS_RENUMBERED not_open, frozen, insufficient
FACTUM_REJECTIONS(renumbered, "test.renumbered", LOCKERS_RENUMBERED)
enum class twin_a { same = 1 };
FACTUM_REJECTIONS(twin_a, "test.twins", same)
enum class twin_b { same = 1 };
FACTUM_REJECTIONS(twin_b, "test.twins", same)
}  // namespace lockers

TEST_CASE("an aggregate of per-alternative decide and evolve overloads", "[domain][aggregate]") {
  using namespace lockers;
  STATIC_REQUIRE(factum::aggregate<locker>);
  locker::state s;
  factum::evolve<locker>(s, locker::event{locked{"ann"}});
  CHECK(s.holder == "ann");
  auto d = factum::decide<locker>(s, locker::command{lock{"bob"}});
  REQUIRE(d.rejected());
  CHECK(d.rejection().message == "held by ann");
  factum::evolve<locker>(s, locker::event{unlocked{}});
  CHECK(s.holder.empty());
  d = factum::decide<locker>(s, locker::command{lock{"bob"}});
  REQUIRE(d.events().size() == 1);
  CHECK(std::get<locked>(d.events()[0]).by == "bob");
  given<locker>({locked{"ann"}, unlocked{}, locked{"cy"}})
      .when(unlock{})
      .then_expect({unlocked{}})
      .then_state([](const locker::state& after) { return after.holder.empty(); });
}

TEST_CASE("typed rejections: the enum's own category, no shared table", "[domain][rejection]") {
  using namespace lockers;
  const factum::rejection r = factum::reject(refused::not_locked, "nobody holds it");
  CHECK(r.code == "not_locked");
  CHECK(r.message == "nobody holds it");
  CHECK(r.typed_code.value() == 7);
  CHECK(std::string(r.typed_code.category().name()) == "test.locker");
  CHECK(factum::make_error_code(r) == factum::rejection_error(refused::not_locked));
  CHECK(factum::make_error_code(r) != factum::rejection_error(refused::locked_already));
  CHECK(factum::make_error_code(r) != factum::rejection_error("not_locked"));  // not a string code
  CHECK(factum::is_rejection(factum::rejection_error(refused::unknown_user)));
  CHECK(factum::is_rejection(factum::rejection_error("anything")));
  CHECK(!factum::is_rejection(factum::make_error_code(factum::errc::storage_io)));
  CHECK(factum::rejection_error(refused::unknown_user).message() == "unknown_user");
  CHECK(factum::rejection_error(refused::locked_already).message() == "locked_already");
  CHECK(std::error_code(42, factum::rejection_error(refused::unknown_user).category()).message() ==
        "rejection 42");
  // A stored rejection (category, value, name) comes back as the same code,
  // and as the string code when its category is not in this program.
  CHECK(factum::detail::restore_rejection("test.locker", "not_locked") ==
        factum::rejection_error(refused::not_locked));
  CHECK(factum::detail::restore_rejection("gone.category", "not_locked") ==
        factum::rejection_error("not_locked"));
  CHECK(factum::detail::restore_rejection("test.locker", "no_such_code") ==
        factum::rejection_error("no_such_code"));

  // By name, not by number: a stored (category, 2, "insufficient") is
  // `insufficient` now, whatever its value.
  CHECK(factum::detail::restore_rejection("test.renumbered", "insufficient") ==
        factum::rejection_error(renumbered::insufficient));
  CHECK(factum::rejection_error(renumbered::frozen).message() == "frozen");  // the macro's names
  // Two categories of one name: neither is sure, so the string code.
  CHECK(factum::detail::restore_rejection("test.twins", "same") == factum::rejection_error("same"));

  given<locker>({locked{"ann"}}).when(lock{"bob"}).then_reject(refused::locked_already);
  given<locker>().when(unlock{}).then_reject(refused::not_locked);
  given<locker>().when(unlock{}).then_reject("not_locked");  // its name, too
  CHECK_THROWS_WITH(given<locker>().when(unlock{}).then_reject(refused::unknown_user),
                    Catch::Contains("expected rejection 'unknown_user'"));
  // The same name as a string code is not the typed one.
  given<stringly>().when(unlock{}).then_reject("not_locked");
  CHECK_THROWS_WITH(given<stringly>().when(unlock{}).then_reject(refused::not_locked),
                    Catch::Contains("expected rejection test.locker/not_locked") &&
                        Catch::Contains("as a string"));
}
