#pragma once

// The account aggregate of bench/compile-cost.sh, on its own: the app TU
// uses it alone, domain.hpp adds three more.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <factum/domain.hpp>

namespace cc {

// ---- account ----

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

struct open_account {
  std::string owner;
};
struct deposit {
  std::int64_t amount = 0;
};
struct withdraw {
  std::int64_t amount = 0;
};

struct account {
  static constexpr std::string_view category = "account";
  using event = std::variant<account_opened, money_deposited, money_withdrawn>;
  using command = std::variant<open_account, deposit, withdraw>;
  struct state {
    bool open = false;
    std::int64_t balance = 0;
  };
  static factum::decision<event> execute(const state& s, const command& c) {
    return std::visit([&s](const auto& cmd) { return decide(s, cmd); }, c);
  }
  static void apply(state& s, const event& e) {
    std::visit([&s](const auto& ev) { evolve(s, ev); }, e);
  }

 private:
  static factum::decision<event> decide(const state& s, const open_account& c) {
    if (s.open) return factum::reject("already_open");
    return account_opened{c.owner};
  }
  static factum::decision<event> decide(const state& s, const deposit& c) {
    if (!s.open) return factum::reject("account_not_open");
    if (c.amount <= 0) return factum::reject("invalid_amount");
    return money_deposited{c.amount};
  }
  static factum::decision<event> decide(const state& s, const withdraw& c) {
    if (!s.open) return factum::reject("account_not_open");
    if (c.amount > s.balance) return factum::reject("insufficient_funds");
    return money_withdrawn{c.amount};
  }
  static void evolve(state& s, const account_opened&) { s.open = true; }
  static void evolve(state& s, const money_deposited& e) { s.balance += e.amount; }
  static void evolve(state& s, const money_withdrawn& e) { s.balance -= e.amount; }
};
static_assert(factum::aggregate<account>);

}  // namespace cc

// The codecs are compiled once, in codecs.cpp (see FACTUM_EXTERN_CODEC);
// -DCC_INLINE_CODEC compiles them in every TU, as without the macro.
#ifndef CC_INLINE_CODEC
FACTUM_EXTERN_CODEC(cc::account::event)
#endif
