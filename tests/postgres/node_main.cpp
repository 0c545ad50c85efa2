// A bank node for the multi-node tests: the example's domain on a PostgreSQL
// database shared with other processes.
//
//   factum_pg_node deposit URI COUNT       COUNT deposits of 1 to acc-0..acc-3,
//                                          64 in flight; prints "done N"
//   factum_pg_node project URI             the account-summary projection,
//                                          single owner, into the same
//                                          database; runs until killed
#include <atomic>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <factum/runtime.hpp>
#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>
#include <factum/subscribe.hpp>

#include "../../examples/bank/bank_read_side.hpp"

namespace {

int deposit(const std::string& uri, long count) {
  // Two nodes hammer the same four streams with 64 commands in flight each:
  // the worst case of contention, so more conflict retries than the default.
  factum::runtime_options options;
  options.retry.max_attempts = 200;
  factum::runtime rt{factum::postgres_store{uri}, options};
  std::atomic<long> ok{0}, failed{0}, in_flight{0};
  for (long i = 0; i < count; ++i) {
    while (in_flight.load() >= 64)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++in_flight;
    rt.dispatch<bank::account>("acc-" + std::to_string(i % 4), bank::deposit{1},
                               [&](std::error_code ec, factum::dispatch_result) {
                                 if (ec) {
                                   std::fprintf(stderr, "deposit failed: %s\n",
                                                ec.message().c_str());
                                   ++failed;
                                 } else {
                                   ++ok;
                                 }
                                 --in_flight;
                               });
  }
  while (in_flight.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::printf("done %ld failed %ld\n", ok.load(), failed.load());
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

int project(const std::string& uri) {
  factum::runtime rt{factum::postgres_store{uri}};
  auto accounts = std::make_shared<factum::postgres_read_model>(uri);
  if (!bank::account_summary::create(*accounts)) return 1;
  factum::subscriptions_options options;
  options.log = [](std::string_view m) { std::fprintf(stderr, "%.*s\n", int(m.size()), m.data()); };
  factum::subscriptions subs{rt, options};
  factum::subscription_options single;
  single.single_owner = true;
  single.claim_interval = std::chrono::milliseconds(200);
  auto projection = subs.add(bank::account_summary{}, accounts, single);
  std::printf("running\n");
  std::fflush(stdout);
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "deposit" && argc == 4) return deposit(argv[2], std::stol(argv[3]));
  if (mode == "project" && argc == 3) return project(argv[2]);
  std::fprintf(stderr, "usage: factum_pg_node deposit URI COUNT | project URI\n");
  return 2;
}
