#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace factum {

/// An aggregate with its own snapshot encoding:
/// ```
/// static std::string encode_state(const state&);
/// static std::optional<state> decode_state(std::string_view);
/// static constexpr std::uint32_t snapshot_schema = 2;   // optional, default 1
/// ```
template <class A>
concept custom_snapshot = requires(const typename A::state& s, std::string_view text) {
  { A::encode_state(s) } -> std::convertible_to<std::string>;
  { A::decode_state(text) } -> std::same_as<std::optional<typename A::state>>;
};

/// A state nlohmann/json can convert both ways (`to_json` / `from_json`, e.g.
/// `NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(state, open, balance)`).
template <class A>
concept json_snapshot = requires(const typename A::state& s, const nlohmann::json& j) {
  nlohmann::json(s);
  j.get<typename A::state>();
};

/// An aggregate whose state can be saved as a snapshot: its own encoding,
/// else JSON through nlohmann.
template <class A>
concept snapshottable = custom_snapshot<A> || json_snapshot<A>;

namespace detail {

template <class A>
constexpr std::uint32_t snapshot_schema_of() {
  if constexpr (requires { A::snapshot_schema; })
    return static_cast<std::uint32_t>(A::snapshot_schema);
  else
    return 1;
}

template <snapshottable A>
std::string encode_state(const typename A::state& s) {
  if constexpr (custom_snapshot<A>)
    return A::encode_state(s);
  else
    return nlohmann::json(s).dump();
}

template <snapshottable A>
std::optional<typename A::state> decode_state(std::string_view text) {
  if constexpr (custom_snapshot<A>) {
    return A::decode_state(text);
  } else {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    try {
      return j.get<typename A::state>();
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  }
}

}  // namespace detail
}  // namespace factum
