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
