// Telemetry: a sink attached to the runtime sees the write side (dispatch,
// execute, load, append, conflict retries, snapshots, passivation, memory
// pressure) and the read side (handler retries and dead letters, projection
// events and checkpoints, process steps, commands and compensations); the
// metrics sink's Prometheus text parses as the exposition format; the log
// sink writes through spdlog at the documented levels.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <factum/telemetry.hpp>
#include <factum/telemetry/log_sink.hpp>

#include "../subscribe/helpers.hpp"
#include "../subscribe/transfers.hpp"
#include "../support/temp_dir.hpp"

using namespace factum_test;
using namespace std::chrono_literals;

namespace {

/// A runtime on `store` reporting to a fresh metrics sink.
struct observed {
  std::shared_ptr<factum::metrics> metrics = std::make_shared<factum::metrics>();
  factum::runtime rt;

  explicit observed(std::shared_ptr<factum::event_store> store,
                    factum::runtime_options o = threads(2))
      : rt(std::move(store), with(std::move(o))) {}
  factum::runtime_options with(factum::runtime_options o) {
    o.telemetry = metrics;
    return o;
  }
  std::uint64_t count(std::string_view name) const { return metrics->count(name); }
};

/// Keeps every event it is given, with its tags, for checks of their order.
struct journal final : factum::telemetry_sink {
  std::mutex mutex;
  std::vector<std::string> lines;
  void record(const factum::telemetry_event& e) noexcept override {
    std::string line(e.name);
    for (const auto& t : e.tags)
      line += " " + std::string(t.key) + "=" + std::string(t.value);
    std::lock_guard lock(mutex);
    lines.push_back(line);
  }
  std::vector<std::string> taken() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

}  // namespace

TEST_CASE("telemetry: a dispatch reports dispatch, load, execute and append, in order") {
  auto j = std::make_shared<journal>();
  auto o = threads(1);
  o.telemetry = j;
  factum::runtime rt{factum::memory_store{}, o};
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  const std::vector<std::string> want{
      "factum.command.dispatch.start aggregate=account stream=account-a",
      "factum.aggregate.load.start aggregate=account stream=account-a",
      "factum.store.read.start stream=account-a",
      "factum.store.read.stop stream=account-a",
      "factum.aggregate.load.stop aggregate=account stream=account-a",
      "factum.aggregate.activate.count aggregate=account stream=account-a",
      "factum.aggregate.execute.start aggregate=account stream=account-a",
      "factum.aggregate.execute.stop aggregate=account stream=account-a",
      "factum.store.append.start stream=account-a",
      "factum.store.append.stop stream=account-a",
      "factum.command.dispatch.stop aggregate=account stream=account-a outcome=ok"};
  CHECK(j->taken() == want);
}

TEST_CASE("telemetry: events, bytes and outcomes of commands reach the metrics") {
  observed o{std::make_shared<factum::memory_store>()};
  REQUIRE(!run(o.rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(o.rt, "a", deposit_money{5}).ec);
  REQUIRE(run(o.rt, "a", withdraw_money{50}).ec);  // rejected
  REQUIRE(run(o.rt, "b", open_account{""}).ec);    // execute throws
  CHECK(o.count("factum.command.dispatch.start") == 4);
  CHECK(o.count("factum.command.dispatch.stop") == 3);  // ok, ok, rejected
  CHECK(o.count("factum.command.dispatch.exception") == 1);
  CHECK(o.metrics->count("factum.aggregate.execute.stop", {{"outcome", "rejected"}}) == 1);
  CHECK(o.count("factum.aggregate.execute.exception") == 1);
  CHECK(o.count("factum.aggregate.load.stop") == 2);  // a, b
  CHECK(o.count("factum.store.append.stop") == 2);
  const std::string text = o.metrics->prometheus();
  CHECK_THAT(text, Catch::Contains("factum_store_append_events_total 2\n"));
  CHECK_THAT(text, Catch::Contains("factum_aggregate_execute_seconds_count{aggregate=\"account\","
                                   "outcome=\"rejected\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("factum_command_dispatch_seconds_count{aggregate=\"account\","
                                   "outcome=\"error\"} 1\n"));
  // The stream is not a label: one series per aggregate type, not per stream.
  CHECK_THAT(text, !Catch::Contains("account-a"));
}

TEST_CASE("telemetry: a conflict retry is reported") {
  auto store = std::make_shared<factum::memory_store>();
  observed one{store};
  factum::runtime other{store, threads(1)};
  REQUIRE(!run(one.rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(other, "a", deposit_money{1}).ec);  // one's instance is behind now
  REQUIRE(!run(one.rt, "a", deposit_money{2}).ec);
  CHECK(one.count("factum.aggregate.retry.count") == 1);
  CHECK(one.count("factum.store.append.exception") == 1);
  CHECK(balance(one.rt, "a") == 3);
}

TEST_CASE("telemetry: snapshots, passivation, activation and memory pressure are reported") {
  std::atomic<double> used{0.1};
  auto o = threads(1);
  o.memory.probe = [&] { return used.load(); };
  o.sweep_interval = std::chrono::hours{1};  // the test sweeps
  observed ob{std::make_shared<factum::memory_store>(), o};
  auto a = snapshot_every(1);
  a.ttl = 1ms;
  ob.rt.configure<account>(a);
  REQUIRE(!run(ob.rt, "a", open_account{"ann"}).ec);
  CHECK(ob.count("factum.snapshot.load.stop") == 1);  // none there yet
  CHECK(ob.count("factum.snapshot.save.stop") == 1);
  std::this_thread::sleep_for(5ms);
  used = 0.8;
  REQUIRE(ob.rt.sweep() == 1);
  REQUIRE(eventually([&] { return ob.count("factum.aggregate.passivate.count") == 1; }));
  CHECK(ob.metrics->count("factum.runtime.memory_pressure.count", {{"level", "elevated"}}) == 1);
  REQUIRE(ob.rt.sweep() == 0);  // the same level again: no change reported
  CHECK(ob.count("factum.runtime.memory_pressure.count") == 1);
  REQUIRE(!run(ob.rt, "a", deposit_money{1}).ec);
  CHECK(ob.count("factum.aggregate.activate.count") == 2);
  CHECK(ob.count("factum.snapshot.load.stop") == 2);
}

TEST_CASE("telemetry: a handler's attempts, retries and dead letter are reported") {
  auto store = std::make_shared<factum::memory_store>();
  observed o{store};
  factum::subscriptions subs{o.rt, quiet(5ms)};
  picky p;
  auto sub = subs.add(p, quick(3));
  REQUIRE(!run(o.rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(o.rt, "a", deposit_money{13}).ec);  // always throws
  REQUIRE(!run(o.rt, "b", open_account{"bob"}).ec);
  REQUIRE(!run(o.rt, "b", deposit_money{1}).ec);  // another stream: not held
  REQUIRE(sub.wait_until(head(o.rt), 5s));
  CHECK(o.count("factum.handler.event.exception") == 3);
  CHECK(o.count("factum.handler.retry.count") == 2);
  CHECK(o.metrics->count("factum.handler.dead_letter.count",
                         {{"subscriber", "picky"}, {"event_type", "MoneyDeposited"}}) == 1);
  CHECK(o.count("factum.handler.event.stop") == 1);
  CHECK_THAT(o.metrics->prometheus(),
             Catch::Contains("factum_handler_dead_letter_total{event_type=\"MoneyDeposited\","
                             "subscriber=\"picky\"} 1\n"));
}

TEST_CASE("telemetry: a projection reports each event and each checkpoint") {
  observed o{std::make_shared<factum::memory_store>()};
  factum::subscriptions subs{o.rt, quiet(5ms)};
  REQUIRE(!run(o.rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(o.rt, "a", deposit_money{5}).ec);
  auto model = std::make_shared<balances>();
  auto sub = subs.add(balance_projection{}, model);
  REQUIRE(sub.wait_until(head(o.rt), 5s));
  CHECK(o.count("factum.projection.event.stop") == 2);
  CHECK(o.count("factum.projection.checkpoint.stop") >= 1);
  CHECK_THAT(
      o.metrics->prometheus(),
      Catch::Contains("factum_projection_checkpoint_events_total{subscriber=\"balances\"} 2\n"));
}

TEST_CASE("telemetry: a process manager reports its start, commands, compensation and stop") {
  auto store = std::make_shared<factum::memory_store>();
  observed o{store};
  factum::subscriptions subs{o.rt, quiet(5ms)};
  transfers t;
  auto sub = subs.add_process(t);
  REQUIRE(!run(o.rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(o.rt, "a", deposit_money{100}).ec);
  request(*store, {"t1", "a", "nobody", 40});  // the credit is refused, then refunded
  REQUIRE(eventually([&] { return o.count("factum.process.stop.count") == 1; }));
  CHECK(o.count("factum.process.start.count") == 1);
  CHECK(o.metrics->count("factum.process.command.count", {{"outcome", "ok"}}) == 2);
  CHECK(o.metrics->count("factum.process.command.count", {{"outcome", "rejected"}}) == 1);
  CHECK(o.count("factum.process.compensate.count") == 1);
  // The request and the deadline: the second's span ends after its step
  // reported the stop.
  CHECK(eventually([&] { return o.count("factum.process.event.stop") == 2; }));
}

TEST_CASE("telemetry: the Prometheus text parses as the exposition format") {
  observed o{std::make_shared<factum::memory_store>()};
  factum::subscriptions subs{o.rt, quiet(5ms)};
  picky p;
  auto sub = subs.add(p, quick(2));
  REQUIRE(!run(o.rt, "a", open_account{"ann \"the \\ first\"\n"}).ec);
  REQUIRE(!run(o.rt, "a", deposit_money{13}).ec);
  REQUIRE(run(o.rt, "a", withdraw_money{500}).ec);
  REQUIRE(sub.wait_until(head(o.rt), 5s));
  const std::string text = o.metrics->prometheus();

  // Every line is a TYPE comment or a sample; histograms end in +Inf = count.
  const std::regex type_line{R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|histogram))"};
  const std::regex sample{
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\})? [-+0-9.eInf]+)"};
  std::istringstream in(text);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    INFO(line);
    CHECK((std::regex_match(line, type_line) || std::regex_match(line, sample)));
    samples += line.starts_with('#') ? 0 : 1;
  }
  CHECK(samples > 20);

  // And a parser that is not ours agrees: the Prometheus Python client's.
  factum_test::temp_dir dir;
  const auto file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  const std::string cmd =
      "/usr/bin/python3 -c \"import sys; from prometheus_client.parser import "
      "text_string_to_metric_families as parse; "
      "fams = list(parse(open(sys.argv[1]).read())); "
      "print(len(fams), sum(len(f.samples) for f in fams))\" " +
      file.string();
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[128] = {};
  const bool read = std::fgets(buf, sizeof buf, pipe) != nullptr;
  const int status = pclose(pipe);
  INFO("python3 with prometheus_client (Debian: python3-prometheus-client) printed: " << buf);
  REQUIRE(status == 0);
  REQUIRE(read);
  int families = 0, parsed = 0;
  REQUIRE(std::sscanf(buf, "%d %d", &families, &parsed) == 2);
  CHECK(parsed == samples);
  CHECK(families > 5);
}

TEST_CASE("telemetry: the log sink writes through spdlog at the documented levels") {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "factum", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%l %v");
  logger->set_level(spdlog::level::info);  // the default's level: quiet
  auto o = threads(2);
  o.telemetry = std::make_shared<factum::log_sink>(logger);
  factum::runtime rt{factum::memory_store{}, o};
  factum::subscriptions subs{rt, quiet(5ms)};
  picky p;
  auto sub = subs.add(p, quick(2));
  REQUIRE(!run(rt, "a", open_account{"ann"}).ec);
  REQUIRE(!run(rt, "a", deposit_money{13}).ec);
  REQUIRE(sub.wait_until(head(rt), 5s));
  logger->flush();
  const std::string text = out.str();
  CHECK_THAT(text, !Catch::Contains("factum.aggregate.execute"));  // debug: not at info
  CHECK_THAT(text, Catch::Contains("warning factum.handler.retry.count subscriber=picky"));
  CHECK_THAT(text, Catch::Contains("error factum.handler.dead_letter.count subscriber=picky "
                                   "event_type=MoneyDeposited error=\""));

  logger->set_level(spdlog::level::debug);
  REQUIRE(!run(rt, "a", deposit_money{1}).ec);
  logger->flush();
  CHECK_THAT(out.str(), Catch::Contains("debug factum.aggregate.execute.stop "));
}
