// bank: the bank account example on the SQLite event store.
//
// Every run rebuilds account acc-1 from its stream ("account-acc-1"), opens
// it if it does not exist yet, deposits 100 and withdraws 30 (each appended
// with the stream version it was decided on), then prints the balance and
// the stream's whole history. The next run starts from what this one stored.
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

#include <factum/store/sqlite_store.hpp>

#include "bank_domain.hpp"

namespace {

/// One account as this program knows it: its state and the stream version
/// that state was built from.
struct account {
  factum::stream_id stream;
  bank::state state;
  std::uint64_t version = 0;  // its last event's version; 0: no events yet
};

/// Rebuilds an account from its stream: decode every stored event, apply it.
factum::result<account> load(factum::event_store& store, factum::stream_id stream) {
  auto events = store.read_stream(stream);
  if (!events) return std::move(events).error();
  account acc{std::move(stream), {}, 0};
  for (const factum::recorded_event& recorded : *events) {
    auto e = bank::codec::decode(recorded);
    if (!e) return std::move(e).error();
    bank::account::apply(acc.state, *e);
    acc.version = recorded.version;
  }
  return acc;
}

/// Decides `cmd` on the account's state, appends the events expecting the
/// stream at the version the decision was made on, then applies them. Prints
/// and returns false on a rejection or a store error (a concurrency conflict,
/// when another writer appended in between).
bool commit(factum::event_store& store, account& acc, const bank::account::command& cmd,
            std::string_view what) {
  const auto decided = bank::account::execute(acc.state, cmd);
  if (decided.rejected()) {
    std::cerr << "bank: " << what << " rejected (" << decided.rejection().code
              << "): " << decided.rejection().message << '\n';
    return false;
  }
  std::vector<factum::event_data> events;
  for (const auto& e : decided.events())
    events.push_back(bank::codec::encode(e));
  auto appended =
      store.append(acc.stream, factum::expected_version::exact(acc.version), std::move(events));
  if (!appended) {
    std::cerr << "bank: " << what << ": " << appended.error().message() << '\n';
    return false;
  }
  for (const auto& e : decided.events())
    bank::account::apply(acc.state, e);
  acc.version = appended->streams.front().last_version;
  std::cout << what << ": stream version " << acc.version << ", global position "
            << appended->last_position << '\n';
  return true;
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

  auto acc = load(*store, factum::stream_of<bank::account>("acc-1"));
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

  if (!acc->state.open && !commit(*store, *acc, bank::open_account{"Ann"}, "open for Ann"))
    return 1;
  if (!commit(*store, *acc, bank::deposit{100}, "deposit 100")) return 1;
  if (!commit(*store, *acc, bank::withdraw{30}, "withdraw 30")) return 1;

  std::cout << "balance of acc-1 (" << acc->state.owner << "): " << acc->state.balance << '\n';
  return print_history(*store, acc->stream) ? 0 : 1;
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
