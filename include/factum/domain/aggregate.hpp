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
template <class A>
concept has_execute = requires(const typename A::state& s, const typename A::command& c) {
  { A::execute(s, c) } -> std::same_as<decision<typename A::event>>;
};
template <class A>
concept has_apply = requires(typename A::state& s, const typename A::event& e) {
  { A::apply(s, e) } -> std::same_as<void>;
};

/// An aggregate: a category, a variant of registered events, a command type
/// (usually a variant), a state, and two pure functions:
///
/// ```
/// struct bank_account {
///   static constexpr std::string_view category = "account";
///   using event = std::variant<account_opened, money_deposited, money_withdrawn>;
///   using command = std::variant<open_account, deposit, withdraw>;
///   struct state { bool open = false; std::int64_t balance = 0; };
///
///   // decide: events, or a rejection. No I/O.
///   static factum::decision<event> execute(const state&, const command&);
///   // evolve: never fails, the event has happened. No I/O.
///   static void apply(state&, const event&);
/// };
/// static_assert(factum::aggregate<bank_account>);
/// ```
template <class A>
concept aggregate = has_category<A> && has_event_variant<A> && has_command_type<A> &&
    has_state<A> && has_execute<A> && has_apply<A>;

/// Fails to compile with a message naming the first missing piece of `A`;
/// templates that take an aggregate call it first, so users see this
/// message rather than a wall of substitution failures.
template <class A>
constexpr bool check_aggregate() {
  static_assert(
      has_category<A>,
      "factum aggregate: missing `static constexpr std::string_view category = \"...\";`");
  static_assert(has_event_variant<A>,
                "factum aggregate: missing `using event = std::variant<...>;` whose every "
                "alternative is registered with FACTUM_EVENT");
  static_assert(has_command_type<A>, "factum aggregate: missing `using command = ...;`");
  static_assert(has_state<A>,
                "factum aggregate: missing a default-constructible, copyable `state` type");
  static_assert(has_execute<A>,
                "factum aggregate: missing `static factum::decision<event> execute(const state&, "
                "const command&);`");
  static_assert(has_apply<A>,
                "factum aggregate: missing `static void apply(state&, const event&);`");
  return aggregate<A>;
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
