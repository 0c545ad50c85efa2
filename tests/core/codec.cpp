#include <array>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/domain.hpp>

#include "../support/events.hpp"

using namespace factum_test;
using factum::errc;

TEST_CASE("codec encodes with the registered name and version", "[core][codec]") {
  const auto d = account_codec::encode(money_withdrawn{30});
  CHECK(d.type == "MoneyWithdrawn");
  CHECK(d.schema_version == 2);
  CHECK(d.data == R"({"amount":30})");
  CHECK(d.id.version() == 7);

  const account_event as_variant = account_opened{"ann", 5};
  const auto v = account_codec::encode(as_variant);
  CHECK(v.type == "AccountOpened");
  CHECK(factum::json::parse(v.data) == factum::json{{"owner", "ann"}, {"initial", 5}});
  CHECK(account_codec::knows("MoneyDeposited"));
  CHECK_FALSE(account_codec::knows("MoneyTransferred"));
  CHECK(account_codec::types()[2].name == "MoneyWithdrawn");
}

TEST_CASE("codec decodes what it encoded", "[core][codec]") {
  for (const account_event& e :
       {account_event{account_opened{"bob", 1}}, account_event{money_deposited{2}},
        account_event{money_withdrawn{3}}}) {
    const auto d = account_codec::encode(e);
    auto back = account_codec::decode(d.type, d.schema_version, d.data);
    REQUIRE(back);
    CHECK(*back == e);
  }
}

TEST_CASE("codec errors name the type and position", "[core][codec]") {
  factum::recorded_event r;
  r.global_position = 42;
  r.type = "MoneyTransferred";
  r.data = R"({"amount":1})";
  auto unknown = account_codec::decode(r);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code() == errc::unknown_event_type);
  CHECK(unknown.error().position == 42u);

  r.type = "MoneyDeposited";
  r.data = R"({"amount":"lots"})";
  auto wrong_type = account_codec::decode(r);
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.error().code() == errc::decode_failed);
  CHECK(wrong_type.error().position == 42u);

  r.data = R"({"sum":1})";
  CHECK(account_codec::decode(r).error().code() == errc::decode_failed);

  r.data = R"({"amount":1})";
  r.schema_version = 7;
  CHECK(account_codec::decode(r).error().code() == errc::decode_failed);
}

namespace evolution {

struct renamed_v3 {
  std::int64_t cents = 0;
  std::string note;
};
FACTUM_EVENT(renamed_v3, "PaymentMade", 3, cents, note)
FACTUM_EVENT_OLD_NAMES(renamed_v3, "PaymentSent", "Payed")
// v1 {"euros": n} -> v2 {"cents": 100 n}
inline void factum_upcast(factum::type_tag<renamed_v3>, factum::upcast_from<1>, factum::json& j) {
  j["cents"] = j.at("euros").get<std::int64_t>() * 100;
  j.erase("euros");
}
// v2 -> v3 adds a note
inline void factum_upcast(factum::type_tag<renamed_v3>, factum::upcast_from<2>, factum::json& j) {
  j["note"] = "";
}

struct gap_v3 {
  std::int64_t x = 0;
};
FACTUM_EVENT(gap_v3, "Gap", 3, x)
inline void factum_upcast(factum::type_tag<gap_v3>, factum::upcast_from<2>, factum::json&) {}

using ev = std::variant<renamed_v3, gap_v3>;

factum::recorded_event stored(std::string type, std::uint32_t version, std::string data) {
  factum::recorded_event r;
  r.type = std::move(type);
  r.schema_version = version;
  r.data = std::move(data);
  r.global_position = 7;
  return r;
}

}  // namespace evolution

TEST_CASE("codec upcasts old versions step by step and reads old names", "[core][codec]") {
  using namespace evolution;
  using c = factum::codec<ev>;
  auto v1 = c::decode(stored("PaymentSent", 1, R"({"euros":2})")).value();
  CHECK(std::get<renamed_v3>(v1).cents == 200);
  CHECK(std::get<renamed_v3>(v1).note.empty());
  auto v2 = c::decode(stored("Payed", 2, R"({"cents":5})")).value();
  CHECK(std::get<renamed_v3>(v2).cents == 5);
  auto v3 = c::decode(stored("PaymentMade", 3, R"({"cents":7,"note":"n"})")).value();
  CHECK(std::get<renamed_v3>(v3).note == "n");
  CHECK(c::knows("PaymentSent"));
  CHECK(c::encode(renamed_v3{1, ""}).type == "PaymentMade");
  CHECK(factum::stored_names_of<renamed_v3>() ==
        std::vector<std::string>{"PaymentMade", "PaymentSent", "Payed"});
}

TEST_CASE("codec refuses versions it cannot reach, naming the missing upcaster", "[core][codec]") {
  using namespace evolution;
  using c = factum::codec<ev>;
  auto missing = c::decode(stored("Gap", 1, R"({"x":1})"));
  REQUIRE(!missing);
  CHECK(missing.error() == factum::errc::decode_failed);
  CHECK(missing.error().message().find("no upcaster from version 1 to 2") != std::string::npos);
  CHECK(c::decode(stored("Gap", 2, R"({"x":1})")).value().index() == 1);  // 2 -> 3 exists
  auto newer = c::decode(stored("Gap", 4, R"({"x":1})"));
  CHECK(newer.error() == factum::errc::decode_failed);
  CHECK(c::decode(stored("PaymentSent", 1, R"({"pounds":2})")).error() ==
        factum::errc::decode_failed);  // the upcaster threw: no crash
  CHECK(c::decode(stored("PaymentSent", 1, "{oops")).error() == factum::errc::malformed_event);
}

// nlohmann 3.11 maps no std::optional: a user who stores one writes this.
template <class T>
struct nlohmann::adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& v) {
    if (v)
      j = *v;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& v) {
    v = j.is_null() ? std::nullopt : std::optional<T>(j.get<T>());
  }
};

namespace numbers {

struct widths {  // plain: the direct path
  std::int8_t i8 = 0;
  std::int16_t i16 = 0;
  std::int32_t i32 = 0;
  std::int64_t i64 = 0;
  std::uint8_t u8 = 0;
  std::uint16_t u16 = 0;
  std::uint32_t u32 = 0;
  std::uint64_t u64 = 0;
  short s = 0;
  long l = 0;
  unsigned long ul = 0;
  long long ll = 0;
  bool b = false;
};
FACTUM_EVENT(widths, "Widths", 1, i8, i16, i32, i64, u8, u16, u32, u64, s, l, ul, ll, b)

struct widths_v2 : widths {};  // the same fields at version 2: the upcaster chain's DOM path
FACTUM_EVENT(widths_v2, "WidthsV2", 2, i8, i16, i32, i64, u8, u16, u32, u64, s, l, ul, ll, b)
inline void factum_upcast(factum::type_tag<widths_v2>, factum::upcast_from<1>, factum::json&) {}

struct inner {
  std::int16_t x = 0;
};
FACTUM_JSON(inner, x)

struct boxed {  // not plain: nlohmann's path, with numbers inside containers
  std::vector<std::uint8_t> bytes;
  std::array<std::int32_t, 2> pair{};
  std::map<std::string, std::int64_t> named;
  std::vector<std::vector<inner>> nested;
  std::optional<std::uint16_t> maybe;
  float f = 0;
  double d = 0;
};
FACTUM_EVENT(boxed, "Boxed", 1, bytes, pair, named, nested, maybe, f, d)

using ev = std::variant<widths, widths_v2, boxed>;
using c = factum::codec<ev>;

constexpr std::array<std::string_view, 13> names{"i8",  "i16", "i32", "i64", "u8", "u16", "u32",
                                                 "u64", "s",   "l",   "ul",  "ll", "b"};

/// The JSON of a `widths` with every field 0 (false), but `field`, which is `value`.
std::string widths_json(std::string_view field, std::string_view value) {
  std::string out = "{";
  for (const auto n : names) {
    if (out.size() > 1) out += ',';
    out += '"' + std::string(n) + "\":";
    out += n == field ? std::string(value) : n == "b" ? "false" : "0";
  }
  return out + '}';
}

template <class T>
std::string text_of(T v) {
  return std::to_string(v);
}

/// The lowest and highest value of each field's type, as text, and the
/// integers one beyond them.
struct limits {
  std::string_view field;
  std::string min, max, below, above;
};

template <class T>
limits limits_of(std::string_view field) {
  using nl = std::numeric_limits<T>;
  const auto plus_one = [](std::string s) {  // decimal + 1, for 2^64 and the like
    for (auto i = s.size(); i-- > 0;) {
      if (s[i] != '9') return ++s[i], s;
      s[i] = '0';
    }
    return "1" + s;
  };
  std::string below = nl::min() == 0 ? "-1" : "-" + plus_one(text_of(nl::min()).substr(1));
  return {field, text_of(nl::min()), text_of(nl::max()), below, plus_one(text_of(nl::max()))};
}

}  // namespace numbers

TEST_CASE("codec integer fields take exactly the integers their type holds", "[core][codec]") {
  using namespace numbers;
  const std::vector<limits> all{limits_of<std::int8_t>("i8"),    limits_of<std::int16_t>("i16"),
                                limits_of<std::int32_t>("i32"),  limits_of<std::int64_t>("i64"),
                                limits_of<std::uint8_t>("u8"),   limits_of<std::uint16_t>("u16"),
                                limits_of<std::uint32_t>("u32"), limits_of<std::uint64_t>("u64"),
                                limits_of<short>("s"),           limits_of<long>("l"),
                                limits_of<unsigned long>("ul"),  limits_of<long long>("ll")};
  for (const char* type : {"Widths", "WidthsV2"}) {
    const auto decode = [&](std::string_view field, std::string_view value) {
      return c::decode(type, 1, widths_json(field, value));
    };
    for (const auto& l : all) {
      INFO(type << " field " << l.field);
      for (const auto& good : {l.min, l.max, std::string("0"), std::string("-0"), std::string("1"),
                               std::string("100.0"), std::string("1e2"), std::string("1.00E+2")}) {
        INFO("accepted " << good);
        auto e = decode(l.field, good);
        CHECK(e);
      }
      for (const auto& bad :
           {l.below, l.above, std::string("1.7"), std::string("-0.5"), std::string("2.1e19"),
            std::string("-2.1e19"), std::string("1e-2"), std::string("18446744073709551616"),
            std::string("-9223372036854775809"), std::string("9007199254740993.0"),
            std::string("1e30"), std::string("true"), std::string("null"), std::string("\"1\""),
            std::string("[1]")}) {
        INFO("refused " << bad);
        auto e = decode(l.field, bad);
        CHECK((!e && e.error() == errc::decode_failed));
      }
    }
    for (const char* bad : {"1", "0", "null", "\"true\""}) {
      INFO(type << " bool refused " << bad);
      auto e = decode("b", bad);
      CHECK((!e && e.error() == errc::decode_failed));
    }
    auto out_of_range = decode("u8", "353");
    CHECK((!out_of_range && out_of_range.error().message().find("'u8'") != std::string::npos));
  }
}

TEST_CASE("codec integer fields decode to the exact value", "[core][codec]") {
  using namespace numbers;
  auto get = [](std::string_view field, std::string_view value) {
    return std::get<widths>(c::decode("Widths", 1, widths_json(field, value)).value());
  };
  CHECK(get("i8", "-128").i8 == -128);
  CHECK(get("u8", "255").u8 == 255);
  CHECK(get("i64", "-9223372036854775808").i64 == std::numeric_limits<std::int64_t>::min());
  CHECK(get("u64", "18446744073709551615").u64 == std::numeric_limits<std::uint64_t>::max());
  CHECK(get("i64", "9007199254740993").i64 == 9007199254740993);  // an integer: exact
  CHECK(get("i32", "4.1e1").i32 == 41);
  CHECK(get("u16", "-0.0").u16 == 0);
  CHECK(get("i64", "9007199254740991.0").i64 == 9007199254740991);
  CHECK(get("b", "true").b);
}

TEST_CASE("codec numbers inside containers are checked too", "[core][codec]") {
  using namespace numbers;
  const auto decode = [](std::string_view bytes, std::string_view pair, std::string_view named,
                         std::string_view nested, std::string_view f,
                         std::string_view maybe = "null") {
    return c::decode("Boxed", 1,
                     R"({"bytes":)" + std::string(bytes) + R"(,"pair":)" + std::string(pair) +
                         R"(,"named":)" + std::string(named) + R"(,"nested":)" +
                         std::string(nested) + R"(,"f":)" + std::string(f) + R"(,"maybe":)" +
                         std::string(maybe) + R"(,"d":1e300})");
  };
  auto ok =
      decode("[0,255]", "[-2147483648,2147483647]", R"({"a":-1})", R"([[{"x":-32768}]])", "3.4e38");
  REQUIRE(ok);
  const auto& b = std::get<boxed>(*ok);
  CHECK(b.bytes == std::vector<std::uint8_t>{0, 255});
  CHECK(b.nested.at(0).at(0).x == -32768);
  CHECK(decode("[1]", "[1,2]", "{}", "[]", "1e-50"));  // underflow rounds to 0: fine
  CHECK(std::get<boxed>(decode("[]", "[1,2]", "{}", "[]", "0", "65535").value()).maybe == 65535);
  for (const char* maybe : {"65536", "-1", "0.5", "true", "\"1\""}) {
    INFO("maybe " << maybe);
    auto e = decode("[]", "[1,2]", "{}", "[]", "0", maybe);
    CHECK((!e && e.error() == errc::decode_failed));
  }

  for (const auto& [bytes, pair, named, nested, f] : std::vector<std::array<std::string_view, 5>>{
           {"[1,353]", "[1,2]", "{}", "[]", "0"},
           {"[1,-1]", "[1,2]", "{}", "[]", "0"},
           {"[1.5]", "[1,2]", "{}", "[]", "0"},
           {"[true]", "[1,2]", "{}", "[]", "0"},
           {"[]", "[1,2.1e19]", "{}", "[]", "0"},
           {"[]", "[1,2,3]", "{}", "[]", "0"},
           {"[]", "[1,2]", R"({"a":9223372036854775808})", "[]", "0"},
           {"[]", "[1,2]", R"({"a":1e19})", "[]", "0"},
           {"[]", "[1,2]", "{}", R"([[{"x":32768}]])", "0"},
           {"[]", "[1,2]", "{}", R"([[{"x":0.5}]])", "0"},
           {"[]", "[1,2]", "{}", "[]", "1e39"},
           {"[]", "[1,2]", "{}", "[]", "-3.5e38"},
           {"[]", "[1,2]", "{}", "[]", "true"},
       }) {
    INFO(bytes << ' ' << pair << ' ' << named << ' ' << nested << ' ' << f);
    auto e = decode(bytes, pair, named, nested, f);
    CHECK((!e && e.error() == errc::decode_failed));
  }
  auto deep = decode("[]", "[1,2]", "{}", R"([[{"x":1}],[{"x":1},{"x":40000}]])", "0");
  REQUIRE_FALSE(deep);
  CHECK(deep.error().message().find("'nested': [1]: [1]: field 'x'") != std::string::npos);
}

TEST_CASE("codec refuses data with text after a NUL byte, found by the fuzzer", "[core][codec]") {
  // nlohmann's parser takes a NUL for the end of its input: without the
  // validator in front, both of these decoded as if the NUL ended the data.
  const std::string plain("{\"owner\":\"ann\",\"initial\":1}\0x", 29);
  const auto a = account_codec::decode("AccountOpened", 1, plain);
  REQUIRE_FALSE(a);
  CHECK(a.error().code() == errc::malformed_event);
  using namespace evolution;
  const std::string old("{\"euros\":2}\0x", 13);
  const auto b = factum::codec<ev>::decode(stored("PaymentSent", 1, old));
  REQUIRE_FALSE(b);
  CHECK(b.error().code() == errc::malformed_event);
}
