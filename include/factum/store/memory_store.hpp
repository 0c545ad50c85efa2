#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <factum/store/detail/id_index.hpp>
#include <factum/store/event_store.hpp>

namespace factum {

/// An event store in memory: for tests, examples and caches.
///
/// Thread-safe (readers share a lock, appends take it alone); holds the
/// same guarantees as every backend, tested by the same conformance suite.
/// Nothing survives the process.
/// ```
/// factum::memory_store store;
/// store.append("account-1", factum::expected_version::no_stream(), events);
/// ```
class memory_store final : public event_store {
 public:
  memory_store() = default;
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;
  /// Moves the events out of `other` (under its lock), e.g. into a runtime:
  /// `factum::runtime rt{factum::memory_store{}};`
  memory_store(memory_store&& other) noexcept {
    std::unique_lock lock(other.mutex_);
    log_ = std::move(other.log_);
    streams_ = std::move(other.streams_);
    ids_ = std::move(other.ids_);
    snapshots_ = std::move(other.snapshots_);
    checkpoints_ = std::move(other.checkpoints_);
    commands_ = std::move(other.commands_);
    dead_letters_ = std::move(other.dead_letters_);
    next_dead_letter_ = other.next_dead_letter_;
  }
  memory_store& operator=(memory_store&&) = delete;

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
  /// Takes the lock once for the whole batch.
  std::vector<result<append_result>> do_append_batch(
      std::span<const append_request> requests) override;
  result<std::vector<recorded_event>> do_read_stream(const stream_id& stream,
                                                     std::uint64_t from_version,
                                                     std::size_t limit) override;
  result<std::vector<recorded_event>> do_read_all(position after, std::size_t limit,
                                                  const type_filter& types) override;
  result<std::uint64_t> do_stream_version(const stream_id& stream) override;
  result<void> do_save_snapshot(const snapshot& s) override;
  result<std::optional<snapshot>> do_load_snapshot(const stream_id& stream,
                                                   std::uint32_t schema_version,
                                                   std::uint64_t max_version) override;

 private:
  std::uint64_t version_of(const stream_id& stream) const;
  result<append_result> append_locked(std::span<const stream_write> writes,
                                      const append_options& options);
  /// The global position of event `id`; 0 when it is not stored.
  std::uint64_t position_of(const event_id& id, std::uint64_t hash) const;

  std::shared_mutex mutex_;
  std::deque<recorded_event> log_;  // global position p is log_[p - 1]; never relocated
  std::unordered_map<stream_id, std::vector<std::uint64_t>> streams_;  // version v: [v - 1]
  detail::id_index ids_;                                               // -> global position
  std::map<std::pair<stream_id, std::uint64_t>, snapshot> snapshots_;
  std::map<std::string, position, std::less<>> checkpoints_;
  std::unordered_map<command_id, command_record> commands_;
  std::map<std::uint64_t, dead_letter> dead_letters_;
  std::uint64_t next_dead_letter_ = 1;
};

}  // namespace factum

#include <factum/store/detail/memory_store-inl.hpp>
