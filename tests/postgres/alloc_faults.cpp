// Exception safety of the PostgreSQL backend: every allocation of an append,
// and of a read model's commit, fails in turn (this executable replaces the
// global operator new). Each time nothing is written by halves, a retry
// with the same ids finds all or nothing stored, and no connection is left
// inside a transaction.
#include <chrono>
#include <cstdlib>
#include <libpq-fe.h>
#include <map>
#include <new>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>

#include "../support/events.hpp"
#include "../support/failing_new.hpp"
#include "../support/pg_cluster.hpp"

using factum_test::failing_new::countdown;
using factum_test::failing_new::fired;

using namespace factum;
using factum_test::pg_cluster;

namespace {

/// Calls `call` with the `fault`-th allocation failing (-1: none). An
/// exception that escapes is reported as `thrown`: the store interface of
/// 1fe02e8 builds some messages before its guard, so it may throw before
/// the backend is called; what is checked here is what the backend leaves.
template <class Call>
auto armed(long fault, bool& thrown, Call&& call) -> decltype(call()) {
  struct disarm {
    ~disarm() { countdown = -1; }
  } guard;
  thrown = false;
  countdown = fault;
  try {
    return call();
  } catch (const std::bad_alloc&) {
    countdown = -1;
    thrown = true;
    return {};
  }
}

/// Sessions of this database left inside a transaction.
long open_transactions(const std::string& uri) {
  PGconn* c = PQconnectdb(uri.c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  PGresult* r = PQexec(c,
                       "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                       " AND datname = current_database()"  // not other tests' databases
                       " AND state LIKE 'idle in transaction%'");
  const long n = std::atol(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return n;
}

/// Whether no session of this database stays inside a transaction. A
/// writer closed on an exception leaves its server session to the server,
/// which rolls back once it sees the socket close: give it a moment.
bool no_open_transactions(const std::string& uri) {
  for (int i = 0; i < 500; ++i) {
    if (open_transactions(uri) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return false;
}

event_data tagged(std::int64_t amount) {
  auto e = factum_test::deposit(amount);
  e.metadata.user = {{"user", "ann"}, {"tenant", "t1"}};
  return e;
}

/// The log is gapless and every stream's versions are dense.
void check_log(event_store& s) {
  const auto all = s.read_all().value();
  std::map<std::string, std::uint64_t> versions;
  for (std::size_t i = 0; i < all.size(); ++i) {
    REQUIRE(all[i].global_position == i + 1);
    REQUIRE(all[i].version == ++versions[all[i].stream.str()]);
  }
}

}  // namespace

// Command records are read without a DOM (store_records.hpp): nlohmann's DOM
// allocates in its destructor, and a failed allocation there ended the
// process (std::terminate, at allocation 113 of this sweep).
TEST_CASE("alloc faults: postgres: every allocation of an append may fail",
          "[postgres][faults][alloc]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  postgres_store s{uri, {.listen = false}};
  int points = 0, thrown = 0;
  for (long fault = 0;; ++fault) {
    INFO("allocation " << fault);
    const std::string r = std::to_string(fault);
    // A batch: a command with two streams, a plain append, one that expects
    // what the first wrote.
    const std::vector<append_request> batch{
        {{{"a-" + r, expected_version::no_stream(), {tagged(1)}},
          {"b-" + r, expected_version::any(), {tagged(2), tagged(3)}}},
         {uuid::v7(), 7}},
        {{{"c-" + r, expected_version::no_stream(), {tagged(4)}}}, {}},
        {{{"a-" + r, expected_version::exact(1), {tagged(5)}}}, {}}};
    fired = false;
    bool threw = false;
    const auto answers = armed(fault, threw, [&] { return s.append_batch(batch); });
    const bool hit = fired;
    thrown += threw;
    ++points;
    REQUIRE((threw || answers.size() == batch.size()));
    // Sent again with the same ids: each request was stored whole or not at all.
    const auto again = s.append_batch(batch);
    REQUIRE(again.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!again[i]) {  // a-'s exact(1) after its first write was replayed
        CHECK(again[i].error().code() == errc::concurrency_conflict);
        continue;
      }
      if (!threw && answers[i]) CHECK(again[i]->already_appended);
    }
    check_log(s);
    CHECK(no_open_transactions(uri));
    if (!hit) break;
  }
  CHECK(points > 50);
  CHECK(no_open_transactions(uri));
  // The head lock is free: another store appends at once.
  postgres_store other{uri, {.statement_timeout = std::chrono::milliseconds{500}}};
  CHECK(other.append("after-1", expected_version::no_stream(), {factum_test::deposit(1)}));
  WARN("fault points: " << points << ", thrown before the backend: " << thrown);
}

TEST_CASE("alloc faults: postgres read model: every allocation of a commit may fail",
          "[postgres][faults][alloc][read_model]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  postgres_read_model model{uri};
  REQUIRE(model.write([](sql& db) { return db.exec("CREATE TABLE t(n bigint)"); }));
  std::uint64_t at = 0;  // the stored checkpoint, and the number of rows
  const auto rows = [&] {
    std::int64_t n = -1;
    REQUIRE(model.query("SELECT count(*) FROM t", [&](const sql_row& r) { n = r.int64(0); }));
    return static_cast<std::uint64_t>(n);
  };
  int points = 0, thrown = 0;
  for (long fault = 0;; ++fault) {
    INFO("allocation " << fault);
    const std::optional<position> expected = at ? std::optional{position::at(at)} : std::nullopt;
    const auto next = position::at(at + 1);
    const std::function<result<void>(sql&)> add = [&](sql& db) {
      return db.exec("INSERT INTO t VALUES (?1)", static_cast<std::int64_t>(at + 1));
    };
    fired = false;
    bool threw = false;  // the read model may throw; it must not leave a transaction open
    const auto r = armed(fault, threw, [&] { return model.commit("p", expected, next, add); });
    const bool hit = fired;
    ++points;
    thrown += threw;
    // The writer is in no transaction, whatever was thrown.
    CHECK(no_open_transactions(uri));
    // All or nothing: the checkpoint and the rows moved together.
    const auto stored = model.load_checkpoint("p").value();
    if (stored && stored->global() == at + 1) ++at;
    if (!threw && r) CHECK(at == next.global());
    CHECK(rows() == at);
    if (!hit) break;
  }
  CHECK(points > 10);
  CHECK(thrown > 0);
  REQUIRE(model.commit("p", position::at(at), position::at(at + 1),
                       [](sql& db) { return db.exec("INSERT INTO t VALUES (0)"); }));
  WARN("fault points: " << points << ", thrown: " << thrown);
}
