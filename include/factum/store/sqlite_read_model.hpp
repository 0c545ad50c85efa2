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
#include <factum/store/sql_read_model.hpp>

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
/// auto model = std::make_shared<factum::sqlite_read_model>("bank.db");
/// subs.add(balances{}, model);  // writes, queries: see `sql_read_model`
/// ```
class sqlite_read_model final : public sql_read_model {
 public:
  /// Opens (or creates) the file; errors: `storage_corrupt` (not a
  /// database), `storage_read_only`, `storage_busy`, `storage_io`.
  [[nodiscard]] static result<sqlite_read_model> open(
      const std::filesystem::path& file, const sqlite_read_model_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit sqlite_read_model(const std::filesystem::path& file,
                             const sqlite_read_model_options& options = {});

  sqlite_read_model(sqlite_read_model&&) noexcept;
  sqlite_read_model& operator=(sqlite_read_model&&) noexcept;
  ~sqlite_read_model() override;

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

  [[nodiscard]] const std::filesystem::path& file() const noexcept;

 private:
  struct impl;
  explicit sqlite_read_model(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace factum
