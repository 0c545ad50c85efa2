// What the SQLite and the PostgreSQL stores both keep as text: the answer
// recorded with a command (PostgreSQL's append function writes the same
// shape) and a subscriber's checkpoint.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <factum/core/detail/json_text.hpp>
#include <factum/store/event_store.hpp>

namespace factum::detail {

/// `{"streams": [[stream, first, last], ...], "first": p, "last": p,
/// "digest": d}`: every stream the command named, conditions too (an empty
/// range), and its digest (0: none given).
inline std::string encode_command_record(const command_record& c) {
  // Written without a DOM, as `encode_user_metadata` says why.
  std::string out = "{\"streams\":[";
  for (const auto& s : c.result.streams) {
    if (out.back() != '[') out += ',';
    out += '[';
    write_string(out, s.stream.view());
    out += ',' + std::to_string(s.first_version) + ',' + std::to_string(s.last_version) + ']';
  }
  out += "],\"first\":" + std::to_string(c.result.first_position) +
         ",\"last\":" + std::to_string(c.result.last_position) +
         ",\"digest\":" + std::to_string(c.digest) + '}';
  return out;
}

/// A stored command record; `malformed_event` when it is not one. A record
/// without "digest" was written before command ids were scoped: `legacy`.
inline result<command_record> decode_command_record(std::string_view text) {
  const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  command_record c;
  // get<std::uint64_t>() of a float or a negative number converts with
  // undefined behaviour or wraps: a number must be an unsigned integer.
  const auto number = [](const nlohmann::json& n) {
    if (!n.is_number_unsigned() && !(n.is_number_integer() && n.get<std::int64_t>() >= 0))
      throw nlohmann::json::type_error::create(302, "a number is not an unsigned integer", &n);
    return n.get<std::uint64_t>();
  };
  try {
    for (const auto& s : j.at("streams"))
      c.result.streams.push_back({s.at(0).get<std::string>(), number(s.at(1)), number(s.at(2))});
    c.result.first_position = number(j.at("first"));
    c.result.last_position = number(j.at("last"));
    if (const auto d = j.find("digest"); d != j.end())
      c.digest = number(*d);
    else
      c.legacy = true;
  } catch (const nlohmann::json::exception& e) {
    return error{errc::malformed_event, std::string("stored command record: ") + e.what()};
  }
  return c;
}

/// User metadata as stored: a JSON object of strings, written without a DOM.
/// (Under memory pressure nlohmann's DOM may throw from its destructor, which
/// ends the process; the text rules of `store_limits` were checked before.)
inline void encode_user_metadata(const std::map<std::string, std::string, std::less<>>& user,
                                 std::string& out) {
  out.clear();
  out += '{';
  for (const auto& [key, value] : user) {
    if (out.size() > 1) out += ',';
    write_string(out, key);
    out += ':';
    write_string(out, value);
  }
  out += '}';
}

/// A stored checkpoint's position; `storage_corrupt` when it is not one.
inline result<position> stored_checkpoint(std::string_view subscriber, std::string_view text) {
  if (auto p = position::parse(text)) return *p;
  return error{errc::storage_corrupt,
               "checkpoint of '" + std::string(subscriber) + "' is not a position"};
}

}  // namespace factum::detail
