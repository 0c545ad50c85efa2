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
