#pragma once

// Checked conversions from nlohmann/json values to event fields. nlohmann's
// own `get<T>()` casts numbers with static_cast: 353 into a uint8_t is 97,
// 1.7 into an int is 1, and 2.1e19 into an int is undefined behaviour. The
// codec decodes FACTUM_EVENT and FACTUM_JSON types through these instead, so
// a number that does not fit its field is `errc::decode_failed`. The rule
// (the same on the codec's direct path, see json_text.hpp):
//
// - an integer field takes a JSON integer its type holds exactly; a number
//   written with a fraction or an exponent (or an integer beyond 64 bits,
//   which the parser reads as a double) only when its value as a double is a
//   whole number of at most 2^53 - 1 in magnitude, where a double still
//   holds every integer, and the type holds it: 41.0 and 4.1e1 are 41, 1.7,
//   2.1e19 and 9007199254740993.0 fail;
// - a bool field takes only true or false, and a number field no bool;
// - a float field refuses a finite value beyond float's range (1e39);
//   values too small for it round to zero, as they do in the parser;
// - a `std::array` takes exactly its size.
//
// Containers (vector, array, optional as null or a value, string-keyed
// maps) and FACTUM_JSON types are checked element by element; any other type
// decodes through its own `from_json`, unchecked.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/core/detail/json_text.hpp>
#include <factum/core/type_tag.hpp>

namespace factum::detail {

/// A JSON value that does not fit the C++ field it is decoded into.
struct decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void refuse(const nlohmann::json& j, std::string_view wanted) {
  std::string got = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (got.size() > 40) got = got.substr(0, 37) + "...";
  throw decode_error("expected " + std::string(wanted) + ", got " + got);
}

template <class T>
std::string integer_name() {
  return (std::is_signed_v<T> ? "an int" : "a uint") + std::to_string(8 * sizeof(T));
}

template <class T>
[[nodiscard]] constexpr bool fits(std::int64_t v) noexcept {
  using nl = std::numeric_limits<T>;
  if constexpr (std::is_signed_v<T>)
    return v >= static_cast<std::int64_t>(nl::min()) && v <= static_cast<std::int64_t>(nl::max());
  else
    return v >= 0 && static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(nl::max());
}

/// The largest integer up to which a double holds every integer: 2^53 - 1.
inline constexpr double max_exact_double = 9007199254740991.0;

template <class T>
T to_integer(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {  // before is_number_integer, which includes it
    const auto v = j.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(v);
  } else if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (fits<T>(v)) return static_cast<T>(v);
  } else if (j.is_number_float()) {
    const double d = j.get<double>();
    // NaN fails every comparison.
    if (d >= -max_exact_double && d <= max_exact_double && d == std::trunc(d)) {
      const auto v = static_cast<std::int64_t>(d);
      if (fits<T>(v)) return static_cast<T>(v);
    }
  }
  refuse(j, integer_name<T>());
}

template <class T>
T to_floating(const nlohmann::json& j) {
  if (!j.is_number()) refuse(j, "a number");
  const double d = j.get<double>();
  if constexpr (std::numeric_limits<T>::max() < std::numeric_limits<double>::max())
    if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max()))
      refuse(j, "a number within float's range");
  return static_cast<T>(d);
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_array : std::false_type {};
template <class T, std::size_t N>
struct is_array<std::array<T, N>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};
template <class T, class H, class E, class A>
struct is_string_map<std::unordered_map<std::string, T, H, E, A>> : std::true_type {};

template <class M>
concept has_fields = requires {
  factum_event_fields(type_tag<M>{});
};

template <class M>
void read_checked(const nlohmann::json& j, M& out);

/// Runs `read`, putting `where()` in front of the message of what it throws.
template <class Where, class Read>
void in_context(Where&& where, Read&& read) {
  try {
    read();
  } catch (const decode_error& e) {
    throw decode_error(where() + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw decode_error(where() + e.what());
  }
}

template <class T, class Fields>
void read_fields(const nlohmann::json& j, T& out, const Fields& fields) {
  if (!j.is_object()) refuse(j, "an object");
  std::apply(
      [&](const auto&... f) {
        (
            [&] {
              const auto it = j.find(f.name);
              if (it == j.end())
                throw decode_error("field '" + std::string(f.name) + "' is missing");
              in_context([&] { return "field '" + std::string(f.name) + "': "; },
                         [&] { read_checked(*it, out.*f.member); });
            }(),
            ...);
      },
      fields);
}

template <class T, class Fields>
void write_fields(nlohmann::json& j, const T& in, const Fields& fields) {
  std::apply([&](const auto&... f) { ((j[std::string(f.name)] = in.*f.member), ...); }, fields);
}

template <class M>
void read_checked(const nlohmann::json& j, M& out) {
  if constexpr (std::is_same_v<M, bool>) {
    if (!j.is_boolean()) refuse(j, "true or false");
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<M> && sizeof(M) <= sizeof(std::uint64_t)) {
    out = to_integer<M>(j);
  } else if constexpr (std::is_floating_point_v<M>) {
    out = to_floating<M>(j);
  } else if constexpr (has_fields<M>) {
    read_fields(j, out, factum_event_fields(type_tag<M>{}));
  } else if constexpr (is_optional<M>::value) {
    if (j.is_null()) {
      out.reset();
    } else {
      typename M::value_type v{};
      read_checked(j, v);
      out = std::move(v);
    }
  } else if constexpr (is_vector<M>::value) {
    if (!j.is_array()) refuse(j, "an array");
    out.clear();
    out.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      typename M::value_type v{};
      in_context([&] { return "[" + std::to_string(i) + "]: "; }, [&] { read_checked(j[i], v); });
      out.push_back(std::move(v));
    }
  } else if constexpr (is_array<M>::value) {
    if (!j.is_array() || j.size() != out.size())
      refuse(j, "an array of " + std::to_string(out.size()));
    for (std::size_t i = 0; i < out.size(); ++i)
      in_context([&] { return "[" + std::to_string(i) + "]: "; },
                 [&] { read_checked(j[i], out[i]); });
  } else if constexpr (is_string_map<M>::value) {
    if (!j.is_object()) refuse(j, "an object");
    out.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
      typename M::mapped_type v{};
      in_context([&] { return "'" + it.key() + "': "; }, [&] { read_checked(it.value(), v); });
      out.emplace(it.key(), std::move(v));
    }
  } else {
    j.get_to(out);  // the type's own from_json
  }
}

}  // namespace factum::detail
