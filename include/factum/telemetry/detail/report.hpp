#pragma once

// How factum's own code reports: a span (start, then stop or exception,
// timed) and a count, each a no-op without a sink.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include <factum/telemetry/sink.hpp>

namespace factum::detail {

/// The three names of a timed piece of work.
struct span_names {
  std::string_view start;
  std::string_view stop;
  std::string_view exception;
};

// `factum.<component>.<action>` with its three stages, as string literals.
#define FACTUM_TELEMETRY_SPAN(component, action)                                     \
  ::factum::detail::span_names {                                                     \
    "factum." component "." action ".start", "factum." component "." action ".stop", \
        "factum." component "." action ".exception"                                  \
  }

/// At most this many tags per event; more are dropped.
inline constexpr std::size_t max_tags = 6;

class tag_list {
 public:
  tag_list() = default;
  tag_list(std::initializer_list<telemetry_tag> tags) noexcept {
    for (const auto& t : tags)
      add(t);
  }
  tag_list(std::span<const telemetry_tag> tags) noexcept {
    for (const auto& t : tags)
      add(t);
  }
  void add(telemetry_tag t) noexcept {
    if (size_ < tags_.size()) tags_[size_++] = t;
  }
  [[nodiscard]] std::span<const telemetry_tag> view() const noexcept {
    return {tags_.data(), size_};
  }

 private:
  std::array<telemetry_tag, max_tags> tags_{};
  std::size_t size_ = 0;
};

/// Reports `name` once (stage `count`).
inline void count(telemetry_sink* sink, std::string_view name, std::span<const telemetry_tag> tags,
                  std::string_view error = {}) noexcept {
  if (!sink) return;
  telemetry_event e;
  e.name = name;
  e.tags = tags;
  e.error = error;
  sink->record(e);
}
inline void count(telemetry_sink* sink, std::string_view name,
                  std::initializer_list<telemetry_tag> tags, std::string_view error = {}) noexcept {
  count(sink, name, std::span<const telemetry_tag>(tags.begin(), tags.size()), error);
}

/// A timed piece of work: reports `start` when made, `stop` or `exception`
/// when ended. The tags' strings must outlive the span. Not ending it
/// reports nothing more.
/// ```
/// detail::telemetry_span s{sink, FACTUM_TELEMETRY_SPAN("aggregate", "load"), {{"stream", id}}};
/// ...
/// s.stop(events_read);
/// ```
class telemetry_span {
 public:
  telemetry_span(telemetry_sink* sink, span_names names,
                 std::initializer_list<telemetry_tag> tags) noexcept
      : telemetry_span(sink, names, std::span<const telemetry_tag>(tags.begin(), tags.size())) {}
  telemetry_span(telemetry_sink* sink, span_names names,
                 std::span<const telemetry_tag> tags) noexcept
      : sink_(sink), names_(names), tags_(sink ? tag_list(tags) : tag_list()) {
    if (!sink_) return;
    started_ = std::chrono::steady_clock::now();
    telemetry_event e;
    e.name = names.start;
    e.tags = tags_.view();
    sink_->record(e);
  }
  telemetry_span(const telemetry_span&) = delete;
  telemetry_span& operator=(const telemetry_span&) = delete;

  [[nodiscard]] bool active() const noexcept { return sink_ != nullptr; }
  /// Adds a tag to the end report (e.g. `outcome`).
  void tag(telemetry_tag t) noexcept {
    if (sink_) tags_.add(t);
  }
  void stop(std::uint64_t events = 0, std::uint64_t bytes = 0) noexcept {
    end(names_.stop, events, bytes, {});
  }
  void fail(std::string_view error, std::uint64_t events = 0) noexcept {
    end(names_.exception, events, 0, error);
  }

 private:
  void end(std::string_view name, std::uint64_t events, std::uint64_t bytes,
           std::string_view error) noexcept {
    if (!sink_) return;
    telemetry_event e;
    e.name = name;
    e.duration = std::chrono::steady_clock::now() - started_;
    e.events = events;
    e.bytes = bytes;
    e.tags = tags_.view();
    e.error = error;
    auto* s = sink_;
    sink_ = nullptr;
    s->record(e);
  }

  telemetry_sink* sink_;
  span_names names_;
  tag_list tags_;
  std::chrono::steady_clock::time_point started_{};
};

}  // namespace factum::detail
