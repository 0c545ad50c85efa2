// What every `factum::sql_read_model` does, run by the SQLite and the
// PostgreSQL read model tests through the base class alone.
#pragma once

#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <factum/store/sql_read_model.hpp>

namespace factum_test {

/// Runs on a fresh read model (no table `rm_counts`, no checkpoint `rm`).
inline void check_sql_read_model(factum::sql_read_model& model) {
  using factum::position;
  REQUIRE(model.write([](factum::sql& db) {
    return db.exec("CREATE TABLE rm_counts(id TEXT PRIMARY KEY, n BIGINT NOT NULL)");
  }));
  auto count = [&](std::string_view id) {
    std::optional<std::int64_t> n;
    REQUIRE(model.query(
        "SELECT n FROM rm_counts WHERE id = ?1", [&](const factum::sql_row& r) { n = r.int64(0); },
        id));
    return n;
  };
  auto bump = [](factum::sql& db) {
    return db.exec(
        "INSERT INTO rm_counts(id, n) VALUES ('a', 1)"
        " ON CONFLICT(id) DO UPDATE SET n = rm_counts.n + 1");
  };

  CHECK_FALSE(model.load_checkpoint("rm").value().has_value());
  REQUIRE(model.commit("rm", position::at(1), bump));
  CHECK(model.load_checkpoint("rm").value() == position::at(1));
  CHECK(count("a") == 1);

  // A conditional commit on a checkpoint that moved on: refused, fn not run.
  bool ran = false;
  auto stale = model.commit("rm", std::nullopt, position::at(2), [&](factum::sql& db) {
    ran = true;
    return bump(db);
  });
  REQUIRE_FALSE(stale);
  CHECK(stale.error() == factum::errc::concurrency_conflict);
  CHECK_FALSE(ran);
  REQUIRE(model.commit("rm", position::at(1), position::at(2), bump));
  CHECK(count("a") == 2);

  // A nested commit from inside fn is refused; the outer one rolls back.
  auto nested = model.commit("rm", position::at(3), [&](factum::sql& db) {
    if (auto r = bump(db); !r) return r;
    return model.commit("rm", position::at(4), bump);
  });
  REQUIRE_FALSE(nested);
  CHECK(nested.error() == factum::errc::invalid_argument);
  CHECK(count("a") == 2);
  CHECK(model.load_checkpoint("rm").value() == position::at(2));

  REQUIRE(model.reset("rm", [](factum::sql& db) { return db.exec("DELETE FROM rm_counts"); }));
  CHECK_FALSE(model.load_checkpoint("rm").value().has_value());
  CHECK_FALSE(count("a").has_value());
}

}  // namespace factum_test
