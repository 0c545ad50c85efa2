// Batches larger than PostgreSQL takes in one value: the store sends them in
// parts, in order, and every request keeps its meaning.
#include <libpq-fe.h>

#include <catch2/catch.hpp>

#include <factum/store/postgres_store.hpp>

#include "../support/pg_cluster.hpp"

using factum_test::pg_cluster;

TEST_CASE("postgres: a batch over one jsonb value: sent in parts, in order",
          "[postgres][store][large]") {
  factum::postgres_store store{pg_cluster::shared().uri(), {.schema = pg_cluster::fresh_schema()}};
  // 18 appends of one 15 MiB event each: 270 MiB, more than one jsonb value
  // holds (255 MiB). Each expects the version the one before wrote, so the
  // parts must run in order and see each other.
  constexpr std::uint64_t n = 18;
  const std::size_t size = std::size_t{15} << 20;
  const auto data_of = [&](std::uint64_t i) {
    std::string d = "\"" + std::to_string(i) + ":";
    const std::string_view pair = i % 2 ? "xx" : "\\\\";  // even: each byte is escaped when sent
    while (d.size() + 3 <= size)
      d += pair;
    d.resize(size - 1, 'z');
    return d + '"';
  };
  std::vector<factum::append_request> batch;
  for (std::uint64_t i = 0; i < n; ++i) {
    factum::event_data e;
    e.id = factum::uuid::v7();
    e.type = "Big";
    e.data = data_of(i);
    e.metadata.user = {{"i", std::to_string(i)}};
    batch.push_back({{{"big-1", factum::expected_version::exact(i), {std::move(e)}}},
                     {factum::uuid::v7(), i + 1}});
  }
  auto answers = store.append_batch(batch);
  batch.clear();
  REQUIRE(answers.size() == n);
  for (std::uint64_t i = 0; i < n; ++i) {
    INFO("request " << i << ": " << (answers[i] ? "ok" : answers[i].error().message()));
    REQUIRE(answers[i]);
    CHECK(answers[i]->first_position == i + 1);
    CHECK_FALSE(answers[i]->already_appended);
  }
  CHECK(store.head().value().global() == n);
  for (std::uint64_t i = 0; i < n; ++i) {
    INFO("event " << i + 1);
    auto back = store.read_stream("big-1", i + 1, 1).value();
    REQUIRE(back.size() == 1);
    const bool same = back[0].data == data_of(i);  // CHECK(a == b) would print 15 MiB
    CHECK(same);
    CHECK(back[0].metadata.user.at("i") == std::to_string(i));
  }
}

TEST_CASE("postgres: metadata at the limits, six times as long escaped: stored",
          "[postgres][store][large]") {
  factum::postgres_store store{pg_cluster::shared().uri(), {.schema = pg_cluster::fresh_schema()}};
  // 60 events with 1 MiB of metadata each, every byte a control character:
  // 60 MiB, within store_limits, that JSON writes as 360 MiB of \u0001.
  const std::string value(factum::store_limits::max_metadata_bytes - 1, '\x01');
  std::vector<factum::event_data> events(60);
  for (auto& e : events) {
    e.id = factum::uuid::v7();
    e.type = "Tagged";
    e.data = "{}";
    e.metadata.user = {{"k", value}};
  }
  auto r = store.append("meta-1", factum::expected_version::no_stream(), events);
  INFO((r ? std::string("ok") : r.error().message()));
  REQUIRE(r);
  events.clear();
  const auto back = store.read_stream("meta-1", 60, 1).value();
  REQUIRE(back.size() == 1);
  const bool same = back[0].metadata.user.at("k") == value;  // not printed: 1 MiB
  CHECK(same);
}

TEST_CASE("postgres: append_batch from an older build: metadata as a string", "[postgres][store]") {
  const std::string schema = pg_cluster::fresh_schema();
  factum::postgres_store store{pg_cluster::shared().uri(), {.schema = schema}};
  // What a node of the build before functions version 4 sends.
  const std::string batch = R"([{"cmd":null,"dg":0,"w":[{"s":"old-1","x":-2,"e":[{"id":")" +
                            factum::uuid::v7().to_string() +
                            R"(","t":"E","v":1,"d":"{}","at":0,"u":"{\"by\":\"v3\"}"}]}]}])";
  PGconn* raw = PQconnectdb(pg_cluster::shared().uri().c_str());
  REQUIRE(PQstatus(raw) == CONNECTION_OK);
  const std::string sql = "SELECT status FROM \"" + schema + "\".append_batch($1::jsonb)";
  const char* values[] = {batch.c_str()};
  PGresult* r = PQexecParams(raw, sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0);
  REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
  CHECK(std::string(PQgetvalue(r, 0, 0)) == "ok");
  PQclear(r);
  PQfinish(raw);
  const auto back = store.read_stream("old-1").value();
  REQUIRE(back.size() == 1);
  CHECK(back[0].metadata.user == std::map<std::string, std::string, std::less<>>{{"by", "v3"}});
}
