// The SQLite store (src/sqlite_store.cpp) opening a damaged file: the input
// is written to a scratch file and opened read-only, then writable, and
// every read (and, writable, a few writes) must return a value or an error:
// never crash, throw, leak or hit UB. Seeds are real store files
// (corpus/sqlite_store/); libFuzzer mutates their pages.
//
// Each run removes its files (the store, -wal, -shm, -journal), and the
// scratch directory ($TMPDIR/factum-fuzz-XXXXXX) goes at exit, so a long run
// leaves nothing behind; only a crash leaves the directory, for a look.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdlib.h>
#include <string>
#include <system_error>
#include <vector>

#include <sqlite3.h>

#include <factum/store/sqlite_store.hpp>

#include "check.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_streams = 32;  // per run: bounds the time a run takes
constexpr std::size_t read_limit = 1000;

/// A private directory under $TMPDIR, removed at exit.
struct scratch_dir {
  fs::path dir;
  scratch_dir() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / "factum-fuzz-XXXXXX").string();
    FACTUM_FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& store_file() {
  static scratch_dir scratch;
  static const fs::path file = scratch.dir / "store.db";
  return file;
}

void remove_store(const fs::path& file) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::remove(file.string() + suffix, ec);
  }
}

/// The command ids stored in the file, read with SQLite directly (the store
/// has no listing of them); none when the file does not open or has no table.
std::vector<factum::command_id> stored_command_ids(const fs::path& file) {
  std::vector<factum::command_id> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT command_id FROM commands LIMIT 16", -1, &st, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(st) == SQLITE_ROW) {
        factum::uuid::bytes_type b{};
        const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(st, 0));
        if (blob && sqlite3_column_bytes(st, 0) == static_cast<int>(b.size()))
          std::copy(blob, blob + b.size(), b.begin());
        ids.emplace_back(b);
      }
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return ids;
}

factum::event_data fuzz_event(std::string data = "{\"n\":1}") {
  factum::event_data e;
  e.id = factum::uuid::named(data);
  e.type = "Fuzzed";
  e.data = std::move(data);
  e.metadata.user.emplace("k", "v");
  return e;
}

void read_everything(factum::sqlite_store& store,
                     const std::vector<factum::command_id>& command_ids) {
  (void)store.head();
  std::vector<factum::stream_id> names;
  if (auto streams = store.streams(); streams) {
    for (const auto& s : *streams) {
      if (names.size() == max_streams) break;
      names.push_back(s.stream);
    }
  }
  (void)store.streams("account-", 3);
  for (const auto& name : names) {
    (void)store.read_stream(name, 1, read_limit);
    (void)store.read_stream(name, 0, 2);
    (void)store.read_stream(name, std::uint64_t{1} << 63, 1);
    (void)store.read_stream(name);
    (void)store.stream_version(name);
    std::uint64_t seen = 0;
    (void)store.scan_stream(name, 1, [&](const factum::recorded_event&) { ++seen; });
    (void)store.load_snapshot(name, 1);
  }
  if (auto all = store.read_all(factum::position::start(), read_limit); all && !all->empty()) {
    (void)store.read_all(all->front().pos, read_limit, {all->front().type});
  }
  if (auto cps = store.checkpoints(); cps)
    for (const auto& [subscriber, pos] : *cps)
      (void)store.load_checkpoint(subscriber);
  (void)store.dead_letters();
  (void)store.dead_letters("balances");
  for (const auto& id : command_ids)
    (void)store.load_command(id);
  (void)store.load_command(factum::uuid::named("never used"));
}

void write_some(factum::sqlite_store& store, const std::vector<factum::command_id>& command_ids) {
  (void)store.append("fuzz-new", factum::expected_version::no_stream(), {fuzz_event()});
  // Onto a stored stream: its next version comes from what the file holds.
  std::optional<factum::recorded_event> first;
  if (auto all = store.read_all(factum::position::start(), 1); all && !all->empty())
    first = all->front();
  if (first) {
    (void)store.append(first->stream, factum::expected_version::any(), {fuzz_event("{\"n\":2}")});
    // The same event id again: the idempotency check compares with the stored one.
    factum::event_data replay = fuzz_event(first->data);
    replay.id = first->id;
    replay.type = first->type;
    (void)store.append(first->stream, factum::expected_version::any(), {replay});
    factum::dead_letter letter;
    letter.subscriber = "fuzz";
    letter.event = *first;
    letter.error = "fuzzed";
    letter.attempts = 1;
    if (auto id = store.add_dead_letter(letter); id) (void)store.remove_dead_letter(*id);
    (void)store.save_snapshot({first->stream, first->version, 1, "{}", {}});
  }
  // A stored command id: the store reads and matches its record.
  for (const auto& id : command_ids) {
    factum::append_options once{.command = id, .command_digest = 1};
    (void)store.append("fuzz-cmd", factum::expected_version::any(), {fuzz_event("{\"n\":3}")},
                       once);
  }
  std::vector<factum::append_request> batch{
      {{{"fuzz-batch", factum::expected_version::no_stream(), {fuzz_event("{\"n\":4}")}}}, {}},
      {{{"fuzz-new", factum::expected_version::exact(1), {fuzz_event("{\"n\":5}")}}}, {}}};
  (void)store.append_batch(batch);
  if (auto head = store.head(); head) (void)store.save_checkpoint("fuzz", *head);
  (void)store.load_checkpoint("fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path& file = store_file();
  remove_store(file);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FACTUM_FUZZ_CHECK(out.good());
  }
  const auto command_ids = stored_command_ids(file);
  for (const bool read_only : {true, false}) {
    factum::sqlite_options options;
    options.read_only = read_only;
    options.create = false;
    options.synchronous = factum::sqlite_sync::off;
    options.busy_timeout = std::chrono::milliseconds{10};
    auto store = factum::sqlite_store::open(file, options);
    if (!store) continue;
    read_everything(*store, command_ids);
    if (!read_only) write_some(*store, command_ids);
  }
  remove_store(file);
  return 0;
}
