#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <factum/runtime/detail/asio.hpp>
#include <factum/runtime/detail/committer.hpp>
#include <factum/runtime/detail/memory_probe.hpp>
#include <factum/runtime/middleware.hpp>
#include <factum/runtime/options.hpp>
#include <factum/store/event_store.hpp>
#include <factum/telemetry/detail/report.hpp>

namespace factum {

inline std::chrono::microseconds retry_policy::backoff(std::uint32_t retry, double random01) const {
  double wait = static_cast<double>(initial_backoff.count());
  for (std::uint32_t i = 1; i < retry && wait < static_cast<double>(max_backoff.count()); ++i)
    wait *= multiplier;
  wait = std::min(wait, static_cast<double>(max_backoff.count()));
  wait *= 1.0 - std::clamp(jitter, 0.0, 1.0) * std::clamp(random01, 0.0, 1.0);
  return std::chrono::microseconds{static_cast<std::int64_t>(wait)};
}

namespace detail {

using pool_executor = asio::thread_pool::executor_type;
using strand_type = asio::strand<pool_executor>;
using timer_type = asio::steady_timer;  ///< on the runtime's timer thread

inline std::int64_t steady_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline double random01() {
  thread_local std::minstd_rand gen{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(gen);
}

/// What every live aggregate instance has, whatever its type.
class instance_base {
 public:
  instance_base(strand_type s, const void* tag, std::chrono::milliseconds ttl) noexcept
      : strand(std::move(s)), type_tag(tag), ttl_ms(ttl.count()) {}
  instance_base(const instance_base&) = delete;
  instance_base& operator=(const instance_base&) = delete;
  virtual ~instance_base() = default;

  /// The registry key: the instance's stream id (a view of its own string).
  [[nodiscard]] virtual std::string_view key() const noexcept = 0;
  /// On the strand, once out of the registry: a last snapshot when configured.
  virtual void passivate() = 0;

  strand_type strand;
  const void* type_tag;  ///< which aggregate type the instance is
  std::int64_t ttl_ms;
  std::atomic<std::int64_t> last_used_ns{steady_now_ns()};
  /// Commands and multi-stream steps holding the instance; it is passivated
  /// only at 0. Raised under the partition's lock, lowered without it.
  std::atomic<std::uint32_t> pending{0};
};

/// One partition of the registry: its own lock and map.
struct partition {
  std::mutex mutex;
  std::unordered_map<std::string_view, std::shared_ptr<instance_base>> live;
};

/// The state the runtime shares with its instances and operations.
class core {
 public:
  core(std::shared_ptr<event_store> store, runtime_options options)
      : store_(std::move(store)),
        options_(std::move(options)),
        pool_(options_.threads != 0 ? options_.threads
                                    : std::max(1u, std::thread::hardware_concurrency())),
        partitions_(std::max<std::size_t>(1, options_.partitions)),
        timer_work_(timers_.get_executor()),
        timer_thread_([this] { timers_.run(); }) {
    if (!options_.memory.probe) options_.memory.probe = resident_fraction;
    if (options_.telemetry) store_->set_telemetry(options_.telemetry);
    if (options_.group_commit.value_or(store_->prefers_batches()))
      committer_ = std::make_unique<committer>(*store_);
  }
  core(const core&) = delete;
  core& operator=(const core&) = delete;
  ~core() { stop_timers(); }

  [[nodiscard]] event_store& store() noexcept { return *store_; }
  [[nodiscard]] const std::shared_ptr<event_store>& shared_store() noexcept { return store_; }
  [[nodiscard]] pool_executor executor() noexcept { return pool_.get_executor(); }
  [[nodiscard]] asio::thread_pool& pool() noexcept { return pool_; }
  /// Where timers wait (retry backoffs, the sweep). Their handlers are bound
  /// to a strand of the pool. A timer on the pool itself would make a pool
  /// thread wait in epoll, and waking it for every command costs more than
  /// the command (W1.memory.latency doubled).
  [[nodiscard]] asio::io_context::executor_type timer_executor() noexcept {
    return timers_.get_executor();
  }
  /// Ends the timer thread; every timer is destroyed or idle by then.
  void stop_timers() {
    timer_work_.reset();
    timers_.stop();
    if (timer_thread_.joinable()) timer_thread_.join();
  }
  [[nodiscard]] const runtime_options& options() const noexcept { return options_; }
  /// Where to report; null when nobody listens.
  [[nodiscard]] telemetry_sink* telemetry() const noexcept { return options_.telemetry.get(); }
  /// Appends `request` through the group committer, which tells `waiter`
  /// later on its own thread (and this returns nullopt), or at once.
  std::optional<result<append_result>> append(append_request& request, commit_waiter& waiter) {
    if (committer_) {
      committer_->submit(std::move(request), waiter);
      return std::nullopt;
    }
    return store_->append(request.writes, request.options);
  }
  [[nodiscard]] bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

  [[nodiscard]] partition& partition_of(std::string_view key) noexcept {
    return partitions_[std::hash<std::string_view>{}(key) % partitions_.size()];
  }
  [[nodiscard]] std::vector<partition>& partitions() noexcept { return partitions_; }

  /// Options of an aggregate category (the defaults when not configured),
  /// with the retry policy filled in; shared by all its instances.
  [[nodiscard]] std::shared_ptr<const aggregate_options> aggregate_options_of(
      std::string_view category) {
    std::lock_guard lock(config_mutex_);
    auto& slot = aggregate_options_[std::string(category)];
    if (!slot) slot = resolve(options_.aggregate_defaults);
    return slot;
  }
  void set_aggregate_options(std::string_view category, aggregate_options o) {
    std::lock_guard lock(config_mutex_);
    aggregate_options_[std::string(category)] = resolve(std::move(o));
  }

  // -- middleware and gates: added before the first dispatch, read-only after --
  void use(std::shared_ptr<middleware> m) {
    if (started_.load()) throw std::logic_error("factum: add middleware before the first dispatch");
    middleware_.push_back(std::move(m));
  }
  void add_gate(std::shared_ptr<consistency_gate> g) {
    if (started_.load())
      throw std::logic_error("factum: add consistency gates before the first dispatch");
    gates_.push_back(std::move(g));
  }
  [[nodiscard]] const std::vector<std::shared_ptr<middleware>>& middleware_list() const noexcept {
    return middleware_;
  }
  [[nodiscard]] const std::vector<std::shared_ptr<consistency_gate>>& gates() const noexcept {
    return gates_;
  }
  void add_commit_listener(commit_listener l) {
    if (started_.load())
      throw std::logic_error("factum: add commit listeners before the first dispatch");
    listeners_.push_back(std::move(l));
  }
  /// Tells the listeners about events this runtime just appended.
  void committed(const std::vector<recorded_event>& events) const {
    for (const auto& l : listeners_)
      l(events);
  }

  // -- commands in flight, so stop() can wait for every answer --
  /// Counts a command in; false once stopped (the caller answers `errc::stopped`).
  /// Either way the caller calls leave() once it answered.
  bool enter() {
    started_.store(true, std::memory_order_relaxed);
    // seq_cst with stop_and_drain: either this sees stopped, or it sees
    // this command in flight (acquire/release alone allows neither).
    in_flight_.fetch_add(1, std::memory_order_seq_cst);
    return !stopped_.load(std::memory_order_seq_cst);
  }
  void leave() {
    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopped()) {
      std::lock_guard lock(drain_mutex_);
      drained_.notify_all();
    }
  }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(); }

  /// Stops taking commands and waits until every accepted one is answered.
  void stop_and_drain() {
    stopped_.store(true, std::memory_order_seq_cst);
    std::unique_lock lock(drain_mutex_);
    drained_.wait(lock, [&] { return in_flight_.load(std::memory_order_seq_cst) == 0; });
  }
  void stop_committer() {
    if (committer_) committer_->stop();
  }

  /// The memory pressure the last sweep saw.
  std::atomic<memory_pressure> pressure{memory_pressure::normal};

 private:
  std::shared_ptr<event_store> store_;
  runtime_options options_;
  asio::thread_pool pool_;
  std::vector<partition> partitions_;
  asio::io_context timers_{1};
  asio::executor_work_guard<asio::io_context::executor_type> timer_work_;
  std::thread timer_thread_;
  std::unique_ptr<committer> committer_;

  std::mutex config_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const aggregate_options>> aggregate_options_;

  std::shared_ptr<const aggregate_options> resolve(aggregate_options o) const {
    if (!o.retry) o.retry = options_.retry;
    return std::make_shared<const aggregate_options>(std::move(o));
  }
  std::vector<std::shared_ptr<middleware>> middleware_;
  std::vector<std::shared_ptr<consistency_gate>> gates_;
  std::vector<commit_listener> listeners_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::mutex drain_mutex_;
  std::condition_variable drained_;
};

}  // namespace detail
}  // namespace factum
