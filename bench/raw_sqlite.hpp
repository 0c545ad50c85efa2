#pragma once

// Just enough RAII over the sqlite3 C API for the raw baselines.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

#include <sqlite3.h>

namespace factum_bench::raw {

[[noreturn]] inline void fail(sqlite3* db, int rc, const std::string& doing) {
  throw std::runtime_error("raw sqlite3, " + doing + ": " +
                           (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

class db {
 public:
  db(const std::filesystem::path& file, int flags) {
    const int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      throw std::runtime_error("raw sqlite3, opening " + file.string() + ": " + msg);
    }
  }
  ~db() { sqlite3_close_v2(db_); }
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  [[nodiscard]] sqlite3* get() const noexcept { return db_; }

  void exec(const std::string& sql) {
    if (const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); rc != SQLITE_OK)
      fail(db_, rc, sql);
  }

  /// The first column of the first row, as an integer.
  std::int64_t scalar(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

class stmt {
 public:
  stmt(db& d, const std::string& sql) : db_(d.get()) {
    if (const int rc =
            sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
        rc != SQLITE_OK)
      fail(db_, rc, "preparing " + sql);
  }
  ~stmt() { sqlite3_finalize(s_); }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;

  [[nodiscard]] sqlite3_stmt* get() const noexcept { return s_; }
  /// SQLITE_ROW or SQLITE_DONE; throws on anything else.
  int step() {
    const int rc = sqlite3_step(s_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(db_, rc, "stepping");
    return rc;
  }
  void reset() { sqlite3_reset(s_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

inline std::int64_t db::scalar(const std::string& sql) {
  stmt s{*this, sql};
  return s.step() == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

}  // namespace factum_bench::raw
