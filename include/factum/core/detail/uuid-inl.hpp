#pragma once

#include <mutex>
#include <random>

namespace factum {
namespace detail {

inline std::uint64_t random_u64() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64{seq};
  }()};
  return engine();
}

/// The UUIDv7 clock: 48-bit milliseconds plus a 12-bit counter (RFC 9562
/// method 1). When the counter overflows within one millisecond, the
/// timestamp moves one millisecond ahead, so ids never repeat or go back.
struct v7_clock {
  std::mutex mutex;
  std::uint64_t last = 0;  // (ms << 12) | counter

  std::uint64_t next() {
    const auto now =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    std::lock_guard lock(mutex);
    const std::uint64_t candidate = now << 12;
    last = candidate > last ? candidate : last + 1;
    return last;
  }
};

inline v7_clock& process_v7_clock() {
  static v7_clock clock;
  return clock;
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace detail

inline uuid uuid::v7() {
  const std::uint64_t stamp = detail::process_v7_clock().next();
  const std::uint64_t ms = stamp >> 12;
  const std::uint64_t counter = stamp & 0xFFF;
  const std::uint64_t rnd = detail::random_u64();
  bytes_type b{};
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (counter >> 8));
  b[7] = static_cast<std::uint8_t>(counter);
  b[8] = static_cast<std::uint8_t>(0x80 | ((rnd >> 56) & 0x3F));
  for (int i = 9; i < 16; ++i)
    b[i] = static_cast<std::uint8_t>(rnd >> (8 * (15 - i)));
  return uuid{b};
}

inline uuid uuid::v4() {
  bytes_type b{};
  const std::uint64_t hi = detail::random_u64(), lo = detail::random_u64();
  for (int i = 0; i < 8; ++i)
    b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i)
    b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x40 | (b[6] & 0x0F));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3F));
  return uuid{b};
}

inline std::optional<uuid> uuid::parse(std::string_view text) noexcept {
  if (text.size() != 36) return std::nullopt;
  bytes_type b{};
  std::size_t j = 0;
  for (std::size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = detail::hex_value(text[i]), lo = detail::hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[j++] = static_cast<std::uint8_t>(hi * 16 + lo);
    i += 2;
  }
  return uuid{b};
}

inline std::string uuid::to_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(digits[bytes_[i] >> 4]);
    s.push_back(digits[bytes_[i] & 0xF]);
  }
  return s;
}

inline std::chrono::system_clock::time_point uuid::time() const noexcept {
  using clock = std::chrono::system_clock;
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i)
    ms = (ms << 8) | bytes_[i];
  // 48 bits of milliseconds reach the year 10889, a nanosecond clock ends in
  // 2262: converting a later time would overflow (UB), so it saturates.
  constexpr auto last =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::duration::max());
  if (ms > static_cast<std::uint64_t>(last.count())) return clock::time_point::max();
  return clock::time_point{std::chrono::duration_cast<clock::duration>(
      std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(ms)})};
}

}  // namespace factum
