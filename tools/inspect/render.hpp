#pragma once

// How factum-inspect shows what it reads: aligned text for people, one JSON
// object per line for programs.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/core/event.hpp>

namespace factum_inspect {

/// UTC, ISO 8601, to the microsecond: "2026-11-23T11:01:46.123456Z".
[[nodiscard]] std::string iso_time(factum::timestamp t);

/// An event as one JSON object; its data is embedded as JSON, not as text.
[[nodiscard]] nlohmann::json event_json(const factum::recorded_event& e);

/// An event as a block of text: a header line, then one indented line per
/// field (an unset creation time, nil correlation / causation ids and empty
/// user metadata left out).
/// ```
/// position 3  stream account-acc-1  version 3  type MoneyWithdrawn  schema 1
///   event id     0190b6f4-3c1a-7e5b-8d41-6f0a2c3b9e17
///   recorded at  2026-11-23T11:01:46.123456Z
///   data         {"amount":30}
/// ```
void print_event(std::ostream& out, const factum::recorded_event& e);

/// Rows printed in columns as wide as their widest cell (the last column
/// is not padded, so a long error or JSON text does not widen the others).
class table {
 public:
  explicit table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size() - 1; }
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // the header first
};

}  // namespace factum_inspect
