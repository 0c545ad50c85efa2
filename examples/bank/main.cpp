// bank: the bank account example on the SQLite event store.
//
// Every run starts a factum runtime on the file, which loads account acc-1
// from its stream ("account-acc-1") on its first command; it opens the
// account if it does not exist yet, deposits 100 and withdraws 30 (each
// decided by the aggregate, appended with the version it was decided on).
// Then it requests two transfers: 25 to acc-2, and 10 to acc-404, which
// does not exist. The read side (bank_read_side.hpp) carries them out: the
// transfer process manager debits and credits, and refunds the second; the
// account-summary projection keeps the `accounts` table in the same file;
// the notifier sends a notice per withdrawal. The program waits for the
// read side, then prints the table, the notices, the balance and the
// stream's whole history. The next run starts from what this one stored.
//
//   bank [--db PATH]        PATH defaults to bank.db in the working directory
#include <algorithm>
#include <chrono>
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
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "bank_domain.hpp"
#include "bank_read_side.hpp"

namespace {

/// Runs `cmd` on account acc-1 through the runtime and waits for the answer.
/// Prints and returns false on a rejection or a failure.
template <class A = bank::account>
bool dispatch(factum::runtime& rt, typename A::command cmd, std::string_view what,
              std::string_view id = "acc-1") {
  try {
    auto done = rt.dispatch<A>(id, std::move(cmd), boost::asio::use_future).get();
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

/// Waits until every subscriber handled everything, including the events
/// their own commands caused (the head stops moving).
bool settle(factum::runtime& rt, const std::vector<factum::subscription>& subs) {
  for (int round = 0; round < 600; ++round) {
    const auto head = rt.store().head();
    if (!head) return false;
    const bool caught_up = std::all_of(subs.begin(), subs.end(), [&](const auto& s) {
      return s.wait_until(*head, std::chrono::milliseconds{100});
    });
    if (caught_up && rt.store().head().value_or(factum::position{}) == *head) return true;
  }
  return false;
}

/// Prints the account-summary projection's table.
void print_accounts(factum::sqlite_read_model& accounts) {
  std::cout << "accounts (the account-summary projection):\n";
  auto ok = accounts.query(
      "SELECT id, owner, balance FROM accounts ORDER BY id", [](const factum::sql_row& r) {
        std::cout << "  " << r.text(0) << "  " << r.text(1) << "  " << r.int64(2) << '\n';
      });
  if (!ok) std::cerr << "bank: reading the accounts table: " << ok.error().message() << '\n';
}

int usage(std::ostream& out, int status) {
  out << "usage: bank [--db PATH]\n"
         "  Opens account acc-1 if needed, deposits 100, withdraws 30, transfers 25\n"
         "  to acc-2 and 10 to acc-404 (refunded: no such account), and prints the\n"
         "  accounts table, the notices, the balance and acc-1's history.\n"
         "  PATH defaults to bank.db.\n";
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

  // The read side, in the same file (opened after the store, which creates
  // the file's schema): a projection, a process manager, a handler.
  auto summary = factum::sqlite_read_model::open(db);
  if (!summary) {
    std::cerr << "bank: opening the read model: " << summary.error().message() << '\n';
    return 1;
  }
  auto accounts = std::make_shared<factum::sqlite_read_model>(std::move(*summary));
  if (auto ok = bank::account_summary::create(*accounts); !ok) {
    std::cerr << "bank: creating the accounts table: " << ok.error().message() << '\n';
    return 1;
  }
  factum::subscriptions subs{rt};
  bank::notifier notifier;
  std::vector<factum::subscription> read_side{subs.add(bank::account_summary{}, accounts),
                                              subs.add_process(bank::transfers{}),
                                              subs.add(notifier)};
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

  // Transfers: requested as facts, carried out by the process manager.
  auto before = rt.state_of<bank::account>("acc-2");
  if (before && !before->state.open &&
      !dispatch(rt, bank::open_account{"Bob"}, "open acc-2 for Bob", "acc-2"))
    return 1;
  const std::string run = std::to_string(rt.state_of<bank::account>("acc-1")->version);
  if (!dispatch<bank::transfer>(rt, bank::request_transfer{"acc-1", "acc-2", 25},
                                "transfer 25 to acc-2", "t" + run + "-1") ||
      !dispatch<bank::transfer>(rt, bank::request_transfer{"acc-1", "acc-404", 10},
                                "transfer 10 to acc-404 (no such account)", "t" + run + "-2"))
    return 1;
  if (!settle(rt, read_side)) {
    std::cerr << "bank: the read side did not catch up within a minute\n";
    return 1;
  }
  print_accounts(*accounts);
  {
    std::lock_guard lock(notifier.out->mutex);
    std::cout << "notices sent this run: " << notifier.out->sent.size() << '\n';
    for (const auto& n : notifier.out->sent)
      std::cout << "  " << n << '\n';
  }

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
