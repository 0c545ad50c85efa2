#pragma once

// A small event set whose codec is declared with FACTUM_EXTERN_CODEC and
// compiled once, in extern_codec_instance.cpp: the TUs that use it link
// against that one instantiation.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <factum/domain.hpp>

namespace factum_test::extern_codec {

struct tag {
  std::string name;
};
FACTUM_JSON(tag, name)

struct item_tagged {
  std::string sku;
  std::vector<tag> tags;
};
FACTUM_EVENT(item_tagged, "ItemTagged", 1, sku, tags)

struct item_counted {
  std::int64_t count = 0;
};
FACTUM_EVENT(item_counted, "ItemCounted", 2, count)
inline void factum_upcast(factum::type_tag<item_counted>, factum::upcast_from<1>,
                          factum::json& data) {
  data["count"] = data["n"];
}

using event = std::variant<item_tagged, item_counted>;
using codec = factum::codec<event>;

}  // namespace factum_test::extern_codec

FACTUM_EXTERN_CODEC(factum_test::extern_codec::event)
