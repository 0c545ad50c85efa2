// Stream ids (core/stream_id.hpp) from arbitrary bytes: `validate` and the
// category/id split never crash, `validate` keeps the documented rule, and
// the split agrees with `stream_id::of`.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <factum/core/stream_id.hpp>

#include "check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const factum::stream_id s{text};
  const auto valid = factum::stream_id::validate(text);
  FACTUM_FUZZ_CHECK(valid.has_value() == s.validate().has_value());
  // The rule (stream_id.hpp): 1 to max_size bytes of UTF-8 without a NUL
  // (is_utf8 itself is checked by fuzz_json_text).
  FACTUM_FUZZ_CHECK(valid.has_value() ==
                    (!text.empty() && text.size() <= s.max_size &&
                     text.find('\0') == std::string_view::npos && factum::detail::is_utf8(text)));
  if (!valid) FACTUM_FUZZ_CHECK(valid.error() == factum::errc::invalid_stream_id);

  const std::string_view category = s.category(), id = s.id();
  FACTUM_FUZZ_CHECK(category.find('-') == std::string_view::npos);
  if (text.find('-') == std::string_view::npos) {
    FACTUM_FUZZ_CHECK(category == text && id.empty());
  } else {
    // "<category>-<id>" splits at the first '-' and joins back to itself.
    FACTUM_FUZZ_CHECK(factum::stream_id::of(category, id) == s);
    FACTUM_FUZZ_CHECK(category.size() + 1 + id.size() == text.size());
  }
  FACTUM_FUZZ_CHECK(std::hash<factum::stream_id>{}(s) ==
                    std::hash<factum::stream_id>{}(factum::stream_id{std::string(text)}));
  return 0;
}
