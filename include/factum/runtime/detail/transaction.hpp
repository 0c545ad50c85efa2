#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <factum/runtime/detail/answer.hpp>
#include <factum/runtime/detail/instance.hpp>

namespace factum::detail {

/// A multi-stream command: reads the states of N aggregates on their
/// strands, decides once on the pool (never on a participant's strand, so
/// a slow decide holds up no other command), and appends in one atomic
/// append with an expected version for every participant: events for the
/// streams that got some, a condition (no events) for the streams it only
/// read. So it commits only if no stream it read moved since. Then the live
/// instances evolve on their strands before the answer. A conflict re-reads
/// and decides again under the retry policy of the first aggregate type.
template <class Decide, aggregate... As>
class transaction : public answer_base, public commit_waiter {
  static constexpr std::size_t n = sizeof...(As);
  using indices = std::index_sequence_for<As...>;

 public:
  transaction(core& c, Decide decide, dispatch_options options)
      : answer_base(c, std::move(options)), decide_(std::move(decide)), timer_(c.timer_executor()) {
    category = std::tuple_element_t<0, std::tuple<As...>>::category;
  }

  /// `acquire.template operator()<A>(stream)` gives an instance with its
  /// pending count raised.
  template <class Acquire>
  void start(std::array<std::string, n> ids, Acquire&& acquire) {
    std::set<std::string> distinct;
    std::optional<error> failed;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            using A = std::tuple_element_t<I, std::tuple<As...>>;
            if (failed) return;
            if (ids[I].empty()) {
              failed = error{errc::invalid_stream_id,
                             "an empty id for '" + std::string(A::category) + "'"};
              return;
            }
            streams_[I] = stream_of<A>(ids[I]);
            if (auto ok = streams_[I].validate(); !ok) {
              failed = std::move(ok).error();
              return;
            }
            if (!distinct.insert(streams_[I].str()).second) {
              failed = error{errc::invalid_argument,
                             "stream '" + streams_[I].str() + "' is named twice in one command"};
              return;
            }
          }(),
          ...);
    }
    (indices{});
    stream = streams_[0];
    if (failed) return finish(std::move(*failed));
    report_start();
    for (const auto& m : core_.middleware_list()) {
      command_context ctx = context();
      if (auto ok = m->before(ctx); !ok) return finish(std::move(ok).error());
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            using A = std::tuple_element_t<I, std::tuple<As...>>;
            if (failed) return;
            auto inst = acquire.template operator()<A>(streams_[I]);
            if (!inst) {
              failed = std::move(inst).error();
              return;
            }
            std::get<I>(instances_) = std::move(*inst);
          }(),
          ...);
    }
    (indices{});
    if (failed) return finish(std::move(*failed));
    retry_ = *core_.aggregate_options_of(category)->retry;
    gather();
  }

  /// Answers before the command started (the runtime is stopped).
  void refuse(error e) { answer(std::move(e), {}); }

  void committed(result<append_result> r, append_request request) override {
    on_append(std::move(r), std::move(request));
  }

 protected:
  [[nodiscard]] std::type_index command_type() const override { return typeid(Decide); }
  [[nodiscard]] const void* command_pointer() const override { return &decide_; }

 private:
  /// Reads each instance's state and version on its strand.
  void gather() {
    started = true;
    left_.store(n);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (boost::asio::post(std::get<I>(instances_)->strand,
                         [this] {
                           auto& inst = *std::get<I>(instances_);
                           if (auto ok = inst.ensure_loaded(attempt_ > 1); !ok) {
                             std::lock_guard lock(mutex_);
                             if (!failed_) failed_ = std::move(ok).error();
                           } else {
                             std::get<I>(states_) = inst.state();
                             versions_[I] = inst.version();
                           }
                           if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1)
                             asio::post(core_.executor(), [this] { decide(); });
                         }),
       ...);
    }
    (indices{});
  }

  void decide() {
    if (failed_) return finish(std::move(*failed_));
    append_request request;
    bool writes = false;  // whether any participant got events
    try {
      decisions<As...> d = std::apply([&](const auto&... s) { return decide_(*s...); }, states_);
      std::optional<rejection> refused;
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((refused = refused ? refused
                            : (std::get<I>(d).rejected() ? std::optional{std::get<I>(d).rejection()}
                                                         : std::nullopt)),
         ...);
        if (refused) return;
        (encode<I>(std::get<I>(d), request, writes), ...);
      }
      (indices{});
      if (refused) {
        dispatch_result out;
        out.rejection = *refused;
        error e{make_error_code(*refused), refused->message};
        return finish_unwritten(std::move(e), std::move(out));
      }
    } catch (...) {
      return finish(
          error{errc::domain_exception, "a multi-stream command on '" + streams_[0].str() +
                                            "' threw: " + describe(std::current_exception())});
    }
    if (!writes) {
      dispatch_result out;
      for (std::size_t i = 0; i < n; ++i)
        out.streams.push_back({streams_[i], versions_[i]});
      out.version = versions_[0];
      if (options.return_state) out.state = states_after();
      return finish_unwritten({}, std::move(out));
    }
    request.options.command = options.command;
    if (auto r = core_.append(request, *this)) on_append(std::move(*r), std::move(request));
  }

  /// Answers a command that wrote nothing, unless its command id's record
  /// says it is the resend of one that did.
  void finish_unwritten(error e, dispatch_result out) {
    auto stored = recorded_answer(core_.store(), options, streams_, 0);
    if (!stored) return finish(std::move(stored).error());
    if (*stored) return finish({}, std::move(**stored));
    finish(std::move(e), std::move(out));
  }

  /// The participants' states after the decided events, at their versions.
  std::tuple<state_at<typename As::state>...> states_after() {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::tuple<state_at<typename As::state>...>{[&] {
        using A = std::tuple_element_t<I, std::tuple<As...>>;
        state_at<typename A::state> at{*std::get<I>(states_), versions_[I]};
        for (const auto& e : std::get<I>(decided_))
          A::apply(at.state, e);
        at.version += std::get<I>(decided_).size();
        return at;
      }()...};
    }
    (indices{});
  }

  /// Adds participant I's write: its events, or, when it got none, the
  /// condition that its stream is still at the version decide read.
  template <std::size_t I, class D>
  void encode(D& d, append_request& request, bool& writes) {
    using A = std::tuple_element_t<I, std::tuple<As...>>;
    auto events = std::move(d).events();
    stream_write w{
        streams_[I],
        versions_[I] == 0 ? expected_version::no_stream() : expected_version::exact(versions_[I]),
        {}};
    w.events.reserve(events.size());
    for (const auto& e : events)
      w.events.push_back(codec<typename A::event>::encode(e, event_metadata()));
    writes = writes || !events.empty();
    request.writes.push_back(std::move(w));
    std::get<I>(decided_) = std::move(events);
  }

  void on_append(result<append_result> r, append_request request) {
    if (r && !r->already_appended) {
      dispatch_result out;
      out.events = recorded(request, *r);
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t v = versions_[i];
        for (const auto& range : r->streams)
          if (range.stream == streams_[i]) v = range.last_version;
        out.streams.push_back({streams_[i], v});
      }
      out.version = out.streams[0].version;
      if (options.return_state) {
        try {
          out.state = states_after();
        } catch (...) {  // apply threw: the instances reload when they see it
        }
      }
      core_.committed(out.events);
      return advance(std::move(out));
    }
    if (r) {
      auto out = stored_result(core_.store(), *r);
      if (!out) return finish(std::move(out).error());
      return finish({}, std::move(*out));
    }
    if (r.error() == errc::concurrency_conflict && attempt_ < retry_.max_attempts) {
      timer_.expires_after(retry_.backoff(attempt_, random01()));
      ++attempt_;
      clear();
      return timer_.async_wait(asio::bind_executor(
          core_.executor(), [this](const boost::system::error_code&) { gather(); }));
    }
    finish(std::move(r).error());
  }

  /// Lets each live instance apply its events, then answers.
  void advance(dispatch_result out) {
    result_ = std::move(out);
    left_.store(n);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (boost::asio::post(std::get<I>(instances_)->strand,
                         [this] {
                           auto& inst = *std::get<I>(instances_);
                           if (!std::get<I>(decided_).empty()) {
                             try {
                               inst.evolve(versions_[I] + 1, std::get<I>(decided_));
                             } catch (...) {  // it reloads before its next command
                             }
                           }
                           if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1)
                             finish({}, std::move(result_));
                         }),
       ...);
    }
    (indices{});
  }

  void clear() {
    failed_.reset();
    states_ = {};
    decided_ = {};
  }

  void finish(error e, dispatch_result out = {}) {
    auto instances = std::move(instances_);
    std::apply(
        [](auto&... inst) {
          ((inst ? (inst->pending.fetch_sub(1, std::memory_order_release),
                    inst->last_used_ns.store(steady_now_ns(), std::memory_order_relaxed))
                 : void()),
           ...);
        },
        instances);
    answer(std::move(e), std::move(out));  // may delete *this
  }

  Decide decide_;
  std::array<factum::stream_id, n> streams_;
  std::tuple<std::shared_ptr<instance<As>>...> instances_;
  std::tuple<std::optional<typename As::state>...> states_;
  std::array<std::uint64_t, n> versions_{};
  std::tuple<std::vector<typename As::event>...> decided_;
  std::atomic<std::size_t> left_{0};
  std::mutex mutex_;
  std::optional<error> failed_;
  std::uint32_t attempt_ = 1;
  retry_policy retry_;
  dispatch_result result_;
  timer_type timer_;
};

}  // namespace factum::detail
