#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <factum/runtime/runtime.hpp>
#include <factum/subscribe/detail/engine.hpp>
#include <factum/subscribe/detail/process.hpp>
#include <factum/subscribe/detail/typed.hpp>
#include <factum/subscribe/process_manager.hpp>
#include <factum/subscribe/subscriber.hpp>

namespace factum {

/// Options of the read side as a whole.
struct subscriptions_options {
  /// How often the router asks the store for events it was not told of
  /// (appended by another process on the same store, say).
  std::chrono::milliseconds poll_interval{200};
  /// On a store that tells of every process' appends (PostgreSQL's
  /// LISTEN/NOTIFY), the router reads when told and polls only this often,
  /// in case a notification was lost.
  std::chrono::milliseconds fallback_poll_interval{5000};
  /// Where the read side reports what it skipped or gave up on; the default
  /// writes to std::clog, an empty function is silent.
  std::function<void(std::string_view)> log = [](std::string_view m) { std::clog << m << '\n'; };
};

class subscriptions;

/// A handle on one subscriber: its progress, and stopping it. It must not
/// outlive its `subscriptions`.
class subscription {
 public:
  subscription() = default;
  [[nodiscard]] const std::string& name() const { return sub_->name(); }
  /// The position of the last event it handled.
  [[nodiscard]] position cursor() const { return sub_->cursor(); }
  /// Blocks until it handled everything up to `p`; false on timeout or stop.
  bool wait_until(const position& p,
                  std::chrono::milliseconds timeout = std::chrono::seconds{10}) const {
    return sub_->wait_until(p, timeout);
  }
  /// Stops it (unsubscribes); its checkpoint stays.
  void stop();
  /// A projection: clears its read model and checkpoint, then catches up
  /// from the first event. `errc::invalid_argument` for an event handler.
  result<void> rebuild() { return sub_->rebuild(); }
  [[nodiscard]] bool stopped() const { return sub_->stopped(); }

 private:
  friend class subscriptions;
  subscription(subscriptions* owner, std::shared_ptr<detail::typed_subscriber> s)
      : owner_(owner), sub_(std::move(s)) {}
  subscriptions* owner_ = nullptr;
  std::shared_ptr<detail::typed_subscriber> sub_;
};

/// The read side of a runtime: the event-type router and its subscribers
/// (event handlers and projections), each with a checkpoint, catch-up from
/// the store, live delivery, retries and dead letters.
///
/// Create it right after the runtime, before the first dispatch (it
/// registers with the runtime to hear of commits), and let it go before the
/// runtime.
/// ```
/// factum::runtime rt{factum::sqlite_store{"bank.db"}};
/// factum::subscriptions subs{rt};
/// auto balances = std::make_shared<factum::memory_read_model<std::string, std::int64_t>>();
/// subs.add(balance_projection{}, balances);
/// subs.add(notifier{}, {.strong = true});
/// ```
class subscriptions {
 public:
  explicit subscriptions(runtime& rt, subscriptions_options options = {})
      : rt_(rt),
        core_(std::make_shared<detail::read_core>(rt.shared_store(), rt.get_executor(),
                                                  std::move(options.log), rt.telemetry())),
        router_(std::make_shared<detail::router>(core_, options.poll_interval)),
        gate_(std::make_shared<gate>(*this)) {
    rt.add_commit_listener(
        [weak = std::weak_ptr<detail::router>(router_)](const std::vector<recorded_event>& events) {
          if (auto r = weak.lock()) r->committed(events);
        });
    rt.add_consistency_gate(gate_);
    watch_ = rt.shared_store()->on_append([weak = std::weak_ptr<detail::router>(router_)] {
      if (auto r = weak.lock()) r->notified();
    });
    router_->start(watch_ != nullptr, options.fallback_poll_interval);
  }
  subscriptions(const subscriptions&) = delete;
  subscriptions& operator=(const subscriptions&) = delete;
  /// Stops every subscriber (each finishes the step it is in).
  ~subscriptions() {
    watch_.reset();
    {
      std::lock_guard lock(gate_->mutex);
      gate_->owner = nullptr;
    }
    std::vector<std::shared_ptr<detail::typed_subscriber>> all;
    {
      std::lock_guard lock(mutex_);
      for (auto& [name, s] : by_name_)
        all.push_back(s);
    }
    for (auto& s : all) {
      router_->remove(s.get());
      s->stop();
    }
    router_->stop();
    router_->cancel_timers();
    // No timer handler and no process manager runs after this; the timers
    // themselves may outlive it (they keep the io_context alive).
    core_->stop_timers();
  }

  /// Subscribes an event handler (see `factum::event_handler` and
  /// `factum::untyped_event_handler`).
  template <class H>
  subscription add(H handler, subscription_options options = {}) {
    static_assert(check_event_handler<H>());
    return attach(std::make_shared<detail::handler_subscriber<H>>(core_, std::move(handler),
                                                                  std::move(options)));
  }
  /// Subscribes a projection writing to `model` (a
  /// `factum::memory_read_model`, a `factum::sqlite_read_model`, ...).
  template <class P, class M>
  subscription add(P projection, std::shared_ptr<M> model, subscription_options options = {}) {
    static_assert(check_projection<P, M>());
    return attach(std::make_shared<detail::projection_subscriber<P, M>>(
        core_, std::move(projection), std::move(model), std::move(options)));
  }

  /// Subscribes a process manager (see `factum::process_manager`); it
  /// sends its commands through the runtime and arms its stored deadlines.
  template <class P>
  subscription add_process(P manager, subscription_options options = {}) {
    static_assert(check_process_manager<P>());
    auto s = std::make_shared<detail::process_subscriber<P>>(core_, rt_, std::move(manager),
                                                             std::move(options));
    // A single-owner one arms them when it wins its claim (on_claimed).
    if (!s->single_owner()) s->arm_deadlines();
    return attach(std::move(s));
  }

  /// Dead letters, of one subscriber or all.
  [[nodiscard]] result<std::vector<dead_letter>> dead_letters(std::string_view subscriber = {}) {
    return core_->store().dead_letters(subscriber);
  }
  /// The streams the subscribers subscribed here hold behind a dead letter
  /// (of one subscriber or all), with how many events wait behind each.
  [[nodiscard]] result<std::vector<parked_stream>> parked_streams(
      std::string_view subscriber = {}) {
    auto letters = core_->store().dead_letters(subscriber);
    if (!letters) return std::move(letters).error();
    std::vector<parked_stream> out;
    for (const auto& d : *letters) {
      if (!d.parks_stream) continue;
      auto s = find(d.subscriber);
      if (!s) continue;
      const auto same = [&](const parked_stream& p) {
        return p.subscriber == d.subscriber && p.stream == d.event.stream;
      };
      if (std::find_if(out.begin(), out.end(), same) != out.end()) continue;  // the first parks
      parked_stream p{d.subscriber, d.event.stream, d.id, d.event.version, 0};
      const std::uint64_t up_to = s->cursor().global();
      auto seen = core_->store().scan_stream(
          d.event.stream, d.event.version + 1, [&](const recorded_event& e) {
            if (e.global_position <= up_to && s->interested(e.type)) ++p.waiting;
          });
      if (!seen) return std::move(seen).error();
      out.push_back(std::move(p));
    }
    return out;
  }
  /// Hands a dead letter's event to its subscriber once more and then, when
  /// the letter parks its stream, the events held behind it, in order; on
  /// success the letter is deleted and the stream goes on. When a held
  /// event fails, it becomes the stream's dead letter in this one's place
  /// (the error says which). The subscriber must be subscribed here.
  result<void> retry_dead_letter(std::uint64_t id) {
    return with_letter(id, [](auto& s, const dead_letter& d) { return s.retry(d); });
  }
  /// Deletes a dead letter without handling its event, and hands the events
  /// held behind it to the subscriber, in order (as `retry_dead_letter`).
  result<void> skip_dead_letter(std::uint64_t id) {
    return with_letter(id, [](auto& s, const dead_letter& d) { return s.skip(d); });
  }
  /// Deletes a dead letter without handling it. The events held behind it
  /// are dropped: never handled, and its stream goes on with later events.
  result<void> remove_dead_letter(std::uint64_t id) {
    return with_letter(
        id, [](auto& s, const dead_letter& d) { return s.remove(d); }, true);
  }

  /// The position of the last event the router handed to the subscribers.
  [[nodiscard]] position routed() { return router_->last(); }

 private:
  friend class subscription;

  /// Strong consistency: waits for each strong subscriber interested in a
  /// command's events.
  struct gate final : consistency_gate {
    explicit gate(subscriptions& s) : owner(&s) {}
    void wait(const dispatch_result& r, std::function<void(std::error_code)> done) override {
      std::vector<std::shared_ptr<detail::typed_subscriber>> strong;
      {
        std::lock_guard guard(mutex);
        if (auto* o = owner) {
          std::lock_guard lock(o->mutex_);
          for (auto& [name, s] : o->by_name_)
            if (s->strong()) strong.push_back(s);
        }
      }
      struct shared {
        std::atomic<std::size_t> left{1};
        std::mutex mutex;
        std::error_code first;
        std::function<void(std::error_code)> done;
        void finish(std::error_code ec) {
          if (ec) {
            std::lock_guard lock(mutex);
            if (!first) first = ec;
          }
          if (left.fetch_sub(1) == 1) done(first);
        }
      };
      auto state = std::make_shared<shared>();
      state->done = std::move(done);
      for (auto& s : strong) {
        std::uint64_t first = 0, last = 0;
        for (const auto& e : r.events)
          if (s->interested(e.type)) {
            if (first == 0) first = e.global_position;
            last = e.global_position;
          }
        if (last == 0) continue;
        state->left.fetch_add(1);
        s->wait_for(first, last, [state](std::error_code ec) { state->finish(ec); });
      }
      state->finish({});
    }
    std::mutex mutex;  ///< guards `owner`, which the destructor clears
    subscriptions* owner;
  };

  std::shared_ptr<detail::typed_subscriber> find(std::string_view name) {
    std::lock_guard lock(mutex_);
    if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
    return nullptr;
  }
  /// Calls `fn(subscriber, letter)` for dead letter `id`; `anyone`: a
  /// letter of a subscriber not subscribed here is deleted in the store.
  template <class F>
  result<void> with_letter(std::uint64_t id, F&& fn, bool anyone = false) {
    auto all = core_->store().dead_letters();
    if (!all) return std::move(all).error();
    for (const auto& letter : *all) {
      if (letter.id != id) continue;
      if (auto s = find(letter.subscriber)) return fn(*s, letter);
      if (anyone) return core_->store().remove_dead_letter(id);
      return error{errc::not_found, "dead letter " + std::to_string(id) + " belongs to '" +
                                        letter.subscriber + "', which is not subscribed here"};
    }
    return error{errc::not_found, "no dead letter " + std::to_string(id)};
  }

  subscription attach(std::shared_ptr<detail::typed_subscriber> s) {
    {
      std::lock_guard lock(mutex_);
      if (!by_name_.emplace(s->name(), s).second)
        throw factum::system_error(
            error{errc::invalid_argument, "a subscriber named '" + s->name() +
                                              "' is subscribed already (names must be unique: "
                                              "they key checkpoints and dead letters)"});
    }
    s->start(router_->add(s), [r = router_.get()] { return r->last(); });
    return subscription{this, std::move(s)};
  }
  void detach(detail::typed_subscriber& s) {
    router_->remove(&s);
    s.stop();
    std::lock_guard lock(mutex_);
    if (auto it = by_name_.find(s.name()); it != by_name_.end() && it->second.get() == &s)
      by_name_.erase(it);
  }

  runtime& rt_;
  std::shared_ptr<detail::read_core> core_;
  std::shared_ptr<detail::router> router_;
  std::shared_ptr<void> watch_;  ///< the store's append notifications (nullptr: it has none)
  std::shared_ptr<gate> gate_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<detail::typed_subscriber>, std::less<>> by_name_;
};

inline void subscription::stop() {
  if (owner_ && sub_) owner_->detach(*sub_);
}

}  // namespace factum
