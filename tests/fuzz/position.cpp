// Checkpoint positions (core/position.hpp) from arbitrary bytes: `parse`
// never crashes, accepts only "<commit>/<global>" in decimal, and what it
// accepts prints and parses back to the same position.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include <factum/core/position.hpp>

#include "check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto p = factum::position::parse(text);
  if (p) {
    FACTUM_FUZZ_CHECK(std::count(text.begin(), text.end(), '/') == 1);
    FACTUM_FUZZ_CHECK(std::all_of(text.begin(), text.end(),
                                  [](char c) { return c == '/' || (c >= '0' && c <= '9'); }));
    FACTUM_FUZZ_CHECK(factum::position::parse(p->to_string()) == p);
  }
  // Any two numbers print and parse back.
  if (size >= 16) {
    std::uint64_t c = 0, g = 0;
    std::memcpy(&c, data, 8);
    std::memcpy(&g, data + 8, 8);
    const factum::position q{c, g};
    FACTUM_FUZZ_CHECK(factum::position::parse(q.to_string()) == q);
  }
  return 0;
}
