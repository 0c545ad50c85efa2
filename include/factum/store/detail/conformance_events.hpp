#pragma once

// The events the store conformance suite appends (and factum's own tests
// use): a small bank account domain. Light: no Catch2, no store.
#include <cstdint>
#include <string>
#include <variant>

#include <factum/core/codec.hpp>

namespace factum::conformance {

struct account_opened {
  std::string owner;
  std::int64_t initial = 0;
  friend bool operator==(const account_opened&, const account_opened&) = default;
};
FACTUM_EVENT(account_opened, "AccountOpened", 1, owner, initial)

struct money_deposited {
  std::int64_t amount = 0;
  friend bool operator==(const money_deposited&, const money_deposited&) = default;
};
FACTUM_EVENT(money_deposited, "MoneyDeposited", 1, amount)

struct money_withdrawn {
  std::int64_t amount = 0;
  friend bool operator==(const money_withdrawn&, const money_withdrawn&) = default;
};
FACTUM_EVENT(money_withdrawn, "MoneyWithdrawn", 2, amount)

using account_event = std::variant<account_opened, money_deposited, money_withdrawn>;
using account_codec = factum::codec<account_event>;

}  // namespace factum::conformance
