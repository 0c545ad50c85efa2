#pragma once

// Thin RAII wrappers over the sqlite3 C API, private to the SQLite backend.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include <factum/core/error.hpp>
#include <factum/core/result.hpp>

namespace factum::detail::sqlite {

/// The factum error for an SQLite result code, with SQLite's own message.
inline error to_error(int rc, sqlite3* db, std::string_view doing) {
  errc code = errc::storage_io;
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = errc::storage_busy;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      code = errc::storage_read_only;
      break;
    case SQLITE_FULL:
      code = errc::storage_full;
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = errc::storage_corrupt;
      break;
    case SQLITE_TOOBIG:
      code = errc::too_large;
      break;
    default:
      break;
  }
  std::string msg{doing};
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (sqlite code " + std::to_string(rc) + ")";
  return error{code, std::move(msg)};
}

/// A prepared statement: bind, step, read columns, reset.
class statement {
 public:
  statement() = default;
  /// Prepares the first statement of `sql`; `used`, when given, is set to
  /// how many bytes of `sql` it took (the rest may hold more statements).
  statement(sqlite3* db, std::string_view sql, std::size_t* used = nullptr) : db_(db) {
    const char* tail = nullptr;
    rc_ = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt_, &tail);
    if (used) *used = tail ? static_cast<std::size_t>(tail - sql.data()) : sql.size();
  }
  statement(statement&& o) noexcept
      : db_(std::exchange(o.db_, nullptr)),
        stmt_(std::exchange(o.stmt_, nullptr)),
        rc_(o.rc_),
        bind_rc_(o.bind_rc_) {}
  statement& operator=(statement&& o) noexcept {
    std::swap(db_, o.db_);
    std::swap(stmt_, o.stmt_);
    std::swap(rc_, o.rc_);
    std::swap(bind_rc_, o.bind_rc_);
    return *this;
  }
  ~statement() { sqlite3_finalize(stmt_); }

  [[nodiscard]] int prepare_rc() const noexcept { return rc_; }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

  // A bind that fails (SQLITE_TOOBIG for a value over SQLite's length
  // limit, SQLITE_NOMEM) is remembered, and the next `step` returns its code
  // without running the statement: a value is never silently bound as NULL.
  statement& bind(int i, std::int64_t v) { return bound(sqlite3_bind_int64(stmt_, i, v)); }
  statement& bind(int i, std::string_view v) {
    // An empty view may have no data pointer, which SQLite would bind as NULL.
    return bound(sqlite3_bind_text64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC,
                                     SQLITE_UTF8));
  }
  statement& bind_blob(int i, std::span<const std::uint8_t> v) {
    // A zero-length blob with a null pointer would be bound as NULL.
    static constexpr std::uint8_t none = 0;
    return bound(
        sqlite3_bind_blob64(stmt_, i, v.data() ? v.data() : &none, v.size(), SQLITE_STATIC));
  }
  statement& bind_null(int i) { return bound(sqlite3_bind_null(stmt_, i)); }

  /// SQLITE_ROW, SQLITE_DONE or an error code (a failed bind's, if any).
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
  }

  [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  [[nodiscard]] std::string_view text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))}
             : std::string_view{};
  }
  [[nodiscard]] std::span<const std::uint8_t> blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))};
  }
  [[nodiscard]] bool is_null(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  int bind_rc_ = SQLITE_OK;  // the first failed bind since the last reset

  statement& bound(int rc) noexcept {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
};

/// Resets a statement when the scope ends, so early returns leave it reusable.
class reset_guard {
 public:
  explicit reset_guard(statement& s) : s_(s) {}
  ~reset_guard() { s_.reset(); }
  reset_guard(const reset_guard&) = delete;
  reset_guard& operator=(const reset_guard&) = delete;

 private:
  statement& s_;
};

/// One sqlite3 connection.
class connection {
 public:
  connection() = default;
  connection(connection&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  connection& operator=(connection&& o) noexcept {
    std::swap(db_, o.db_);
    return *this;
  }
  ~connection() { close(); }

  result<void> open(const std::string& file, int flags) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      error e = to_error(rc, db, "opening '" + file + "'");
      sqlite3_close_v2(db);
      return e;
    }
    db_ = db;
    sqlite3_extended_result_codes(db_, 1);
    return {};
  }

  /// Waits up to `busy_timeout` for other connections' locks, then reads the
  /// header, so a file that is not a database fails here (`storage_corrupt`).
  result<void> check(std::chrono::milliseconds busy_timeout, const std::string& file) {
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    return exec("PRAGMA schema_version", "reading '" + file + "'");
  }

  /// True when SQLite opened the main database read-only (asked, or the file
  /// or its folder cannot be written).
  [[nodiscard]] bool read_only() const noexcept { return sqlite3_db_readonly(db_, "main") == 1; }

  void close() {
    if (db_) sqlite3_close_v2(std::exchange(db_, nullptr));
  }

  [[nodiscard]] sqlite3* get() const noexcept { return db_; }

  /// Runs SQL without results (several statements allowed).
  result<void> exec(std::string_view sql, std::string_view doing) {
    const std::string text{sql};
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return to_error(rc, db_, doing);
    return {};
  }

  /// A prepared statement, or the error that preparing it gave.
  result<statement> prepare(std::string_view sql) {
    statement s{db_, sql};
    if (s.prepare_rc() != SQLITE_OK)
      return to_error(s.prepare_rc(), db_, "preparing '" + std::string(sql.substr(0, 60)) + "'");
    return s;
  }

  [[nodiscard]] error fail(int rc, std::string_view doing) const {
    return to_error(rc, db_, doing);
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace factum::detail::sqlite
