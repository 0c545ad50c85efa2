#pragma once

/// The bank's read side: what reacts to the account events.
///
/// - `account_summary`: a projection into SQLite (table `accounts`: id,
///   owner, balance), committed with its checkpoint in one transaction;
/// - `transfers`: the process manager that carries out a requested
///   transfer: debit, credit, and a refund when the credit is refused.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <factum/store/sql_read_model.hpp>
#include <factum/subscribe.hpp>

#include "bank_domain.hpp"

namespace bank {

struct account_summary {
  static constexpr std::string_view name = "account-summary";
  using interested_in = factum::events<account_opened, money_deposited, money_withdrawn>;

  /// Creates the table (once per file or database): the same SQL on
  /// SQLite and PostgreSQL.
  static factum::result<void> create(factum::sql_read_model& db) {
    return db.write([](factum::sql& s) {
      return s.exec(
          "CREATE TABLE IF NOT EXISTS accounts("
          "id TEXT PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT NOT NULL)");
    });
  }

  factum::result<void> project(factum::sql& db, const account_opened& e,
                               const factum::recorded_event& r) {
    return db.exec("INSERT INTO accounts(id, owner, balance) VALUES (?1, ?2, 0)", id(r), e.owner);
  }
  factum::result<void> project(factum::sql& db, const money_deposited& e,
                               const factum::recorded_event& r) {
    return db.exec("UPDATE accounts SET balance = balance + ?1 WHERE id = ?2", e.amount, id(r));
  }
  factum::result<void> project(factum::sql& db, const money_withdrawn& e,
                               const factum::recorded_event& r) {
    return db.exec("UPDATE accounts SET balance = balance - ?1 WHERE id = ?2", e.amount, id(r));
  }
  factum::result<void> reset(factum::sql& db) { return db.exec("DELETE FROM accounts"); }

 private:
  /// "account-acc-1" -> "acc-1"
  static std::string id(const factum::recorded_event& r) {
    return std::string(r.stream.view().substr(account::category.size() + 1));
  }
};

struct transfers {
  static constexpr std::string_view name = "transfers";
  using interested_in = factum::events<transfer_requested>;
  struct state {
    std::string from;
    std::int64_t amount = 0;
  };
  using command = std::variant<factum::send<account>>;

  /// One process per transfer stream, done in one step.
  factum::correlation correlate(const transfer_requested&, const factum::recorded_event& r) const {
    return factum::correlation::stop(r.stream.str());
  }
  void apply(state& s, const transfer_requested& e) const {
    s.from = e.from;
    s.amount = e.amount;
  }
  /// Debit, then credit (the credit is not sent when the debit is refused).
  factum::reaction<command> handle(const state&, const transfer_requested& e) const {
    return {factum::send<account>{e.from, withdraw{e.amount}},
            factum::send<account>{e.to, deposit{e.amount}}};
  }
  /// A refused credit is undone by a refund; a refused debit needs nothing.
  std::vector<command> compensate(const state& s, const command& failed,
                                  const factum::error&) const {
    if (!std::holds_alternative<deposit>(std::get<factum::send<account>>(failed).command))
      return {};
    return {factum::send<account>{s.from, deposit{s.amount}}};
  }
};

}  // namespace bank
