#pragma once

#include <array>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include <factum/core/position.hpp>
#include <factum/core/result.hpp>
#include <factum/store/sql.hpp>

namespace factum {

/// A read model in an SQL database: a projection's rows and its checkpoint
/// commit in one transaction, so after a crash (or a fail-over to another
/// node) the projection resumes exactly where its rows stop and applies each
/// event once. `sqlite_read_model` and `postgres_read_model` are the two;
/// code that takes a `sql_read_model&` (schema setup, queries, a projection
/// added with `std::shared_ptr<sql_read_model>`) runs on either.
///
/// Statements take `?1..?N`; see `factum::sql` for values and rows.
/// ```
/// std::shared_ptr<factum::sql_read_model> model =
///     std::make_shared<factum::sqlite_read_model>("bank.db");
/// model->write([](factum::sql& db) {
///   return db.exec("CREATE TABLE IF NOT EXISTS balances(id TEXT PRIMARY KEY, amount INTEGER)");
/// });
/// auto from = model->load_checkpoint("balances").value().value_or(factum::position::start());
/// // for each event e after `from`:
/// model->commit("balances", e.pos, [&](factum::sql& db) { return db.exec(...); });
/// model->query("SELECT amount FROM balances WHERE id = ?1",
///              [&](const factum::sql_row& r) { amount = r.int64(0); }, "acc-1");
/// ```
/// Every call is thread-safe. Commits run one at a time per object; queries
/// run on their own connections, beside a commit, and see committed rows
/// only. A moved-from object answers every call with `errc::invalid_argument`.
class sql_read_model {
 public:
  using writer = sql;

  virtual ~sql_read_model() = default;

  /// Runs `fn` in one transaction (schema setup, ...); see `commit` for failures.
  virtual result<void> write(const std::function<result<void>(sql&)>& fn) = 0;

  /// A read-only statement on a reader connection; `row` is called for each row.
  template <class... Args>
  result<void> query(std::string_view statement, const std::function<void(const sql_row&)>& row,
                     const Args&... args) const {
    const std::array<sql_value, sizeof...(Args)> values{to_sql_value(args)...};
    return query_values(statement, row, values);
  }
  /// `query` with the values given as a span.
  virtual result<void> query_values(std::string_view statement,
                                    const std::function<void(const sql_row&)>& row,
                                    std::span<const sql_value> values) const = 0;

  /// The checkpoint stored for subscriber `name`; nullopt when there is none.
  /// A stored text that is not a position is `errc::storage_corrupt`.
  [[nodiscard]] virtual result<std::optional<position>> load_checkpoint(
      std::string_view name) const = 0;

  /// Atomically: `fn(sql&)`, then the checkpoint of `name` set to `p`.
  ///
  /// When `fn` returns an error or throws, the transaction rolls back and
  /// nothing of `fn`'s writes, nor the checkpoint, is stored. A thrown
  /// `factum::system_error` gives back its error; any other exception is
  /// `errc::domain_exception` with its `what()`. Calling `commit`, `write` or
  /// `reset` from inside `fn` is `errc::invalid_argument`.
  virtual result<void> commit(std::string_view name, const position& p,
                              const std::function<result<void>(sql&)>& fn) = 0;
  /// Like `commit`, only when the stored checkpoint of `name` is `expected`
  /// (nullopt: none stored); otherwise `errc::concurrency_conflict` and
  /// nothing is written, `fn` not even run. Projections commit this way, so
  /// that processes (or nodes) projecting into one database apply each event
  /// once: the first commit of a batch wins, the others move to its checkpoint.
  virtual result<void> commit(std::string_view name, const std::optional<position>& expected,
                              const position& p, const std::function<result<void>(sql&)>& fn) = 0;

  /// Atomically: `fn(sql&)` (e.g. `DELETE FROM` the projection's tables) and
  /// the checkpoint of `name` deleted, so the projection rebuilds from the start.
  virtual result<void> reset(std::string_view name,
                             const std::function<result<void>(sql&)>& fn) = 0;

 protected:
  sql_read_model() = default;
  sql_read_model(const sql_read_model&) = default;
  sql_read_model(sql_read_model&&) noexcept = default;
  sql_read_model& operator=(const sql_read_model&) = default;
  sql_read_model& operator=(sql_read_model&&) noexcept = default;
};

}  // namespace factum
