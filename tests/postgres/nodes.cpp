// Several nodes on one PostgreSQL database: separate processes
// (factum_pg_node) beside this one, on a throwaway cluster.
#include <atomic>
#include <chrono>
#include <future>
#include <libpq-fe.h>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>
#include <factum/subscribe.hpp>

#include "../../examples/bank/bank_read_side.hpp"
#include "../support/pg_cluster.hpp"
#include "../support/process.hpp"

using namespace std::chrono_literals;
using factum_test::child_process;
using factum_test::pg_cluster;

namespace {

std::string with_name(const std::string& uri, const std::string& app) {
  return uri + "&application_name=" + app;
}

/// One query's first value, through libpq.
std::string scalar(const std::string& uri, const std::string& sql) {
  PGconn* c = PQconnectdb(uri.c_str());
  std::string out;
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(20ms);
  return pred();
}

void open_accounts(factum::runtime& rt) {
  for (int a = 0; a < 4; ++a)
    REQUIRE(rt.dispatch<bank::account>("acc-" + std::to_string(a), bank::open_account{"n"},
                                       boost::asio::use_future)
                .get()
                .version == 1);
}

std::int64_t stored_balance(factum::event_store& store, const std::string& id) {
  std::int64_t b = 0;
  for (const auto& e : store.read_stream("account-" + id).value()) {
    if (e.type == "MoneyDeposited")
      b += nlohmann::json::parse(e.data).at("amount").get<std::int64_t>();
    if (e.type == "MoneyWithdrawn")
      b -= nlohmann::json::parse(e.data).at("amount").get<std::int64_t>();
  }
  return b;
}

struct counter {
  static constexpr std::string_view name = "deposits-seen";
  using interested_in = factum::events<bank::money_deposited>;
  std::shared_ptr<std::atomic<int>> seen;
  factum::result<void> handle(const bank::money_deposited&) {
    ++*seen;
    return {};
  }
};

}  // namespace

TEST_CASE("postgres: two node processes deposit to the same accounts and no update is lost",
          "[postgres][nodes]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  factum::runtime rt{factum::postgres_store{uri}};
  open_accounts(rt);
  constexpr long per_node = 2000;
  child_process a({FACTUM_TEST_PG_NODE, "deposit", uri, std::to_string(per_node)});
  child_process b({FACTUM_TEST_PG_NODE, "deposit", uri, std::to_string(per_node)});
  REQUIRE(a.started());
  REQUIRE(b.started());
  std::vector<std::string> out_a, out_b;
  a.read_to_end(out_a);
  b.read_to_end(out_b);
  CHECK(a.wait() == 0);
  CHECK(b.wait() == 0);
  REQUIRE(out_a == std::vector<std::string>{"done 2000 failed 0"});
  REQUIRE(out_b == std::vector<std::string>{"done 2000 failed 0"});
  // Every deposit of both nodes is in its account's stream, once: the
  // nodes raced on the same four streams and retried their conflicts.
  auto& store = rt.store();
  std::int64_t total = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "acc-" + std::to_string(i);
    CHECK(store.stream_version("account-" + id).value() == 1 + 2 * per_node / 4);
    total += stored_balance(store, id);
  }
  CHECK(total == 2 * per_node);
  CHECK(store.head().value().global() == 4 + 2 * per_node);
}

TEST_CASE(
    "postgres: a subscriber is woken by another node's append (LISTEN/NOTIFY), not by polling",
    "[postgres][nodes]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  factum::runtime rt{factum::postgres_store{uri}};
  factum::subscriptions_options slow;
  slow.poll_interval = 60s;  // a poll would come far too late for this test
  slow.fallback_poll_interval = 60s;
  slow.log = {};
  factum::subscriptions subs{rt, slow};
  auto seen = std::make_shared<std::atomic<int>>(0);
  auto sub = subs.add(counter{seen});
  open_accounts(rt);
  const auto start = std::chrono::steady_clock::now();
  child_process other({FACTUM_TEST_PG_NODE, "deposit", uri, "10"});
  std::vector<std::string> lines;
  other.read_to_end(lines);
  REQUIRE(other.wait() == 0);
  REQUIRE(eventually([&] { return seen->load() == 10; }, 20s));
  CHECK(std::chrono::steady_clock::now() - start < 20s);
}

TEST_CASE(
    "postgres: a single-owner projection runs on one node, and when it is killed another "
    "takes over and applies every event exactly once",
    "[postgres][nodes]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  factum::runtime rt{factum::postgres_store{uri}};
  open_accounts(rt);
  child_process a({FACTUM_TEST_PG_NODE, "project", with_name(uri, "node_a")});
  child_process b({FACTUM_TEST_PG_NODE, "project", with_name(uri, "node_b")});
  // The holder of this subscriber's claim: a bigint advisory key shows in
  // pg_locks as classid (high 32 bits) and objid (low 32 bits).
  const std::string owner_sql =
      "WITH k AS (SELECT hashtextextended('factum/factum.subscriber/account-summary', 0) AS key)"
      " SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid, k"
      " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
      " AND l.classid::bigint = ((k.key >> 32) & 4294967295)"
      " AND l.objid::bigint = (k.key & 4294967295)";
  std::string owner;
  const bool claimed = eventually([&] { return !(owner = scalar(uri, owner_sql)).empty(); }, 30s);
  INFO("sessions: " << scalar(uri,
                              "SELECT string_agg(coalesce(application_name, '?') || '/' || "
                              "coalesce(state, '?') || '/' || coalesce(left(query, 60), ''), ' | ')"
                              " FROM pg_stat_activity WHERE datname = current_database()"));
  INFO("advisory locks: " << scalar(uri,
                                    "SELECT string_agg(pid || ':' || granted, ',') FROM pg_locks"
                                    " WHERE locktype = 'advisory'"));
  REQUIRE(claimed);
  // Exactly one lock holder, while both run.
  std::this_thread::sleep_for(500ms);
  CHECK(scalar(uri, "SELECT count(*) FROM (" + owner_sql + ") o") == "1");

  // Deposits flow while the owner is killed mid-stream.
  std::atomic<bool> stop{false};
  std::atomic<long> deposited{0};
  std::thread writer([&] {
    for (long i = 0; !stop; ++i) {
      rt.dispatch<bank::account>("acc-" + std::to_string(i % 4), bank::deposit{1},
                                 boost::asio::use_future)
          .get();
      ++deposited;
    }
  });
  struct joiner {  // a failed REQUIRE must not leave the thread running
    std::atomic<bool>& stop;
    std::thread& t;
    ~joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join_writer{stop, writer};
  std::this_thread::sleep_for(1s);
  (owner == "node_a" ? a : b).kill_hard();
  (owner == "node_a" ? a : b).wait();
  const auto killed = std::chrono::steady_clock::now();
  const std::string survivor = owner == "node_a" ? "node_b" : "node_a";
  REQUIRE(eventually([&] { return scalar(uri, owner_sql) == survivor; }, 10s));
  const auto takeover = std::chrono::steady_clock::now() - killed;
  CHECK(takeover < 5s);
  std::this_thread::sleep_for(1s);
  stop = true;
  writer.join();

  // The survivor catches up to the head; its rows match the log exactly.
  const auto head = rt.store().head().value();
  factum::postgres_read_model model{uri};
  REQUIRE(eventually(
      [&] {
        auto cp = model.load_checkpoint(bank::account_summary::name).value();
        return cp && cp->global() == head.global();
      },
      20s));
  std::int64_t projected = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "acc-" + std::to_string(i);
    std::int64_t balance = -1;
    REQUIRE(model.query(
        "SELECT balance FROM accounts WHERE id = ?1",
        [&](const factum::sql_row& r) { balance = r.int64(0); }, id));
    CHECK(balance == stored_balance(rt.store(), id));
    projected += balance;
  }
  CHECK(projected == deposited.load());
  CHECK(deposited.load() > 0);
}

#ifdef FACTUM_TEST_BANK
TEST_CASE("postgres: the bank example runs on a PostgreSQL URI, from several processes",
          "[postgres][nodes][example]") {
  const std::string uri = pg_cluster::fresh_database_uri();
  auto bank = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTUM_TEST_BANK, "--db", uri});
    child_process p(args);
    std::vector<std::string> lines;
    p.read_to_end(lines);
    const int status = p.wait();
    std::string out;
    for (const auto& l : lines)
      out += l + "\n";
    INFO(out);
    return std::make_pair(status, out);
  };
  REQUIRE(bank({"open", "acc-1", "Ann"}).first == 0);
  REQUIRE(bank({"open", "acc-2", "Bob"}).first == 0);
  // Two processes at once on the same account, through the same database.
  child_process one({FACTUM_TEST_BANK, "--db", uri, "deposit", "acc-1", "100"});
  child_process two({FACTUM_TEST_BANK, "--db", uri, "deposit", "acc-1", "50"});
  CHECK(one.wait() == 0);
  CHECK(two.wait() == 0);
  REQUIRE(bank({"transfer", "acc-1", "acc-2", "25"}).first == 0);
  CHECK(bank({"withdraw", "acc-1", "500"}).first == 1);  // refused: not enough money
  CHECK_THAT(bank({"balance", "acc-1"}).second, Catch::Contains("125"));
  const auto accounts = bank({"accounts"});
  CHECK(accounts.first == 0);
  CHECK_THAT(accounts.second, Catch::Contains("acc-1  Ann  125\nacc-2  Bob  25\n"));
}
#endif
