// What the SQLite and the PostgreSQL stores both keep as text: the answer
// recorded with a command (PostgreSQL's append function writes the same
// shape) and a subscriber's checkpoint.
#pragma once

#include <map>
#include <string>
#include <string_view>

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
/// Read without a DOM (see `encode_user_metadata`), in any key order and
/// spacing (PostgreSQL's jsonb writes its own); every number is an unsigned
/// integer (`get<std::uint64_t>()` of 1e300 was undefined behaviour).
inline result<command_record> decode_command_record(std::string_view text) {
  command_record c;
  c.legacy = true;
  bool streams = false, first_position = false, last_position = false;
  plain_reader r{text};
  const auto stream = [&] {
    stream_range range;
    std::string name;
    if (!r.eat('[') || !r.read(name) || !r.eat(',') || !r.read(range.first_version) ||
        !r.eat(',') || !r.read(range.last_version) || !r.eat(']'))
      return false;
    range.stream = stream_id{std::move(name)};
    c.result.streams.push_back(std::move(range));
    return true;
  };
  const auto field = [&](std::string_view key) {
    if (key == "first") return first_position = true, r.read(c.result.first_position);
    if (key == "last") return last_position = true, r.read(c.result.last_position);
    if (key == "digest") {
      c.legacy = false;
      return r.read(c.digest);
    }
    if (key != "streams" || !r.eat('[')) return false;
    streams = true;
    if (r.eat(']')) return true;
    do {
      if (!stream()) return false;
    } while (r.eat(','));
    return r.eat(']');
  };
  bool ok = r.eat('{');
  for (bool first = true; ok && !r.eat('}'); first = false) {
    std::string_view key;
    ok = (first || r.eat(',')) && r.key(key) && r.eat(':') && field(key);
  }
  if (!ok || !r.at_end() || !streams || !first_position || !last_position)
    return error{errc::malformed_event,
                 "stored command record is not one: " + std::string(text.substr(0, 200))};
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
