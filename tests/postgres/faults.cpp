// Faults of the PostgreSQL store: the server restarted under load, a
// statement timeout, a server that is not there, schemas that are not
// factum's or are older or newer, malformed stored data.
#include <atomic>
#include <future>
#include <libpq-fe.h>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>

#include "../../examples/bank/bank_domain.hpp"
#include "../support/pg_cluster.hpp"

using namespace std::chrono_literals;
using factum_test::pg_cluster;

namespace {

factum::event_data event(const std::string& type, std::string data = "{}") {
  factum::event_data e;
  e.id = factum::uuid::v7();
  e.type = type;
  e.data = std::move(data);
  return e;
}

}  // namespace

TEST_CASE(
    "postgres: the server restarts while commands are in flight: every caller gets an "
    "answer and nothing is stored twice",
    "[postgres][faults]") {
  pg_cluster cluster{true};  // its own, durable: this test crashes and restarts it
  factum::runtime rt{factum::postgres_store{cluster.uri()}};
  for (int a = 0; a < 4; ++a)
    REQUIRE(rt.dispatch<bank::account>("acc-" + std::to_string(a), bank::open_account{"n"},
                                       boost::asio::use_future)
                .get()
                .version == 1);
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (long i = 0; !stop; ++i) {
        try {
          rt.dispatch<bank::account>("acc-" + std::to_string((t + i) % 4), bank::deposit{1},
                                     boost::asio::use_future)
              .get();
          ++ok;
        } catch (const std::exception& e) {
          if (failed == 0) std::fprintf(stderr, "first failure: %s\n", e.what());
          ++failed;
        }
      }
    });
  factum::postgres_read_model model{cluster.uri()};
  auto one = [&] {
    std::int64_t v = 0;
    auto r = model.query("SELECT 1", [&](const factum::sql_row& row) { v = row.int64(0); });
    return r && v == 1;
  };
  REQUIRE(one());  // a pooled reader, soon stale
  std::this_thread::sleep_for(300ms);
  const long before = ok.load();
  cluster.restart();  // an immediate stop: a crash, connections cut mid-statement
  std::this_thread::sleep_for(700ms);
  stop = true;
  for (auto& t : callers)
    t.join();
  CHECK(one());  // the stale reader is replaced, not reported
  CHECK(before > 0);
  CHECK(ok.load() > before);  // work went on after the restart
  CHECK(failed.load() == 0);  // within reconnect_for every call got through
  // Every acknowledged deposit is stored exactly once (a re-sent append is
  // answered by its event ids, not written again).
  long stored = 0;
  for (int a = 0; a < 4; ++a)
    stored +=
        static_cast<long>(rt.store().stream_version("account-acc-" + std::to_string(a)).value()) -
        1;
  CHECK(stored == ok.load());

  // An explicit retry of a stored append, by its event ids, writes nothing.
  auto first = rt.store().read_stream("account-acc-0", 2, 1).value().at(0);
  factum::event_data again;
  again.id = first.id;
  again.type = first.type;
  again.schema_version = first.schema_version;
  again.data = first.data;
  auto replay = rt.store().append("account-acc-0", factum::expected_version::exact(1), {again});
  REQUIRE(replay);
  CHECK(replay->already_appended);
  CHECK(replay->first_position == first.global_position);
}

TEST_CASE("postgres: a statement that waits past statement_timeout fails with storage_busy",
          "[postgres][faults]") {
  auto& cluster = pg_cluster::shared();
  const std::string schema = pg_cluster::fresh_schema();
  factum::postgres_store store{
      cluster.uri(), {.schema = schema, .statement_timeout = std::chrono::milliseconds(300)}};
  REQUIRE(store.append("s-1", factum::expected_version::any(), {event("E")}));
  // Another session holds the log head (an append that never finishes).
  PGconn* raw = PQconnectdb(cluster.uri().c_str());
  REQUIRE(PQstatus(raw) == CONNECTION_OK);
  PQclear(PQexec(raw, "BEGIN"));
  PQclear(PQexec(raw, ("SELECT * FROM \"" + schema + "\".head FOR UPDATE").c_str()));
  const auto start = std::chrono::steady_clock::now();
  auto r = store.append("s-1", factum::expected_version::any(), {event("E")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == factum::errc::storage_busy);
  CHECK_THAT(r.error().message(), Catch::Contains("statement timeout"));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  PQclear(PQexec(raw, "ROLLBACK"));
  PQfinish(raw);
  CHECK(store.append("s-1", factum::expected_version::exact(1), {event("E")}));
}

TEST_CASE("postgres: a server that is not there is a storage_io error after reconnect_for",
          "[postgres][faults]") {
  const auto start = std::chrono::steady_clock::now();
  auto store = factum::postgres_store::open("postgresql:///none?host=/nonexistent-factum-dir",
                                            {.reconnect_for = std::chrono::milliseconds(300)});
  REQUIRE_FALSE(store);
  CHECK(store.error().code() == factum::errc::storage_io);
  CHECK_THAT(store.error().message(), Catch::Contains("connecting to PostgreSQL"));
  CHECK(std::chrono::steady_clock::now() - start < 10s);
}

// A missing database, a role that may not log in, a connection string libpq
// cannot read: waiting cannot help any of them.
TEST_CASE("postgres: a refusal that cannot heal: open fails at once", "[postgres][faults]") {
  auto& cluster = pg_cluster::shared();
  cluster.psql("CREATE ROLE factum_no_login NOLOGIN");
  const std::string missing = cluster.uri("factum_no_such_db");
  std::string no_login = cluster.uri();
  no_login.replace(no_login.find("user=postgres"), 13, "user=factum_no_login");
  const std::string unreadable = cluster.uri() + "&no_such_option=1";
  // Each is tried with the default reconnect_for (15 s), and none may wait it out.
  const auto timed = [](auto&& open) {
    const auto start = std::chrono::steady_clock::now();
    auto r = open();
    REQUIRE_FALSE(r);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    return std::move(r).error();
  };
  auto e = timed([&] { return factum::postgres_store::open(missing); });
  CHECK(e.code() == factum::errc::storage_io);
  CHECK_THAT(e.message(), Catch::Contains("factum_no_such_db") && Catch::Contains("3D000"));
  e = timed([&] { return factum::postgres_read_model::open(missing); });
  CHECK(e.code() == factum::errc::storage_io);
  CHECK_THAT(e.message(), Catch::Contains("factum_no_such_db"));
  e = timed([&] { return factum::postgres_store::open(no_login); });
  CHECK(e.code() == factum::errc::storage_io);
  CHECK_THAT(e.message(), Catch::Contains("factum_no_login") && Catch::Contains("28000"));
  e = timed([&] { return factum::postgres_read_model::open(no_login); });
  CHECK(e.code() == factum::errc::storage_io);
  e = timed([&] { return factum::postgres_store::open(unreadable); });
  CHECK(e.code() == factum::errc::invalid_argument);
  CHECK_THAT(e.message(), Catch::Contains("no_such_option"));
  e = timed([&] { return factum::postgres_read_model::open(unreadable); });
  CHECK(e.code() == factum::errc::invalid_argument);
  // A server that is there accepts the same URI once the database exists.
  cluster.psql("CREATE DATABASE factum_no_such_db");
  CHECK(factum::postgres_store::open(missing));
  CHECK(factum::postgres_read_model::open(missing));
}

TEST_CASE("postgres: a schema that is not factum's is refused, and so is a newer one",
          "[postgres][faults]") {
  auto& cluster = pg_cluster::shared();
  const std::string db = pg_cluster::fresh_database();
  cluster.psql("CREATE SCHEMA shop; CREATE TABLE shop.orders(id int);", db);
  auto other = factum::postgres_store::open(cluster.uri(db), {.schema = "shop"});
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == factum::errc::schema_mismatch);
  CHECK_THAT(other.error().message(), Catch::Contains("not a factum store"));

  REQUIRE(factum::postgres_store::open(cluster.uri(db)));
  cluster.psql("UPDATE factum.meta SET value = '99' WHERE key = 'schema_version'", db);
  auto newer = factum::postgres_store::open(cluster.uri(db));
  REQUIRE_FALSE(newer);
  CHECK(newer.error().code() == factum::errc::schema_mismatch);
  CHECK_THAT(newer.error().message(), Catch::Contains("schema 99"));
}

TEST_CASE("postgres: a schema of version 1 is migrated on open and keeps its events",
          "[postgres][faults]") {
  auto& cluster = pg_cluster::shared();
  const std::string db = pg_cluster::fresh_database();
  cluster.psql("\\i " FACTUM_TEST_FIXTURES "/postgres-v1.sql", db);
  auto refused = factum::postgres_store::open(cluster.uri(db), {.migrate = false});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == factum::errc::schema_mismatch);

  factum::postgres_store store{cluster.uri(db)};
  auto events = store.read_all().value();
  REQUIRE(events.size() == 2);
  CHECK(events[1].data == R"({"amount":40})");
  CHECK(events[1].metadata.user.at("by") == "v1");
  CHECK(store.load_checkpoint("account-summary").value() == factum::position::at(2));
  auto next = store.append("account-acc-1", factum::expected_version::exact(2),
                           {event("MoneyDeposited", R"({"amount":2})")});
  REQUIRE(next);
  CHECK(next->first_position == 3);
  // What migration 2 brought works: dead letters, reads by type.
  CHECK(store.add_dead_letter({0, "sub", events[0], "boom", 1, {}}));
  CHECK(store.read_all({}, 10, {"MoneyDeposited"}).value().size() == 2);
  // Opening again finds it current and changes nothing.
  factum::postgres_store again{cluster.uri(db)};
  CHECK(again.head().value().global() == 3);
}

TEST_CASE("postgres: stored data that is not JSON fails the read with malformed_event",
          "[postgres][faults]") {
  auto& cluster = pg_cluster::shared();
  const std::string db = pg_cluster::fresh_database();
  factum::postgres_store store{cluster.uri(db)};
  REQUIRE(store.append("s-1", factum::expected_version::any(), {event("E"), event("E")}));
  cluster.psql("UPDATE factum.events SET data = '{\"cut' WHERE position = 2", db);
  auto r = store.read_stream("s-1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == factum::errc::malformed_event);
  CHECK(r.error().position == 2);
}

TEST_CASE("postgres: a command record of the old format, without digest, is still honoured",
          "[postgres][store]") {
  auto& cluster = pg_cluster::shared();
  const std::string db = pg_cluster::fresh_database();
  factum::postgres_store store{cluster.uri(db)};
  REQUIRE(store.append("a-1", factum::expected_version::no_stream(), {event("E")}));
  // As the functions of version 2 recorded it: the streams that got events, no digest.
  const factum::command_id cmd = factum::uuid::v7();
  cluster.psql("INSERT INTO factum.commands(command_id, result, recorded_at) VALUES ('" +
                   cmd.to_string() + R"(', '{"streams":[["a-1",1,1]],"first":1,"last":1}', 0))",
               db);
  auto recorded = store.load_command(cmd).value();
  REQUIRE(recorded);
  CHECK(recorded->legacy);
  const std::vector<factum::stream_write> retry{
      {"a-1", factum::expected_version::exact(1), {event("E")}},
      {"b-1", factum::expected_version::no_stream(), {}}};
  auto again = store.append(retry, {cmd, 42});
  REQUIRE(again);
  CHECK(again->already_appended);
  CHECK(again->streams == recorded->result.streams);
  auto other = store.append("a-2", factum::expected_version::any(), {event("E")}, {cmd});
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == factum::errc::command_id_conflict);
  CHECK(store.head().value().global() == 1);
}
