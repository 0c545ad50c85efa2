// Built by tests/package/run_consumer.cmake with nothing but the flags that
// `pkg-config --cflags --libs factum-sqlite factum-postgres` prints: the
// compiled components link, and the SQLite store keeps an event.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <variant>

#include <factum/core.hpp>

#ifdef FACTUM_CONSUMER_SQLITE
#include <factum/store/sqlite_store.hpp>
#endif
#ifdef FACTUM_CONSUMER_POSTGRES
#include <factum/store/postgres_store.hpp>
#endif

namespace shop {
struct item_added {
  std::string name;
  std::int64_t count = 0;
};
FACTUM_EVENT(item_added, "ItemAdded", 1, name, count)
using codec = factum::codec<std::variant<item_added>>;
}  // namespace shop

int main() {
#ifdef FACTUM_CONSUMER_SQLITE
  {
    const auto path = std::filesystem::current_path() / "pkgconfig.db";
    std::filesystem::remove(path);
    auto store = factum::sqlite_store::open(path);
    if (!store) return std::cerr << store.error().message() << '\n', 1;
    auto appended =
        store->append(factum::stream_id::of("cart", "c-1"), factum::expected_version::no_stream(),
                      {shop::codec::encode(shop::item_added{"pear", 2})});
    if (!appended) return std::cerr << appended.error().message() << '\n', 1;
    if (store->stream_version(factum::stream_id::of("cart", "c-1")).value() != 1) return 1;
    std::cout << "pkg-config factum-sqlite: ok\n";
  }
#endif
#ifdef FACTUM_CONSUMER_POSTGRES
  {
    auto pg = factum::postgres_store::open("postgresql:///none?host=/nonexistent-factum",
                                           {.reconnect_for = std::chrono::milliseconds(0)});
    if (pg || pg.error().code() != factum::errc::storage_io) return 1;
    std::cout << "pkg-config factum-postgres: ok\n";
  }
#endif
  return 0;
}
