#pragma once

// A seeded model-based concurrency test of the runtime, shared by the test
// binaries of every backend (memory: tests/runtime/model.cpp, SQLite:
// tests/sqlite/model.cpp, PostgreSQL: tests/postgres/model.cpp).
//
// A seed draws a schedule: `threads` threads of `ops` operations each over
// four accounts, whose money only moves in from and out to a pool that is
// counted, and one "limits" stream of per-account freeze flags. Operations:
// deposit and withdraw (single-stream commands, with a command id, some
// replayed), a transfer (a multi-stream command over two accounts that also
// reads the limits stream and writes nothing to it), state_of, a sweep
// (TTL 0, snapshots every 4 events: instances passivate with snapshots), a
// restart of one of two runtimes sharing the store, and freeze toggles, either
// dispatched or appended directly to the store at the current version. Each
// event carries its operation's id and the stream versions its decision read.
// After the schedule the checks are (see `check_store`):
// - every live state (state_of, on both runtimes) and every stored snapshot
//   equals the fold of the stored events up to its version;
// - the total is conserved: the fold of all accounts equals the pool's
//   acknowledged deposits minus its acknowledged withdrawals, and no balance
//   ever goes negative;
// - an acknowledged operation's events are stored exactly once; a refused
//   or failed one's not at all (memory, SQLite and PostgreSQL without
//   faults);
// - a decision committed only on what it read: each event's read versions
//   equal the versions of those streams just before its command's first
//   event in the global log (so no transfer commits on a stale freeze flag).
//
// The fixed seeds (`model_seeds`) run in CI. Environment:
// - FACTUM_MODEL_SEED=<s>   runs only seed s (to replay a failure; the failing
//                           seed is printed with the failure);
// - FACTUM_MODEL_SOAK=<n>   runs n random seeds after the fixed ones, and
//                           stops at the first that fails.
// A schedule's interleaving depends on timing; its operations do not.
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

namespace factum_test::model {

constexpr int accounts = 4;

// --- the domain ------------------------------------------------------------

struct deposited {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
  std::uint64_t read = 0;  ///< the account's version the decision read
};
FACTUM_EVENT(deposited, "ModelDeposited", 1, op, amount, read)

struct withdrawn {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
  std::uint64_t read = 0;
};
FACTUM_EVENT(withdrawn, "ModelWithdrawn", 1, op, amount, read)

/// Both halves of a transfer carry the same id and the versions read.
struct sent {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
  int peer = 0;
  std::uint64_t read_from = 0, read_to = 0, read_limits = 0;
};
FACTUM_EVENT(sent, "ModelSent", 1, op, amount, peer, read_from, read_to, read_limits)

struct received {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
  int peer = 0;
  std::uint64_t read_from = 0, read_to = 0, read_limits = 0;
};
FACTUM_EVENT(received, "ModelReceived", 1, op, amount, peer, read_from, read_to, read_limits)

struct frozen {
  std::uint64_t op = 0;
  int account = 0;
  bool on = false;
};
FACTUM_EVENT(frozen, "ModelFrozen", 1, op, account, on)

struct deposit {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
};
struct withdraw {
  std::uint64_t op = 0;
  std::int64_t amount = 0;
};

struct account {
  static constexpr std::string_view category = "macct";
  using event = std::variant<deposited, withdrawn, sent, received>;
  using command = std::variant<deposit, withdraw>;
  struct state {
    std::int64_t balance = 0;
    std::uint64_t version = 0;  ///< events applied: equals the stream version
    friend bool operator==(const state&, const state&) = default;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(state, balance, version)
  };

  static factum::decision<event> execute(const state& s, const command& c) {
    if (const auto* d = std::get_if<deposit>(&c)) return deposited{d->op, d->amount, s.version};
    const auto& w = std::get<withdraw>(c);
    if (s.balance < w.amount) return factum::reject("insufficient_funds");
    return withdrawn{w.op, w.amount, s.version};
  }
  static void apply(state& s, const event& e) {
    std::visit(
        [&](const auto& ev) {
          using E = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<E, deposited> || std::is_same_v<E, received>)
            s.balance += ev.amount;
          else
            s.balance -= ev.amount;
        },
        e);
    ++s.version;
  }
};

struct set_frozen {
  std::uint64_t op = 0;
  int account = 0;
  bool on = false;
};

struct limits {
  static constexpr std::string_view category = "mlimits";
  using event = std::variant<frozen>;
  using command = std::variant<set_frozen>;
  struct state {
    std::uint32_t frozen_mask = 0;
    std::uint64_t version = 0;
    [[nodiscard]] bool is_frozen(int a) const { return (frozen_mask >> a) & 1U; }
    friend bool operator==(const state&, const state&) = default;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(state, frozen_mask, version)
  };
  static factum::decision<event> execute(const state&, const command& c) {
    const auto& f = std::get<set_frozen>(c);
    return frozen{f.op, f.account, f.on};
  }
  static void apply(state& s, const event& e) {
    const auto& f = std::get<frozen>(e);
    if (f.on)
      s.frozen_mask |= 1U << f.account;
    else
      s.frozen_mask &= ~(1U << f.account);
    ++s.version;
  }
};

using account_codec = factum::codec<account::event>;
using limits_codec = factum::codec<limits::event>;

inline std::string account_id(int a) {
  return std::to_string(a);
}
inline std::string account_stream(int a) {
  return "macct-" + account_id(a);
}
inline const std::string limits_id = "all";
inline const std::string limits_stream = "mlimits-all";

// --- the schedule ----------------------------------------------------------

enum class kind { deposit, withdraw, transfer, read, burst, freeze, direct_freeze, sweep, restart };

struct operation {
  kind what = kind::read;
  std::uint64_t id = 0;  ///< unique in the schedule, stored in its events
  int slot = 0;          ///< which of the two runtimes
  int a = 0, b = 0;      ///< accounts
  std::int64_t amount = 0;
  bool flag = false;  ///< freeze: on; deposit, withdraw, transfer: replay it after
};

struct config {
  int threads = 3;
  int ops = 200;
};

inline std::vector<std::vector<operation>> draw_schedule(std::uint64_t seed, const config& c) {
  std::mt19937_64 gen(seed);
  auto below = [&](std::uint64_t n) { return static_cast<int>(gen() % n); };
  std::vector<std::vector<operation>> plan(static_cast<std::size_t>(c.threads));
  for (int t = 0; t < c.threads; ++t)
    for (int i = 0; i < c.ops; ++i) {
      operation op;
      op.id = static_cast<std::uint64_t>(t + 1) * 1'000'000U + static_cast<std::uint64_t>(i);
      op.slot = below(2);
      op.a = below(accounts);
      op.b = (op.a + 1 + below(accounts - 1)) % accounts;
      op.flag = below(10) == 0;
      const int r = below(100);
      if (r < 22) {
        op.what = kind::deposit;
        op.amount = 1 + below(100);
      } else if (r < 40) {
        op.what = kind::withdraw;
        op.amount = 1 + below(120);
      } else if (r < 70) {
        op.what = kind::transfer;
        op.amount = 1 + below(80);
      } else if (r < 76) {
        op.what = kind::read;
      } else if (r < 82) {
        op.what = kind::burst;
        op.amount = 1 + below(20);
      } else if (r < 86) {
        op.what = kind::freeze;
        op.flag = below(4) == 0;
      } else if (r < 92) {
        op.what = kind::direct_freeze;
        op.flag = below(4) == 0;
      } else if (r < 98) {
        op.what = kind::sweep;
      } else {
        op.what = kind::restart;
      }
      plan[static_cast<std::size_t>(t)].push_back(op);
    }
  return plan;
}

// --- running it ------------------------------------------------------------

/// Lets many threads use a runtime at once, and one replace it when none is
/// using it (new users wait meanwhile, so a restart is not starved).
class gate {
 public:
  void enter() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !closing_; });
    ++inside_;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--inside_ == 0) cv_.notify_all();
  }
  template <class F>
  void exclusive(F&& f) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !closing_; });
    closing_ = true;
    cv_.wait(lock, [&] { return inside_ == 0; });
    lock.unlock();
    f();
    lock.lock();
    closing_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int inside_ = 0;
  bool closing_ = false;
};

inline std::unique_ptr<factum::runtime> make_runtime(
    const std::shared_ptr<factum::event_store>& store) {
  factum::runtime_options o;
  o.threads = 2;
  o.sweep_interval = std::chrono::hours(1);  // only the schedule's sweeps
  auto rt = std::make_unique<factum::runtime>(store, o);
  factum::aggregate_options a;
  a.ttl = std::chrono::milliseconds(0);
  a.snapshot_every = 4;
  a.retry = factum::retry_policy{};
  a.retry->max_attempts = 100;
  a.retry->max_backoff = std::chrono::microseconds(5'000);
  rt->configure<account>(a);
  rt->configure<limits>(a);
  return rt;
}

struct reply {
  std::error_code ec;
  factum::dispatch_result result;
};

template <class A>
reply call(factum::runtime& rt, const std::string& id, typename A::command c,
           const factum::dispatch_options& o) {
  std::promise<reply> p;
  rt.dispatch<A>(id, std::move(c), o, [&](std::error_code ec, factum::dispatch_result r) {
    p.set_value({ec, std::move(r)});
  });
  return p.get_future().get();
}

inline auto transfer_decision(std::uint64_t op, int from, int to, std::int64_t amount) {
  return [=](const account::state& f, const account::state& t,
             const limits::state& l) -> factum::decisions<account, account, limits> {
    if (l.is_frozen(from) || l.is_frozen(to)) return {factum::reject("frozen"), {}, {}};
    if (f.balance < amount) return {factum::reject("insufficient_funds"), {}, {}};
    return {sent{op, amount, to, f.version, t.version, l.version},
            received{op, amount, from, f.version, t.version, l.version},
            {}};  // limits: read, not written
  };
}

inline reply transfer(factum::runtime& rt, const operation& op, const factum::dispatch_options& o) {
  std::promise<reply> p;
  rt.transact<account, account, limits>({account_id(op.a), account_id(op.b), limits_id},
                                        transfer_decision(op.id, op.a, op.b, op.amount), o,
                                        [&](std::error_code ec, factum::dispatch_result r) {
                                          p.set_value({ec, std::move(r)});
                                        });
  return p.get_future().get();
}

/// What became of one operation that writes.
struct outcome {
  std::uint64_t id = 0;
  kind what = kind::read;
  bool acked = false;
  int events = 0;           ///< events an acknowledged operation stored
  std::int64_t inflow = 0;  ///< into the accounts from the pool (negative: out)
};

/// Problems found, with the first few described.
class findings {
 public:
  /// Adds a problem of kind `kind` (e.g. "snapshot"), described by `parts`.
  template <class... Parts>
  void add(const char* kind, const Parts&... parts) {
    std::ostringstream s;
    (s << ... << parts);
    std::lock_guard lock(mutex_);
    ++kinds_[kind];
    if (++count_ <= 25) text_ += "  " + std::string(kind) + ": " + s.str() + "\n";
  }
  [[nodiscard]] std::size_t count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  [[nodiscard]] std::string text() {
    std::lock_guard lock(mutex_);
    std::string out = "  by kind:";
    for (const auto& [kind, n] : kinds_)
      out += " " + kind + " " + std::to_string(n) + ",";
    out += "\n" + text_;
    if (count_ > 25) out += "  ... and " + std::to_string(count_ - 25) + " more\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::size_t count_ = 0;
  std::map<std::string, std::size_t> kinds_;
  std::string text_;
};

struct slot {
  gate g;
  std::unique_ptr<factum::runtime> rt;
};

/// Counters of a run, for the report.
struct tally {
  std::atomic<int> acked{0}, rejected{0}, conflicts{0}, replays{0}, restarts{0}, reads{0};
};

/// The id of deposit `j` of burst operation `op` (ids stay unique: `op`'s
/// low part is below 100,000).
inline std::uint64_t burst_id(std::uint64_t op, int j) {
  return op + 100'000U * static_cast<std::uint64_t>(j + 1);
}

inline void run_thread(const std::vector<operation>& plan, std::array<slot, 2>& slots,
                       const std::shared_ptr<factum::event_store>& store,
                       std::vector<outcome>& outcomes, findings& found, tally& n) {
  using factum::errc;
  for (const auto& op : plan) {
    if (op.what == kind::restart) {
      auto& s = slots[static_cast<std::size_t>(op.slot)];
      s.g.exclusive([&] {
        s.rt.reset();  // stops: passivates every instance (with a snapshot)
        s.rt = make_runtime(store);
      });
      ++n.restarts;
      continue;
    }
    if (op.what == kind::direct_freeze) {  // another writer, at the current version
      outcome out{op.id, op.what, false, 0, 0};
      for (int attempt = 0; attempt < 50 && !out.acked; ++attempt) {
        auto v = store->stream_version(limits_stream);
        if (!v) {
          found.add("store error", "op ", op.id, ": stream_version failed: ", v.error().message());
          break;
        }
        auto r = store->append(
            limits_stream,
            *v == 0 ? factum::expected_version::no_stream() : factum::expected_version::exact(*v),
            {limits_codec::encode(frozen{op.id, op.a, op.flag})});
        if (r) {
          out.acked = true;
          out.events = 1;
        } else if (r.error() != errc::concurrency_conflict) {
          found.add("store error", "op ", op.id, ": direct append failed: ", r.error().message());
          break;
        }
      }
      if (out.acked) ++n.acked;
      outcomes.push_back(out);
      continue;
    }
    auto& s = slots[static_cast<std::size_t>(op.slot)];
    s.g.enter();
    auto& rt = *s.rt;
    factum::dispatch_options o;
    o.command = factum::uuid::v7();
    auto settle = [&](const reply& r, int events, std::int64_t inflow) {
      outcome out{op.id, op.what, false, 0, 0};
      if (!r.ec) {
        out.acked = true;
        out.events = events;
        out.inflow = inflow;
        ++n.acked;
        if (r.result.already_appended)
          found.add("replay", "op ", op.id, ": a first dispatch answered already_appended");
      } else if (factum::is_rejection(r.ec)) {
        ++n.rejected;
      } else if (r.ec == errc::concurrency_conflict) {
        ++n.conflicts;
      } else {
        found.add("command error", "op ", op.id, ": failed: ", r.ec.message());
      }
      outcomes.push_back(out);
      return out.acked;
    };
    auto positions = [](const factum::dispatch_result& r) {
      std::vector<std::uint64_t> out;
      for (const auto& e : r.events)
        out.push_back(e.global_position);
      return out;
    };
    auto check_replay = [&](const reply& first, const reply& again) {
      ++n.replays;  // answered from the record: the first command's version and events
      if (again.ec || !again.result.already_appended ||
          again.result.version != first.result.version ||
          positions(again.result) != positions(first.result))
        found.add("replay", "op ", op.id, ": its replay answered '", again.ec.message(),
                  "', already_appended ", again.result.already_appended, ", version ",
                  again.result.version, " (first ", first.result.version, "), ",
                  again.result.events.size(), " events (first ", first.result.events.size(), ")");
    };
    switch (op.what) {
      case kind::deposit:
      case kind::withdraw: {
        const bool in = op.what == kind::deposit;
        account::command c = in ? account::command{deposit{op.id, op.amount}}
                                : account::command{withdraw{op.id, op.amount}};
        auto r = call<account>(rt, account_id(op.a), c, o);
        if (settle(r, 1, in ? op.amount : -op.amount) && op.flag)
          check_replay(r, call<account>(rt, account_id(op.a), c, o));
        break;
      }
      case kind::transfer: {
        auto r = transfer(rt, op, o);
        if (settle(r, 2, 0) && op.flag) check_replay(r, transfer(rt, op, o));
        break;
      }
      case kind::freeze: {
        auto r = call<limits>(rt, limits_id, set_frozen{op.id, op.a, op.flag}, o);
        settle(r, 1, 0);
        break;
      }
      case kind::read: {
        ++n.reads;
        auto st = rt.state_of<account>(account_id(op.a));
        if (!st)
          found.add("state_of", "op ", op.id, ": state_of failed: ", st.error().message());
        else if (st->state.version != st->version || st->state.balance < 0)
          found.add("state_of", "op ", op.id, ": state_of ", account_stream(op.a), " applied ",
                    st->state.version, " events at version ", st->version, ", balance ",
                    st->state.balance);
        break;
      }
      case kind::burst: {  // deposits in flight at once, read meanwhile
        constexpr int k = 6;
        std::array<reply, k> replies;
        std::atomic<int> left{k};
        std::promise<void> all;
        for (int j = 0; j < k; ++j) {
          factum::dispatch_options oj;
          oj.command = factum::uuid::v7();
          rt.dispatch<account>(account_id(op.a), deposit{burst_id(op.id, j), op.amount}, oj,
                               [&, j](std::error_code ec, factum::dispatch_result r) {
                                 replies[static_cast<std::size_t>(j)] = {ec, std::move(r)};
                                 if (left.fetch_sub(1) == 1) all.set_value();
                               });
        }
        auto answered = all.get_future();
        bool reported = false;
        do {
          ++n.reads;
          auto st = rt.state_of<account>(account_id(op.a));
          if (st && st->state.version != st->version && !std::exchange(reported, true))
            found.add("state_of", "op ", op.id, ": state_of ", account_stream(op.a),
                      " during a burst applied ", st->state.version, " events at version ",
                      st->version);
        } while (answered.wait_for(std::chrono::microseconds(200)) != std::future_status::ready);
        for (int j = 0; j < k; ++j) {
          const auto& r = replies[static_cast<std::size_t>(j)];
          outcome out{burst_id(op.id, j), op.what, !r.ec, r.ec ? 0 : 1, r.ec ? 0 : op.amount};
          if (r.ec)
            found.add("command error", "op ", out.id, ": a burst deposit failed: ", r.ec.message());
          if (out.acked) ++n.acked;
          outcomes.push_back(out);
        }
        break;
      }
      case kind::sweep:
        (void)rt.sweep();
        break;
      default:
        break;
    }
    s.g.leave();
  }
}

/// The folds of every stream, version by version.
struct folds {
  std::map<std::string, std::vector<account::state>> accounts;  ///< [v]: the state at version v
  std::vector<limits::state> flags{limits::state{}};            ///< of the limits stream
};

/// Reads the whole log and checks it (see the comment at the top); returns
/// the folds for the live state and snapshot checks.
inline folds check_store(factum::event_store& store, const std::vector<outcome>& outcomes,
                         findings& found) {
  folds f;
  for (int a = 0; a < accounts; ++a)
    f.accounts[account_stream(a)] = {account::state{}};
  std::map<std::uint64_t, int> stored;  // op id -> events stored
  std::uint64_t expected_position = 1;
  auto log = store.read_all();
  if (!log) {
    found.add("store error", "read_all failed: ", log.error().message());
    return f;
  }
  bool negative_reported = false;
  for (const auto& e : *log) {
    if (e.global_position != expected_position++)
      found.add("log", "a gap in the global log at position ", e.global_position);
    const std::string stream = e.stream.str();
    if (stream == limits_stream) {
      auto ev = limits_codec::decode(e);
      if (!ev) {
        found.add("log", "position ", e.global_position, ": ", ev.error().message());
        continue;
      }
      if (e.version != f.flags.size())
        found.add("log", stream, " version ", e.version, " after ", f.flags.size() - 1);
      auto next = f.flags.back();
      limits::apply(next, *ev);
      f.flags.push_back(next);
      ++stored[std::get<frozen>(*ev).op];
      continue;
    }
    auto it = f.accounts.find(stream);
    if (it == f.accounts.end()) {
      found.add("log", "an event in an unknown stream ", stream);
      continue;
    }
    auto& history = it->second;
    auto ev = account_codec::decode(e);
    if (!ev) {
      found.add("log", "position ", e.global_position, ": ", ev.error().message());
      continue;
    }
    if (e.version != history.size())
      found.add("log", stream, " version ", e.version, " after ", history.size() - 1);
    const std::uint64_t before = history.size() - 1;
    std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<E, deposited> || std::is_same_v<E, withdrawn>) {
            ++stored[x.op];
            if (x.read != before)
              found.add("read versions", "op ", x.op, " at position ", e.global_position,
                        " decided on ", stream, " version ", x.read,
                        " but committed after version ", before);
          } else {
            if (stored[x.op]++ != 0) return;  // the first half of its command is checked
            const int self = std::stoi(stream.substr(6));
            const int from = std::is_same_v<E, sent> ? self : x.peer;
            const int to = std::is_same_v<E, sent> ? x.peer : self;
            const std::uint64_t now_from = f.accounts[account_stream(from)].size() - 1;
            const std::uint64_t now_to = f.accounts[account_stream(to)].size() - 1;
            const std::uint64_t now_limits = f.flags.size() - 1;
            if (x.read_from != now_from || x.read_to != now_to || x.read_limits != now_limits)
              found.add("read versions", "transfer op ", x.op, " at position ", e.global_position,
                        " decided on versions (", account_stream(from), " ", x.read_from, ", ",
                        account_stream(to), " ", x.read_to, ", ", limits_stream, " ", x.read_limits,
                        ") but committed after (", now_from, ", ", now_to, ", ", now_limits, ")");
            if (f.flags.back().is_frozen(from) || f.flags.back().is_frozen(to))
              found.add("frozen", "transfer op ", x.op, " at position ", e.global_position,
                        " committed while ", account_stream(from), " or ", account_stream(to),
                        " was frozen");
          }
        },
        *ev);
    auto next = history.back();
    account::apply(next, *ev);
    if (next.balance < 0 && !negative_reported) {
      negative_reported = true;
      found.add("negative balance", stream, " balance ", next.balance, " at version ", e.version);
    }
    history.push_back(next);
  }

  std::int64_t total = 0, inflow = 0;
  for (const auto& [stream, history] : f.accounts)
    total += history.back().balance;
  for (const auto& o : outcomes) {
    const auto it = stored.find(o.id);
    const int times = it == stored.end() ? 0 : it->second;
    if (o.acked) inflow += o.inflow;
    if (times != (o.acked ? o.events : 0))
      found.add("exactly once", "op ", o.id, (o.acked ? " (acknowledged)" : " (not acknowledged)"),
                " stored ", times, " events, expected ", o.acked ? o.events : 0);
  }
  if (total != inflow)
    found.add("total", "the accounts hold ", total, " but the pool paid in ", inflow, " net");
  if (stored.size() > outcomes.size())
    found.add("exactly once", stored.size(), " operation ids stored, only ", outcomes.size(),
              " were sent");
  return f;
}

/// Every runtime's live state of every stream equals the fold.
inline void check_live(factum::runtime& rt, const std::string& which, const folds& f,
                       findings& found) {
  for (int a = 0; a < accounts; ++a) {
    const auto& want = f.accounts.at(account_stream(a)).back();
    auto live = rt.state_of<account>(account_id(a));
    if (!live)
      found.add("live", which, ": state_of ", account_stream(a),
                " failed: ", live.error().message());
    else if (!(live->state == want) || live->version != want.version)
      found.add("live", which, ": live ", account_stream(a), " balance ", live->state.balance,
                " events applied ", live->state.version, " at version ", live->version,
                ", fold balance ", want.balance, " at version ", want.version);
  }
  auto live = rt.state_of<limits>(limits_id);
  const auto& want = f.flags.back();
  if (!live)
    found.add("live", which, ": state_of ", limits_stream, " failed: ", live.error().message());
  else if (!(live->state == want) || live->version != want.version)
    found.add("live", which, ": live ", limits_stream, " mask ", live->state.frozen_mask,
              " at version ", live->version, ", fold mask ", want.frozen_mask, " at version ",
              want.version);
}

/// Every stored snapshot equals the fold up to its version; returns how many.
template <class State>
int check_snapshots(factum::event_store& store, const std::string& stream,
                    const std::vector<State>& history, findings& found) {
  int checked = 0;
  std::uint64_t seen = 0;
  for (std::uint64_t v = 1; v < history.size(); ++v) {
    auto s = store.load_snapshot(stream, 1, v);
    if (!s) {
      found.add("store error", "load_snapshot ", stream, " failed: ", s.error().message());
      return checked;
    }
    if (!*s || (*s)->version <= seen) continue;
    seen = (*s)->version;
    ++checked;
    State saved;
    try {
      saved = nlohmann::json::parse((*s)->state).get<State>();
    } catch (const std::exception& e) {
      found.add("snapshot", "snapshot ", stream, " at version ", seen,
                " does not decode: ", e.what());
      continue;
    }
    if (!(saved == history[seen]))
      found.add("snapshot", "snapshot ", stream, " at version ", seen, ": ", (*s)->state, ", fold ",
                nlohmann::json(history[seen]).dump());
  }
  return checked;
}

/// Runs one seed's schedule on a fresh store and checks it; false when a
/// check failed.
inline bool run_seed(std::uint64_t seed,
                     const std::function<std::shared_ptr<factum::event_store>()>& make_store,
                     const config& c = {}) {
  auto store = make_store();
  const auto plan = draw_schedule(seed, c);
  std::array<slot, 2> slots;
  for (auto& s : slots)
    s.rt = make_runtime(store);
  findings found;
  tally n;
  std::vector<std::vector<outcome>> outcomes(plan.size());
  const auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < plan.size(); ++t)
      threads.emplace_back([&, t] { run_thread(plan[t], slots, store, outcomes[t], found, n); });
    for (auto& t : threads)
      t.join();
  }
  std::vector<outcome> all;
  for (auto& o : outcomes)
    all.insert(all.end(), o.begin(), o.end());
  const folds f = check_store(*store, all, found);
  check_live(*slots[0].rt, "runtime 0", f, found);
  check_live(*slots[1].rt, "runtime 1", f, found);
  for (auto& s : slots)
    s.rt.reset();  // passivates with snapshots
  int snapshots = 0;
  for (const auto& [stream, history] : f.accounts)
    snapshots += check_snapshots(*store, stream, history, found);
  snapshots += check_snapshots(*store, limits_stream, f.flags, found);
  {
    auto fresh = make_runtime(store);  // loads from those snapshots
    check_live(*fresh, "a fresh runtime", f, found);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  INFO("model seed " << seed << " (" << c.threads << " threads x " << c.ops << " ops, " << ms
                     << " ms): " << n.acked << " acknowledged, " << n.rejected << " refused, "
                     << n.conflicts << " conflicts, " << n.replays << " replays, " << n.restarts
                     << " restarts, " << n.reads << " reads, " << snapshots
                     << " snapshots checked, " << found.count() << " problems:\n"
                     << found.text() << "replay with FACTUM_MODEL_SEED=" << seed);
  CHECK(found.count() == 0);
  CHECK(n.acked > 0);
  return found.count() == 0 && n.acked > 0;
}

/// The seeds to run: the fixed ones, or the environment's (see the top).
inline std::vector<std::uint64_t> seeds() {
  if (const char* s = std::getenv("FACTUM_MODEL_SEED"); s && *s)
    return {std::stoull(s, nullptr, 0)};
  std::vector<std::uint64_t> out{1, 2, 3, 20240601};
  if (const char* soak = std::getenv("FACTUM_MODEL_SOAK"); soak && *soak) {
    std::random_device rd;
    const auto extra = std::stoull(soak);
    for (std::uint64_t i = 0; i < extra; ++i)
      out.push_back((static_cast<std::uint64_t>(rd()) << 32) | rd());
  }
  return out;
}

/// Runs every seed of `seeds()`; stops at the first that fails.
inline void run(const std::function<std::shared_ptr<factum::event_store>()>& make_store,
                const config& c = {}) {
  for (const auto seed : seeds())
    if (!run_seed(seed, make_store, c)) break;
}

}  // namespace factum_test::model
