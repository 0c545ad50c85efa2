#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <factum/core/detail/utf8.hpp>
#include <factum/core/result.hpp>

namespace factum {

/// The name of one event stream: "<category>-<id>", e.g. "account-acc-1".
///
/// The category is the part before the first '-' (the aggregate type's
/// `category`); it groups streams without costing anything per stream.
/// A stream id is checked where it enters the store: it must be 1 to
/// `max_size` bytes of well-formed UTF-8 with no NUL byte (`validate`), so
/// every backend stores it as text and gives it back byte for byte.
/// ```
/// factum::stream_id s = factum::stream_id::of("account", "acc-1");
/// s.category();  // "account"
/// s.id();        // "acc-1"
/// ```
class stream_id {
 public:
  static constexpr std::size_t max_size = 512;

  stream_id() = default;
  stream_id(std::string name) : name_(std::move(name)) {}
  stream_id(std::string_view name) : name_(name) {}
  stream_id(const char* name) : name_(name) {}

  /// "<category>-<id>".
  [[nodiscard]] static stream_id of(std::string_view category, std::string_view id) {
    std::string s;
    s.reserve(category.size() + 1 + id.size());
    s.append(category).append(1, '-').append(id);
    return stream_id{std::move(s)};
  }

  /// Ok, or `errc::invalid_stream_id` saying why.
  [[nodiscard]] static result<void> validate(std::string_view name) {
    if (name.empty()) return error{errc::invalid_stream_id, "stream id is empty"};
    if (name.size() > max_size)
      return error{errc::invalid_stream_id, "stream id is " + std::to_string(name.size()) +
                                                " bytes, more than " + std::to_string(max_size)};
    if (name.find('\0') != std::string_view::npos)
      return error{errc::invalid_stream_id, "stream id holds a NUL byte"};
    if (!detail::is_utf8(name))
      return error{errc::invalid_stream_id, "stream id is not well-formed UTF-8"};
    return {};
  }
  [[nodiscard]] result<void> validate() const { return validate(name_); }

  [[nodiscard]] const std::string& str() const noexcept { return name_; }
  [[nodiscard]] std::string_view view() const noexcept { return name_; }
  [[nodiscard]] bool empty() const noexcept { return name_.empty(); }
  /// Up to the first '-'; the whole name when it has none.
  [[nodiscard]] std::string_view category() const noexcept {
    return view().substr(0, view().find('-'));
  }
  /// After the first '-'; empty when there is none.
  [[nodiscard]] std::string_view id() const noexcept {
    const auto dash = view().find('-');
    return dash == std::string_view::npos ? std::string_view{} : view().substr(dash + 1);
  }

  friend auto operator<=>(const stream_id&, const stream_id&) = default;
  friend bool operator==(const stream_id&, const stream_id&) = default;

 private:
  std::string name_;
};

}  // namespace factum

template <>
struct std::hash<factum::stream_id> {
  std::size_t operator()(const factum::stream_id& s) const noexcept {
    return std::hash<std::string_view>{}(s.view());
  }
};
