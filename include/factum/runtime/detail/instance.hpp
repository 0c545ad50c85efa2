#pragma once

#include <any>
#include <array>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <factum/core/codec.hpp>
#include <factum/domain/aggregate.hpp>
#include <factum/domain/rejection_error.hpp>
#include <factum/runtime/detail/answer.hpp>
#include <factum/runtime/detail/core.hpp>
#include <factum/runtime/snapshots.hpp>

namespace factum::detail {

template <class A>
inline constexpr char type_tag_of = 0;  ///< its address tells aggregate types apart

template <aggregate A>
class instance;

/// A command for one aggregate, queued on its instance until its turn.
template <aggregate A>
class command_op : public answer_base, public commit_waiter {
 public:
  command_op(core& c, typename A::command cmd, dispatch_options opts)
      : answer_base(c, std::move(opts)), cmd(std::move(cmd)) {}

  void committed(result<append_result> r, append_request request) override {
    asio::post(inst->strand, [this, r = std::move(r), request = std::move(request)]() mutable {
      inst->on_append(*this, std::move(r), std::move(request));
    });
  }

  std::shared_ptr<instance<A>> inst;
  typename A::command cmd;

 protected:
  [[nodiscard]] std::type_index command_type() const override { return command_type_of(cmd); }
  [[nodiscard]] const void* command_pointer() const override { return command_pointer_of(cmd); }

 public:
  command_op* next = nullptr;
  std::uint32_t attempt = 1;
  std::uint64_t digest = 0;                ///< of `cmd`, recorded with its command id
  std::vector<typename A::event> decided;  ///< waiting for their append to commit
  std::unique_ptr<timer_type> backoff;
};

/// A live aggregate: its state and stream version, and the commands waiting
/// for their turn. Everything but the constructor runs on its strand.
template <aggregate A>
class instance final : public instance_base {
  using codec = factum::codec<typename A::event>;

 public:
  instance(core& c, strand_type s, factum::stream_id stream,
           std::shared_ptr<const aggregate_options> options)
      : instance_base(std::move(s), &type_tag_of<A>, options->ttl),
        core_(c),
        stream_(std::move(stream)),
        options_(std::move(options)) {}

  [[nodiscard]] std::string_view key() const noexcept override { return stream_.view(); }
  [[nodiscard]] const factum::stream_id& stream() const noexcept { return stream_; }
  [[nodiscard]] const typename A::state& state() const noexcept { return state_; }
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }

  /// Queues a command; runs it now when the instance is idle.
  void enqueue(command_op<A>& op) {
    if (busy_) {
      (tail_ ? tail_->next : head_) = &op;
      tail_ = &op;
      return;
    }
    busy_ = true;
    process(op);
  }

  /// Loads the instance when it is not loaded; with `catch_up`, also reads
  /// the events another writer appended since.
  result<void> ensure_loaded(bool catch_up) {
    if (!loaded_) return load();
    if (catch_up) return this->catch_up();
    return {};
  }

  /// The one way a loaded instance's state moves on: the events stored at
  /// versions `first_version`, `first_version + 1`, ... are applied only
  /// when `first_version` is exactly the instance's version + 1. Anything
  /// else (the instance already read them, or misses some before them)
  /// catches up from the store instead, so no event is applied twice or
  /// skipped. True when the events were applied here.
  bool evolve(std::uint64_t first_version, const std::vector<typename A::event>& events) {
    if (!loaded_) return false;  // the next use loads from the store
    if (first_version != version_ + 1) {
      (void)catch_up();  // on failure it unloads: the next use reloads
      return false;
    }
    try {
      for (const auto& e : events)
        A::apply(state_, e);
    } catch (...) {
      loaded_ = false;
      throw;
    }
    version_ += events.size();
    maybe_snapshot();
    return true;
  }

  void passivate() override {
    if (loaded_ && options_->snapshot_every != 0 && version_ > snapshot_version_) save_snapshot();
    detail::count(core_.telemetry(), "factum.aggregate.passivate.count", tags());
  }

  void on_append(command_op<A>& op, result<append_result> r, append_request request) {
    if (r && !r->already_appended) {
      const std::uint64_t first = r->streams.front().first_version;
      const std::uint64_t last = r->streams.front().last_version;
      try {
        evolve(first, op.decided);
      } catch (...) {
        return finish(op, error{errc::domain_exception,
                                "apply threw after the events were stored at version " +
                                    std::to_string(last) + " of '" + stream_.str() +
                                    "': " + describe(std::current_exception()) +
                                    "; the instance will reload from the store"});
      }
      dispatch_result out;
      out.version = last;
      out.streams.push_back({stream_, last});
      out.events = recorded(request, *r);
      if (op.options.return_state && loaded_)
        out.state = state_at<typename A::state>{state_, version_};
      core_.committed(out.events);
      return finish(op, {}, std::move(out));
    }
    if (r) {  // a replay: the command or its events were stored before
      if (auto ok = catch_up(); !ok) return finish(op, std::move(ok).error());
      return answer_stored(op, *r);
    }
    if (r.error() == errc::concurrency_conflict) {
      if (auto ok = catch_up(); !ok) return finish(op, std::move(ok).error());
      if (op.attempt < options_->retry->max_attempts) return retry(op);
      error e = std::move(r).error();
      return finish(op, error{e.code(), e.context() + " (after " + std::to_string(op.attempt) +
                                            " attempts)"});
    }
    if (r.error() == errc::command_id_conflict || r.error() == errc::event_id_conflict)
      return finish(op, std::move(r).error());  // refused before writing: the state stands
    // The append may or may not have committed (an I/O error at commit):
    // reload from the store before the next command.
    loaded_ = false;
    finish(op, std::move(r).error());
  }

  /// With `return_state`: the state and version now.
  [[nodiscard]] std::any state_now() const { return state_at<typename A::state>{state_, version_}; }

 private:
  static constexpr span_names load_names = FACTUM_TELEMETRY_SPAN("aggregate", "load");
  static constexpr span_names execute_names = FACTUM_TELEMETRY_SPAN("aggregate", "execute");
  static constexpr span_names snapshot_load_names = FACTUM_TELEMETRY_SPAN("snapshot", "load");
  static constexpr span_names snapshot_save_names = FACTUM_TELEMETRY_SPAN("snapshot", "save");

  [[nodiscard]] std::array<telemetry_tag, 2> tags() const noexcept {
    return {{{"aggregate", A::category}, {"stream", stream_.view()}}};
  }

  result<void> load() {
    telemetry_span span{core_.telemetry(), load_names, tags()};
    state_ = typename A::state{};
    version_ = 0;
    snapshot_version_ = 0;
    if constexpr (snapshottable<A>) {
      if (options_->snapshot_every != 0) {
        if (auto ok = load_snapshot(); !ok) {
          span.fail(ok.error().message());
          return ok;
        }
      }
    }
    loaded_ = true;
    if (auto r = catch_up(); !r) {
      loaded_ = false;
      span.fail(r.error().message());
      return r;
    }
    span.stop(version_ - snapshot_version_);
    detail::count(core_.telemetry(), "factum.aggregate.activate.count", tags());
    return {};
  }

  /// Starts from the latest snapshot, when there is one that decodes.
  result<void> load_snapshot() {
    telemetry_span span{core_.telemetry(), snapshot_load_names, tags()};
    auto s = core_.store().load_snapshot(stream_, snapshot_schema_of<A>());
    if (!s) {
      span.fail(s.error().message());
      return std::move(s).error();
    }
    if (!*s) {
      span.tag({"outcome", "none"});
      span.stop();
      return {};
    }
    auto decoded = decode_state<A>((*s)->state);
    if (!decoded) {  // an undecodable snapshot is ignored: the events are the truth
      span.fail("the snapshot does not decode; replaying the events");
      return {};
    }
    state_ = std::move(*decoded);
    version_ = snapshot_version_ = (*s)->version;
    span.stop(0, (*s)->state.size());
    return {};
  }

  /// Applies the stream's events after the instance's version.
  result<void> catch_up() {
    std::optional<error> failed;
    auto seen = core_.store().scan_stream(stream_, version_ + 1, [&](const recorded_event& e) {
      if (failed) return;
      auto event = codec::decode(e);
      if (!event) {
        failed = std::move(event).error();
        return;
      }
      if (e.version != version_ + 1) {
        failed = error{errc::storage_corrupt, "stream '" + stream_.str() + "' read version " +
                                                  std::to_string(e.version) + " after " +
                                                  std::to_string(version_)};
        return;
      }
      try {
        A::apply(state_, *event);
      } catch (...) {
        failed = error{errc::domain_exception, "apply threw on '" + stream_.str() + "' version " +
                                                   std::to_string(e.version) + ": " +
                                                   describe(std::current_exception())};
        return;
      }
      version_ = e.version;
    });
    if (!seen) failed = std::move(seen).error();
    if (failed) {
      loaded_ = false;
      return std::move(*failed);
    }
    return {};
  }

  /// Decides `op` on the live state, then appends what it decided. Its
  /// command id is checked once: by the store, in the append's transaction;
  /// only a command that writes nothing looks its record up (a resend of a
  /// command that wrote is answered from the record, not decided anew).
  void process(command_op<A>& op) {
    if (!loaded_) {
      if (auto r = load(); !r) return finish(op, std::move(r).error());
    }
    std::vector<event_data> events;
    telemetry_span span{core_.telemetry(), execute_names, tags()};
    try {
      decision<typename A::event> d = A::execute(state_, op.cmd);
      if (d.rejected()) {
        span.tag({"outcome", "rejected"});
        span.stop();
        dispatch_result out;
        out.version = version_;
        out.streams.push_back({stream_, version_});
        out.rejection = d.rejection();
        error e{make_error_code(d.rejection()), d.rejection().message};
        return finish_unwritten(op, std::move(e), std::move(out));
      }
      op.decided = std::move(d).events();
      events.reserve(op.decided.size());
      for (const auto& e : op.decided)
        events.push_back(codec::encode(e, op.event_metadata()));
      span.stop(events.size());
    } catch (...) {
      loaded_ = false;  // no half-applied state survives: reload next time
      error e{errc::domain_exception,
              "execute on '" + stream_.str() + "' threw: " + describe(std::current_exception())};
      span.fail(e.message());
      return finish(op, std::move(e));
    }
    if (events.empty()) {
      dispatch_result out;
      out.version = version_;
      out.streams.push_back({stream_, version_});
      if (op.options.return_state) out.state = state_now();
      return finish_unwritten(op, {}, std::move(out));
    }
    append_request request;
    request.writes.push_back(
        {stream_, version_ == 0 ? expected_version::no_stream() : expected_version::exact(version_),
         std::move(events)});
    request.options.command = op.options.command;
    request.options.command_digest = op.digest;
    if (auto r = core_.append(request, op)) on_append(op, std::move(*r), std::move(request));
  }

  /// Answers a command that wrote nothing, unless its command id's record
  /// says it is the resend of one that did.
  void finish_unwritten(command_op<A>& op, error e, dispatch_result out) {
    auto stored = recorded_answer(core_.store(), op.options, {&stream_, 1}, op.digest);
    if (!stored) return finish(op, std::move(stored).error());
    if (*stored) return finish(op, {}, std::move(**stored));
    finish(op, std::move(e), std::move(out));
  }

  void retry(command_op<A>& op) {
    detail::count(core_.telemetry(), "factum.aggregate.retry.count", tags(),
                  "a concurrency conflict");
    const auto wait = options_->retry->backoff(op.attempt, random01());
    ++op.attempt;
    if (!op.backoff) op.backoff = std::make_unique<timer_type>(core_.timer_executor());
    op.backoff->expires_after(wait);
    op.backoff->async_wait(asio::bind_executor(
        strand, [this, &op](const boost::system::error_code&) { process(op); }));
  }

  void answer_stored(command_op<A>& op, const append_result& stored) {
    auto out = stored_result(core_.store(), stored);
    if (!out) return finish(op, std::move(out).error());
    if (out->streams.empty()) out->version = version_;
    finish(op, {}, std::move(*out));
  }

  void maybe_snapshot() {
    if (options_->snapshot_every != 0 && version_ - snapshot_version_ >= options_->snapshot_every)
      save_snapshot();
  }

  void save_snapshot() {
    if constexpr (snapshottable<A>) {
      snapshot s;
      s.stream = stream_;
      s.version = version_;
      s.schema_version = snapshot_schema_of<A>();
      try {
        s.state = encode_state<A>(state_);
      } catch (...) {
        return;  // a snapshot is an optimisation: the events stay the truth
      }
      s.taken_at = std::chrono::system_clock::now();
      telemetry_span span{core_.telemetry(), snapshot_save_names, tags()};
      auto saved = core_.store().save_snapshot(s);
      if (!saved) return span.fail(saved.error().message());
      span.stop(0, s.state.size());
      snapshot_version_ = version_;
    }
  }

  /// Answers `op`, then starts the next queued command.
  void finish(command_op<A>& op, error e, dispatch_result out = {}) {
    last_used_ns.store(steady_now_ns(), std::memory_order_relaxed);
    command_op<A>* next = head_;
    if (next) {
      head_ = next->next;
      if (!head_) tail_ = nullptr;
    }
    auto inst = std::move(op.inst);           // keeps *this alive past the answer
    op.answer(std::move(e), std::move(out));  // may delete op
    inst->pending.fetch_sub(1, std::memory_order_release);
    if (next)  // deferred, not called: a long queue must not grow the stack
      asio::defer(strand, [this, next] { process(*next); });
    else
      busy_ = false;
  }

  core& core_;
  factum::stream_id stream_;
  std::shared_ptr<const aggregate_options> options_;
  typename A::state state_{};
  std::uint64_t version_ = 0;
  std::uint64_t snapshot_version_ = 0;
  command_op<A>* head_ = nullptr;
  command_op<A>* tail_ = nullptr;
  bool loaded_ = false;
  bool busy_ = false;
};

}  // namespace factum::detail
