// What the SQLite and the PostgreSQL stores both keep as text: the answer
// recorded with a command (PostgreSQL's append function writes the same
// shape) and a subscriber's checkpoint.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <factum/store/event_store.hpp>

namespace factum::detail {

/// `{"streams": [[stream, first, last], ...], "first": p, "last": p}`.
inline std::string encode_append_result(const append_result& r) {
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& s : r.streams)
    streams.push_back({s.stream.str(), s.first_version, s.last_version});
  return nlohmann::json{
      {"streams", std::move(streams)}, {"first", r.first_position}, {"last", r.last_position}}
      .dump();
}

/// The answer recorded with a command; `malformed_event` when it is not one.
inline result<append_result> decode_append_result(std::string_view text) {
  const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  append_result r;
  try {
    for (const auto& s : j.at("streams"))
      r.streams.push_back(
          {s.at(0).get<std::string>(), s.at(1).get<std::uint64_t>(), s.at(2).get<std::uint64_t>()});
    r.first_position = j.at("first").get<std::uint64_t>();
    r.last_position = j.at("last").get<std::uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return error{errc::malformed_event, std::string("stored command record: ") + e.what()};
  }
  return r;
}

/// A stored checkpoint's position; `storage_corrupt` when it is not one.
inline result<position> stored_checkpoint(std::string_view subscriber, std::string_view text) {
  if (auto p = position::parse(text)) return *p;
  return error{errc::storage_corrupt,
               "checkpoint of '" + std::string(subscriber) + "' is not a position"};
}

}  // namespace factum::detail
