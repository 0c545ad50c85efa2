#pragma once

/// The bank account domain: events, commands, rejections, and the `account`
/// aggregate (state, `decide` per command, `evolve` per event).
///
/// Plain structs and pure functions, no I/O. It includes <factum/domain.hpp>
/// only, so it compiles without SQLite, spdlog or Asio and can be tested on
/// its own:
/// ```
/// factum::testing::given<bank::account>({bank::account_opened{"Ann"}})
///     .when(bank::withdraw{30})
///     .then_reject(bank::account_rejected::insufficient_funds);
/// ```
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <factum/domain.hpp>

namespace bank {

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

// Commands: what a caller asks for. They are not stored.

struct open_account {
  std::string owner;
};
struct deposit {
  std::int64_t amount = 0;
};
struct withdraw {
  std::int64_t amount = 0;
};

/// Why an account refuses a command. The names are the codes callers see
/// ("insufficient_funds"); the category's name, "bank.account", is stored
/// with a process manager's refusals.
enum class account_rejected {
  already_open = 1,
  invalid_owner,
  account_not_open,
  invalid_amount,
  balance_overflow,
  insufficient_funds,
};
FACTUM_REJECTIONS(account_rejected, "bank.account", already_open, invalid_owner, account_not_open,
                  invalid_amount, balance_overflow, insufficient_funds)

/// The bank account aggregate: one pure `decide` per command and one
/// `evolve` per event; factum picks the one for each alternative.
struct account {
  static constexpr std::string_view category = "account";
  using event = std::variant<account_opened, money_deposited, money_withdrawn>;
  using command = std::variant<open_account, deposit, withdraw>;
  using enum account_rejected;

  /// An account as its events leave it.
  struct state {
    bool open = false;
    std::string owner;
    std::int64_t balance = 0;
  };

  // Decide: the events a command causes, or why it is refused. No I/O.

  static factum::decision<event> decide(const state& s, const open_account& c) {
    if (s.open) return factum::reject(already_open, "the account is open already");
    if (c.owner.empty()) return factum::reject(invalid_owner, "an account needs an owner");
    return account_opened{c.owner};
  }
  static factum::decision<event> decide(const state& s, const deposit& c) {
    if (!s.open) return factum::reject(account_not_open, "the account is not open");
    if (c.amount <= 0) return factum::reject(invalid_amount, "a deposit must be positive");
    if (c.amount > std::numeric_limits<std::int64_t>::max() - s.balance)
      return factum::reject(balance_overflow, "the balance would overflow");
    return money_deposited{c.amount};
  }
  static factum::decision<event> decide(const state& s, const withdraw& c) {
    if (!s.open) return factum::reject(account_not_open, "the account is not open");
    if (c.amount <= 0) return factum::reject(invalid_amount, "a withdrawal must be positive");
    if (c.amount > s.balance)
      return factum::reject(insufficient_funds, "balance " + std::to_string(s.balance) +
                                                    ", withdrawal " + std::to_string(c.amount));
    return money_withdrawn{c.amount};
  }

  // Evolve: the state after one more event. It never fails: the event has
  // happened already.

  static void evolve(state& s, const account_opened& e) {
    s.open = true;
    s.owner = e.owner;
  }
  static void evolve(state& s, const money_deposited& e) { s.balance += e.amount; }
  static void evolve(state& s, const money_withdrawn& e) { s.balance -= e.amount; }
};

static_assert(factum::check_aggregate<account>());

// A transfer between two accounts: requesting it is a fact of its own
// stream ("transfer-<id>"); the transfer process manager (bank_read_side.hpp)
// then debits and credits the accounts, and refunds when the credit fails.

struct transfer_requested {
  std::string from;
  std::string to;
  std::int64_t amount = 0;
};
FACTUM_EVENT(transfer_requested, "TransferRequested", 1, from, to, amount)

struct request_transfer {
  std::string from;
  std::string to;
  std::int64_t amount = 0;
};

/// Why a transfer request is refused.
enum class transfer_rejected { already_requested = 1, invalid_amount, invalid_accounts };
FACTUM_REJECTIONS(transfer_rejected, "bank.transfer", already_requested, invalid_amount,
                  invalid_accounts)

/// A transfer request: made once, between two different accounts.
struct transfer {
  static constexpr std::string_view category = "transfer";
  using event = std::variant<transfer_requested>;
  using command = std::variant<request_transfer>;
  using enum transfer_rejected;
  struct state {
    bool requested = false;
  };

  static factum::decision<event> decide(const state& s, const request_transfer& r) {
    if (s.requested) return factum::reject(already_requested, "this transfer exists already");
    if (r.amount <= 0) return factum::reject(invalid_amount, "a transfer must be positive");
    if (r.from.empty() || r.to.empty() || r.from == r.to)
      return factum::reject(invalid_accounts, "a transfer needs two different accounts");
    return transfer_requested{r.from, r.to, r.amount};
  }
  static void evolve(state& s, const transfer_requested&) { s.requested = true; }
};

static_assert(factum::check_aggregate<transfer>());

using event = account::event;
using state = account::state;
/// Maps the events to stored ones and back, by the names registered above.
using codec = factum::codec<event>;
using codec_of_transfer = factum::codec<transfer::event>;

}  // namespace bank
