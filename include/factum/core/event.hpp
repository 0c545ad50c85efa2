#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include <factum/core/position.hpp>
#include <factum/core/stream_id.hpp>
#include <factum/core/uuid.hpp>

namespace factum {

using json = nlohmann::json;
/// Wall-clock time of factum's records (created, recorded, failed).
using timestamp = std::chrono::system_clock::time_point;

/// What travels with an event besides its data.
///
/// The correlation id ties together everything one request caused; the
/// causation id names the command or event that directly caused this one.
/// Nil ids mean "none". `user` holds the application's own key/values
/// (user id, tenant, trace id ...).
struct metadata {
  uuid correlation_id;
  uuid causation_id;
  timestamp created_at{};  ///< when the producer made the event
  std::map<std::string, std::string, std::less<>> user;

  friend bool operator==(const metadata&, const metadata&) = default;
};

/// An event ready to append: the codec's output plus an id and metadata.
struct event_data {
  event_id id = uuid::v7();
  std::string type;  ///< the stable registered type name
  std::uint32_t schema_version = 1;
  std::string data;  ///< the event's fields as JSON text (the codec writes it)
  factum::metadata metadata;
};

/// An event as stored: where it is (stream, version, global position) and
/// what it is (id, type, schema version, data, metadata).
///
/// Stream versions start at 1; global positions start at 1, are gapless and
/// strictly increasing in commit order.
struct recorded_event {
  factum::stream_id stream;
  std::uint64_t version = 0;
  std::uint64_t global_position = 0;
  factum::position pos;  ///< the checkpoint to save after handling this event
  event_id id;
  std::string type;
  std::uint32_t schema_version = 1;
  std::string data;  ///< JSON text, as stored; every backend checks it is well-formed JSON
  factum::metadata metadata;
  timestamp recorded_at{};  ///< when the store committed it
};

/// The version a writer expects a stream to have before its append.
///
/// ```
/// store.append("account-1", expected_version::no_stream(), events);   // create
/// store.append("account-1", expected_version::exact(3), events);      // optimistic
/// ```
class expected_version {
 public:
  [[nodiscard]] static constexpr expected_version any() noexcept { return expected_version{-1}; }
  /// The stream must not exist (have no events).
  [[nodiscard]] static constexpr expected_version no_stream() noexcept {
    return expected_version{-2};
  }
  /// The stream must have at least one event.
  [[nodiscard]] static constexpr expected_version stream_exists() noexcept {
    return expected_version{-3};
  }
  /// The stream's version must be exactly `v` (0 is the same as no_stream).
  /// No store holds a version above 2^63 - 1: such a `v` is not a valid
  /// expectation (`valid()` is false) and the store refuses it.
  [[nodiscard]] static constexpr expected_version exact(std::uint64_t v) noexcept {
    return expected_version{
        v > static_cast<std::uint64_t>(INT64_MAX) ? out_of_range : static_cast<std::int64_t>(v)};
  }

  /// False for `exact(v)` with a `v` no store can hold.
  [[nodiscard]] constexpr bool valid() const noexcept { return v_ != out_of_range; }

  [[nodiscard]] constexpr bool is_any() const noexcept { return v_ == -1; }
  [[nodiscard]] constexpr bool is_exact() const noexcept { return v_ >= 0; }
  [[nodiscard]] constexpr std::uint64_t value() const noexcept {
    return static_cast<std::uint64_t>(v_);
  }

  /// Whether a stream at version `actual` (0: no events) satisfies this.
  [[nodiscard]] constexpr bool matches(std::uint64_t actual) const noexcept {
    switch (v_) {
      case -1:
        return true;
      case -2:
        return actual == 0;
      case -3:
        return actual > 0;
      case out_of_range:
        return false;
      default:
        return actual == static_cast<std::uint64_t>(v_);
    }
  }

  [[nodiscard]] std::string to_string() const {
    switch (v_) {
      case -1:
        return "any";
      case -2:
        return "no_stream";
      case -3:
        return "stream_exists";
      case out_of_range:
        return "a version above 2^63-1";
      default:
        return std::to_string(v_);
    }
  }

  friend constexpr bool operator==(expected_version, expected_version) noexcept = default;

 private:
  static constexpr std::int64_t out_of_range = -4;
  constexpr explicit expected_version(std::int64_t v) noexcept : v_(v) {}
  std::int64_t v_;
};

}  // namespace factum
