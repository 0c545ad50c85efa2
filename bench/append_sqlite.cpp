// W3.sqlite.append.batch: store-level multi-stream appends to sqlite_store,
// against raw prepared INSERTs of the same rows into the same schema.
#include <span>
#include <string>
#include <vector>

#include <factum/store/sqlite_store.hpp>

#include "append_plan.hpp"
#include "harness.hpp"
#include "raw_sqlite.hpp"

namespace factum_bench {

namespace {

std::vector<std::string>& pragmas() {
  static std::vector<std::string> p;
  return p;
}

// An SQLite auto-extension: runs once in every connection as it opens.
int run_pragmas(sqlite3* db, const char** error, const sqlite3_api_routines*) {
  for (const auto& p : pragmas())
    if (sqlite3_exec(db, ("PRAGMA " + p).c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      *error = sqlite3_mprintf("PRAGMA %s: %s", p.c_str(), sqlite3_errmsg(db));
      return SQLITE_ERROR;
    }
  return SQLITE_OK;
}

double factum_rate(const plan& p, const std::filesystem::path& file) {
  double t = 0;
  {
    factum::sqlite_store store{file};  // defaults: WAL, synchronous=FULL, 16 KiB pages
    for (const auto& b : p.warmup)
      check(store.append(b.writes), "warm-up append");
    t = seconds([&] {
      for (const auto& b : p.timed)
        check(store.append(b.writes), "sqlite append");
    });
  }
  scratch_dir::remove_db(file);
  return static_cast<double>(p.timed_events) / t;
}

// The store's own INSERT, column for column.
constexpr const char* sql_insert =
    "INSERT INTO events(position, stream_key, version, type_key, schema_version, event_id, data,"
    " correlation_id, causation_id, created_at, recorded_at, user_metadata)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

std::int64_t to_ns(factum::timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double raw_rate(const plan& p, const std::filesystem::path& file, std::int64_t& page_size) {
  { factum::sqlite_store schema{file}; }  // the same schema, page size and journal mode
  double t = 0;
  {
    raw::db d{file, SQLITE_OPEN_READWRITE};
    d.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");
    page_size = d.scalar("PRAGMA page_size");
    d.exec("BEGIN IMMEDIATE");
    {
      raw::stmt s{d, "INSERT INTO streams(stream_key, name) VALUES (?1, ?2)"};
      for (std::size_t a = 0; a < p.streams; ++a) {
        const factum::stream_id name = account_stream(a);
        sqlite3_bind_int64(s.get(), 1, static_cast<std::int64_t>(a + 1));
        sqlite3_bind_text(s.get(), 2, name.str().data(), static_cast<int>(name.str().size()),
                          SQLITE_TRANSIENT);
        s.step();
        s.reset();
      }
      raw::stmt ty{d, "INSERT INTO event_types(type_key, name) VALUES (?1, ?2)"};
      for (const auto& [name, key] : p.type_keys) {
        sqlite3_bind_int64(ty.get(), 1, key);
        sqlite3_bind_text(ty.get(), 2, name.data(), static_cast<int>(name.size()),
                          SQLITE_TRANSIENT);
        ty.step();
        ty.reset();
      }
    }
    d.exec("COMMIT");

    raw::stmt begin{d, "BEGIN IMMEDIATE"}, commit{d, "COMMIT"}, ins{d, sql_insert};
    sqlite3_stmt* st = ins.get();
    std::int64_t pos = 0;
    auto write = [&](const batch& b) {
      begin.step();
      begin.reset();
      const std::int64_t now = to_ns(std::chrono::system_clock::now());
      for (std::size_t i = 0; i < b.writes.size(); ++i) {
        const auto& w = b.writes[i];
        const auto key = static_cast<std::int64_t>(b.accounts[i] + 1);
        auto version = static_cast<std::int64_t>(w.expected.is_exact() ? w.expected.value() : 0);
        for (const auto& e : w.events) {
          sqlite3_bind_int64(st, 1, ++pos);
          sqlite3_bind_int64(st, 2, key);
          sqlite3_bind_int64(st, 3, ++version);
          sqlite3_bind_int64(st, 4, p.type_keys.find(e.type)->second);
          sqlite3_bind_int64(st, 5, e.schema_version);
          sqlite3_bind_blob(st, 6, e.id.bytes().data(), 16, SQLITE_STATIC);
          sqlite3_bind_text(st, 7, e.data.data(), static_cast<int>(e.data.size()), SQLITE_STATIC);
          sqlite3_bind_null(st, 8);
          sqlite3_bind_null(st, 9);
          sqlite3_bind_int64(st, 10, to_ns(e.metadata.created_at));
          sqlite3_bind_int64(st, 11, now);
          sqlite3_bind_null(st, 12);
          ins.step();
          ins.reset();
        }
      }
      commit.step();
      commit.reset();
    };
    for (const auto& b : p.warmup)
      write(b);
    t = seconds([&] {
      for (const auto& b : p.timed)
        write(b);
    });
  }
  scratch_dir::remove_db(file);
  return static_cast<double>(p.timed_events) / t;
}

figure sqlite_append(const options& opt) {
  const std::size_t streams = opt.size(10'000, 2'000);
  const std::size_t batches = opt.size(200, 10);
  const plan p = make_plan(streams, batches, 100, 10);
  scratch_dir dir{opt.dir};

  figure f;
  f.name = "W3.sqlite.append.batch";
  f.unit = "events/s";
  f.baseline_name = "sqlite.raw.insert.batch";
  std::int64_t page_size = 0;
  for (int rep = 0; rep < opt.reps; ++rep) {
    // Alternate which side goes first, so drift in the machine's load
    // falls on both.
    const auto file = [&](const char* side) {
      return dir.path() / (std::string(side) + "-" + std::to_string(rep) + ".db");
    };
    if (rep % 2 == 0) {
      f.samples.push_back(factum_rate(p, file("factum")));
      f.baseline_samples.push_back(raw_rate(p, file("raw"), page_size));
    } else {
      f.baseline_samples.push_back(raw_rate(p, file("raw"), page_size));
      f.samples.push_back(factum_rate(p, file("factum")));
    }
  }
  f.params = {{"events", p.timed_events},
              {"batch_events", p.streams_per_batch * p.events_per_stream},
              {"streams_per_batch", p.streams_per_batch},
              {"events_per_stream", p.events_per_stream},
              {"streams", p.streams},
              {"warmup_events", p.streams},
              {"expected_version", "exact"},
              {"journal_mode", "wal"},
              {"synchronous", "full"},
              {"page_size", page_size},
              {"fs", file_system(dir.path())},
              {"reps", opt.reps}};
  if (!opt.sqlite_pragmas.empty()) f.params["sqlite_pragmas"] = opt.sqlite_pragmas;
  return f;
}

}  // namespace

void use_sqlite_pragmas(const std::vector<std::string>& list) {
  pragmas() = list;
  if (!list.empty())
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(&run_pragmas));  // NOLINT: SQLite's API
}

void add_sqlite_append(std::vector<workload>& out) {
  out.push_back({"W3.sqlite.append.batch", sqlite_append});
}

}  // namespace factum_bench
