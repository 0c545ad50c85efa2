// The `bank` program's commands (see bank_cli.hpp for the table's shape).
//
// Writes go through the runtime to the aggregates (bank_domain.hpp);
// `balance` and `history` read an account's stream; `accounts` reads the
// account-summary projection; a transfer is a request of its own stream
// that the transfer process manager carries out (bank_read_side.hpp).
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "bank_cli.hpp"
#include "bank_node.hpp"

namespace bank::cli {

/// One run: the options, and the node, opened when the command first needs
/// it (after its arguments were checked, so a bad argument creates no file).
class session {
 public:
  session(const command& c, const options& o) : command_(c), options_(o) {}

  /// The node; nullptr after printing why when the file does not open. For
  /// a command that reads, the read side catches up first (a transfer left
  /// by a killed run is finished); one that writes waits for it after.
  bank::node* node(bool read_side = true) {
    if (node_) return node_.get();
    auto n = bank::node::open(options_.db, read_side);
    if (!n) {
      std::cerr << "bank: opening " << options_.db << ": " << n.error().message() << '\n';
      return nullptr;
    }
    node_ = std::move(*n);
    if (!command_.writes && !node_->settle(timeout()))
      std::cerr << "bank: the read side did not catch up with earlier runs within " << seconds()
                << " s; going on\n";
    return node_.get();
  }
  [[nodiscard]] bool opened() const { return node_ != nullptr; }
  [[nodiscard]] std::chrono::milliseconds timeout() const { return options_.timeout; }
  [[nodiscard]] long long seconds() const { return options_.timeout.count(); }

 private:
  const command& command_;
  const options& options_;
  std::unique_ptr<bank::node> node_;
};

namespace {

int say_bad(std::string_view message) {
  std::cerr << "bank: " << message << '\n';
  return bad_usage;
}

/// An account id: not empty, and a valid stream id once prefixed.
bool check_account(std::string_view id) {
  if (id.empty()) return say_bad("an account id must not be empty"), false;
  if (auto ok = factum::stream_of<account>(id).validate(); !ok)
    return say_bad("bad account id: " + ok.error().message()), false;
  return true;
}

/// A positive whole amount, or nothing (after saying why).
std::optional<std::int64_t> amount_of(std::string_view text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) {
    say_bad("amount '" + std::string(text) + "' is too large");
    return std::nullopt;
  }
  if (ec != std::errc{} || end != text.data() + text.size()) {
    say_bad("amount '" + std::string(text) + "' is not a whole number");
    return std::nullopt;
  }
  if (v <= 0) {
    say_bad("amount must be positive, not " + std::string(text));
    return std::nullopt;
  }
  return v;
}

/// Sends `cmd` to aggregate `A` `id` and waits for the answer. On a
/// rejection or a failure it prints why and sets `code`.
template <class A>
std::optional<factum::dispatch_result> send(bank::node& n, std::string_view id,
                                            typename A::command cmd, int& code) {
  try {
    return n.runtime().dispatch<A>(id, std::move(cmd), boost::asio::use_future).get();
  } catch (const factum::system_error& e) {
    if (factum::is_rejection(e.code())) {
      std::cerr << "bank: rejected: " << e.error().context() << " (" << e.code().message() << ")\n";
      code = rejected;
    } else {
      std::cerr << "bank: " << e.error().message() << '\n';
      code = failed;
    }
    return std::nullopt;
  }
}

/// The state of account `id`, or nothing (after saying why, in `code`).
std::optional<account::state> account_state(bank::node& n, std::string_view id, int& code) {
  auto acc = n.runtime().state_of<account>(id);
  if (!acc) {
    std::cerr << "bank: reading " << id << ": " << acc.error().message() << '\n';
    code = failed;
    return std::nullopt;
  }
  if (!acc->state.open) {
    std::cerr << "bank: no account " << id << '\n';
    code = rejected;
    return std::nullopt;
  }
  return acc->state;
}

int open(session& s, std::span<const std::string> a) {
  if (!check_account(a[0])) return bad_usage;
  auto* n = s.node();
  if (!n) return failed;
  int code = ok;
  if (!send<account>(*n, a[0], open_account{a[1]}, code)) return code;
  std::cout << "opened " << a[0] << " for " << a[1] << '\n';
  return ok;
}

/// deposit and withdraw: the command, then the balance it left.
template <class Command>
int move_money(session& s, std::span<const std::string> a, std::string_view done) {
  if (!check_account(a[0])) return bad_usage;
  const auto amount = amount_of(a[1]);
  if (!amount) return bad_usage;
  auto* n = s.node();
  if (!n) return failed;
  int code = ok;
  if (!send<account>(*n, a[0], Command{*amount}, code)) return code;
  std::cout << done << ' ' << *amount << ", " << a[0];
  if (auto st = account_state(*n, a[0], code)) std::cout << " balance " << st->balance;
  std::cout << '\n';
  return ok;  // stored, whatever the balance read said
}
int deposit_cmd(session& s, std::span<const std::string> a) {
  return move_money<deposit>(s, a, "deposited");
}
int withdraw_cmd(session& s, std::span<const std::string> a) {
  return move_money<withdraw>(s, a, "withdrew");
}

/// What the process manager did for one transfer: the account events its
/// commands caused (they carry the request's correlation id).
struct transfer_outcome {
  bool debited = false, credited = false, refunded = false;
};

factum::result<transfer_outcome> outcome_of(bank::node& n, const factum::recorded_event& request,
                                            const request_transfer& t) {
  const factum::uuid corr =
      request.metadata.correlation_id.is_nil() ? request.id : request.metadata.correlation_id;
  transfer_outcome out;
  for (const std::string* id : {&t.from, &t.to}) {
    auto events = n.store().read_stream(factum::stream_of<account>(*id));
    if (!events) return std::move(events).error();
    for (const auto& e : *events) {
      if (e.metadata.correlation_id != corr) continue;
      auto ev = codec::decode(e);
      if (!ev) return std::move(ev).error();
      const bool from = *id == t.from;
      if (from && std::holds_alternative<money_withdrawn>(*ev)) out.debited = true;
      if (from && std::holds_alternative<money_deposited>(*ev)) out.refunded = true;
      if (!from && std::holds_alternative<money_deposited>(*ev)) out.credited = true;
    }
  }
  return out;
}

/// Why an account would refuse `cmd` now (the aggregate's message), for a
/// transfer step that was refused.
std::string why_refused(bank::node& n, const std::string& id, account::command cmd) {
  auto acc = n.runtime().state_of<account>(id);
  if (!acc) return "refused";
  const auto d = factum::decide<account>(acc->state, cmd);
  return d.rejected() ? d.rejection().message : "refused";
}

/// Stores a transfer request, then waits for the transfer process manager
/// (of this run, or of another bank process on the file) to carry it out.
/// Exit 0 when the money moved; 1 when the debit was refused or the credit
/// was refused and refunded (the request stays stored: it is history); 3
/// when it did not finish in time (the next run finishes it).
int transfer_cmd(session& s, std::span<const std::string> a) {
  if (!check_account(a[0]) || !check_account(a[1])) return bad_usage;
  const auto amount = amount_of(a[2]);
  if (!amount) return bad_usage;
  const bool crash = std::getenv("BANK_TEST_CRASH_AFTER_REQUEST") != nullptr;
  auto* n = s.node(!crash);
  if (!n) return failed;
  const request_transfer t{a[0], a[1], *amount};
  const std::string id = "t-" + factum::uuid::v7().to_string();
  int code = ok;
  auto stored = send<transfer>(*n, id, t, code);
  if (!stored) return code;
  std::cout << "transfer " << id << " requested: " << t.amount << " from " << t.from << " to "
            << t.to << std::endl;
  if (crash) std::raise(SIGKILL);  // test only: a run killed before any process manager ran

  const factum::recorded_event& request = stored->events.front();
  if (!n->transfers().wait_until(request.pos, s.timeout())) {
    std::cerr << "bank: transfer " << id << " is stored but was not carried out within "
              << s.seconds() << " s; the next bank run carries it out\n";
    return failed;
  }
  auto letters = n->subscriptions().dead_letters(transfers::name);
  if (letters) {
    for (const auto& d : *letters)
      if (d.event.id == request.id) {
        std::cerr << "bank: transfer " << id << " failed (dead letter " << d.id << "): " << d.error
                  << '\n';
        return failed;
      }
  }
  auto o = outcome_of(*n, request, t);
  if (!o) {
    std::cerr << "bank: reading the outcome of transfer " << id << ": " << o.error().message()
              << '\n';
    return failed;
  }
  if (o->credited) {
    std::cout << "transferred " << t.amount << " from " << t.from << " to " << t.to << '\n';
    return ok;
  }
  if (!o->debited) {
    std::cerr << "bank: transfer " << id << " refused: " << t.from << " refused the debit ("
              << why_refused(*n, t.from, withdraw{t.amount}) << ")\n";
    return rejected;
  }
  if (o->refunded) {
    std::cerr << "bank: transfer " << id << " refunded: " << t.to << " refused the credit ("
              << why_refused(*n, t.to, deposit{t.amount}) << "); " << t.amount << " returned to "
              << t.from << '\n';
    return rejected;
  }
  std::cerr << "bank: transfer " << id << ": debited from " << t.from
            << " but neither credited nor refunded (see bank dead-letters)\n";
  return failed;
}

/// The balance, alone on the last line (scripts read it).
int balance_cmd(session& s, std::span<const std::string> a) {
  if (!check_account(a[0])) return bad_usage;
  auto* n = s.node();
  if (!n) return failed;
  int code = ok;
  const auto st = account_state(*n, a[0], code);
  if (!st) return code;
  std::cout << st->balance << '\n';
  return ok;
}

int history_cmd(session& s, std::span<const std::string> a) {
  if (!check_account(a[0])) return bad_usage;
  auto* n = s.node();
  if (!n) return failed;
  auto events = n->store().read_stream(factum::stream_of<account>(a[0]));
  if (!events) {
    std::cerr << "bank: reading " << a[0] << ": " << events.error().message() << '\n';
    return failed;
  }
  if (events->empty()) {
    std::cerr << "bank: no account " << a[0] << '\n';
    return rejected;
  }
  std::cout << "version  position  type            data\n";
  for (const factum::recorded_event& e : *events)
    std::cout << std::setw(7) << e.version << "  " << std::setw(8) << e.global_position << "  "
              << std::left << std::setw(14) << e.type << std::right << "  " << e.data << '\n';
  return ok;
}

/// The account-summary projection's table, one account a line.
int accounts_cmd(session& s, std::span<const std::string>) {
  auto* n = s.node();
  if (!n) return failed;
  auto ok_ = n->query_accounts(
      "SELECT id, owner, balance FROM accounts ORDER BY id", [](const factum::sql_row& r) {
        std::cout << r.text(0) << "  " << r.text(1) << "  " << r.int64(2) << '\n';
      });
  if (!ok_) {
    std::cerr << "bank: reading the accounts table: " << ok_.error().message() << '\n';
    return failed;
  }
  return ok;
}

/// Rebuilds the projection from the first event, and lets the process
/// manager catch up (it resumes from its checkpoint: a transfer is never
/// carried out again).
int replay_cmd(session& s, std::span<const std::string>) {
  auto* n = s.node();
  if (!n) return failed;
  if (!n->settle(s.timeout())) {
    std::cerr << "bank: the read side did not catch up within " << s.seconds() << " s\n";
    return failed;
  }
  if (auto r = n->summary().rebuild(); !r) {
    std::cerr << "bank: rebuilding the account summary: " << r.error().message() << '\n';
    return failed;
  }
  if (!n->settle(s.timeout())) {
    std::cerr << "bank: the read side did not catch up within " << s.seconds() << " s\n";
    return failed;
  }
  std::cout << "replayed: account-summary rebuilt up to position " << n->summary().cursor().global()
            << ", transfers caught up\n";
  return ok;
}

int dead_letters_cmd(session& s, std::span<const std::string>) {
  auto* n = s.node();
  if (!n) return failed;
  auto letters = n->subscriptions().dead_letters();
  if (!letters) {
    std::cerr << "bank: reading the dead letters: " << letters.error().message() << '\n';
    return failed;
  }
  if (letters->empty()) std::cout << "no dead letters\n";
  for (const auto& d : *letters)
    std::cout << d.id << "  " << d.subscriber << "  " << d.event.type << " at "
              << d.event.global_position << " (" << d.event.stream.str() << "), " << d.attempts
              << " attempts: " << d.error << '\n';
  return ok;
}

/// This run's telemetry (opening the file, the read side catching up), as
/// Prometheus text.
int metrics_cmd(session& s, std::span<const std::string>) {
  auto* n = s.node();
  if (!n) return failed;
  std::cout << n->metrics().prometheus();
  return ok;
}

const command table[] = {
    {"open", {"ACC", "OWNER"}, "opens account ACC for OWNER", true, &open},
    {"deposit", {"ACC", "AMOUNT"}, "deposits AMOUNT (a positive integer)", true, &deposit_cmd},
    {"withdraw",
     {"ACC", "AMOUNT"},
     "withdraws AMOUNT, if the balance covers it",
     true,
     &withdraw_cmd},
    {"transfer",
     {"FROM", "TO", "AMOUNT"},
     "moves AMOUNT through the transfer process manager (see below)",
     true,
     &transfer_cmd},
    {"balance", {"ACC"}, "prints the balance, alone on the last line", false, &balance_cmd},
    {"history", {"ACC"}, "prints the account's events", false, &history_cmd},
    {"accounts", {}, "prints every account (the account-summary projection)", false, &accounts_cmd},
    {"replay",
     {},
     "rebuilds the projection; lets the process managers catch up",
     false,
     &replay_cmd},
    {"dead-letters", {}, "prints the events the read side gave up on", false, &dead_letters_cmd},
    {"metrics",
     {},
     "prints this run's metrics (the read side catching up) as Prometheus text",
     false,
     &metrics_cmd},
};

}  // namespace

std::span<const command> commands() {
  return table;
}

int execute(const command& c, std::span<const std::string> args, const options& o) {
  try {
    session s{c, o};
    const int code = c.run(s, args);
    if (c.writes && s.opened() && code != bad_usage && !s.node()->settle(s.timeout()))
      std::cerr << "bank: the read side did not catch up within " << o.timeout.count()
                << " s; the next run goes on from where it is\n";
    return code;
  } catch (const factum::system_error& e) {
    std::cerr << "bank: " << e.error().message() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "bank: " << e.what() << '\n';
  }
  return failed;
}

}  // namespace bank::cli
