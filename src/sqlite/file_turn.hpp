#pragma once

// One writer at a time per database file within a process, in the order
// they asked: the event store's group committer and the read models that
// write into the same file take turns here before BEGIN IMMEDIATE, so none
// of them waits in SQLite's busy handler behind the others.
//
// Why: SQLite's busy handler sleeps and retries; a writer that commits back
// to back (the group committer under load) wins the file lock almost every
// time it is released, and a projection committing into the store's own
// file fell behind without end (issue 16: lag p99 13.7 s after 20 s at 25%
// load). Writers of other processes still meet in the busy handler.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

namespace factum::detail::sqlite {

/// A lock served first come, first served (a ticket lock).
class fair_turn {
 public:
  void lock() {
    std::unique_lock guard(mutex_);
    const std::uint64_t ticket = next_++;
    served_.wait(guard, [&] { return serving_ == ticket; });
    owner_ = std::this_thread::get_id();
  }
  void unlock() {
    {
      std::lock_guard guard(mutex_);
      owner_ = {};
      ++serving_;
    }
    served_.notify_all();
  }
  /// Whether the calling thread holds it (a store write from inside a read
  /// model transaction on the same file would wait for itself).
  [[nodiscard]] bool held_here() {
    std::lock_guard guard(mutex_);
    return owner_ == std::this_thread::get_id();
  }

 private:
  std::mutex mutex_;
  std::condition_variable served_;
  std::uint64_t next_ = 0;
  std::uint64_t serving_ = 0;
  std::thread::id owner_;
};

/// The turn of `file` in this process, shared by everything that writes it
/// (the same file under other names too: the key is its canonical path).
/// Defined in sqlite_store.cpp, so that one table serves the whole library.
std::shared_ptr<fair_turn> turn_of(const std::filesystem::path& file);

}  // namespace factum::detail::sqlite
