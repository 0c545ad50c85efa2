#pragma once

// Thin RAII wrappers over libpq, private to the PostgreSQL backend.
#include <chrono>
#include <cstdint>
#include <cstring>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <factum/core/error.hpp>
#include <factum/core/result.hpp>

namespace factum::detail::pg {

/// A query's result; frees itself.
class reply {
 public:
  reply() = default;
  explicit reply(PGresult* r) noexcept : r_(r) {}
  reply(reply&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  reply& operator=(reply&& o) noexcept {
    if (this != &o) {
      if (r_) PQclear(r_);
      r_ = std::exchange(o.r_, nullptr);
    }
    return *this;
  }
  reply(const reply&) = delete;
  reply& operator=(const reply&) = delete;
  ~reply() {
    if (r_) PQclear(r_);
  }

  [[nodiscard]] PGresult* get() const noexcept { return r_; }
  [[nodiscard]] int rows() const noexcept { return r_ ? PQntuples(r_) : 0; }
  [[nodiscard]] bool is_null(int row, int col) const noexcept {
    return PQgetisnull(r_, row, col) != 0;
  }
  [[nodiscard]] std::string_view text(int row, int col) const noexcept {
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
  }
  [[nodiscard]] std::int64_t int64(int row, int col) const noexcept {
    const char* p = PQgetvalue(r_, row, col);
    std::int64_t v = 0;
    bool neg = *p == '-';
    if (neg) ++p;
    for (; *p >= '0' && *p <= '9'; ++p)
      v = v * 10 + (*p - '0');
    return neg ? -v : v;
  }
  /// An int8 column of a binary-format result.
  [[nodiscard]] std::int64_t binary_int64(int row, int col) const noexcept {
    std::uint64_t v = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | p[i];
    return static_cast<std::int64_t>(v);
  }
  [[nodiscard]] std::int32_t binary_int32(int row, int col) const noexcept {
    std::uint32_t v = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | p[i];
    return static_cast<std::int32_t>(v);
  }

 private:
  PGresult* r_ = nullptr;
};

/// True for SQLSTATEs that mean the connection or the server went away
/// (class 08, an administrator's shutdown, a server starting up or in recovery).
inline bool connection_lost(std::string_view state) noexcept {
  return (state.starts_with("08") && state != "08P01") || state == "57P01" || state == "57P02" ||
         state == "57P03" || state.empty();
}

/// The factum error for a failed query: the code from the SQLSTATE, the
/// message from the server.
inline error to_error(std::string_view state, std::string_view message, std::string_view doing) {
  errc code = errc::storage_io;
  if (state == "53100")
    code = errc::storage_full;
  else if (state == "25006" || state == "42501")
    code = errc::storage_read_only;
  else if (state == "57014" || state == "55P03" || state == "40001" || state == "40P01" ||
           state == "53300")
    code = errc::storage_busy;  // statement timeout, lock timeout, serialization, too many clients
  else if (state == "XX001" || state == "XX002")
    code = errc::storage_corrupt;
  else if (state == "42P01" || state == "42883" || state == "3F000")
    code = errc::schema_mismatch;  // a table, function or schema is missing
  std::string msg{doing};
  msg += ": ";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
    message.remove_suffix(1);
  msg += message.empty() ? std::string_view{"the connection to the server was lost"} : message;
  if (!state.empty()) {
    msg += " (SQLSTATE ";
    msg += state;
    msg += ')';
  }
  return error{code, std::move(msg)};
}

/// One connection.
class connection {
 public:
  connection() = default;
  connection(connection&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  connection& operator=(connection&& o) noexcept {
    if (this != &o) {
      close();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { close(); }

  void close() noexcept {
    if (c_) PQfinish(c_);
    c_ = nullptr;
  }

  /// Connects; `storage_io` with libpq's message when it cannot.
  result<void> open(const std::string& uri, std::chrono::milliseconds statement_timeout) {
    close();
    c_ = PQconnectdb(uri.c_str());
    if (!c_) return error{errc::storage_io, "connecting to PostgreSQL: out of memory"};
    if (PQstatus(c_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(c_);
      while (!why.empty() && why.back() == '\n')
        why.pop_back();
      close();
      return error{errc::storage_io, "connecting to PostgreSQL: " + why};
    }
    std::string setup = "SET client_min_messages = warning; SET statement_timeout = " +
                        std::to_string(statement_timeout.count()) + ";";
    reply r{PQexec(c_, setup.c_str())};
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fail(r, "configuring the connection");
    return {};
  }

  [[nodiscard]] bool ok() const noexcept { return c_ && PQstatus(c_) == CONNECTION_OK; }
  [[nodiscard]] PGconn* get() const noexcept { return c_; }

  /// Runs `sql` with text parameters (nullopt: NULL); `binary_result` asks
  /// for binary columns.
  result<reply> query(const char* sql, std::span<const std::optional<std::string_view>> params,
                      std::string_view doing, bool binary_result = false,
                      std::span<const int> binary_params = {}) {
    if (!c_) return error{errc::storage_io, std::string(doing) + ": not connected"};
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (params[i]) {
        values[i] = params[i]->data() ? params[i]->data() : "";  // empty, not NULL
        lengths[i] = static_cast<int>(params[i]->size());
      }
    }
    for (int i : binary_params)
      formats[static_cast<std::size_t>(i)] = 1;
    reply r{PQexecParams(c_, sql, static_cast<int>(params.size()), nullptr, values.data(),
                         lengths.data(), formats.data(), binary_result ? 1 : 0)};
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return r;
    return fail(r, doing);
  }
  result<reply> query(const char* sql,
                      std::initializer_list<std::optional<std::string_view>> params,
                      std::string_view doing, bool binary_result = false) {
    return query(sql,
                 std::span<const std::optional<std::string_view>>(params.begin(), params.size()),
                 doing, binary_result);
  }

  /// Runs a text of statements without parameters.
  result<void> exec(const std::string& sql, std::string_view doing) {
    if (!c_) return error{errc::storage_io, std::string(doing) + ": not connected"};
    reply r{PQexec(c_, sql.c_str())};
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) return {};
    return fail(r, doing);
  }

  /// The error of a failed reply; remembers when it was the connection.
  error fail(const reply& r, std::string_view doing) {
    const char* state = r.get() ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string message = r.get() ? PQresultErrorMessage(r.get()) : "";
    if (message.empty() && c_) message = PQerrorMessage(c_);
    const std::string_view sqlstate = state ? std::string_view{state} : std::string_view{};
    error e = to_error(sqlstate, message, doing);
    if (!ok() || connection_lost(sqlstate)) lost_ = true;
    return e;
  }

  /// A failure since `open` was the connection's (or the server's), not the query's.
  [[nodiscard]] bool lost() const noexcept { return lost_ || !ok(); }

 private:
  PGconn* c_ = nullptr;
  bool lost_ = false;
};

/// Doubles a wait from `first` up to `max`.
struct backoff {
  std::chrono::milliseconds next{50};
  std::chrono::milliseconds max{1000};
  void sleep() {
    std::this_thread::sleep_for(next);
    next = std::min(next * 2, max);
  }
};

/// `text` as a quoted SQL identifier.
inline std::string quote_ident(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace factum::detail::pg
