#pragma once

// What factum reports about itself: named events with a duration, sizes and
// tags, handed to a sink the user attaches (runtime_options::telemetry).
// Names follow `factum.<component>.<action>.<stage>`; the stage is `start`,
// `stop` or `exception` for timed work and `count` for a thing that happened.
// With no sink attached, reporting costs one branch.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace factum {

/// One tag of an event: `aggregate` (its category), `stream`, `event_type`,
/// `subscriber`, `outcome`, ...
struct telemetry_tag {
  std::string_view key;
  std::string_view value;
};

/// One reported event. Everything it points to lives only during the call.
/// ```
/// factum.aggregate.execute.stop   duration 12us  tags aggregate=account stream=acc-1 outcome=ok
/// factum.store.append.stop        duration 90us  events 3  bytes 412
/// factum.handler.dead_letter.count              tags subscriber=notifier event_type=MoneyDeposited
/// ```
struct telemetry_event {
  std::string_view name;
  /// How long the work took (`stop` and `exception`; zero otherwise).
  std::chrono::nanoseconds duration{0};
  /// Events the work concerned (appended, read, replayed, committed); 0 when none.
  std::uint64_t events = 0;
  /// Bytes of event data the work concerned; 0 when none.
  std::uint64_t bytes = 0;
  std::span<const telemetry_tag> tags;
  /// What went wrong (`exception`, retries and dead letters).
  std::string_view error;

  /// The value of tag `key`; empty when it has none.
  [[nodiscard]] std::string_view tag(std::string_view key) const noexcept {
    for (const auto& t : tags)
      if (t.key == key) return t.value;
    return {};
  }
  /// The last part of the name: `start`, `stop`, `exception` or `count`.
  [[nodiscard]] std::string_view stage() const noexcept {
    const auto dot = name.rfind('.');
    return dot == std::string_view::npos ? name : name.substr(dot + 1);
  }
};

/// Receives factum's telemetry. `record` is called on the thread where the
/// work happened, often from several threads at once; it must be thread-safe,
/// quick, and must not throw.
/// ```
/// struct slow_commands : factum::telemetry_sink {
///   void record(const factum::telemetry_event& e) noexcept override {
///     if (e.name == "factum.aggregate.execute.stop" && e.duration > 10ms) warn(e.tag("stream"));
///   }
/// };
/// ```
class telemetry_sink {
 public:
  virtual ~telemetry_sink() = default;
  virtual void record(const telemetry_event& e) noexcept = 0;
};

/// Several sinks as one: each event goes to each sink, in order.
/// ```
/// options.telemetry = factum::tee({metrics, std::make_shared<factum::log_sink>()});
/// ```
[[nodiscard]] inline std::shared_ptr<telemetry_sink> tee(
    std::vector<std::shared_ptr<telemetry_sink>> sinks) {
  struct fan_out final : telemetry_sink {
    std::vector<std::shared_ptr<telemetry_sink>> sinks;
    void record(const telemetry_event& e) noexcept override {
      for (const auto& s : sinks)
        s->record(e);
    }
  };
  auto out = std::make_shared<fan_out>();
  for (auto& s : sinks)
    if (s) out->sinks.push_back(std::move(s));
  return out;
}

}  // namespace factum
