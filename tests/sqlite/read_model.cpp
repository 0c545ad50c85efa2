// The SQLite read model: a projection's rows and its checkpoint commit
// together or not at all, beside the event store on one file or on its own.
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <stdexcept>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/events.hpp"
#include "../support/sql_read_model_checks.hpp"
#include "../support/temp_dir.hpp"

using namespace factum;
using namespace factum_test;

namespace {

constexpr std::string_view schema =
    "CREATE TABLE IF NOT EXISTS balances(id TEXT PRIMARY KEY, amount INTEGER NOT NULL)";

sqlite_read_model open_model(const std::filesystem::path& file,
                             const sqlite_read_model_options& options = {}) {
  auto model = sqlite_read_model::open(file, options);
  REQUIRE(model);
  REQUIRE(model->write([](sql& db) { return db.exec(schema); }));
  return std::move(*model);
}

/// The amount of a balance row; nullopt when there is none.
std::optional<std::int64_t> balance(const sql_read_model& model, std::string_view id) {
  std::optional<std::int64_t> out;
  REQUIRE(model.query(
      "SELECT amount FROM balances WHERE id = ?1", [&](const sql_row& r) { out = r.int64(0); },
      id));
  return out;
}

std::int64_t count_rows(const sql_read_model& model, std::string_view table) {
  std::int64_t n = -1;
  REQUIRE(model.query("SELECT count(*) FROM " + std::string(table),
                      [&](const sql_row& r) { n = r.int64(0); }));
  return n;
}

result<void> add(sql& db, std::string_view id, std::int64_t amount) {
  return db.exec(
      "INSERT INTO balances(id, amount) VALUES (?1, ?2)"
      " ON CONFLICT(id) DO UPDATE SET amount = amount + excluded.amount",
      id, amount);
}

/// Runs SQL on the file through a separate raw connection; false on error.
bool exec_sql(const std::filesystem::path& file, const std::string& statement) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc == SQLITE_OK;
}

}  // namespace

TEST_CASE("read model: commit stores the rows and the checkpoint together",
          "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  CHECK(model.file() == dir / "rm.db");
  CHECK_FALSE(model.load_checkpoint("balances").value().has_value());

  REQUIRE(model.commit("balances", position::at(3), [](sql& db) -> result<void> {
    if (auto r = add(db, "acc-1", 100); !r) return r;
    CHECK(db.changes() == 1);
    // This transaction's writes are visible to its own queries.
    std::int64_t seen = 0;
    if (auto r = db.query(
            "SELECT amount FROM balances WHERE id = ?1",
            [&](const sql_row& row) { seen = row.int64(0); }, "acc-1");
        !r)
      return r;
    CHECK(seen == 100);
    return add(db, "acc-1", 5);
  }));
  CHECK(balance(model, "acc-1") == 105);
  CHECK(model.load_checkpoint("balances").value() == position::at(3));

  // Checkpoints are per subscriber and move on with each commit.
  REQUIRE(model.commit("balances", position{7, 9}, [](sql& db) { return add(db, "acc-2", 1); }));
  REQUIRE(model.commit("other", position::at(1), [](sql&) { return result<void>{}; }));
  CHECK(model.load_checkpoint("balances").value() == position{7, 9});
  CHECK(model.load_checkpoint("other").value() == position::at(1));
  CHECK(count_rows(model, "balances") == 2);
}

TEST_CASE("read model: does what every factum::sql_read_model does", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = sqlite_read_model::open(dir / "rm.db");
  REQUIRE(model);
  check_sql_read_model(*model);
}

TEST_CASE("read model: a conditional commit applies only on the checkpoint it expects",
          "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  bool ran = false;
  auto add_one = [&](sql& db) {
    ran = true;
    return add(db, "acc-1", 1);
  };
  // No checkpoint yet: only "none stored" fits.
  auto wrong = model.commit("balances", position::at(1), position::at(2), add_one);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error() == errc::concurrency_conflict);
  CHECK_FALSE(ran);  // refused before the projection's writes
  REQUIRE(model.commit("balances", std::nullopt, position::at(2), add_one));
  // A second process that read the same checkpoint commits the same batch: refused.
  ran = false;
  auto again = model.commit("balances", std::nullopt, position::at(2), add_one);
  REQUIRE_FALSE(again);
  CHECK(again.error() == errc::concurrency_conflict);
  CHECK_FALSE(ran);
  REQUIRE(model.commit("balances", position::at(2), position::at(5), add_one));
  CHECK(balance(model, "acc-1") == 2);
  CHECK(model.load_checkpoint("balances").value() == position::at(5));
}

TEST_CASE("read model: values of every kind bind and read back", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = sqlite_read_model::open(dir / "values.db").value();
  REQUIRE(model.write([](sql& db) {
    // Several statements in one text run in turn; comments are fine.
    return db.exec(
        "CREATE TABLE v(i INTEGER, r REAL, t TEXT, n TEXT); -- a comment\n"
        "CREATE INDEX v_by_i ON v(i); /* another */");
  }));
  const std::optional<std::string> none;
  const std::optional<int> some = 4;
  REQUIRE(model.write([&](sql& db) -> result<void> {
    if (auto r = db.exec("INSERT INTO v VALUES (?1, ?2, ?3, ?4)", 1, 2.5, "one", none); !r)
      return r;
    if (auto r = db.exec("INSERT INTO v VALUES (?1, ?2, ?3, ?4)", std::uint64_t{1} << 40, 0.0f,
                         std::string("two"), nullptr);
        !r)
      return r;
    if (auto r = db.exec("INSERT INTO v VALUES (?1, ?2, ?3, ?4)", some, true,
                         std::string_view{"three"}, sql_value{std::string("x")});
        !r)
      return r;
    if (auto r = db.exec("UPDATE v SET r = r + 1"); !r) return r;
    CHECK(db.changes() == 3);
    if (auto r = db.exec("SELECT * FROM v"); !r) return r;  // rows dropped
    CHECK(db.changes() == 0);
    return {};
  }));
  std::vector<std::string> rows;
  REQUIRE(model.query("SELECT i, r, t, n FROM v ORDER BY i", [&](const sql_row& r) {
    REQUIRE(r.columns() == 4);
    rows.push_back(std::to_string(r.int64(0)) + "|" + std::to_string(r.real(1)) + "|" +
                   std::string(r.text(2)) + "|" + (r.is_null(3) ? "null" : std::string(r.text(3))));
    CHECK(r.is_null(9));  // out of range reads as NULL
    CHECK(r.int64(-1) == 0);
  }));
  CHECK(rows == std::vector<std::string>{"1|3.500000|one|null", "4|2.000000|three|x",
                                         "1099511627776|1.000000|two|null"});
  const std::array<sql_value, 1> values{sql_value{std::int64_t{4}}};
  std::string text;
  REQUIRE(model.query_values(
      "SELECT t FROM v WHERE i = ?1", [&](const sql_row& r) { text = r.text(0); }, values));
  CHECK(text == "three");
}

TEST_CASE("read model: a failing projection stores nothing", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  REQUIRE(model.commit("balances", position::at(1), [](sql& db) { return add(db, "acc-1", 10); }));

  SECTION("fn returns an error") {
    auto r = model.commit("balances", position::at(2), [](sql& db) -> result<void> {
      if (auto w = add(db, "acc-1", 1); !w) return w;
      if (auto w = add(db, "acc-2", 1); !w) return w;
      return error{errc::decode_failed, "the projection could not read the event"};
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::decode_failed);
  }
  SECTION("fn throws") {
    auto r = model.commit("balances", position::at(2), [](sql& db) -> result<void> {
      (void)add(db, "acc-1", 1);
      (void)add(db, "acc-2", 1);
      throw std::runtime_error("projection bug");
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::domain_exception);
    CHECK(r.error().context() == "projection bug");
  }
  SECTION("fn throws a factum::system_error: its error comes back") {
    auto r = model.commit("balances", position::at(2), [](sql& db) -> result<void> {
      (void)add(db, "acc-2", 1);
      db.exec("INSERT INTO nowhere VALUES (1)").value();
      return {};
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::invalid_argument);
  }
  SECTION("a statement fails and fn passes the error on") {
    auto r = model.commit("balances", position::at(2), [](sql& db) -> result<void> {
      if (auto w = add(db, "acc-2", 1); !w) return w;
      return db.exec("INSERT INTO balances(id, amount) VALUES ('acc-3', NULL)");  // NOT NULL
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::invalid_argument);
  }
  CHECK(balance(model, "acc-1") == 10);
  CHECK_FALSE(balance(model, "acc-2").has_value());
  CHECK(model.load_checkpoint("balances").value() == position::at(1));
  // The model is usable after the failure.
  REQUIRE(model.commit("balances", position::at(2), [](sql& db) { return add(db, "acc-2", 2); }));
  CHECK(balance(model, "acc-2") == 2);
  CHECK(model.load_checkpoint("balances").value() == position::at(2));
}

TEST_CASE("read model: rows and checkpoint survive a restart", "[sqlite][read_model]") {
  temp_dir dir;
  const auto file = dir / "rm.db";
  {
    auto model = open_model(file, {.synchronous_full = true});
    for (std::uint64_t p = 1; p <= 5; ++p)
      REQUIRE(model.commit("balances", position::at(p), [&](sql& db) {
        return add(db, "acc-" + std::to_string(p % 2), static_cast<std::int64_t>(p));
      }));
  }
  sqlite_read_model model{file};  // the throwing constructor
  CHECK(model.load_checkpoint("balances").value() == position::at(5));
  CHECK(balance(model, "acc-1") == 1 + 3 + 5);
  CHECK(balance(model, "acc-0") == 2 + 4);
  // Moved, it keeps working; the moved-from object fails cleanly.
  sqlite_read_model moved{std::move(model)};
  CHECK(moved.load_checkpoint("balances").value() == position::at(5));
  CHECK(model.load_checkpoint("balances").error().code() == errc::invalid_argument);  // NOLINT
}

TEST_CASE("read model: reset deletes rows and checkpoint atomically", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  REQUIRE(model.commit("balances", position::at(4), [](sql& db) { return add(db, "acc-1", 4); }));
  REQUIRE(model.commit("other", position::at(2), [](sql&) { return result<void>{}; }));

  auto failed = model.reset("balances", [](sql& db) -> result<void> {
    if (auto r = db.exec("DELETE FROM balances"); !r) return r;
    return error{errc::storage_io, "simulated"};
  });
  REQUIRE_FALSE(failed);
  CHECK(balance(model, "acc-1") == 4);
  CHECK(model.load_checkpoint("balances").value() == position::at(4));

  REQUIRE(model.reset("balances", [](sql& db) -> result<void> {
    if (auto r = db.exec("DELETE FROM balances"); !r) return r;
    CHECK(db.changes() == 1);
    return {};
  }));
  CHECK(count_rows(model, "balances") == 0);
  CHECK_FALSE(model.load_checkpoint("balances").value().has_value());
  CHECK(model.load_checkpoint("other").value() == position::at(2));  // others untouched
}

TEST_CASE("read model: bad statements and misuse are invalid_argument", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  auto in_txn = [&](const std::function<result<void>(sql&)>& fn) {
    auto r = model.commit("balances", position::at(1), fn);
    REQUIRE_FALSE(r);
    CHECK_FALSE(model.load_checkpoint("balances").value().has_value());
    return r.error();
  };
  const auto noop = [](const sql_row&) {};

  SECTION("a syntax error names SQLite's message and the statement") {
    const error e = in_txn([](sql& db) { return db.exec("INSRT INTO balances VALUES (1, 2)"); });
    CHECK(e.code() == errc::invalid_argument);
    CHECK(e.context().find("INSRT INTO balances") != std::string::npos);
    CHECK(e.context().find("syntax error") != std::string::npos);
    CHECK(model.query("SELEC 1", noop).error().code() == errc::invalid_argument);
  }
  SECTION("an unknown table") {
    CHECK(in_txn([](sql& db) { return db.exec("DELETE FROM nowhere"); }).code() ==
          errc::invalid_argument);
  }
  SECTION("too few or too many values") {
    CHECK(in_txn([](sql& db) { return db.exec("DELETE FROM balances", 1); }).code() ==
          errc::invalid_argument);
    CHECK(in_txn([](sql& db) {
            return db.exec("INSERT INTO balances(id, amount) VALUES (?1, ?2)", "acc-1");
          }).code() == errc::invalid_argument);
    CHECK(model.query("SELECT ?1, ?2", noop, 1).error().code() == errc::invalid_argument);
    CHECK(count_rows(model, "balances") == 0);
  }
  SECTION("an empty statement") {
    CHECK(in_txn([](sql& db) { return db.exec("  ; "); }).code() == errc::invalid_argument);
    CHECK(model.query("-- nothing", noop).error().code() == errc::invalid_argument);
  }
  SECTION("transaction control belongs to the read model") {
    CHECK(in_txn([](sql& db) { return db.exec("COMMIT"); }).code() == errc::invalid_argument);
    CHECK(in_txn([](sql& db) { return db.exec("ROLLBACK"); }).code() == errc::invalid_argument);
    CHECK(model.query("BEGIN", noop).error().code() == errc::invalid_argument);
  }
  SECTION("nor the connection's modes") {
    CHECK(in_txn([](sql& db) { return db.exec("PRAGMA query_only = 1"); }).code() ==
          errc::invalid_argument);
    CHECK(in_txn([](sql& db) { return db.exec("pragma LOCKING_MODE=exclusive"); }).code() ==
          errc::invalid_argument);
    REQUIRE(model.commit("balances", position::at(1), [](sql& db) { return add(db, "a", 1); }));
    CHECK(model.query("PRAGMA query_only = 1", noop).error().code() == errc::invalid_argument);
    std::int64_t query_only = -1;
    REQUIRE(model.query("PRAGMA query_only", [&](const sql_row& r) { query_only = r.int64(0); }));
    CHECK(query_only == 0);
    REQUIRE(model.write(
        [](sql& db) { return db.query("PRAGMA table_info(balances)", [](const sql_row&) {}); }));
  }
  SECTION("a query may not write") {
    CHECK(model.query("DELETE FROM balances", noop).error().code() == errc::invalid_argument);
    CHECK(model.query("SELECT 1; SELECT 2", noop).error().code() == errc::invalid_argument);
  }
  SECTION("a writer kept past its transaction") {
    std::optional<sql> copy;
    REQUIRE(model.write([&](sql& db) {
      copy.emplace(db);
      return result<void>{};
    }));
    CHECK(copy->exec("DELETE FROM balances").error().code() == errc::invalid_argument);
  }
  SECTION("a transaction inside a transaction") {
    CHECK(in_txn([&](sql&) {
            return model.commit("balances", position::at(2), [](sql&) { return result<void>{}; });
          }).code() == errc::invalid_argument);
  }
  SECTION("a checkpoint needs a name") {
    CHECK(model.commit("", position::at(1), [](sql&) { return result<void>{}; }).error().code() ==
          errc::invalid_argument);
  }
}

TEST_CASE("read model: a corrupt checkpoint text is storage_corrupt", "[sqlite][read_model]") {
  temp_dir dir;
  const auto file = dir / "rm.db";
  auto model = open_model(file);
  REQUIRE(model.commit("balances", position::at(1), [](sql&) { return result<void>{}; }));
  REQUIRE(exec_sql(file, "UPDATE read_model_checkpoints SET position = 'twelve'"));
  auto r = model.load_checkpoint("balances");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::storage_corrupt);
  CHECK(r.error().context().find("'balances'") != std::string::npos);
  // A commit writes a good checkpoint over it.
  REQUIRE(model.commit("balances", position::at(2), [](sql&) { return result<void>{}; }));
  CHECK(model.load_checkpoint("balances").value() == position::at(2));
}

TEST_CASE("read model: files that cannot be used fail with a storage error",
          "[sqlite][read_model]") {
  temp_dir dir;
  SECTION("not a database") {
    const auto file = dir / "text.db";
    std::ofstream(file) << std::string(8192, 'z');
    auto model = sqlite_read_model::open(file);
    REQUIRE_FALSE(model);
    CHECK(model.error().code() == errc::storage_corrupt);
    try {
      sqlite_read_model m{file};
      FAIL("no exception");
    } catch (const factum::system_error& e) {
      CHECK(e.error().code() == errc::storage_corrupt);
    }
  }
  SECTION("a folder that does not exist") {
    auto model = sqlite_read_model::open(dir / "no" / "such.db");
    REQUIRE_FALSE(model);
    CHECK(model.error().code() == errc::storage_io);
  }
  SECTION("locked by another writer past the busy timeout") {
    const auto file = dir / "locked.db";
    auto model = open_model(file, {.busy_timeout = std::chrono::milliseconds(100)});
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
    REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    auto r = model.commit("balances", position::at(1), [](sql& db) { return add(db, "a", 1); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::storage_busy);
    CHECK_FALSE(balance(model, "a").has_value());  // queries are not blocked
    sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    CHECK(model.commit("balances", position::at(1), [](sql& db) { return add(db, "a", 1); }));
  }
}

TEST_CASE("read model: a read-only file reads and refuses commits", "[sqlite][read_model]") {
  temp_dir dir;
  const auto file = dir / "ro.db";
  {
    auto model = open_model(file);
    REQUIRE(model.commit("balances", position::at(1), [](sql& db) { return add(db, "a", 1); }));
  }
  auto check_read_only = [&](sqlite_read_model& model) {
    CHECK(balance(model, "a") == 1);
    CHECK(model.load_checkpoint("balances").value() == position::at(1));
    auto r = model.commit("balances", position::at(2), [](sql& db) { return add(db, "a", 1); });
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::storage_read_only);
    CHECK(model.reset("balances", [](sql&) { return result<void>{}; }).error().code() ==
          errc::storage_read_only);
  };
  SECTION("opened read-only") {
    auto model = sqlite_read_model::open(file, {.read_only = true});
    REQUIRE(model);
    check_read_only(*model);
  }
  SECTION("a file that cannot be written") {
    // Root ignores permission bits, so as root the file is made immutable instead.
    const bool root = geteuid() == 0;
    if (root && std::system(("chattr +i '" + file.string() + "' 2>/dev/null").c_str()) != 0) {
      WARN("chattr is not available; only the read-only option is tested");
      return;
    }
    if (!root) chmod(file.c_str(), 0444);
    {
      auto model = sqlite_read_model::open(file);
      REQUIRE(model);
      check_read_only(*model);
    }
    if (root) (void)std::system(("chattr -i '" + file.string() + "'").c_str());
  }
}

TEST_CASE("read model: queries run while a commit is in progress", "[sqlite][read_model]") {
  temp_dir dir;
  auto model = open_model(dir / "rm.db");
  REQUIRE(model.commit("balances", position::at(1), [](sql& db) { return add(db, "a", 1); }));

  // Catch's assertions are for the main thread: the reader only records.
  std::promise<void> inside, queried;
  auto queried_done = queried.get_future();
  std::optional<std::int64_t> seen_amount;
  result<std::optional<position>> seen_checkpoint{std::optional<position>{}};
  result<void> seen_query;
  std::thread reader([&] {
    inside.get_future().wait();
    seen_query = model.query("SELECT amount FROM balances WHERE id = 'a'",
                             [&](const sql_row& r) { seen_amount = r.int64(0); });
    seen_checkpoint = model.load_checkpoint("balances");
    queried.set_value();
  });
  auto r = model.commit("balances", position::at(2), [&](sql& db) -> result<void> {
    if (auto w = add(db, "a", 10); !w) return w;
    inside.set_value();
    if (queried_done.wait_for(std::chrono::seconds(20)) != std::future_status::ready)
      return error{errc::storage_busy, "the query did not finish beside the commit"};
    return {};
  });
  reader.join();
  REQUIRE(r);
  // The commit held the write lock: the queries saw the committed state.
  REQUIRE(seen_query);
  CHECK(seen_amount == 1);
  CHECK(seen_checkpoint.value() == position::at(1));
  CHECK(balance(model, "a") == 11);
  CHECK(model.load_checkpoint("balances").value() == position::at(2));
}

TEST_CASE("read model: shares one file with the event store", "[sqlite][read_model]") {
  temp_dir dir;
  const auto file = dir / "shared.db";
  auto store = sqlite_store::open(file);  // first: it wants its schema in a new file
  REQUIRE(store);
  auto model = open_model(file);

  // The projection: everything after the checkpoint, rows and checkpoint together.
  auto project = [&]() -> result<std::size_t> {
    auto from = model.load_checkpoint("balances");
    if (!from) return std::move(from).error();
    auto events = store->read_all(from->value_or(position::start()), 100);
    if (!events) return std::move(events).error();
    if (events->empty()) return std::size_t{0};
    auto r = model.commit("balances", events->back().pos, [&](sql& db) -> result<void> {
      for (const auto& e : *events) {
        auto d = account_codec::decode(e);
        if (!d) return std::move(d).error();
        if (auto w = add(db, e.stream.view(), std::get<money_deposited>(*d).amount); !w) return w;
      }
      return {};
    });
    if (!r) return std::move(r).error();
    return events->size();
  };

  SECTION("appends and commits alternately") {
    for (int i = 1; i <= 20; ++i) {
      REQUIRE(store->append("a-" + std::to_string(i % 3), expected_version::any(), {deposit(i)}));
      REQUIRE(project().value() == 1);
    }
  }
  SECTION("appends and commits from two threads") {
    constexpr int appends = 200;
    std::atomic<bool> appended{false};
    std::atomic<int> failed{0};
    std::thread writer([&] {
      for (int i = 1; i <= appends; ++i)
        if (!store->append("a-" + std::to_string(i % 3), expected_version::any(), {deposit(i)}))
          ++failed;
      appended = true;
    });
    std::size_t seen = 0;
    for (;;) {
      const bool last = appended.load();
      auto n = project();
      REQUIRE(n);
      seen += *n;
      if (last && *n == 0) break;
    }
    writer.join();
    CHECK(failed == 0);
    CHECK(seen == appends);
  }
  const auto head = store->head().value();
  CHECK(model.load_checkpoint("balances").value() == head);
  std::int64_t total = 0;
  REQUIRE(model.query("SELECT sum(amount) FROM balances",
                      [&](const sql_row& r) { total = r.int64(0); }));
  const auto n = static_cast<std::int64_t>(head.global());
  CHECK(total == n * (n + 1) / 2);
  // The store still opens the file, with the read model's tables in it.
  auto again = sqlite_store::open(file);
  REQUIRE(again);
  CHECK(again->head().value() == head);
}
