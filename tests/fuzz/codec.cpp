// The codec (core/codec.hpp) decoding arbitrary stored data as events of
// every field kind: integers of each width, bools, strings, doubles, nested
// objects, vectors, maps and optionals, on both the direct path (plain
// events) and nlohmann's. Decoding must never crash, throw or hit UB; when it
// succeeds, the data was JSON text (by factum's validator and by nlohmann's),
// and encoding the event and decoding that again gives it back.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/core/codec.hpp>

#include "check.hpp"

// nlohmann 3.11.2 has no std::optional mapping: null is "none".
namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& o) {
    if (o)
      j = *o;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& o) {
    if (j.is_null())
      o.reset();
    else
      o = j.get<T>();
  }
};
}  // namespace nlohmann

namespace fz {

// Plain events: the codec's direct text path.
struct ints {
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  bool flag = false;
  std::string text;
  friend bool operator==(const ints&, const ints&) = default;
};
FACTUM_EVENT(ints, "Ints", 1, i8, u8, i16, u16, i32, u32, i64, u64, flag, text)

struct deposited {
  std::int64_t amount = 0;
  std::string memo;
  friend bool operator==(const deposited&, const deposited&) = default;
};
FACTUM_EVENT(deposited, "Deposited", 1, amount, memo)

// Everything else: nlohmann's path.
struct point {
  double x = 0;
  double y = 0;
  friend bool operator==(const point&, const point&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(point, x, y)

struct shape {
  std::string name;
  std::vector<point> points;
  std::optional<std::string> label;
  std::optional<std::int32_t> weight;
  std::vector<std::uint16_t> tags;
  bool closed = false;
  double length = 0;
  friend bool operator==(const shape&, const shape&) = default;
};
FACTUM_EVENT(shape, "Shape", 1, name, points, label, weight, tags, closed, length)

struct drawing {
  shape outline;
  std::optional<point> origin;
  std::map<std::string, std::int64_t> counts;
  std::vector<std::vector<std::string>> layers;
  std::uint64_t revision = 0;
  friend bool operator==(const drawing&, const drawing&) = default;
};
FACTUM_EVENT(drawing, "Drawing", 1, outline, origin, counts, layers, revision)

using event = std::variant<ints, deposited, shape, drawing>;
using codec = factum::codec<event>;

}  // namespace fz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& info : fz::codec::types()) {
    // Versions the codec does not know fail cleanly.
    FACTUM_FUZZ_CHECK(!fz::codec::decode(info.name, 0, text));
    FACTUM_FUZZ_CHECK(!fz::codec::decode(info.name, info.version + 1, text));

    auto first = fz::codec::decode(info.name, info.version, text, 42);
    if (!first) {
      FACTUM_FUZZ_CHECK(first.error() == factum::errc::malformed_event ||
                        first.error() == factum::errc::decode_failed);
      continue;
    }
    // Only JSON decodes, by factum's validator (what the SQLite store checks)
    // and by nlohmann's (which stops at a NUL byte).
    FACTUM_FUZZ_CHECK(factum::detail::is_valid_json(text) && nlohmann::json::accept(text));
    const factum::event_data again = fz::codec::encode(*first);
    FACTUM_FUZZ_CHECK(again.type == info.name);
    auto second = fz::codec::decode(again.type, again.schema_version, again.data);
    FACTUM_FUZZ_CHECK(second.has_value());
    FACTUM_FUZZ_CHECK(*second == *first);
  }
  FACTUM_FUZZ_CHECK(fz::codec::decode("Unknown", 1, text).error() ==
                    factum::errc::unknown_event_type);
  return 0;
}
