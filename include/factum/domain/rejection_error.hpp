#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include <factum/domain/decision.hpp>

namespace factum {
namespace detail {

/// Rejection codes ("insufficient_funds") as small integers, so a rejection
/// fits a `std::error_code`. Codes are a small, stable set per application;
/// after `capacity` distinct codes, further ones share value 1 ("rejected").
class rejection_codes {
 public:
  static constexpr std::size_t capacity = 65536;

  static rejection_codes& instance() {
    static rejection_codes codes;
    return codes;
  }

  int intern(std::string_view code) {
    std::lock_guard lock(mutex_);
    if (auto it = values_.find(code); it != values_.end()) return it->second;
    if (names_.size() >= capacity) return 1;
    names_.emplace_back(code);
    const int value = static_cast<int>(names_.size());
    values_.emplace(names_.back(), value);
    return value;
  }

  [[nodiscard]] std::string name(int value) const {
    std::lock_guard lock(mutex_);
    if (value < 1 || static_cast<std::size_t>(value) > names_.size()) return {};
    return names_[static_cast<std::size_t>(value) - 1];
  }

 private:
  rejection_codes() { names_.emplace_back("rejected"), values_.emplace(names_.back(), 1); }

  mutable std::mutex mutex_;
  std::deque<std::string> names_;  // deque: references stay valid as it grows
  std::unordered_map<std::string_view, int> values_;
};

class domain_category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "factum.domain"; }
  [[nodiscard]] std::string message(int ev) const override {
    auto code = rejection_codes::instance().name(ev);
    return code.empty() ? "rejected by the domain" : code;
  }
};

}  // namespace detail

/// The category of domain rejections; its name is "factum.domain". An error
/// code of this category means "the aggregate refused the command": its
/// message is the rejection's code, and the dispatch result (or the thrown
/// `factum::system_error`) carries the aggregate's message.
[[nodiscard]] inline const std::error_category& domain_category() noexcept {
  static const detail::domain_category category;
  return category;
}

/// The error code of a rejection code:
/// ```
/// if (ec == factum::rejection_error("insufficient_funds")) ...
/// ```
[[nodiscard]] inline std::error_code rejection_error(std::string_view code) {
  return {detail::rejection_codes::instance().intern(code), domain_category()};
}

/// The error code of a rejection (its code; the message travels beside it).
[[nodiscard]] inline std::error_code make_error_code(const rejection& r) {
  return rejection_error(r.code);
}

/// True when `ec` is a domain rejection (of any code).
[[nodiscard]] inline bool is_rejection(std::error_code ec) noexcept {
  return ec.category() == domain_category();
}

}  // namespace factum
