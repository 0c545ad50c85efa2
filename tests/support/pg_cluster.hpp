#pragma once

// A throwaway PostgreSQL cluster for tests: initdb into a temporary folder
// (owned by the `postgres` user when the tests run as root, as initdb
// refuses root), a server on a Unix socket in that folder and no TCP port,
// removed with the folder afterwards. Nothing is mocked: it is the real
// server from Debian's postgresql-15.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <pwd.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "temp_dir.hpp"

#ifndef FACTUM_PG_BINDIR
#define FACTUM_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

namespace factum_test {

class pg_cluster {
 public:
  /// `durable`: fsync on (benchmarks); tests run with fsync off.
  explicit pg_cluster(bool durable = false) : durable_(durable) {
    std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw)
        throw std::runtime_error("pg_cluster: running as root, but there is no postgres user");
      if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("pg_cluster: cannot give the folder to postgres");
      as_ = "runuser -u postgres -- ";
    }
    run(std::string(FACTUM_PG_BINDIR) + "/initdb -D " + data() +
        " -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync > " + log("initdb") + " 2>&1");
    start();
  }
  ~pg_cluster() { stop(true); }
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// The cluster every test of this process shares (one per process).
  static pg_cluster& shared() {
    static pg_cluster cluster;
    return cluster;
  }

  /// A libpq URI of database `db` on this cluster.
  [[nodiscard]] std::string uri(const std::string& db = "postgres") const {
    return "postgresql:///" + db + "?host=" + dir_.path().string() + "&user=postgres";
  }

  /// A new schema name, unique in this process, for a test's store.
  static std::string fresh_schema(const std::string& stem = "t") {
    static std::atomic<int> n{0};
    return stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
  }

  /// A new, empty database on the shared cluster: its name, and its URI.
  static std::string fresh_database() {
    const std::string name = fresh_schema("db");
    shared().psql("CREATE DATABASE " + name);
    return name;
  }
  static std::string fresh_database_uri() { return shared().uri(fresh_database()); }

  void start() {
    std::string opts =
        "-k " + dir_.path().string() + " -c listen_addresses='' -c max_connections=200";
    if (!durable_) opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    run(std::string(FACTUM_PG_BINDIR) + "/pg_ctl -D " + data() + " -o \"" + opts + "\" -w -l " +
        log("server") + " start > /dev/null");
    running_ = true;
  }
  /// Stops the server; `immediate` is a crash (no shutdown checkpoint).
  void stop(bool immediate = false) {
    if (!running_) return;
    running_ = false;
    (void)std::system((as_ + FACTUM_PG_BINDIR + "/pg_ctl -D " + data() + " -m " +
                       (immediate ? "immediate" : "fast") + " -w stop > /dev/null 2>&1")
                          .c_str());
  }
  void restart() {
    stop(true);
    start();
  }

  /// Runs SQL with psql; throws when it fails.
  void psql(const std::string& sql, const std::string& db = "postgres") const {
    const auto file = dir_ / ("sql-" + std::to_string(++scripts_) + ".sql");
    std::ofstream(file) << sql;
    ::chmod(file.c_str(), 0644);
    run(std::string(FACTUM_PG_BINDIR) + "/psql -X -q -v ON_ERROR_STOP=1 -h " +
        dir_.path().string() + " -U postgres -d " + db + " -f " + file.string() + " > " +
        log("psql") + " 2>&1");
  }

 private:
  [[nodiscard]] std::string data() const { return (dir_ / "data").string(); }
  [[nodiscard]] std::string log(const std::string& name) const {
    return (dir_ / (name + ".log")).string();
  }
  void run(const std::string& command) const {
    if (std::system((as_ + command).c_str()) != 0) {
      std::ifstream in(log("server"));
      std::string text((std::istreambuf_iterator<char>(in)), {});
      throw std::runtime_error("pg_cluster: failed: " + command + "\n" + text);
    }
  }

  temp_dir dir_;
  bool durable_;
  bool running_ = false;
  std::string as_;
  mutable int scripts_ = 0;
};

}  // namespace factum_test
