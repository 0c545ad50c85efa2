#include "command_line.hpp"

#include <array>
#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

namespace factum_inspect {

namespace {

constexpr const char* usage_text = R"(usage: factum-inspect DB COMMAND [ARGS] [OPTIONS]

Looks into a factum SQLite event store without changing it (the file is
opened read-only; other processes may keep writing to it).

commands:
  streams [--prefix P]              streams sorted by name: version, last position,
                                    when the last event was recorded
  stream NAME [--from V] [--limit N]
                                    the events of one stream, from version V
  tail [--from POS|end] [--limit N] [--follow] [--poll-ms MS]
                                    the global log in order, from position POS
                                    (end: only events appended from now on);
                                    --follow waits for new events until
                                    interrupted (SIGINT, SIGTERM: exit 0)
  checkpoints                       subscriber checkpoints (event store and SQLite
                                    read models) and how far each lags the head
  dead-letters [SUBSCRIBER]         dead letters, of one subscriber or all

options:
  --json       one JSON object per line instead of aligned text
  --help, -h   this text
  --version    factum-inspect's version

exit status: 0 done, 1 the store could not be read (no such file, not an
SQLite file, not a factum store, no such stream), 2 a bad command line.
)";

struct command_name {
  std::string_view name;
  factum_inspect::command command;
};
constexpr std::array<command_name, 5> command_names{{
    {"streams", command::streams},
    {"stream", command::stream},
    {"tail", command::tail},
    {"checkpoints", command::checkpoints},
    {"dead-letters", command::dead_letters},
}};

template <class Int>
std::optional<Int> parse_number(std::string_view text) {
  Int v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

/// Which options each command takes.
bool takes(factum_inspect::command c, std::string_view option) {
  if (option == "--prefix") return c == command::streams;
  if (option == "--from" || option == "--limit") return c == command::stream || c == command::tail;
  if (option == "--follow" || option == "--poll-ms") return c == command::tail;
  return false;
}

}  // namespace

const char* usage() noexcept {
  return usage_text;
}

parsed parse_command_line(int argc, const char* const* argv) {
  std::vector<std::string_view> positional;
  std::vector<std::pair<std::string_view, std::string_view>> options;  // name, value
  invocation out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return help_request{};
    if (arg == "--version") return version_request{};
    if (arg == "--json") {
      out.json = true;
    } else if (arg == "--follow") {
      options.emplace_back(arg, std::string_view{});
    } else if (arg == "--prefix" || arg == "--from" || arg == "--limit" || arg == "--poll-ms") {
      if (i + 1 >= argc) return usage_error{"option " + std::string(arg) + " needs a value"};
      options.emplace_back(arg, argv[++i]);
    } else if (arg == "--") {
      for (++i; i < argc; ++i)
        positional.emplace_back(argv[i]);
    } else if (arg.size() > 1 && arg.front() == '-') {
      return usage_error{"unknown option '" + std::string(arg) + "'"};
    } else {
      positional.push_back(arg);
    }
  }

  if (positional.empty()) return usage_error{"no database file given"};
  out.db = positional[0];
  if (positional.size() < 2) return usage_error{"no command given"};
  const std::string_view name = positional[1];
  bool known = false;
  for (const auto& c : command_names)
    if (c.name == name) {
      out.command = c.command;
      known = true;
    }
  if (!known) return usage_error{"unknown command '" + std::string(name) + "'"};

  const std::size_t args = positional.size() - 2;
  switch (out.command) {
    case command::stream:
      if (args != 1) return usage_error{"stream takes one stream name"};
      out.argument = positional[2];
      if (out.argument.empty()) return usage_error{"the stream name is empty"};
      break;
    case command::dead_letters:
      if (args > 1) return usage_error{"dead-letters takes at most one subscriber"};
      if (args == 1) out.argument = positional[2];
      break;
    default:
      if (args != 0)
        return usage_error{std::string(name) + " takes no argument, got '" +
                           std::string(positional[2]) + "'"};
  }

  for (const auto& [option, value] : options) {
    if (!takes(out.command, option))
      return usage_error{std::string(name) + " has no option " + std::string(option)};
    const auto bad_value = [&, option = option, value = value] {
      return usage_error{"bad value '" + std::string(value) + "' for " + std::string(option)};
    };
    if (option == "--prefix") {
      out.prefix = value;
    } else if (option == "--follow") {
      out.follow = true;
    } else if (option == "--from") {
      if (out.command == command::tail && value == "end") {
        out.from_end = true;
      } else {
        auto n = parse_number<std::uint64_t>(value);
        if (!n || *n == 0) return bad_value();
        out.from = *n;
      }
    } else if (option == "--limit") {
      auto n = parse_number<std::size_t>(value);
      if (!n) return bad_value();
      out.limit = *n;
    } else if (option == "--poll-ms") {
      auto n = parse_number<std::uint32_t>(value);
      if (!n || *n == 0 || *n > 60'000) return bad_value();
      out.poll_ms = *n;
    }
  }
  return out;
}

}  // namespace factum_inspect
