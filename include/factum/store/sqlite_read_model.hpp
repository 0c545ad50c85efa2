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
#include <factum/store/sql.hpp>

namespace factum {

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
