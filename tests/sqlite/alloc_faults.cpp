// Exception safety of the stores: every allocation an append makes fails
// in turn (this executable replaces the global operator new), and each time
// the append answers with an error instead of throwing, leaves no
// transaction open, writes all or nothing, and the store goes on.
#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/store/memory_store.hpp>
#include <factum/store/sqlite_store.hpp>

#include "../support/events.hpp"
#include "../support/failing_new.hpp"
#include "../support/temp_dir.hpp"

using factum_test::failing_new::countdown;
using factum_test::failing_new::fired;

using namespace factum;
using namespace factum_test;

namespace {

/// Calls the store with the `fault`-th allocation failing (-1: none); the
/// arguments are built before, so only the store's allocations count.
template <class Call>
auto armed(long fault, Call&& call) {
  struct disarm {
    ~disarm() { countdown = -1; }
  } guard;
  countdown = fault;
  return call();
}

/// One append of a workload: `run` sends it (the same events every time it
/// is called, so a retry replays the same ids).
struct workload {
  const char* name;
  std::function<std::vector<result<append_result>>(event_store&, long fault)> run;
};

event_data tagged(std::int64_t amount, const std::string& type) {
  auto e = deposit(amount);
  e.type = type;  // a type the store has not seen: its key is created in the append
  e.metadata.user = {{"user", "ann"}, {"tenant", "t1"}};
  return e;
}

/// The workloads for round `round`: each names new streams and a new type,
/// so the paths that create keys run every round.
std::vector<workload> workloads(int round) {
  const std::string r = std::to_string(round);
  const command_id cmd = uuid::v7();
  std::vector<event_data> one{tagged(1, "One" + r), tagged(2, "One" + r)};
  std::vector<stream_write> multi{
      {"transfer-" + r, expected_version::no_stream(), {tagged(3, "Multi" + r)}},
      {"account-" + r, expected_version::any(), {tagged(4, "Multi" + r)}},
      {"limits-1", expected_version::no_stream(), {}}};  // a condition
  std::vector<append_request> batch{
      {{{"batch-a" + r, expected_version::no_stream(), {tagged(5, "Batch" + r)}}}, {uuid::v7(), 1}},
      {{{"batch-b" + r, expected_version::no_stream(), {tagged(6, "Batch" + r)}}}, {}},
      {{{"batch-a" + r, expected_version::exact(1), {tagged(7, "Batch" + r)}}}, {}}};
  return {
      {"one stream",
       [=](event_store& s, long fault) {
         stream_id stream{"one-" + r};
         auto events = one;
         return std::vector{armed(fault, [&] {
           return s.append(std::move(stream), expected_version::any(), std::move(events), {cmd, 1});
         })};
       }},
      {"several streams",
       [=](event_store& s, long fault) {
         const append_options options{uuid::v7(), 2};
         return std::vector{armed(fault, [&] { return s.append(multi, options); })};
       }},
      {"a batch",
       [=](event_store& s, long fault) {
         auto out = armed(fault, [&] { return s.append_batch(batch); });
         return out;
       }},
  };
}

/// The log is gapless and every stream's versions are dense.
void check_invariants(event_store& s) {
  const auto all = s.read_all().value();
  std::map<std::string, std::uint64_t> versions;
  for (std::size_t i = 0; i < all.size(); ++i) {
    REQUIRE(all[i].global_position == i + 1);
    auto& v = versions[all[i].stream.str()];
    REQUIRE(all[i].version == ++v);
  }
}

/// Fails the first, second, ... allocation of each workload until one runs
/// with no fault left to hit; returns how many fault points it covered
/// (measured: 192 on SQLite, 201 on memory).
int sweep(event_store& s) {
  int points = 0;
  for (int round = 0;; ++round) {
    bool hit = false;
    for (const auto& w : workloads(round)) {
      INFO(w.name << ", round " << round);
      std::vector<result<append_result>> answers;
      fired = false;
      try {
        answers = w.run(s, round);  // the round-th allocation of the call fails
      } catch (const std::bad_alloc&) {
        // A batch's first allocation is its answers' vector: without it there
        // is no way to answer, so that one throws (and nothing is written).
        if (std::string_view(w.name) != "a batch" || round != 0) FAIL("the store threw");
        answers.assign(3, error{errc::storage_io, "no answers"});
      } catch (const std::exception& e) {
        FAIL("the store threw: " << e.what());
      }
      hit = hit || fired;
      // A failed request is retried with the same ids: it was written in
      // full (already appended) or not at all (appended now).
      const auto again = w.run(s, -1);
      REQUIRE(again.size() == answers.size());
      for (std::size_t i = 0; i < answers.size(); ++i) {
        if (!again[i]) {  // only a request that fails on its own: batch-a's exact(1) after a replay
          CHECK(again[i].error().code() == errc::concurrency_conflict);
          continue;
        }
        if (answers[i]) CHECK(again[i]->already_appended);
        if (answers[i] && !answers[i]->already_appended)
          CHECK(again[i]->streams == answers[i]->streams);
      }
      check_invariants(s);
      ++points;
    }
    if (!hit) return points;
  }
}

}  // namespace

TEST_CASE("alloc faults: sqlite: every allocation of an append may fail",
          "[sqlite][faults][alloc]") {
  temp_dir dir;
  auto s = sqlite_store::open(dir / "alloc.db").value();
  const int points = sweep(s);
  CHECK(points > 100);
  // The writer is in no transaction: another connection writes at once.
  sqlite_options quick;
  quick.busy_timeout = std::chrono::milliseconds{200};
  auto other = sqlite_store::open(dir / "alloc.db", quick).value();
  REQUIRE(other.append("after-1", expected_version::no_stream(), {deposit(1)}));
}

TEST_CASE("alloc faults: memory: every allocation of an append may fail",
          "[memory][faults][alloc]") {
  memory_store s;
  const int points = sweep(s);
  CHECK(points > 100);
}
