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
  /// Parses the canonical 36-character form (either case); nullopt if malformed.
  [[nodiscard]] static std::optional<uuid> parse(std::string_view text) noexcept;

  [[nodiscard]] std::string to_string() const;
  [[nodiscard]] constexpr const bytes_type& bytes() const noexcept { return bytes_; }
  [[nodiscard]] constexpr bool is_nil() const noexcept { return *this == uuid{}; }
  [[nodiscard]] constexpr int version() const noexcept { return bytes_[6] >> 4; }
  /// For a UUIDv7, the time it was made (millisecond precision).
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
