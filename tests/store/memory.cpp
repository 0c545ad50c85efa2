#include <factum/store/conformance.hpp>

namespace {
struct memory_backend {
  factum::memory_store store;
};
}  // namespace

FACTUM_STORE_CONFORMANCE("memory", memory_backend)
