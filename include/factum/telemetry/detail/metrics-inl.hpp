#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <factum/telemetry/metrics.hpp>

namespace factum {
namespace detail {

/// `name` in the characters a metric or label name may have.
inline std::string metric_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (const char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

/// `factum.aggregate.execute.stop` → `factum_aggregate_execute`.
inline std::string metric_family(std::string_view event_name) {
  const auto dot = event_name.rfind('.');
  return metric_name(dot == std::string_view::npos ? event_name : event_name.substr(0, dot));
}

/// A label value with `\`, `"` and newlines escaped.
inline void append_label_value(std::string& out, std::string_view v) {
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

inline void append_labels(std::string& out,
                          const std::vector<std::pair<std::string, std::string>>& labels,
                          std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    append_label_value(out, v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

inline std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace detail

inline metrics::metrics(metrics_options options) : options_(std::move(options)) {
  // Finite, ascending and distinct: +Inf is always the last bucket, and a
  // repeated bound would repeat a series.
  auto& b = options_.buckets;
  b.erase(std::remove_if(b.begin(), b.end(), [](double x) { return !std::isfinite(x); }), b.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
}

inline metrics::labels metrics::kept(const telemetry_event& e) const {
  labels out;
  for (const auto& t : e.tags) {
    if (std::find(options_.dropped_tags.begin(), options_.dropped_tags.end(), t.key) !=
        options_.dropped_tags.end())
      continue;
    out.emplace_back(detail::metric_name(t.key), std::string(t.value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline void metrics::record(const telemetry_event& e) noexcept try {
  labels tags = kept(e);
  const auto stage = e.stage();
  const bool ended = stage == "stop" || stage == "exception";
  std::string family = detail::metric_family(e.name);
  std::lock_guard lock(mutex_);
  ++counts_[key{std::string(e.name), tags}];
  if (stage == "count") {
    ++totals_[{family + "_total", tags}];
    return;
  }
  if (!ended) return;
  if (e.events != 0) totals_[{family + "_events_total", tags}] += e.events;
  if (e.bytes != 0) totals_[{family + "_bytes_total", tags}] += e.bytes;
  labels with_outcome = tags;
  if (e.tag("outcome").empty()) {
    with_outcome.emplace_back("outcome", stage == "stop" ? "ok" : "exception");
    std::sort(with_outcome.begin(), with_outcome.end());
  }
  auto& h = latencies_[{family + "_seconds", std::move(with_outcome)}];
  if (h.buckets.empty()) h.buckets.assign(options_.buckets.size() + 1, 0);
  const double seconds = std::chrono::duration<double>(e.duration).count();
  const auto at = std::lower_bound(options_.buckets.begin(), options_.buckets.end(), seconds);
  ++h.buckets[static_cast<std::size_t>(at - options_.buckets.begin())];
  h.sum += seconds;
  ++h.count;
} catch (...) {
  // Out of memory while counting: the count is lost, the caller goes on.
}

inline std::uint64_t metrics::count(std::string_view name,
                                    std::span<const telemetry_tag> having) const {
  std::lock_guard lock(mutex_);
  std::uint64_t n = 0;
  for (const auto& [k, v] : counts_) {
    if (k.name != name) continue;
    const bool all = std::all_of(having.begin(), having.end(), [&](const telemetry_tag& t) {
      return std::find(k.tags.begin(), k.tags.end(),
                       std::pair{detail::metric_name(t.key), std::string(t.value)}) != k.tags.end();
    });
    if (all) n += v;
  }
  return n;
}

inline std::string metrics::prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  std::string_view last;
  for (const auto& [k, v] : totals_) {
    if (k.first != last) {
      out += "# TYPE " + k.first + " counter\n";
      last = k.first;
    }
    out += k.first;
    detail::append_labels(out, k.second);
    out += ' ' + std::to_string(v) + '\n';
  }
  last = {};
  for (const auto& [k, h] : latencies_) {
    if (k.first != last) {
      out += "# TYPE " + k.first + " histogram\n";
      last = k.first;
    }
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += k.first + "_bucket";
      const double le = i < options_.buckets.size() ? options_.buckets[i]
                                                    : std::numeric_limits<double>::infinity();
      detail::append_labels(out, k.second, detail::number(le));
      out += ' ' + std::to_string(cumulative) + '\n';
    }
    out += k.first + "_sum";
    detail::append_labels(out, k.second);
    out += ' ' + detail::number(h.sum) + '\n';
    out += k.first + "_count";
    detail::append_labels(out, k.second);
    out += ' ' + std::to_string(h.count) + '\n';
  }
  return out;
}

inline void metrics::clear() {
  std::lock_guard lock(mutex_);
  counts_.clear();
  latencies_.clear();
  totals_.clear();
}

}  // namespace factum
