// factum-bench: the workloads of shared/BENCH.md, each with its baseline
// measured in the same run. Figures and how to read them: docs/performance.md.
//
//   factum-bench --help
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "harness.hpp"
#if FACTUM_BENCH_POSTGRES
#include "../tests/support/pg_cluster.hpp"
#endif

namespace {

using factum_bench::figure;
using factum_bench::options;
using factum_bench::workload;

constexpr const char* usage =
    "usage: factum-bench [--json] [--quick] [--filter REGEX] [--reps N] [--dir DIR]\n"
    "                    [--sqlite-pragma P]... [--loader L] [--pg URI|auto] [--samples]\n"
    "                    [--no-fork] [--list]\n"
    "  --json          one JSON object per line and workload (shared/BENCH.md format)\n"
    "  --quick         small sizes, the whole set in well under a minute\n"
    "  --filter REGEX  only the workloads whose name matches (std::regex_search)\n"
    "  --reps N        repetitions per figure (default 5, 3 with --quick; at least 3)\n"
    "  --dir DIR       where the SQLite files go (default: the system temp folder)\n"
    "  --sqlite-pragma P\n"
    "                  run PRAGMA P on every SQLite connection, factum's and the\n"
    "                  baselines' alike (e.g. temp_store=MEMORY); shown in params\n"
    "  --loader L      how W4 reads the stream: read_stream (default) or scan_stream\n"
    "  --pg URI        run the W3.postgres workloads on this server (any libpq URI;\n"
    "                  each run uses a fresh schema and drops it); `auto` starts a\n"
    "                  throwaway cluster with fsync on. Without --pg they are skipped\n"
    "  --samples       in the table, also every repetition's figure\n"
    "  --no-fork       run every workload in this process (default: each in a\n"
    "                  fresh child process, so no workload inherits another's heap)\n"
    "  --list          print the workload names and exit\n";

void print_row(const figure& f, bool samples) {
  const auto j = factum_bench::to_json(f);
  double lo = f.samples.empty() ? 0 : f.samples.front(), hi = lo;
  for (double s : f.samples) {
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  const double mid = factum_bench::median(f.samples);
  const double spread = mid > 0 ? (hi - lo) / mid * 100 : 0;
  std::string baseline = "-", ratio = "-";
  if (!f.baseline_name.empty()) {
    baseline = f.baseline_name + " " + j["baseline"].dump();
    if (j.contains("ratio")) ratio = j["ratio"].dump();
  }
  std::printf("%-30s %14s %-12s %5.1f%%  %-36s %6s\n", f.name.c_str(), j["value"].dump().c_str(),
              f.unit.c_str(), spread, baseline.c_str(), ratio.c_str());
  if (samples) {
    std::printf("%-30s   samples", "");
    for (double x : f.samples)
      std::printf(" %.4g", x);
    if (!f.baseline_samples.empty()) std::printf("  baseline samples");
    for (double x : f.baseline_samples)
      std::printf(" %.4g", x);
    std::printf("\n");
  }
  std::printf("%-30s   params %s\n", "", j["params"].dump().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  bool list = false, samples = false, fork_each = true;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(a) + " needs a value");
        return argv[++i];
      };
      if (a == "--json") {
        opt.json = true;
      } else if (a == "--quick") {
        opt.quick = true;
      } else if (a == "--filter") {
        opt.filter.emplace(next());
      } else if (a == "--reps") {
        opt.reps = std::stoi(next());
        if (opt.reps < 3) throw std::invalid_argument("--reps must be at least 3");
      } else if (a == "--dir") {
        opt.dir = next();
      } else if (a == "--sqlite-pragma") {
        opt.sqlite_pragmas.push_back(next());
      } else if (a == "--loader") {
        opt.loader = next();
        if (opt.loader != "read_stream" && opt.loader != "scan_stream")
          throw std::invalid_argument("--loader is read_stream or scan_stream");
      } else if (a == "--pg") {
        opt.pg = next();
      } else if (a == "--samples") {
        samples = true;
      } else if (a == "--no-fork") {
        fork_each = false;
      } else if (a == "--list") {
        list = true;
      } else if (a == "--help" || a == "-h") {
        std::fputs(usage, stdout);
        return 0;
      } else {
        throw std::invalid_argument("unknown option " + std::string(a));
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "factum-bench: %s\n%s", e.what(), usage);
    return 2;
  }
  if (opt.reps == 0) opt.reps = opt.quick ? 3 : 5;

#if FACTUM_BENCH_SQLITE
  factum_bench::use_sqlite_pragmas(opt.sqlite_pragmas);
#else
  if (!opt.sqlite_pragmas.empty()) {
    std::fputs("factum-bench: built without SQLite; --sqlite-pragma has no effect\n", stderr);
    return 2;
  }
#endif

#if !FACTUM_BENCH_POSTGRES
  if (!opt.pg.empty()) {
    std::fputs(
        "factum-bench: built without PostgreSQL (FACTUM_WITH_POSTGRES); --pg has no effect\n",
        stderr);
    return 2;
  }
#endif

  std::vector<workload> all;
  factum_bench::add_memory_append(all);
#if FACTUM_BENCH_SQLITE
  factum_bench::add_sqlite_append(all);
#endif
  factum_bench::add_rehydrate(all);
  factum_bench::add_runtime(all);
  factum_bench::add_read_side(all);
#if FACTUM_BENCH_SQLITE
  factum_bench::add_lag(all);
#endif
#if FACTUM_BENCH_POSTGRES
  factum_bench::add_postgres_append(all);
#endif

  if (list) {
    for (const auto& w : all)
      std::puts(w.name.c_str());
    return 0;
  }
  auto selected = [&](const workload& w) {
    return !opt.filter || std::regex_search(w.name, *opt.filter);
  };
#if FACTUM_BENCH_POSTGRES
  // `--pg auto`: one throwaway durable cluster for the whole run, started
  // only when a selected workload needs it; the children inherit its URI.
  std::unique_ptr<factum_test::pg_cluster> cluster;
  if (opt.pg == "auto") {
    opt.pg.clear();
    if (std::any_of(all.begin(), all.end(),
                    [&](const workload& w) { return w.postgres && selected(w); })) {
      try {
        cluster = std::make_unique<factum_test::pg_cluster>(true);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "factum-bench: --pg auto: %s\n", e.what());
        return 1;
      }
      opt.pg = cluster->uri();
    }
  }
#endif
  if (!opt.json)
    std::printf("%-30s %14s %-12s %6s  %-36s %6s\n", "workload", "median", "unit", "spread",
                "baseline (median)", "ratio");
  // Runs one workload and prints its line; 0 when it succeeded.
  auto run = [&](const workload& w) {
    try {
      const figure f = w.run(opt);
      if (opt.json)
        std::puts(factum_bench::to_json(f).dump().c_str());
      else
        print_row(f, samples);
      std::fflush(stdout);
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "factum-bench: %s failed: %s\n", w.name.c_str(), e.what());
      return 1;
    }
  };
  int failed = 0;
  for (const auto& w : all) {
    if (!selected(w)) continue;
    if (w.postgres && opt.pg.empty()) {  // not a failure: there is no server to measure
      if (!opt.json)
        std::fprintf(stderr, "factum-bench: %s skipped (needs --pg URI or --pg auto)\n",
                     w.name.c_str());
      continue;
    }
    if (!fork_each) {
      failed += run(w);
      continue;
    }
    // Each workload in a fresh child: a figure must not depend on the heap
    // the workloads before it left behind (glibc's dynamic mmap and trim
    // thresholds moved W4.rehydrate.sqlite from 0.44 alone to 0.74 after W2).
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("factum-bench: fork");
      return 1;
    }
    if (pid == 0) {
      const int rc = run(w);
      all.clear();  // the workloads' shared fixtures remove their temp files
      std::_Exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (WIFSIGNALED(status))
        std::fprintf(stderr, "factum-bench: %s killed by signal %d\n", w.name.c_str(),
                     WTERMSIG(status));
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}
