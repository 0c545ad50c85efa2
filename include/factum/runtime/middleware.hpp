#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <factum/core/result.hpp>
#include <factum/domain/decision.hpp>
#include <factum/runtime/dispatch.hpp>

namespace factum {

/// A hook around every dispatch. `before` runs in registration order on the
/// caller's thread before the command is queued; an error from it fails the
/// command (it never runs) and `on_failure` hooks are told. `after` and
/// `on_failure` run in reverse order on the aggregate's strand once the
/// command has an answer, before the caller gets it. Hooks must not block.
///
/// ```
/// struct audit final : factum::middleware {
///   factum::result<void> before(factum::command_context& c) override {
///     c.options.metadata["user"] = current_user();
///     return {};
///   }
/// };
/// rt.use(std::make_shared<audit>());
/// ```
class middleware {
 public:
  virtual ~middleware() = default;
  virtual result<void> before(command_context&) { return {}; }
  virtual void after(const command_context&, const dispatch_result&) {}
  virtual void on_failure(const command_context&, std::error_code) {}
};

/// Validation, built in: a command type may declare
/// `std::optional<factum::rejection> validate() const`; a command whose
/// validate returns a rejection is refused with it before it reaches the
/// aggregate (no load, no execute).
template <class C>
concept validatable = requires(const C& c) {
  { c.validate() } -> std::convertible_to<std::optional<rejection>>;
};

namespace detail {

template <class C>
std::optional<rejection> validate_command(const C& c) {
  if constexpr (validatable<C>) {
    return c.validate();
  } else if constexpr (requires { std::variant_size<C>::value; }) {
    return std::visit([](const auto& alt) { return validate_command(alt); }, c);
  } else {
    return std::nullopt;
  }
}

template <class C>
std::type_index command_type_of(const C& c) {
  if constexpr (requires { std::variant_size<C>::value; }) {
    return std::visit([](const auto& alt) { return std::type_index(typeid(alt)); }, c);
  } else {
    return typeid(C);
  }
}

template <class C>
const void* command_pointer_of(const C& c) {
  if constexpr (requires { std::variant_size<C>::value; }) {
    return std::visit([](const auto& alt) { return static_cast<const void*>(&alt); }, c);
  } else {
    return &c;
  }
}

}  // namespace detail

/// What strong consistency waits for. The read side registers one gate per
/// strong subscriber; `wait` calls `done` once that subscriber has handled
/// the result's events (or with the error it failed with).
class consistency_gate {
 public:
  virtual ~consistency_gate() = default;
  virtual void wait(const dispatch_result& result, std::function<void(std::error_code)> done) = 0;
};

/// Called with the events a runtime appended, right after the append
/// committed and before the caller's answer, on the thread that saw the
/// commit. Several appends may call it at once and out of position order.
/// It must not throw: the events are stored, and the command's answer is on
/// its way. The read side's router is one.
using commit_listener = std::function<void(const std::vector<recorded_event>& events)>;

}  // namespace factum
