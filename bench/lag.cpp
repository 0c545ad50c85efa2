// W9.projection.lag: deposits dispatched at a steady half of the dispatch
// rate measured first in the same run (W3.sqlite.dispatch.full's workload),
// with the bank's account-summary projection into an SQLite read model in
// the same process. The figure is the p99 delay from a command's completion
// to its row being readable (the projection's cursor passing its event),
// with the read model in the store's own file; the baseline is the same
// with the read model in a file of its own. Also: p50, the largest delay,
// and whether the projection keeps up (its backlog when the writes stop).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "../examples/bank/bank_read_side.hpp"
#include "harness.hpp"

namespace factum_bench {
namespace {

struct lag_run {
  double rate = 0;          ///< commands/s offered
  std::vector<double> lag;  ///< ms, one per command, sorted
  std::uint64_t backlog = 0;
};

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

/// Opens `accounts` accounts; then dispatches deposits for `duration` at
/// `rate` commands/s (0: as fast as `in_flight` allows, and returns the
/// rate reached) and measures each one's delay to the projection.
lag_run run(const std::filesystem::path& store_file, const std::filesystem::path& model_file,
            std::size_t accounts, std::chrono::duration<double> duration, double rate,
            bool project) {
  factum::sqlite_options so;
  so.synchronous = factum::sqlite_sync::full;
  factum::runtime_options ro;
  ro.threads = 2;
  factum::runtime rt{factum::sqlite_store{store_file, so}, ro};
  factum::subscriptions_options quiet;
  quiet.log = {};
  factum::subscriptions subs{rt, quiet};
  std::shared_ptr<factum::sqlite_read_model> model;
  factum::subscription sub;
  if (project) {
    model = std::make_shared<factum::sqlite_read_model>(model_file);
    if (!bank::account_summary::create(*model)) throw std::runtime_error("W9: no table");
    sub = subs.add(bank::account_summary{}, model);
  }
  for (std::size_t i = 0; i < accounts; ++i)
    rt.dispatch<bank::account>("acc-" + std::to_string(i), bank::open_account{"o"},
                               [](std::error_code, factum::dispatch_result) {});
  while (rt.store().head().value().global() < accounts)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  if (project && !sub.wait_until(rt.store().head().value(), std::chrono::seconds{120}))
    throw std::runtime_error("W9: the projection did not catch up with the openings");

  struct done {
    std::uint64_t global;
    clock::time_point at;
  };
  std::mutex mutex;
  std::vector<done> completed;  // by completion
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> failed{false};
  lag_run out;
  std::vector<double> lags;
  std::atomic<bool> writing{true};
  std::atomic<bool> stuck{false};

  // The sampler: each completed command's delay until the cursor passes it.
  std::thread sampler;
  if (project)
    sampler = std::thread([&] {
      std::vector<done> pending;
      for (;;) {
        const bool last = !writing.load();
        const auto cursor = sub.cursor().global();
        const auto now = clock::now();
        {
          std::lock_guard lock(mutex);
          pending.insert(pending.end(), completed.begin(), completed.end());
          completed.clear();
        }
        std::erase_if(pending, [&](const done& d) {
          if (d.global > cursor) return false;
          lags.push_back(std::chrono::duration<double, std::milli>(now - d.at).count());
          return true;
        });
        if (last && pending.empty()) return;
        if (last) {
          out.backlog = pending.size();
          if (!sub.wait_until(rt.store().head().value(), std::chrono::seconds{300})) {
            stuck = true;
            return;
          }
        }
        std::this_thread::sleep_for(std::chrono::microseconds{500});
      }
    });

  const auto start = clock::now();
  const auto end = start + std::chrono::duration_cast<clock::duration>(duration);
  std::size_t issued = 0;
  for (;;) {
    const auto now = clock::now();
    if (now >= end) break;
    if (rate > 0) {
      const auto due = start + std::chrono::duration_cast<clock::duration>(
                                   std::chrono::duration<double>(issued / rate));
      if (due > now) {
        std::this_thread::sleep_for(
            std::min<clock::duration>(due - now, std::chrono::milliseconds{1}));
        continue;
      }
    } else if (in_flight.load() >= 1024) {
      std::this_thread::sleep_for(std::chrono::microseconds{50});
      continue;
    }
    ++in_flight;
    rt.dispatch<bank::account>(
        "acc-" + std::to_string(issued % accounts), bank::deposit{1},
        [&](std::error_code ec, factum::dispatch_result r) {
          if (ec || r.events.empty()) {
            failed = true;
          } else {
            std::lock_guard lock(mutex);
            completed.push_back({r.events.back().global_position, clock::now()});
          }
          --in_flight;
        });
    ++issued;
  }
  while (in_flight.load() != 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  out.rate =
      static_cast<double>(issued) / std::chrono::duration<double>(clock::now() - start).count();
  writing = false;
  if (sampler.joinable()) sampler.join();
  if (failed) throw std::runtime_error("W9: commands failed");
  if (stuck) throw std::runtime_error("W9: the projection never caught up");
  std::sort(lags.begin(), lags.end());
  out.lag = std::move(lags);
  return out;
}

figure w9_lag(const options& opt) {
  const std::size_t accounts = opt.size(10'000, 200);
  const std::chrono::duration<double> duration{opt.quick ? 2.0 : 30.0};
  figure f;
  f.name = "W9.projection.lag";
  f.unit = "ms p99";
  f.higher_is_better = false;
  f.baseline_name = "W9.projection.lag.own_file";
  std::vector<double> p50, max, backlog, base_p50;
  double offered = 0;
  for (int rep = 0; rep < opt.reps; ++rep) {
    scratch_dir dir{opt.dir};
    // The rate to offer: half of what dispatch reaches with nobody reading.
    const double full = run(dir.path() / "rate.db", {}, accounts, duration / 3, 0, false).rate;
    offered = full / 2;
    const auto same =
        run(dir.path() / "same.db", dir.path() / "same.db", accounts, duration, offered, true);
    const auto own =
        run(dir.path() / "store.db", dir.path() / "model.db", accounts, duration, offered, true);
    f.samples.push_back(quantile(same.lag, 0.99));
    p50.push_back(quantile(same.lag, 0.5));
    max.push_back(same.lag.empty() ? 0 : same.lag.back());
    backlog.push_back(static_cast<double>(same.backlog));
    f.baseline_samples.push_back(quantile(own.lag, 0.99));
    base_p50.push_back(quantile(own.lag, 0.5));
    if (rep == 0) f.params["fs"] = file_system(dir.path());
  }
  f.params["accounts"] = accounts;
  f.params["seconds"] = duration.count();
  f.params["offered_per_s"] = offered;
  f.params["p50_ms"] = median(p50);
  f.params["max_ms"] = median(max);
  f.params["backlog_at_stop"] = median(backlog);
  f.params["own_file_p50_ms"] = median(base_p50);
  f.params["synchronous"] = "FULL";
  f.params["reps"] = opt.reps;
  return f;
}

}  // namespace

void add_lag(std::vector<workload>& out) {
  out.push_back({"W9.projection.lag", w9_lag});
}

}  // namespace factum_bench
