#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <factum/runtime/detail/asio.hpp>
#include <factum/runtime/detail/core.hpp>
#include <factum/store/event_store.hpp>
#include <factum/subscribe/subscriber.hpp>

namespace factum::detail {

class subscriber_base;

/// What the subscribers of one `subscriptions` share: the store, the pool,
/// a timer thread, and the log.
class read_core {
 public:
  read_core(std::shared_ptr<event_store> store, pool_executor pool,
            std::function<void(std::string_view)> log,
            std::shared_ptr<telemetry_sink> telemetry = {})
      : store_(std::move(store)),
        pool_(std::move(pool)),
        log_(std::move(log)),
        telemetry_(std::move(telemetry)),
        work_(timers_.get_executor()),
        thread_([this] { timers_.run(); }) {}
  read_core(const read_core&) = delete;
  read_core& operator=(const read_core&) = delete;
  ~read_core() { stop_timers(); }

  [[nodiscard]] event_store& store() noexcept { return *store_; }
  [[nodiscard]] pool_executor pool() const noexcept { return pool_; }
  [[nodiscard]] asio::io_context::executor_type timers() noexcept { return timers_.get_executor(); }
  /// A thread for subscribers that wait for commands (process managers),
  /// so they never hold a pool thread the commands need.
  [[nodiscard]] pool_executor blocking() noexcept { return blocking_.get_executor(); }
  void log(std::string_view message) const {
    if (log_) log_(message);
  }
  /// Where subscribers report; null when nobody listens.
  [[nodiscard]] telemetry_sink* telemetry() const noexcept { return telemetry_.get(); }
  void stop_timers() {
    work_.reset();
    timers_.stop();
    if (thread_.joinable()) thread_.join();
    blocking_.join();
  }

 private:
  std::shared_ptr<event_store> store_;
  pool_executor pool_;
  std::function<void(std::string_view)> log_;
  std::shared_ptr<telemetry_sink> telemetry_;
  asio::thread_pool blocking_{1};
  asio::io_context timers_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

/// A strong dispatch waiting for a subscriber to pass its events.
struct strong_waiter {
  std::uint64_t first = 0;  ///< global positions of the command's events of its types
  std::uint64_t last = 0;
  std::function<void(std::error_code)> done;
};

/// One subscriber's engine: its cursor, its bounded live queue, catch-up
/// from the store, retries with backoff, dead letters, strong waiters.
/// Everything but `offer`, `wait_for` and the queries runs on its strand.
///
/// Catch-up and live share one rule: the router offers each new event (in
/// global order) to the live queue from the moment the subscriber is
/// registered, and the subscriber skips whatever is not after its cursor.
/// It catches up from the store while the queue fills, so no event falls
/// between the two; when the queue overflows it is dropped and the
/// subscriber catches up again.
class subscriber_base : public std::enable_shared_from_this<subscriber_base> {
 public:
  subscriber_base(std::shared_ptr<read_core> rc, std::string name, std::vector<std::string> types,
                  subscription_options options, std::optional<pool_executor> executor = {})
      : owner_(std::move(rc)),
        rc_(*owner_),
        name_(std::move(name)),
        types_(std::move(types)),
        options_(std::move(options)),
        strand_(asio::make_strand(executor.value_or(rc_.pool()))),
        timer_(rc_.timers()) {
    options_.batch_size = std::max<std::size_t>(1, options_.batch_size);
    options_.queue_capacity = std::max<std::size_t>(1, options_.queue_capacity);
  }
  subscriber_base(const subscriber_base&) = delete;
  subscriber_base& operator=(const subscriber_base&) = delete;
  virtual ~subscriber_base() = default;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const std::vector<std::string>& types() const noexcept { return types_; }
  [[nodiscard]] bool strong() const noexcept { return options_.strong; }
  [[nodiscard]] bool single_owner() const noexcept { return options_.single_owner; }
  [[nodiscard]] bool interested(std::string_view type) const {
    return types_.empty() || std::find(types_.begin(), types_.end(), type) != types_.end();
  }

  /// Starts from its checkpoint (or `start_from`); `now` is the position of
  /// the last event routed before it was registered.
  /// `routed()` tells how far the router got: an idle live subscriber has
  /// handled everything up to there that was of its types.
  void start(position now, std::function<position()> routed) {
    routed_ = std::move(routed);
    asio::post(strand_, [self = shared_from_this(), now] { self->begin(now); });
  }

  /// The router: a new event of its types, in global order.
  void offer(const recorded_event& e) {
    std::lock_guard lock(queue_mutex_);
    if (stopped_) return;
    if (overflowed_) return;  // it catches up from the store anyway
    if (queue_.size() >= options_.queue_capacity) {
      queue_.clear();
      overflowed_ = true;
    } else {
      queue_.push_back(e);
    }
    wake_locked();
  }
  /// The router saw events it could not hand over (read from the store in
  /// bulk, say): catch up from the store.
  void nudge() {
    std::lock_guard lock(queue_mutex_);
    if (stopped_) return;
    queue_.clear();
    overflowed_ = true;
    wake_locked();
  }

  /// Stops delivering; strong waiters get `errc::stopped`. Waits until its
  /// strand finished the step it was in, unless called on the strand.
  void stop() {
    {
      std::lock_guard lock(queue_mutex_);
      if (stopped_) return;
      stopped_ = true;
      queue_.clear();
    }
    fail_waiters(errc::stopped, "the subscriber '" + name_ + "' stopped");
    if (strand_.running_in_this_thread()) {
      claim_.reset();
      return;
    }
    std::promise<void> idle;
    asio::post(strand_, [&] {
      claim_.reset();  // another node may take the name over at once
      idle.set_value();
    });
    idle.get_future().wait();
  }
  [[nodiscard]] bool stopped() const {
    std::lock_guard lock(queue_mutex_);
    return stopped_;
  }

  /// The position of the last event it handled (or skipped).
  [[nodiscard]] position cursor() const {
    std::lock_guard lock(progress_mutex_);
    return shown_;
  }
  /// Blocks until it handled every event up to `p`; false on timeout or stop.
  bool wait_until(const position& p, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      {
        std::unique_lock lock(progress_mutex_);
        if (shown_ >= p) return true;
        if (halted_) return false;
      }
      // Events not of its types never move its cursor: idle and live, it
      // is as far as the router.
      if (routed_ && routed_() >= p && idle()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::unique_lock lock(progress_mutex_);
      progressed_.wait_for(lock, std::chrono::milliseconds{2});
    }
  }
  /// Live with nothing to do.
  [[nodiscard]] bool idle() const {
    std::lock_guard lock(queue_mutex_);
    return !scheduled_ && queue_.empty() && !overflowed_ && !stopped_;
  }
  /// Calls `done` once it handled the events at `first`..`last` (global
  /// positions), with an error when one of them went to the dead letters.
  void wait_for(std::uint64_t first, std::uint64_t last,
                std::function<void(std::error_code)> done) {
    bool halted = false;
    {
      std::lock_guard lock(progress_mutex_);
      halted = halted_;
      if (!halted && shown_.global() < last) {
        waiters_.push_back({first, last, std::move(done)});
        return;
      }
    }
    done(halted ? make_error_code(errc::stopped) : std::error_code{});
  }

 protected:
  /// The telemetry component it reports as: `handler`, `projection` or `process`.
  [[nodiscard]] virtual std::string_view component() const noexcept { return "handler"; }
  /// A single-owner subscriber just won its claim (it runs on this node
  /// from now on); on its strand, before it loads its checkpoint.
  virtual void on_claimed() {}
  /// Where it resumes: its checkpoint, nullopt when it has none.
  virtual result<std::optional<position>> load_checkpoint() = 0;
  /// Handles `events` (all after the cursor, of its types) and records the
  /// checkpoint of what it handled. Returns how many it handled; when fewer
  /// than all, `failure` says why the next one failed.
  virtual std::size_t handle(std::span<const recorded_event> events, error& failure) = 0;
  /// Gives up on `e` after its retries: a dead letter, and the checkpoint
  /// moves past it.
  virtual result<void> give_up(const recorded_event& e, const error& why,
                               std::uint32_t attempts) = 0;

  /// Keeps the timers' io_context alive as long as this subscriber's timer.
  std::shared_ptr<read_core> owner_;
  read_core& rc_;

  /// Runs `f()` on the strand and waits for its result (not from the strand).
  template <class F>
  auto on_strand(F&& f) -> decltype(f()) {
    std::promise<decltype(f())> done;
    asio::post(strand_, [&] { done.set_value(f()); });
    return done.get_future().get();
  }
  [[nodiscard]] bool begun() const noexcept { return begun_; }
  [[nodiscard]] const position& strand_cursor() const noexcept { return cursor_; }

  /// On the strand: moves the cursor back to `p` (a rebuild) and catches
  /// up from there.
  void rewind(position p) {
    cursor_ = p;
    retrying_.clear();
    attempts_ = 0;
    {
      std::lock_guard lock(progress_mutex_);
      shown_ = p;
    }
    std::lock_guard lock(queue_mutex_);
    queue_.clear();
    overflowed_ = true;
    if (!stopped_) wake_locked();
  }
  [[nodiscard]] asio::strand<pool_executor>& strand() noexcept { return strand_; }
  /// From `handle`: another process moved the checkpoint to `p` (nothing of
  /// the batch was handled here); the subscriber drops the batch and catches
  /// up from `p`.
  void resync(position p) { resync_ = p; }

 private:
  void wake_locked() {
    if (scheduled_) return;
    scheduled_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->step(); });
  }

  void begin(position now) {
    if (stopped()) return;
    if (options_.single_owner && !claimed())
      return later([now](subscriber_base& self) { self.begin(now); }, options_.claim_interval);
    auto checkpoint = load_checkpoint();
    if (!checkpoint) {
      rc_.log("factum: subscriber '" + name_ +
              "' cannot load its checkpoint: " + checkpoint.error().message() + "; trying again");
      return later([now](subscriber_base& self) { self.begin(now); });
    }
    cursor_ = checkpoint->value_or(options_.start_from == start_from::now ? now : position{});
    begun_ = true;
    show(cursor_);
    {
      std::lock_guard lock(queue_mutex_);
      overflowed_ = true;  // the first step catches up
      scheduled_ = true;
    }
    step();
  }

  /// One unit of work, then it posts itself again while there is more.
  void step() {
    if (!begun_ || stopped()) return;  // begin() steps once it loaded the checkpoint
    if (options_.single_owner && !claim_->held()) {
      // Another node may own it by now: start over from the stored checkpoint.
      rc_.log("factum: subscriber '" + name_ +
              "' lost its single-owner claim; waiting to win it back");
      claim_.reset();
      begun_ = false;
      retrying_.clear();
      return later([now = cursor_](subscriber_base& self) { self.begin(now); },
                   options_.claim_interval);
    }
    std::vector<recorded_event> batch;
    if (!retrying_.empty()) {
      batch = std::move(retrying_);
      retrying_.clear();
    } else {
      {
        std::lock_guard lock(queue_mutex_);
        if (overflowed_) {
          overflowed_ = false;
          queue_.clear();
          catching_up_ = true;
        }
        if (!catching_up_) {
          while (!queue_.empty() && batch.size() < options_.batch_size) {
            if (queue_.front().pos > cursor_) batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
          if (batch.empty()) {
            scheduled_ = false;  // idle until the router offers more
            return;
          }
        }
      }
      if (catching_up_) {
        auto read = rc_.store().read_all(cursor_, options_.batch_size, types_);
        if (!read) {
          rc_.log("factum: subscriber '" + name_ +
                  "' cannot read the store: " + read.error().message() + "; trying again");
          return later([](subscriber_base& self) { self.step(); });
        }
        batch = std::move(*read);
        if (batch.size() < options_.batch_size) catching_up_ = false;  // at the end: go live
      }
    }
    if (!batch.empty() && !deliver(batch)) return;  // a retry is scheduled
    asio::post(strand_, [self = shared_from_this()] { self->step(); });
  }

  /// Whether this process holds the subscriber's single-owner claim (on
  /// PostgreSQL, an advisory lock held by a connection of its own).
  bool claimed() {
    if (claim_ && claim_->held()) return true;
    claim_.reset();
    auto claim = rc_.store().try_own("factum.subscriber/" + name_);
    if (!claim) {
      rc_.log("factum: subscriber '" + name_ +
              "' cannot claim its single owner lock: " + claim.error().message());
      return false;
    }
    claim_ = std::move(*claim);
    if (claim_) on_claimed();
    return claim_ != nullptr;
  }

  /// Reports a retry of `e`, or that it went to the dead letters.
  void report(const recorded_event& e, const error& failure, bool dead) {
    auto* sink = rc_.telemetry();
    if (!sink) return;
    const auto c = component();
    std::string_view name =
        c == "projection"
            ? (dead ? "factum.projection.dead_letter.count" : "factum.projection.retry.count")
        : c == "process"
            ? (dead ? "factum.process.dead_letter.count" : "factum.process.retry.count")
        : dead ? "factum.handler.dead_letter.count"
               : "factum.handler.retry.count";
    const std::string why = failure.message();
    count(sink, name, {{"subscriber", name_}, {"event_type", e.type}}, why);
  }

  /// Handles `batch`; false when it scheduled a retry of what is left.
  bool deliver(std::vector<recorded_event>& batch) {
    std::span<const recorded_event> rest(batch);
    while (!rest.empty()) {
      error failure;
      const std::size_t done = handle(rest, failure);
      if (resync_) {
        cursor_ = *resync_;
        resync_.reset();
        attempts_ = 0;
        show(cursor_);
        std::lock_guard lock(queue_mutex_);
        overflowed_ = true;  // the next step catches up from the new cursor
        return true;
      }
      if (done != 0) {
        cursor_ = rest[done - 1].pos;
        attempts_ = 0;
        show(cursor_);
        rest = rest.subspan(done);
        continue;
      }
      const recorded_event& e = rest.front();
      if (infrastructure(failure)) {
        // The store or the runtime, not this event: wait and try again, for
        // as long as it takes (a dead letter would lose the event for good).
        retrying_.assign(rest.begin(), rest.end());
        stalls_ = std::min<std::uint32_t>(stalls_ + 1, 30);
        if (stalls_ == 1 || stalls_ == 30)
          rc_.log("factum: subscriber '" + name_ +
                  "' waits for its store or runtime: " + failure.message());
        later([](subscriber_base& self) { self.step(); },
              options_.retry.backoff(stalls_, random01()));
        return false;
      }
      stalls_ = 0;
      ++attempts_;
      if (attempts_ < options_.retry.max_attempts && retryable(failure)) {
        report(e, failure, false);
        retrying_.assign(rest.begin(), rest.end());
        const auto wait = options_.retry.backoff(attempts_, random01());
        later([](subscriber_base& self) { self.step(); }, wait);
        return false;
      }
      rc_.log("factum: subscriber '" + name_ + "' gives up on event at global position " +
              std::to_string(e.global_position) + " (" + e.type + ") after " +
              std::to_string(attempts_) + " attempt(s): " + failure.message());
      if (auto ok = give_up(e, failure, attempts_); !ok) {
        rc_.log("factum: subscriber '" + name_ +
                "' cannot store a dead letter: " + ok.error().message() + "; trying again");
        retrying_.assign(rest.begin(), rest.end());
        later([](subscriber_base& self) { self.step(); },
              options_.retry.backoff(attempts_, random01()));
        return false;
      }
      report(e, failure, true);
      fail_waiters_at(e.global_position, failure);
      attempts_ = 0;
      cursor_ = e.pos;
      show(cursor_);
      rest = rest.subspan(1);
    }
    return true;
  }

  static bool retryable(const error& e) {
    return e.code() != errc::malformed_event && e.code() != errc::decode_failed;
  }
  /// Failures of the storage or the runtime rather than of the event.
  static bool infrastructure(const error& e) {
    return e.code() == errc::storage_busy || e.code() == errc::storage_io ||
           e.code() == errc::storage_full || e.code() == errc::storage_read_only ||
           e.code() == errc::stopped;
  }

  /// Calls `f(*this)` on the strand after `wait`. The timer holds only a
  /// weak reference: a stopped, dropped subscriber is not kept alive by it.
  template <class F>
  void later(F&& f, std::chrono::microseconds wait = std::chrono::milliseconds{100}) {
    timer_.expires_after(wait);
    timer_.async_wait(asio::bind_executor(
        strand_,
        [f = std::forward<F>(f), weak = weak_from_this()](const boost::system::error_code& ec) {
          if (ec) return;
          if (auto self = weak.lock()) f(*self);
        }));
  }

  /// Publishes progress: queries, blocking waits and strong waiters see it.
  void show(const position& p) {
    std::vector<std::function<void(std::error_code)>> ready;
    {
      std::lock_guard lock(progress_mutex_);
      shown_ = p;
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->last <= p.global()) {
          ready.push_back(std::move(it->done));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    progressed_.notify_all();
    for (auto& done : ready)
      done({});
  }
  void fail_waiters_at(std::uint64_t global, const error& why) {
    std::vector<std::function<void(std::error_code)>> failed;
    {
      std::lock_guard lock(progress_mutex_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->first <= global && global <= it->last) {
          failed.push_back(std::move(it->done));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& done : failed)
      done(why.code());
  }
  void fail_waiters(errc code, const std::string&) {
    std::vector<strong_waiter> all;
    {
      std::lock_guard lock(progress_mutex_);
      halted_ = true;
      all.swap(waiters_);
    }
    progressed_.notify_all();
    for (auto& w : all)
      w.done(make_error_code(code));
  }

  std::string name_;
  std::vector<std::string> types_;
  subscription_options options_;
  std::function<position()> routed_;
  asio::strand<pool_executor> strand_;
  timer_type timer_;

  // on the strand
  position cursor_;
  bool begun_ = false;
  std::unique_ptr<ownership> claim_;  ///< single owner: the claim while it runs here
  bool catching_up_ = true;
  std::uint32_t attempts_ = 0;
  std::optional<position> resync_;
  std::uint32_t stalls_ = 0;
  std::vector<recorded_event> retrying_;

  mutable std::mutex queue_mutex_;
  std::deque<recorded_event> queue_;
  bool overflowed_ = false;
  bool scheduled_ = true;  ///< a step is posted or running (begin() runs the first)
  bool stopped_ = false;

  mutable std::mutex progress_mutex_;
  std::condition_variable progressed_;
  position shown_;
  bool halted_ = false;
  std::vector<strong_waiter> waiters_;
};

/// Routes each committed event, in global order, to the subscribers
/// interested in its type. It learns of events from the runtime's commits
/// (in hand, no read) and fills gaps (commits it was not told of: another
/// process, or an append still on its way) by reading the store.
/// Its memory is the subscribers by type, not the streams.
class router {
 public:
  router(std::shared_ptr<read_core> rc, std::chrono::milliseconds poll_interval)
      : owner_(std::move(rc)),
        rc_(*owner_),
        poll_interval_(poll_interval),
        poll_timer_(rc_.timers()),
        fill_timer_(rc_.timers()) {
    // Where "now" is: a subscriber that starts from now must not get the past.
    last_ = rc_.store().head().value();
  }

  /// Starts polling; `notified`: the store tells of appends (`on_append`),
  /// so the poll is only a fallback and runs every `fallback` instead.
  void start(bool notified = false, std::chrono::milliseconds fallback = std::chrono::seconds{5}) {
    if (notified) poll_interval_ = std::max(poll_interval_, fallback);
    arm_poll();
  }
  /// The store told of an append (by any process): read what is new.
  void notified() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
    }
    arm_fill(std::chrono::milliseconds{0});
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }

  /// Registers `s` and returns the position of the last event routed: the
  /// subscriber gets every event after it offered.
  position add(std::shared_ptr<subscriber_base> s) {
    std::lock_guard lock(mutex_);
    if (s->types().empty())
      all_types_.push_back(s);
    else
      for (const auto& t : s->types())
        by_type_[t].push_back(s);
    return last_;
  }
  void remove(const subscriber_base* s) {
    std::lock_guard lock(mutex_);
    auto drop = [&](std::vector<std::shared_ptr<subscriber_base>>& v) {
      std::erase_if(v, [&](const auto& x) { return x.get() == s; });
    };
    drop(all_types_);
    for (auto it = by_type_.begin(); it != by_type_.end();) {
      drop(it->second);
      it = it->second.empty() ? by_type_.erase(it) : std::next(it);
    }
  }

  /// The runtime appended `events`.
  void committed(const std::vector<recorded_event>& events) {
    bool gap = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      for (const auto& e : events)
        if (e.global_position > last_.global()) pending_.emplace(e.global_position, e);
      drain_locked();
      gap = !pending_.empty();
    }
    if (gap) arm_fill();
  }

  /// Events routed so far: the position of the last.
  [[nodiscard]] position last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  void drain_locked() {
    while (!pending_.empty() && pending_.begin()->first == last_.global() + 1) {
      auto node = pending_.extract(pending_.begin());
      route_locked(node.mapped());
      last_ = node.mapped().pos;
    }
  }
  void route_locked(const recorded_event& e) {
    if (const auto it = by_type_.find(e.type); it != by_type_.end())
      for (const auto& s : it->second)
        s->offer(e);
    for (const auto& s : all_types_)
      s->offer(e);
  }

  /// Reads what the store has after the last routed event.
  void fill() {
    position from;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      from = last_;
    }
    auto read = rc_.store().read_all(from, fill_batch);
    if (!read) {
      rc_.log("factum: the router cannot read the store: " + read.error().message());
      return arm_fill();
    }
    const bool more = read->size() == fill_batch;
    bool gap = false;
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      for (auto& e : *read)
        if (e.global_position > last_.global()) pending_.emplace(e.global_position, std::move(e));
      drain_locked();
      gap = !pending_.empty();
    }
    if (more)
      arm_fill(std::chrono::milliseconds{0});
    else if (gap)
      arm_fill();
  }

  void arm_fill(std::chrono::milliseconds wait = std::chrono::milliseconds{5}) {
    asio::post(fill_timer_.get_executor(), [this, wait] {
      if (fill_armed_) return;
      fill_armed_ = true;
      fill_timer_.expires_after(wait);
      fill_timer_.async_wait([this](const boost::system::error_code& ec) {
        fill_armed_ = false;
        if (!ec) fill();
      });
    });
  }

  void arm_poll() {
    poll_timer_.expires_after(poll_interval_);
    poll_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
      }
      auto head = rc_.store().head();
      if (head && head->global() > last().global()) fill();
      arm_poll();
    });
  }

 public:
  /// Cancels the timers; on the timer thread, before it ends.
  void cancel_timers() {
    asio::post(poll_timer_.get_executor(), [this] {
      poll_timer_.cancel();
      fill_timer_.cancel();
    });
  }

 private:
  static constexpr std::size_t fill_batch = 1000;
  std::shared_ptr<read_core> owner_;
  read_core& rc_;
  std::chrono::milliseconds poll_interval_;
  std::mutex mutex_;
  bool stopped_ = false;
  position last_;
  std::map<std::uint64_t, recorded_event> pending_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<subscriber_base>>> by_type_;
  std::vector<std::shared_ptr<subscriber_base>> all_types_;
  timer_type poll_timer_;
  timer_type fill_timer_;
  bool fill_armed_ = false;  // on the timer thread
};

}  // namespace factum::detail
