#pragma once

/// The bank account domain: events, state, evolve (`apply`) and decide
/// (`open`, `deposit`, `withdraw`).
///
/// Plain structs and pure functions, no I/O. It includes <factum/domain.hpp>
/// only, so it compiles without SQLite, spdlog or Asio and can be tested on
/// its own:
/// ```
/// bank::state s;
/// bank::apply(s, bank::account_opened{"Ann"});
/// auto d = bank::withdraw(s, 30);   // rejection "insufficient_funds"
/// ```
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <factum/domain.hpp>

namespace bank {

/// The stream category of accounts: account "acc-1" is the stream "account-acc-1".
inline constexpr std::string_view category = "account";

// Events: what happened. Their names are written to disk and never change.

struct account_opened {
  std::string owner;
};
FACTUM_EVENT(account_opened, "AccountOpened", 1, owner)

struct money_deposited {
  std::int64_t amount = 0;
};
FACTUM_EVENT(money_deposited, "MoneyDeposited", 1, amount)

struct money_withdrawn {
  std::int64_t amount = 0;
};
FACTUM_EVENT(money_withdrawn, "MoneyWithdrawn", 1, amount)

using event = std::variant<account_opened, money_deposited, money_withdrawn>;
/// Maps the events to stored ones and back, by the names registered above.
using codec = factum::codec<event>;

/// An account as its events leave it.
struct state {
  bool open = false;
  std::string owner;
  std::int64_t balance = 0;
};

// Evolve: the state after one more event. Pure, and it never fails: the
// event has happened already.

inline void apply(state& s, const account_opened& e) {
  s.open = true;
  s.owner = e.owner;
}
inline void apply(state& s, const money_deposited& e) {
  s.balance += e.amount;
}
inline void apply(state& s, const money_withdrawn& e) {
  s.balance -= e.amount;
}
inline void apply(state& s, const event& e) {
  std::visit([&s](const auto& alternative) { apply(s, alternative); }, e);
}

/// Why a command was refused: a stable code for programs, a message for people.
struct rejection {
  std::string code;
  std::string message;
};

/// What a command decided: the event to append, or a rejection.
template <class Event>
using decision = std::variant<Event, rejection>;

// Decide: pure functions of the current state and the command's arguments.

/// Opens the account for `owner`; only once.
inline decision<account_opened> open(const state& s, std::string owner) {
  if (s.open) return rejection{"already_open", "the account is open already"};
  if (owner.empty()) return rejection{"invalid_owner", "an account needs an owner"};
  return account_opened{std::move(owner)};
}

/// Puts a positive amount into an open account.
inline decision<money_deposited> deposit(const state& s, std::int64_t amount) {
  if (!s.open) return rejection{"account_not_open", "the account is not open"};
  if (amount <= 0) return rejection{"invalid_amount", "a deposit must be positive"};
  if (amount > std::numeric_limits<std::int64_t>::max() - s.balance)
    return rejection{"balance_overflow", "the balance would overflow"};
  return money_deposited{amount};
}

/// Takes a positive amount out of an open account, never more than its balance.
inline decision<money_withdrawn> withdraw(const state& s, std::int64_t amount) {
  if (!s.open) return rejection{"account_not_open", "the account is not open"};
  if (amount <= 0) return rejection{"invalid_amount", "a withdrawal must be positive"};
  if (amount > s.balance)
    return rejection{"insufficient_funds", "balance " + std::to_string(s.balance) +
                                               ", withdrawal " + std::to_string(amount)};
  return money_withdrawn{amount};
}

}  // namespace bank
