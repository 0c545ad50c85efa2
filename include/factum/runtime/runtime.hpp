#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <factum/domain/aggregate.hpp>
#include <factum/runtime/detail/answer.hpp>
#include <factum/runtime/detail/command.hpp>
#include <factum/runtime/detail/core.hpp>
#include <factum/runtime/detail/instance.hpp>
#include <factum/runtime/dispatch.hpp>
#include <factum/runtime/middleware.hpp>
#include <factum/runtime/options.hpp>

namespace factum {

/// The write side: a thread pool, an event store, and the live aggregates.
///
/// Live instances sit in a registry split into partitions by a hash of their
/// stream id; each owns an Asio strand, so commands to one aggregate run one
/// at a time and different aggregates run in parallel. An instance is loaded
/// on its first command (latest snapshot plus the events after it) and
/// passivated after its TTL of idleness.
///
/// ```
/// factum::runtime rt{factum::sqlite_store{"bank.db"}};
/// rt.dispatch<bank::account>("acc-1", bank::deposit{100},
///     [](std::error_code ec, factum::dispatch_result r) { ... });
/// auto f = rt.dispatch<bank::account>("acc-1", bank::deposit{5}, boost::asio::use_future);
/// auto r = co_await rt.dispatch<bank::account>("acc-1", cmd, boost::asio::use_awaitable);
/// ```
/// With a callback the completion is `void(std::error_code, dispatch_result)`;
/// a rejection is an error code in `factum::domain_category()` and the
/// result's `rejection` holds the aggregate's code and message. With
/// `use_future` and `use_awaitable` an error is thrown as a
/// `factum::system_error` (code and message).
class runtime {
 public:
  /// Takes the store (moved in) or shares one.
  template <class Store>
  requires std::derived_from<std::remove_cvref_t<Store>, event_store> &&
      (!std::is_lvalue_reference_v<Store>)explicit runtime(Store&& store,
                                                           runtime_options options = {})
      : runtime(std::make_shared<std::remove_cvref_t<Store>>(std::move(store)),
                std::move(options)) {}
  explicit runtime(std::shared_ptr<event_store> store, runtime_options options = {})
      : core_(std::make_unique<detail::core>(std::move(store), std::move(options))),
        sweep_strand_(boost::asio::make_strand(core_->executor())),
        sweep_timer_(core_->timer_executor()) {
    arm_sweep();
  }
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;
  /// Stops (answering every command in flight) and joins the threads.
  ~runtime() {
    stop();
    core_->pool().join();
  }

  /// Options of one aggregate type (TTL, snapshots, retries); affects the
  /// instances loaded afterwards.
  template <checked_aggregate A>
  void configure(aggregate_options options) {
    if constexpr (!snapshottable<A>) {
      if (options.snapshot_every != 0)
        throw factum::system_error(
            error{errc::invalid_argument,
                  std::string("snapshots of '") + std::string(A::category) +
                      "' need a state nlohmann/json can convert, or encode_state/decode_state"});
    }
    core_->set_aggregate_options(A::category, std::move(options));
  }

  /// Adds a middleware; all middleware is added before the first dispatch.
  void use(std::shared_ptr<middleware> m) { core_->use(std::move(m)); }
  /// Adds what strong consistency waits for (the read side does this).
  void add_consistency_gate(std::shared_ptr<consistency_gate> g) { core_->add_gate(std::move(g)); }
  /// Adds a function told about every append this runtime makes (see
  /// `commit_listener`); added before the first dispatch.
  void add_commit_listener(commit_listener l) { core_->add_commit_listener(std::move(l)); }

  /// Runs `command` on the aggregate `A` with id `id`; see the class comment
  /// for the completion.
  template <checked_aggregate A, class Token>
  auto dispatch(std::string_view id, typename A::command command, dispatch_options options,
                Token&& token) {
    return boost::asio::async_initiate<Token, detail::completion_signature<Token, dispatch_result>>(
        [this](auto handler, std::string id, typename A::command command,
               dispatch_options options) {
          start<detail::throwing_token<std::decay_t<Token>>, A>(
              std::move(handler), std::array<std::string, 1>{std::move(id)},
              detail::execute_command<A>{std::move(command)}, std::move(options));
        },
        token, std::string(id), std::move(command), std::move(options));
  }
  template <checked_aggregate A, class Token>
  auto dispatch(std::string_view id, typename A::command command, Token&& token) {
    return dispatch<A>(id, std::move(command), dispatch_options{}, std::forward<Token>(token));
  }

  /// A multi-stream command: reads the states of several aggregates, decides
  /// events for each, and appends them all atomically (an expected version
  /// per stream), retrying on a conflict. `decide(const As::state&...)`
  /// returns `factum::decisions<As...>`; a rejection in any of them refuses
  /// the whole command.
  /// ```
  /// rt.transact<bank::account, bank::account>({"acc-1", "acc-2"},
  ///     [](const auto& from, const auto& to) -> factum::decisions<bank::account, bank::account> {
  ///       if (from.balance < 10) return {factum::reject("insufficient_funds"), {}};
  ///       return {bank::money_withdrawn{10}, bank::money_deposited{10}};
  ///     }, token);
  /// ```
  template <checked_aggregate... As, class Decide, class Token>
  requires(sizeof...(As) > 0) auto transact(std::array<std::string, sizeof...(As)> ids,
                                            Decide decide, dispatch_options options,
                                            Token&& token) {
    static_assert(
        std::is_invocable_r_v<decisions<As...>, const Decide&, const typename As::state&...>,
        "factum transact: decide must take `const A::state&` of each aggregate and "
        "return factum::decisions<A...>");
    return boost::asio::async_initiate<Token, detail::completion_signature<Token, dispatch_result>>(
        [this](auto handler, std::array<std::string, sizeof...(As)> ids, Decide decide,
               dispatch_options options) {
          start<detail::throwing_token<std::decay_t<Token>>, As...>(
              std::move(handler), std::move(ids), std::move(decide), std::move(options));
        },
        token, std::move(ids), std::move(decide), std::move(options));
  }
  template <checked_aggregate... As, class Decide, class Token>
  auto transact(std::array<std::string, sizeof...(As)> ids, Decide decide, Token&& token) {
    return transact<As...>(std::move(ids), std::move(decide), dispatch_options{},
                           std::forward<Token>(token));
  }

  /// Stops taking commands (they complete with `errc::stopped`), waits until
  /// every command in flight has its answer, and passivates every live
  /// instance (saving snapshots where configured). Idempotent.
  void stop() {
    std::lock_guard lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    core_->stop_and_drain();
    boost::asio::post(sweep_strand_, [this] { sweep_timer_.cancel(); });
    std::lock_guard sweeping(sweep_mutex_);
    std::vector<std::shared_ptr<detail::instance_base>> all;
    for (auto& p : core_->partitions()) {
      std::lock_guard plock(p.mutex);
      for (auto& [key, inst] : p.live)
        all.push_back(std::move(inst));
      p.live.clear();
    }
    // On each strand: the last command's tail may still be running there.
    std::atomic<std::size_t> left{all.size()};
    std::promise<void> done;
    for (auto& inst : all)
      boost::asio::post(inst->strand, [&, inst] {
        inst->passivate();
        if (left.fetch_sub(1) == 1) done.set_value();
      });
    if (!all.empty()) done.get_future().wait();
    core_->stop_committer();
  }

  /// Passivates the instances idle past their TTL (scaled by the memory
  /// pressure), longest idle first; returns how many. The runtime calls it
  /// every `sweep_interval`; tests may call it directly.
  std::size_t sweep() {
    std::lock_guard sweeping(sweep_mutex_);
    if (core_->stopped()) return 0;
    const double used = core_->options().memory.probe();
    const auto& m = core_->options().memory;
    const memory_pressure level = used >= m.critical   ? memory_pressure::critical
                                  : used >= m.elevated ? memory_pressure::elevated
                                                       : memory_pressure::normal;
    if (core_->pressure.exchange(level) != level)
      detail::count(core_->telemetry(), "factum.runtime.memory_pressure.count",
                    {{"level", level == memory_pressure::critical   ? "critical"
                               : level == memory_pressure::elevated ? "elevated"
                                                                    : "normal"}});
    const double factor = level == memory_pressure::critical   ? 0.1
                          : level == memory_pressure::elevated ? 0.5
                                                               : 1.0;
    const std::int64_t now = detail::steady_now_ns();
    std::vector<std::pair<std::int64_t, std::shared_ptr<detail::instance_base>>> idle;
    for (auto& p : core_->partitions()) {
      std::lock_guard lock(p.mutex);
      for (auto& [key, inst] : p.live) {
        if (inst->pending.load(std::memory_order_acquire) != 0) continue;
        const std::int64_t for_ns = now - inst->last_used_ns.load(std::memory_order_relaxed);
        if (static_cast<double>(for_ns) >= static_cast<double>(inst->ttl_ms) * 1e6 * factor)
          idle.emplace_back(for_ns, inst);
      }
    }
    std::sort(idle.begin(), idle.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    const std::size_t cap = core_->options().max_passivations_per_sweep;
    std::size_t done = 0;
    for (auto& [for_ns, inst] : idle) {
      if (cap != 0 && done == cap) break;
      auto& p = core_->partition_of(inst->key());
      {
        std::lock_guard lock(p.mutex);
        auto it = p.live.find(inst->key());
        if (it == p.live.end() || it->second != inst ||
            inst->pending.load(std::memory_order_acquire) != 0)
          continue;  // a command arrived meanwhile: it stays live
        p.live.erase(it);
      }
      auto strand = inst->strand;
      boost::asio::post(strand, [inst = std::move(inst)] { inst->passivate(); });
      ++done;
    }
    return done;
  }

  /// The state and version of aggregate `A` with id `id`, as an asynchronous
  /// operation: on the instance's strand (not in its command queue, so
  /// possibly while one of its commands waits for its commit) the live
  /// instance (loaded when it is not live) catches up with every event the
  /// store holds for it, and the completion gets that state and version.
  /// It sees every command acknowledged before the call, this runtime's or
  /// another's. The completion is `void(std::error_code, state_at<A::state>)`
  /// (with `use_future` / `use_awaitable`, an error is thrown).
  /// ```
  /// rt.state_of<bank::account>("acc-1", [](std::error_code ec, auto at) {
  ///   if (!ec) std::cout << at.state.balance << " at version " << at.version << '\n';
  /// });
  /// auto at = co_await rt.state_of<bank::account>("acc-1", boost::asio::use_awaitable);
  /// ```
  template <checked_aggregate A, class Token>
  auto state_of(std::string_view id, Token&& token) {
    using value = state_at<typename A::state>;
    return boost::asio::async_initiate<Token, detail::completion_signature<Token, value>>(
        [this](auto handler, std::string id) {
          auto work =
              boost::asio::prefer(boost::asio::get_associated_executor(handler, core_->executor()),
                                  boost::asio::execution::outstanding_work.tracked);
          read_state<A>(
              id, [handler = std::move(handler), work = std::move(work)](result<value> r) mutable {
                auto call = [handler = std::move(handler), r = std::move(r)]() mutable {
                  constexpr bool throwing = detail::throwing_token<std::decay_t<Token>>;
                  if (!r) {
                    if constexpr (throwing)
                      handler(std::make_exception_ptr(factum::system_error(std::move(r).error())),
                              value{});
                    else
                      handler(r.error().code(), value{});
                  } else if constexpr (throwing) {
                    handler(nullptr, std::move(*r));
                  } else {
                    handler(std::error_code{}, std::move(*r));
                  }
                };
                boost::asio::post(work, std::move(call));
              });
        },
        token, std::string(id));
  }

  /// `state_of` for a thread that may block: waits for the answer. From a
  /// thread of the runtime's pool it would wait for work that thread has to
  /// do, so there it refuses with `errc::invalid_argument`: use the token form.
  template <checked_aggregate A>
  result<state_at<typename A::state>> state_of(std::string_view id) {
    if (core_->executor().running_in_this_thread())
      return error{errc::invalid_argument,
                   "state_of without a completion token blocks; on a runtime thread it would "
                   "wait for itself: pass a completion token"};
    std::promise<result<state_at<typename A::state>>> promise;
    read_state<A>(id,
                  [&](result<state_at<typename A::state>> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  /// True when aggregate `A` with id `id` has a live instance.
  template <checked_aggregate A>
  [[nodiscard]] bool is_live(std::string_view id) {
    const stream_id stream = stream_of<A>(id);
    auto& p = core_->partition_of(stream.view());
    std::lock_guard lock(p.mutex);
    return p.live.contains(stream.view());
  }

  /// How many aggregate instances are live.
  [[nodiscard]] std::size_t live_count() {
    std::size_t n = 0;
    for (auto& p : core_->partitions()) {
      std::lock_guard lock(p.mutex);
      n += p.live.size();
    }
    return n;
  }
  /// The memory pressure the last sweep measured.
  [[nodiscard]] memory_pressure pressure() const noexcept { return core_->pressure.load(); }
  [[nodiscard]] event_store& store() noexcept { return core_->store(); }
  /// The sink of `runtime_options::telemetry` (null when none).
  [[nodiscard]] const std::shared_ptr<telemetry_sink>& telemetry() const noexcept {
    return core_->options().telemetry;
  }
  [[nodiscard]] const std::shared_ptr<event_store>& shared_store() noexcept {
    return core_->shared_store();
  }
  /// The pool's executor, for work that should run on the runtime's threads.
  [[nodiscard]] boost::asio::thread_pool::executor_type get_executor() noexcept {
    return core_->executor();
  }

 private:
  /// Every command, single- or multi-stream, starts here (see detail::command).
  template <bool Throwing, aggregate... As, class Handler, class Decide>
  void start(Handler handler, std::array<std::string, sizeof...(As)> ids, Decide decide,
             dispatch_options options) {
    using op_t = detail::with_handler<detail::command<Decide, As...>, Handler, Throwing>;
    auto* op = new op_t(std::move(handler), *core_, std::move(decide), std::move(options));
    if (!core_->enter()) return op->refuse(error{errc::stopped, "dispatch after stop()"});
    op->start(std::move(ids), [this]<class A>(const stream_id& s) { return acquire<A>(s); });
  }

  /// Reads `A`'s state with id `id` on its strand (see `state_of`) and
  /// calls `done(result)` there, or at once when refused.
  template <checked_aggregate A, class Done>
  void read_state(std::string_view id, Done done) {
    if (id.empty())
      return done(
          error{errc::invalid_stream_id, "an empty id for '" + std::string(A::category) + "'"});
    const stream_id stream = stream_of<A>(id);
    if (auto ok = stream.validate(); !ok) return done(std::move(ok).error());
    if (!core_->enter()) {
      core_->leave();
      return done(error{errc::stopped, "state_of after stop()"});
    }
    auto inst = acquire<A>(stream);
    if (!inst) {
      core_->leave();
      return done(std::move(inst).error());
    }
    boost::asio::post((*inst)->strand, [this, i = *inst, done = std::move(done)]() mutable {
      auto r = [&]() -> result<state_at<typename A::state>> {
        if (auto ok = i->ensure_loaded(true); !ok) return std::move(ok).error();
        return state_at<typename A::state>{i->state(), i->version()};
      }();
      i->last_used_ns.store(detail::steady_now_ns(), std::memory_order_relaxed);
      i->pending.fetch_sub(1, std::memory_order_release);
      done(std::move(r));
      core_->leave();
    });
  }

  /// The live instance of `stream`, created when there is none, with its
  /// pending count raised (so it is not passivated under the command).
  template <checked_aggregate A>
  result<std::shared_ptr<detail::instance<A>>> acquire(const stream_id& stream) {
    auto& p = core_->partition_of(stream.view());
    std::lock_guard lock(p.mutex);
    if (auto it = p.live.find(stream.view()); it != p.live.end()) {
      if (it->second->type_tag != &detail::type_tag_of<A>)
        return error{errc::invalid_argument, "stream '" + stream.str() +
                                                 "' is live as another aggregate type: two "
                                                 "aggregate types share the category '" +
                                                 std::string(A::category) + "'"};
      it->second->pending.fetch_add(1, std::memory_order_relaxed);
      return std::static_pointer_cast<detail::instance<A>>(it->second);
    }
    auto inst =
        std::make_shared<detail::instance<A>>(*core_, boost::asio::make_strand(core_->executor()),
                                              stream, core_->aggregate_options_of(A::category));
    inst->pending.fetch_add(1, std::memory_order_relaxed);
    p.live.emplace(inst->key(), inst);
    return inst;
  }

  void arm_sweep() {
    sweep_timer_.expires_after(core_->options().sweep_interval);
    sweep_timer_.async_wait(
        boost::asio::bind_executor(sweep_strand_, [this](const boost::system::error_code& ec) {
          if (ec || core_->stopped()) return;
          sweep();
          arm_sweep();
        }));
  }

  std::unique_ptr<detail::core> core_;
  detail::strand_type sweep_strand_;
  detail::timer_type sweep_timer_;
  std::mutex sweep_mutex_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace factum
