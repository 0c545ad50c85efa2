#pragma once

// A plain benchmark harness: steady_clock timings, medians of repetitions,
// one line per workload (see ../shared/BENCH.md for the output format).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace factum_bench {

/// The command line.
struct options {
  bool json = false;   ///< one JSON object per line instead of a table
  bool quick = false;  ///< small sizes: the whole set in well under a minute
  int reps = 0;        ///< repetitions per figure (0: 5, or 3 with --quick)
  std::optional<std::regex> filter;
  std::filesystem::path dir;  ///< where SQLite files go (default: the temp folder)
  /// Run as `PRAGMA <p>` on every SQLite connection the process opens, the
  /// store's and the baselines' alike: to try a setting without a rebuild.
  std::vector<std::string> sqlite_pragmas;
  /// How W4 reads the stream: `read_stream` (the default: the whole stream in
  /// one vector, then decode + evolve) or `scan_stream` (one reused event at a
  /// time, the load path event_store.hpp documents for aggregates).
  std::string loader = "read_stream";
  /// The libpq URI of the server the W3.postgres workloads use (`--pg`);
  /// empty: they are skipped.
  std::string pg;

  /// `full` normally, `small` with --quick.
  [[nodiscard]] std::size_t size(std::size_t full, std::size_t small) const {
    return quick ? small : full;
  }
};

/// One output line: a median figure, and its baseline measured in the same run.
struct figure {
  std::string name;
  std::string unit;
  std::vector<double> samples;  ///< one per repetition; `value` is their median
  std::string baseline_name;    ///< empty: no baseline
  std::vector<double> baseline_samples;
  nlohmann::ordered_json params = nlohmann::ordered_json::object();
  /// Whether a larger value is better (rates) or worse (times); only for the table.
  bool higher_is_better = true;
};

/// A named workload: runs its repetitions and returns its line.
struct workload {
  std::string name;
  std::function<figure(const options&)> run;
  /// Needs a PostgreSQL server (`options::pg`): skipped without one.
  bool postgres = false;
};

using clock = std::chrono::steady_clock;

/// Seconds that `f()` took.
template <class F>
double seconds(F&& f) {
  const auto t0 = clock::now();
  f();
  return std::chrono::duration<double>(clock::now() - t0).count();
}

[[nodiscard]] double median(std::vector<double> v);

/// Keeps the compiler from dropping a computation whose result is unused.
template <class T>
inline void keep(const T& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

/// Throws with `what` when a factum result holds an error.
template <class R>
decltype(auto) check(R&& r, std::string_view what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().message());
  return std::forward<R>(r);
}

/// Waits until `target` completions were counted. The last count sets the
/// flag under the lock, so the waiter cannot return (and destroy the latch)
/// while a counter still uses it.
class latch {
 public:
  void count() {
    if (done_.fetch_add(1) + 1 == target_) {
      std::lock_guard lock(mutex_);
      reached_ = true;
      cv_.notify_all();
    }
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return reached_; });
  }
  void reset(std::size_t target) {
    done_ = 0;
    target_ = target;
    reached_ = target == 0;
  }

 private:
  std::atomic<std::size_t> done_{0};
  std::size_t target_ = 0;
  bool reached_ = false;
  std::mutex mutex_;
  std::condition_variable cv_;
};

/// A fresh folder removed with its content; under `options::dir` when set.
class scratch_dir {
 public:
  explicit scratch_dir(const std::filesystem::path& parent);
  ~scratch_dir();
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  /// Removes an SQLite file with its -wal and -shm files.
  static void remove_db(const std::filesystem::path& file);

 private:
  std::filesystem::path path_;
};

/// The file system type of `p` ("ext4", "tmpfs", ...), for the params.
[[nodiscard]] std::string file_system(const std::filesystem::path& p);

/// The line as BENCH.md's JSON object.
[[nodiscard]] nlohmann::ordered_json to_json(const figure& f);

// The workloads, by file.
void add_memory_append(std::vector<workload>& out);    // append_memory.cpp, W2
void add_sqlite_append(std::vector<workload>& out);    // append_sqlite.cpp, W3
void add_rehydrate(std::vector<workload>& out);        // rehydrate.cpp, W4
void add_runtime(std::vector<workload>& out);          // runtime.cpp, W1, W3 dispatch, W6
void add_read_side(std::vector<workload>& out);        // read_side.cpp, W5, W7
void add_lag(std::vector<workload>& out);              // lag.cpp, W9 (SQLite)
void add_postgres_append(std::vector<workload>& out);  // append_postgres.cpp, W3
/// Makes every SQLite connection opened from now on run `PRAGMA p` for each p
/// (append_sqlite.cpp; an SQLite auto-extension).
void use_sqlite_pragmas(const std::vector<std::string>& pragmas);

}  // namespace factum_bench
