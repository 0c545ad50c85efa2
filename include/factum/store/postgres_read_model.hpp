#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <factum/core/position.hpp>
#include <factum/core/result.hpp>
#include <factum/store/sql_read_model.hpp>

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
/// auto model = std::make_shared<factum::postgres_read_model>("postgresql:///bank");
/// subs.add(balances{}, model);  // writes, queries: see `sql_read_model`
/// ```
class postgres_read_model final : public sql_read_model {
 public:
  /// Connects and creates the checkpoint table when missing (no DDL when it
  /// exists: it opens on a read-only server); errors: `storage_io` (cannot
  /// connect, as for `postgres_store::open`), `invalid_argument`.
  [[nodiscard]] static result<postgres_read_model> open(
      const std::string& uri, const postgres_read_model_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit postgres_read_model(const std::string& uri,
                               const postgres_read_model_options& options = {});

  postgres_read_model(postgres_read_model&&) noexcept;
  postgres_read_model& operator=(postgres_read_model&&) noexcept;
  ~postgres_read_model() override;

  // The calls of `sql_read_model`.
  result<void> write(const std::function<result<void>(sql&)>& fn) override;
  result<void> query_values(std::string_view statement,
                            const std::function<void(const sql_row&)>& row,
                            std::span<const sql_value> values) const override;
  [[nodiscard]] result<std::optional<position>> load_checkpoint(
      std::string_view name) const override;
  result<void> commit(std::string_view name, const position& p,
                      const std::function<result<void>(sql&)>& fn) override;
  result<void> commit(std::string_view name, const std::optional<position>& expected,
                      const position& p, const std::function<result<void>(sql&)>& fn) override;
  result<void> reset(std::string_view name, const std::function<result<void>(sql&)>& fn) override;

 private:
  struct impl;
  explicit postgres_read_model(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace factum
