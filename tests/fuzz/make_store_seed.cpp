// Writes a small SQLite store that uses every table the store reads back,
// as a seed for fuzz_sqlite_store (corpus/sqlite_store/generated.db):
//   build/fuzz/tests/fuzz/fuzz_make_store_seed tests/fuzz/corpus/sqlite_store/generated.db
// Then repacks it into 512-byte pages (VACUUM) so the file stays a few KB,
// which keeps libFuzzer's mutations dense.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <factum/store/sqlite_store.hpp>

namespace {

factum::event_data event(const std::string& type, std::string data, std::uint32_t version = 1) {
  factum::event_data e;
  e.type = type;
  e.schema_version = version;
  e.data = std::move(data);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <new store file>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path file = argv[1];
  std::filesystem::remove(file);
  {
    factum::sqlite_options options;
    options.page_size = 512;
    factum::sqlite_store store{file, options};

    auto opened = event("AccountOpened", R"({"owner":"ann","limit":-5})");
    opened.metadata.correlation_id = factum::uuid::named("corr");
    opened.metadata.causation_id = factum::uuid::named("cause");
    opened.metadata.user = {{"tenant", "t1"}, {"user", "\u00e9ric"}};
    (void)store.append("account-a1", factum::expected_version::no_stream(), {opened}).value();
    (void)store
        .append("account-a1", factum::expected_version::exact(1),
                {event("MoneyDeposited", R"({"amount":18446744073709551615,"memo":"\"x\""})"),
                 event("MoneyWithdrawn", R"({"amount":1.5e3,"tags":[1,2,{"n":null}]})", 2)})
        .value();
    const factum::append_options once{.command = factum::uuid::named("cmd-1"),
                                      .command_digest = 99};
    const std::vector<factum::stream_write> writes{
        {"transfer-t1",
         factum::expected_version::no_stream(),
         {event("TransferRequested", R"({"from":"a1","to":"a2","amount":3})")}},
        {"account-a1", factum::expected_version::exact(3), {}}};
    (void)store.append(writes, once).value();
    (void)store.append("x", factum::expected_version::any(), {event("Empty", "{}")}).value();

    store.save_snapshot({"account-a1", 3, 1, R"({"balance":1})", {}}).value();
    store.save_checkpoint("balances", factum::position::at(2)).value();
    store.save_checkpoint("transfers", factum::position::at(5)).value();
    auto stored = store.read_stream("transfer-t1").value();
    factum::dead_letter letter;
    letter.subscriber = "transfers";
    letter.event = stored.front();
    letter.error = "account a2 does not exist";
    letter.attempts = 3;
    (void)store.add_dead_letter(letter).value();
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open(file.c_str(), &db);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "PRAGMA journal_mode = DELETE; VACUUM; PRAGMA journal_mode = WAL;",
                      nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) std::fprintf(stderr, "repacking: %s\n", sqlite3_errmsg(db));
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : 1;
}
