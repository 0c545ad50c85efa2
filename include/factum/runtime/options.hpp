#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include <factum/telemetry/sink.hpp>

namespace factum {

/// How a command is retried after a concurrency conflict (another runtime or
/// process appended to the stream first). The aggregate catches up with the
/// stream, decides again, and appends again, up to `max_attempts` times in all,
/// waiting before each retry:
/// `min(max_backoff, initial_backoff * multiplier^(retry-1))`, of which a
/// random part up to `jitter` (0..1) is taken off, so racing writers spread out.
/// Domain rejections are never retried.
struct retry_policy {
  std::uint32_t max_attempts = 10;
  std::chrono::microseconds initial_backoff{200};
  double multiplier = 2.0;
  std::chrono::microseconds max_backoff{50'000};
  double jitter = 0.5;

  /// The wait before retry number `retry` (1 for the first retry), with
  /// `random01` a number in [0, 1).
  [[nodiscard]] std::chrono::microseconds backoff(std::uint32_t retry, double random01) const;
};

/// Per aggregate type: how long an idle instance stays live, and snapshots.
struct aggregate_options {
  /// An instance idle this long is passivated (its memory freed), scaled by
  /// the memory pressure factor (1.0 / 0.5 / 0.1).
  std::chrono::milliseconds ttl = std::chrono::minutes{30};
  /// Save a snapshot after this many new events since the last one (0: never
  /// during work). When set, a snapshot is also saved on passivation.
  std::uint64_t snapshot_every = 0;
  /// The conflict retry policy; the runtime's default when unset.
  std::optional<factum::retry_policy> retry;
};

/// How close the process is to its memory budget.
enum class memory_pressure { normal, elevated, critical };

/// The memory monitor: a probe reporting the fraction (0..1) of the memory
/// budget in use, and the thresholds of the pressure levels. At each sweep
/// the level scales every TTL (1.0, 0.5, 0.1) and the longest idle
/// instances are passivated first.
/// ```
/// factum::memory_options m;
/// m.probe = [] { return my_allocator_bytes() / double(budget); };
/// ```
struct memory_options {
  /// Default: resident set size / the cgroup memory limit (or total RAM).
  std::function<double()> probe;
  double elevated = 0.70;
  double critical = 0.90;
};

/// The runtime's configuration.
struct runtime_options {
  /// Threads of the pool that runs the aggregates (0: the hardware threads).
  std::size_t threads = 0;
  /// Partitions of the live-instance registry (each its own lock).
  std::size_t partitions = 4;
  /// How often idle instances are looked for (passivation and memory probe).
  std::chrono::milliseconds sweep_interval{1000};
  /// At most this many passivations per sweep, longest idle first (0: no cap).
  std::size_t max_passivations_per_sweep = 0;
  /// Conflict retries of every aggregate type without its own policy.
  factum::retry_policy retry;
  /// Options of aggregate types not configured with `runtime::configure`.
  aggregate_options aggregate_defaults;
  memory_options memory;
  /// Group commit: appends of many strands go to the store in one batch on
  /// one writer thread. Default: when the store prefers batches (SQLite).
  std::optional<bool> group_commit;
  /// Where the runtime, its store and its subscriptions report what they do
  /// (see <factum/telemetry.hpp>); none by default. The runtime attaches it
  /// to its store as well, unless the store has a sink already.
  std::shared_ptr<telemetry_sink> telemetry;
};

}  // namespace factum
