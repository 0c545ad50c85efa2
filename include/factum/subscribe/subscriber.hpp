#pragma once

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <factum/core/codec.hpp>
#include <factum/core/event.hpp>
#include <factum/core/result.hpp>
#include <factum/core/stream_id.hpp>
#include <factum/runtime/options.hpp>

namespace factum {

/// The event types a subscriber is interested in: the C++ event structs.
/// ```
/// struct notifier {
///   static constexpr std::string_view name = "notifier";
///   using interested_in = factum::events<bank::money_withdrawn>;
///   void handle(const bank::money_withdrawn& e, const factum::recorded_event& where);
/// };
/// ```
template <class... Es>
struct events {
  static_assert(sizeof...(Es) > 0, "factum::events needs at least one event type");
  static_assert((detail::check_registered<Es>() && ...));
  using variant = std::variant<Es...>;
  /// Their stored names, older names (renamed types) included.
  [[nodiscard]] static std::vector<std::string> names() {
    std::vector<std::string> out;
    (
        [&] {
          for (auto& n : stored_names_of<Es>())
            out.push_back(std::move(n));
        }(),
        ...);
    return out;
  }
};

/// A stream a subscriber holds behind a dead letter: when the subscriber
/// gives up on an event, the later events of its stream wait, in order,
/// until the letter is retried, skipped or removed; other streams go on.
struct parked_stream {
  std::string subscriber;
  factum::stream_id stream;
  std::uint64_t letter = 0;   ///< the dead letter it waits behind
  std::uint64_t version = 0;  ///< that letter's event's version in the stream
  std::uint64_t waiting = 0;  ///< events of the subscriber's types held behind it

  friend bool operator==(const parked_stream&, const parked_stream&) = default;
};

/// Where a subscriber with no checkpoint starts.
enum class start_from {
  origin,  ///< the first event of the store
  now,     ///< the events appended after it subscribed
};

/// How one subscription behaves.
struct subscription_options {
  /// Where it starts when it has no checkpoint yet; with one it resumes there.
  factum::start_from start_from = start_from::origin;
  /// Strong: a `dispatch` with `consistency::strong` answers only once this
  /// subscriber handled the command's events of its types.
  bool strong = false;
  /// How often a failing event is tried (with backoff and jitter) before it
  /// goes to the dead letters and the subscriber moves on.
  retry_policy retry{5, std::chrono::milliseconds{10}, 2.0, std::chrono::seconds{5}, 0.2};
  /// Events read from the store per step when catching up, and handled (and
  /// checkpointed) at most per step when live.
  std::size_t batch_size = 500;
  /// Live events waiting at most; beyond that the subscriber drops its live
  /// queue and catches up from the store instead (writers never wait).
  std::size_t queue_capacity = 10'000;
  /// Runs in one process at a time among all that share the store: the
  /// others wait, and one of them takes over (from the stored checkpoint)
  /// when the owner stops or dies. For projections and process managers
  /// on PostgreSQL (an advisory lock, see `event_store::try_own`).
  bool single_owner = false;
  /// How often a waiting single-owner subscriber tries to win the claim.
  std::chrono::milliseconds claim_interval{1000};
};

namespace detail {

template <class T>
struct is_events : std::false_type {};
template <class... Es>
struct is_events<events<Es...>> : std::true_type {};

template <class S>
concept has_name = requires {
  { S::name } -> std::convertible_to<std::string_view>;
};
template <class S>
concept has_typed_interest = is_events<typename S::interested_in>::value;

/// An untyped subscriber names the stored types it wants (an empty list:
/// every type): `static constexpr std::array<std::string_view, 1>
/// interested_in{"MoneyDeposited"};`.
template <class S>
concept has_named_interest = requires {
  std::begin(S::interested_in);
  std::end(S::interested_in);
  { *std::begin(S::interested_in) } -> std::convertible_to<std::string_view>;
};

template <class S>
std::vector<std::string> interest_names() {
  if constexpr (has_typed_interest<S>) {
    return S::interested_in::names();
  } else {
    std::vector<std::string> out;
    for (const auto& n : S::interested_in)
      out.emplace_back(std::string_view(n));
    return out;
  }
}

template <class S, class E>
concept handles_one = requires(S& s, const E& e, const recorded_event& r) {
  s.handle(e, r);
}
|| requires(S& s, const E& e) {
  s.handle(e);
};

template <class S, class List>
struct handles_all;
template <class S, class... Es>
struct handles_all<S, events<Es...>> : std::bool_constant<(handles_one<S, Es> && ...)> {};

template <class S, class W, class E>
concept projects_one = requires(S& s, W& w, const E& e, const recorded_event& r) {
  s.project(w, e, r);
}
|| requires(S& s, W& w, const E& e) {
  s.project(w, e);
};

template <class S, class W, class List>
struct projects_all;
template <class S, class W, class... Es>
struct projects_all<S, W, events<Es...>> : std::bool_constant<(projects_one<S, W, Es> && ...)> {};

/// Calls `f(s, e, r)` with or without the recorded event, and turns a
/// `result<void>` return into the result (void: success).
template <class F>
result<void> as_result(F&& f) {
  using R = decltype(f());
  if constexpr (std::is_void_v<R>) {
    f();
    return {};
  } else {
    return result<void>(f());
  }
}

}  // namespace detail

/// A type that does side effects on events: a name, `interested_in` as
/// `factum::events<...>`, and `handle(const E&[, const recorded_event&])`
/// for each of those types, returning void (throw on failure) or
/// `factum::result<void>`.
template <class H>
concept event_handler = detail::has_name<H> && detail::has_typed_interest<H> &&
    detail::handles_all<H, typename H::interested_in>::value;

/// An untyped event handler: a name, `interested_in` as stored type names
/// (empty: every type), and `handle(const factum::recorded_event&)`
/// returning void or `factum::result<void>`. It gets the stored JSON, for
/// tools that do not know the C++ types (an audit log, a forwarder).
template <class H>
concept untyped_event_handler = detail::has_name<H> && detail::has_named_interest<H> &&
    requires(H& h, const recorded_event& r) {
  h.handle(r);
};

/// A type that turns events into a read model `M`: a name, `interested_in`,
/// and `project(M::writer&, const E&[, const recorded_event&])` for each
/// type. An optional `reset(M::writer&)` clears what it wrote, for rebuilds.
template <class P, class M>
concept projection = detail::has_name<P> && detail::has_typed_interest<P> &&
    detail::projects_all<P, typename M::writer, typename P::interested_in>::value;

/// Fails to compile with a message naming what `H` misses.
template <class H>
consteval bool check_event_handler() {
  static_assert(detail::has_name<H>,
                "factum event handler: needs `static constexpr std::string_view name` (its "
                "checkpoint and dead letters are stored under it)");
  static_assert(detail::has_typed_interest<H> || detail::has_named_interest<H>,
                "factum event handler: needs `using interested_in = factum::events<E...>;` (or, "
                "untyped, a static array of stored type names)");
  if constexpr (detail::has_named_interest<H>)
    static_assert(
        requires(H & h, const recorded_event& r) { h.handle(r); },
        "factum untyped event handler: needs `handle(const factum::recorded_event&)`");
  if constexpr (detail::has_typed_interest<H>)
    static_assert(detail::handles_all<H, typename H::interested_in>::value,
                  "factum event handler: needs `handle(const E&)` or `handle(const E&, const "
                  "factum::recorded_event&)` for every E in interested_in");
  return true;
}

/// Fails to compile with a message naming what `P` misses for model `M`.
template <class P, class M>
consteval bool check_projection() {
  static_assert(detail::has_name<P>,
                "factum projection: needs `static constexpr std::string_view name` (its "
                "checkpoint is stored under it)");
  static_assert(detail::has_typed_interest<P>,
                "factum projection: needs `using interested_in = factum::events<E...>;`");
  if constexpr (detail::has_typed_interest<P>)
    static_assert(detail::projects_all<P, typename M::writer, typename P::interested_in>::value,
                  "factum projection: needs `project(Model::writer&, const E&)` or "
                  "`project(Model::writer&, const E&, const factum::recorded_event&)` for every "
                  "E in interested_in");
  return true;
}

}  // namespace factum
