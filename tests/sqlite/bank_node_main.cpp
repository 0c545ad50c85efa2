// A bank node for the crash tests: the example's domain and read side on an
// SQLite file, requesting transfers until it is killed.
//
//   factum_bank_node DB SEED
//
// The accounts acc-0 .. acc-3 must exist. It runs the account-summary
// projection and the transfer process manager, and requests transfers of 1
// to 9 between random accounts, printing "requested ID" after each request
// is stored.
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "../../examples/bank/bank_read_side.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: factum_bank_node DB SEED\n");
    return 2;
  }
  const std::string seed = argv[2];
  std::mt19937 rng(static_cast<unsigned>(std::stoul(seed)));
  factum::runtime rt{factum::sqlite_store{argv[1]}};
  auto accounts = std::make_shared<factum::sqlite_read_model>(argv[1]);
  if (!bank::account_summary::create(*accounts)) return 1;
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  auto projection = subs.add(bank::account_summary{}, accounts);
  auto transfers = subs.add_process(bank::transfers{});
  for (long i = 0;; ++i) {
    const auto from = rng() % 4, to = (from + 1 + rng() % 3) % 4;
    const std::string id = "t" + seed + "-" + std::to_string(i);
    std::promise<std::error_code> done;
    rt.dispatch<bank::transfer>(
        id,
        bank::request_transfer{"acc-" + std::to_string(from), "acc-" + std::to_string(to),
                               static_cast<std::int64_t>(1 + rng() % 9)},
        [&](std::error_code ec, factum::dispatch_result) { done.set_value(ec); });
    if (auto ec = done.get_future().get()) {
      std::printf("error %s\n", ec.message().c_str());
      return 1;
    }
    std::printf("requested %s\n", id.c_str());
    std::fflush(stdout);
  }
}
