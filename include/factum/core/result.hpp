#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include <factum/core/error.hpp>

namespace factum {

/// A value or an `error`, shaped like C++23's `std::expected<T, error>`
/// (which g++ 12 lacks in C++20 mode).
///
/// ```
/// factum::result<std::uint64_t> v = store.stream_version(id);
/// if (!v) return v.error();
/// use(*v);
/// ```
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, factum::error>,
                "result<error> is ambiguous");

 public:
  using value_type = T;
  using error_type = factum::error;

  result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  result(const T& v) : v_(std::in_place_index<0>, v) {}
  result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
           !std::is_same_v<std::remove_cvref_t<U>, factum::error> &&
           !std::is_same_v<std::remove_cvref_t<U>, errc> &&
           !std::is_same_v<std::remove_cvref_t<U>, result>) result(U&& v)
      : v_(std::in_place_index<0>, std::forward<U>(v)) {}
  result(factum::error e) : v_(std::in_place_index<1>, std::move(e)) {}
  result(errc e) : v_(std::in_place_index<1>, factum::error{e}) {}

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; throws `factum::system_error` when this holds an error.
  [[nodiscard]] T& value() & {
    check();
    return std::get<0>(v_);
  }
  [[nodiscard]] const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  /// By value, so `for (auto& e : store.read_stream(s).value())` does not dangle.
  [[nodiscard]] T value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  template <class U>
  [[nodiscard]] T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  [[nodiscard]] T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  [[nodiscard]] const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  [[nodiscard]] T operator*() && { return std::move(*std::get_if<0>(&v_)); }
  [[nodiscard]] T* operator->() noexcept { return std::get_if<0>(&v_); }
  [[nodiscard]] const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  /// The error; only valid when `!has_value()`.
  [[nodiscard]] const factum::error& error() const& noexcept { return *std::get_if<1>(&v_); }
  [[nodiscard]] factum::error&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

 private:
  void check() const {
    if (!has_value()) throw system_error(*std::get_if<1>(&v_));
  }
  std::variant<T, factum::error> v_;
};

/// `result<void>`: success, or an `error`.
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  using error_type = factum::error;

  result() = default;
  result(factum::error e) : e_(std::move(e)), failed_(true) {}
  result(errc e) : e_(e), failed_(true) {}

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  /// Throws `factum::system_error` when this holds an error.
  void value() const {
    if (failed_) throw system_error(e_);
  }
  [[nodiscard]] const factum::error& error() const& noexcept { return e_; }
  [[nodiscard]] factum::error&& error() && noexcept { return std::move(e_); }

 private:
  factum::error e_;
  bool failed_ = false;
};

}  // namespace factum
