#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include <factum/store/event_store.hpp>

namespace factum {

/// SQLite's `PRAGMA synchronous` levels, as durability choices.
enum class sqlite_sync {
  off,     ///< no fsync: fastest, a power loss may corrupt the file
  normal,  ///< WAL fsync at checkpoints: survives a crash of the process, not a power loss
  full,    ///< fsync at every commit: an acknowledged append survives power loss (default)
  extra,   ///< full, plus the directory fsync after the WAL is reset
};

/// How a `sqlite_store` opens its file.
struct sqlite_options {
  sqlite_sync synchronous = sqlite_sync::full;
  /// How long a writer waits for another connection's (or process') write
  /// lock before an append fails with `errc::storage_busy`.
  std::chrono::milliseconds busy_timeout{5000};
  /// Create the file (and factum's schema) when it does not exist.
  bool create = true;
  /// Open read-only: appends fail with `errc::storage_read_only`.
  bool read_only = false;
  /// The page size of a new file (no effect on an existing one). 16 KiB
  /// makes spread-out appends touch fewer B-tree pages.
  std::uint32_t page_size = 16384;
  /// Caps the file at this many pages (0: no cap); an append that would grow
  /// it further fails with `errc::storage_full` and writes nothing.
  std::uint64_t max_page_count = 0;
};

/// The embedded event store: one SQLite file in WAL mode.
///
/// Several processes may append to one file at once: every append runs in
/// `BEGIN IMMEDIATE` (waiting up to `busy_timeout` for the write lock), checks
/// expected versions and assigns global positions inside that transaction,
/// so versions stay dense and positions gapless. Reads run on their own
/// connections and never wait for writers.
/// ```
/// auto store = factum::sqlite_store::open("bank.db");   // result<sqlite_store>
/// if (!store) { std::cerr << store.error().message(); return 1; }
/// store->append("account-1", factum::expected_version::no_stream(), events);
/// ```
class sqlite_store final : public event_store {
 public:
  /// Opens (or creates) the file; errors: `storage_corrupt` (not a
  /// database), `storage_read_only`, `schema_mismatch`, `storage_io`.
  [[nodiscard]] static result<sqlite_store> open(const std::filesystem::path& file,
                                                 const sqlite_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit sqlite_store(const std::filesystem::path& file, const sqlite_options& options = {});

  sqlite_store(sqlite_store&&) noexcept;
  sqlite_store& operator=(sqlite_store&&) noexcept;
  ~sqlite_store() override;

  [[nodiscard]] const std::filesystem::path& file() const noexcept;

  /// True: `append_batch` writes the whole batch in one transaction, with
  /// one fsync.
  [[nodiscard]] bool prefers_batches() const noexcept override;

  [[nodiscard]] result<position> head() override;
  [[nodiscard]] result<std::vector<std::pair<std::string, position>>> checkpoints() override;
  [[nodiscard]] result<std::optional<command_record>> load_command(command_id id) override;
  result<void> remove_dead_letter(std::uint64_t id) override;

 protected:
  result<std::vector<stream_info>> do_streams(std::string_view prefix, std::size_t limit) override;
  result<void> do_save_checkpoint(std::string_view subscriber, const position& p) override;
  result<std::optional<position>> do_load_checkpoint(std::string_view subscriber) override;
  result<std::uint64_t> do_add_dead_letter(const dead_letter& letter) override;
  result<std::vector<dead_letter>> do_dead_letters(std::string_view subscriber) override;
  result<append_result> do_append(std::span<const stream_write> writes,
                                  const append_options& options) override;
  /// One `BEGIN IMMEDIATE` for the batch. A request that fails after it began
  /// writing (an event id found mid-insert, a storage error) rolls the batch
  /// back, and then each request is appended on its own.
  std::vector<result<append_result>> do_append_batch(
      std::span<const append_request> requests) override;
  result<std::vector<recorded_event>> do_read_stream(const stream_id& stream,
                                                     std::uint64_t from_version,
                                                     std::size_t limit) override;
  result<std::uint64_t> do_scan_stream(
      const stream_id& stream, std::uint64_t from_version,
      const std::function<void(const recorded_event&)>& fn) override;
  result<std::vector<recorded_event>> do_read_all(position after, std::size_t limit,
                                                  const type_filter& types) override;
  result<std::uint64_t> do_stream_version(const stream_id& stream) override;
  result<void> do_save_snapshot(const snapshot& s) override;
  result<std::optional<snapshot>> do_load_snapshot(const stream_id& stream,
                                                   std::uint32_t schema_version,
                                                   std::uint64_t max_version) override;

 private:
  struct impl;
  explicit sqlite_store(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace factum
