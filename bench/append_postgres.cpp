// W3.postgres.append.batch: store-level multi-stream appends to
// postgres_store, against raw libpq INSERTs of the same rows into the same
// tables, 1,000 to a transaction.
#include <chrono>
#include <string>
#include <vector>

#include <factum/store/postgres_store.hpp>

#include "append_plan.hpp"
#include "harness.hpp"
#include "raw_pg.hpp"

namespace factum_bench {

namespace {

double factum_rate(const plan& p, const std::string& uri) {
  rawpg::scratch_schema schema{uri, "append"};
  factum::postgres_options po;
  po.schema = schema.name();
  double t = 0;
  {
    factum::postgres_store store{uri, po};
    for (const auto& b : p.warmup)
      check(store.append(b.writes), "warm-up append");
    t = seconds([&] {
      for (const auto& b : p.timed)
        check(store.append(b.writes), "postgres append");
    });
  }
  return static_cast<double>(p.timed_events) / t;
}

std::int64_t to_ns(factum::timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// Reads a pipeline's results up to its sync; throws on the first error.
void drain(rawpg::conn& c) {
  for (;;) {
    rawpg::result r{PQgetResult(c.get())};
    if (!r) continue;  // the end of one statement's results
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_PIPELINE_SYNC) return;
    c.check(std::move(r), "a pipelined INSERT");
  }
}

// The baseline: the store's own tables and indexes (a postgres_store made
// them), and one prepared single-row INSERT per event, the columns the
// store's append function writes, in BEGIN/COMMIT transactions of one batch
// each (1,000 rows). As in the SQLite baseline, rows go in one statement at
// a time; libpq's pipeline mode sends a transaction's statements without
// waiting for each answer, so it costs one round trip, as the store's call.
double raw_rate(const plan& p, const std::string& uri) {
  rawpg::scratch_schema schema{uri, "raw_append"};
  factum::postgres_options po;
  po.schema = schema.name();
  { factum::postgres_store tables{uri, po}; }
  rawpg::conn c{uri};
  c.prepare("ins",
            "INSERT INTO " + schema.quoted() +
                ".events(position, stream, version, type, schema_version, event_id, data,"
                " correlation_id, causation_id, created_at, recorded_at, user_metadata)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            12);
  if (PQenterPipelineMode(c.get()) != 1)
    throw std::runtime_error("raw libpq: cannot enter pipeline mode");
  auto send = [&](const char* sql) {
    if (PQsendQueryParams(c.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1)
      throw std::runtime_error(std::string("raw libpq, sending ") + sql + ": " +
                               PQerrorMessage(c.get()));
  };
  std::int64_t pos = 0;
  std::string position, version, type_version, id, created, recorded;
  auto write = [&](const batch& b) {
    send("BEGIN");
    recorded = std::to_string(to_ns(std::chrono::system_clock::now()));
    for (const auto& w : b.writes) {
      const std::string& stream = w.stream.str();
      auto v = static_cast<std::int64_t>(w.expected.is_exact() ? w.expected.value() : 0);
      for (const auto& e : w.events) {
        position = std::to_string(++pos);
        version = std::to_string(++v);
        type_version = std::to_string(e.schema_version);
        id = e.id.to_string();
        created = std::to_string(to_ns(e.metadata.created_at));
        const char* values[12] = {
            position.c_str(), stream.c_str(), version.c_str(), e.type.c_str(), type_version.c_str(),
            id.c_str(),       e.data.c_str(), nullptr,         nullptr,        created.c_str(),
            recorded.c_str(), nullptr};
        if (PQsendQueryPrepared(c.get(), "ins", 12, values, nullptr, nullptr, 0) != 1)
          throw std::runtime_error(std::string("raw libpq, sending an INSERT: ") +
                                   PQerrorMessage(c.get()));
      }
    }
    send("COMMIT");
    if (PQpipelineSync(c.get()) != 1)
      throw std::runtime_error(std::string("raw libpq, sync: ") + PQerrorMessage(c.get()));
    drain(c);
  };
  for (const auto& b : p.warmup)
    write(b);
  const double t = seconds([&] {
    for (const auto& b : p.timed)
      write(b);
  });
  PQexitPipelineMode(c.get());
  return static_cast<double>(p.timed_events) / t;
}

figure postgres_append(const options& opt) {
  const std::size_t streams = opt.size(10'000, 2'000);
  const std::size_t batches = opt.size(200, 10);
  const plan p = make_plan(streams, batches, 100, 10);

  figure f;
  f.name = "W3.postgres.append.batch";
  f.unit = "events/s";
  f.baseline_name = "postgres.raw.insert.batch";
  for (int rep = 0; rep < opt.reps; ++rep) {
    // Alternate which side goes first, so drift in the machine's load
    // falls on both.
    if (rep % 2 == 0) {
      f.samples.push_back(factum_rate(p, opt.pg));
      f.baseline_samples.push_back(raw_rate(p, opt.pg));
    } else {
      f.baseline_samples.push_back(raw_rate(p, opt.pg));
      f.samples.push_back(factum_rate(p, opt.pg));
    }
  }
  f.params = {{"events", p.timed_events},
              {"batch_events", p.streams_per_batch * p.events_per_stream},
              {"streams_per_batch", p.streams_per_batch},
              {"events_per_stream", p.events_per_stream},
              {"streams", p.streams},
              {"warmup_events", p.streams},
              {"expected_version", "exact"},
              {"baseline_method", "prepared single-row INSERTs, pipelined, BEGIN/COMMIT per batch"},
              {"server", rawpg::server_params(opt.pg)},
              {"reps", opt.reps}};
  return f;
}

}  // namespace

void add_postgres_append(std::vector<workload>& out) {
  out.push_back({"W3.postgres.append.batch", postgres_append, true});
}

}  // namespace factum_bench
