// UUID parsing (core/uuid.hpp) from arbitrary bytes: `parse` never crashes,
// accepts exactly the canonical 36-character form in either case, and
// round-trips through `to_string`.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <factum/core/uuid.hpp>

#include "check.hpp"

namespace {

bool canonical(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto u = factum::uuid::parse(text);
  FACTUM_FUZZ_CHECK(u.has_value() == canonical(text));
  if (u) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    FACTUM_FUZZ_CHECK(u->to_string() == lower);
    FACTUM_FUZZ_CHECK(factum::uuid::parse(u->to_string()) == u);
  }
  // Any 16 bytes print and parse back.
  if (size >= 16) {
    factum::uuid::bytes_type b{};
    std::copy_n(data, 16, b.begin());
    const factum::uuid v{b};
    FACTUM_FUZZ_CHECK(factum::uuid::parse(v.to_string()) == v);
    (void)v.time();
  }
  const auto n = factum::uuid::named(text);
  FACTUM_FUZZ_CHECK(n.version() == 8 && (n.bytes()[8] & 0xC0) == 0x80);
  return 0;
}
