// W2.memory.append: store-level appends of pre-built events to memory_store.
#include <span>
#include <vector>

#include <factum/store/memory_store.hpp>

#include "domain.hpp"
#include "harness.hpp"

namespace factum_bench {

namespace {

figure memory_append(const options& opt) {
  const std::size_t streams = opt.size(10'000, 1'000);
  const std::size_t batch = 100;
  const std::size_t events = opt.size(1'000'000, 20'000);

  // Batch i goes to stream i % streams with the version that stream has by
  // then, as an aggregate's append would.
  std::vector<factum::stream_write> writes;
  writes.reserve(events / batch);
  std::vector<std::uint64_t> version(streams, 0);
  for (std::size_t i = 0; i < events / batch; ++i) {
    const std::size_t s = i % streams;
    writes.push_back({account_stream(s), factum::expected_version::exact(version[s]),
                      make_events(s, version[s] + 1, batch)});
    version[s] += batch;
  }

  figure f;
  f.name = "W2.memory.append";
  f.unit = "events/s";
  f.baseline_name = "vector.push";
  f.params = {{"events", events},
              {"streams", streams},
              {"batch", batch},
              {"expected_version", "exact"},
              {"reps", opt.reps}};
  for (int rep = 0; rep < opt.reps; ++rep) {
    {
      factum::memory_store store;
      const double t = seconds([&] {
        for (const auto& w : writes)
          check(store.append(std::span<const factum::stream_write>(&w, 1)), "memory append");
      });
      f.samples.push_back(static_cast<double>(events) / t);
    }  // the store is freed outside the timing
    {
      // What the store cannot avoid: copying each event into a growing vector.
      std::vector<factum::event_data> log;
      const double t = seconds([&] {
        for (const auto& w : writes)
          for (const auto& e : w.events)
            log.push_back(e);
        keep(log.data());
      });
      f.baseline_samples.push_back(static_cast<double>(events) / t);
    }
  }
  return f;
}

}  // namespace

void add_memory_append(std::vector<workload>& out) {
  out.push_back({"W2.memory.append", memory_append});
}

}  // namespace factum_bench
