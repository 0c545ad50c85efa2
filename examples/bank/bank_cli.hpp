#pragma once

/// The `bank` program's commands, as a table: a name, its parameters, a
/// line of help, and the function that runs it. main.cpp parses the global
/// options, finds the command and checks how many arguments it got;
/// commands.cpp holds the table and the commands.
///
/// Adding a command is one row and one function:
/// ```
/// {"metrics", {}, "the read side's metrics, as Prometheus text", false, &metrics},
/// ```
/// This header is light (no Asio, no SQLite): main.cpp includes only it.
#include <chrono>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bank::cli {

/// Exit codes: scripts rely on them.
enum exit_code : int {
  ok = 0,         ///< the command was stored (or the query answered)
  rejected = 1,   ///< the bank said no (an aggregate's rejection, a refunded transfer)
  bad_usage = 2,  ///< a bad argument: unknown command, wrong count, bad amount
  failed = 3,     ///< the store failed, or the read side did not catch up in time
};

/// The global options (`bank [--db PATH|URI] [--timeout SECONDS] COMMAND ...`).
struct options {
  /// An SQLite file, or a PostgreSQL URI (`postgresql://...`).
  std::string db = "bank.db";
  /// How long a run waits for the read side (projection, process manager)
  /// to catch up, at its start and before it exits.
  std::chrono::seconds timeout{30};
};

class session;

/// One command of the table.
struct command {
  std::string_view name;
  std::vector<std::string_view> params;  ///< shown in the usage; their count is checked
  std::string_view summary;
  bool writes = false;  ///< waits for the read side after it ran
  int (*run)(session&, std::span<const std::string> args) = nullptr;
};

/// Every command, in the order the usage lists them.
[[nodiscard]] std::span<const command> commands();

/// Runs `c` with its arguments (their count checked already) on the file of
/// `o`; returns the exit code.
int execute(const command& c, std::span<const std::string> args, const options& o);

}  // namespace bank::cli
