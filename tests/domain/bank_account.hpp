#pragma once

// A bank account aggregate for the domain tests.
#include <cstdint>
#include <string>
#include <variant>

#include <factum/domain.hpp>

#include "../support/events.hpp"

namespace factum_test {

struct open_account {
  std::string owner;
};
struct deposit_money {
  std::int64_t amount = 0;
};
struct withdraw_money {
  std::int64_t amount = 0;
};

struct bank_account {
  static constexpr std::string_view category = "account";
  using event = account_event;
  using command = std::variant<open_account, deposit_money, withdraw_money>;
  struct state {
    bool open = false;
    std::int64_t balance = 0;
    friend bool operator==(const state&, const state&) = default;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(state, open, balance)
  };

  static factum::decision<event> execute(const state& s, const command& c) {
    return std::visit([&](const auto& cmd) { return decide(s, cmd); }, c);
  }

  static void apply(state& s, const event& e) {
    std::visit([&](const auto& ev) { evolve(s, ev); }, e);
  }

 private:
  static factum::decision<event> decide(const state& s, const open_account& c) {
    if (s.open) return factum::reject("already_open", "the account is open already");
    if (c.owner.empty()) throw std::invalid_argument("no owner");  // a bug, not a rejection
    return account_opened{c.owner, 0};
  }
  static factum::decision<event> decide(const state& s, const deposit_money& c) {
    if (!s.open) return factum::reject("not_open", "the account is not open");
    if (c.amount == 0) return {};
    return money_deposited{c.amount};
  }
  static factum::decision<event> decide(const state& s, const withdraw_money& c) {
    if (!s.open) return factum::reject("not_open", "the account is not open");
    if (c.amount > s.balance)
      return factum::reject("insufficient_funds", "balance " + std::to_string(s.balance));
    if (c.amount > 100) return {money_withdrawn{c.amount}, money_withdrawn{1}};  // with a fee
    return money_withdrawn{c.amount};
  }
  static void evolve(state& s, const account_opened& e) {
    s.open = true;
    s.balance = e.initial;
  }
  static void evolve(state& s, const money_deposited& e) { s.balance += e.amount; }
  static void evolve(state& s, const money_withdrawn& e) { s.balance -= e.amount; }
};

}  // namespace factum_test
