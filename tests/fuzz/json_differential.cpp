// The JSON text validator against nlohmann::json::accept: both must agree on
// every input, because the SQLite store rejects what the validator rejects
// while the codec decodes what nlohmann parses.
//
// Differences skipped here: the validator stops at 512 levels of nesting
// (nlohmann has no limit, by design); nlohmann skips a leading UTF-8 byte
// order mark (RFC 8259 lets a parser ignore it; factum never writes one);
// and nlohmann takes a NUL byte for the end of its input, so it accepts
// "1\0junk" (the validator is right, and the codec rejects such data:
// fuzz_codec checks it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include <factum/core/detail/json_text.hpp>

#include "check.hpp"

namespace {

/// The deepest nesting of brackets outside strings (an upper bound is enough).
int nesting(std::string_view s) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.starts_with("\xEF\xBB\xBF") || text.find('\0') != std::string_view::npos ||
      nesting(text) > 500)
    return 0;
  const bool ours = factum::detail::is_valid_json(text);
  const bool theirs = nlohmann::json::accept(text);
  if (ours != theirs)
    std::fprintf(stderr, "is_valid_json: %d, nlohmann::json::accept: %d\n", ours, theirs);
  FACTUM_FUZZ_CHECK(ours == theirs);
  return 0;
}
