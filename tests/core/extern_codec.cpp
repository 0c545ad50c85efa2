// FACTUM_EXTERN_CODEC / FACTUM_INSTANTIATE_CODEC: a codec compiled in
// another TU encodes, decodes and upcasts as an inline one does, and the
// given/when/then fixture round-trips through it.
#include "extern_codec.hpp"

#include <catch2/catch.hpp>

#include <factum/domain/testing.hpp>

namespace ec = factum_test::extern_codec;

TEST_CASE("a codec compiled in one TU encodes and decodes in another", "[core][codec]") {
  const ec::event e = ec::item_tagged{"sku-1", {{"red"}, {"big"}}};
  const auto d = ec::codec::encode(e);
  CHECK(d.type == "ItemTagged");
  CHECK(d.data == R"({"sku":"sku-1","tags":[{"name":"red"},{"name":"big"}]})");
  auto back = ec::codec::decode(d.type, d.schema_version, d.data);
  REQUIRE(back);
  CHECK(std::get<ec::item_tagged>(*back).tags.at(1).name == "big");

  auto old = ec::codec::decode("ItemCounted", 1, R"({"n":4})");
  REQUIRE(old);
  CHECK(std::get<ec::item_counted>(*old).count == 4);

  factum::recorded_event r;
  r.type = "ItemCounted";
  r.schema_version = 2;
  r.data = R"({"count":1.5})";
  r.global_position = 9;
  auto bad = ec::codec::decode(r);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == factum::errc::decode_failed);
  CHECK(bad.error().position == 9u);
  CHECK(ec::codec::decode("ItemSold", 1, "{}").error().code() == factum::errc::unknown_event_type);
}

namespace {
struct counter {
  static constexpr std::string_view category = "counter";
  using event = ec::event;
  using command = std::int64_t;
  struct state {
    std::int64_t count = 0;
  };
  static factum::decision<event> execute(const state& s, const command& c) {
    if (c < 0) return factum::reject("negative");
    return ec::item_counted{s.count + c};
  }
  static void apply(state& s, const event& e) {
    if (const auto* c = std::get_if<ec::item_counted>(&e)) s.count = c->count;
  }
};
}  // namespace

TEST_CASE("the given/when/then fixture round-trips through an extern codec", "[core][codec]") {
  factum::testing::given<counter>({ec::item_counted{2}})
      .when(3)
      .then_expect({ec::item_counted{5}})
      .then_state([](const counter::state& s) { return s.count == 5; });
  factum::testing::given<counter>().when(-1).then_reject("negative");
}
