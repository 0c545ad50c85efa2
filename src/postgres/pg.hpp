#pragma once

// Thin RAII wrappers over libpq, private to the PostgreSQL backend.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <poll.h>
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

/// Doubles a wait from `first` up to `max`.
struct backoff {
  std::chrono::milliseconds next{50};
  std::chrono::milliseconds max{1000};
  void sleep() {
    std::this_thread::sleep_for(next);
    next = std::min(next * 2, max);
  }
};

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

  /// Connects, trying again with backoff until `deadline` while the failure
  /// may heal (`heals`): the server did not answer, is starting or stopping,
  /// or has no free connection. A refusal that waiting cannot change (no such
  /// database, authentication failed) fails at once with `storage_io`, and a
  /// connection string libpq cannot read with `invalid_argument`. The default
  /// deadline tries once.
  result<void> open(const std::string& uri, std::chrono::milliseconds statement_timeout,
                    std::chrono::steady_clock::time_point deadline = {}) {
    for (backoff wait;;) {
      bool lasting = false;
      auto r = open_once(uri, statement_timeout, lasting);
      if (r || lasting || std::chrono::steady_clock::now() >= deadline) return r;
      wait.sleep();
    }
  }

  [[nodiscard]] bool ok() const noexcept { return c_ && PQstatus(c_) == CONNECTION_OK; }
  /// Connected and in no transaction (none open, none failed, no query
  /// running): what a connection must be to go back to a pool.
  [[nodiscard]] bool idle() const noexcept {
    return ok() && PQtransactionStatus(c_) == PQTRANS_IDLE;
  }
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
  result<void> open_once(const std::string& uri, std::chrono::milliseconds statement_timeout,
                         bool& lasting) {
    close();
    lost_ = false;
    c_ = PQconnectdb(uri.c_str());
    if (!c_) return error{errc::storage_io, "connecting to PostgreSQL: out of memory"};
    if (PQstatus(c_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(c_);
      const bool needs_password = PQconnectionNeedsPassword(c_) != 0;
      close();
      while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
        why.pop_back();
      char* unreadable = nullptr;
      if (PQconninfoOption* o = PQconninfoParse(uri.c_str(), &unreadable)) {
        PQconninfoFree(o);
      } else {
        lasting = true;  // a connection string libpq cannot read
        std::string text = unreadable ? unreadable : "out of memory";
        if (unreadable) PQfreemem(unreadable);
        while (!text.empty() && text.back() == '\n')
          text.pop_back();
        return error{errc::invalid_argument, "connecting to PostgreSQL: " + text};
      }
      const std::string state = needs_password ? std::string("28P01") : refusal_state(uri);
      lasting = !heals(state);
      if (lasting) why += " (SQLSTATE " + state + ")";
      return error{errc::storage_io, "connecting to PostgreSQL: " + why};
    }
    std::string setup = "SET client_min_messages = warning; SET statement_timeout = " +
                        std::to_string(statement_timeout.count()) + ";";
    reply r{PQexec(c_, setup.c_str())};
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fail(r, "configuring the connection");
    return {};
  }

  /// Whether a connection refused with SQLSTATE `state` may be accepted
  /// later: no answer from a server (empty), a connection failure (class 08),
  /// a server short of resources (class 53: too many connections, memory),
  /// starting, stopping or restarting (57P01 to 57P03).
  static bool heals(std::string_view state) noexcept {
    return state.empty() || state.starts_with("08") || state.starts_with("53") ||
           state == "57P01" || state == "57P02" || state == "57P03";
  }

  /// The SQLSTATE of the server's refusal of `uri`, or "" when no server
  /// answered. libpq keeps the code of a refused connection to itself; its
  /// verbose message carries it ("FATAL:  3D000: database ..."), so this
  /// tries once more with that verbosity, giving the server 5 s to answer.
  static std::string refusal_state(const std::string& uri) {
    PGconn* c = PQconnectStart(uri.c_str());
    if (!c) return {};
    PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    PostgresPollingStatusType polled = PGRES_POLLING_WRITING;
    while (PQstatus(c) != CONNECTION_BAD && polled != PGRES_POLLING_OK &&
           polled != PGRES_POLLING_FAILED) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd fd{PQsocket(c), static_cast<short>(polled == PGRES_POLLING_READING ? POLLIN : POLLOUT),
                0};
      if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
      polled = PQconnectPoll(c);
    }
    const std::string_view text = PQstatus(c) == CONNECTION_BAD ? PQerrorMessage(c) : "";
    std::string state;
    // "<severity>:  <SQLSTATE>: <message>"
    for (auto at = text.find(":  "); at != std::string_view::npos && state.empty();
         at = text.find(":  ", at + 1)) {
      const auto code = text.substr(at + 3, 6);
      if (code.size() == 6 && code[5] == ':' &&
          std::all_of(code.begin(), code.end() - 1,
                      [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z'); }))
        state = code.substr(0, 5);
    }
    PQfinish(c);
    return state;
  }

  PGconn* c_ = nullptr;
  bool lost_ = false;
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
