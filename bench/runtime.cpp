// The runtime's workloads: W1 (dispatch on the memory store, throughput and
// latency), W3.sqlite.dispatch and W3.postgres.dispatch (the same on SQLite
// and PostgreSQL with group commit), W3.sqlite.transact (multi-stream
// commands with a read-only stream) and W6 (registry memory per live
// aggregate).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <malloc.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <factum/runtime.hpp>
#if FACTUM_BENCH_SQLITE
#include <factum/store/sqlite_store.hpp>

#include "raw_sqlite.hpp"
#endif
#if FACTUM_BENCH_POSTGRES
#include <factum/store/postgres_store.hpp>
#include <factum/telemetry/sink.hpp>

#include "raw_pg.hpp"
#endif

#include "domain.hpp"
#include "harness.hpp"

namespace factum_bench {

namespace {

namespace net = boost::asio;
constexpr std::size_t threads = 2;  // the machine's cores: the runtime's default here

factum::runtime_options runtime_options() {
  factum::runtime_options o;
  o.threads = threads;
  return o;
}

std::string account_id(std::size_t i) {
  return "acc-" + std::to_string(i);
}

/// Dispatches `total` commands over `accounts` accounts, `in_flight` at a
/// time: each completion dispatches the next. Returns the errors seen.
template <class Make>
std::size_t pump(factum::runtime& rt, std::size_t accounts, std::size_t total,
                 std::size_t in_flight, Make make) {
  std::atomic<std::size_t> issued{0};
  std::atomic<std::size_t> errors{0};
  latch done;
  done.reset(total);
  std::function<void()> next = [&] {
    const std::size_t i = issued.fetch_add(1);
    if (i >= total) return;
    rt.dispatch<bank::account>(account_id(i % accounts), make(i),
                               [&](std::error_code ec, factum::dispatch_result) {
                                 if (ec) ++errors;
                                 next();  // before counting: the last count ends pump()
                                 done.count();
                               });
  };
  for (std::size_t k = 0; k < std::min(in_flight, total); ++k)
    next();
  done.wait();
  return errors.load();
}

void open_accounts(factum::runtime& rt, std::size_t accounts) {
  const auto errors = pump(rt, accounts, accounts, 1024, [](std::size_t i) {
    return bank::account::command{bank::open_account{"owner-" + std::to_string(i)}};
  });
  if (errors != 0) throw std::runtime_error("opening the accounts failed");
}

/// The baseline of W1: bare posts to `strands` strands on a pool of the same
/// size, `in_flight` at a time, each handler posting the next.
double strand_posts(std::size_t strands, std::size_t total, std::size_t in_flight) {
  net::thread_pool pool(threads);
  std::vector<net::strand<net::thread_pool::executor_type>> s;
  s.reserve(strands);
  for (std::size_t i = 0; i < strands; ++i)
    s.push_back(net::make_strand(pool.get_executor()));
  std::atomic<std::size_t> issued{0};
  std::atomic<std::uint64_t> work{0};
  latch done;
  done.reset(total);
  std::function<void()> next = [&] {
    const std::size_t i = issued.fetch_add(1);
    if (i >= total) return;
    net::post(s[i % strands], [&, i] {
      work.fetch_add(i, std::memory_order_relaxed);
      next();
      done.count();
    });
  };
  const double t = seconds([&] {
    for (std::size_t k = 0; k < std::min(in_flight, total); ++k)
      next();
    done.wait();
  });
  keep(work.load());
  pool.join();
  return static_cast<double>(total) / t;
}

figure w1_dispatch(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t commands = opt.size(1'000'000, 20'000);
  const std::size_t in_flight = 1024;
  figure f;
  f.name = "W1.memory.dispatch";
  f.unit = "commands/s";
  f.baseline_name = "asio.strand.post";
  f.params = {{"aggregates", accounts}, {"commands", commands},     {"in_flight", in_flight},
              {"threads", threads},     {"completion", "callback"}, {"reps", opt.reps}};
  for (int rep = 0; rep < opt.reps; ++rep) {
    {
      factum::runtime rt{factum::memory_store{}, runtime_options()};
      open_accounts(rt, accounts);
      std::size_t errors = 0;
      const double t = seconds([&] {
        errors = pump(rt, accounts, commands, in_flight,
                      [](std::size_t) { return bank::account::command{bank::deposit{1}}; });
      });
      if (errors != 0) throw std::runtime_error("W1: commands failed");
      f.samples.push_back(static_cast<double>(commands) / t);
    }
    f.baseline_samples.push_back(strand_posts(accounts, commands, in_flight));
  }
  return f;
}

figure w1_latency(const options& opt) {
  const std::size_t commands = opt.size(20'000, 500);
  figure f;
  f.name = "W1.memory.latency";
  f.unit = "microseconds";
  f.higher_is_better = false;
  std::vector<double> p99s, roundtrips;
  for (int rep = 0; rep < opt.reps; ++rep) {
    factum::runtime rt{factum::memory_store{}, runtime_options()};
    rt.dispatch<bank::account>("acc-0", bank::open_account{"ann"}, net::use_future).get();
    std::vector<double> us;
    us.reserve(commands);
    for (std::size_t i = 0; i < commands; ++i) {
      us.push_back(seconds([&] {
                     rt.dispatch<bank::account>("acc-0", bank::deposit{1}, net::use_future).get();
                   }) *
                   1e6);
    }
    std::sort(us.begin(), us.end());
    f.samples.push_back(us[us.size() / 2]);
    p99s.push_back(us[us.size() * 99 / 100]);
    // For scale: the bare round trip of a post to a pool thread and back
    // through a future, which every sequential dispatch pays at least.
    net::thread_pool pool(threads);
    std::vector<double> bare;
    for (std::size_t i = 0; i < commands; ++i)
      bare.push_back(seconds([&] {
                       std::promise<void> p;
                       auto fu = p.get_future();
                       net::post(pool, [&] { p.set_value(); });
                       fu.get();
                     }) *
                     1e6);
    pool.join();
    std::sort(bare.begin(), bare.end());
    roundtrips.push_back(bare[bare.size() / 2]);
  }
  f.params = {{"value", "p50"},
              {"p99_us", median(p99s)},
              {"post_future_roundtrip_p50_us", median(roundtrips)},
              {"commands", commands},
              {"completion", "use_future"},
              {"reps", opt.reps}};
  return f;
}

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

figure w6_registry(const options& opt) {
  const std::size_t aggregates = opt.size(1'000'000, 10'000);
  figure f;
  f.name = "W6.registry.memory";
  f.unit = "bytes/aggregate";
  f.higher_is_better = false;
  std::vector<double> after;
  for (int rep = 0; rep < opt.reps; ++rep) {
    factum::memory_store store;
    for (std::size_t i = 0; i < aggregates; ++i)
      check(store.append(factum::stream_of<bank::account>(account_id(i)),
                         factum::expected_version::no_stream(),
                         {bank::codec::encode(bank::account_opened{"o"})}),
            "append");
    auto o = runtime_options();
    o.sweep_interval = std::chrono::hours(1);  // passivation only when asked below
    factum::runtime rt{std::move(store), o};
    factum::aggregate_options a;
    a.ttl = std::chrono::milliseconds(0);
    rt.configure<bank::account>(a);
    // A deposit of 0 is refused: it loads the instance and appends nothing.
    (void)pump(rt, aggregates, std::min<std::size_t>(aggregates, 2048), 1024,
               [](std::size_t) { return bank::account::command{bank::deposit{0}}; });
    rt.sweep();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::size_t before = heap_in_use();
    (void)pump(rt, aggregates, aggregates, 1024,
               [](std::size_t) { return bank::account::command{bank::deposit{0}}; });
    if (rt.live_count() != aggregates) throw std::runtime_error("W6: not every aggregate is live");
    const std::size_t live = heap_in_use();
    f.samples.push_back(static_cast<double>(live - before) / static_cast<double>(aggregates) -
                        static_cast<double>(sizeof(bank::account::state)));
    rt.sweep();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the posted passivations
    const std::size_t passivated = heap_in_use();
    after.push_back(static_cast<double>(passivated > before ? passivated - before : 0) /
                    static_cast<double>(aggregates));
  }
  f.params = {{"aggregates", aggregates},
              {"state_bytes_excluded", sizeof(bank::account::state)},
              {"after_passivation_bytes_per_aggregate", median(after)},
              {"measure", "mallinfo2().uordblks"},
              {"reps", opt.reps}};
  return f;
}

#if FACTUM_BENCH_SQLITE

/// Raw single-row transactions with the same durability, as the baseline.
double raw_transactions(const std::filesystem::path& file, const char* sync, std::size_t count) {
  raw::db d{file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE};
  d.exec("PRAGMA journal_mode=WAL");
  d.exec(std::string("PRAGMA synchronous=") + sync);
  d.exec(
      "CREATE TABLE IF NOT EXISTS events(position INTEGER PRIMARY KEY, stream INTEGER, "
      "version INTEGER, data TEXT, UNIQUE(stream, version))");
  raw::stmt begin{d, "BEGIN IMMEDIATE"}, commit{d, "COMMIT"};
  raw::stmt ins{d, "INSERT INTO events(stream, version, data) VALUES (?1, ?2, '{\"amount\":1}')"};
  const double t = seconds([&] {
    for (std::size_t i = 0; i < count; ++i) {
      begin.step();
      begin.reset();
      sqlite3_bind_int64(ins.get(), 1, static_cast<std::int64_t>(i % 10'000));
      sqlite3_bind_int64(ins.get(), 2, static_cast<std::int64_t>(i));
      ins.step();
      ins.reset();
      commit.step();
      commit.reset();
    }
  });
  return static_cast<double>(count) / t;
}

figure w3_dispatch(const options& opt, factum::sqlite_sync sync, const char* name,
                   const char* baseline, const char* pragma) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t commands = opt.size(200'000, 2'000);
  const std::size_t raw_count = opt.size(3'000, 100);
  const std::size_t in_flight = 1024;
  figure f;
  f.name = name;
  f.unit = "commands/s";
  f.baseline_name = baseline;
  for (int rep = 0; rep < opt.reps; ++rep) {
    scratch_dir dir{opt.dir};
    {
      factum::sqlite_options so;
      so.synchronous = sync;
      factum::runtime rt{factum::sqlite_store{dir.path() / "w3.db", so}, runtime_options()};
      open_accounts(rt, accounts);
      std::size_t errors = 0;
      const double t = seconds([&] {
        errors = pump(rt, accounts, commands, in_flight,
                      [](std::size_t) { return bank::account::command{bank::deposit{1}}; });
      });
      if (errors != 0) throw std::runtime_error(std::string(name) + ": commands failed");
      f.samples.push_back(static_cast<double>(commands) / t);
    }
    f.baseline_samples.push_back(raw_transactions(dir.path() / "raw.db", pragma, raw_count));
    if (rep == 0) f.params["fs"] = file_system(dir.path());
  }
  f.params["aggregates"] = accounts;
  f.params["commands"] = commands;
  f.params["in_flight"] = in_flight;
  f.params["threads"] = threads;
  f.params["group_commit"] = true;
  f.params["synchronous"] = pragma;
  f.params["baseline_transactions"] = raw_count;
  f.params["reps"] = opt.reps;
  if (!opt.sqlite_pragmas.empty()) f.params["sqlite_pragmas"] = opt.sqlite_pragmas;
  return f;
}

/// W3.sqlite.transact: two-account transfers that also read a third,
/// read-only stream (a "bank" account that must be open), `in_flight` at a
/// time, on SQLite with synchronous=FULL and group commit. Each appends two
/// events and checks three versions.
figure w3_transact(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t commands = opt.size(100'000, 2'000);
  const std::size_t raw_count = opt.size(3'000, 100);
  const std::size_t in_flight = 1024;
  figure f;
  f.name = "W3.sqlite.transact";
  f.unit = "commands/s";
  f.baseline_name = "sqlite.raw.txn.full";
  const auto transfer = [](const bank::account::state& from, const bank::account::state& to,
                           const bank::account::state& bank)
      -> factum::decisions<bank::account, bank::account, bank::account> {
    if (!bank.open || !from.open || !to.open) return {factum::reject("closed"), {}, {}};
    return {bank::money_withdrawn{1}, bank::money_deposited{1}, {}};
  };
  for (int rep = 0; rep < opt.reps; ++rep) {
    scratch_dir dir{opt.dir};
    {
      factum::sqlite_options so;
      so.synchronous = factum::sqlite_sync::full;
      factum::runtime rt{factum::sqlite_store{dir.path() / "w3t.db", so}, runtime_options()};
      open_accounts(rt, accounts);
      std::promise<std::error_code> bank_opened;
      rt.dispatch<bank::account>(
          "bank", bank::open_account{"bank"},
          [&](std::error_code ec, factum::dispatch_result) { bank_opened.set_value(ec); });
      if (bank_opened.get_future().get())
        throw std::runtime_error("W3.sqlite.transact: opening the bank failed");
      (void)pump(rt, accounts, accounts, 1024,
                 [](std::size_t) { return bank::account::command{bank::deposit{1'000'000}}; });
      std::atomic<std::size_t> issued{0};
      std::atomic<std::size_t> errors{0};
      latch done;
      done.reset(commands);
      std::function<void()> next = [&] {
        const std::size_t i = issued.fetch_add(1);
        if (i >= commands) return;
        // Disjoint pairs per window of in-flight commands keep conflicts rare.
        const std::size_t from = (2 * i) % accounts, to = (2 * i + 1) % accounts;
        rt.transact<bank::account, bank::account, bank::account>(
            {account_id(from), account_id(to), "bank"}, transfer,
            [&](std::error_code ec, factum::dispatch_result) {
              if (ec) ++errors;
              next();
              done.count();
            });
      };
      const double t = seconds([&] {
        for (std::size_t k = 0; k < std::min(in_flight, commands); ++k)
          next();
        done.wait();
      });
      if (errors != 0) throw std::runtime_error("W3.sqlite.transact: commands failed");
      f.samples.push_back(static_cast<double>(commands) / t);
    }
    f.baseline_samples.push_back(raw_transactions(dir.path() / "raw.db", "FULL", raw_count));
    if (rep == 0) f.params["fs"] = file_system(dir.path());
  }
  f.params["aggregates"] = accounts;
  f.params["commands"] = commands;
  f.params["in_flight"] = in_flight;
  f.params["threads"] = threads;
  f.params["read_only_streams"] = 1;
  f.params["synchronous"] = "FULL";
  f.params["baseline_transactions"] = raw_count;
  f.params["reps"] = opt.reps;
  return f;
}

#endif

#if FACTUM_BENCH_POSTGRES

/// What the runtime's committer hands the store: the `append_batch` calls
/// (the store's `factum.store.append` spans tagged batch=group), the events
/// in them and the time spent in them (encoding, the round trip with the
/// server's append function and commit, decoding).
class batch_stats final : public factum::telemetry_sink {
 public:
  void record(const factum::telemetry_event& e) noexcept override {
    if (e.name != "factum.store.append.stop" || e.tag("batch") != "group") return;
    batches_.fetch_add(1, std::memory_order_relaxed);
    events_.fetch_add(e.events, std::memory_order_relaxed);
    ns_.fetch_add(static_cast<std::uint64_t>(e.duration.count()), std::memory_order_relaxed);
  }
  void reset() {
    batches_ = 0;
    events_ = 0;
    ns_ = 0;
  }
  [[nodiscard]] std::uint64_t batches() const { return batches_.load(); }
  [[nodiscard]] double mean_events() const {
    return batches_ ? static_cast<double>(events_) / static_cast<double>(batches_) : 0;
  }
  [[nodiscard]] double mean_ms() const {
    return batches_ ? static_cast<double>(ns_) / 1e6 / static_cast<double>(batches_) : 0;
  }
  [[nodiscard]] double seconds() const { return static_cast<double>(ns_) / 1e9; }

 private:
  std::atomic<std::uint64_t> batches_{0}, events_{0}, ns_{0};
};

/// The baseline: raw single-row transactions on one connection, an
/// autocommit prepared INSERT each (one commit, one WAL flush), into a
/// scratch table shaped like the SQLite baseline's, on the same server.
double pg_raw_transactions(const std::string& uri, std::size_t count) {
  rawpg::scratch_schema schema{uri, "raw_txn"};
  rawpg::conn c{uri};
  const std::string table = schema.quoted() + ".events";
  c.exec("CREATE SCHEMA " + schema.quoted() + "; CREATE TABLE " + table +
         "(position bigserial PRIMARY KEY, stream bigint NOT NULL, version bigint NOT NULL,"
         " data text NOT NULL, UNIQUE (stream, version))");
  c.prepare("ins",
            "INSERT INTO " + table + "(stream, version, data) VALUES ($1, $2, '{\"amount\":1}')",
            2);
  std::string stream, version;
  const double t = seconds([&] {
    for (std::size_t i = 0; i < count; ++i) {
      stream = std::to_string(i % 10'000);
      version = std::to_string(i);
      const char* values[] = {stream.c_str(), version.c_str()};
      c.run_prepared("ins", 2, values);
    }
  });
  return static_cast<double>(count) / t;
}

figure w3_postgres_dispatch(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::size_t commands = opt.size(200'000, 2'000);
  const std::size_t raw_count = opt.size(3'000, 100);
  const std::size_t in_flight = 1024;
  figure f;
  f.name = "W3.postgres.dispatch";
  f.unit = "commands/s";
  f.baseline_name = "postgres.raw.txn";
  std::vector<double> mean_batch, mean_ms, busy;
  for (int rep = 0; rep < opt.reps; ++rep) {
    {
      rawpg::scratch_schema schema{opt.pg, "dispatch"};
      factum::postgres_options po;
      po.schema = schema.name();
      auto store = std::make_shared<factum::postgres_store>(opt.pg, po);
      auto stats = std::make_shared<batch_stats>();
      store->set_telemetry(stats);
      {
        factum::runtime rt{store, runtime_options()};
        open_accounts(rt, accounts);
        stats->reset();
        std::size_t errors = 0;
        const double t = seconds([&] {
          errors = pump(rt, accounts, commands, in_flight,
                        [](std::size_t) { return bank::account::command{bank::deposit{1}}; });
        });
        if (errors != 0) throw std::runtime_error("W3.postgres.dispatch: commands failed");
        if (stats->batches() == 0)
          throw std::runtime_error("W3.postgres.dispatch: no group commit (no append_batch call)");
        f.samples.push_back(static_cast<double>(commands) / t);
        mean_batch.push_back(stats->mean_events());
        mean_ms.push_back(stats->mean_ms());
        busy.push_back(stats->seconds() / t);
      }
      store.reset();  // its connections close before the schema is dropped
    }
    f.baseline_samples.push_back(pg_raw_transactions(opt.pg, raw_count));
  }
  f.params["aggregates"] = accounts;
  f.params["commands"] = commands;
  f.params["in_flight"] = in_flight;
  f.params["threads"] = threads;
  f.params["group_commit"] = true;
  // The committer's batches while timed: commands per append_batch call, the
  // call's mean time, and the share of the wall time the committer spent in it.
  f.params["batch_commands_mean"] = std::round(median(mean_batch) * 10) / 10;
  f.params["batch_ms_mean"] = std::round(median(mean_ms) * 100) / 100;
  f.params["committer_busy"] = std::round(median(busy) * 100) / 100;
  f.params["baseline_transactions"] = raw_count;
  f.params["baseline_connections"] = 1;
  f.params["server"] = rawpg::server_params(opt.pg);
  f.params["reps"] = opt.reps;
  return f;
}

#endif

}  // namespace

void add_runtime(std::vector<workload>& out) {
  out.push_back({"W1.memory.dispatch", w1_dispatch});
  out.push_back({"W1.memory.latency", w1_latency});
#if FACTUM_BENCH_SQLITE
  out.push_back({"W3.sqlite.dispatch.full", [](const options& o) {
                   return w3_dispatch(o, factum::sqlite_sync::full, "W3.sqlite.dispatch.full",
                                      "sqlite.raw.txn.full", "FULL");
                 }});
  out.push_back({"W3.sqlite.dispatch.normal", [](const options& o) {
                   return w3_dispatch(o, factum::sqlite_sync::normal, "W3.sqlite.dispatch.normal",
                                      "sqlite.raw.txn.normal", "NORMAL");
                 }});
  out.push_back({"W3.sqlite.transact", w3_transact});
#endif
#if FACTUM_BENCH_POSTGRES
  out.push_back({"W3.postgres.dispatch", w3_postgres_dispatch, true});
#endif
  out.push_back({"W6.registry.memory", w6_registry});
}

}  // namespace factum_bench
