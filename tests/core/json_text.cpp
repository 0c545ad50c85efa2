// The codec's direct JSON path must agree with nlohmann's on every input.
#include <vector>

#include <catch2/catch.hpp>

#include <factum/domain.hpp>

namespace json_text_test {

struct profile_changed {
  std::string name;
  std::int32_t age = 0;
  std::uint64_t visits = 0;
  bool active = false;
  friend bool operator==(const profile_changed&, const profile_changed&) = default;
};
FACTUM_EVENT(profile_changed, "ProfileChanged", 1, name, age, visits, active)

struct tags_set {  // not plain: a vector field takes nlohmann's path
  std::vector<std::string> tags;
  double weight = 0;
  friend bool operator==(const tags_set&, const tags_set&) = default;
};
FACTUM_EVENT(tags_set, "TagsSet", 1, tags, weight)

}  // namespace json_text_test

using namespace json_text_test;
using event = std::variant<profile_changed, tags_set>;
using codec = factum::codec<event>;
using factum::json;

static_assert(factum::plain_event<profile_changed>);
static_assert(!factum::plain_event<tags_set>);

TEST_CASE("the JSON validator agrees with nlohmann", "[core][json]") {
  const std::vector<std::string> samples{
      "{}", "[]", "0", "-0", "1.5e10", "-1E-2", "true", "null", "\"\"", R"({"a":[1,{"b":null}]})",
      " { \"a\" : 1 } ", "\"\\u00e9\\n\\\"\"", "\"h\xC3\xA9\"", "\"\xF0\x9F\x8F\xA6\"",
      // malformed
      "", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "1e",
      "+1", "tru", "nulls", "\"abc", "\"\\x\"", "\"\\u12g4\"", "\"\x01\"", "\"\xC3\x28\"",
      "\"\xED\xA0\x80\"", "\"\xC0\xAF\"", "\"\xF4\x90\x80\x80\"", "{} {}", "[1 2]", "{\"a\":1,}"};
  for (const auto& s : samples) {
    INFO("input: " << s);
    CHECK(factum::detail::is_valid_json(s) == json::accept(s));
  }
  CHECK_FALSE(factum::detail::is_valid_json(std::string(600, '[') + std::string(600, ']')));
}

TEST_CASE("plain events encode directly, like nlohmann would", "[core][json]") {
  const profile_changed p{"Zo\xC3\xAB \"Z\" \\ \n\t\x01", -7, 18446744073709551615ull, true};
  const auto d = codec::encode(p);
  CHECK(json::parse(d.data) == json(p));
  CHECK(codec::decode(d.type, d.schema_version, d.data).value() == event{p});

  const profile_changed bad_utf8{"\xC3\x28", 1, 2, false};  // replaced, never thrown
  const auto r = codec::encode(bad_utf8);
  CHECK(factum::detail::is_valid_json(r.data));
}

TEST_CASE("plain events decode any JSON spelling, with nlohmann's results", "[core][json]") {
  const profile_changed expected{"ann", 41, 3, true};
  for (const char* text : {
           R"({"name":"ann","age":41,"visits":3,"active":true})",
           R"(  { "active" : true , "visits":3, "age" :41 ,"name": "ann" }  )",
           R"({"name":"\u0061nn","age":41,"visits":3,"active":true})",     // \u: nlohmann
           R"({"name":"ann","age":41.0,"visits":3,"active":true})",        // a fraction: nlohmann
           R"({"name":"ann","age":41,"visits":3,"active":true,"x":[1]})",  // extra key
       }) {
    INFO(text);
    auto e = codec::decode("ProfileChanged", 1, text);
    REQUIRE(e);
    CHECK(*e == event{expected});
  }
  for (const char* text : {
           R"({"name":"ann","age":41,"visits":3})",                  // missing field
           R"({"name":"ann","age":"41","visits":3,"active":true})",  // wrong type
       }) {
    INFO(text);
    auto e = codec::decode("ProfileChanged", 1, text);
    REQUIRE_FALSE(e);
    CHECK(e.error().code() == factum::errc::decode_failed);
  }
  auto broken = codec::decode("ProfileChanged", 1, R"({"name":"ann",)", 12);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code() == factum::errc::malformed_event);
  CHECK(broken.error().position == 12u);
}

TEST_CASE("events with other fields take nlohmann's path", "[core][json]") {
  const tags_set t{{"a", "b\"c"}, 0.25};
  const auto d = codec::encode(t);
  CHECK(codec::decode(d.type, d.schema_version, d.data).value() == event{t});
}
