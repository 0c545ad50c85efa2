// The upcaster chain (core/codec.hpp, `factum_upcast`): stored data of any
// schema version and any of a type's names is upcast step by step and
// decoded. Upcasters that throw, a missing step, version 0 and versions from
// the future must all end in an error, never a crash, throw or UB; a decoded
// event re-encodes at the current version and decodes to itself.
//
// The first input byte picks the stored name and schema version; the rest is
// the stored data.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <factum/core/codec.hpp>

#include "check.hpp"

namespace up {

// Version 4, stored as "MoneyDeposited" and "Deposit" before.
// v1 {"euros": n}  ->  v2 {"cents": 100 n}  ->  v3 + "memo"  ->  v4 + "tags"
struct deposited {
  std::int64_t cents = 0;
  std::string memo;
  std::vector<std::string> tags;
  friend bool operator==(const deposited&, const deposited&) = default;
};
FACTUM_EVENT(deposited, "Deposited", 4, cents, memo, tags)
FACTUM_EVENT_OLD_NAMES(deposited, "MoneyDeposited", "Deposit")

inline void factum_upcast(factum::type_tag<deposited>, factum::upcast_from<1>, factum::json& j) {
  const auto& euros = j.at("euros");  // throws when missing (or j is no object)
  if (!euros.is_number_integer()) throw std::invalid_argument("euros is not an integer");
  const auto e = euros.get<std::int64_t>();
  constexpr auto limit = std::numeric_limits<std::int64_t>::max() / 100;
  if (e > limit || e < -limit) throw std::out_of_range("euros out of range");
  j["cents"] = e * 100;
  j.erase("euros");
}
inline void factum_upcast(factum::type_tag<deposited>, factum::upcast_from<2>, factum::json& j) {
  j["memo"] = "";  // throws on an array; makes an object of null
}
inline void factum_upcast(factum::type_tag<deposited>, factum::upcast_from<3>, factum::json& j) {
  auto tags = factum::json::array();
  if (const auto it = j.find("memo");
      it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
    tags.push_back(*it);
  j["tags"] = std::move(tags);
}

// Version 3 with an upcaster from 2 only: version 1 has no way up.
struct gap {
  std::int32_t x = 0;
  friend bool operator==(const gap&, const gap&) = default;
};
FACTUM_EVENT(gap, "Gap", 3, x)
inline void factum_upcast(factum::type_tag<gap>, factum::upcast_from<2>, factum::json& j) {
  if (j.is_object() && !j.contains("x")) j["x"] = 0;
}

// Renamed, never re-versioned.
struct renamed {
  bool on = false;
  friend bool operator==(const renamed&, const renamed&) = default;
};
FACTUM_EVENT(renamed, "Switched", 1, on)
FACTUM_EVENT_OLD_NAMES(renamed, "Toggled")

using event = std::variant<deposited, gap, renamed>;
using codec = factum::codec<event>;

constexpr std::array<std::string_view, 7> names{"Deposited", "MoneyDeposited", "Deposit", "Gap",
                                                "Switched",  "Toggled",        "Nope"};

}  // namespace up

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view name = up::names[(data[0] & 0x0F) % up::names.size()];
  const std::uint32_t version = data[0] >> 4 == 15 ? 0xFFFFFFFFu : data[0] >> 4;  // 0..14, max
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto first = up::codec::decode(name, version, text, 7);
  if (!first) {
    const auto& e = first.error();
    FACTUM_FUZZ_CHECK(e == factum::errc::malformed_event || e == factum::errc::decode_failed ||
                      e == factum::errc::unknown_event_type);
    FACTUM_FUZZ_CHECK((e == factum::errc::unknown_event_type) == !up::codec::knows(name));
    return 0;
  }
  FACTUM_FUZZ_CHECK(up::codec::knows(name) && version != 0);
  const factum::event_data again = up::codec::encode(*first);
  auto second = up::codec::decode(again.type, again.schema_version, again.data);
  FACTUM_FUZZ_CHECK(second.has_value());
  FACTUM_FUZZ_CHECK(*second == *first);
  return 0;
}
