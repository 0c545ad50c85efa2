#pragma once

#include <algorithm>
#include <mutex>

namespace factum {
namespace detail {

/// Takes `m` exclusively, trying for a moment before sleeping: appends hold
/// it for well under a microsecond, and sleeping on a contended lock (a futex
/// wait and wake) costs several.
inline std::unique_lock<std::shared_mutex> lock_spinning(std::shared_mutex& m) {
  for (int i = 0; i < 200; ++i) {
    if (m.try_lock()) return std::unique_lock<std::shared_mutex>(m, std::adopt_lock);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return std::unique_lock<std::shared_mutex>(m);
}

}  // namespace detail

inline std::uint64_t memory_store::version_of(const stream_id& stream) const {
  const auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second.size();
}

inline result<append_result> memory_store::do_append(std::span<const stream_write> writes,
                                                     const append_options& options) {
  auto lock = detail::lock_spinning(mutex_);
  return append_locked(writes, options);
}

inline std::vector<result<append_result>> memory_store::do_append_batch(
    std::span<const append_request> requests) {
  std::vector<result<append_result>> out;
  out.reserve(requests.size());
  auto lock = detail::lock_spinning(mutex_);
  for (const auto& r : requests)
    out.push_back(append_locked(r.writes, r.options));
  return out;
}

inline std::uint64_t memory_store::position_of(const event_id& id, std::uint64_t hash) const {
  return ids_.find(hash, [&](std::uint64_t p) { return log_[p - 1].id == id; });
}

/// One append, under the unique lock.
inline result<append_result> memory_store::append_locked(std::span<const stream_write> writes,
                                                         const append_options& options) {
  if (options.command) {
    if (const auto it = commands_.find(*options.command); it != commands_.end())
      return detail::match_command(it->second, *options.command, writes, options.command_digest);
  }
  // check_writes refused an id named twice in one append, so each id is
  // either stored already (a replay) or new.
  for (const auto& w : writes)
    for (const auto& e : w.events)
      if (position_of(e.id, detail::id_index::hash(e.id)) != 0)
        return detail::replay(writes,
                              [&](const event_id& id) -> result<std::optional<recorded_event>> {
                                const auto p = position_of(id, detail::id_index::hash(id));
                                if (p == 0) return std::optional<recorded_event>{};
                                return std::optional<recorded_event>{log_[p - 1]};
                              });

  for (const auto& w : writes)
    if (const auto actual = version_of(w.stream); !w.expected.matches(actual))
      return detail::conflict_error(w.stream, w.expected, actual);

  // What allocates happens before the first change or is undone, and what
  // changes the store after that cannot throw: an exception (out of memory)
  // leaves the store as it was.
  append_result out;
  out.first_position = log_.size() + 1;
  const timestamp now = std::chrono::system_clock::now();
  std::vector<recorded_event> fresh;
  fresh.reserve(static_cast<std::size_t>(detail::count_events(writes)));
  for (const auto& w : writes) {
    const std::uint64_t v = version_of(w.stream);
    out.streams.push_back({w.stream, v + 1, v + w.events.size()});
    for (std::size_t i = 0; i < w.events.size(); ++i) {
      const auto& e = w.events[i];
      const std::uint64_t global = out.first_position + fresh.size();
      fresh.push_back(recorded_event{w.stream, v + 1 + i, global, position::at(global), e.id,
                                     e.type, e.schema_version, e.data, e.metadata, now});
    }
  }
  out.last_position = out.first_position + fresh.size() - 1;
  ids_.reserve(fresh.size());
  std::vector<std::vector<std::uint64_t>*> lists(writes.size(), nullptr);
  std::vector<const stream_id*> created;
  created.reserve(writes.size());
  const std::size_t logged = log_.size();
  try {
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (writes[i].events.empty()) continue;  // a condition: no entry in streams_
      auto [it, inserted] = streams_.try_emplace(writes[i].stream);
      if (inserted) created.push_back(&writes[i].stream);
      it->second.reserve(it->second.size() + writes[i].events.size());
      lists[i] = &it->second;
    }
    if (options.command)
      commands_.emplace(*options.command, command_record{out, options.command_digest});
    for (auto& e : fresh)
      log_.push_back(std::move(e));
  } catch (...) {
    while (log_.size() > logged)
      log_.pop_back();
    if (options.command) commands_.erase(*options.command);  // it was not recorded before
    for (const stream_id* s : created)
      streams_.erase(*s);
    throw;
  }
  std::uint64_t global = out.first_position;  // room is reserved: nothing here allocates
  for (std::size_t i = 0; i < writes.size(); ++i)
    for (const auto& e : writes[i].events) {
      lists[i]->push_back(global);
      ids_.insert(detail::id_index::hash(e.id), global++);
    }
  return out;
}

inline result<std::vector<recorded_event>> memory_store::do_read_stream(const stream_id& stream,
                                                                        std::uint64_t from_version,
                                                                        std::size_t limit) {
  std::shared_lock lock(mutex_);
  std::vector<recorded_event> out;
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return out;
  const auto& versions = it->second;
  if (from_version <= versions.size())
    out.reserve(std::min<std::uint64_t>(limit, versions.size() - from_version + 1));
  for (std::uint64_t v = from_version; v <= versions.size() && out.size() < limit; ++v)
    out.push_back(log_[versions[v - 1] - 1]);
  return out;
}

inline result<std::vector<recorded_event>> memory_store::do_read_all(position after,
                                                                     std::size_t limit,
                                                                     const type_filter& types) {
  std::shared_lock lock(mutex_);
  std::vector<recorded_event> out;
  for (std::uint64_t p = after.global() + 1; p <= log_.size() && out.size() < limit; ++p) {
    const recorded_event& e = log_[p - 1];
    if (types.empty() || std::find(types.begin(), types.end(), e.type) != types.end())
      out.push_back(e);
  }
  return out;
}

inline result<std::uint64_t> memory_store::do_stream_version(const stream_id& stream) {
  std::shared_lock lock(mutex_);
  return version_of(stream);
}

inline result<std::vector<stream_info>> memory_store::do_streams(std::string_view prefix,
                                                                 std::size_t limit) {
  std::shared_lock lock(mutex_);
  std::vector<const std::pair<const stream_id, std::vector<std::uint64_t>>*> found;
  for (const auto& entry : streams_)
    if (!entry.second.empty() && entry.first.view().starts_with(prefix)) found.push_back(&entry);
  const auto by_name = [](const auto* a, const auto* b) {
    return a->first.view() < b->first.view();
  };
  const std::size_t n = std::min(limit, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), found.end(),
                    by_name);
  std::vector<stream_info> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& [stream, positions] = *found[i];
    const recorded_event& last = log_[positions.back() - 1];
    out.push_back({stream, positions.size(), last.global_position, last.recorded_at});
  }
  return out;
}

inline result<position> memory_store::head() {
  std::shared_lock lock(mutex_);
  return position::at(log_.size());
}

inline result<void> memory_store::do_save_snapshot(const snapshot& s) {
  std::unique_lock lock(mutex_);
  snapshots_.insert_or_assign({s.stream, s.version}, s);
  return {};
}

inline result<std::optional<snapshot>> memory_store::do_load_snapshot(const stream_id& stream,
                                                                      std::uint32_t schema_version,
                                                                      std::uint64_t max_version) {
  std::shared_lock lock(mutex_);
  // Newest first: walk back from the first key above (stream, max_version).
  auto it = snapshots_.upper_bound({stream, max_version});
  while (it != snapshots_.begin()) {
    --it;
    if (it->first.first != stream) break;
    if (it->second.schema_version == schema_version) return std::optional<snapshot>{it->second};
  }
  return std::optional<snapshot>{};
}

inline result<void> memory_store::do_save_checkpoint(std::string_view subscriber,
                                                     const position& p) {
  std::unique_lock lock(mutex_);
  checkpoints_.insert_or_assign(std::string(subscriber), p);
  return {};
}

inline result<std::optional<position>> memory_store::do_load_checkpoint(
    std::string_view subscriber) {
  std::shared_lock lock(mutex_);
  const auto it = checkpoints_.find(subscriber);
  if (it == checkpoints_.end()) return std::optional<position>{};
  return std::optional<position>{it->second};
}

inline result<std::vector<std::pair<std::string, position>>> memory_store::checkpoints() {
  std::shared_lock lock(mutex_);
  return std::vector<std::pair<std::string, position>>(checkpoints_.begin(), checkpoints_.end());
}

inline result<std::optional<command_record>> memory_store::load_command(command_id id) {
  std::shared_lock lock(mutex_);
  const auto it = commands_.find(id);
  if (it == commands_.end()) return std::optional<command_record>{};
  return std::optional<command_record>{it->second};
}

inline result<std::uint64_t> memory_store::do_add_dead_letter(const dead_letter& letter) {
  std::unique_lock lock(mutex_);
  const std::uint64_t p = letter.event.global_position;
  if (p == 0 || p > log_.size() || log_[p - 1].id != letter.event.id)
    return error{errc::not_found, "the dead letter's event is not stored (global position " +
                                      std::to_string(p) + ")"};
  dead_letter stored = letter;
  stored.id = next_dead_letter_++;
  stored.event = log_[p - 1];
  dead_letters_.emplace(stored.id, std::move(stored));
  return dead_letters_.rbegin()->first;
}

inline result<std::vector<dead_letter>> memory_store::do_dead_letters(std::string_view subscriber) {
  std::shared_lock lock(mutex_);
  std::vector<dead_letter> out;
  for (const auto& [id, letter] : dead_letters_)
    if (subscriber.empty() || letter.subscriber == subscriber) out.push_back(letter);
  return out;
}

inline result<void> memory_store::remove_dead_letter(std::uint64_t id) {
  std::unique_lock lock(mutex_);
  if (dead_letters_.erase(id) == 0)
    return error{errc::not_found, "no dead letter " + std::to_string(id)};
  return {};
}

}  // namespace factum
