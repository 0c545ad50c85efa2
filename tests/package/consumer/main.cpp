// A program that uses factum as any project would: register an event, append
// it, read it back. It exits 0 only if the event round-trips through the
// memory store and, when built with the sqlite component, the SQLite store;
// with the postgres component, the PostgreSQL store is linked and answers;
// with the log component, the spdlog sink writes a line.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include <factum/factum.hpp>

// The umbrella header is for everyone; spdlog only for who asks for the log component.
#if defined(SPDLOG_VERSION) && !defined(FACTUM_CONSUMER_LOG)
#error "<factum/factum.hpp> pulled in spdlog"
#endif

#ifdef FACTUM_CONSUMER_SQLITE
#include <factum/store/sqlite_store.hpp>
#endif
#ifdef FACTUM_CONSUMER_POSTGRES
#include <factum/store/postgres_store.hpp>
#endif
#ifdef FACTUM_CONSUMER_LOG
#include <memory>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include <factum/telemetry/log_sink.hpp>
#endif

namespace shop {

struct item_added {
  std::string name;
  std::int64_t count = 0;
};
FACTUM_EVENT(item_added, "ItemAdded", 1, name, count)

using event = std::variant<item_added>;
using codec = factum::codec<event>;

}  // namespace shop

namespace {

int fail(std::string_view store, std::string_view what) {
  std::cerr << store << ": " << what << '\n';
  return 1;
}

/// Appends one event to a new stream, reads it back and compares.
int round_trip(factum::event_store& store, std::string_view name) {
  const factum::stream_id stream = factum::stream_id::of("cart", "c-1");
  auto appended = store.append(stream, factum::expected_version::no_stream(),
                               {shop::codec::encode(shop::item_added{"apple", 3})});
  if (!appended) return fail(name, appended.error().message());

  auto events = store.read_stream(stream);
  if (!events) return fail(name, events.error().message());
  if (events->size() != 1)
    return fail(name, "expected 1 event, read " + std::to_string(events->size()));
  const factum::recorded_event& recorded = events->front();
  if (recorded.type != "ItemAdded" || recorded.version != 1 || recorded.global_position != 1)
    return fail(name, "wrong type, version or position");

  auto decoded = shop::codec::decode(recorded);
  if (!decoded) return fail(name, decoded.error().message());
  const auto* item = std::get_if<shop::item_added>(&*decoded);
  if (item == nullptr || item->name != "apple" || item->count != 3)
    return fail(name, "the event read back differs");

  std::cout << name << ": ok " << recorded.data << '\n';
  return 0;
}

}  // namespace

int main() {
  std::cout << "factum " << FACTUM_VERSION_MAJOR << '.' << FACTUM_VERSION_MINOR << '.'
            << FACTUM_VERSION_PATCH << '\n';

  factum::memory_store memory;
  if (round_trip(memory, "memory_store") != 0) return 1;

#ifdef FACTUM_CONSUMER_LOG
  {
    std::ostringstream out;
    auto logger = std::make_shared<spdlog::logger>(
        "factum", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    logger->set_pattern("%l %v");
    factum::log_sink sink{logger};
    factum::telemetry_event dead_letter;
    dead_letter.name = "factum.handler.dead_letter.count";
    dead_letter.error = "refused";
    sink.record(dead_letter);
    logger->flush();
    if (out.str() != "error factum.handler.dead_letter.count error=\"refused\"\n") {
      std::cerr << "log component: the sink wrote '" << out.str() << "'\n";
      return 1;
    }
    std::cout << "log component: ok\n";
  }
#endif
#ifdef FACTUM_CONSUMER_POSTGRES
  {
    // Linked and callable: no server here, so a clear storage_io error.
    auto pg = factum::postgres_store::open("postgresql:///none?host=/nonexistent-factum",
                                           {.reconnect_for = std::chrono::milliseconds(0)});
    if (pg || pg.error().code() != factum::errc::storage_io) {
      std::cerr << "postgres component: expected storage_io\n";
      return 1;
    }
    std::cout << "postgres component linked\n";
  }
#endif
#ifdef FACTUM_CONSUMER_SQLITE
  std::random_device rd;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("factum-consumer-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  int status = 0;
  {
    auto sqlite = factum::sqlite_store::open(dir / "consumer.db");
    status = sqlite ? round_trip(*sqlite, "sqlite_store")
                    : fail("sqlite_store", sqlite.error().message());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (status != 0) return status;
#endif
  return 0;
}
