// The read side on SQLite across crashes: a node (a child process) runs
// the bank's account-summary projection and transfer process manager while
// requesting transfers, and is killed with SIGKILL in the middle, several
// times. A last run on the same file must end in the same state as a run
// with no crash: the projection counted every event once, every transfer
// was carried out once.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "../../examples/bank/bank_read_side.hpp"
#include "../support/events.hpp"
#include "../support/process.hpp"
#include "../support/temp_dir.hpp"

using namespace factum_test;

namespace {

constexpr std::int64_t initial = 1'000'000;

bool settle(factum::runtime& rt, const std::vector<factum::subscription>& subs) {
  for (int round = 0; round < 600; ++round) {
    const auto head = rt.store().head().value();
    bool caught_up = true;
    for (const auto& s : subs)
      caught_up = s.wait_until(head, std::chrono::milliseconds{100}) && caught_up;
    if (caught_up && rt.store().head().value() == head) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("sqlite: a projection and a process manager killed mid-stream end as if never killed",
          "[sqlite][read_side]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  {
    factum::runtime rt{factum::sqlite_store{file}};
    for (int a = 0; a < 4; ++a) {
      const std::string id = "acc-" + std::to_string(a);
      REQUIRE(rt.dispatch<bank::account>(id, bank::open_account{"owner"}, boost::asio::use_future)
                  .get()
                  .version == 1);
      REQUIRE(rt.dispatch<bank::account>(id, bank::deposit{initial}, boost::asio::use_future)
                  .get()
                  .version == 2);
    }
  }
  std::mt19937 rng(std::random_device{}());
  std::size_t requested = 0;
  for (int round = 0; round < 3; ++round) {
    child_process node({FACTUM_TEST_BANK_NODE, file.string(), std::to_string(round + 1)});
    REQUIRE(node.started());
    std::vector<std::string> lines;
    node.read_lines(
        lines, std::chrono::steady_clock::now() + std::chrono::milliseconds(300 + rng() % 400));
    node.kill_hard();
    node.read_to_end(lines);
    CHECK(node.wait() == -SIGKILL);
    for (const auto& l : lines) {
      INFO(l);
      CHECK(l.rfind("requested ", 0) == 0);
      ++requested;
    }
  }
  CHECK(requested > 3);

  // The last run: no new requests, the read side finishes what is left.
  factum::runtime rt{factum::sqlite_store{file}};
  auto accounts = std::make_shared<factum::sqlite_read_model>(file);
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  std::vector<factum::subscription> read_side{subs.add(bank::account_summary{}, accounts),
                                              subs.add_process(bank::transfers{})};
  REQUIRE(settle(rt, read_side));

  // Expected balances, from the requested transfers alone (all have funds).
  std::map<std::string, std::int64_t> expected;
  for (int a = 0; a < 4; ++a)
    expected["acc-" + std::to_string(a)] = initial;
  std::size_t transfers = 0;
  for (const auto& e : rt.store().read_all().value()) {
    if (e.type != "TransferRequested") continue;
    const auto t = bank::codec_of_transfer::decode(e).value();
    const auto& r = std::get<bank::transfer_requested>(t);
    expected[r.from] -= r.amount;
    expected[r.to] += r.amount;
    ++transfers;
    // Each process ran once and ended.
    auto steps = rt.store().read_stream(factum::stream_id{"process-transfers-" + e.stream.str()});
    REQUIRE(steps);
    REQUIRE(steps->size() == 2);
    CHECK(steps->back().type == "factum.ProcessEnded");
  }
  CHECK(transfers >= requested);  // a request may be stored without its ack printed
  std::map<std::string, std::int64_t> projected;
  REQUIRE(accounts->query("SELECT id, balance FROM accounts", [&](const factum::sql_row& r) {
    projected[std::string(r.text(0))] = r.int64(1);
  }));
  for (const auto& [id, balance] : expected) {
    INFO(id);
    CHECK(rt.state_of<bank::account>(id).value().state.balance == balance);
    CHECK(projected[id] == balance);
  }
  CHECK(subs.dead_letters().value().empty());
}

TEST_CASE("sqlite: two nodes projecting into one file apply each event once",
          "[sqlite][read_side]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  struct node {
    factum::runtime rt;
    std::shared_ptr<factum::sqlite_read_model> accounts;
    factum::subscriptions subs;
    factum::subscription summary;
    explicit node(const std::filesystem::path& f)
        : rt(factum::sqlite_store{f}),
          accounts(std::make_shared<factum::sqlite_read_model>(f)),
          subs(rt, [] {
            factum::subscriptions_options o;
            o.log = {};
            o.poll_interval = std::chrono::milliseconds{5};
            return o;
          }()) {
      REQUIRE(bank::account_summary::create(*accounts));
      summary = subs.add(bank::account_summary{}, accounts);
    }
  };
  node one{file}, two{file};
  auto opened = [](node& n, const std::string& id) {
    return n.rt.dispatch<bank::account>(id, bank::open_account{"owner"}, boost::asio::use_future);
  };
  opened(one, "a").get();
  opened(two, "b").get();
  // Both nodes write (one to "a", two to "b") and both project, at once.
  std::vector<std::future<factum::dispatch_result>> pending;
  for (int i = 0; i < 200; ++i) {
    node& n = i % 2 == 0 ? one : two;
    pending.push_back(n.rt.dispatch<bank::account>(i % 2 == 0 ? "a" : "b", bank::deposit{1},
                                                   boost::asio::use_future));
  }
  for (auto& p : pending)
    p.get();
  REQUIRE(settle(one.rt, {one.summary}));
  REQUIRE(settle(two.rt, {two.summary}));
  std::map<std::string, std::int64_t> projected;
  REQUIRE(one.accounts->query("SELECT id, balance FROM accounts", [&](const factum::sql_row& r) {
    projected[std::string(r.text(0))] = r.int64(1);
  }));
  CHECK(projected["a"] == one.rt.state_of<bank::account>("a").value().state.balance);
  CHECK(projected["b"] == one.rt.state_of<bank::account>("b").value().state.balance);
  CHECK(projected["a"] + projected["b"] == 200);
}

namespace {
/// Counts the deposits it projects, in table `deposits`.
struct deposit_counter {
  static constexpr std::string_view name = "deposit-counter";
  using interested_in = factum::events<bank::money_deposited>;
  factum::result<void> project(factum::sql& db, const bank::money_deposited&) {
    return db.exec("UPDATE deposits SET n = n + 1");
  }
};
}  // namespace

TEST_CASE("sqlite: a projection started from now projects only what comes after",
          "[sqlite][read_side]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  factum::runtime rt{factum::sqlite_store{file}};
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  REQUIRE(rt.dispatch<bank::account>("a", bank::open_account{"ann"}, boost::asio::use_future)
              .get()
              .version == 1);
  for (int i = 0; i < 5; ++i)
    rt.dispatch<bank::account>("a", bank::deposit{1}, boost::asio::use_future).get();
  auto model = std::make_shared<factum::sqlite_read_model>(file);
  REQUIRE(model->write([](factum::sql& db) -> factum::result<void> {
    if (auto r = db.exec("CREATE TABLE deposits(n INTEGER NOT NULL)"); !r) return r;
    return db.exec("INSERT INTO deposits VALUES (0)");
  }));
  factum::subscription_options from_now;
  from_now.start_from = factum::start_from::now;
  auto sub = subs.add(deposit_counter{}, model, from_now);
  REQUIRE(sub.wait_until(rt.store().head().value()));
  for (int i = 0; i < 3; ++i)
    rt.dispatch<bank::account>("a", bank::deposit{1}, boost::asio::use_future).get();
  REQUIRE(sub.wait_until(rt.store().head().value()));
  std::int64_t n = -1;
  REQUIRE(
      model->query("SELECT n FROM deposits", [&](const factum::sql_row& r) { n = r.int64(0); }));
  CHECK(n == 3);
}

namespace {
/// Fails on deposits of 13 while `broken`; records the rest per stream.
struct fussy {
  static constexpr std::string_view name = "fussy";
  using interested_in = factum::events<bank::money_deposited>;
  std::shared_ptr<std::atomic<bool>> broken = std::make_shared<std::atomic<bool>>(true);
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::map<std::string, std::vector<std::int64_t>>> seen =
      std::make_shared<std::map<std::string, std::vector<std::int64_t>>>();
  void handle(const bank::money_deposited& d, const factum::recorded_event& e) {
    if (*broken && d.amount == 13) throw std::runtime_error("13 is unlucky");
    std::lock_guard lock(*mutex);
    (*seen)[e.stream.str()].push_back(d.amount);
  }
  std::vector<std::int64_t> of(const std::string& stream) {
    std::lock_guard lock(*mutex);
    return (*seen)[stream];
  }
};
}  // namespace

TEST_CASE("sqlite: a parked stream stays parked when the file is opened again",
          "[sqlite][read_side]") {
  temp_dir dir;
  const auto file = dir / "bank.db";
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscription_options once;
  once.retry.max_attempts = 1;
  fussy f;
  auto deposit = [](factum::runtime& rt, std::string id, std::int64_t amount) {
    rt.dispatch<bank::account>(id, bank::deposit{amount}, boost::asio::use_future).get();
  };
  {
    factum::runtime rt{factum::sqlite_store{file}};
    factum::subscriptions subs{rt, quiet};
    auto sub = subs.add(f, once);
    for (const char* id : {"a", "b"})
      rt.dispatch<bank::account>(id, bank::open_account{id}, boost::asio::use_future).get();
    deposit(rt, "a", 13);
    deposit(rt, "a", 1);
    deposit(rt, "b", 5);
    REQUIRE(sub.wait_until(rt.store().head().value()));
  }
  factum::runtime rt{factum::sqlite_store{file}};
  factum::subscriptions subs{rt, quiet};
  auto sub = subs.add(f, once);
  deposit(rt, "a", 2);
  deposit(rt, "b", 6);
  REQUIRE(sub.wait_until(rt.store().head().value()));
  CHECK(f.of("account-a").empty());
  CHECK(f.of("account-b") == std::vector<std::int64_t>{5, 6});
  auto parked = subs.parked_streams().value();
  REQUIRE(parked.size() == 1);
  CHECK(parked[0].stream == "account-a");
  CHECK(parked[0].waiting == 2);

  *f.broken = false;
  REQUIRE(subs.retry_dead_letter(parked[0].letter));
  CHECK(f.of("account-a") == std::vector<std::int64_t>{13, 1, 2});
  CHECK(rt.store().dead_letters().value().empty());
}

TEST_CASE("sqlite: an append from inside a read model transaction on its file is refused",
          "[sqlite][read_side]") {
  temp_dir dir;
  const auto file = dir / "one.db";
  factum::sqlite_store store{file};
  factum::sqlite_read_model model{file};
  std::optional<factum::error> inside;
  auto r = model.write([&](factum::sql&) -> factum::result<void> {
    auto a = store.append("s-1", factum::expected_version::no_stream(), {factum_test::deposit(1)});
    if (!a) inside = a.error();
    return {};
  });
  REQUIRE(r);
  REQUIRE(inside);  // it would wait for the model's own turn at the file
  CHECK(inside->code() == factum::errc::invalid_argument);
  CHECK(store.append("s-1", factum::expected_version::no_stream(), {factum_test::deposit(1)}));
}
