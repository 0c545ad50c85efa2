#include <catch2/catch.hpp>

#include <factum/core.hpp>

using namespace factum;

TEST_CASE("error codes have a category and clear messages", "[core][error]") {
  const std::error_code ec = errc::concurrency_conflict;
  CHECK(ec.category().name() == std::string("factum"));
  CHECK(ec.message() == "wrong expected version");
  for (int i = 1; i <= static_cast<int>(errc::domain_exception); ++i)
    CHECK(make_error_code(static_cast<errc>(i)).message().rfind("unknown factum error", 0) != 0);
  const error e{errc::storage_full, "appending to 'a-1'"};
  CHECK(e.message() == "database or disk is full: appending to 'a-1'");
  CHECK(e == errc::storage_full);
}

TEST_CASE("result holds a value or an error", "[core][result]") {
  result<int> ok = 3;
  REQUIRE(ok);
  CHECK(*ok == 3);
  CHECK(ok.value_or(4) == 3);
  result<int> bad = error{errc::not_found, "x"};
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == errc::not_found);
  CHECK(bad.value_or(4) == 4);
  CHECK_THROWS_AS(bad.value(), factum::system_error);
  try {
    (void)bad.value();
  } catch (const factum::system_error& ex) {
    CHECK(ex.error().code() == errc::not_found);
    CHECK(ex.code() == errc::not_found);
  }
  result<void> done;
  CHECK(done);
  result<void> failed = errc::storage_io;
  CHECK_FALSE(failed);
  CHECK_THROWS_AS(failed.value(), factum::system_error);
  result<std::string> from_literal = "text";
  CHECK(*from_literal == "text");
}

TEST_CASE("stream ids name a category and are validated", "[core][stream_id]") {
  const auto s = stream_id::of("account", "acc-1");
  CHECK(s.str() == "account-acc-1");
  CHECK(s.category() == "account");
  CHECK(s.id() == "acc-1");
  CHECK(stream_id{"plain"}.category() == "plain");
  CHECK(stream_id{"plain"}.id().empty());
  CHECK(s.validate());
  CHECK(stream_id::validate("").error().code() == errc::invalid_stream_id);
  CHECK(stream_id::validate(std::string(stream_id::max_size + 1, 'a')).error().code() ==
        errc::invalid_stream_id);
  CHECK(stream_id::validate(std::string("a\0b", 3)).error().code() == errc::invalid_stream_id);
}

TEST_CASE("positions order and round-trip through text", "[core][position]") {
  CHECK(position::start() < position::at(1));
  CHECK(position{1, 9} < position{2, 3});  // commit order first
  CHECK(position::parse(position{5, 6}.to_string()) == position{5, 6});
  CHECK_FALSE(position::parse("5"));
  CHECK_FALSE(position::parse("5/x"));
  CHECK_FALSE(position::parse("/5"));
}

TEST_CASE("expected versions match stream versions", "[core][expected_version]") {
  CHECK(expected_version::any().matches(0));
  CHECK(expected_version::any().matches(5));
  CHECK(expected_version::no_stream().matches(0));
  CHECK_FALSE(expected_version::no_stream().matches(1));
  CHECK(expected_version::stream_exists().matches(1));
  CHECK_FALSE(expected_version::stream_exists().matches(0));
  CHECK(expected_version::exact(3).matches(3));
  CHECK_FALSE(expected_version::exact(3).matches(4));
  CHECK(expected_version::exact(3).to_string() == "3");
  CHECK(expected_version::no_stream().to_string() == "no_stream");
}
