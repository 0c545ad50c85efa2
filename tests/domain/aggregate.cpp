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
