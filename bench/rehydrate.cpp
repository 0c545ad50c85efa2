// W4: loading one aggregate of 100,000 events: read its stream, decode each
// event with the codec, apply it to the state. From memory_store, from
// sqlite_store (against a raw SELECT of the same rows), and from SQLite with a
// snapshot every 100 events.
#include <memory>
#include <string>
#include <vector>

#include <factum/store/memory_store.hpp>

#include "domain.hpp"
#include "harness.hpp"

#if FACTUM_BENCH_SQLITE
#include <factum/store/sqlite_store.hpp>

#include "raw_sqlite.hpp"
#endif

namespace factum_bench {

namespace {

const factum::stream_id stream = account_stream(0);

/// Appends `events` events to `stream` in batches of 1,000; calls
/// `each(version, state)` after each event is applied.
template <class Each>
void fill(factum::event_store& store, std::size_t events, Each&& each) {
  account_state s;
  for (std::uint64_t v = 0; v < events;) {
    const std::size_t n = std::min<std::size_t>(1'000, events - v);
    auto batch = make_events(0, v + 1, n);
    for (const auto& e : batch) {
      evolve(s, check(account_codec::decode(e.type, e.schema_version, e.data), "decode").value());
      each(s);
    }
    check(store.append(stream, factum::expected_version::exact(v), std::move(batch)), "fill");
    v += n;
  }
}

/// The aggregate's load from version `from` on: what is timed. Reads the
/// stream with `read_stream` (every event in a vector, then decode + evolve)
/// or, with `--loader scan_stream`, one reused event at a time.
account_state load(const options& opt, factum::event_store& store, std::uint64_t from = 1,
                   account_state s = {}) {
  if (opt.loader == "scan_stream") {
    check(store.scan_stream(stream, from,
                            [&](const factum::recorded_event& e) {
                              evolve(s, check(account_codec::decode(e), "decode").value());
                            }),
          "scan_stream");
    return s;
  }
  const auto events = check(store.read_stream(stream, from), "read_stream").value();
  for (const auto& e : events)
    evolve(s, check(account_codec::decode(e), "decode").value());
  return s;
}

figure rehydrate_memory(const options& opt) {
  const std::size_t events = opt.size(100'000, 10'000);
  factum::memory_store store;
  fill(store, events, [](const account_state&) {});
  figure f;
  f.name = "W4.rehydrate.memory";
  f.unit = "events/s";
  f.params = {{"events", events}, {"snapshot", false}, {"loader", opt.loader}, {"reps", opt.reps}};
  // Untimed: the first loads also pay for fresh heap pages (glibc moves its
  // mmap threshold up after the first large free).
  for (int i = 0; i < 2; ++i)
    keep(load(opt, store));
  for (int rep = 0; rep < opt.reps; ++rep) {
    account_state s;
    const double t = seconds([&] { s = load(opt, store); });
    if (s.version != events) throw std::runtime_error("loaded a wrong number of events");
    f.samples.push_back(static_cast<double>(events) / t);
  }
  return f;
}

#if FACTUM_BENCH_SQLITE

constexpr std::uint64_t snapshot_every = 100;
constexpr std::uint64_t snapshot_offset = 50;  // so the loaded tail is an average one

/// One SQLite file with the aggregate's stream and its snapshots, shared by
/// W4.rehydrate.sqlite and W4.rehydrate.sqlite.snapshot.
struct sqlite_fixture {
  scratch_dir dir;
  std::size_t events;
  std::size_t snapshots = 0;
  std::filesystem::path file;
  factum::sqlite_store store;

  sqlite_fixture(const options& opt, std::size_t n)
      : dir(opt.dir),
        events(n),
        file(dir.path() / "rehydrate.db"),
        // Written without fsyncs: the workloads only read it.
        store(file, factum::sqlite_options{.synchronous = factum::sqlite_sync::off}) {
    fill(store, events, [&](const account_state& s) {
      if (s.version % snapshot_every == snapshot_offset) {
        check(store.save_snapshot({stream, s.version, 1, nlohmann::json(s).dump(),
                                   std::chrono::system_clock::now()}),
              "save_snapshot");
        ++snapshots;
      }
    });
    // Everything into the main file, so neither side reads through the WAL.
    raw::db d{file, SQLITE_OPEN_READWRITE};
    d.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
};

/// Builds the fixture on first use; the workloads that share it hold this.
struct lazy_fixture {
  std::unique_ptr<sqlite_fixture> fx;
  sqlite_fixture& get(const options& opt) {
    if (!fx) fx = std::make_unique<sqlite_fixture>(opt, opt.size(100'000, 10'000));
    return *fx;
  }
};

// The store's own query (sqlite_store.cpp, sql_read_stream).
constexpr const char* sql_read_stream =
    "SELECT e.position, e.version, e.type_key, e.schema_version, e.event_id, e.data, "
    "e.correlation_id, e.causation_id, e.created_at, e.recorded_at, e.user_metadata, s.name "
    "FROM streams s JOIN events e ON e.stream_key = s.stream_key"
    " WHERE s.name = ?1 AND e.version >= ?2 ORDER BY e.version LIMIT ?3";

/// Steps every row and reads each column the store reads; returns how many rows.
std::uint64_t raw_read(raw::stmt& q) {
  sqlite3_stmt* st = q.get();
  const std::string& name = stream.str();
  sqlite3_bind_text(st, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, 1);
  sqlite3_bind_int64(st, 3, -1);
  std::uint64_t rows = 0, sum = 0;
  while (q.step() == SQLITE_ROW) {
    ++rows;
    for (int c : {0, 1, 2, 3, 8, 9})
      sum += static_cast<std::uint64_t>(sqlite3_column_int64(st, c));
    for (int c : {4, 6, 7}) {
      const void* p = sqlite3_column_blob(st, c);
      sum += static_cast<std::uint64_t>(sqlite3_column_bytes(st, c)) + (p != nullptr);
    }
    for (int c : {5, 10, 11}) {
      const unsigned char* p = sqlite3_column_text(st, c);
      const int n = sqlite3_column_bytes(st, c);
      sum += static_cast<std::uint64_t>(n) + (n > 0 ? p[n - 1] : 0);
    }
  }
  q.reset();
  keep(sum);
  return rows;
}

figure rehydrate_sqlite(const options& opt, sqlite_fixture* fx) {
  raw::db d{fx->file, SQLITE_OPEN_READONLY};
  raw::stmt q{d, sql_read_stream};
  figure f;
  f.name = "W4.rehydrate.sqlite";
  f.unit = "events/s";
  f.baseline_name = "sqlite.raw.read";
  f.params = {
      {"events", fx->events}, {"snapshot", false}, {"loader", opt.loader}, {"reps", opt.reps}};
  if (!opt.sqlite_pragmas.empty()) f.params["sqlite_pragmas"] = opt.sqlite_pragmas;
  const auto events = static_cast<double>(fx->events);
  // Untimed: the first load also pays for fresh heap pages and the file's
  // first read, the first raw read for its page cache.
  for (int i = 0; i < 2; ++i)
    keep(load(opt, fx->store));
  keep(raw_read(q));
  for (int rep = 0; rep < opt.reps; ++rep) {
    account_state s;
    const double t = seconds([&] { s = load(opt, fx->store); });
    if (s.version != fx->events) throw std::runtime_error("loaded a wrong number of events");
    f.samples.push_back(events / t);
    std::uint64_t rows = 0;
    f.baseline_samples.push_back(events / seconds([&] { rows = raw_read(q); }));
    if (rows != fx->events) throw std::runtime_error("raw read a wrong number of rows");
  }
  return f;
}

figure rehydrate_sqlite_snapshot(const options& opt, sqlite_fixture* fx) {
  constexpr int loads = 100;  // per repetition: one load takes well under a millisecond
  figure f;
  f.name = "W4.rehydrate.sqlite.snapshot";
  f.unit = "microseconds";
  f.higher_is_better = false;
  std::uint64_t tail = 0;
  // load_snapshot + the state's JSON + the tail after it (read as in W4.rehydrate.sqlite).
  auto load_from_snapshot = [&] {
    const auto snap = check(fx->store.load_snapshot(stream, 1), "load_snapshot").value();
    if (!snap) throw std::runtime_error("no snapshot");
    auto s = nlohmann::json::parse(snap->state).get<account_state>();
    s = load(opt, fx->store, snap->version + 1, std::move(s));
    tail = s.version - snap->version;
    return s;
  };
  keep(load_from_snapshot());  // untimed, as in W4.rehydrate.sqlite
  for (int rep = 0; rep < opt.reps; ++rep) {
    account_state s;
    const double t = seconds([&] {
      for (int i = 0; i < loads; ++i)
        s = load_from_snapshot();
    });
    if (s.version != fx->events) throw std::runtime_error("loaded a wrong number of events");
    f.samples.push_back(t / loads * 1e6);
  }
  f.params = {
      {"events", fx->events}, {"snapshot_every", snapshot_every}, {"snapshots", fx->snapshots},
      {"tail_events", tail},  {"loads_per_rep", loads},           {"loader", opt.loader},
      {"reps", opt.reps}};
  if (!opt.sqlite_pragmas.empty()) f.params["sqlite_pragmas"] = opt.sqlite_pragmas;
  return f;
}

#endif

}  // namespace

void add_rehydrate(std::vector<workload>& out) {
  out.push_back({"W4.rehydrate.memory", rehydrate_memory});
#if FACTUM_BENCH_SQLITE
  // Both SQLite workloads read one file, built once; it goes with the list.
  auto lazy = std::make_shared<lazy_fixture>();
  out.push_back({"W4.rehydrate.sqlite",
                 [lazy](const options& opt) { return rehydrate_sqlite(opt, &lazy->get(opt)); }});
  out.push_back({"W4.rehydrate.sqlite.snapshot", [lazy](const options& opt) {
                   return rehydrate_sqlite_snapshot(opt, &lazy->get(opt));
                 }});
#endif
}

}  // namespace factum_bench
