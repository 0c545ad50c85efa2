#pragma once

// The codec's known number problem, kept out of the targets that must run
// green until it is fixed: nlohmann converts a JSON float to an integer field
// with a plain cast, which is undefined behaviour when the value does not
// fit (UBSan: float-cast-overflow). Targets built without
// FACTUM_FUZZ_STRICT skip inputs holding a float outside (-1, 127], which
// fits every integer field; the `_strict` targets keep them.
#include <string_view>

#include <nlohmann/json.hpp>

namespace factum_fuzz {

inline bool has_unsafe_float(const nlohmann::json& j) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    return !(v > -1.0 && v <= 127.0);
  }
  if (j.is_structured())
    for (const auto& v : j)
      if (has_unsafe_float(v)) return true;
  return false;
}

/// Whether `text` holds a float that may not fit an integer field (false for
/// text nlohmann does not parse: it never reaches a cast).
inline bool skip_known_number_issue([[maybe_unused]] std::string_view text) {
#ifdef FACTUM_FUZZ_STRICT
  return false;
#else
  const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  return !j.is_discarded() && has_unsafe_float(j);
#endif
}

}  // namespace factum_fuzz
