// Faults and bad input on the SQLite store: every case gives a typed error,
// none crashes, none loses an acknowledged event.
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <factum/store/memory_store.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/events.hpp"
#include "../support/process.hpp"
#include "../support/temp_dir.hpp"

using namespace factum;
using namespace factum_test;

namespace {

/// Runs SQL on the file through a separate raw connection.
std::string raw_sql(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  std::string out;
  char* err = nullptr;
  sqlite3_exec(
      db, sql.c_str(),
      [](void* o, int n, char** values, char**) {
        auto& s = *static_cast<std::string*>(o);
        for (int i = 0; i < n; ++i)
          s += (values[i] ? values[i] : "NULL") + std::string("\n");
        return 0;
      },
      &out, &err);
  if (err) {
    out += std::string("error: ") + err;
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return out;
}

struct ack {
  std::string stream;
  std::uint64_t version;
  std::string id;
};

std::vector<ack> parse_acks(const std::vector<std::string>& lines, int* conflicts = nullptr) {
  std::vector<ack> out;
  for (const auto& line : lines) {
    std::istringstream in(line);
    std::string word;
    in >> word;
    if (word == "ack") {
      ack a;
      in >> a.stream >> a.version >> a.id;
      out.push_back(a);
    } else if (word == "conflict") {
      if (conflicts) ++*conflicts;
    } else {
      FAIL("writer said: " << line);
    }
  }
  return out;
}

/// Every acknowledged event is stored where it was acknowledged, stream
/// versions are dense, positions gapless, ids unique, the file is intact.
void check_file(const std::filesystem::path& file, const std::vector<ack>& acks) {
  auto store = sqlite_store::open(file);
  REQUIRE(store);
  for (const auto& a : acks) {
    auto at = store->read_stream(a.stream, a.version, 1);
    REQUIRE(at);
    REQUIRE(at->size() == 1);
    CHECK(at->front().id.to_string() == a.id);
  }
  auto all = store->read_all();
  REQUIRE(all);
  std::map<std::string, std::uint64_t> versions;
  std::set<event_id> ids;
  for (std::size_t i = 0; i < all->size(); ++i) {
    const auto& e = (*all)[i];
    REQUIRE(e.global_position == i + 1);
    REQUIRE(e.version == ++versions[e.stream.str()]);
    REQUIRE(ids.insert(e.id).second);
  }
  CHECK(raw_sql(file, "PRAGMA integrity_check") == "ok\n");
}

}  // namespace

TEST_CASE("sqlite: appends survive SIGKILL of the writer, in a loop", "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "kill.db";
  std::vector<ack> acks;
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 12; ++round) {
    child_process writer({FACTUM_TEST_WRITER, file.string(), "5", "0", std::to_string(rng())});
    REQUIRE(writer.started());
    std::vector<std::string> lines;
    // Let it write for a while (the first round also creates the file).
    const auto run_for = std::chrono::milliseconds(round == 0 ? 400 : 50 + rng() % 250);
    writer.read_lines(lines, std::chrono::steady_clock::now() + run_for);
    writer.kill_hard();
    writer.read_to_end(lines);  // acks printed before the kill are still in the pipe
    CHECK(writer.wait() == -SIGKILL);
    for (auto& a : parse_acks(lines))
      acks.push_back(std::move(a));
  }
  CHECK(acks.size() > 12);
  check_file(file, acks);
}

TEST_CASE("sqlite: two processes racing on the same streams lose nothing", "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "race.db";
  REQUIRE(sqlite_store::open(file));  // create it before both start
  child_process a({FACTUM_TEST_WRITER, file.string(), "3", "150", "1"});
  child_process b({FACTUM_TEST_WRITER, file.string(), "3", "150", "2"});
  REQUIRE(a.started());
  REQUIRE(b.started());
  std::vector<std::string> la, lb;
  // Drain both pipes as they run, so neither blocks on a full pipe.
  bool a_open = true, b_open = true;
  while (a_open || b_open) {
    const auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    if (a_open) a_open = a.read_lines(la, soon);
    if (b_open) b_open = b.read_lines(lb, soon);
  }
  CHECK(a.wait() == 0);
  CHECK(b.wait() == 0);
  int conflicts = 0;
  auto acks = parse_acks(la, &conflicts);
  for (auto& x : parse_acks(lb, &conflicts))
    acks.push_back(std::move(x));
  INFO("conflicts: " << conflicts);
  auto store = sqlite_store::open(file);
  REQUIRE(store);
  CHECK(store->head().value().global() == acks.size());  // nothing beyond what was acked
  check_file(file, acks);
}

TEST_CASE("sqlite: a corrupted row fails its reads with the position, others still read",
          "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "corrupt.db";
  {
    auto store = sqlite_store::open(file);
    REQUIRE(store);
    REQUIRE(store->append("a-1", expected_version::any(), {deposit(1), deposit(2), deposit(3)}));
    REQUIRE(store->append("a-2", expected_version::any(), {deposit(4)}));
  }
  CHECK(raw_sql(file, "UPDATE events SET data = '{\"amount\": 2' WHERE position = 2").empty());

  auto store = sqlite_store::open(file);
  REQUIRE(store);
  auto broken = store->read_stream("a-1");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code() == errc::malformed_event);
  CHECK(broken.error().position == 2u);
  CHECK(broken.error().message().find("global position 2") != std::string::npos);

  CHECK(store->read_stream("a-1", 1, 1).value().size() == 1);        // before it
  CHECK(store->read_stream("a-1", 3).value().size() == 1);           // after it
  CHECK(store->read_stream("a-2").value().size() == 1);              // other streams
  CHECK(store->read_all(position::start(), 1).value().size() == 1);  // the log up to it
  CHECK(store->read_all().error().code() == errc::malformed_event);
  CHECK(store->read_all(position::at(2)).value().size() == 2);  // and past it

  // Corrupt user metadata is reported the same way.
  CHECK(raw_sql(file, "UPDATE events SET user_metadata = '[1]' WHERE position = 4").empty());
  CHECK(store->read_stream("a-2").error().code() == errc::malformed_event);
  // The store still takes appends.
  CHECK(store->append("a-3", expected_version::no_stream(), {deposit(5)}));
}

TEST_CASE("sqlite: an unknown event type is a decode error, not a read error", "[sqlite][faults]") {
  temp_dir dir;
  auto store = sqlite_store::open(dir / "types.db");
  REQUIRE(store);
  event_data mystery;
  mystery.type = "MysteryHappened";
  mystery.data = R"({"x":1})";
  REQUIRE(store->append("a-1", expected_version::any(), {deposit(1), mystery}));
  auto events = store->read_stream("a-1").value();
  REQUIRE(events.size() == 2);
  CHECK(account_codec::decode(events[0]));
  auto decoded = account_codec::decode(events[1]);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code() == errc::unknown_event_type);
  CHECK(decoded.error().position == 2u);
}

TEST_CASE("sqlite: a read-only database reads and refuses writes", "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "ro.db";
  {
    auto store = sqlite_store::open(file);
    REQUIRE(store);
    REQUIRE(store->append("a-1", expected_version::any(), {deposit(1)}));
  }
  SECTION("opened read-only") {
    auto store = sqlite_store::open(file, {.read_only = true});
    REQUIRE(store);
    CHECK(store->read_stream("a-1").value().size() == 1);
    CHECK(store->append("a-1", expected_version::any(), {deposit(2)}).error().code() ==
          errc::storage_read_only);
    CHECK(store->save_checkpoint("x", position::at(1)).error().code() == errc::storage_read_only);
  }
  SECTION("a file that cannot be written") {
    // Root ignores permission bits, so as root the file is made immutable instead.
    const bool root = geteuid() == 0;
    const std::string immutable = "chattr +i '" + file.string() + "' 2>/dev/null";
    if (root && std::system(immutable.c_str()) != 0) {
      WARN("chattr is not available; only the read-only option is tested");
      return;
    }
    if (!root) chmod(file.c_str(), 0444);
    auto store = sqlite_store::open(file);
    REQUIRE(store);
    CHECK(store->read_stream("a-1").value().size() == 1);
    auto r = store->append("a-1", expected_version::any(), {deposit(2)});
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == errc::storage_read_only);
    if (root) (void)std::system(("chattr -i '" + file.string() + "'").c_str());
  }
  SECTION("a new file in a folder that cannot be written") {
    auto missing = sqlite_store::open(dir / "no" / "such" / "folder.db");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code() == errc::storage_io);
  }
}

TEST_CASE("sqlite: a full database fails the append whole and keeps what was stored",
          "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "full.db";
  auto store = sqlite_store::open(file, {.page_size = 4096, .max_page_count = 40});
  REQUIRE(store);
  std::uint64_t acked = 0;
  error failure;
  const std::string big(600, 'x');
  for (int i = 0; i < 1000; ++i) {
    event_data e = deposit(i);
    e.data = json{{"amount", i}, {"padding", big}}.dump();
    auto r = store->append("a-" + std::to_string(i % 7), expected_version::any(), {e, deposit(1)});
    if (!r) {
      failure = r.error();
      break;
    }
    acked = r->last_position;
  }
  CHECK(failure.code() == errc::storage_full);
  CHECK(acked > 0);
  CHECK(store->head().value().global() == acked);
  CHECK(store->read_all().value().size() == acked);
  // The store is still usable: a reader sees everything, and a smaller write
  // of an existing stream may still fit or fail the same way, never crash.
  auto again = store->append("a-0", expected_version::any(), {deposit(1)});
  if (!again) CHECK(again.error().code() == errc::storage_full);
  CHECK(raw_sql(file, "PRAGMA integrity_check") == "ok\n");
}

TEST_CASE("sqlite: files that are not a factum store are refused", "[sqlite][faults]") {
  temp_dir dir;
  SECTION("not an SQLite file") {
    const auto file = dir / "text.db";
    std::ofstream(file) << std::string(8192, 'z');
    auto store = sqlite_store::open(file);
    REQUIRE_FALSE(store);
    CHECK(store.error().code() == errc::storage_corrupt);
  }
  SECTION("another application's SQLite database") {
    const auto file = dir / "other.db";
    raw_sql(file, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)");
    auto store = sqlite_store::open(file);
    REQUIRE_FALSE(store);
    CHECK(store.error().code() == errc::schema_mismatch);
    CHECK(raw_sql(file, "SELECT count(*) FROM sqlite_master") == "1\n");  // left untouched
  }
  SECTION("a schema from a newer factum") {
    const auto file = dir / "newer.db";
    REQUIRE(sqlite_store::open(file));
    raw_sql(file, "UPDATE factum_meta SET value = '99' WHERE key = 'schema_version'");
    auto store = sqlite_store::open(file);
    REQUIRE_FALSE(store);
    CHECK(store.error().code() == errc::schema_mismatch);
  }
  SECTION("a file of schema 1: read as it is read-only, migrated when writable") {
    const auto file = dir / "v1.db";
    std::filesystem::copy_file(std::filesystem::path(FACTUM_TEST_FIXTURES) / "bank-v1.db", file);
    const std::string version = "SELECT value FROM factum_meta WHERE key = 'schema_version'";
    {
      auto reader = sqlite_store::open(file, {.read_only = true});
      REQUIRE(reader);
      CHECK(reader->dead_letters().value().empty());
      CHECK(raw_sql(file, version) == "1\n");
    }
    auto events = [&] {
      auto writer = sqlite_store::open(file);
      REQUIRE(writer);
      CHECK(raw_sql(file, version) == "2\n");
      auto all = writer->read_all().value();
      REQUIRE(writer->add_dead_letter({0, "old", all.at(0), "before", 1, {}, false}));
      REQUIRE(writer->add_dead_letter({0, "new", all.at(1), "after", 1, {}, true}));
      return all;
    }();
    auto again = sqlite_store::open(file, {.read_only = true});
    REQUIRE(again);
    auto letters = again->dead_letters().value();
    REQUIRE(letters.size() == 2);
    CHECK(!letters[0].parks_stream);
    CHECK(letters[1].parks_stream);
    CHECK(letters[1].event.id == events.at(1).id);
  }
  SECTION("a missing file with create off") {
    auto store = sqlite_store::open(dir / "missing.db", {.create = false});
    REQUIRE_FALSE(store);
    CHECK(store.error().code() == errc::storage_io);
  }
  SECTION("the throwing constructor carries the same error") {
    const auto file = dir / "text2.db";
    std::ofstream(file) << std::string(8192, 'z');
    try {
      sqlite_store s{file};
      FAIL("no exception");
    } catch (const factum::system_error& e) {
      CHECK(e.error().code() == errc::storage_corrupt);
    }
  }
}

TEST_CASE("sqlite: a locked database fails with storage_busy after the timeout",
          "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "locked.db";
  auto store = sqlite_store::open(file, {.busy_timeout = std::chrono::milliseconds(100)});
  REQUIRE(store);
  REQUIRE(store->append("a-1", expected_version::any(), {deposit(1)}));
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  const auto start = std::chrono::steady_clock::now();
  auto r = store->append("a-1", expected_version::any(), {deposit(2)});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::storage_busy);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(90));
  CHECK(store->read_stream("a-1").value().size() == 1);  // readers are not blocked
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  CHECK(store->append("a-1", expected_version::any(), {deposit(3)}));
}

TEST_CASE("sqlite: events persist across reopen and two stores share one file", "[sqlite][store]") {
  temp_dir dir;
  const auto file = dir / "shared.db";
  const auto batch = std::vector<event_data>{deposit(1), deposit(2)};
  {
    auto store = sqlite_store::open(file);
    REQUIRE(store);
    REQUIRE(store->append("a-1", expected_version::no_stream(), batch));
  }
  auto a = sqlite_store::open(file);
  auto b = sqlite_store::open(file);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->read_stream("a-1").value().size() == 2);
  CHECK(a->append("a-1", expected_version::no_stream(), batch).value().already_appended);
  // b creates a stream; a, whose caches have never seen it, appends after it.
  REQUIRE(b->append("new-1", expected_version::no_stream(), {deposit(3)}));
  auto stale = a->append("new-1", expected_version::no_stream(), {deposit(4)});
  REQUIRE_FALSE(stale);
  CHECK(stale.error().conflict->actual == 1);
  REQUIRE(a->append("new-1", expected_version::exact(1), {deposit(4)}));
  CHECK(b->read_stream("new-1").value().size() == 2);
  CHECK(b->head().value().global() == 4);
}

namespace {

append_request request(stream_id stream, std::vector<event_data> events) {
  return append_request{
      {stream_write{std::move(stream), expected_version::any(), std::move(events)}}, {}};
}

}  // namespace

TEST_CASE("sqlite: a batch prefers one transaction", "[sqlite][batch]") {
  temp_dir dir;
  auto store = sqlite_store::open(dir / "batch.db");
  REQUIRE(store);
  CHECK(store->prefers_batches());
  CHECK_FALSE(memory_store{}.prefers_batches());
}

TEST_CASE("sqlite: a batch request whose event id is stored in another stream fails alone",
          "[sqlite][batch]") {
  temp_dir dir;
  const auto file = dir / "batch-reuse.db";
  auto store = sqlite_store::open(file, {.synchronous = sqlite_sync::normal});
  REQUIRE(store);
  const event_data taken = deposit(1);
  REQUIRE(store->append("a-1", expected_version::no_stream(), {taken}));
  event_data fresh_type;
  fresh_type.type = "FreshType";
  fresh_type.data = R"({"x":1})";
  // The third request's expected version matches, so the id is met only
  // when its insert hits the unique index, after its first event is written:
  // the batch rolls back and each request is appended on its own.
  const std::vector<append_request> batch{
      request("b-1", {deposit(2), fresh_type}),
      request("b-2", {deposit(3)}),
      request("b-3", {deposit(4), taken}),
      request("b-4", {deposit(5)}),
  };
  auto r = store->append_batch(batch);
  REQUIRE(r.size() == 4);
  REQUIRE(r[0]);
  CHECK(r[0]->first_position == 2);
  CHECK(r[0]->last_position == 3);
  REQUIRE(r[1]);
  CHECK(r[1]->first_position == 4);
  REQUIRE_FALSE(r[2]);
  CHECK(r[2].error().code() == errc::event_id_conflict);
  REQUIRE(r[3]);
  CHECK(r[3]->first_position == 5);
  CHECK(store->stream_version("b-3").value() == 0);
  CHECK(store->read_stream("b-1").value().size() == 2);
  CHECK(store->read_stream("a-1").value().size() == 1);
  auto fresh = store->read_all(position::start(), event_store::no_limit, {"FreshType"}).value();
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].stream == stream_id{"b-1"});
  check_file(file, {});
  // The store goes on with batches after the fallback.
  auto next = store->append_batch(
      std::vector<append_request>{request("b-3", {deposit(6)}), request("b-5", {fresh_type})});
  REQUIRE(next.size() == 2);
  CHECK(next[0].value().first_position == 6);
  CHECK(next[1].error().code() == errc::event_id_conflict);
  CHECK(store->head().value().global() == 6);
}

TEST_CASE("sqlite: a batch that fills the database stores each request whole or not at all",
          "[sqlite][batch]") {
  temp_dir dir;
  const auto file = dir / "batch-full.db";
  auto store = sqlite_store::open(
      file, {.synchronous = sqlite_sync::normal, .page_size = 4096, .max_page_count = 40});
  REQUIRE(store);
  REQUIRE(store->append("before-1", expected_version::no_stream(), {deposit(1)}));
  const std::string big(600, 'x');
  std::vector<append_request> batch;
  for (int i = 0; i < 300; ++i) {
    event_data e = deposit(i);
    e.data = json{{"amount", i}, {"padding", big}}.dump();
    batch.push_back(request("s-" + std::to_string(i), {e, deposit(i)}));
  }
  auto r = store->append_batch(batch);
  REQUIRE(r.size() == batch.size());
  std::uint64_t stored = 1, full = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const auto events = store->read_stream(batch[i].writes[0].stream).value();
    if (r[i]) {
      stored += 2;
      REQUIRE(events.size() == 2);
      CHECK(events[0].id == batch[i].writes[0].events[0].id);
      CHECK(events[1].global_position == r[i]->last_position);
    } else {
      ++full;
      CHECK(r[i].error().code() == errc::storage_full);
      CHECK(events.empty());
    }
  }
  CHECK(full > 0);
  CHECK(stored > 1);
  CHECK(store->head().value().global() == stored);
  check_file(file, {});
  // Still usable: reads see everything, and a small append fits or fails the same way.
  CHECK(store->read_stream("before-1").value().size() == 1);
  auto again = store->append_batch(
      std::vector<append_request>{request("before-1", {deposit(2)}), request("s-0", {deposit(3)})});
  for (const auto& a : again)
    if (!a) CHECK(a.error().code() == errc::storage_full);
  CHECK(raw_sql(file, "PRAGMA integrity_check") == "ok\n");
}

namespace {

/// `x'...'`: an SQL blob literal of a uuid's bytes.
std::string blob_literal(const uuid& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "x'";
  for (const unsigned b : id.bytes()) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out + "'";
}

}  // namespace

TEST_CASE("sqlite: a command record of the old format, without digest, is still honoured",
          "[sqlite][store]") {
  temp_dir dir;
  const auto file = dir / "old-record.db";
  auto store = sqlite_store::open(file);
  REQUIRE(store);
  REQUIRE(store->append("a-1", expected_version::no_stream(), {deposit(1)}));
  // As recorded before command ids were scoped: only the streams that got
  // events, no digest (here a command that also checked b-1).
  const command_id cmd = uuid::v7();
  REQUIRE(raw_sql(file, "INSERT INTO commands(command_id, result, recorded_at) VALUES (" +
                            blob_literal(cmd) +
                            R"(, '{"streams":[["a-1",1,1]],"first":1,"last":1}', 0))")
              .empty());
  auto recorded = store->load_command(cmd).value();
  REQUIRE(recorded);
  CHECK(recorded->legacy);
  CHECK(recorded->digest == 0);
  CHECK(recorded->result.streams == std::vector<stream_range>{{"a-1", 1, 1}});

  // Its streams and more (the conditions it did not record), any digest: a replay.
  const std::vector<stream_write> retry{{"a-1", expected_version::exact(1), {deposit(2)}},
                                        {"b-1", expected_version::no_stream(), {}}};
  auto again = store->append(retry, {cmd, 42});
  REQUIRE(again);
  CHECK(again->already_appended);
  CHECK(again->streams == recorded->result.streams);
  CHECK(
      store->append("a-1", expected_version::any(), {deposit(3)}, {cmd}).value().already_appended);
  // Without its streams: a conflict.
  auto other = store->append("a-2", expected_version::any(), {deposit(4)}, {cmd});
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == errc::command_id_conflict);
  CHECK(store->head().value().global() == 1);
}

TEST_CASE("sqlite: a condition adds no row to the streams table", "[sqlite][store]") {
  temp_dir dir;
  const auto file = dir / "condition.db";
  auto store = sqlite_store::open(file);
  REQUIRE(store);
  const std::vector<stream_write> writes{{"a-1", expected_version::no_stream(), {deposit(1)}},
                                         {"c-1", expected_version::no_stream(), {}}};
  REQUIRE(store->append(writes));
  CHECK(raw_sql(file, "SELECT name FROM streams ORDER BY name") == "a-1\n");
}

TEST_CASE("sqlite: a damaged stored version fails the read, it does not throw",
          "[sqlite][faults]") {
  for (const char* damaged : {"4611686018427387904", "2000000000", "7", "0"}) {
    INFO("version " << damaged);
    temp_dir dir;
    const auto file = dir / "bank.db";
    {
      auto s = sqlite_store::open(file).value();
      REQUIRE(s.append("account-K", expected_version::no_stream(), {deposit(1), deposit(2)}));
      REQUIRE(s.append("account-K", expected_version::exact(2), {deposit(3)}));
    }
    CHECK(
        raw_sql(file, std::string("UPDATE events SET version = ") + damaged + " WHERE position = 2")
            .empty());
    auto s = sqlite_store::open(file).value();
    auto read = s.read_stream("account-K");
    REQUIRE_FALSE(read);
    CHECK(read.error().code() == errc::storage_corrupt);
    CHECK(read.error().position.has_value());  // the first event out of place
    std::vector<std::uint64_t> seen;
    auto scanned =
        s.scan_stream("account-K", 1, [&](const recorded_event& e) { seen.push_back(e.version); });
    REQUIRE_FALSE(scanned);
    CHECK(scanned.error().code() == errc::storage_corrupt);
    CHECK(seen.size() <= 1);  // only what came in order
  }
}

TEST_CASE("sqlite: a refused append keeps no transaction, other writers go on",
          "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  auto s = sqlite_store::open(file).value();
  sqlite_options quick;
  quick.busy_timeout = std::chrono::milliseconds{200};
  auto other = sqlite_store::open(file, quick).value();
  auto odd = deposit(2);
  odd.metadata.user = {{"user", "\xc5"}};
  // The fuzzer's input: a one-byte stream id with a command id, and user
  // metadata that is not UTF-8 (nlohmann's dump() threw inside the open
  // transaction on the old main).
  CHECK(s.append("\xc5", expected_version::any(), {deposit(1)}, {uuid::v7(), 1}).error().code() ==
        errc::invalid_stream_id);
  CHECK(s.append("account-1", expected_version::any(), {odd}, {uuid::v7(), 1}).error().code() ==
        errc::invalid_argument);
  // The write lock is free: another connection appends at once.
  REQUIRE(other.append("account-2", expected_version::no_stream(), {deposit(3)}));
  // And this store's later writes commit: another connection reads them.
  REQUIRE(s.append("account-1", expected_version::no_stream(), {deposit(4)}));
  REQUIRE(s.save_checkpoint("ledger", position::at(2)));
  CHECK(other.load_checkpoint("ledger").value() == position::at(2));
  CHECK(other.stream_version("account-1").value() == 1);
  CHECK(raw_sql(file, "PRAGMA integrity_check") == "ok\n");
}

TEST_CASE("sqlite: stored numbers out of range are errors, not undefined behaviour",
          "[sqlite][faults]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  const command_id cmd = uuid::v7();
  {
    auto s = sqlite_store::open(file).value();
    REQUIRE(s.append("account-1", expected_version::no_stream(), {deposit(1)}, {cmd, 1}));
  }
  // A command record whose numbers are not unsigned integers (found by the
  // fuzzer: get<uint64_t>() of 1e300 converts with undefined behaviour).
  for (const char* number : {"1e300", "-1", "1.5"}) {
    INFO(number);
    CHECK(raw_sql(file, std::string("UPDATE commands SET result = '{\"streams\":[[\"account-1\",1,"
                                    "1]],\"first\":") +
                            number + ",\"last\":1,\"digest\":1}'")
              .empty());
    auto s = sqlite_store::open(file).value();
    CHECK(s.load_command(cmd).error().code() == errc::malformed_event);
    CHECK(s.append("account-1", expected_version::any(), {deposit(2)}, {cmd, 1}).error().code() ==
          errc::malformed_event);
  }
  // A log at its last position: an append says so instead of overflowing.
  CHECK(raw_sql(file, "UPDATE events SET position = 9223372036854775807").empty());
  auto s = sqlite_store::open(file).value();
  auto full = s.append("account-2", expected_version::any(), {deposit(3)});
  REQUIRE_FALSE(full);
  CHECK(full.error().code() == errc::storage_corrupt);
  // An expected version no store can hold is refused, not wrapped.
  CHECK(s.append("account-1", expected_version::exact(std::uint64_t{1} << 63), {deposit(4)})
            .error()
            .code() == errc::invalid_argument);
}
