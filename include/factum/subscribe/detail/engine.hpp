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

/// The dead letter for `e`, which parks its stream for `subscriber`.
inline dead_letter letter_of(std::string_view subscriber, const recorded_event& e, const error& why,
                             std::uint32_t attempts) {
  dead_letter d;
  d.subscriber = std::string(subscriber);
  d.event = e;
  d.error = why.message();
  d.attempts = attempts;
  d.failed_at = std::chrono::system_clock::now();
  d.parks_stream = true;
  return d;
}

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
        if (shown_ >= p && trying_.load() == 0) return true;
        if (halted_) return false;
      }
      // Events not of its types never move its cursor: idle and live, it
      // is as far as the router.
      if (routed_ && routed_() >= p && idle()) return true;  // idle: nothing tried again
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::unique_lock lock(progress_mutex_);
      progressed_.wait_for(lock, std::chrono::milliseconds{2});
    }
  }
  /// Live with nothing to do.
  [[nodiscard]] bool idle() const {
    std::lock_guard lock(queue_mutex_);
    return !scheduled_ && queue_.empty() && !overflowed_ && !stopped_ && trying_.load() == 0;
  }
  /// Calls `done` once it handled the events at `first`..`last` (global
  /// positions), with an error when one of them went to the dead letters.
  void wait_for(std::uint64_t first, std::uint64_t last,
                std::function<void(std::error_code)> done) {
    std::error_code answer;
    {
      std::lock_guard lock(progress_mutex_);
      if (halted_) {
        answer = make_error_code(errc::stopped);
      } else if (shown_.global() < last) {
        waiters_.push_back({first, last, std::move(done)});
        return;
      } else {
        // Passed already (the subscriber was quicker than the dispatch):
        // failed, if one of them failed.
        answer = failure_in(first, last);
      }
    }
    done(answer);
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
  /// How far a release of `d` got before it was cut short (a crash, a
  /// store failure): the version of the last event of its stream handled
  /// for it, 0 for none. Only a subscriber that records it with what it
  /// handles (a projection, in its read model's transaction) can tell; the
  /// others handle those events again (at least once).
  virtual result<std::uint64_t> released_through(const dead_letter&) { return std::uint64_t{0}; }
  /// Handles `e` (the letter's event or one held behind it) once more,
  /// outside the batches, to release `d`; on the strand.
  virtual result<void> release_one(const dead_letter& d, const recorded_event& e) = 0;
  /// `d` was released and deleted: forget its progress.
  virtual void released(const dead_letter&) {}
  /// Gives up on `e` after its retries: a dead letter that parks `e`'s
  /// stream, and the checkpoint moves past it. Returns the letter's id.
  virtual result<std::uint64_t> give_up(const recorded_event& e, const error& why,
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

  /// On the strand: settles dead letter `d`. `handle_it`: its event is
  /// handled once more first (a retry), else not (a skip). When `d` parks its
  /// stream, the events held behind it follow, in stream order, and the
  /// stream goes on; when one of them fails it becomes the stream's dead
  /// letter in `d`'s place. On success `d` is deleted.
  result<void> settle(const dead_letter& d, bool handle_it) {
    if (!begun_)
      return error{errc::invalid_argument,
                   "'" + name_ + "' has not started yet: settle its dead letters later"};
    // Read again here, between batches: another call or the letter's own
    // retry may have settled or replaced it since the caller read it.
    if (auto ok = load_parked(); !ok) return ok;
    if (d.parks_stream) {
      const auto* p = parked_at_stream(d.event.stream.str());
      if (!p) return error{errc::not_found, "no dead letter " + std::to_string(d.id)};
      if (p->letter != d.id)
        return error{errc::invalid_argument,
                     "dead letter " + std::to_string(d.id) + " waits behind dead letter " +
                         std::to_string(p->letter) + " of '" + d.event.stream.str() +
                         "': retry, skip or remove that one first"};
    }
    auto out = attempt(d, handle_it);
    if (out.how == outcome::held_failed) failed(out.failed, out.why, 1);
    return std::move(out.answer);
  }
  /// On the strand: deletes dead letter `d`; the events held behind it are
  /// dropped (never handled) and its stream goes on with the later ones.
  result<void> drop(const dead_letter& d) {
    if (auto gone = rc_.store().remove_dead_letter(d.id); !gone) return gone;
    if (const auto it = parked_.find(d.event.stream.str());
        it != parked_.end() && it->second.letter == d.id)
      parked_.erase(it);
    publish_trying();
    return {};
  }
  /// The events of `d`'s stream after it that this subscriber passed by:
  /// of its types, up to its cursor, in stream order.
  result<std::vector<recorded_event>> held_behind(const dead_letter& d) {
    std::vector<recorded_event> out;
    for (std::uint64_t from = d.event.version + 1;;) {
      auto page = rc_.store().read_stream(d.event.stream, from, options_.batch_size);
      if (!page) return std::move(page).error();
      for (auto& e : *page) {
        if (e.global_position > cursor_.global()) return out;
        if (interested(e.type)) out.push_back(std::move(e));
      }
      if (page->size() < options_.batch_size) return out;
      from = page->back().version + 1;
    }
  }

  /// On the strand: moves the cursor back to `p` (a rebuild) and catches
  /// up from there.
  void rewind(position p) {
    cursor_ = p;
    retrying_.clear();
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
    parked_.clear();  // (again after a lost claim: what the store says now)
    if (auto ok = load_parked(); !ok) {
      rc_.log("factum: subscriber '" + name_ +
              "' cannot read its dead letters: " + ok.error().message() + "; trying again");
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
    bool reloaded = false;
    while (!rest.empty()) {
      std::size_t free = 0;  // the events before the first held one
      while (free < rest.size() && !held(rest[free]))
        ++free;
      if (free == 0 && !reloaded) {
        // Another process may have retried, skipped or removed the letter:
        // ask the store once per batch before holding.
        reloaded = true;
        if (auto ok = load_parked(); !ok) {
          retrying_.assign(rest.begin(), rest.end());
          rc_.log("factum: subscriber '" + name_ +
                  "' cannot read its dead letters: " + ok.error().message() + "; trying again");
          later([](subscriber_base& self) { self.step(); }, options_.retry.backoff(1, random01()));
          return false;
        }
        continue;
      }
      if (free == 0) {
        hold(rest.front());
        rest = rest.subspan(1);
        continue;
      }
      error failure;
      const std::size_t done = handle(rest.first(free), failure);
      if (resync_) return follow_resync();
      if (done != 0) {
        cursor_ = rest[done - 1].pos;
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
      // From its first failure on, the event waits in a dead letter that
      // parks its stream, and is tried again from there; other streams go on.
      auto letter = give_up(e, failure, 1);
      if (resync_) return follow_resync();  // another process went past `e` meanwhile
      if (!letter) {
        rc_.log("factum: subscriber '" + name_ +
                "' cannot store a dead letter: " + letter.error().message() + "; trying again");
        retrying_.assign(rest.begin(), rest.end());
        later([](subscriber_base& self) { self.step(); }, options_.retry.backoff(1, random01()));
        return false;
      }
      park(e, *letter);
      fail_waiters_at(e.global_position, failure);
      failed(e, failure, 1);
      cursor_ = e.pos;
      show(cursor_);
      rest = rest.subspan(1);
    }
    return true;
  }

  /// Where a stream is parked: its first dead letter, and that event's version.
  struct parked_at {
    std::uint64_t letter = 0;
    std::uint64_t version = 0;
    std::uint32_t tries = 0;  ///< attempts so far while it is tried again; 0: it waits
    std::uint64_t chain = 0;  ///< its latest retry timer
  };
  std::uint64_t chains_ = 0;
  /// What became of one attempt to settle a dead letter.
  enum class outcome {
    settled,      ///< handled (or skipped) with everything behind it; deleted
    head_failed,  ///< its own event failed again; nothing changed
    held_failed,  ///< an event behind it failed and took its place
    unreadable,   ///< the store failed; nothing changed
  };
  struct attempted {
    outcome how = outcome::settled;
    result<void> answer;    ///< what settle returns
    recorded_event failed;  ///< held_failed: the event that failed
    error why;              ///< head_failed, held_failed: its failure
  };

  /// On the strand: one attempt to settle `d` (see `settle`).
  attempted attempt(const dead_letter& d, bool handle_it) {
    const std::string& stream = d.event.stream.str();
    if (d.event.pos > cursor_)  // catching up (a rebuild, a restart): it comes in order
      return {outcome::unreadable,
              error{errc::invalid_argument, "'" + name_ + "' has not reached dead letter " +
                                                std::to_string(d.id) +
                                                "'s event yet (it is catching up): later"},
              {},
              {}};
    std::vector<recorded_event> behind;
    std::uint64_t through = 0;
    if (d.parks_stream) {
      // Read them all before handling anything: a failed read changes nothing.
      auto read = held_behind(d);
      if (!read) return {outcome::unreadable, std::move(read).error(), {}, {}};
      behind = std::move(*read);
      auto done = released_through(d);
      if (!done) return {outcome::unreadable, std::move(done).error(), {}, {}};
      through = *done;
    }
    if (handle_it && d.event.version > through)
      if (auto r = release_one(d, d.event); !r) {
        error why = r.error();
        if (infrastructure(why) || why == errc::concurrency_conflict)
          return {outcome::unreadable, std::move(r), {}, {}};
        return {outcome::head_failed, std::move(r), {}, std::move(why)};
      }
    for (const auto& e : behind) {
      if (e.version <= through) continue;  // handled by a release cut short
      auto r = release_one(d, e);
      if (r) continue;
      // The store, or another process projecting too: not the event's fault.
      if (infrastructure(r.error()) || r.error() == errc::concurrency_conflict)
        return {outcome::unreadable, std::move(r), {}, {}};
      // Not give_up: the checkpoint stays where it is, past `e` already.
      auto next = rc_.store().add_dead_letter(letter_of(name_, e, r.error(), 1));
      if (!next)
        return {outcome::unreadable,
                error{next.error().code(),
                      "dead letter " + std::to_string(d.id) + ": the event at version " +
                          std::to_string(e.version) + " behind it failed (" + r.error().message() +
                          ") and cannot become a dead letter: " + next.error().message() +
                          "; the letter stays, and settling it again handles what went before "
                          "again"},
                {},
                {}};
      if (auto gone = rc_.store().remove_dead_letter(d.id);
          !gone && gone.error() != errc::not_found)
        return {outcome::unreadable, std::move(gone), {}, {}};
      released(d);
      park(e, *next);
      fail_waiters_at(e.global_position, r.error());
      return {outcome::held_failed,
              error{r.error().code(), "dead letter " + std::to_string(d.id) +
                                          " settled, but the event at version " +
                                          std::to_string(e.version) + " of '" + stream +
                                          "' behind it failed: it is dead letter " +
                                          std::to_string(*next) + " now: " + r.error().message()},
              e, r.error()};
    }
    if (auto gone = rc_.store().remove_dead_letter(d.id); !gone)
      return {outcome::unreadable, std::move(gone), {}, {}};
    released(d);
    if (const auto it = parked_.find(stream); it != parked_.end() && it->second.letter == d.id)
      parked_.erase(it);
    publish_trying();
    return {};
  }

  /// After event `e` failed for the `tries`-th time, now in a dead letter
  /// that parks its stream: tries it again later, or gives up on it (the
  /// letter stays, with the attempts it took, until someone settles it).
  void failed(const recorded_event& e, const error& why, std::uint32_t tries) {
    auto* p = parked_at_stream(e.stream.str());
    if (!p) return;
    if (tries < options_.retry.max_attempts && retryable(why)) {
      report(e, why, false);
      p->tries = tries;
      arm_retry(e.stream.str(), p->letter, tries);
    } else {
      rc_.log("factum: subscriber '" + name_ + "' gives up on event at global position " +
              std::to_string(e.global_position) + " (" + e.type + ") after " +
              std::to_string(tries) + " attempt(s): " + why.message());
      report(e, why, true);
      p->tries = 0;
      if (tries > 1) {
        // Stored again with the attempts it took.
        auto again = rc_.store().add_dead_letter(letter_of(name_, e, why, tries));
        if (again && rc_.store().remove_dead_letter(p->letter)) p->letter = *again;
      }
    }
    publish_trying();
  }

  /// Tries `letter` (parking `stream`) again after a backoff, on the strand.
  /// Only the latest timer of a stream counts: an older one finds another
  /// `chain` and does nothing.
  void arm_retry(const std::string& stream, std::uint64_t letter, std::uint32_t tries,
                 std::map<std::string, parked_at, std::less<>>* in = nullptr) {
    auto& map = in ? *in : parked_;
    const auto it = map.find(stream);
    if (it == map.end()) return;
    const std::uint64_t chain = it->second.chain = ++chains_;
    auto timer = std::make_shared<timer_type>(rc_.timers());
    timer->expires_after(options_.retry.backoff(tries, random01()));
    timer->async_wait(asio::bind_executor(
        strand_, [timer, stream, letter, chain,
                  weak = weak_from_this()](const boost::system::error_code& ec) {
          if (ec) return;
          if (auto self = weak.lock()) self->retry_parked(stream, letter, chain);
        }));
  }

  void retry_parked(const std::string& stream, std::uint64_t letter, std::uint64_t chain) {
    auto* p = parked_at_stream(stream);
    // Settled, given up, replaced or re-armed meanwhile.
    if (!p || p->letter != letter || p->tries == 0 || p->chain != chain) return;
    // Stopped, or it lost its single-owner claim: begin() arms again.
    if (stopped() || !begun_ || (options_.single_owner && !(claim_ && claim_->held()))) return;
    const std::uint32_t tries = p->tries;
    auto letters = rc_.store().dead_letters(name_);
    if (!letters) return arm_retry(stream, letter, tries);
    const auto d = std::find_if(letters->begin(), letters->end(),
                                [&](const dead_letter& x) { return x.id == letter; });
    if (d == letters->end()) {  // settled by another process
      parked_.erase(stream);
      return publish_trying();
    }
    auto out = attempt(*d, true);
    switch (out.how) {
      case outcome::settled:
        return;
      case outcome::head_failed:
        if (infrastructure(out.why)) return arm_retry(stream, letter, tries);
        return failed(d->event, out.why, tries + 1);
      case outcome::held_failed:
        return failed(out.failed, out.why, 1);
      case outcome::unreadable:
        return arm_retry(stream, letter, tries);
    }
  }

  parked_at* parked_at_stream(std::string_view stream) {
    const auto it = parked_.find(stream);
    return it == parked_.end() ? nullptr : &it->second;
  }
  /// Publishes how many parked streams are being tried again (`idle`,
  /// `wait_until` wait for them).
  void publish_trying() {
    std::size_t n = 0;
    for (const auto& [stream, p] : parked_)
      n += p.tries != 0;
    trying_.store(n);
    progressed_.notify_all();
  }

  /// After `handle` or `give_up` found another process' checkpoint: drops
  /// the batch and catches up from there.
  bool follow_resync() {
    cursor_ = *resync_;
    resync_.reset();
    show(cursor_);
    // Another process projects too: it may have parked streams since.
    if (auto ok = load_parked(); !ok)
      rc_.log("factum: subscriber '" + name_ +
              "' cannot read its dead letters: " + ok.error().message());
    std::lock_guard lock(queue_mutex_);
    overflowed_ = true;  // the next step catches up from the new cursor
    return true;
  }

  /// Whether `e` waits behind a dead letter of its stream: the letter's
  /// own event (delivered again after a restart) and every later one.
  [[nodiscard]] bool held(const recorded_event& e) const {
    if (parked_.empty()) return false;
    const auto it = parked_.find(e.stream.str());
    return it != parked_.end() && e.version >= it->second.version;
  }
  /// Passes `e` by: it stays in the store and is handled when its stream
  /// is released (`release_parked`). A strong dispatch waiting for it fails.
  void hold(const recorded_event& e) {
    const auto& p = parked_.find(e.stream.str())->second;
    fail_waiters_at(
        e.global_position,
        error{errc::stream_parked, "'" + name_ + "' holds '" + e.stream.str() +
                                       "' behind dead letter " + std::to_string(p.letter)});
    cursor_ = e.pos;
    show(cursor_);
  }
  void park(const recorded_event& e, std::uint64_t letter) {
    parked_.insert_or_assign(e.stream.str(), parked_at{letter, e.version});
  }
  /// The streams parked by this subscriber's dead letters, from the store.
  result<void> load_parked() {
    auto letters = rc_.store().dead_letters(name_);
    if (!letters) return std::move(letters).error();
    std::map<std::string, parked_at, std::less<>> parked;
    for (const auto& d : *letters) {
      if (!d.parks_stream) continue;
      auto [it, fresh] = parked.try_emplace(d.event.stream.str(), parked_at{d.id, d.event.version});
      if (!fresh && d.event.version < it->second.version) it->second = {d.id, d.event.version};
    }
    // Letters still being tried when this subscriber last stopped (fewer
    // attempts than its policy allows) are tried again.
    for (auto& [stream, p] : parked)
      if (const auto it = parked_.find(stream);
          it != parked_.end() && it->second.letter == p.letter)
        p = it->second;
    for (const auto& d : *letters)
      if (auto it = parked.find(d.event.stream.str());
          it != parked.end() && it->second.letter == d.id && it->second.tries == 0 && !begun_ &&
          d.attempts < options_.retry.max_attempts) {
        it->second.tries = d.attempts;
        arm_retry(it->first, d.id, d.attempts, &parked);
      }
    parked_ = std::move(parked);
    publish_trying();
    return {};
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
    std::vector<std::pair<std::function<void(std::error_code)>, std::error_code>> failed;
    {
      std::lock_guard lock(progress_mutex_);
      shown_ = p;
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->last <= p.global()) {
          // Failed or held before the waiter came: it answers with that.
          if (const auto code = failure_in(it->first, it->last))
            failed.emplace_back(std::move(it->done), code);
          else
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
    for (auto& [done, code] : failed)
      done(code);
  }
  /// The latest failure recorded at `first`..`last`; with progress_mutex_.
  [[nodiscard]] std::error_code failure_in(std::uint64_t first, std::uint64_t last) const {
    std::error_code code;
    for (const auto& [global, c] : failures_)
      if (first <= global && global <= last) code = c;
    return code;
  }
  void fail_waiters_at(std::uint64_t global, const error& why) {
    std::vector<std::function<void(std::error_code)>> failed;
    {
      std::lock_guard lock(progress_mutex_);
      failures_.emplace_back(global, why.code());
      if (failures_.size() > max_failures) failures_.pop_front();
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
  std::optional<position> resync_;
  std::uint32_t stalls_ = 0;
  std::vector<recorded_event> retrying_;
  std::atomic<std::size_t> trying_{0};  ///< parked streams whose letter is tried again
  std::map<std::string, parked_at, std::less<>> parked_;  ///< by stream name

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
  /// The latest events it failed on or held, for a strong dispatch that
  /// asks after they passed.
  std::deque<std::pair<std::uint64_t, std::error_code>> failures_;
  static constexpr std::size_t max_failures = 4096;
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
