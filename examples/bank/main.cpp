// bank: the bank account example as a command-line program, on the SQLite
// event store.
//
//   bank [--db PATH|URI] [--timeout SECONDS] COMMAND [ARGS...]
//
// Each run opens the file (bank.db in the working directory by default),
// starts the runtime and the read side (the account-summary projection and
// the transfer process manager), lets the read side catch up with what
// earlier runs left (a transfer whose process was killed is finished
// here), runs one command, and waits for the read side again before it
// exits. The commands are in commands.cpp; this file only reads the
// command line.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "bank_cli.hpp"

namespace {

using namespace bank::cli;

int usage(std::ostream& out, int status) {
  out << "usage: bank [--db PATH] [--timeout SECONDS] COMMAND [ARGS...]\n"
         "\n"
         "commands:\n";
  for (const command& c : commands()) {
    std::string line = "  " + std::string(c.name);
    for (auto p : c.params)
      line += " " + std::string(p);
    line.resize(std::max<std::size_t>(line.size() + 2, 28), ' ');
    out << line << c.summary << '\n';
  }
  out << "\n"
         "options (before the command):\n"
         "  --db PATH|URI        the SQLite file (default: bank.db in the working directory),\n"
         "                       or a PostgreSQL URI: postgresql://[user@]host/database\n"
         "  --timeout SECONDS    how long to wait for the read side (default 30)\n"
         "  -h, --help           this text\n"
         "\n"
         "transfer stores a request; the transfer process manager debits FROM,\n"
         "credits TO, and refunds FROM when TO refuses the credit. It exits 0 when\n"
         "the money moved, 1 when the debit was refused or the credit refunded.\n"
         "\n"
         "Several bank processes may run on one file at once. Each run lets the\n"
         "read side catch up first, so a transfer left unfinished by a run that\n"
         "was killed is completed by the next one.\n"
         "\n"
         "exit status: 0 done (the command was stored), 1 rejected (the aggregate's\n"
         "reason, or a transfer that was refused or refunded; its request is stored),\n"
         "2 bad usage, 3 failure (the store, or the read side did not catch up).\n"
         "\n"
         "test only: BANK_TEST_CRASH_AFTER_REQUEST=1 makes `transfer` kill itself\n"
         "(SIGKILL) right after storing the request, before any process manager runs.\n";
  return status;
}

int bad(std::string_view message) {
  std::cerr << "bank: " << message << " (bank --help for usage)\n";
  return bad_usage;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  options o;
  std::size_t i = 0;
  for (; i < args.size() && args[i].starts_with("-"); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") return usage(std::cout, ok);
    if (arg != "--db" && arg != "--timeout") return bad("unknown option '" + arg + "'");
    if (i + 1 == args.size()) return bad("option " + arg + " needs a value");
    const std::string& value = args[++i];
    if (arg == "--db") {
      if (value.empty()) return bad("--db needs a path");
      o.db = value;
      continue;
    }
    long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size() || seconds <= 0)
      return bad("--timeout needs a positive number of seconds, not '" + value + "'");
    o.timeout = std::chrono::seconds{seconds};
  }
  if (i == args.size()) {
    std::cerr << "bank: no command\n";
    return usage(std::cerr, bad_usage);
  }
  const std::string& name = args[i];
  for (const command& c : commands()) {
    if (c.name != name) continue;
    const std::span<const std::string> rest{args.data() + i + 1, args.size() - i - 1};
    if (rest.size() != c.params.size()) {
      std::string want = "usage: bank " + std::string(c.name);
      for (auto p : c.params)
        want += " " + std::string(p);
      return bad(std::string(rest.size() < c.params.size() ? "missing" : "extra") +
                 " arguments for '" + name + "'; " + want);
    }
    return execute(c, rest, o);
  }
  return bad("unknown command '" + name + "'");
}
