#pragma once

// Just enough RAII over libpq for the PostgreSQL baselines and for setting
// up and dropping the bench's schemas.
#include <atomic>
#include <libpq-fe.h>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace factum_bench::rawpg {

struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_deleter>;

/// `text` as a quoted SQL identifier.
inline std::string quote_ident(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

class conn {
 public:
  explicit conn(const std::string& uri) : c_(PQconnectdb(uri.c_str())) {
    if (!c_ || PQstatus(c_) != CONNECTION_OK) {
      const std::string why = c_ ? PQerrorMessage(c_) : "out of memory";
      PQfinish(c_);
      throw std::runtime_error("raw libpq, connecting: " + why);
    }
    exec("SET client_min_messages = warning");
  }
  ~conn() { PQfinish(c_); }
  conn(const conn&) = delete;
  conn& operator=(const conn&) = delete;

  [[nodiscard]] PGconn* get() const noexcept { return c_; }

  /// Runs statements without parameters; throws unless they succeeded.
  void exec(const std::string& sql) { check(result{PQexec(c_, sql.c_str())}, sql); }

  /// The first column of the first row as text; nullopt when NULL or no row.
  std::optional<std::string> scalar(const std::string& sql) {
    const result r = check(result{PQexec(c_, sql.c_str())}, sql);
    if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0));
  }

  void prepare(const char* name, const std::string& sql, int params) {
    check(result{PQprepare(c_, name, sql.c_str(), params, nullptr)}, "preparing " + sql);
  }

  /// Runs prepared statement `name` with text parameters (nullptr: NULL).
  void run_prepared(const char* name, int n, const char* const* values) {
    check(result{PQexecPrepared(c_, name, n, values, nullptr, nullptr, 0)}, name);
  }

  /// Throws with the server's message unless `r` succeeded; returns it.
  result check(result r, const std::string& doing) {
    const auto s = PQresultStatus(r.get());
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_PIPELINE_SYNC)
      throw std::runtime_error("raw libpq, " + doing + ": " +
                               (r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c_)));
    return r;
  }

 private:
  PGconn* c_ = nullptr;
};

/// A schema no other run sees, dropped with everything in it when this goes
/// out of scope. Created by whoever uses it first (a `postgres_store`, or
/// `create()` for the raw baselines).
class scratch_schema {
 public:
  scratch_schema(std::string uri, std::string_view stem) : uri_(std::move(uri)) {
    static std::atomic<int> n{0};
    std::random_device rd;
    name_ = "factum_bench_" + std::string(stem) + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(++n) + "_" + std::to_string(rd() % 100000);
  }
  ~scratch_schema() {
    try {
      conn c{uri_};
      c.exec("DROP SCHEMA IF EXISTS " + quote_ident(name_) + " CASCADE");
    } catch (const std::exception&) {  // a bench run does not fail for a leftover schema
    }
  }
  scratch_schema(const scratch_schema&) = delete;
  scratch_schema& operator=(const scratch_schema&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::string quoted() const { return quote_ident(name_); }

 private:
  std::string uri_;
  std::string name_;
};

/// What the server's figures depend on, for the params: its version, the
/// durability settings, and the file system of its data folder when that is
/// readable from here (same machine, and a role allowed to see the setting).
inline nlohmann::ordered_json server_params(const std::string& uri) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  conn c{uri};
  for (const char* name : {"server_version", "fsync", "synchronous_commit", "wal_sync_method",
                           "full_page_writes", "shared_buffers"})
    j[name] = c.scalar(std::string("SHOW ") + name).value_or("?");
  try {
    if (const auto dir = c.scalar("SELECT current_setting('data_directory')")) {
      const std::string fs = file_system(*dir);
      if (fs != "unknown") j["fs"] = fs;
    }
  } catch (const std::exception&) {  // not allowed to read it: leave it out
  }
  return j;
}

}  // namespace factum_bench::rawpg
