// bank: the bank account example on the SQLite event store.
//
// Every run starts a factum runtime on the file, which loads account acc-1
// from its stream ("account-acc-1") on its first command; it opens the
// account if it does not exist yet, deposits 100 and withdraws 30 (each
// decided by the aggregate, appended with the version it was decided on),
// then prints the balance and the stream's whole history. The next run
// starts from what this one stored.
//
//   bank [--db PATH]        PATH defaults to bank.db in the working directory
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_store.hpp>

#include "bank_domain.hpp"

namespace {

/// Runs `cmd` on account acc-1 through the runtime and waits for the answer.
/// Prints and returns false on a rejection or a failure.
bool dispatch(factum::runtime& rt, bank::account::command cmd, std::string_view what) {
  try {
    auto done = rt.dispatch<bank::account>("acc-1", std::move(cmd), boost::asio::use_future).get();
    std::cout << what << ": stream version " << done.version << ", global position "
              << done.events.back().global_position << '\n';
    return true;
  } catch (const factum::system_error& e) {
    if (factum::is_rejection(e.code()))
      std::cerr << "bank: " << what << " rejected (" << e.code().message()
                << "): " << e.error().context() << '\n';
    else
      std::cerr << "bank: " << what << ": " << e.error().message() << '\n';
    return false;
  }
}

/// Prints every event of the stream: version, global position, type, data.
bool print_history(factum::event_store& store, const factum::stream_id& stream) {
  auto events = store.read_stream(stream);
  if (!events) {
    std::cerr << "bank: reading " << stream.str() << ": " << events.error().message() << '\n';
    return false;
  }
  std::cout << "history of " << stream.str() << " (" << events->size() << " events):\n"
            << "  version  position  type            data\n";
  for (const factum::recorded_event& e : *events)
    std::cout << "  " << std::setw(7) << e.version << "  " << std::setw(8) << e.global_position
              << "  " << std::left << std::setw(14) << e.type << std::right << "  " << e.data
              << '\n';
  return true;
}

int usage(std::ostream& out, int status) {
  out << "usage: bank [--db PATH]\n"
         "  Opens account acc-1 if needed, deposits 100, withdraws 30, and prints\n"
         "  the balance and the account's history. PATH defaults to bank.db.\n";
  return status;
}

int run(int argc, char** argv) {
  std::filesystem::path db = "bank.db";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--db" && i + 1 < argc) {
      db = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      return usage(std::cout, 0);
    } else {
      std::cerr << "bank: unknown argument '" << arg << "'\n";
      return usage(std::cerr, 2);
    }
  }

  auto store = factum::sqlite_store::open(db);
  if (!store) {
    std::cerr << "bank: opening " << db.string() << ": " << store.error().message() << '\n';
    return 1;
  }
  std::cout << "store: " << db.string() << '\n';

  // The runtime owns the store; the account is loaded on its first command.
  factum::runtime rt{std::move(*store)};
  const auto stream = factum::stream_of<bank::account>("acc-1");
  auto acc = rt.state_of<bank::account>("acc-1");
  if (!acc) {
    std::cerr << "bank: loading acc-1: " << acc.error().message() << '\n';
    return 1;
  }
  std::cout << "acc-1: " << (acc->state.open ? "loaded" : "new") << ", stream version "
            << acc->version << ", balance " << acc->state.balance << '\n';
  if (acc->version > 0)
    std::cout << "continuing from the previous runs: " << acc->version
              << " events already stored, balance " << acc->state.balance << '\n';
  else
    std::cout << "first run on this file: the account does not exist yet\n";

  if (!acc->state.open && !dispatch(rt, bank::open_account{"Ann"}, "open for Ann")) return 1;
  if (!dispatch(rt, bank::deposit{100}, "deposit 100")) return 1;
  if (!dispatch(rt, bank::withdraw{30}, "withdraw 30")) return 1;

  acc = rt.state_of<bank::account>("acc-1");
  if (!acc) {
    std::cerr << "bank: reading acc-1: " << acc.error().message() << '\n';
    return 1;
  }
  std::cout << "balance of acc-1 (" << acc->state.owner << "): " << acc->state.balance << '\n';
  return print_history(rt.store(), stream) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const factum::system_error& e) {
    std::cerr << "bank: " << e.error().message() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bank: " << e.what() << '\n';
    return 1;
  }
}
