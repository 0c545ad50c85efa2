#pragma once

#include <chrono>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <factum/core/codec.hpp>
#include <factum/core/error.hpp>
#include <factum/domain/aggregate.hpp>
#include <factum/subscribe/subscriber.hpp>

namespace factum {

/// A command a process manager sends: for aggregate `A` with id `id`.
/// ```
/// factum::send<bank::account>{"acc-2", bank::deposit{50}}
/// ```
template <checked_aggregate A>
struct send {
  using aggregate = A;
  std::string id;
  typename A::command command;
};

/// Which process an event belongs to, and what it does to it.
class correlation {
 public:
  enum class kind { ignore, start, next, stop };
  /// Starts process `id` (or continues it when it runs already).
  [[nodiscard]] static correlation start(std::string id) { return {kind::start, std::move(id)}; }
  /// Continues process `id`; ignored when there is no such process.
  [[nodiscard]] static correlation next(std::string id) { return {kind::next, std::move(id)}; }
  /// Handles the event in process `id` (starting it when new), then ends
  /// the process: later events for it are ignored.
  [[nodiscard]] static correlation stop(std::string id) { return {kind::stop, std::move(id)}; }
  /// Not for any process.
  [[nodiscard]] static correlation ignore() { return {kind::ignore, {}}; }

  [[nodiscard]] kind what() const noexcept { return what_; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }

 private:
  correlation(kind k, std::string id) : what_(k), id_(std::move(id)) {}
  kind what_;
  std::string id_;
};

/// An event a process manager sends itself later (a timeout). It is stored
/// when scheduled, so it comes also after a restart; when due it is
/// appended to the stream `timeouts-<process manager name>` and reaches the
/// process manager like any event of its types.
/// ```
/// // a reaction: its commands, then its deadlines (this form, not designated
/// // initializers, compiles with clang++ 14 too)
/// return {{factum::send<bank::account>{...}},
///         {factum::deadline::in(30s, transfer_timed_out{id})}};
/// ```
struct deadline {
  std::chrono::milliseconds after{0};
  event_data event;

  template <registered_event E>
  [[nodiscard]] static deadline in(std::chrono::milliseconds after, const E& e) {
    return {after, codec<std::variant<E>>::encode(e)};
  }
};

/// What a process manager does about one event: commands to send, and
/// deadlines to set.
template <class Command>
struct reaction {
  std::vector<Command> commands;
  std::vector<deadline> deadlines;

  reaction() = default;
  reaction(std::initializer_list<Command> c) : commands(c) {}
  reaction(std::vector<Command> c, std::vector<deadline> d = {})
      : commands(std::move(c)), deadlines(std::move(d)) {}
};

namespace detail {

template <class P, class E>
concept correlates = requires(P& p, const E& e) {
  { p.correlate(e) } -> std::same_as<correlation>;
}
|| requires(P& p, const E& e, const recorded_event& r) {
  { p.correlate(e, r) } -> std::same_as<correlation>;
};

template <class P, class E>
concept manages_one = correlates<P, E> &&
    requires(P& p, const E& e, typename P::state& s, const typename P::state& cs) {
  p.apply(s, e);
  { p.handle(cs, e) } -> std::convertible_to<reaction<typename P::command>>;
};
template <class P, class List>
struct manages_all;
template <class P, class... Es>
struct manages_all<P, events<Es...>> : std::bool_constant<(manages_one<P, Es> && ...)> {};

}  // namespace detail

/// A process manager (saga): a name, `interested_in`, a `state`, a
/// `command` variant of `factum::send<A>`, and for each event type E:
/// `correlate(const E&[, const recorded_event&]) -> correlation` (the
/// second form sees the stream and metadata), `apply(state&, const E&)` and
/// `handle(const state&, const E&) -> reaction<command>`. Optionally
/// `compensate(const state&, const command& failed, const factum::error&)
/// -> std::vector<command>`, called when a command it sent fails.
template <class P>
concept process_manager = detail::has_name<P> && detail::has_typed_interest<P> && requires {
  typename P::state;
  typename P::command;
} && detail::manages_all<P, typename P::interested_in>::value;

/// Fails to compile with a message naming what `P` misses.
template <class P>
consteval bool check_process_manager() {
  static_assert(detail::has_name<P>,
                "factum process manager: needs `static constexpr std::string_view name`");
  static_assert(detail::has_typed_interest<P>,
                "factum process manager: needs `using interested_in = factum::events<E...>;`");
  static_assert(
      requires { typename P::state; }, "factum process manager: needs a `state` type");
  static_assert(
      requires { typename P::command; },
      "factum process manager: needs `using command = std::variant<factum::send<A>...>;`");
  if constexpr (detail::has_typed_interest<P> && requires {
                  typename P::state;
                  typename P::command;
                })
    static_assert(detail::manages_all<P, typename P::interested_in>::value,
                  "factum process manager: needs, for every E in interested_in, `correlation "
                  "correlate(const E&[, const factum::recorded_event&])`, `void apply(state&, "
                  "const E&)` and `reaction<command> "
                  "handle(const state&, const E&)`");
  return true;
}

}  // namespace factum
