#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <factum/core/position.hpp>
#include <factum/core/result.hpp>

struct sqlite3_stmt;

namespace factum {

/// A value bound to a `?N` parameter: null, an integer, a double or text.
using sql_value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

namespace detail {
template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
template <class T>
inline constexpr bool dependent_false_v = false;
struct sql_session;
struct sql_access;
}  // namespace detail

/// The `sql_value` of an argument to `sql::exec` / `query`: integers, bools
/// (0 / 1) and enums become `std::int64_t`, floating point `double`, anything
/// that converts to `std::string_view` text, `nullptr` and an empty
/// `std::optional` NULL. An unsigned value above `INT64_MAX` is stored as its
/// two's complement; `static_cast<std::uint64_t>(row.int64(c))` gives it back.
/// ```
/// factum::to_sql_value(std::optional<int>{});  // NULL
/// factum::to_sql_value("ann");                 // text 'ann'
/// ```
template <class T>
[[nodiscard]] sql_value to_sql_value(const T& v) {
  if constexpr (std::is_same_v<T, sql_value>)
    return v;
  else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>)
    return nullptr;
  else if constexpr (detail::is_optional_v<T>)
    return v ? to_sql_value(*v) : sql_value{nullptr};
  else if constexpr (std::is_same_v<T, bool>)
    return std::int64_t{v ? 1 : 0};
  else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>)
    return static_cast<std::int64_t>(v);
  else if constexpr (std::is_floating_point_v<T>)
    return static_cast<double>(v);
  else if constexpr (std::is_convertible_v<const T&, std::string_view>)
    return std::string(std::string_view(v));
  else
    static_assert(detail::dependent_false_v<T>, "factum::sql: no SQL value for this type");
}

/// One result row, valid only during the row callback. A column index out of
/// range reads as NULL.
class sql_row {
 public:
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] double real(int column) const;
  /// Valid until the callback returns.
  [[nodiscard]] std::string_view text(int column) const;
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] int columns() const;

 private:
  friend struct detail::sql_access;
  explicit sql_row(sqlite3_stmt* s) noexcept : stmt_(s) {}
  sqlite3_stmt* stmt_;
};

/// The writer a projection gets: runs statements inside the read model's
/// transaction in progress, and only then.
///
/// Arguments bind to `?1..?N` in order; their count must match the
/// statement's. Statements are prepared once and cached by their text, so
/// keep values out of the text. A text holding several statements (schema
/// setup) runs them all and takes no arguments. Statements that begin, commit
/// or roll back a transaction are refused: the read model owns it.
/// ```
/// model.commit("balances", e.pos, [&](factum::sql& db) -> factum::result<void> {
///   return db.exec("INSERT INTO balances(id, amount) VALUES (?1, ?2)"
///                  " ON CONFLICT(id) DO UPDATE SET amount = amount + excluded.amount",
///                  e.stream.str(), deposit.amount);
/// });
/// ```
/// Errors: a statement SQLite refuses (syntax, unknown table, constraint,
/// wrong argument count) is `errc::invalid_argument` with SQLite's message
/// and the statement; storage failures keep their `storage_*` codes.
class sql {
 public:
  /// Runs `statement` to completion (rows of a SELECT are dropped).
  template <class... Args>
  result<void> exec(std::string_view statement, const Args&... args) {
    const std::array<sql_value, sizeof...(Args)> values{to_sql_value(args)...};
    return exec_values(statement, values);
  }
  /// Calls `row` for each result row; it sees this transaction's writes.
  template <class... Args>
  result<void> query(std::string_view statement, const std::function<void(const sql_row&)>& row,
                     const Args&... args) {
    const std::array<sql_value, sizeof...(Args)> values{to_sql_value(args)...};
    return query_values(statement, row, values);
  }
  /// Rows inserted, updated or deleted by the last `exec` (0 for other statements).
  [[nodiscard]] std::int64_t changes() const noexcept;

  /// `exec` with the values given as a span (statements built at run time).
  result<void> exec_values(std::string_view statement, std::span<const sql_value> values);
  /// `query` with the values given as a span.
  result<void> query_values(std::string_view statement,
                            const std::function<void(const sql_row&)>& row,
                            std::span<const sql_value> values);

 private:
  friend struct detail::sql_access;
  explicit sql(detail::sql_session* s) noexcept : s_(s) {}
  detail::sql_session* s_;
};

/// How a `sqlite_read_model` opens its file.
struct sqlite_read_model_options {
  /// How long a commit waits for another connection's (or process') write
  /// lock, e.g. the event store's on a shared file, before `errc::storage_busy`.
  std::chrono::milliseconds busy_timeout{5000};
  /// `PRAGMA synchronous = FULL` (fsync at every commit) instead of NORMAL.
  /// NORMAL survives a crash of the process; a power loss may lose the last
  /// commits, read model rows and checkpoint together, so a projection
  /// replays them.
  bool synchronous_full = false;
  /// Open for queries only: commits fail with `errc::storage_read_only`.
  bool read_only = false;
};

/// A read model in an SQLite file: a projection's rows and its checkpoint
/// commit in one transaction, so after a crash the projection resumes exactly
/// where its rows stop and sees each event once.
///
/// The file may be the event store's own (a second connection: WAL lets the
/// store append and queries read while a commit runs; writers wait for each
/// other up to `busy_timeout`) or a separate one. Open the `sqlite_store`
/// first on a new shared file: it refuses a file that has tables but not its
/// schema. Checkpoints live in the table `read_model_checkpoints`.
/// ```
/// auto model = factum::sqlite_read_model::open("bank.db").value();
/// model.write([](factum::sql& db) {
///   return db.exec("CREATE TABLE IF NOT EXISTS balances(id TEXT PRIMARY KEY, amount INTEGER)");
/// });
/// auto from = model.load_checkpoint("balances").value().value_or(factum::position::start());
/// // for each event e after `from`:
/// model.commit("balances", e.pos, [&](factum::sql& db) { return db.exec(...); });
/// model.query("SELECT amount FROM balances WHERE id = ?1",
///             [&](const factum::sql_row& r) { amount = r.int64(0); }, "acc-1");
/// ```
/// Every call is thread-safe. Commits run one at a time; queries run on their
/// own connections, beside a commit, and see committed rows only.
class sqlite_read_model {
 public:
  using writer = sql;

  /// Opens (or creates) the file; errors: `storage_corrupt` (not a
  /// database), `storage_read_only`, `storage_busy`, `storage_io`.
  [[nodiscard]] static result<sqlite_read_model> open(
      const std::filesystem::path& file, const sqlite_read_model_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit sqlite_read_model(const std::filesystem::path& file,
                             const sqlite_read_model_options& options = {});

  sqlite_read_model(sqlite_read_model&&) noexcept;
  sqlite_read_model& operator=(sqlite_read_model&&) noexcept;
  ~sqlite_read_model();

  /// Runs `fn` in one transaction (schema setup, ...); see `commit` for failures.
  result<void> write(const std::function<result<void>(sql&)>& fn);

  /// A read-only statement on a reader connection; `row` is called for each row.
  template <class... Args>
  result<void> query(std::string_view statement, const std::function<void(const sql_row&)>& row,
                     const Args&... args) const {
    const std::array<sql_value, sizeof...(Args)> values{to_sql_value(args)...};
    return query_values(statement, row, values);
  }
  /// `query` with the values given as a span.
  result<void> query_values(std::string_view statement,
                            const std::function<void(const sql_row&)>& row,
                            std::span<const sql_value> values) const;

  /// The checkpoint stored for subscriber `name`; nullopt when there is none.
  /// A stored text that is not a position is `errc::storage_corrupt`.
  [[nodiscard]] result<std::optional<position>> load_checkpoint(std::string_view name) const;

  /// Atomically: `fn(sql&)`, then the checkpoint of `name` set to `p`.
  ///
  /// When `fn` returns an error or throws, the transaction rolls back and
  /// nothing of `fn`'s writes, nor the checkpoint, is stored. A thrown
  /// `factum::system_error` gives back its error; any other exception is
  /// `errc::domain_exception` with its `what()`. Calling `commit`, `write` or
  /// `reset` from inside `fn` is `errc::invalid_argument`.
  result<void> commit(std::string_view name, const position& p,
                      const std::function<result<void>(sql&)>& fn);
  /// Like `commit`, only when the stored checkpoint of `name` is `expected`
  /// (nullopt: none stored); otherwise `errc::concurrency_conflict` and
  /// nothing is written, `fn` not even run. Projections commit this way, so
  /// that processes projecting into one file apply each event once: the
  /// first commit of a batch wins, the others move to its checkpoint.
  result<void> commit(std::string_view name, const std::optional<position>& expected,
                      const position& p, const std::function<result<void>(sql&)>& fn);

  /// Atomically: `fn(sql&)` (e.g. `DELETE FROM` the projection's tables) and
  /// the checkpoint of `name` deleted, so the projection rebuilds from the start.
  result<void> reset(std::string_view name, const std::function<result<void>(sql&)>& fn);

  [[nodiscard]] const std::filesystem::path& file() const noexcept;

 private:
  struct impl;
  explicit sqlite_read_model(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace factum
