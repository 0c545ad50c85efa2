// Regression tests of three silent-correctness bugs of the runtime, through
// the public API only:
// 1. `state_of` racing group-committed appends must not apply events twice
//    (the live state and the snapshots equal the fold of the stored events);
// 2. a multi-stream command must not commit on a stale read of a stream it
//    only reads (gets no events for);
// 3. a command id reused for another stream or another command answers
//    `errc::command_id_conflict`, never another command's result.
// Built into the SQLite test binary: each case runs on the memory store,
// SQLite, or both.
#include <atomic>
#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/shop.hpp"
#include "../support/temp_dir.hpp"
#include "helpers.hpp"

using namespace factum;
using namespace factum_test;
using namespace factum_test::shop;

namespace {

/// The inventory state folded from the stored events up to `up_to`.
inventory::state fold_inventory(event_store& store, const std::string& stream,
                                std::uint64_t up_to = std::numeric_limits<std::uint64_t>::max()) {
  inventory::state s;
  for (const auto& e : store.read_stream(stream_id{stream}).value()) {
    if (e.version > up_to) break;
    inventory::apply(s, inventory_codec::decode(e).value());
  }
  return s;
}

/// Restocks `sku`, then sends `commands` reservations of 1 all at once
/// (callbacks), while another thread reads `state_of` in a loop. Returns
/// when every command is answered; counts the failures in `errors`.
void race_state_of(runtime& rt, const std::string& sku, int commands, std::atomic<int>& errors,
                   std::atomic<int>& reads) {
  REQUIRE_FALSE(run<inventory>(rt, sku, restock{100'000}).ec);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load(std::memory_order_acquire)) {
      if (!rt.state_of<inventory>(sku)) errors.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  std::atomic<int> left{commands};
  std::promise<void> all;
  for (int i = 0; i < commands; ++i)
    rt.dispatch<inventory>(sku, reserve{1}, [&](std::error_code ec, dispatch_result) {
      if (ec) errors.fetch_add(1);
      if (left.fetch_sub(1) == 1) all.set_value();
    });
  all.get_future().wait();
  done.store(true, std::memory_order_release);
  reader.join();
}

void check_live_equals_fold(runtime& rt, const std::string& sku, std::int64_t reservations) {
  const auto stream = "inventory-" + sku;
  const auto fold = fold_inventory(rt.store(), stream);
  const auto live = rt.state_of<inventory>(sku).value();
  CAPTURE(live.state.reserved, fold.reserved, live.version, live.state.events, fold.events);
  CHECK(fold.reserved == reservations);
  CHECK(live.state == fold);
  CHECK(live.version == fold.events);
  CHECK(live.version == rt.store().stream_version(stream_id{stream}).value());
}

}  // namespace

TEST_CASE(
    "SQLite: state_of racing group-committed appends, the live state equals the fold of the stream",
    "[runtime][sqlite][concurrency]") {
  temp_dir dir;
  runtime rt{sqlite_store{dir / "shop.db"}, threads(2)};
  REQUIRE(rt.store().prefers_batches());  // group commit on
  constexpr int commands = 500;
  std::atomic<int> errors{0}, reads{0};
  race_state_of(rt, "sku-1", commands, errors, reads);
  CHECK(errors == 0);
  CHECK(reads > 0);
  check_live_equals_fold(rt, "sku-1", commands);
}

TEST_CASE(
    "SQLite: state_of racing group-committed appends with snapshots, each snapshot equals the fold "
    "up to its version, also after a reopen",
    "[runtime][sqlite][concurrency]") {
  temp_dir dir;
  constexpr int commands = 500;
  const std::string stream = "inventory-sku-1";
  {
    runtime rt{sqlite_store{dir / "shop.db"}, threads(2)};
    rt.configure<inventory>(snapshot_every(10));
    std::atomic<int> errors{0}, reads{0};
    race_state_of(rt, "sku-1", commands, errors, reads);
    CHECK(errors == 0);
    check_live_equals_fold(rt, "sku-1", commands);
    rt.stop();  // passivates: a snapshot at the last version

    auto& store = rt.store();
    const std::uint64_t last = store.stream_version(stream_id{stream}).value();
    std::uint64_t seen = 0, checked = 0, wrong = 0;
    for (std::uint64_t v = 1; v <= last; ++v) {
      auto s = store.load_snapshot(stream_id{stream}, 1, v).value();
      if (!s || s->version <= seen) continue;
      seen = s->version;
      ++checked;
      const auto saved = nlohmann::json::parse(s->state).get<inventory::state>();
      const auto fold = fold_inventory(store, stream, s->version);
      if (!(saved == fold)) {
        if (wrong++ == 0) {
          INFO("first wrong snapshot at version " << s->version << ": reserved " << saved.reserved
                                                  << " events " << saved.events << ", fold "
                                                  << fold.reserved << " / " << fold.events);
          CHECK(saved == fold);
        }
      }
    }
    CAPTURE(checked, wrong, last);
    CHECK(checked > 0);
    CHECK(seen == last);
    CHECK(wrong == 0);
  }
  // a fresh runtime on the reopened file starts from the latest snapshot
  runtime rt{sqlite_store{dir / "shop.db"}, threads(2)};
  rt.configure<inventory>(snapshot_every(10));
  check_live_equals_fold(rt, "sku-1", commands);
}

namespace {

/// Approves an order on the approver's authority while, during the decide,
/// another writer revokes that authority; the approval must not commit.
void approval_on_revoked_authority(const std::shared_ptr<event_store>& store) {
  runtime rt{store, threads(2)};
  REQUIRE_FALSE(run<approver>(rt, "alice", grant{100}).ec);
  REQUIRE_FALSE(run<inventory>(rt, "sku-1", restock{10}).ec);
  // all three live, at their versions
  REQUIRE_FALSE(rt.state_of<order>("o-1").value().state.approved);
  REQUIRE(rt.state_of<approver>("alice").value().state.authorised);
  REQUIRE(rt.state_of<inventory>("sku-1").value().state.stock == 10);

  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  auto decide = [&entered, &calls, released](
                    const order::state& o, const approver::state& a,
                    const inventory::state& i) -> decisions<order, approver, inventory> {
    if (calls.fetch_add(1) == 0) {  // the first attempt waits while the authority is revoked
      entered.set_value();
      released.wait();
    }
    if (!a.authorised)
      return {decision<order::event>{}, factum::reject("no_authority", "authority revoked"), {}};
    if (o.approved) return {factum::reject("already_approved"), {}, {}};
    if (i.stock - i.reserved < 3)
      return {decision<order::event>{}, {}, factum::reject("out_of_stock")};
    return {order_approved{"alice", 3}, {}, reserved{3}};  // nothing for the approver
  };
  std::promise<answer> done;
  rt.transact<order, approver, inventory>({"o-1", "alice", "sku-1"}, decide,
                                          [&](std::error_code ec, dispatch_result r) {
                                            done.set_value({ec, std::move(r)});
                                          });
  entered.get_future().wait();
  auto revoked = store->append(stream_id{"approver-alice"}, expected_version::exact(1),
                               {approver_codec::encode(authority_revoked{"fired"})});
  REQUIRE(revoked);
  release.set_value();
  const answer a = done.get_future().get();

  const auto order_version = store->stream_version(stream_id{"order-o-1"}).value();
  const auto inventory_version = store->stream_version(stream_id{"inventory-sku-1"}).value();
  CAPTURE(a.ec.message(), calls.load(), order_version, inventory_version);
  CHECK((a.ec == rejection_error("no_authority") || a.ec == errc::concurrency_conflict));
  CHECK(order_version == 0);      // no approval stored
  CHECK(inventory_version == 1);  // no reservation stored
  CHECK(store->stream_version(stream_id{"approver-alice"}).value() == 2);
  CHECK_FALSE(rt.state_of<order>("o-1").value().state.approved);
  CHECK(rt.state_of<inventory>("sku-1").value().state.reserved == 0);
  CHECK_FALSE(rt.state_of<approver>("alice").value().state.authorised);
}

/// A command id is one command on its streams: reused for another stream or
/// another payload it is a conflict; the same command again is a replay.
void reused_command_id(const std::shared_ptr<event_store>& store) {
  runtime rt{store, threads(2)};
  REQUIRE_FALSE(run<inventory>(rt, "sku-i", restock{100}).ec);
  REQUIRE_FALSE(run<inventory>(rt, "sku-j", restock{100}).ec);
  dispatch_options o;
  o.command = uuid::v7();
  const answer first = run<inventory>(rt, "sku-i", reserve{5}, o);
  REQUIRE_FALSE(first.ec);
  REQUIRE(first.result.version == 2);
  REQUIRE(first.result.events.size() == 1);

  const answer other = run<inventory>(rt, "sku-j", reserve{5}, o);
  {
    CAPTURE(other.ec.message(), other.result.already_appended, other.result.version);
    CHECK(other.ec == errc::command_id_conflict);
    CHECK_FALSE(other.result.already_appended);
    CHECK(store->stream_version(stream_id{"inventory-sku-j"}).value() == 1);
    CHECK(rt.state_of<inventory>("sku-j").value().state.reserved == 0);
  }

  const answer changed = run<inventory>(rt, "sku-i", reserve{7}, o);
  {
    CAPTURE(changed.ec.message(), changed.result.already_appended, changed.result.version);
    CHECK(changed.ec == errc::command_id_conflict);
    CHECK_FALSE(changed.result.already_appended);
  }

  const answer again = run<inventory>(rt, "sku-i", reserve{5}, o);
  {
    CAPTURE(again.ec.message());
    CHECK_FALSE(again.ec);
    CHECK(again.result.already_appended);
    CHECK(again.result.version == first.result.version);
    CHECK(again.result.streams == first.result.streams);
    REQUIRE(again.result.events.size() == 1);
    CHECK(again.result.events[0].global_position == first.result.events[0].global_position);
  }
  CHECK(store->stream_version(stream_id{"inventory-sku-i"}).value() == 2);
  CHECK(rt.state_of<inventory>("sku-i").value().state.reserved == 5);
}

}  // namespace

TEST_CASE(
    "memory store: a multi-stream command does not commit on a stale read of a stream it only "
    "reads",
    "[runtime][transact][concurrency]") {
  approval_on_revoked_authority(std::make_shared<memory_store>());
}

TEST_CASE(
    "SQLite: a multi-stream command does not commit on a stale read of a stream it only reads",
    "[runtime][transact][sqlite][concurrency]") {
  temp_dir dir;
  approval_on_revoked_authority(std::make_shared<sqlite_store>(dir / "shop.db"));
}

TEST_CASE("memory store: a command id reused for another stream or payload is a conflict",
          "[runtime][idempotency][concurrency]") {
  reused_command_id(std::make_shared<memory_store>());
}

TEST_CASE("SQLite: a command id reused for another stream or payload is a conflict",
          "[runtime][idempotency][sqlite][concurrency]") {
  temp_dir dir;
  reused_command_id(std::make_shared<sqlite_store>(dir / "shop.db"));
}
