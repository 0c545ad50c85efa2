// The middleware pipeline: user hooks in order, validation, idempotency by
// command id, strong consistency.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <factum/runtime.hpp>

#include "../support/faulty_store.hpp"
#include "helpers.hpp"

using namespace factum;
using namespace factum_test;

namespace {

struct recorder final : middleware {
  recorder(std::string name, std::vector<std::string>& log, std::mutex& m)
      : name(std::move(name)), log(log), mutex(m) {}
  result<void> before(command_context& c) override {
    add("before " + name);
    c.options.metadata["seen-by-" + name] = "yes";
    if (name == "guard" && c.command_as<deposit_money>() &&
        c.command_as<deposit_money>()->amount < 0)
      return error{errc::invalid_argument, "negative deposit"};
    return {};
  }
  void after(const command_context& c, const dispatch_result& r) override {
    add("after " + name + " " + std::string(c.category) + " v" + std::to_string(r.version));
  }
  void on_failure(const command_context&, std::error_code ec) override {
    add("failure " + name + " " + ec.message());
  }
  void add(std::string s) {
    std::lock_guard lock(mutex);
    log.push_back(std::move(s));
  }
  std::string name;
  std::vector<std::string>& log;
  std::mutex& mutex;
};

// A command with its own validation.
struct rename_owner {
  std::string owner;
  std::optional<rejection> validate() const {
    if (owner.size() > 10) return reject("owner_too_long", "at most 10 characters");
    return std::nullopt;
  }
};

struct named {
  static constexpr std::string_view category = "named";
  using event = account_event;
  using command = std::variant<rename_owner>;
  struct state {};
  static inline std::atomic<int> executed{0};
  static decision<event> execute(const state&, const command& c) {
    ++executed;
    return account_opened{std::get<rename_owner>(c).owner, 0};
  }
  static void apply(state&, const event&) {}
};

}  // namespace

TEST_CASE("middleware runs before in order and after / on_failure in reverse",
          "[runtime][middleware]") {
  std::vector<std::string> log;
  std::mutex m;
  runtime rt{memory_store{}, threads(2)};
  rt.use(std::make_shared<recorder>("outer", log, m));
  rt.use(std::make_shared<recorder>("guard", log, m));
  auto ok = run(rt, "1", open_account{"ann"});
  REQUIRE_FALSE(ok.ec);
  // before may enrich the metadata every event carries
  CHECK(ok.result.events[0].metadata.user.at("seen-by-outer") == "yes");
  CHECK(ok.result.events[0].metadata.user.at("seen-by-guard") == "yes");
  CHECK(run(rt, "1", deposit_money{-5}).ec == errc::invalid_argument);
  CHECK(run(rt, "1", withdraw_money{5}).ec == rejection_error("insufficient_funds"));
  CHECK(log ==
        std::vector<std::string>{"before outer", "before guard", "after guard account v1",
                                 "after outer account v1",
                                 // a failing before: the command never runs, every hook hears of it
                                 "before outer", "before guard", "failure guard invalid argument",
                                 "failure outer invalid argument",
                                 // a rejection is a failure of the command
                                 "before outer", "before guard", "failure guard insufficient_funds",
                                 "failure outer insufficient_funds"});
  CHECK_THROWS_AS(rt.use(std::make_shared<recorder>("late", log, m)), std::logic_error);
}

TEST_CASE("a command's validate refuses it before the aggregate runs", "[runtime][middleware]") {
  runtime rt{memory_store{}, threads(1)};
  named::executed = 0;
  auto bad = run<named>(rt, "1", rename_owner{"a very long name"});
  CHECK(bad.ec == rejection_error("owner_too_long"));
  REQUIRE(bad.result.rejection);
  CHECK(bad.result.rejection->message == "at most 10 characters");
  CHECK(named::executed == 0);
  CHECK(rt.live_count() == 0);  // not even loaded
  CHECK_FALSE(run<named>(rt, "1", rename_owner{"ann"}).ec);
  CHECK(named::executed == 1);
}

TEST_CASE("a command id seen before returns the original result without running again",
          "[runtime][idempotency]") {
  runtime rt{memory_store{}, threads(2)};
  REQUIRE_FALSE(run(rt, "1", open_account{"ann"}).ec);
  dispatch_options o;
  o.command = uuid::v7();
  auto first = run(rt, "1", deposit_money{10}, o);
  REQUIRE_FALSE(first.ec);
  CHECK_FALSE(first.result.already_appended);
  // The command id is the events' correlation and causation id.
  CHECK(first.result.events[0].metadata.causation_id == *o.command);
  auto again = run(rt, "1", deposit_money{10}, o);
  REQUIRE_FALSE(again.ec);
  CHECK(again.result.already_appended);
  CHECK(again.result.version == first.result.version);
  REQUIRE(again.result.events.size() == 1);
  CHECK(again.result.events[0].id == first.result.events[0].id);
  CHECK(balance(rt, "1") == 10);
}

TEST_CASE("an idempotent retry after a crash between append and reply returns the original",
          "[runtime][idempotency]") {
  auto inner = std::make_shared<memory_store>();
  auto faulty = std::make_shared<faulty_store>(inner);
  dispatch_options o;
  o.command = uuid::v7();
  {
    runtime rt{faulty, threads(2)};
    REQUIRE_FALSE(run(rt, "2", open_account{"ann"}).ec);
    faulty->lose_replies(1);  // stored, but the caller hears of a failure
    CHECK(run(rt, "2", deposit_money{25}, o).ec == errc::storage_io);
  }  // the process "restarts"
  runtime rt{faulty, threads(2)};
  auto retried = run(rt, "2", deposit_money{25}, o);
  REQUIRE_FALSE(retried.ec);
  CHECK(retried.result.already_appended);
  CHECK(retried.result.version == 2);
  CHECK(balance(rt, "2") == 25);
  CHECK(inner->stream_version("account-2").value() == 2);
}

namespace {

// A strong subscriber stand-in: answers from another thread after a delay.
struct slow_gate final : consistency_gate {
  std::atomic<int> waited{0};
  std::atomic<bool> fail{false};
  std::vector<std::thread> threads;
  std::mutex m;
  void wait(const dispatch_result&, std::function<void(std::error_code)> done) override {
    ++waited;
    std::lock_guard lock(m);
    threads.emplace_back([this, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      done(fail ? make_error_code(errc::storage_io) : std::error_code{});
    });
  }
  ~slow_gate() override {
    for (auto& t : threads)
      t.join();
  }
};

}  // namespace

TEST_CASE("strong consistency answers after the gates, eventual at once",
          "[runtime][consistency]") {
  auto gate = std::make_shared<slow_gate>();
  runtime rt{memory_store{}, threads(2)};
  rt.add_consistency_gate(gate);
  REQUIRE_FALSE(run(rt, "3", open_account{"ann"}).ec);
  CHECK(gate->waited == 0);
  dispatch_options strong;
  strong.consistency = consistency::strong;
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(run(rt, "3", deposit_money{1}, strong).ec);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(30));
  CHECK(gate->waited == 1);
  gate->fail = true;
  CHECK(run(rt, "3", deposit_money{1}, strong).ec == errc::storage_io);
}

namespace {
struct tagger final : middleware {
  std::atomic<int> befores{0}, afters{0};
  result<void> before(command_context& c) override {
    ++befores;
    c.options.metadata["tag"] = std::string(c.category);
    return {};
  }
  void after(const command_context&, const dispatch_result&) override { ++afters; }
};
}  // namespace

TEST_CASE("middleware runs around multi-stream commands too", "[runtime][middleware]") {
  auto t = std::make_shared<tagger>();
  runtime rt{memory_store{}, threads(2)};
  rt.use(t);
  REQUIRE_FALSE(run(rt, "a", open_account{"ann"}).ec);
  REQUIRE_FALSE(run(rt, "a", deposit_money{10}).ec);
  REQUIRE_FALSE(run(rt, "b", open_account{"bob"}).ec);
  auto moved = transfer(rt, "a", "b", 4);
  REQUIRE_FALSE(moved.ec);
  CHECK(t->befores == 4);
  CHECK(t->afters == 4);
  for (const auto& e : moved.result.events)
    CHECK(e.metadata.user.at("tag") == "account");
}
