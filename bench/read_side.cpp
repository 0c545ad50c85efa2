// The read side's workloads: W5 (the router's fan-out to event handlers,
// throughput and memory) and W7 (a projection catching up over a filled
// store, on SQLite as BENCH.md defines it and on the memory store).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <factum/runtime.hpp>
#include <factum/subscribe.hpp>
#if FACTUM_BENCH_SQLITE
#include <factum/store/sqlite_store.hpp>

#include "raw_sqlite.hpp"
#endif

#include "domain.hpp"
#include "harness.hpp"

// W5's domain: ten event types, one aggregate that emits the one a command names.
namespace fanout {

#define FACTUM_BENCH_FANOUT_EVENT(N) \
  struct e##N {                      \
    std::int64_t n = 0;              \
  };                                 \
  FACTUM_EVENT(e##N, "Fanout" #N, 1, n)

FACTUM_BENCH_FANOUT_EVENT(0)
FACTUM_BENCH_FANOUT_EVENT(1)
FACTUM_BENCH_FANOUT_EVENT(2)
FACTUM_BENCH_FANOUT_EVENT(3)
FACTUM_BENCH_FANOUT_EVENT(4)
FACTUM_BENCH_FANOUT_EVENT(5)
FACTUM_BENCH_FANOUT_EVENT(6)
FACTUM_BENCH_FANOUT_EVENT(7)
FACTUM_BENCH_FANOUT_EVENT(8)
FACTUM_BENCH_FANOUT_EVENT(9)

#undef FACTUM_BENCH_FANOUT_EVENT

constexpr std::size_t types = 10;

/// Emits one event of type `kind` per command; accepts every command.
struct emitter {
  static constexpr std::string_view category = "fanout";
  using event = std::variant<e0, e1, e2, e3, e4, e5, e6, e7, e8, e9>;
  struct emit {
    std::size_t kind = 0;
    std::int64_t n = 0;
  };
  using command = std::variant<emit>;
  struct state {
    std::uint64_t count = 0;
  };

  static factum::decision<event> execute(const state&, const command& c) {
    const auto& e = std::get<emit>(c);
    return std::vector<event>{make(e.kind, e.n, std::make_index_sequence<types>{})};
  }
  static void apply(state& s, const event&) { ++s.count; }

 private:
  template <std::size_t... I>
  static event make(std::size_t kind, std::int64_t n, std::index_sequence<I...>) {
    static constexpr std::array<event (*)(std::int64_t), types> by_kind{
        [](std::int64_t v) -> event { return std::variant_alternative_t<I, event>{v}; }...};
    return by_kind[kind](n);
  }
};
static_assert(factum::aggregate<emitter>);

template <std::size_t I>
using ev = std::variant_alternative_t<I % types, emitter::event>;

constexpr std::array<std::string_view, types> subscriber_names{
    "fanout-0", "fanout-1", "fanout-2", "fanout-3", "fanout-4",
    "fanout-5", "fanout-6", "fanout-7", "fanout-8", "fanout-9"};

/// Subscriber I takes types I, I+1 and I+2 (mod 10): each type has three
/// subscribers, as BENCH.md's W5 asks. It counts what it handled.
template <std::size_t I>
struct counter {
  static constexpr std::string_view name = subscriber_names[I];
  using interested_in = factum::events<ev<I>, ev<I + 1>, ev<I + 2>>;
  std::shared_ptr<std::atomic<std::uint64_t>> count =
      std::make_shared<std::atomic<std::uint64_t>>(0);

  template <class E>
  void handle(const E& e) {
    count->fetch_add(1, std::memory_order_relaxed);
    factum_bench::keep(e.n);
  }
};

}  // namespace fanout

namespace factum_bench {

namespace {

constexpr std::size_t threads = 2;  // the machine's cores: the runtime's default here

factum::runtime_options runtime_options() {
  factum::runtime_options o;
  o.threads = threads;
  return o;
}

factum::subscriptions_options quiet() {
  factum::subscriptions_options o;
  o.log = {};  // a skipped event would be a bug here; the counts below catch it
  return o;
}

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

// ---------------------------------------------------------------- W5

/// Dispatches `total` emits over `streams` streams, `in_flight` at a time;
/// command i goes to stream i mod `streams` with event type i mod 10.
void pump(factum::runtime& rt, std::size_t streams, std::size_t total, std::size_t in_flight) {
  std::atomic<std::size_t> issued{0};
  std::atomic<std::size_t> errors{0};
  latch done;
  done.reset(total);
  std::function<void()> next = [&] {
    const std::size_t i = issued.fetch_add(1);
    if (i >= total) return;
    rt.dispatch<fanout::emitter>(
        "s-" + std::to_string(i % streams),
        fanout::emitter::emit{i % fanout::types, static_cast<std::int64_t>(i)},
        [&](std::error_code ec, factum::dispatch_result) {
          if (ec) ++errors;
          next();  // before counting: the last count ends pump()
          done.count();
        });
  };
  for (std::size_t k = 0; k < std::min(in_flight, total); ++k)
    next();
  done.wait();
  if (errors != 0) throw std::runtime_error("W5: commands failed");
}

/// What one run through the router gave.
struct fanout_run {
  double deliveries_per_s = 0;
  std::size_t subs_heap = 0;     ///< bytes the subscriptions hold after routing everything
  std::size_t subs_initial = 0;  ///< bytes they held before the first event
  std::vector<factum::recorded_event> events;  ///< what was stored, for the baseline
};

/// The ten counting subscribers, added to `subs`.
struct fanout_subscribers {
  std::vector<factum::subscription> handles;
  std::vector<std::shared_ptr<std::atomic<std::uint64_t>>> counts;

  template <std::size_t... I>
  void add(factum::subscriptions& subs, std::index_sequence<I...>) {
    (add_one(subs, fanout::counter<I>{}), ...);
  }
  template <class C>
  void add_one(factum::subscriptions& subs, C c) {
    counts.push_back(c.count);
    handles.push_back(subs.add(std::move(c)));
  }
};

/// A runtime on a memory store with the ten subscribers; `total` commands
/// over `streams` streams, timed from the first dispatch until every
/// subscriber handled the head. Then the subscriptions' heap: what
/// destroying them gives back.
fanout_run route(std::size_t streams, std::size_t total, std::size_t in_flight, bool keep_events) {
  fanout_run out;
  factum::runtime rt{factum::memory_store{}, runtime_options()};
  auto subs = std::make_unique<factum::subscriptions>(rt, quiet());
  fanout_subscribers s;
  const std::size_t before_subscribers = heap_in_use();
  s.add(*subs, std::make_index_sequence<fanout::types>{});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // their first (empty) catch-up
  out.subs_initial = heap_in_use() - before_subscribers;
  const double t = seconds([&] {
    pump(rt, streams, total, in_flight);
    const auto head = check(rt.store().head(), "head").value();
    for (const auto& h : s.handles)
      if (!h.wait_until(head, std::chrono::minutes(5)))
        throw std::runtime_error("W5: a subscriber did not reach the head");
  });
  std::uint64_t delivered = 0;
  for (const auto& c : s.counts)
    delivered += c->load();
  if (delivered != 3 * total) throw std::runtime_error("W5: wrong count of deliveries");
  out.deliveries_per_s = static_cast<double>(delivered) / t;
  // The subscriptions' memory: the heap before and after letting them go.
  const std::size_t with = heap_in_use();
  s.handles.clear();
  subs.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // posted steps let go of theirs
  const std::size_t without = heap_in_use();
  out.subs_heap = with > without ? with - without : 0;
  if (keep_events) out.events = check(rt.store().read_all(), "read_all").value();
  return out;
}

/// The baseline: the same stored events handed by one producer thread,
/// through a plain std::mutex + std::deque + condition variable per
/// consumer, to ten consumer threads that each decode their three types
/// as the handlers do and count. Producer routing by type, as the router.
template <std::size_t... I>
double queue_fanout(const std::vector<factum::recorded_event>& events, std::index_sequence<I...>) {
  struct consumer {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<factum::recorded_event> queue;
    bool done = false;
    std::uint64_t count = 0;
  };
  std::array<consumer, sizeof...(I)> cs;
  std::unordered_map<std::string, std::vector<consumer*>> by_type;
  ((by_type[std::string(factum::info_of<fanout::ev<I>>().name)].push_back(&cs[I]),
    by_type[std::string(factum::info_of<fanout::ev<I + 1>>().name)].push_back(&cs[I]),
    by_type[std::string(factum::info_of<fanout::ev<I + 2>>().name)].push_back(&cs[I])),
   ...);
  auto run = [](consumer& c, auto list) {
    using codec = factum::codec<typename decltype(list)::variant>;
    std::deque<factum::recorded_event> batch;
    for (;;) {
      {
        std::unique_lock lock(c.mutex);
        c.cv.wait(lock, [&] { return !c.queue.empty() || c.done; });
        if (c.queue.empty()) return;
        batch.swap(c.queue);
      }
      for (const auto& e : batch) {
        auto d = codec::decode(e);
        if (!d) throw std::runtime_error("baseline: decode failed");
        std::visit([](const auto& x) { keep(x.n); }, *d);
        ++c.count;
      }
      batch.clear();
    }
  };
  std::vector<std::thread> ts;
  const double t = seconds([&] {
    (ts.emplace_back(run, std::ref(cs[I]),
                     factum::events<fanout::ev<I>, fanout::ev<I + 1>, fanout::ev<I + 2>>{}),
     ...);
    for (const auto& e : events)
      for (consumer* c : by_type.at(e.type)) {
        {
          std::lock_guard lock(c->mutex);
          c->queue.push_back(e);
        }
        c->cv.notify_one();
      }
    for (auto& c : cs) {
      std::lock_guard lock(c.mutex);
      c.done = true;
      c.cv.notify_one();
    }
    for (auto& th : ts)
      th.join();
  });
  std::uint64_t delivered = 0;
  for (const auto& c : cs)
    delivered += c.count;
  if (delivered != 3 * events.size()) throw std::runtime_error("baseline: wrong count");
  return static_cast<double>(delivered) / t;
}

/// W5 without subscriptions: the dispatch rate alone, for scale.
double dispatch_only(std::size_t streams, std::size_t total, std::size_t in_flight) {
  factum::runtime rt{factum::memory_store{}, runtime_options()};
  return static_cast<double>(total) / seconds([&] { pump(rt, streams, total, in_flight); });
}

figure w5_fanout(const options& opt) {
  const std::size_t streams = opt.size(1'000'000, 20'000);
  const std::size_t few_streams = opt.size(1'000, 200);
  const std::size_t commands = opt.size(1'000'000, 20'000);
  const std::size_t in_flight = 1024;
  figure f;
  f.name = "W5.router.fanout";
  f.unit = "deliveries/s";
  f.baseline_name = "mutex.deque.fanout";
  std::vector<double> heap_many, heap_few, heap_initial, dispatch;
  for (int rep = 0; rep < opt.reps; ++rep) {
    auto many = route(streams, commands, in_flight, true);
    f.samples.push_back(many.deliveries_per_s);
    heap_many.push_back(static_cast<double>(many.subs_heap));
    heap_initial.push_back(static_cast<double>(many.subs_initial));
    f.baseline_samples.push_back(
        queue_fanout(many.events, std::make_index_sequence<fanout::types>{}));
    many.events = {};
    heap_few.push_back(
        static_cast<double>(route(few_streams, commands, in_flight, false).subs_heap));
    dispatch.push_back(static_cast<double>(dispatch_only(streams, commands, in_flight)));
  }
  f.params = {{"streams", streams},
              {"commands", commands},
              {"event_types", fanout::types},
              {"subscribers", fanout::types},
              {"subscribers_per_type", 3},
              {"in_flight", in_flight},
              {"threads", threads},
              {"subs_heap_bytes", median(heap_many)},
              {"subs_heap_bytes_few_streams", median(heap_few)},
              {"few_streams", few_streams},
              {"subs_heap_bytes_before_routing", median(heap_initial)},
              {"dispatch_only_commands_per_s", median(dispatch)},
              {"measure", "mallinfo2().uordblks freed by destroying the subscriptions"},
              {"reps", opt.reps}};
  return f;
}

// ---------------------------------------------------------------- W7

/// Balances by stream, as the projection of W7 keeps them.
using balances = factum::memory_read_model<std::string, std::int64_t>;
struct balance_projection {
  static constexpr std::string_view name = "balances";
  using interested_in = factum::events<account_opened, money_deposited, money_withdrawn>;

  void project(balances::writer& w, const account_opened&, const factum::recorded_event& e) {
    w.put(e.stream.str(), 0);
  }
  void project(balances::writer& w, const money_deposited& d, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b += d.amount; });
  }
  void project(balances::writer& w, const money_withdrawn& m, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b -= m.amount; });
  }
};

constexpr std::size_t catchup_batch = 500;  // subscription_options::batch_size's default

/// `events` bank events over `accounts` accounts, interleaved: rounds of 10
/// events per account, appended 100 accounts per call.
void fill_accounts(factum::event_store& store, std::size_t accounts, std::size_t events) {
  const std::size_t per_account = events / accounts;
  std::vector<factum::stream_write> writes;
  for (std::size_t from = 1; from <= per_account; from += 10) {
    const std::size_t n = std::min<std::size_t>(10, per_account - from + 1);
    for (std::size_t a = 0; a < accounts; ++a) {
      writes.push_back(
          {account_stream(a), factum::expected_version::any(), make_events(a, from, n)});
      if (writes.size() == 100 || a + 1 == accounts) {
        check(store.append(std::span<const factum::stream_write>(writes)), "append");
        writes.clear();
      }
    }
  }
}

/// Adds the projection to `subs` and waits until it handled the head;
/// returns events/s and stops it (so the next repetition can add it again).
double catch_up(factum::runtime& rt, factum::subscriptions& subs, std::size_t accounts,
                std::size_t events) {
  const auto head = check(rt.store().head(), "head").value();
  auto model = std::make_shared<balances>();
  factum::subscription s;
  const double t = seconds([&] {
    s = subs.add(balance_projection{}, model);
    if (!s.wait_until(head, std::chrono::minutes(5)))
      throw std::runtime_error("W7: the projection did not reach the head");
  });
  s.stop();
  if (model->size() != accounts) throw std::runtime_error("W7: wrong count of balances");
  return static_cast<double>(events) / t;
}

/// The memory store's baseline: read_all in batches of the same size and
/// type filter, the same decode, and a plain unordered_map update per event.
double raw_memory_catch_up(factum::event_store& store, std::size_t accounts) {
  const auto types = balance_projection::interested_in::names();
  std::unordered_map<std::string, std::int64_t> rows;
  std::size_t n = 0;
  const double t = seconds([&] {
    factum::position after;
    for (;;) {
      auto batch = check(store.read_all(after, catchup_batch, types), "read_all").value();
      for (const auto& e : batch) {
        auto d = check(account_codec::decode(e), "decode").value();
        std::visit(
            [&](const auto& x) {
              using X = std::decay_t<decltype(x)>;
              if constexpr (std::is_same_v<X, account_opened>)
                rows.insert_or_assign(e.stream.str(), 0);
              else if constexpr (std::is_same_v<X, money_deposited>)
                rows[e.stream.str()] += x.amount;
              else
                rows[e.stream.str()] -= x.amount;
            },
            d);
      }
      n += batch.size();
      if (batch.size() < catchup_batch) break;
      after = batch.back().pos;
    }
  });
  if (rows.size() != accounts) throw std::runtime_error("baseline: wrong count of balances");
  return static_cast<double>(n) / t;
}

figure w7_memory(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t events = opt.size(1'000'000, 20'000);
  figure f;
  f.name = "W7.projection.catchup.memory";
  f.unit = "events/s";
  f.baseline_name = "memory.read_all.map";
  factum::memory_store filled;
  fill_accounts(filled, accounts, events);
  factum::runtime rt{std::move(filled), runtime_options()};
  factum::subscriptions subs{rt, quiet()};
  keep(catch_up(rt, subs, accounts, events));  // untimed: fresh heap pages
  for (int rep = 0; rep < opt.reps; ++rep) {
    f.samples.push_back(catch_up(rt, subs, accounts, events));
    f.baseline_samples.push_back(raw_memory_catch_up(rt.store(), accounts));
  }
  f.params = {{"events", events},       {"streams", accounts},
              {"batch", catchup_batch}, {"model", "memory_read_model<string,int64>"},
              {"threads", threads},     {"reps", opt.reps}};
  return f;
}

#if FACTUM_BENCH_SQLITE

/// The SQLite store's baseline: a raw connection reads the same rows (the
/// projection's three types are every event of the file) in position order,
/// in batches of the same size (`position > ?1 ORDER BY position LIMIT ?2`,
/// keyset paging), the same columns the store reads; no decoding: the
/// plainest way to read those rows, whatever query the store uses.
double raw_sqlite_catch_up(raw::db& d, const std::string& sql, std::size_t events) {
  raw::stmt q{d, sql};
  sqlite3_stmt* st = q.get();
  std::uint64_t rows = 0, sum = 0;
  const double t = seconds([&] {
    std::int64_t after = 0;
    for (;;) {
      sqlite3_bind_int64(st, 1, after);
      sqlite3_bind_int64(st, 2, static_cast<std::int64_t>(catchup_batch));
      std::size_t n = 0;
      while (q.step() == SQLITE_ROW) {
        ++n;
        after = sqlite3_column_int64(st, 0);
        for (int c : {0, 1, 2, 3, 8, 9})
          sum += static_cast<std::uint64_t>(sqlite3_column_int64(st, c));
        for (int c : {4, 6, 7}) {
          const void* p = sqlite3_column_blob(st, c);
          sum += static_cast<std::uint64_t>(sqlite3_column_bytes(st, c)) + (p != nullptr);
        }
        for (int c : {5, 10, 11}) {
          const unsigned char* p = sqlite3_column_text(st, c);
          const int len = sqlite3_column_bytes(st, c);
          sum += static_cast<std::uint64_t>(len) + (len > 0 ? p[len - 1] : 0);
        }
      }
      q.reset();
      rows += n;
      if (n < catchup_batch) break;
    }
  });
  keep(sum);
  if (rows != events) throw std::runtime_error("raw read a wrong number of rows");
  return static_cast<double>(rows) / t;
}

figure w7_sqlite(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t events = opt.size(1'000'000, 20'000);
  figure f;
  f.name = "W7.projection.catchup";
  f.unit = "events/s";
  f.baseline_name = "sqlite.raw.read";
  scratch_dir dir{opt.dir};
  const auto file = dir.path() / "w7.db";
  {
    // Written without fsyncs: the workload only reads it.
    factum::sqlite_store store{file,
                               factum::sqlite_options{.synchronous = factum::sqlite_sync::off}};
    fill_accounts(store, accounts, events);
  }
  {
    raw::db d{file, SQLITE_OPEN_READWRITE};
    d.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // nothing read through the WAL
  }
  const std::string sql =
      "SELECT e.position, e.version, e.type_key, e.schema_version, e.event_id, e.data, "
      "e.correlation_id, e.causation_id, e.created_at, e.recorded_at, e.user_metadata, s.name "
      "FROM events e JOIN streams s ON s.stream_key = e.stream_key"
      " WHERE e.position > ?1 ORDER BY e.position LIMIT ?2";
  {
    factum::runtime rt{factum::sqlite_store{file}, runtime_options()};
    factum::subscriptions subs{rt, quiet()};
    raw::db d{file, SQLITE_OPEN_READONLY};
    // Untimed: the page cache, fresh heap pages.
    keep(catch_up(rt, subs, accounts, events));
    keep(raw_sqlite_catch_up(d, sql, events));
    for (int rep = 0; rep < opt.reps; ++rep) {
      f.samples.push_back(catch_up(rt, subs, accounts, events));
      f.baseline_samples.push_back(raw_sqlite_catch_up(d, sql, events));
    }
  }
  f.params = {{"events", events},
              {"streams", accounts},
              {"batch", catchup_batch},
              {"checkpoint", "every batch, in the read model"},
              {"model", "memory_read_model<string,int64>"},
              {"threads", threads},
              {"fs", file_system(dir.path())},
              {"reps", opt.reps}};
  if (!opt.sqlite_pragmas.empty()) f.params["sqlite_pragmas"] = opt.sqlite_pragmas;
  return f;
}

#endif

}  // namespace

void add_read_side(std::vector<workload>& out) {
  out.push_back({"W5.router.fanout", w5_fanout});
#if FACTUM_BENCH_SQLITE
  out.push_back({"W7.projection.catchup", w7_sqlite});
#endif
  out.push_back({"W7.projection.catchup.memory", w7_memory});
}

}  // namespace factum_bench
