// The JSON text validator and string writer (core/detail/json_text.hpp): no
// crash or UB on any bytes, and what the writer makes, the validator accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <factum/core/detail/json_text.hpp>

#include "check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = factum::detail::is_valid_json(text);
  if (valid) {
    // Insignificant whitespace around a value changes nothing.
    FACTUM_FUZZ_CHECK(factum::detail::is_valid_json(" \n" + std::string(text) + "\t\r"));
  }
  if (factum::detail::is_utf8(text)) {
    // Any UTF-8 string, written as a JSON string, is valid JSON.
    std::string out;
    factum::detail::write_string(out, text);
    FACTUM_FUZZ_CHECK(factum::detail::is_valid_json(out));
  }
  return 0;
}
