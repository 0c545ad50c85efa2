// Makes SQLite files for the factum-inspect tests (tests/tools/inspect.cmake).
//
//   factum_inspect_store make DB            a store with known content (below)
//   factum_inspect_store append DB STREAM N appends N deposits to STREAM
//   factum_inspect_store foreign DB         an SQLite file that is not a factum store
//
// `make` writes, with fixed event ids and metadata (positions in brackets):
//   account-acc-1: AccountOpened{Ann} [1], MoneyDeposited{100} [2], MoneyWithdrawn{30} [3]
//   account-acc-2: AccountOpened{Bob} [4], MoneyDeposited{5} [5]
//   order-1:       MoneyDeposited{7} [6]
// store checkpoints notifier at 6 and transfers at 2; the read model
// checkpoint balances at 5; dead letters of notifier (position 3, stored as
// factum before 0.2 did: it parks nothing), of transfers (position 4, parks
// account-acc-2, nothing held up to its checkpoint) and of balances
// (position 4, parks account-acc-2, position 5 held).
#include <iostream>
#include <string>

#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/events.hpp"

namespace {

using namespace factum_test;

/// 2024-01-02T03:04:05.123456Z
const factum::timestamp fixed_time{std::chrono::microseconds{1'704'164'645'123'456}};

factum::event_data with_id(factum::event_data e, const std::string& name) {
  e.id = factum::uuid::named("inspect-test/" + name);
  e.metadata.created_at = fixed_time;
  return e;
}

int fail(const factum::error& e) {
  std::cerr << "factum_inspect_store: " << e.message() << '\n';
  return 1;
}

int make(const std::string& db) {
  auto store = factum::sqlite_store::open(db);
  if (!store) return fail(store.error());
  auto opened = with_id(account_codec::encode(account_opened{"Ann", 0}), "acc-1/1");
  opened.metadata.correlation_id = factum::uuid::named("inspect-test/correlation");
  opened.metadata.causation_id = factum::uuid::named("inspect-test/causation");
  opened.metadata.user = {{"tenant", "t1"}};
  const auto none = factum::expected_version::no_stream();
  for (auto r : {
           store->append("account-acc-1", none,
                         {opened, with_id(deposit(100), "acc-1/2"),
                          with_id(account_codec::encode(money_withdrawn{30}), "acc-1/3")}),
           store->append("account-acc-2", none,
                         {with_id(account_codec::encode(account_opened{"Bob", 0}), "acc-2/1"),
                          with_id(deposit(5), "acc-2/2")}),
           store->append("order-1", none, {with_id(deposit(7), "order-1/1")}),
       })
    if (!r) return fail(r.error());
  if (auto r = store->save_checkpoint("notifier", factum::position::at(6)); !r)
    return fail(r.error());
  if (auto r = store->save_checkpoint("transfers", factum::position::at(2)); !r)
    return fail(r.error());
  auto log = store->read_all().value();
  if (auto r = store->add_dead_letter(
          {0, "notifier", log[2], "smtp: connection refused", 5, fixed_time});
      !r)
    return fail(r.error());
  if (auto r = store->add_dead_letter({0, "transfers", log[3], "boom", 3, fixed_time, true}); !r)
    return fail(r.error());
  if (auto r = store->add_dead_letter({0, "balances", log[3], "no row", 1, fixed_time, true}); !r)
    return fail(r.error());

  auto model = factum::sqlite_read_model::open(db);
  if (!model) return fail(model.error());
  if (auto r = model->commit("balances", factum::position::at(5),
                             [](factum::sql& sql) {
                               return sql.exec(
                                   "CREATE TABLE IF NOT EXISTS balances(id TEXT PRIMARY KEY)");
                             });
      !r)
    return fail(r.error());
  return 0;
}

int append(const std::string& db, const std::string& stream, int n) {
  auto store = factum::sqlite_store::open(db);
  if (!store) return fail(store.error());
  for (int i = 1; i <= n; ++i)
    if (auto r = store->append(stream, factum::expected_version::any(), {deposit(i)}); !r)
      return fail(r.error());
  return 0;
}

int foreign(const std::string& db) {
  auto model = factum::sqlite_read_model::open(db);
  if (!model) return fail(model.error());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "make" && argc == 3) return make(argv[2]);
  if (what == "append" && argc == 5) return append(argv[2], argv[3], std::stoi(argv[4]));
  if (what == "foreign" && argc == 3) return foreign(argv[2]);
  std::cerr << "usage: factum_inspect_store make DB | append DB STREAM N | foreign DB\n";
  return 2;
}
