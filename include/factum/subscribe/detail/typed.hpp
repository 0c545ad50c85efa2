#pragma once

#include <exception>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include <factum/core/codec.hpp>
#include <factum/subscribe/detail/engine.hpp>
#include <factum/subscribe/subscriber.hpp>
#include <factum/telemetry/detail/report.hpp>

namespace factum::detail {

/// Decodes `e` for a subscriber interested in `List` and calls `f(event)`
/// with the C++ struct. A type it does not know (an unregistered name, a
/// schema version without upcaster) is skipped with a log line; data that
/// does not decode is a failure that no retry mends.
template <class List, class F>
result<void> with_decoded(read_core& rc, std::string_view subscriber, const recorded_event& e,
                          F&& f) {
  auto decoded = codec<typename List::variant>::decode(e);
  if (!decoded) {
    if (decoded.error() == errc::unknown_event_type) {
      rc.log("factum: subscriber '" + std::string(subscriber) + "' skips " +
             decoded.error().message() + ": no C++ type for it");
      return {};
    }
    return std::move(decoded).error();
  }
  try {
    return std::visit([&](const auto& event) { return f(event); }, *decoded);
  } catch (const std::exception& x) {
    return error{errc::domain_exception, "'" + std::string(subscriber) + "' threw on " + e.type +
                                             " at global position " +
                                             std::to_string(e.global_position) + ": " + x.what()};
  } catch (...) {
    return error{errc::domain_exception, "'" + std::string(subscriber) + "' threw on " + e.type +
                                             " at global position " +
                                             std::to_string(e.global_position)};
  }
}

/// What `subscriptions` needs of a subscriber beyond the engine.
class typed_subscriber : public subscriber_base {
 public:
  using subscriber_base::subscriber_base;
  /// A dead letter's retry: its event once more, then the events held
  /// behind it. On the strand, between its live batches; waits for it
  /// (never call it from a subscriber's own handler).
  result<void> retry(const dead_letter& d) {
    return on_strand([&] { return settle(d, true); });
  }
  /// Releases the events held behind `d` without handling `d`'s event.
  result<void> skip(const dead_letter& d) {
    return on_strand([&] { return settle(d, false); });
  }
  /// Deletes `d`, dropping the events held behind it.
  result<void> remove(const dead_letter& d) {
    return on_strand([&] { return drop(d); });
  }

  /// Clears its read model and starts over (projections only).
  virtual result<void> rebuild() {
    return error{errc::invalid_argument,
                 "'" + name() + "' is not a projection: nothing to rebuild"};
  }
};

/// Runs `fn()` (handling `e`) inside a telemetry span named `names`.
template <class F>
result<void> reported(read_core& rc, const span_names& names, std::string_view subscriber,
                      const recorded_event& e, F&& fn) {
  telemetry_span span{rc.telemetry(), names, {{"subscriber", subscriber}, {"event_type", e.type}}};
  result<void> r = fn();
  if (span.active()) {
    if (r)
      span.stop(1, e.data.size());
    else
      span.fail(r.error().message(), 1);
  }
  return r;
}

/// A subscriber that handles one event at a time and keeps its checkpoint
/// in the event store (event handlers, process managers).
class store_checkpointed : public typed_subscriber {
 public:
  using typed_subscriber::typed_subscriber;

 protected:
  /// Handles one event (on the strand).
  virtual result<void> one(const recorded_event& e) = 0;

  result<void> release_one(const dead_letter&, const recorded_event& e) override { return one(e); }
  result<std::optional<position>> load_checkpoint() override {
    return rc_.store().load_checkpoint(name());
  }
  std::size_t handle(std::span<const recorded_event> events, error& failure) override {
    std::size_t done = 0;
    for (const auto& e : events) {
      auto r = one(e);
      if (!r) {
        failure = std::move(r).error();
        break;
      }
      ++done;
    }
    if (done != 0) save(events[done - 1].pos);
    return done;
  }
  result<std::uint64_t> give_up(const recorded_event& e, const error& why,
                                std::uint32_t attempts) override {
    auto letter = rc_.store().add_dead_letter(letter_of(name(), e, why, attempts));
    if (letter) save(e.pos);
    return letter;
  }

 private:
  void save(const position& p) {
    // Handled already: a failed checkpoint only means these events come
    // again after a restart (delivery is at least once).
    if (auto ok = rc_.store().save_checkpoint(name(), p); !ok)
      rc_.log("factum: subscriber '" + name() +
              "' cannot save its checkpoint: " + ok.error().message());
  }
};

/// An event handler's engine: side effects, its checkpoint in the store.
template <class H>
requires event_handler<H> || untyped_event_handler<H>
class handler_subscriber final : public store_checkpointed {
 public:
  handler_subscriber(std::shared_ptr<read_core> rc, H h, subscription_options o)
      : store_checkpointed(std::move(rc), std::string(H::name), interest_names<H>(), std::move(o)),
        handler_(std::move(h)) {}

 protected:
  result<void> one(const recorded_event& e) override {
    return reported(rc_, event_names, name(), e, [&] { return call(e); });
  }

 private:
  static constexpr span_names event_names = FACTUM_TELEMETRY_SPAN("handler", "event");

  result<void> call(const recorded_event& e) {
    if constexpr (untyped_event_handler<H>) {
      try {
        return as_result([&] { return handler_.handle(e); });
      } catch (const std::exception& x) {
        return error{errc::domain_exception,
                     "'" + name() + "' threw on " + e.type + " at global position " +
                         std::to_string(e.global_position) + ": " + x.what()};
      } catch (...) {
        return error{errc::domain_exception, "'" + name() + "' threw on " + e.type};
      }
    } else {
      using list = typename H::interested_in;
      return with_decoded<list>(rc_, name(), e, [&](const auto& event) -> result<void> {
        if constexpr (requires { handler_.handle(event, e); })
          return as_result([&] { return handler_.handle(event, e); });
        else
          return as_result([&] { return handler_.handle(event); });
      });
    }
  }

  H handler_;
};

/// A projection's engine: each batch and the checkpoint commit together in
/// the read model.
template <class P, class M>
class projection_subscriber final : public typed_subscriber {
  using list = typename P::interested_in;
  using writer = typename M::writer;

 public:
  projection_subscriber(std::shared_ptr<read_core> rc, P p, std::shared_ptr<M> model,
                        subscription_options o)
      : typed_subscriber(std::move(rc), std::string(P::name), list::names(), std::move(o)),
        projection_(std::move(p)),
        model_(std::move(model)) {}

  /// A release's progress is a checkpoint of its own in the read model,
  /// committed with each event it projects: a release cut short goes on
  /// where it stopped, and projects nothing twice.
  result<std::uint64_t> released_through(const dead_letter& d) override {
    auto p = model_->load_checkpoint(release_name(d));
    if (!p) return std::move(p).error();
    return *p ? (*p)->global() : std::uint64_t{0};
  }
  result<void> release_one(const dead_letter& d, const recorded_event& e) override {
    return model_->commit(release_name(d), position::at(e.version),
                          [&](writer& w) { return project(w, e); });
  }
  void released(const dead_letter& d) override {
    // Only a row that outlived its letter when this fails.
    (void)model_->reset(release_name(d), [](writer&) -> result<void> { return {}; });
  }

 public:
  result<void> rebuild() override {
    std::promise<result<void>> done;
    asio::post(strand(), [&] {
      auto r = model_->reset(name(), [&](writer& w) -> result<void> {
        if constexpr (requires { projection_.reset(w); })
          return as_result([&] { return projection_.reset(w); });
        else if constexpr (requires { w.clear(); }) {
          w.clear();
          return {};
        } else {
          return error{errc::invalid_argument,
                       "projection '" + name() + "' has no reset(writer&): it cannot be rebuilt"};
        }
      });
      if (r) {
        stored_.reset();
        rewind(position{});
      }
      done.set_value(std::move(r));
    });
    return done.get_future().get();
  }

 protected:
  [[nodiscard]] std::string_view component() const noexcept override { return "projection"; }
  result<std::optional<position>> load_checkpoint() override {
    auto r = model_->load_checkpoint(name());
    if (r) stored_ = *r;
    return r;
  }
  std::size_t handle(std::span<const recorded_event> events, error& failure) override {
    telemetry_span span{rc_.telemetry(), checkpoint_names, {{"subscriber", name()}}};
    auto whole = commit(events.back().pos, [&](writer& w) -> result<void> {
      for (const auto& e : events)
        if (auto r = project(w, e); !r) return r;
      return {};
    });
    if (span.active()) {
      if (whole)
        span.stop(events.size());
      else
        span.fail(whole.error().message());
    }
    if (whole) return events.size();
    if (whole.error() == errc::concurrency_conflict) {
      failure = follow(whole.error());
      return 0;
    }
    if (events.size() == 1) {
      failure = std::move(whole).error();
      return 0;
    }
    // Find the event that fails: one commit each, up to it.
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto one = commit(events[i].pos, [&](writer& w) { return project(w, events[i]); });
      if (!one) {
        failure = one.error() == errc::concurrency_conflict ? follow(one.error())
                                                            : std::move(one).error();
        return i;
      }
    }
    return events.size();
  }
  result<std::uint64_t> give_up(const recorded_event& e, const error& why,
                                std::uint32_t attempts) override {
    auto letter = rc_.store().add_dead_letter(letter_of(name(), e, why, attempts));
    if (!letter) return letter;
    auto r = commit(e.pos, [](writer&) -> result<void> { return {}; });
    if (r) return letter;
    if (r.error() != errc::concurrency_conflict) return std::move(r).error();
    // Another process moved the checkpoint meanwhile: it projected the event,
    // or gave up on it itself. This letter goes; the engine follows that
    // process (and reads the letters it stored).
    (void)rc_.store().remove_dead_letter(*letter);
    error conflict = r.error();
    if (auto other = follow(conflict); other.code()) return other;
    return conflict;
  }

 private:
  /// Commits `fn` and the checkpoint `p`. In a read model that can tell
  /// (the SQLite one), only when its stored checkpoint is still the one this
  /// subscriber last read or wrote, so that processes projecting into one
  /// file apply each event once.
  template <class F>
  result<void> commit(const position& p, F&& fn) {
    result<void> r;
    if constexpr (requires { model_->commit(name(), std::optional<position>{}, p, fn); })
      r = model_->commit(name(), stored_, p, std::forward<F>(fn));
    else
      r = model_->commit(name(), p, std::forward<F>(fn));
    if (r) stored_ = p;
    return r;
  }

  /// After a commit that found another process' checkpoint: follows it (the
  /// engine drops the batch and catches up from there). The error to report
  /// when the checkpoint cannot be read: a storage one, so the engine waits
  /// and tries again instead of giving up on the event.
  error follow(const error& conflict) {
    auto stored = model_->load_checkpoint(name());
    if (!stored)
      return error{errc::storage_busy, conflict.message() + "; reading the checkpoint again: " +
                                           stored.error().message()};
    stored_ = *stored;
    resync(stored->value_or(position{}));
    return {};
  }

  /// Where the release of `d` records how far it got (by the stream's
  /// versions, held in a position's global part).
  [[nodiscard]] std::string release_name(const dead_letter& d) const {
    return name() + "/release-" + std::to_string(d.id);
  }

  static constexpr span_names event_names = FACTUM_TELEMETRY_SPAN("projection", "event");
  static constexpr span_names checkpoint_names = FACTUM_TELEMETRY_SPAN("projection", "checkpoint");

  result<void> project(writer& w, const recorded_event& e) {
    return reported(rc_, event_names, name(), e, [&] { return project_one(w, e); });
  }
  result<void> project_one(writer& w, const recorded_event& e) {
    return with_decoded<list>(rc_, name(), e, [&](const auto& event) -> result<void> {
      if constexpr (requires { projection_.project(w, event, e); })
        return as_result([&] { return projection_.project(w, event, e); });
      else
        return as_result([&] { return projection_.project(w, event); });
    });
  }

  P projection_;
  std::shared_ptr<M> model_;
  /// The checkpoint in the model as this subscriber knows it (nullopt: none).
  std::optional<position> stored_;
};

}  // namespace factum::detail
