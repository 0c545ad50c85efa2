#pragma once

// UTF-8 well-formedness, for the JSON validator and for the names a store
// accepts (stream ids, event types, metadata, subscribers).
#include <cstddef>
#include <string>
#include <string_view>

namespace factum::detail {

/// The length of the UTF-8 sequence of 2 to 4 bytes at `p`, or 0 when it is
/// not well-formed (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
inline std::size_t utf8_length(const char* p, const char* end) noexcept {
  const auto b0 = static_cast<unsigned char>(*p);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) <= n) return 0;
  for (std::size_t i = 1; i <= n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return 0;
  }
  return n + 1;
}

/// Whether `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] inline bool is_utf8(std::string_view s) noexcept {
  for (const char* p = s.data(); p != s.data() + s.size();) {
    if (static_cast<unsigned char>(*p) < 0x80) {
      ++p;
      continue;
    }
    const std::size_t n = utf8_length(p, s.data() + s.size());
    if (n == 0) return false;
    p += n;
  }
  return true;
}

/// Whether `s` is well-formed UTF-8 without a NUL byte: what every store
/// accepts as a name (stream id, event type, subscriber) or metadata text.
[[nodiscard]] inline bool is_text(std::string_view s) noexcept {
  return s.find('\0') == std::string_view::npos && is_utf8(s);
}

/// `s` with each byte that is not part of well-formed UTF-8, and each NUL,
/// replaced by U+FFFD: text that any store accepts, kept readable.
[[nodiscard]] inline std::string to_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char* p = s.data(); p != s.data() + s.size();) {
    const auto b = static_cast<unsigned char>(*p);
    const std::size_t n = b < 0x80 ? 1 : utf8_length(p, s.data() + s.size());
    if (n == 0 || b == 0) {
      out += "\xEF\xBF\xBD";
      ++p;
      continue;
    }
    out.append(p, n);
    p += n;
  }
  return out;
}

}  // namespace factum::detail
