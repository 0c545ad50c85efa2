#pragma once

#include <concepts>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

#include <factum/core/codec.hpp>
#include <factum/domain/decision.hpp>

namespace factum {

namespace detail {
template <class T>
struct is_variant : std::false_type {};
template <class... Ts>
struct is_variant<std::variant<Ts...>> : std::true_type {};

/// Types as a value, so a function can take them as a pack.
template <class... Ts>
struct type_list {};

/// The alternatives of a variant, or the type itself: what `decide` and
/// `evolve` overloads are written for.
template <class T>
struct alternatives {
  using type = type_list<T>;
};
template <class... Ts>
struct alternatives<std::variant<Ts...>> {
  using type = type_list<Ts...>;
};
template <class T>
inline constexpr typename alternatives<T>::type alternatives_of{};

template <class T, template <class> class Pred>
struct all_of;
template <class... Ts, template <class> class Pred>
struct all_of<type_list<Ts...>, Pred> : std::bool_constant<(Pred<Ts>::value && ...)> {};

template <class T>
struct all_registered : std::false_type {};
template <class... Ts>
struct all_registered<std::variant<Ts...>> : std::bool_constant<(registered_event<Ts> && ...)> {};
}  // namespace detail

/// The pieces of an aggregate, one concept each, so an error names the missing one.
template <class A>
concept has_category = requires {
  { A::category } -> std::convertible_to<std::string_view>;
};
template <class A>
concept has_event_variant = requires {
  typename A::event;
}
&&detail::is_variant<typename A::event>::value&& detail::all_registered<typename A::event>::value;
template <class A>
concept has_command_type = requires {
  typename A::command;
};
template <class A>
concept has_state = requires {
  typename A::state;
}
&&std::is_default_constructible_v<typename A::state>&&
    std::is_copy_constructible_v<typename A::state>;

/// `A::decide(state, c)` for one command alternative `C`, returning a
/// decision (or anything that converts to one: an event, a rejection).
template <class A, class C>
concept decides = requires(const typename A::state& s, const C& c) {
  { A::decide(s, c) } -> std::convertible_to<decision<typename A::event>>;
};
/// `A::evolve(state, e)` for one event alternative `E`.
template <class A, class E>
concept evolves = requires(typename A::state& s, const E& e) {
  { A::evolve(s, e) } -> std::same_as<void>;
};

namespace detail {
template <class A>
concept own_execute = requires(const typename A::state& s, const typename A::command& c) {
  { A::execute(s, c) } -> std::same_as<decision<typename A::event>>;
};
template <class A>
concept own_apply = requires(typename A::state& s, const typename A::event& e) {
  { A::apply(s, e) } -> std::same_as<void>;
};
template <class A>
struct decides_for {
  template <class C>
  using test = std::bool_constant<decides<A, C>>;
};
template <class A>
struct evolves_for {
  template <class E>
  using test = std::bool_constant<evolves<A, E>>;
};
}  // namespace detail

/// How `A` decides: one `execute` for the whole command, or one `decide`
/// overload per command alternative.
template <class A>
concept has_execute = detail::own_execute<A> ||
    detail::all_of<typename detail::alternatives<typename A::command>::type,
                   detail::decides_for<A>::template test>::value;
/// How `A` evolves: one `apply` for the whole event, or one `evolve`
/// overload per event alternative.
template <class A>
concept has_apply =
    detail::own_apply<A> || detail::all_of<typename detail::alternatives<typename A::event>::type,
                                           detail::evolves_for<A>::template test>::value;

/// An aggregate: a category, a variant of registered events, a command type
/// (usually a variant), a state, and two pure functions, written either as
/// one overload per alternative, which the library visits:
///
/// ```
/// struct bank_account {
///   static constexpr std::string_view category = "account";
///   using event = std::variant<account_opened, money_deposited, money_withdrawn>;
///   using command = std::variant<open_account, deposit, withdraw>;
///   struct state { bool open = false; std::int64_t balance = 0; };
///
///   // decide: events, or a rejection. No I/O. One per command alternative.
///   static factum::decision<event> decide(const state&, const deposit&);
///   // evolve: never fails, the event has happened. No I/O. One per event.
///   static void evolve(state&, const money_deposited&);
///   // ... and the others
/// };
/// static_assert(factum::check_aggregate<bank_account>());
/// ```
///
/// or as one function each for the whole variant, which visits itself:
/// `static factum::decision<event> execute(const state&, const command&)` and
/// `static void apply(state&, const event&)`. Where both are there, `execute`
/// and `apply` are used.
template <class A>
concept aggregate = has_category<A> && has_event_variant<A> && has_command_type<A> &&
    has_state<A> && has_execute<A> && has_apply<A>;

namespace detail {
template <class A, class C>
constexpr bool check_decide() {
  static_assert(
      decides<A, C>,
      "factum aggregate: no public `static factum::decision<event> decide(const state&, const "
      "C&);` for the command alternative C named in this message's context (or write "
      "one `execute(const state&, const command&)`)");
  return decides<A, C>;
}
template <class A, class E>
constexpr bool check_evolve() {
  static_assert(evolves<A, E>,
                "factum aggregate: no public `static void evolve(state&, const E&);` for the event "
                "alternative E named in this message's context (or write one `apply(state&, "
                "const event&)`)");
  return evolves<A, E>;
}
template <class A, class... Cs>
constexpr bool check_decides(type_list<Cs...>) {
  return (check_decide<A, Cs>() && ...);
}
template <class A, class... Es>
constexpr bool check_evolves(type_list<Es...>) {
  return (check_evolve<A, Es>() && ...);
}
template <class... Es>
constexpr bool check_events(type_list<Es...>) {
  return (check_registered<Es>() && ...);
}
}  // namespace detail

/// Fails to compile with a message naming the first missing piece of `A`,
/// and the type it is missing for (an unregistered event, a command without
/// a `decide`); templates that take an aggregate call it first, so users
/// see this message rather than a wall of substitution failures:
/// ```
/// static_assert(factum::check_aggregate<bank_account>());
/// ```
template <class A>
constexpr bool check_aggregate() {
  static_assert(
      has_category<A>,
      "factum aggregate: missing `static constexpr std::string_view category = \"...\";`");
  if constexpr (requires { typename A::event; }) {
    static_assert(detail::is_variant<typename A::event>::value,
                  "factum aggregate: `event` must be a std::variant<...> of event types");
    if constexpr (detail::is_variant<typename A::event>::value)
      detail::check_events(detail::alternatives_of<typename A::event>);
  } else {
    static_assert(has_event_variant<A>,
                  "factum aggregate: missing `using event = std::variant<...>;` whose every "
                  "alternative is registered with FACTUM_EVENT");
  }
  static_assert(has_command_type<A>, "factum aggregate: missing `using command = ...;`");
  static_assert(has_state<A>,
                "factum aggregate: missing a default-constructible, copyable `state` type");
  if constexpr (has_event_variant<A> && has_command_type<A> && has_state<A>) {
    if constexpr (!detail::own_execute<A>) {
      if constexpr (requires { &A::execute; })
        static_assert(detail::own_execute<A>,
                      "factum aggregate: `execute` must be `static factum::decision<event> "
                      "execute(const state&, const command&);`");
      else
        detail::check_decides<A>(detail::alternatives_of<typename A::command>);
    }
    if constexpr (!detail::own_apply<A>) {
      if constexpr (requires { &A::apply; })
        static_assert(detail::own_apply<A>,
                      "factum aggregate: `apply` must be `static void apply(state&, const "
                      "event&);`");
      else
        detail::check_evolves<A>(detail::alternatives_of<typename A::event>);
    }
  }
  return aggregate<A>;
}

/// An aggregate, as the constraint of factum's templates: where `A` is not
/// one, the error is `check_aggregate`'s message, naming what is missing,
/// not "constraints not satisfied". It is never false (it fails to
/// compile instead): to ask whether a type is an aggregate, use `aggregate<A>`.
template <class A>
concept checked_aggregate = check_aggregate<A>();

/// Decides with `A`: its `execute`, or the `decide` overload of the
/// command's alternative.
template <class A>
requires has_execute<A>
[[nodiscard]] decision<typename A::event> decide(const typename A::state& s,
                                                 const typename A::command& c) {
  if constexpr (detail::own_execute<A>)
    return A::execute(s, c);
  else if constexpr (detail::is_variant<typename A::command>::value)
    return std::visit(
        [&s](const auto& alternative) -> decision<typename A::event> {
          return A::decide(s, alternative);
        },
        c);
  else
    return A::decide(s, c);
}

/// Evolves with `A`: its `apply`, or the `evolve` overload of the event's
/// alternative.
template <class A>
requires has_apply<A>
void evolve(typename A::state& s, const typename A::event& e) {
  if constexpr (detail::own_apply<A>)
    A::apply(s, e);
  else
    std::visit([&s](const auto& alternative) { A::evolve(s, alternative); }, e);
}

/// What a multi-stream command decides: one decision per aggregate, in the
/// order the aggregates are named. A rejection in any refuses them all.
/// ```
/// factum::decisions<account, account> d{money_withdrawn{10}, money_deposited{10}};
/// return {factum::reject("insufficient_funds"), {}};
/// ```
template <class... As>
using decisions = std::tuple<decision<typename As::event>...>;

/// The stream of aggregate `A` with id `id`: "<category>-<id>".
template <class A>
requires has_category<A>
[[nodiscard]] stream_id stream_of(std::string_view id) {
  return stream_id::of(A::category, id);
}

}  // namespace factum
