#pragma once

// A telemetry sink that keeps counters and latency histograms in memory and
// writes them in Prometheus' text exposition format.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <factum/telemetry/sink.hpp>

namespace factum {

struct metrics_options {
  /// Tags left out of the series' labels: ones with a value per stream or
  /// per event would make a series each.
  std::vector<std::string> dropped_tags{"stream", "event_id", "process_id", "command"};
  /// Upper bounds, in seconds, of the latency histograms' buckets.
  std::vector<double> buckets{0.000'005, 0.000'025, 0.000'1, 0.000'5, 0.001, 0.005,
                              0.025,     0.1,       0.5,     2.5,     10.0};
};

/// Counters and latency histograms of factum's telemetry, by event name and
/// the tags that are not per stream:
/// - `stop` and `exception` go to a histogram `<component>_<action>_seconds`
///   with the label `outcome` (the event's `outcome` tag, else `ok` for stop
///   and `exception` for exception);
/// - their `events` and `bytes` add to `<component>_<action>_events_total`
///   and `<component>_<action>_bytes_total`;
/// - `count` events add one to `<component>_<action>_total`;
/// - `start` events are counted too (`count(name)`), not exported.
/// ```
/// auto m = std::make_shared<factum::metrics>();
/// options.telemetry = m;
/// ...
/// std::cout << m->prometheus();   // factum_aggregate_execute_seconds_bucket{...} 12
/// ```
class metrics final : public telemetry_sink {
 public:
  explicit metrics(metrics_options options = {});

  void record(const telemetry_event& e) noexcept override;

  /// How many events named exactly `name` were recorded; only those with
  /// every tag of `having` (among the kept tags) when given.
  [[nodiscard]] std::uint64_t count(std::string_view name,
                                    std::span<const telemetry_tag> having = {}) const;
  [[nodiscard]] std::uint64_t count(std::string_view name,
                                    std::initializer_list<telemetry_tag> having) const {
    return count(name, std::span<const telemetry_tag>(having.begin(), having.size()));
  }
  /// Everything recorded, in the Prometheus text exposition format (0.0.4).
  [[nodiscard]] std::string prometheus() const;
  /// Forgets everything recorded.
  void clear();

 private:
  using labels = std::vector<std::pair<std::string, std::string>>;
  struct histogram {
    std::vector<std::uint64_t> buckets;  // not cumulative; one more for +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct key {
    std::string name;  // the event's full name
    labels tags;
    auto operator<=>(const key&) const = default;
  };

  labels kept(const telemetry_event& e) const;

  metrics_options options_;
  mutable std::mutex mutex_;
  std::map<key, std::uint64_t> counts_;                             // every event, by full name
  std::map<std::pair<std::string, labels>, histogram> latencies_;   // family, labels
  std::map<std::pair<std::string, labels>, std::uint64_t> totals_;  // counter family, labels
};

}  // namespace factum

#include <factum/telemetry/detail/metrics-inl.hpp>
