// The global order under concurrency: an append held open in one
// transaction while another node appends. Appends serialise on the log
// head's row lock, so positions stay gapless and in commit order; a reader
// never skips an event that commits later, nor waits on a hole.
#include <atomic>
#include <future>
#include <libpq-fe.h>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/store/postgres_store.hpp>

#include "../support/pg_cluster.hpp"

using namespace std::chrono_literals;
using factum_test::pg_cluster;

namespace {

factum::event_data gap_event(const std::string& type) {
  factum::event_data e;
  e.id = factum::uuid::v7();
  e.type = type;
  e.data = "{}";
  return e;
}

/// A subscriber's loop: reads the log after its cursor, as catch-up does.
class reader {
 public:
  explicit reader(factum::postgres_store& store) : store_(store), thread_([this] { loop(); }) {}
  ~reader() {
    stop_ = true;
    thread_.join();
  }
  std::vector<factum::recorded_event> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void loop() {
    factum::position cursor;
    while (!stop_) {
      auto page = store_.read_all(cursor, 100);
      if (page && !page->empty()) {
        cursor = page->back().pos;
        std::lock_guard lock(mutex_);
        seen_.insert(seen_.end(), page->begin(), page->end());
      }
      std::this_thread::sleep_for(5ms);
    }
  }
  factum::postgres_store& store_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<factum::recorded_event> seen_;
  std::thread thread_;
};

bool exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) UNSCOPED_INFO(PQresultErrorMessage(r));
  PQclear(r);
  return ok;
}

}  // namespace

TEST_CASE(
    "postgres: an append held open while another commits: the subscriber sees every "
    "committed event once, in a stable order, whether the first commits or rolls back",
    "[postgres][gap]") {
  const bool commit = GENERATE(true, false);
  CAPTURE(commit);
  auto& cluster = pg_cluster::shared();
  const std::string schema = pg_cluster::fresh_schema();
  factum::postgres_store store{cluster.uri(), {.schema = schema}};
  for (int i = 0; i < 3; ++i)
    REQUIRE(store.append("before-" + std::to_string(i), factum::expected_version::no_stream(),
                         {gap_event("Before")}));
  reader subscriber{store};

  // Node 1: an append in a transaction it does not finish yet (the same
  // function the store calls, from a raw connection).
  const auto held_id = factum::uuid::v7();
  PGconn* raw = PQconnectdb(cluster.uri().c_str());
  REQUIRE(PQstatus(raw) == CONNECTION_OK);
  REQUIRE(exec(raw, "BEGIN"));
  REQUIRE(exec(raw, "SELECT * FROM \"" + schema +
                        "\".append_batch('[{\"cmd\":null,\"w\":[{\"s\":\"held-1\",\"x\":-1,"
                        "\"e\":[{\"id\":\"" +
                        held_id.to_string() +
                        "\",\"t\":\"Held\",\"v\":1,\"d\":\"{}\",\"at\":0}]}]}]')"));

  // Node 2: a later append. It waits for node 1's transaction.
  auto later = std::async(std::launch::async, [&] {
    return store.append("later-1", factum::expected_version::no_stream(), {gap_event("Later")});
  });
  CHECK(later.wait_for(500ms) == std::future_status::timeout);
  CHECK(store.head().value().global() == 3);
  CHECK(subscriber.seen().size() == 3);

  REQUIRE(exec(raw, commit ? "COMMIT" : "ROLLBACK"));
  PQfinish(raw);
  auto appended = later.get();
  REQUIRE(appended);
  CHECK(appended->first_position == (commit ? 5u : 4u));  // no hole after a rollback

  const std::uint64_t head = commit ? 5 : 4;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (subscriber.seen().size() < head && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);  // anything seen twice would show now
  const auto seen = subscriber.seen();
  REQUIRE(seen.size() == head);
  for (std::size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i].global_position == i + 1);  // gapless, each once, in order
  if (commit) {
    CHECK(seen[3].id == held_id);  // the first transaction's event comes first
    CHECK(seen[4].type == "Later");
  } else {
    CHECK(seen[3].type == "Later");
  }
  // The order is stable: reading again gives the same log.
  const auto again = store.read_all().value();
  REQUIRE(again.size() == seen.size());
  for (std::size_t i = 0; i < seen.size(); ++i)
    CHECK(again[i].id == seen[i].id);
}
