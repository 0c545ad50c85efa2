#include <factum/store/conformance.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/temp_dir.hpp"

namespace {
struct sqlite_backend {
  factum_test::temp_dir dir;
  factum::sqlite_store store{dir / "events.db", {.synchronous = factum::sqlite_sync::normal}};
};
}  // namespace

FACTUM_STORE_CONFORMANCE("sqlite", sqlite_backend)
