#pragma once

#include <initializer_list>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace factum {

/// Why a command was refused: a stable code for programs ("insufficient_funds")
/// and a message for people. A rejection is an answer, not a failure: it is
/// returned to the caller at once and never retried.
///
/// The code is a string, or an enumerator of the user's declared with
/// FACTUM_REJECTIONS (see <factum/domain/rejection_error.hpp>); then `code`
/// is the enumerator's name and `typed_code` its `std::error_code`.
struct rejection {
  std::string code;
  std::string message;
  /// A typed rejection's error code (of the enum's own category); empty when
  /// the code is only a string.
  std::error_code typed_code{};

  friend bool operator==(const rejection&, const rejection&) = default;
};

/// A rejection, for `return factum::reject("insufficient_funds", "...");`.
[[nodiscard]] inline rejection reject(std::string code, std::string message = {}) {
  return {std::move(code), std::move(message), {}};
}

/// What an aggregate's `execute` decided: the events to append (zero or
/// more), or a rejection.
///
/// ```
/// static factum::decision<event> execute(const state& s, const command& c) {
///   if (s.balance < c.amount) return factum::reject("insufficient_funds", "...");
///   return money_withdrawn{c.amount};                  // one event
///   return {money_withdrawn{a}, fee_charged{1}};        // several
///   return {};                                          // accepted, nothing to record
/// }
/// ```
template <class Event>
class decision {
 public:
  using event_type = Event;

  /// Accepted, with no events.
  decision() = default;
  /// Accepted, with one event (any alternative of the event variant).
  template <class E>
  requires std::is_constructible_v<Event, E&&> &&
      (!std::is_same_v<std::remove_cvref_t<E>, decision>)&&(
          !std::is_same_v<std::remove_cvref_t<E>, factum::rejection>)decision(E&& e) {
    events_.emplace_back(std::forward<E>(e));
  }
  /// Accepted, with these events in order.
  decision(std::initializer_list<Event> events) : events_(events) {}
  decision(std::vector<Event> events) : events_(std::move(events)) {}
  /// Refused.
  decision(factum::rejection r) : rejection_(std::move(r)), rejected_(true) {}

  [[nodiscard]] bool rejected() const noexcept { return rejected_; }
  [[nodiscard]] bool accepted() const noexcept { return !rejected_; }
  /// The events; empty when rejected.
  [[nodiscard]] const std::vector<Event>& events() const& noexcept { return events_; }
  [[nodiscard]] std::vector<Event>&& events() && noexcept { return std::move(events_); }
  /// The rejection; only meaningful when `rejected()`.
  [[nodiscard]] const factum::rejection& rejection() const noexcept { return rejection_; }

 private:
  std::vector<Event> events_;
  factum::rejection rejection_;
  bool rejected_ = false;
};

}  // namespace factum
