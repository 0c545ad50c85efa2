#pragma once

// factum-inspect's command line: what the user asked for, or why it makes no sense.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace factum_inspect {

/// The commands, one per way of looking at a store.
enum class command { streams, stream, tail, checkpoints, dead_letters };

/// One valid invocation: `factum-inspect DB COMMAND [ARG] [OPTIONS]`.
struct invocation {
  std::string db;
  factum_inspect::command command = command::streams;
  std::string argument;               ///< the stream of `stream`, the subscriber of `dead-letters`
  bool json = false;                  ///< JSON Lines instead of aligned text
  std::string prefix;                 ///< `streams --prefix P`
  std::optional<std::uint64_t> from;  ///< `tail --from POS`, `stream --from VERSION`
  bool from_end = false;              ///< `tail --from end`: only events appended later
  std::size_t limit = SIZE_MAX;       ///< `--limit N`
  bool follow = false;                ///< `tail --follow`
  std::uint32_t poll_ms = 200;        ///< `tail --follow --poll-ms MS`
};

/// `--help` / `--version`: print and exit 0.
struct help_request {};
struct version_request {};

/// A command line that makes no sense: exit 2 with `message` and the usage.
struct usage_error {
  std::string message;
};

using parsed = std::variant<invocation, help_request, version_request, usage_error>;

/// Reads `argv` (options may come anywhere after the program name).
[[nodiscard]] parsed parse_command_line(int argc, const char* const* argv);

/// The usage text, for `--help` and after a usage error.
[[nodiscard]] const char* usage() noexcept;

}  // namespace factum_inspect
