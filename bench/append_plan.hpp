#pragma once

// The rows the W3 append workloads write (W3.sqlite.append.batch and
// W3.postgres.append.batch): multi-stream batches as a group commit hands
// them to a store, built before anything is timed, so a store and its raw
// baseline write the same events.
#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <factum/store/event_store.hpp>

#include "domain.hpp"

namespace factum_bench {

/// One append: several streams, as a group commit hands them to the store.
struct batch {
  std::vector<factum::stream_write> writes;
  std::vector<std::size_t> accounts;  ///< the account number of each write
};

/// Every event both sides write, built before anything is timed.
struct plan {
  std::size_t streams = 0;
  std::size_t streams_per_batch = 0;
  std::size_t events_per_stream = 0;
  std::vector<batch> warmup;  ///< one opening event per stream, untimed
  std::vector<batch> timed;
  /// Type keys in order of first use, as the SQLite store assigns them.
  /// Stream keys are account + 1: the warm-up creates the streams in
  /// account order.
  std::map<std::string, std::int64_t> type_keys;
  std::size_t timed_events = 0;
};

inline plan make_plan(std::size_t streams, std::size_t batches, std::size_t streams_per_batch,
                      std::size_t events_per_stream) {
  plan p;
  p.streams = streams;
  p.streams_per_batch = streams_per_batch;
  p.events_per_stream = events_per_stream;
  const std::size_t batch_events = streams_per_batch * events_per_stream;
  std::vector<std::uint64_t> version(streams, 0);
  for (std::size_t first = 0; first < streams; first += batch_events) {
    batch& b = p.warmup.emplace_back();
    for (std::size_t s = first; s < std::min(streams, first + batch_events); ++s) {
      b.writes.push_back(
          {account_stream(s), factum::expected_version::no_stream(), make_events(s, 1, 1)});
      b.accounts.push_back(s);
      version[s] = 1;
    }
  }
  // Each timed batch draws `streams_per_batch` distinct streams at random.
  std::mt19937_64 rng{20240611};
  std::vector<std::size_t> order(streams);
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t i = 0; i < batches; ++i) {
    batch& b = p.timed.emplace_back();
    for (std::size_t j = 0; j < streams_per_batch; ++j) {
      std::swap(order[j], order[j + rng() % (streams - j)]);
      const std::size_t s = order[j];
      b.writes.push_back({account_stream(s), factum::expected_version::exact(version[s]),
                          make_events(s, version[s] + 1, events_per_stream)});
      b.accounts.push_back(s);
      version[s] += events_per_stream;
      p.timed_events += events_per_stream;
    }
  }
  for (const auto* part : {&p.warmup, &p.timed})
    for (const auto& b : *part)
      for (const auto& w : b.writes)
        for (const auto& e : w.events)
          p.type_keys.emplace(e.type, static_cast<std::int64_t>(p.type_keys.size() + 1));
  return p;
}

}  // namespace factum_bench
