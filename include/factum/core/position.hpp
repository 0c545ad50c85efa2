#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace factum {

/// A place in the global log, as a subscriber's checkpoint.
///
/// Treat it as opaque: compare, store, and pass back to `read_all`. It has
/// two parts so that a backend whose commit order differed from its position
/// numbers could order by both; every store so far (memory, SQLite,
/// PostgreSQL, whose appends serialise on the log head) keeps positions in
/// commit order, and both parts are the global position.
/// A default `position` is the start, before every event.
/// ```
/// factum::position p = events.back().pos;   // after the last event handled
/// store.save_checkpoint("balances", p);
/// auto next = store.read_all(p, 500);       // strictly after p
/// ```
class position {
 public:
  constexpr position() noexcept = default;
  constexpr position(std::uint64_t commit, std::uint64_t global) noexcept
      : commit_(commit), global_(global) {}

  /// Before every event.
  [[nodiscard]] static constexpr position start() noexcept { return {}; }
  /// For backends where commit order and global position agree.
  [[nodiscard]] static constexpr position at(std::uint64_t global) noexcept {
    return {global, global};
  }

  /// The backend's commit order part.
  [[nodiscard]] constexpr std::uint64_t commit() const noexcept { return commit_; }
  /// The global position part.
  [[nodiscard]] constexpr std::uint64_t global() const noexcept { return global_; }

  /// "commit/global", the form checkpoints are stored in.
  [[nodiscard]] std::string to_string() const {
    return std::to_string(commit_) + "/" + std::to_string(global_);
  }
  [[nodiscard]] static std::optional<position> parse(std::string_view text) noexcept {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::uint64_t c = 0, g = 0;
    const auto a = std::from_chars(text.data(), text.data() + slash, c);
    const auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), g);
    if (a.ec != std::errc{} || a.ptr != text.data() + slash || b.ec != std::errc{} ||
        b.ptr != text.data() + text.size())
      return std::nullopt;
    return position{c, g};
  }

  friend constexpr auto operator<=>(const position&, const position&) noexcept = default;

 private:
  std::uint64_t commit_ = 0;
  std::uint64_t global_ = 0;
};

}  // namespace factum
