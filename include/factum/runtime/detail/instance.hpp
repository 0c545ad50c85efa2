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

/// A command waiting in an instance's queue for its turn on the strand.
class queued {
 public:
  /// On the instance's strand, when the command's turn comes; the command
  /// ends its turn with `instance::end_turn` once it is answered.
  virtual void run() = 0;
  queued* next = nullptr;

 protected:
  ~queued() = default;
};

/// A live aggregate: its state and stream version, and the commands waiting
/// for their turn. Everything but the constructor runs on its strand. The
/// commands themselves (deciding, appending, answering) are detail::command.
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

  [[nodiscard]] bool loaded() const noexcept { return loaded_; }
  /// The options of its aggregate type, as they were when it was loaded.
  [[nodiscard]] const aggregate_options& options() const noexcept { return *options_; }

  /// Queues a command; runs it now when the instance is idle.
  void enqueue(queued& op) {
    if (busy_) {
      (tail_ ? tail_->next : head_) = &op;
      tail_ = &op;
      return;
    }
    busy_ = true;
    op.run();
  }

  /// Ends the turn of the command that ran: the next one runs.
  void end_turn() {
    queued* next = head_;
    if (!next) {
      busy_ = false;
      return;
    }
    head_ = next->next;
    if (!head_) tail_ = nullptr;
    // deferred, not called: a long queue must not grow the stack
    asio::defer(strand, [next] { next->run(); });
  }

  /// Forgets the state: the next use loads it from the store again (after
  /// an exception in domain code, or an append whose outcome is unknown).
  void unload() noexcept { loaded_ = false; }

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
  /// skipped.
  void evolve(std::uint64_t first_version, const std::vector<typename A::event>& events) {
    if (!loaded_) return;  // the next use loads from the store
    if (first_version != version_ + 1) {
      (void)catch_up();  // on failure it unloads: the next use reloads
      return;
    }
    try {
      for (const auto& e : events)
        factum::evolve<A>(state_, e);
    } catch (...) {
      loaded_ = false;
      throw;
    }
    version_ += events.size();
    maybe_snapshot();
  }

  void passivate() override {
    if (loaded_ && options_->snapshot_every != 0 && version_ > snapshot_version_) save_snapshot();
    detail::count(core_.telemetry(), "factum.aggregate.passivate.count", tags());
  }

 private:
  static constexpr span_names load_names = FACTUM_TELEMETRY_SPAN("aggregate", "load");
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
        factum::evolve<A>(state_, *event);
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

  core& core_;
  factum::stream_id stream_;
  std::shared_ptr<const aggregate_options> options_;
  typename A::state state_{};
  std::uint64_t version_ = 0;
  std::uint64_t snapshot_version_ = 0;
  queued* head_ = nullptr;
  queued* tail_ = nullptr;
  bool loaded_ = false;
  bool busy_ = false;
};

}  // namespace factum::detail
