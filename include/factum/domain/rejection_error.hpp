#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <factum/core/type_tag.hpp>
#include <factum/domain/decision.hpp>

namespace factum {

/// The base of every category of domain rejections: factum's own (string
/// codes) and each enum's declared with FACTUM_REJECTIONS, so
/// `is_rejection` can tell a refusal from a failure.
class rejection_category : public std::error_category {};

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

class domain_category final : public rejection_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "factum.domain"; }
  [[nodiscard]] std::string message(int ev) const override {
    auto code = rejection_codes::instance().name(ev);
    return code.empty() ? "rejected by the domain" : code;
  }
};

class enum_rejections;

/// The categories of FACTUM_REJECTIONS enums, so a rejection stored by its
/// category's name and its code's name comes back as the same error code.
/// There is one per enum type, so it stays as small as the program's source.
class rejection_categories {
 public:
  static rejection_categories& instance() {
    static rejection_categories all;
    return all;
  }
  void add(const enum_rejections& c) {
    std::lock_guard lock(mutex_);
    for (const auto* known : list_)
      if (known == &c) return;
    list_.push_back(&c);
  }
  /// The error code named `code` in the category named `category`: none
  /// when no category, or more than one, of that name knows that code.
  [[nodiscard]] std::error_code find(std::string_view category, std::string_view code) const;

 private:
  mutable std::mutex mutex_;
  std::vector<const enum_rejections*> list_;
};

/// The category of one FACTUM_REJECTIONS enum: its name is the one given to
/// the macro, its messages are the enumerators' names.
class enum_rejections final : public rejection_category {
 public:
  template <class E, std::size_t N>
  enum_rejections(const char* name, const std::array<E, N>& values, std::string_view names)
      : name_(name) {
    for (std::size_t i = 0; i < N; ++i) {
      const auto comma = names.find(',');
      std::string_view one = names.substr(0, comma);
      while (!one.empty() && one.front() == ' ')
        one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ')
        one.remove_suffix(1);
      names_.emplace_back(static_cast<int>(values[i]), std::string(one));
      names = comma == std::string_view::npos ? std::string_view{} : names.substr(comma + 1);
    }
    rejection_categories::instance().add(*this);
  }
  [[nodiscard]] const char* name() const noexcept override { return name_; }
  [[nodiscard]] std::string message(int ev) const override {
    for (const auto& [value, name] : names_)
      if (value == ev) return name;
    return "rejection " + std::to_string(ev);
  }
  /// The value of the enumerator named `code`, or 0.
  [[nodiscard]] int value_of(std::string_view code) const noexcept {
    for (const auto& [value, name] : names_)
      if (name == code) return value;
    return 0;
  }

 private:
  const char* name_;
  std::vector<std::pair<int, std::string>> names_;
};

inline std::error_code rejection_categories::find(std::string_view category,
                                                  std::string_view code) const {
  std::lock_guard lock(mutex_);
  std::error_code found;
  for (const auto* c : list_) {
    if (category != c->name()) continue;
    const int value = c->value_of(code);
    if (value == 0) continue;
    if (found) return {};  // two enums of one name: neither is sure
    found = {value, *c};
  }
  return found;
}

/// The number of plain names in FACTUM_REJECTIONS's list, as the
/// preprocessor wrote it ("a, b, c"); 0 when one is qualified ("e::a").
constexpr std::size_t count_names(std::string_view names) {
  std::size_t n = names.empty() ? 0 : 1;
  for (char c : names) {
    if (c == ':') return 0;
    n += c == ',' ? 1 : 0;
  }
  return n;
}

template <class E, std::size_t N>
constexpr bool valid_rejections(const std::array<E, N>& values) {
  for (std::size_t i = 0; i < N; ++i) {
    const auto v = static_cast<std::underlying_type_t<E>>(values[i]);
    if (v == 0 || static_cast<long long>(v) > 2147483647LL || static_cast<long long>(v) < 0)
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (values[j] == values[i]) return false;
  }
  return N > 0;
}

}  // namespace detail

#define FACTUM_DETAIL_CAT2(a, b) a##b
#define FACTUM_DETAIL_CAT(a, b) FACTUM_DETAIL_CAT2(a, b)
#define FACTUM_DETAIL_STR(...) #__VA_ARGS__

/// Declares an enum of the user's as rejection codes, in the enum's own
/// namespace, after its definition: its category's name (unique in the
/// program, it is stored with a process manager's refusals), then every
/// enumerator. None may be 0, which an `std::error_code` reads as success.
/// ```
/// enum class account_rejected { already_open = 1, not_open, insufficient_funds };
/// FACTUM_REJECTIONS(account_rejected, "bank.account", already_open, not_open,
///                   insufficient_funds)
///
/// return factum::reject(account_rejected::insufficient_funds, "balance 10");
/// if (ec == factum::rejection_error(account_rejected::insufficient_funds)) ...
/// ```
/// The category is built before `main`, so a stored refusal finds it. No
/// table is shared between enums and none fills up. For `ec ==
/// account_rejected::insufficient_funds` itself, specialize
/// `std::is_error_code_enum` for the enum, as for any error code enum.
#define FACTUM_REJECTIONS(Enum, Name, ...)                                                      \
  [[maybe_unused]] constexpr auto factum_rejection_values(::factum::type_tag<Enum>) noexcept {  \
    using enum Enum;                                                                            \
    return ::std::array{__VA_ARGS__};                                                           \
  }                                                                                             \
  static_assert(                                                                                \
      ::factum::detail::valid_rejections(factum_rejection_values(::factum::type_tag<Enum>{})),  \
      "FACTUM_REJECTIONS: no two enumerators share a value, none is 0 (an std::error_code of "  \
      "0 means success), and each is a positive int");                                          \
  static_assert(::factum::detail::count_names(FACTUM_DETAIL_STR(__VA_ARGS__)) ==                \
                    factum_rejection_values(::factum::type_tag<Enum>{}).size(),                 \
                "FACTUM_REJECTIONS: list the enumerators by their plain names");                \
  [[maybe_unused]] inline const ::factum::rejection_category& factum_rejection_category(        \
      ::factum::type_tag<Enum>) {                                                               \
    static const ::factum::detail::enum_rejections factum_category(                             \
        Name, factum_rejection_values(::factum::type_tag<Enum>{}),                              \
        FACTUM_DETAIL_STR(__VA_ARGS__));                                                        \
    return factum_category;                                                                     \
  }                                                                                             \
  [[maybe_unused]] inline ::std::error_code make_error_code(Enum factum_e) {                    \
    return {static_cast<int>(factum_e), factum_rejection_category(::factum::type_tag<Enum>{})}; \
  }                                                                                             \
  [[maybe_unused]] static const ::factum::rejection_category& FACTUM_DETAIL_CAT(                \
      factum_rejections_built_, __COUNTER__) =                                                  \
      factum_rejection_category(::factum::type_tag<Enum>{});

/// An enum declared with FACTUM_REJECTIONS.
template <class E>
concept rejection_enum = std::is_enum_v<E> && requires {
  { factum_rejection_category(type_tag<E>{}) } -> std::same_as<const rejection_category&>;
};

/// An enum without FACTUM_REJECTIONS where its name is looked up.
template <class E>
requires(std::is_enum_v<E> && !rejection_enum<E>) rejection reject(E, std::string = {}) {
  static_assert(rejection_enum<E>,
                "factum::reject(enum): declare the enum's codes with FACTUM_REJECTIONS(enum, "
                "\"category name\", enumerators...) in the enum's own namespace");
  return {};
}

/// A typed rejection, for `return factum::reject(account_rejected::not_open, "...");`:
/// its `code` is the enumerator's name, its `typed_code` the enum's error code.
template <rejection_enum E>
[[nodiscard]] rejection reject(E e, std::string message = {}) {
  std::error_code ec = make_error_code(e);
  return {ec.message(), std::move(message), ec};
}

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

/// The error code of a typed rejection:
/// ```
/// if (ec == factum::rejection_error(account_rejected::insufficient_funds)) ...
/// ```
template <rejection_enum E>
[[nodiscard]] std::error_code rejection_error(E e) {
  return make_error_code(e);
}

/// The error code of a rejection (its code; the message travels beside it):
/// a typed rejection's own, else the string code's in `domain_category()`.
[[nodiscard]] inline std::error_code make_error_code(const rejection& r) {
  return r.typed_code ? r.typed_code : rejection_error(r.code);
}

/// True when `ec` is a domain rejection: of factum's string codes or of an
/// enum declared with FACTUM_REJECTIONS.
[[nodiscard]] inline bool is_rejection(std::error_code ec) noexcept {
  return dynamic_cast<const rejection_category*>(&ec.category()) != nullptr;
}

namespace detail {
/// A rejection's error code as stored (its category's name and its code's
/// name) made again: the enum's, by the enumerator's name (so renumbering
/// the enum changes nothing stored), when one category of that name in
/// this program knows the name; else the string code's.
[[nodiscard]] inline std::error_code restore_rejection(std::string_view category,
                                                       std::string_view code) {
  if (auto ec = rejection_categories::instance().find(category, code)) return ec;
  return rejection_error(code);
}
}  // namespace detail

}  // namespace factum
