// The bank account's rules, tested with factum's given/when/then fixture:
// no store, no runtime, only the aggregate's pure functions.
#include <catch2/catch.hpp>

#include <factum/domain/testing.hpp>

#include "bank_domain.hpp"

using factum::testing::given;
using namespace bank;

TEST_CASE("bank: an account opens once, for an owner", "[example][bank]") {
  given<account>().when(open_account{"Ann"}).then_expect({account_opened{"Ann"}});
  given<account>({account_opened{"Ann"}})
      .when(open_account{"Bob"})
      .then_reject(account_rejected::already_open);
  given<account>().when(open_account{""}).then_reject(account_rejected::invalid_owner);
}

TEST_CASE("bank: deposits go into open accounts", "[example][bank]") {
  given<account>({account_opened{"Ann"}})
      .when(deposit{100})
      .then_expect({money_deposited{100}})
      .then_state([](const account::state& s) { return s.balance == 100; });
  given<account>().when(deposit{100}).then_reject(account_rejected::account_not_open);
  given<account>({account_opened{"Ann"}})
      .when(deposit{0})
      .then_reject(account_rejected::invalid_amount);
  given<account>({account_opened{"Ann"}, money_deposited{INT64_MAX}})
      .when(deposit{1})
      .then_reject(account_rejected::balance_overflow);
}

TEST_CASE("bank: withdrawals never exceed the balance", "[example][bank]") {
  given<account>({account_opened{"Ann"}, money_deposited{100}})
      .when(withdraw{30})
      .then_expect({money_withdrawn{30}})
      .then_state([](const account::state& s) { return s.balance == 70; });
  given<account>({account_opened{"Ann"}, money_deposited{100}, money_withdrawn{80}})
      .when(withdraw{30})
      .then_reject(account_rejected::insufficient_funds);
  // A typed rejection's code is also its enumerator's name:
  given<account>({account_opened{"Ann"}}).when(withdraw{-5}).then_reject("invalid_amount");
  given<account>().when(withdraw{1}).then_reject(account_rejected::account_not_open);
}

TEST_CASE("bank: a transfer is requested once, between two accounts, for a positive amount",
          "[example][bank]") {
  given<transfer>()
      .when(request_transfer{"acc-1", "acc-2", 25})
      .then_expect({transfer_requested{"acc-1", "acc-2", 25}});
  given<transfer>({transfer_requested{"acc-1", "acc-2", 25}})
      .when(request_transfer{"acc-1", "acc-2", 25})
      .then_reject(transfer_rejected::already_requested);
  given<transfer>()
      .when(request_transfer{"acc-1", "acc-1", 5})
      .then_reject(transfer_rejected::invalid_accounts);
  given<transfer>()
      .when(request_transfer{"acc-1", "acc-2", 0})
      .then_reject(transfer_rejected::invalid_amount);
}
