// What the SQLite and the PostgreSQL stores both keep as text: the answer
// recorded with a command (PostgreSQL's append function writes the same
// shape) and a subscriber's checkpoint.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <factum/store/event_store.hpp>

namespace factum::detail {

/// `{"streams": [[stream, first, last], ...], "first": p, "last": p,
/// "digest": d}`: every stream the command named, conditions too (an empty
/// range), and its digest (0: none given).
inline std::string encode_command_record(const command_record& c) {
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& s : c.result.streams)
    streams.push_back({s.stream.str(), s.first_version, s.last_version});
  return nlohmann::json{{"streams", std::move(streams)},
                        {"first", c.result.first_position},
                        {"last", c.result.last_position},
                        {"digest", c.digest}}
      .dump();
}

/// A stored command record; `malformed_event` when it is not one. A record
/// without "digest" was written before command ids were scoped: `legacy`.
inline result<command_record> decode_command_record(std::string_view text) {
  const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  command_record c;
  try {
    for (const auto& s : j.at("streams"))
      c.result.streams.push_back(
          {s.at(0).get<std::string>(), s.at(1).get<std::uint64_t>(), s.at(2).get<std::uint64_t>()});
    c.result.first_position = j.at("first").get<std::uint64_t>();
    c.result.last_position = j.at("last").get<std::uint64_t>();
    if (const auto d = j.find("digest"); d != j.end())
      c.digest = d->get<std::uint64_t>();
    else
      c.legacy = true;
  } catch (const nlohmann::json::exception& e) {
    return error{errc::malformed_event, std::string("stored command record: ") + e.what()};
  }
  return c;
}

/// A stored checkpoint's position; `storage_corrupt` when it is not one.
inline result<position> stored_checkpoint(std::string_view subscriber, std::string_view text) {
  if (auto p = position::parse(text)) return *p;
  return error{errc::storage_corrupt,
               "checkpoint of '" + std::string(subscriber) + "' is not a position"};
}

}  // namespace factum::detail
