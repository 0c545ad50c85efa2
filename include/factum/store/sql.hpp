#pragma once

// The SQL writer and rows a projection sees, shared by the SQL read models
// (`sqlite_read_model`, `postgres_read_model`).
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include <factum/core/error.hpp>
#include <factum/core/result.hpp>

namespace factum {

/// A value bound to a `?N` parameter: null, an integer, a double or text.
using sql_value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

class sql_row;

namespace detail {
template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;
template <class T>
inline constexpr bool dependent_false_v = false;

/// A backend's current result row (what `sql_row` reads).
struct sql_row_source {
  virtual ~sql_row_source() = default;
  [[nodiscard]] virtual std::int64_t int64(int column) const = 0;
  [[nodiscard]] virtual double real(int column) const = 0;
  [[nodiscard]] virtual std::string_view text(int column) const = 0;
  [[nodiscard]] virtual bool is_null(int column) const = 0;
  [[nodiscard]] virtual int columns() const = 0;
};

/// A backend's writer connection (what `sql` runs statements on).
struct sql_session {
  virtual ~sql_session() = default;
  /// Runs one statement (or, with no values and no row callback, a script);
  /// `read_only` refuses statements that write.
  virtual result<void> run(std::string_view text, std::span<const sql_value> values,
                           const std::function<void(const sql_row&)>* row, bool read_only) = 0;
  bool in_txn = false;       ///< a transaction of the read model is open
  std::int64_t changes = 0;  ///< rows changed by the last statement
};

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
/// Column types read as the backend converts them: on PostgreSQL, `int64`
/// of a boolean column is 1 or 0, and `text` is PostgreSQL's text form.
class sql_row {
 public:
  [[nodiscard]] std::int64_t int64(int column) const { return src_->int64(column); }
  [[nodiscard]] double real(int column) const { return src_->real(column); }
  /// Valid until the callback returns.
  [[nodiscard]] std::string_view text(int column) const { return src_->text(column); }
  [[nodiscard]] bool is_null(int column) const { return src_->is_null(column); }
  [[nodiscard]] int columns() const { return src_->columns(); }

 private:
  friend struct detail::sql_access;
  explicit sql_row(const detail::sql_row_source* s) noexcept : src_(s) {}
  const detail::sql_row_source* src_;
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
/// The same writer serves `sqlite_read_model` and `postgres_read_model`, so
/// a projection written against it runs on either (on PostgreSQL `?N` is
/// sent as `$N`; the SQL itself must suit the database).
///
/// Errors: a statement the database refuses (syntax, unknown table,
/// constraint, wrong argument count) is `errc::invalid_argument` with its
/// message and the statement; storage failures keep their `storage_*` codes.
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
  [[nodiscard]] std::int64_t changes() const noexcept { return s_ ? s_->changes : 0; }

  /// `exec` with the values given as a span (statements built at run time).
  result<void> exec_values(std::string_view statement, std::span<const sql_value> values) {
    if (!s_ || !s_->in_txn) return outside_transaction();
    return s_->run(statement, values, nullptr, false);
  }
  /// `query` with the values given as a span.
  result<void> query_values(std::string_view statement,
                            const std::function<void(const sql_row&)>& row,
                            std::span<const sql_value> values) {
    if (!s_ || !s_->in_txn) return outside_transaction();
    return s_->run(statement, values, &row, false);
  }

 private:
  friend struct detail::sql_access;
  explicit sql(detail::sql_session* s) noexcept : s_(s) {}
  static error outside_transaction() {
    return error{
        errc::invalid_argument,
        "a factum::sql writer was used outside the read model transaction it was given to"};
  }
  detail::sql_session* s_;
};

namespace detail {
/// Builds the public handles, whose constructors are private.
struct sql_access {
  static sql_row row(const sql_row_source* s) noexcept { return sql_row{s}; }
  static sql writer(sql_session* s) noexcept { return sql{s}; }
};
}  // namespace detail

}  // namespace factum
