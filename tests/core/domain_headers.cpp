// Domain code includes <factum/domain.hpp> and must not pay for the runtime
// or the backends: no Asio, SQLite or spdlog may come in with it.
#include <factum/domain.hpp>
#include <factum/fwd.hpp>

#if defined(SQLITE_VERSION) || defined(SPDLOG_VERSION) || defined(BOOST_ASIO_VERSION) || \
    defined(ASIO_VERSION)
#error "<factum/domain.hpp> pulled in SQLite, spdlog or Asio"
#endif

#include <catch2/catch.hpp>

TEST_CASE("domain headers stand alone and carry the version", "[core]") {
  STATIC_REQUIRE(FACTUM_VERSION ==
                 FACTUM_VERSION_MAJOR * 10000 + FACTUM_VERSION_MINOR * 100 + FACTUM_VERSION_PATCH);
  factum::stream_id id = factum::stream_id::of("account", "1");
  CHECK(id.category() == "account");
}
