#include "render.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <ostream>

namespace factum_inspect {

std::string iso_time(factum::timestamp t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  auto secs = static_cast<std::time_t>(us / 1'000'000);
  auto frac = us % 1'000'000;
  if (frac < 0) {  // before 1970: floor, not truncate
    --secs;
    frac += 1'000'000;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

namespace {

nlohmann::json id_or_null(const factum::uuid& id) {
  return id.is_nil() ? nlohmann::json(nullptr) : nlohmann::json(id.to_string());
}

/// A producer that sets no creation time leaves the epoch.
bool unset(factum::timestamp t) {
  return t.time_since_epoch().count() == 0;
}

nlohmann::json time_or_null(factum::timestamp t) {
  return unset(t) ? nlohmann::json(nullptr) : nlohmann::json(iso_time(t));
}

}  // namespace

nlohmann::json event_json(const factum::recorded_event& e) {
  nlohmann::json user = nlohmann::json::object();
  for (const auto& [k, v] : e.metadata.user)
    user[k] = v;
  return {
      {"position", e.global_position},
      {"stream", e.stream.str()},
      {"version", e.version},
      {"type", e.type},
      {"schema_version", e.schema_version},
      {"event_id", e.id.to_string()},
      {"recorded_at", iso_time(e.recorded_at)},
      {"created_at", time_or_null(e.metadata.created_at)},
      {"correlation_id", id_or_null(e.metadata.correlation_id)},
      {"causation_id", id_or_null(e.metadata.causation_id)},
      {"metadata", std::move(user)},
      // The store checks stored data is valid JSON before it hands it out.
      {"data", nlohmann::json::parse(e.data)},
  };
}

void print_event(std::ostream& out, const factum::recorded_event& e) {
  out << "position " << e.global_position << "  stream " << e.stream.str() << "  version "
      << e.version << "  type " << e.type << "  schema " << e.schema_version << '\n';
  out << "  event id     " << e.id.to_string() << '\n';
  out << "  recorded at  " << iso_time(e.recorded_at) << '\n';
  if (!unset(e.metadata.created_at))
    out << "  created at   " << iso_time(e.metadata.created_at) << '\n';
  if (!e.metadata.correlation_id.is_nil())
    out << "  correlation  " << e.metadata.correlation_id.to_string() << '\n';
  if (!e.metadata.causation_id.is_nil())
    out << "  causation    " << e.metadata.causation_id.to_string() << '\n';
  if (!e.metadata.user.empty()) {
    nlohmann::json user = nlohmann::json::object();
    for (const auto& [k, v] : e.metadata.user)
      user[k] = v;
    out << "  metadata     " << user.dump() << '\n';
  }
  out << "  data         " << e.data << '\n';
}

void table::print(std::ostream& out) const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

}  // namespace factum_inspect
