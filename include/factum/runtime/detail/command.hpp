#pragma once

#include <any>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <typeindex>
#include <utility>
#include <vector>

#include <factum/core/codec.hpp>
#include <factum/domain/aggregate.hpp>
#include <factum/domain/rejection_error.hpp>
#include <factum/runtime/detail/answer.hpp>
#include <factum/runtime/detail/instance.hpp>
#include <factum/runtime/middleware.hpp>

namespace factum::detail {

/// The decide of a single-stream command: the aggregate's `execute`.
template <aggregate A>
struct execute_command {
  typename A::command cmd;

  decisions<A> operator()(const typename A::state& s) const {
    return decisions<A>{factum::decide<A>(s, cmd)};
  }
};

template <class Decide>
inline constexpr bool is_execute = false;
template <class A>
inline constexpr bool is_execute<execute_command<A>> = true;

/// The command pipeline: every command, on one stream (`dispatch`) or on
/// several (`transact`), is one of these. It reads its participants'
/// states, decides, appends with an expected version for every participant
/// (events where it decided some, a condition where it only read), lets the
/// live instances evolve by the events, and answers; a conflict reads
/// again and decides again under the retry policy of the first aggregate.
///
/// Reading is the one step that differs. A single-stream command waits for
/// its turn in its instance's queue and decides on the live state, on the
/// strand: commands to one aggregate run one after the other and do not
/// conflict with each other. A multi-stream command copies each state on
/// its strand and decides on the pool: it never holds a strand while it
/// decides, and optimistic concurrency (the append's expected versions)
/// makes that safe.
template <class Decide, aggregate... As>
class command : public answer_base, public commit_waiter, public queued {
  static constexpr std::size_t n = sizeof...(As);
  static constexpr bool single = n == 1;
  using indices = std::index_sequence_for<As...>;
  template <std::size_t I>
  using aggregate_at = std::tuple_element_t<I, std::tuple<As...>>;

 public:
  command(core& c, Decide decide, dispatch_options options)
      : answer_base(c, std::move(options)), decide_(std::move(decide)) {
    category = aggregate_at<0>::category;
  }

  /// Checks the ids, runs the middleware's `before`, takes the instances
  /// (`acquire.template operator()<A>(stream)` gives one with its pending
  /// count raised) and starts reading. Answers at once what it refuses.
  template <class Acquire>
  void start(std::array<std::string, n> ids, Acquire&& acquire) {
    try {
      begin(ids, acquire);
    } catch (...) {        // a middleware's before, a command's to_json, an allocation
      if (started) throw;  // handed to a strand already: no longer ours to answer
      finish(error{errc::domain_exception, "starting a command on '" + streams_[0].str() +
                                               "' threw: " + describe(std::current_exception())});
    }
  }

  template <class Acquire>
  void begin(const std::array<std::string, n>& ids, Acquire& acquire) {
    if (auto ok = name_streams(ids); !ok) return answer(std::move(ok).error(), {});
    report_start();
    for (const auto& m : core_.middleware_list()) {
      command_context ctx = context();
      if (auto ok = m->before(ctx); !ok) return answer(std::move(ok).error(), {});
    }
    if constexpr (is_execute<Decide>) {
      if (auto invalid = validate_command(decide_.cmd)) {
        dispatch_result out;
        out.rejection = *invalid;
        error e{make_error_code(*invalid), invalid->message};
        return answer(std::move(e), std::move(out));
      }
      if (options.command) digest_ = command_digest(category, decide_.cmd);
    }
    std::optional<error> failed;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((failed ? void() : [&] {
        auto inst = acquire.template operator()<aggregate_at<I>>(streams_[I]);
        if (!inst)
          failed = std::move(inst).error();
        else
          std::get<I>(instances_) = std::move(*inst);
      }()),
       ...);
    }
    (indices{});
    if (failed) return finish(std::move(*failed));
    retry_ = &*std::get<0>(instances_)->options().retry;
    started = true;
    if constexpr (single) {
      auto& inst = *std::get<0>(instances_);
      asio::post(inst.strand, [this] { std::get<0>(instances_)->enqueue(*this); });
    } else {
      gather();
    }
  }

  /// Answers before the command started (the runtime is stopped).
  void refuse(error e) { answer(std::move(e), {}); }

  /// A single-stream command's turn on its instance's strand: decide on the
  /// live state.
  void run() override {
    if constexpr (single) {
      auto& inst = *std::get<0>(instances_);
      if (auto ok = inst.ensure_loaded(attempt_ > 1); !ok) return finish(std::move(ok).error());
      versions_[0] = inst.version();
      decide(inst.state());
    }
  }

  /// From the group committer's thread: the rest runs where the command
  /// reads its state (the strand of a single-stream command, else the pool).
  void committed(result<append_result> r, append_request request) override {
    asio::post(home(), [this, r = std::move(r), request = std::move(request)]() mutable {
      on_append(std::move(r), std::move(request));
    });
  }

 protected:
  [[nodiscard]] std::type_index command_type() const override {
    if constexpr (is_execute<Decide>)
      return command_type_of(decide_.cmd);
    else
      return typeid(Decide);
  }
  [[nodiscard]] const void* command_pointer() const override {
    if constexpr (is_execute<Decide>)
      return command_pointer_of(decide_.cmd);
    else
      return &decide_;
  }

 private:
  static constexpr span_names execute_names = FACTUM_TELEMETRY_SPAN("aggregate", "execute");

  [[nodiscard]] std::array<telemetry_tag, 2> tags() const noexcept {
    return {{{"aggregate", category}, {"stream", stream.view()}}};
  }

  /// Where the steps after reading run.
  [[nodiscard]] auto home() {
    if constexpr (single)
      return std::get<0>(instances_)->strand;
    else
      return core_.executor();
  }

  result<void> name_streams(const std::array<std::string, n>& ids) {
    std::optional<error> failed;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((failed ? void() : [&] {
        using A = aggregate_at<I>;
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
        for (std::size_t j = 0; j < I; ++j)
          if (streams_[j] == streams_[I])
            failed = error{errc::invalid_argument,
                           "stream '" + streams_[I].str() + "' is named twice in one command"};
      }()),
       ...);
    }
    (indices{});
    stream = streams_[0];
    if (failed) return std::move(*failed);
    return {};
  }

  /// A multi-stream command reads each participant's state and version on
  /// its strand, then decides on the pool.
  void gather() {
    left_.store(n, std::memory_order_relaxed);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (asio::post(std::get<I>(instances_)->strand,
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
                      asio::post(core_.executor(), [this] {
                        if (failed_) return finish(std::move(*failed_));
                        std::apply([&](const auto&... s) { decide(*s...); }, states_);
                      });
                  }),
       ...);
    }
    (indices{});
  }

  /// Decides on the states read, then appends what was decided.
  template <class... States>
  void decide(const States&... states) {
    append_request request;
    bool writes = false;  // whether any participant got events
    std::optional<rejection> refused;
    telemetry_span span{core_.telemetry(), execute_names, tags()};
    try {
      decisions<As...> d = decide_(states...);
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((refused = refused                     ? refused
                    : std::get<I>(d).rejected() ? std::optional{std::get<I>(d).rejection()}
                                                : std::nullopt),
         ...);
        if (!refused) (encode<I>(std::get<I>(d), request, writes), ...);
      }
      (indices{});
      if (refused) {
        span.tag({"outcome", "rejected"});
        span.stop();
      } else {
        span.stop(count_events(request.writes));
      }
    } catch (...) {
      error e{errc::domain_exception, "execute on '" + streams_[0].str() +
                                          "' threw: " + describe(std::current_exception())};
      span.fail(e.message());
      if constexpr (single) std::get<0>(instances_)->unload();  // no half-applied state
      return finish(std::move(e));
    }
    // Answered outside the try: an exception from the answer (middleware,
    // a handler) is not the decision's.
    if (refused) {
      dispatch_result out = versions_now();
      out.rejection = *refused;
      error e{make_error_code(*refused), refused->message};
      return finish_unwritten(std::move(e), std::move(out));
    }
    if (!writes) {
      dispatch_result out = versions_now();
      if (options.return_state) out.state = states_after();
      return finish_unwritten({}, std::move(out));
    }
    request.options.command = options.command;
    request.options.command_digest = digest_;
    if (auto r = core_.append(request, *this)) on_append(std::move(*r), std::move(request));
  }

  /// Adds participant I's write: its events, or, when it got none, the
  /// condition that its stream is still at the version decide read.
  template <std::size_t I, class D>
  void encode(D& d, append_request& request, bool& writes) {
    using A = aggregate_at<I>;
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

  /// The outcome of the append, where the command reads (see `home`).
  void on_append(result<append_result> r, append_request request) {
    if (r && !r->already_appended) {
      dispatch_result out;
      out.events = recorded(request, *r);
      for (std::size_t i = 0; i < n; ++i)
        out.streams.push_back({streams_[i], r->streams[i].last_version});
      out.version = out.streams[0].version;
      core_.committed(out.events);
      result_ = std::move(out);
      return evolve();
    }
    if (r) {  // a replay: the command or its events were stored before
      if constexpr (single) (void)std::get<0>(instances_)->ensure_loaded(true);
      auto out = stored_result(core_.store(), *r);
      if (!out) return finish(std::move(out).error());
      return finish({}, std::move(*out));
    }
    if (r.error() == errc::concurrency_conflict) {
      if (attempt_ < retry_->max_attempts) return retry();  // it reads again, catching up
      on_participants([](auto& inst) { (void)inst.ensure_loaded(true); });
      error e = std::move(r).error();
      return finish(
          error{e.code(), e.context() + " (after " + std::to_string(attempt_) + " attempts)"});
    }
    if (r.error() != errc::command_id_conflict && r.error() != errc::event_id_conflict) {
      // The append may or may not have committed (an I/O error at commit):
      // the participants reload before their next command.
      on_participants([](auto& inst) { inst.unload(); });
    }
    finish(std::move(r).error());
  }

  /// Runs `fn(instance)` for every participant on its strand: at once for a
  /// single-stream command (it is on its strand), posted for the others.
  template <class Fn>
  void on_participants(Fn fn) {
    if constexpr (single) {
      fn(*std::get<0>(instances_));
    } else {
      std::apply([&](auto&... inst) { (asio::post(inst->strand, [inst, fn] { fn(*inst); }), ...); },
                 instances_);
    }
  }

  /// Lets each live instance apply its events (under the version rule of
  /// `instance::evolve`), then answers.
  void evolve() {
    if constexpr (single) {
      auto& inst = *std::get<0>(instances_);
      try {
        inst.evolve(versions_[0] + 1, std::get<0>(decided_));
      } catch (...) {
        return finish(error{errc::domain_exception,
                            "apply threw after the events were stored at version " +
                                std::to_string(result_.version) + " of '" + streams_[0].str() +
                                "': " + describe(std::current_exception()) +
                                "; the instance will reload from the store"});
      }
      if (options.return_state && inst.loaded())
        result_.state = state_at<typename aggregate_at<0>::state>{inst.state(), inst.version()};
      return finish({}, std::move(result_));
    } else {
      if (options.return_state) {
        try {
          result_.state = states_after();
        } catch (...) {  // apply threw: the instances reload when they see it
        }
      }
      left_.store(n, std::memory_order_relaxed);
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (asio::post(std::get<I>(instances_)->strand,
                    [this] {
                      if (!std::get<I>(decided_).empty()) {
                        try {
                          std::get<I>(instances_)->evolve(versions_[I] + 1, std::get<I>(decided_));
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
  }

  /// Waits under the retry policy, then reads (catching up) and decides again.
  void retry() {
    detail::count(core_.telemetry(), "factum.aggregate.retry.count", tags(),
                  "a concurrency conflict");
    const auto wait = retry_->backoff(attempt_, random01());
    ++attempt_;
    decided_ = {};
    if (!timer_) timer_ = std::make_unique<timer_type>(core_.timer_executor());
    timer_->expires_after(wait);
    timer_->async_wait(asio::bind_executor(home(), [this](const boost::system::error_code&) {
      if constexpr (single)
        run();
      else
        gather();
    }));
  }

  /// Answers a command that wrote nothing, unless its command id's record
  /// says it is the resend of one that did.
  void finish_unwritten(error e, dispatch_result out) {
    auto stored = recorded_answer(core_.store(), options, streams_, digest_);
    if (!stored) return finish(std::move(stored).error());
    if (*stored) return finish({}, std::move(**stored));
    finish(std::move(e), std::move(out));
  }

  /// Every participant at the version it was read at.
  [[nodiscard]] dispatch_result versions_now() const {
    dispatch_result out;
    for (std::size_t i = 0; i < n; ++i)
      out.streams.push_back({streams_[i], versions_[i]});
    out.version = versions_[0];
    return out;
  }

  /// `return_state`: the participants' states after the decided events.
  [[nodiscard]] std::any states_after() const {
    if constexpr (single) {
      using A = aggregate_at<0>;
      state_at<typename A::state> at{std::get<0>(instances_)->state(), versions_[0]};
      return at;  // a command that wrote nothing: the live state it read
    } else {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::tuple<state_at<typename As::state>...>{[&] {
          using A = aggregate_at<I>;
          state_at<typename A::state> at{*std::get<I>(states_), versions_[I]};
          for (const auto& e : std::get<I>(decided_))
            factum::evolve<A>(at.state, e);
          at.version += std::get<I>(decided_).size();
          return at;
        }()...};
      }
      (indices{});
    }
  }

  /// Releases the participants and answers; `*this` is gone afterwards. A
  /// single-stream command ends its instance's turn (on its strand).
  void finish(error e, dispatch_result out = {}) {
    auto held = std::move(instances_);
    const bool turn = single && started;   // it had its instance's turn
    answer(std::move(e), std::move(out));  // may delete *this
    std::apply(
        [](auto&... inst) {
          ((inst ? (inst->last_used_ns.store(steady_now_ns(), std::memory_order_relaxed),
                    inst->pending.fetch_sub(1, std::memory_order_release))
                 : 0u),
           ...);
        },
        held);
    if constexpr (single) {
      if (auto& inst = std::get<0>(held); inst && turn) inst->end_turn();
    }
  }

  Decide decide_;
  std::array<factum::stream_id, n> streams_;
  std::tuple<std::shared_ptr<instance<As>>...> instances_;
  std::array<std::uint64_t, n> versions_{};
  std::tuple<std::vector<typename As::event>...> decided_;
  std::uint64_t digest_ = 0;
  std::uint32_t attempt_ = 1;
  const retry_policy* retry_ = nullptr;  ///< the first participant's, shared by its type
  dispatch_result result_;
  std::unique_ptr<timer_type> timer_;
  // Gathering (multi-stream commands only).
  std::tuple<std::optional<typename As::state>...> states_;
  std::atomic<std::size_t> left_{0};
  std::mutex mutex_;
  std::optional<error> failed_;
};

}  // namespace factum::detail
