// The PostgreSQL read model through its public API, and a projection on a
// PostgreSQL store writing to it.
#include <thread>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>
#include <factum/subscribe.hpp>

#include "../../examples/bank/bank_read_side.hpp"
#include "../support/pg_cluster.hpp"
#include "../support/sql_read_model_checks.hpp"

using namespace std::chrono_literals;
using factum_test::pg_cluster;

TEST_CASE("postgres read model: does what every factum::sql_read_model does",
          "[postgres][read_model]") {
  factum::postgres_read_model model{pg_cluster::fresh_database_uri()};
  factum_test::check_sql_read_model(model);
}

TEST_CASE("postgres read model: rows and checkpoint commit together, or not at all",
          "[postgres][read_model]") {
  factum::postgres_read_model model{pg_cluster::fresh_database_uri()};
  REQUIRE(model.write([](factum::sql& db) {
    return db.exec("CREATE TABLE t(id text PRIMARY KEY, n bigint, x double precision, ok boolean)");
  }));
  REQUIRE(model.commit("p", factum::position::at(1), [](factum::sql& db) {
    return db.exec("INSERT INTO t VALUES (?1, ?2, ?3, ?4)", "a '?1' b", 7, 2.5, true);
  }));
  std::string id;
  std::int64_t n = 0, ok = 0;
  double x = 0;
  bool null_seen = false;
  REQUIRE(model.query(
      "SELECT id, n, x, ok, NULL FROM t WHERE n = ?1",
      [&](const factum::sql_row& r) {
        id = r.text(0);
        n = r.int64(1);
        x = r.real(2);
        ok = r.int64(3);
        null_seen = r.is_null(4);
      },
      7));
  CHECK(id == "a '?1' b");  // a value, not SQL: `?1` inside it stays
  CHECK(n == 7);
  CHECK(x == 2.5);
  CHECK(ok == 1);
  CHECK(null_seen);
  CHECK(model.load_checkpoint("p").value() == factum::position::at(1));

  // A failing fn rolls back its rows and the checkpoint.
  auto failed =
      model.commit("p", factum::position::at(2), [](factum::sql& db) -> factum::result<void> {
        if (auto r = db.exec("INSERT INTO t(id, n) VALUES ('b', 1)"); !r) return r;
        return factum::error{factum::errc::invalid_argument, "no"};
      });
  CHECK_FALSE(failed);
  CHECK(model.load_checkpoint("p").value() == factum::position::at(1));
  std::int64_t rows = 0;
  REQUIRE(
      model.query("SELECT count(*) FROM t", [&](const factum::sql_row& r) { rows = r.int64(0); }));
  CHECK(rows == 1);

  // Mistakes are clear errors.
  auto bad = model.commit("p", factum::position::at(2), [](factum::sql& db) {
    return db.exec("INSERT INTO nowhere VALUES (1)");
  });
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == factum::errc::invalid_argument);
  CHECK_THAT(bad.error().message(), Catch::Contains("nowhere"));
  auto txn = model.write([](factum::sql& db) { return db.exec("COMMIT"); });
  REQUIRE_FALSE(txn);
  CHECK(txn.error().code() == factum::errc::invalid_argument);
  auto writes = model.query("DELETE FROM t", [](const factum::sql_row&) {});
  REQUIRE_FALSE(writes);
  CHECK(writes.error().code() == factum::errc::invalid_argument);
}

TEST_CASE("postgres read model: a conditional commit applies a batch once across writers",
          "[postgres][read_model]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  factum::postgres_read_model one{uri}, two{uri};
  REQUIRE(one.write([](factum::sql& db) { return db.exec("CREATE TABLE c(n bigint)"); }));
  REQUIRE(one.write([](factum::sql& db) { return db.exec("INSERT INTO c VALUES (0)"); }));
  auto add = [](factum::sql& db) { return db.exec("UPDATE c SET n = n + 1"); };
  // Both start from "no checkpoint"; only the first commit of the batch counts.
  REQUIRE(one.commit("p", std::nullopt, factum::position::at(5), add));
  auto lost = two.commit("p", std::nullopt, factum::position::at(5), add);
  REQUIRE_FALSE(lost);
  CHECK(lost.error().code() == factum::errc::concurrency_conflict);
  REQUIRE(two.commit("p", factum::position::at(5), factum::position::at(9), add));
  std::int64_t n = 0;
  REQUIRE(one.query("SELECT n FROM c", [&](const factum::sql_row& r) { n = r.int64(0); }));
  CHECK(n == 2);

  // Many threads racing the same batch from the same checkpoint: one wins.
  std::atomic<int> wins{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 4; ++i)
    racers.emplace_back([&] {
      factum::postgres_read_model mine{uri};
      if (mine.commit("p", factum::position::at(9), factum::position::at(12), add)) ++wins;
    });
  for (auto& t : racers)
    t.join();
  CHECK(wins == 1);
  REQUIRE(one.query("SELECT n FROM c", [&](const factum::sql_row& r) { n = r.int64(0); }));
  CHECK(n == 3);
}

TEST_CASE("postgres: the bank projection runs on a PostgreSQL store and read model, and rebuilds",
          "[postgres][read_model]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  factum::runtime rt{factum::postgres_store{uri}};
  auto accounts = std::make_shared<factum::postgres_read_model>(uri);
  REQUIRE(bank::account_summary::create(*accounts));
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  auto projection = subs.add(bank::account_summary{}, accounts, {.strong = true});
  using boost::asio::use_future;
  rt.dispatch<bank::account>("acc-1", bank::open_account{"ann"}, use_future).get();
  rt.dispatch<bank::account>("acc-1", bank::deposit{50}, use_future).get();
  auto last = rt.dispatch<bank::account>("acc-1", bank::withdraw{8}, use_future).get();
  REQUIRE(projection.wait_until(last.events.back().pos));
  auto balance = [&] {
    std::int64_t b = -1;
    REQUIRE(accounts->query(
        "SELECT balance FROM accounts WHERE id = ?1",
        [&](const factum::sql_row& r) { b = r.int64(0); }, "acc-1"));
    return b;
  };
  CHECK(balance() == 42);
  REQUIRE(projection.rebuild());
  REQUIRE(projection.wait_until(last.events.back().pos));
  CHECK(balance() == 42);
}

TEST_CASE("postgres read model: a read-only server: opens, reads, then writes again",
          "[postgres][read_model][faults]") {
  pg_cluster cluster;  // its own: the whole server goes read-only
  const std::string uri = cluster.uri();
  {
    factum::postgres_read_model setup{uri};
    REQUIRE(setup.write([](factum::sql& db) { return db.exec("CREATE TABLE t(n bigint)"); }));
    REQUIRE(setup.commit("p", factum::position::at(1),
                         [](factum::sql& db) { return db.exec("INSERT INTO t VALUES (1)"); }));
  }
  REQUIRE(factum::postgres_store::open(uri));  // the store's schema exists too
  const auto read_only = [&](bool on) {
    // The SET lets the session switch it back off; the reload reaches every
    // session (open ones included) at its next statement.
    cluster.psql(
        std::string("SET default_transaction_read_only = off; ALTER SYSTEM ") +
        (on ? "SET default_transaction_read_only = on" : "RESET default_transaction_read_only") +
        "; SELECT pg_reload_conf();");
    std::this_thread::sleep_for(300ms);
  };
  read_only(true);
  auto model = factum::postgres_read_model::open(uri);
  REQUIRE(model);
  std::int64_t rows = 0;
  const auto count = [&] {
    REQUIRE(model->query("SELECT count(*) FROM t",
                         [&](const factum::sql_row& r) { rows = r.int64(0); }));
    return rows;
  };
  CHECK(count() == 1);
  CHECK(model->load_checkpoint("p").value() == factum::position::at(1));
  const auto add = [](factum::sql& db) { return db.exec("INSERT INTO t VALUES (2)"); };
  auto refused = model->commit("p", factum::position::at(2), add);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == factum::errc::storage_read_only);
  refused = model->commit("p", factum::position::at(1), factum::position::at(2), add);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == factum::errc::storage_read_only);
  refused = model->write(add);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == factum::errc::storage_read_only);
  // The store opens and reads as well; appends are refused the same way.
  auto store = factum::postgres_store::open(uri);
  REQUIRE(store);
  CHECK(store->head().value().global() == 0);
  factum::event_data e;
  e.id = factum::uuid::v7();
  e.type = "E";
  e.data = "{}";
  auto appended = store->append("s-1", factum::expected_version::any(), {e});
  REQUIRE_FALSE(appended);
  CHECK(appended.error().code() == factum::errc::storage_read_only);

  read_only(false);
  // A session reads the new setting before its next statement, so the first
  // transaction on a connection opened in the spell may still be read-only.
  const auto again = [](auto&& call) {
    auto r = call();
    for (int i = 0; i < 3 && !r && r.error().code() == factum::errc::storage_read_only; ++i)
      r = call();
    return r;
  };
  REQUIRE(again(
      [&] { return model->commit("p", factum::position::at(1), factum::position::at(2), add); }));
  CHECK(count() == 2);
  CHECK(model->load_checkpoint("p").value() == factum::position::at(2));
  CHECK(again([&] { return store->append("s-1", factum::expected_version::any(), {e}); }));
}
