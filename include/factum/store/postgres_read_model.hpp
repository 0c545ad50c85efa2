#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <factum/core/position.hpp>
#include <factum/core/result.hpp>
#include <factum/store/sql.hpp>

namespace factum {

/// How a `postgres_read_model` connects.
struct postgres_read_model_options {
  /// The table that holds the checkpoints (created when missing), in the
  /// connection's current schema unless qualified.
  std::string checkpoint_table = "read_model_checkpoints";
  /// Connections kept for queries.
  std::size_t pool_size = 4;
  /// A statement running longer fails with `errc::storage_busy` (0: none).
  std::chrono::milliseconds statement_timeout{30'000};
  /// How long a call keeps reconnecting (with backoff) after the server or
  /// the connection went away before it fails with `errc::storage_io`.
  std::chrono::milliseconds reconnect_for{15'000};
};

/// A read model in PostgreSQL: a projection's rows and its checkpoint commit
/// in one transaction, so after a crash, or a fail-over to another node,
/// the projection resumes exactly where its rows stop and applies each
/// event once.
///
/// The same `factum::sql` writer as `sqlite_read_model`: statements take
/// `?1..?N` (sent as `$1..$N`), values bind as text and PostgreSQL infers
/// their types from the statement. `commit` with an expected checkpoint
/// locks the checkpoint row first, so two nodes committing the same
/// projection's batch apply it once: the second gets
/// `errc::concurrency_conflict` and moves on from the winner's checkpoint.
/// ```
/// auto model = factum::postgres_read_model::open("postgresql:///bank").value();
/// model.write([](factum::sql& db) {
///   return db.exec("CREATE TABLE IF NOT EXISTS balances(id text PRIMARY KEY, amount bigint)");
/// });
/// model.query("SELECT amount FROM balances WHERE id = ?1",
///             [&](const factum::sql_row& r) { amount = r.int64(0); }, "acc-1");
/// ```
/// Every call is thread-safe. Commits run one at a time per model object;
/// queries run on their own connections and see committed rows only.
class postgres_read_model {
 public:
  using writer = sql;

  /// Connects and creates the checkpoint table when missing; errors:
  /// `storage_io` (cannot connect), `invalid_argument`.
  [[nodiscard]] static result<postgres_read_model> open(
      const std::string& uri, const postgres_read_model_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit postgres_read_model(const std::string& uri,
                               const postgres_read_model_options& options = {});

  postgres_read_model(postgres_read_model&&) noexcept;
  postgres_read_model& operator=(postgres_read_model&&) noexcept;
  ~postgres_read_model();

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
  [[nodiscard]] result<std::optional<position>> load_checkpoint(std::string_view name) const;

  /// Atomically: `fn(sql&)`, then the checkpoint of `name` set to `p`. When
  /// `fn` fails or throws, nothing of it, nor the checkpoint, is stored.
  result<void> commit(std::string_view name, const position& p,
                      const std::function<result<void>(sql&)>& fn);
  /// Like `commit`, only when the stored checkpoint of `name` is `expected`
  /// (nullopt: none stored); otherwise `errc::concurrency_conflict`, and
  /// `fn` does not run.
  result<void> commit(std::string_view name, const std::optional<position>& expected,
                      const position& p, const std::function<result<void>(sql&)>& fn);
  /// Atomically: `fn(sql&)` and the checkpoint of `name` deleted.
  result<void> reset(std::string_view name, const std::function<result<void>(sql&)>& fn);

 private:
  struct impl;
  explicit postgres_read_model(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace factum
