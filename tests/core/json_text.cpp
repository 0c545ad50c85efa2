// The codec's direct JSON path must agree with nlohmann's on every input.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
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
using text_codec = factum::codec<event>;
using factum::json;

static_assert(factum::plain_event<profile_changed>);
static_assert(!factum::plain_event<tags_set>);

namespace {

bool has_bom(std::string_view s) {
  return s.substr(0, 3) == "\xEF\xBB\xBF";
}

/// What the store's validator must say: what nlohmann's parser says, except
/// that a leading byte order mark is refused, and so is a NUL byte, where
/// nlohmann stops reading as if the text ended (it accepts "[1]\0junk").
/// Nesting is tested apart.
bool store_should_accept(const std::string& s) {
  return json::accept(s) && !has_bom(s) && s.find('\0') == std::string::npos;
}

std::string hex4(unsigned unit, bool upper = false) {
  static constexpr char lower_digits[] = "0123456789abcdef", upper_digits[] = "0123456789ABCDEF";
  const char* digits = upper ? upper_digits : lower_digits;
  std::string out;
  for (int shift = 12; shift >= 0; shift -= 4)
    out += digits[(unit >> shift) & 0xF];
  return out;
}

std::vector<std::string> valid_documents() {
  return {R"({"name":"ann","age":41,"visits":3,"active":true})",
          R"([1,-2.5e3,true,false,null,"a\u00e9\ud83c\udfe6\n",{"k":[{}]}])",
          "{\"s\":\"h\xC3\xA9 \xF0\x9F\x8F\xA6 \xE2\x82\xAC\",\"n\":[0,-0,1e-400,1.5E+300]}",
          R"(  {  "a" : [ 1 , 2 ] , "b" : { "c" : "\"\\\/\b\f\n\r\t" }  }  )",
          R"("\uD834\uDD1E")",
          "18446744073709551616",
          "-9223372036854775809"};
}

/// A few hundred inputs that are, or nearly are, JSON: every escape, valid
/// and broken surrogate pairs, number forms at a double's limits, UTF-8,
/// whitespace, truncations, and random byte mutations (a fixed seed).
std::vector<std::string> tricky_inputs() {
  std::vector<std::string> out{
      "{}", "[]", "0", "-0", "1.5e10", "-1E-2", "true", "null", "\"\"", R"({"a":[1,{"b":null}]})",
      " { \"a\" : 1 } ", "\"\\u00e9\\n\\\"\"", "\"h\xC3\xA9\"", "\"\xF0\x9F\x8F\xA6\"",
      // malformed
      "", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "1e",
      "+1", "tru", "nulls", "\"abc", "\"\\x\"", "\"\\u12g4\"", "\"\x01\"", "\"\xC3\x28\"",
      "\"\xED\xA0\x80\"", "\"\xC0\xAF\"", "\"\xF4\x90\x80\x80\"", "{} {}", "[1 2]", "{\"a\":1,}",
      "\"\x7F\"", "\"\\u0000\"", "[\"\\uFFFF\"]", "NaN", "Infinity", "-Infinity", "[1]]", "[[1]",
      "{\"a\":1}}", "\"\\\"", "\"\\", "\"\\u", "\"\\u00", std::string("\"\0\"", 3),
      std::string("[1]\0", 4), "\xEF\xBB", "\xEF\xBB\xBF", "{}\xEF\xBB\xBF", "/* c */ 1", "1 // c",
      "[1,2,3,]", "[,1]", "{,}", "{\"a\":1 \"b\":2}", "{\"a\",1}", "{1:2}", "[\"a\":1]", "True",
      "NULL", "fals", "falsey", "-01", "-.5", "1e+", "1e-", "1.0e", "0x10", "1_000", "--1", "-+1"};

  // Every character after a backslash.
  for (int c = 0x20; c < 0x7F; ++c)
    out.push_back(std::string("\"\\") + static_cast<char>(c) + "\"");
  // \u escapes alone and in pairs: surrogates must pair, high then low.
  const unsigned units[] = {0x0000, 0x001F, 0x0041, 0x00E9, 0xD7FF, 0xD800, 0xDB7F,
                            0xDBFF, 0xDC00, 0xDE00, 0xDFFF, 0xE000, 0xFFFE, 0xFFFF};
  for (const unsigned first : units) {
    out.push_back("\"\\u" + hex4(first) + "\"");
    out.push_back("\"\\u" + hex4(first, true) + "x\"");
    out.push_back("\"\\u" + hex4(first) + "\\n\"");
    out.push_back("\"\\u" + hex4(first) + "\\u\"");
    out.push_back("\"\\u" + hex4(first) + "\\u00\"");
    out.push_back("\"\\u" + hex4(first));
    for (const unsigned second : units)
      out.push_back("\"\\u" + hex4(first) + "\\u" + hex4(second, second & 1) + "\"");
  }
  // Numbers: signs, integer parts, fractions and exponents, up to and past
  // a double's range.
  const std::string big(309, '9');
  for (const std::string sign : {"", "-", "+"})
    for (const std::string& integer :
         std::vector<std::string>{"", "0", "00", "1", "01", "123", "18446744073709551616",
                                  "1" + std::string(308, '0'), "1" + std::string(309, '0')})
      for (const std::string fraction : {"", ".", ".0", ".5", ".0000001", ".e"})
        for (const std::string exponent :
             {"", "e", "E", "e+", "e-", "e0", "e007", "E+1", "e308", "e309", "e-307", "e-324",
              "e-330", "E+400", "e-400", "e99999999999999999999", "e-99999999999999999999"}) {
          const std::string n = sign + integer + fraction + exponent;
          out.push_back(n);
          out.push_back("[" + n + "]");
        }
  for (const std::string& n :
       std::vector<std::string>{"1.7976931348623157e308",
                                "1.7976931348623158e308",
                                "1.7976931348623159e308",
                                "-1.7976931348623159e308",
                                "179769313486231570814527423731704356798070567525844996598917"
                                "4768031572607800285387605895586327668781715404589535143824642"
                                "3432132688946418276846754670353751698604991057655128207624549"
                                "0090389328944075868508455133942304583236903222948165808559332"
                                "1233482747978262041447231687381771809192998812504040261841248"
                                "58368",
                                big,
                                "-" + big,
                                "0." + big + "e309",
                                "0.000000001e317",
                                "0.000000001e318",
                                "10e307",
                                "100e307",
                                "2.4e-324",
                                "2.5e-324",
                                "4.9e-324",
                                "5e-324",
                                "0e999999",
                                "-0.0e-99999",
                                "1e-2147483649",
                                "1e2147483648",
                                "1e9223372036854775808"})
    out.push_back(n);
  // UTF-8 in strings: every lead byte with continuation bytes at the edges.
  for (int b0 = 0x80; b0 <= 0xFF; ++b0)
    for (const int b1 : {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF}) {
      std::string s = "\"";
      s += static_cast<char>(b0);
      s += static_cast<char>(b1);
      s += "\x80\x80\"";
      out.push_back(s);
      out.push_back(s.substr(0, 3) + "\"");
    }
  // Whitespace JSON has, and some it does not.
  for (const char* ws : {" ", "\t", "\n", "\r", "\f", "\v", "\xC2\xA0", "\x00"}) {
    const std::string w(ws, *ws ? std::char_traits<char>::length(ws) : 1);
    for (const std::string& doc :
         {std::string("1"), std::string("[1,2]"), std::string("{\"a\":1}")}) {
      out.push_back(w + doc + w);
      std::string inside = doc;
      if (inside.size() > 2) inside.insert(2, w);
      out.push_back(inside);
    }
  }
  // Every prefix of the valid documents, and random mutations of them.
  const auto docs = valid_documents();
  for (const auto& doc : docs)
    for (std::size_t n = 0; n <= doc.size(); ++n)
      out.push_back(doc.substr(0, n));
  std::mt19937 random{14};
  const std::string alphabet =
      "{}[]\",:\\u0123456789abcdefABCDEF.eE+- \t\ntrufalsn\xC3\xA9\xED\xF0";
  const auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(random);
  };
  for (int i = 0; i < 3000; ++i) {
    std::string s = docs[pick(docs.size())];
    for (int edits = 1 + static_cast<int>(pick(3)); edits > 0 && !s.empty(); --edits) {
      const char c = pick(4) == 0 ? static_cast<char>(pick(256)) : alphabet[pick(alphabet.size())];
      switch (pick(3)) {
        case 0:
          s[pick(s.size())] = c;
          break;
        case 1:
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)), c);
          break;
        default:
          s.erase(pick(s.size()), 1);
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

TEST_CASE("the JSON validator agrees with nlohmann", "[core][json]") {
  const auto inputs = tricky_inputs();
  std::size_t accepted = 0;
  for (const auto& s : inputs) {
    INFO("input: " << json(s).dump(-1, ' ', true, json::error_handler_t::replace));
    // accept() and parse() agree, so the codec reads what accept() takes.
    const bool parses = !json::parse(s, nullptr, false).is_discarded();
    REQUIRE(json::accept(s) == parses);
    CHECK(factum::detail::is_valid_json(s) == store_should_accept(s));
    accepted += parses;
  }
  CHECK(inputs.size() > 2000);
  CHECK(accepted > 300);  // the corpus is not all garbage
}

TEST_CASE("the JSON validator refuses what nlohmann cannot read", "[core][json]") {
  for (const char* s : {"\"\\ud800\"", "\"\\udfff\"", "\"\\ud800\\u0041\"", "\"\\udc00\\ud800\"",
                        "[1e400]", "-1e400", "1e309", "{\"a\":1.7976931348623159e308}"}) {
    INFO(s);
    CHECK_FALSE(json::accept(s));
    CHECK_FALSE(factum::detail::is_valid_json(s));
  }
  for (const char* s : {"\"\\ud800\\udc00\"", "1e-400", "-1e-400", "1e308", "0e400"}) {
    INFO(s);
    CHECK(json::accept(s));
    CHECK(factum::detail::is_valid_json(s));
  }
}

TEST_CASE("the JSON validator is stricter than nlohmann on depth, BOM and NUL", "[core][json]") {
  // nlohmann parses any depth without recursion; the validator recurses, so
  // it stops 512 levels below the top value. The store refuses what it
  // refuses, so nothing stored is unreadable.
  for (const int depth : {1, 2, 100, 512, 513, 514, 600, 5000}) {
    INFO("depth " << depth);
    const std::string arrays = std::string(depth, '[') + std::string(depth, ']');
    std::string objects;
    for (int i = 0; i < depth; ++i)
      objects += "{\"k\":";
    objects += "1" + std::string(depth, '}');
    CHECK(json::accept(arrays));
    CHECK(json::accept(objects));
    CHECK(factum::detail::is_valid_json(arrays) == (depth <= 513));
    CHECK(factum::detail::is_valid_json(objects) == (depth <= 512));
  }
  CHECK(json::accept("\xEF\xBB\xBF{}"));
  CHECK_FALSE(factum::detail::is_valid_json("\xEF\xBB\xBF{}"));
  const std::string nul("[1] \0 junk", 10);
  CHECK(json::accept(nul));
  CHECK(json::parse(nul) == json::array({1}));
  CHECK_FALSE(factum::detail::is_valid_json(nul));
}

TEST_CASE("plain events encode directly, like nlohmann would", "[core][json]") {
  const profile_changed p{"Zo\xC3\xAB \"Z\" \\ \n\t\x01", -7, 18446744073709551615ull, true};
  const auto d = text_codec::encode(p);
  CHECK(json::parse(d.data) == json(p));
  CHECK(text_codec::decode(d.type, d.schema_version, d.data).value() == event{p});

  const profile_changed bad_utf8{"\xC3\x28", 1, 2, false};  // replaced, never thrown
  const auto r = text_codec::encode(bad_utf8);
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
    auto e = text_codec::decode("ProfileChanged", 1, text);
    REQUIRE(e);
    CHECK(*e == event{expected});
  }
  for (const char* text : {
           R"({"name":"ann","age":41,"visits":3})",                  // missing field
           R"({"name":"ann","age":"41","visits":3,"active":true})",  // wrong type
       }) {
    INFO(text);
    auto e = text_codec::decode("ProfileChanged", 1, text);
    REQUIRE_FALSE(e);
    CHECK(e.error().code() == factum::errc::decode_failed);
  }
  auto broken = text_codec::decode("ProfileChanged", 1, R"({"name":"ann",)", 12);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code() == factum::errc::malformed_event);
  CHECK(broken.error().position == 12u);
}

TEST_CASE("events with other fields take nlohmann's path", "[core][json]") {
  const tags_set t{{"a", "b\"c"}, 0.25};
  const auto d = text_codec::encode(t);
  CHECK(text_codec::decode(d.type, d.schema_version, d.data).value() == event{t});
}

namespace {

/// What nlohmann's path alone makes of `text`: the codec's result when it
/// does not take the direct path.
factum::result<event> through_nlohmann(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return factum::error{factum::errc::malformed_event, "not JSON"};
  try {
    return event{j.get<profile_changed>()};
  } catch (const std::exception& e) {
    return factum::error{factum::errc::decode_failed, e.what()};
  }
}

}  // namespace

TEST_CASE("the direct path decodes as nlohmann's path does", "[core][json]") {
  std::vector<std::string> inputs;
  for (const std::string age :
       {"41", "-0", "0", "01", "-01", "2147483647", "2147483648", "-2147483648", "-2147483649",
        "41.0", "4.1e1", "41.5", "1e400", "1e-400", "true", "\"41\"", "null", "9e18", "- 1"})
    for (const std::string visits : {"3", "0", "-1", "-0", "18446744073709551615",
                                     "18446744073709551616", "3.0", "1e19", "003"})
      for (const std::string name : {"\"ann\"", "\"\\u0061nn\"", "\"h\xC3\xA9\"", "\"\xC3\x28\"",
                                     "\"\xED\xA0\x80\"", "\"\\ud800\"", "\"a\x01\"", "1"})
        for (const std::string active : {"true", "false", "1", "tru"})
          inputs.push_back(R"({"name":)" + name + R"(,"age":)" + age + R"(,"visits":)" + visits +
                           R"(,"active":)" + active + "}");
  std::mt19937 random{14};
  const std::size_t generated = inputs.size();
  for (std::size_t i = 0; i < 3000; ++i) {
    std::string s = inputs[random() % generated];
    s[random() % s.size()] = "0123456789-.eE\"{}:, \\u"[random() % 22];
    inputs.push_back(std::move(s));
  }
  for (const auto& text : inputs) {
    INFO(json(text).dump(-1, ' ', true, json::error_handler_t::replace));
    const auto direct = text_codec::decode("ProfileChanged", 1, text);
    const auto dom = through_nlohmann(text);
    REQUIRE(bool(direct) == bool(dom));
    if (direct)
      CHECK(*direct == *dom);
    else
      CHECK(direct.error().code() == dom.error().code());
  }
}
