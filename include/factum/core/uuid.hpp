#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace factum {

/// A 128-bit UUID, compared and hashed by its bytes.
///
/// Event ids are UUIDv7 (RFC 9562): the first 48 bits are Unix milliseconds,
/// so ids sort by creation time and index well (new ids land at the end of a
/// B-tree). Within one process `uuid::v7()` is strictly increasing, even for
/// ids made in the same millisecond on several threads.
/// ```
/// factum::event_id id = factum::uuid::v7();
/// std::string text = id.to_string();     // "0190b6f4-3c1a-7e5b-8d41-6f0a2c3b9e17"
/// auto back = factum::uuid::parse(text); // std::optional<uuid>
/// ```
class uuid {
 public:
  using bytes_type = std::array<std::uint8_t, 16>;

  constexpr uuid() noexcept = default;  ///< the nil UUID
  constexpr explicit uuid(const bytes_type& b) noexcept : bytes_(b) {}

  /// A new UUIDv7; strictly increasing within this process.
  [[nodiscard]] static uuid v7();
  /// A new random UUIDv4.
  [[nodiscard]] static uuid v4();
  /// The same UUID for the same name, on every machine and in every run (a
  /// version 8 UUID from two 64-bit FNV-1a hashes of `name`). For ids that
  /// must come out equal when work is redone, so the store's idempotency
  /// recognises it: `uuid::named("transfers/" + event.id.to_string())`.
  [[nodiscard]] static constexpr uuid named(std::string_view name) noexcept {
    std::uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
    for (const char c : name) {
      a = (a ^ static_cast<std::uint8_t>(c)) * 0x100000001b3ULL;
      b = (b ^ static_cast<std::uint8_t>(c)) * 0x100000001b3ULL;
      b ^= b >> 29;
    }
    bytes_type out{};
    for (int i = 0; i < 8; ++i) {
      out[i] = static_cast<std::uint8_t>(a >> (56 - 8 * i));
      out[8 + i] = static_cast<std::uint8_t>(b >> (56 - 8 * i));
    }
    out[6] = static_cast<std::uint8_t>((out[6] & 0x0f) | 0x80);  // version 8
    out[8] = static_cast<std::uint8_t>((out[8] & 0x3f) | 0x80);  // RFC 9562 variant
    return uuid{out};
  }
  /// Parses the canonical 36-character form (either case); nullopt if malformed.
  [[nodiscard]] static std::optional<uuid> parse(std::string_view text) noexcept;

  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] constexpr const bytes_type& bytes() const noexcept { return bytes_; }
  [[nodiscard]] constexpr bool is_nil() const noexcept { return *this == uuid{}; }
  [[nodiscard]] constexpr int version() const noexcept { return bytes_[6] >> 4; }
  /// For a UUIDv7, the time it was made (millisecond precision);
  /// `time_point::max()` for a time past the clock's range (after 2262).
  [[nodiscard]] std::chrono::system_clock::time_point time() const noexcept;

  friend constexpr auto operator<=>(const uuid&, const uuid&) noexcept = default;

 private:
  bytes_type bytes_{};
};

/// Identifies one event, for ever; the store's idempotency key.
using event_id = uuid;
/// Identifies one command; idempotency records are keyed by it.
using command_id = uuid;

}  // namespace factum

template <>
struct std::hash<factum::uuid> {
  std::size_t operator()(const factum::uuid& u) const noexcept {
    std::uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; ++i)
      a = (a << 8) | u.bytes()[i];
    for (int i = 8; i < 16; ++i)
      b = (b << 8) | u.bytes()[i];
    return std::hash<std::uint64_t>{}(a ^ (b * 0x9E3779B97F4A7C15ULL));
  }
};

#include <factum/core/detail/uuid-inl.hpp>
