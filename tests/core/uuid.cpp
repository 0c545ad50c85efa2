#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/core/uuid.hpp>

using factum::uuid;

TEST_CASE("uuid v7 is versioned, time-ordered and strictly increasing", "[core][uuid]") {
  const auto before = std::chrono::system_clock::now();
  uuid prev = uuid::v7();
  CHECK(prev.version() == 7);
  CHECK((prev.bytes()[8] & 0xC0) == 0x80);  // RFC 9562 variant
  const auto drift = prev.time() - before;
  CHECK(std::chrono::abs(drift) < std::chrono::seconds(2));
  for (int i = 0; i < 100'000; ++i) {  // many per millisecond: the counter keeps order
    const uuid next = uuid::v7();
    REQUIRE(prev < next);
    prev = next;
  }
}

TEST_CASE("uuid v7 is unique and monotonic across threads", "[core][uuid]") {
  constexpr int threads = 4, per_thread = 20'000;
  std::vector<std::vector<uuid>> made(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        made[t].push_back(uuid::v7());
    });
  for (auto& t : pool)
    t.join();
  std::set<uuid> all;
  for (const auto& v : made) {
    CHECK(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  CHECK(all.size() == threads * per_thread);
}

TEST_CASE("uuid text form round-trips and rejects malformed text", "[core][uuid]") {
  const uuid u = uuid::v4();
  CHECK(u.version() == 4);
  const std::string text = u.to_string();
  CHECK(text.size() == 36);
  CHECK(uuid::parse(text) == u);
  std::string upper = text;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(uuid::parse(upper) == u);
  CHECK(uuid::parse("00000000-0000-0000-0000-000000000000")->is_nil());
  CHECK_FALSE(uuid::parse(""));
  CHECK_FALSE(uuid::parse("0190b6f4-3c1a-7e5b-8d41-6f0a2c3b9e1"));
  CHECK_FALSE(uuid::parse("0190b6f4+3c1a-7e5b-8d41-6f0a2c3b9e17"));
  CHECK_FALSE(uuid::parse("0190b6f4-3c1a-7e5b-8d41-6f0a2c3b9e1g"));
}

TEST_CASE("uuid time saturates where system_clock ends instead of overflowing", "[core][uuid]") {
  // 48 bits of milliseconds reach the year 10889; a nanosecond system_clock
  // ends in 2262. Any 16 bytes (a parsed id, a stored one) must give a time.
  const auto at = [](std::uint64_t ms) {
    uuid::bytes_type b{};
    for (int i = 0; i < 6; ++i)
      b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
    b[6] = 0x70;
    b[8] = 0x80;
    return uuid{b};
  };
  using clock = std::chrono::system_clock;
  const auto last = std::chrono::duration_cast<std::chrono::milliseconds>(clock::duration::max());
  const auto last_ms = static_cast<std::uint64_t>(last.count());
  CHECK(at(last_ms).time().time_since_epoch() == last);
  CHECK(at(last_ms + 1).time() == clock::time_point::max());
  CHECK(at((std::uint64_t{1} << 48) - 1).time() == clock::time_point::max());
  CHECK(uuid::parse("ffffffff-ffff-7fff-bfff-ffffffffffff")->time() == clock::time_point::max());
}
