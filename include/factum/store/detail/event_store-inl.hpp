#pragma once

#include <algorithm>
#include <unordered_set>

#include <factum/core/detail/json_text.hpp>
#include <factum/core/detail/utf8.hpp>
#include <factum/telemetry/detail/report.hpp>

namespace factum {
namespace detail {

/// Whether `x` names one version (`exact(n)`, `no_stream()`): what a
/// condition, a write without events, must expect.
constexpr bool is_checked(expected_version x) noexcept {
  return x.is_exact() || x == expected_version::no_stream();
}

/// The version a condition checked: n for exact(n), 0 for no_stream().
constexpr std::uint64_t checked_version(expected_version x) noexcept {
  return x.is_exact() ? x.value() : 0;
}

/// `errc::invalid_argument` unless `text` is well-formed UTF-8 with no NUL
/// byte (`store_limits`); `what` names it in the message.
inline result<void> check_text(std::string_view text, std::string_view what) {
  if (is_text(text)) return {};
  return error{errc::invalid_argument,
               std::string(what) + (text.find('\0') != std::string_view::npos
                                        ? " holds a NUL byte"
                                        : " is not well-formed UTF-8")};
}

/// Refuses an event that breaks the input rules (`store_limits`): no type,
/// a type or metadata that is not text, data that is not JSON, a nil id, or
/// sizes over the limits. `bytes` adds up the append's data and metadata.
inline result<void> check_event(const stream_id& stream, const event_data& e, std::size_t& bytes) {
  const auto where = [&] { return "an event for '" + stream.str() + "'"; };
  if (e.type.empty()) return error{errc::invalid_argument, where() + " has no type"};
  if (e.type.size() > store_limits::max_type_bytes)
    return error{errc::too_large, where() + " has a type name of " + std::to_string(e.type.size()) +
                                      " bytes, more than " +
                                      std::to_string(store_limits::max_type_bytes)};
  if (auto ok = check_text(e.type, "the type of " + where()); !ok) return ok;
  if (e.data.size() > store_limits::max_data_bytes)
    return error{errc::too_large, where() + " of type '" + e.type + "' has " +
                                      std::to_string(e.data.size()) + " bytes of data, more than " +
                                      std::to_string(store_limits::max_data_bytes)};
  if (!is_valid_json(e.data))
    return error{errc::invalid_argument, "the data of " + where() + " is not valid JSON"};
  if (e.id.is_nil()) return error{errc::invalid_argument, where() + " has a nil id"};
  std::size_t meta = 0;
  for (const auto& [key, value] : e.metadata.user) {
    if (auto ok = check_text(key, "a metadata key of " + where()); !ok) return ok;
    if (auto ok = check_text(value, "metadata '" + key + "' of " + where()); !ok) return ok;
    meta += key.size() + value.size();
  }
  if (meta > store_limits::max_metadata_bytes)
    return error{errc::too_large, where() + " has " + std::to_string(meta) +
                                      " bytes of user metadata, more than " +
                                      std::to_string(store_limits::max_metadata_bytes)};
  bytes += e.data.size() + meta;
  if (bytes > store_limits::max_append_bytes)
    return error{errc::too_large, "an append to '" + stream.str() + "' holds more than " +
                                      std::to_string(store_limits::max_append_bytes) +
                                      " bytes of event data and metadata"};
  return {};
}

/// Refuses a malformed append: no stream, a bad stream id, a stream twice, an
/// event that breaks the input rules (`check_event`), an event id twice, a
/// condition (no events) without a version, or no event at all.
inline result<void> check_writes(std::span<const stream_write> writes) {
  if (writes.empty()) return error{errc::invalid_argument, "an append names no stream"};
  // Small appends (the usual: one stream, a few events) are checked for
  // duplicates pairwise; hash sets only for big ones, so a one-event append
  // allocates nothing here.
  std::size_t events = 0;
  for (const auto& w : writes)
    events += w.events.size();
  const bool small = writes.size() <= 8 && events <= 32;
  std::unordered_set<std::string_view> streams;
  std::unordered_set<event_id> ids;
  std::size_t bytes = 0;  // data and metadata of every event so far
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const auto& w = writes[i];
    if (auto ok = w.stream.validate(); !ok) return ok;
    const bool twice =
        small ? std::any_of(writes.begin(), writes.begin() + static_cast<std::ptrdiff_t>(i),
                            [&](const stream_write& o) { return o.stream == w.stream; })
              : !streams.insert(w.stream.view()).second;
    if (twice)
      return error{errc::invalid_argument,
                   "stream '" + w.stream.str() + "' appears twice in one append"};
    if (!w.expected.valid())
      return error{errc::invalid_argument, "stream '" + w.stream.str() +
                                               "' is expected at a version above 2^63-1, "
                                               "which no store holds"};
    if (w.events.empty() && !is_checked(w.expected))
      return error{errc::invalid_argument,
                   "no events for stream '" + w.stream.str() + "' and expected version " +
                       w.expected.to_string() +
                       ": a condition (a write without events) needs a version, exact(n) or "
                       "no_stream()"};
    for (std::size_t k = 0; k < w.events.size(); ++k) {
      const auto& e = w.events[k];
      if (auto ok = check_event(w.stream, e, bytes); !ok) return ok;
      bool seen = false;
      if (small) {
        for (std::size_t j = 0; j <= i && !seen; ++j) {
          const auto& before = writes[j].events;
          const std::size_t n = j == i ? k : before.size();
          for (std::size_t m = 0; m < n && !seen; ++m)
            seen = before[m].id == e.id;
        }
      } else {
        seen = !ids.insert(e.id).second;
      }
      if (seen)
        return error{errc::invalid_argument,
                     "event id " + e.id.to_string() + " appears twice in one append"};
    }
  }
  if (events == 0)
    return error{errc::invalid_argument,
                 "an append writes at least one event (it has only conditions)"};
  return {};
}

/// The conflict error every backend returns for a wrong expected version.
inline error conflict_error(const stream_id& stream, expected_version expected,
                            std::uint64_t actual) {
  error e{errc::concurrency_conflict, "stream '" + stream.str() + "' expected " +
                                          expected.to_string() + ", actual " +
                                          std::to_string(actual)};
  e.conflict = conflict_detail{stream.str(), expected.to_string(), actual};
  return e;
}

/// `fn()`, with anything it throws turned into `errc::storage_io` naming
/// what it was `doing`: no exception from a backend (an allocation that
/// failed, a library that throws) leaves the store through its interface.
/// A backend rolls its own transaction back (an RAII guard) as the exception
/// passes; this only turns it into the caller's error. The outcome of a
/// write that threw is unknown to the caller, as for any `storage_io`.
template <class Fn>
auto guarded(const char* doing, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return error{errc::storage_io, std::string(doing) + ": out of memory"};
  } catch (const std::exception& e) {
    return error{errc::storage_io, std::string(doing) + ": the store threw: " + e.what()};
  } catch (...) {
    return error{errc::storage_io, std::string(doing) + ": the store threw"};
  }
}

/// Checks that a stream's events, read from `from_version`, carry dense
/// versions from it: a store damaged underneath (a version edited by hand)
/// is `errc::storage_corrupt`, never events out of order.
class version_check {
 public:
  version_check(const stream_id& stream, std::uint64_t from_version) noexcept
      : stream_(stream), next_(from_version) {}

  result<void> operator()(const recorded_event& e) {
    if (e.version == next_) {
      ++next_;
      return {};
    }
    error err{errc::storage_corrupt, "stream '" + stream_.str() + "' has version " +
                                         std::to_string(e.version) + " at global position " +
                                         std::to_string(e.global_position) + " where version " +
                                         std::to_string(next_) + " belongs"};
    err.position = e.global_position;
    return err;
  }

 private:
  const stream_id& stream_;
  std::uint64_t next_;
};

/// Decides a replayed append, once some of its event ids are found stored.
///
/// It is "already appended" only when every event of every write is stored,
/// in that write's stream, at consecutive versions, with the same type,
/// schema version and data; anything else is `errc::event_id_conflict`.
/// A condition's range comes from its expected version (`{s, v + 1, v}`):
/// the original commit checked it.
/// `lookup(event_id)` returns `result<std::optional<recorded_event>>`.
template <class Lookup>
result<append_result> replay(std::span<const stream_write> writes, Lookup&& lookup) {
  append_result out;
  out.already_appended = true;
  out.first_position = std::numeric_limits<std::uint64_t>::max();
  for (const auto& w : writes) {
    if (w.events.empty()) {
      const std::uint64_t v = checked_version(w.expected);
      out.streams.push_back({w.stream, v + 1, v});
      continue;
    }
    stream_range range{w.stream, 0, 0};
    for (std::size_t i = 0; i < w.events.size(); ++i) {
      const event_data& e = w.events[i];
      auto found = lookup(e.id);
      if (!found) return std::move(found).error();
      const std::string id = e.id.to_string();
      if (!*found)
        return error{errc::event_id_conflict,
                     "event " + id + " for stream '" + w.stream.str() +
                         "' is not stored, but other events of the same append are"};
      const recorded_event& s = **found;
      if (s.stream != w.stream)
        return error{errc::event_id_conflict, "event " + id + " is stored in stream '" +
                                                  s.stream.str() + "', not '" + w.stream.str() +
                                                  "'"};
      if (s.type != e.type || s.schema_version != e.schema_version || s.data != e.data)
        return error{errc::event_id_conflict,
                     "event " + id + " is stored in stream '" + w.stream.str() + "' at version " +
                         std::to_string(s.version) + " with other content"};
      if (i > 0 && s.version != range.last_version + 1)
        return error{errc::event_id_conflict, "events of the append are stored in stream '" +
                                                  w.stream.str() + "' in another order"};
      if (i == 0) range.first_version = s.version;
      range.last_version = s.version;
      out.first_position = std::min(out.first_position, s.global_position);
      out.last_position = std::max(out.last_position, s.global_position);
    }
    out.streams.push_back(std::move(range));
  }
  return out;
}

/// Decides an append whose command id is recorded (`append_options::command`).
///
/// It is a replay, answered with the recorded result and `already_appended`,
/// when it names the same set of streams as the first use (in any order) and,
/// when both digests are nonzero, the same digest. A `legacy` record (stored
/// before command ids were scoped) lists only the streams that got events and
/// has no digest: it matches when the append names at least those streams.
/// Anything else is `errc::command_id_conflict`, naming the first use.
///
/// This overload serves a caller that knows the streams it targets but has no
/// writes (yet), e.g. a runtime checking a command it rejected.
inline result<append_result> match_command(const command_record& recorded, command_id id,
                                           std::span<const stream_id> streams,
                                           std::uint64_t digest) {
  const auto& ranges = recorded.result.streams;
  const auto named = [&](const stream_id& s) {
    return std::find(streams.begin(), streams.end(), s) != streams.end();
  };
  const auto recorded_names = [&](const stream_id& s) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const stream_range& r) { return r.stream == s; });
  };
  const bool covered = std::all_of(ranges.begin(), ranges.end(),
                                   [&](const stream_range& r) { return named(r.stream); });
  const bool same_streams =
      covered && (recorded.legacy || std::all_of(streams.begin(), streams.end(), recorded_names));
  const bool same_command =
      recorded.legacy || recorded.digest == 0 || digest == 0 || recorded.digest == digest;
  if (same_streams && same_command) {
    append_result again = recorded.result;
    again.already_appended = true;
    return again;
  }
  const auto quoted = [](std::string& out, const stream_id& s) {
    if (!out.empty()) out += ", ";
    out += '\'' + s.str() + '\'';
  };
  std::string first;
  for (const auto& r : ranges)
    quoted(first, r.stream);
  std::string why;
  if (!same_streams) {
    std::string now;
    for (const auto& s : streams)
      quoted(now, s);
    why = "this append names other streams (" + now + ")";
  } else {
    why = "this append is another command (digest " + std::to_string(digest) + ", first " +
          std::to_string(recorded.digest) + ")";
  }
  return error{errc::command_id_conflict,
               "command " + id.to_string() + " was first used for stream(s) " + first + "; " + why};
}

/// `match_command` for an append's writes (conditions included).
inline result<append_result> match_command(const command_record& recorded, command_id id,
                                           std::span<const stream_write> writes,
                                           std::uint64_t digest) {
  std::vector<stream_id> streams;
  streams.reserve(writes.size());
  for (const auto& w : writes)
    streams.push_back(w.stream);
  return match_command(recorded, id, std::span<const stream_id>(streams), digest);
}

inline std::uint64_t count_events(std::span<const stream_write> writes) noexcept {
  std::uint64_t n = 0;
  for (const auto& w : writes)
    n += w.events.size();
  return n;
}

inline std::uint64_t count_bytes(std::span<const stream_write> writes) noexcept {
  std::uint64_t n = 0;
  for (const auto& w : writes)
    for (const auto& e : w.events)
      n += e.data.size();
  return n;
}

inline std::uint64_t count_bytes(const std::vector<recorded_event>& events) noexcept {
  std::uint64_t n = 0;
  for (const auto& e : events)
    n += e.data.size();
  return n;
}

/// Ends a store span with the result `r`.
template <class T>
void end_span(telemetry_span& s, const result<T>& r, std::uint64_t events, std::uint64_t bytes) {
  if (!s.active()) return;
  if (r) return s.stop(events, bytes);
  const std::string why = r.error().message();
  s.fail(why);
}

inline constexpr span_names store_append = FACTUM_TELEMETRY_SPAN("store", "append");
inline constexpr span_names store_read = FACTUM_TELEMETRY_SPAN("store", "read");

}  // namespace detail

inline result<append_result> event_store::append(std::span<const stream_write> writes,
                                                 const append_options& options) {
  return detail::guarded("appending", [&]() -> result<append_result> {
    if (auto ok = detail::check_writes(writes); !ok) return std::move(ok).error();
    detail::telemetry_span s{
        telemetry(), detail::store_append, {{"stream", writes.front().stream.view()}}};
    auto r = do_append(writes, options);
    if (s.active())
      detail::end_span(s, r, detail::count_events(writes), detail::count_bytes(writes));
    return r;
  });
}

inline result<append_result> event_store::append(stream_id stream, expected_version expected,
                                                 std::vector<event_data> events,
                                                 const append_options& options) {
  const stream_write w{std::move(stream), expected, std::move(events)};
  return append(std::span<const stream_write>(&w, 1), options);
}

inline std::vector<result<append_result>> event_store::append_batch(
    std::span<const append_request> requests) {
  std::vector<result<append_result>> out(requests.size());
  auto done = detail::guarded("appending a batch", [&]() -> result<void> {
    std::vector<std::size_t> valid;  // indexes of the requests the backend sees
    valid.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (auto ok = detail::check_writes(requests[i].writes); !ok)
        out[i] = std::move(ok).error();
      else
        valid.push_back(i);
    }
    if (!valid.empty()) append_valid(requests, valid, out);
    return {};
  });
  // Thrown by a backend (after its own rollback) or by an allocation here,
  // an exception leaves the batch's outcome unknown: every request not
  // refused by validation gets the error (their answers are all moved in
  // last, so none holds a backend's answer yet).
  if (!done)
    for (auto& r : out)
      if (r) r = done.error();
  return out;
}

inline void event_store::append_valid(std::span<const append_request> requests,
                                      std::span<const std::size_t> valid,
                                      std::vector<result<append_result>>& out) {
  // The common case, every request valid, passes the caller's span as is;
  // only a batch with invalid requests copies the valid ones.
  std::vector<append_request> kept;
  std::span<const append_request> passed = requests;
  if (valid.size() != requests.size()) {
    kept.reserve(valid.size());
    for (const std::size_t i : valid)
      kept.push_back(requests[i]);
    passed = kept;
  }
  detail::telemetry_span s{telemetry(), detail::store_append, {{"batch", "group"}}};
  auto answers = do_append_batch(passed);
  if (s.active()) {
    std::uint64_t events = 0, bytes = 0;
    for (std::size_t k = 0; k < passed.size() && k < answers.size(); ++k)
      if (answers[k]) {
        events += detail::count_events(passed[k].writes);
        bytes += detail::count_bytes(passed[k].writes);
      }
    s.stop(events, bytes);
  }
  for (std::size_t k = 0; k < valid.size(); ++k)
    out[valid[k]] = k < answers.size()
                        ? std::move(answers[k])
                        : result<append_result>{error{
                              errc::storage_io, "the backend gave no result for this request"}};
}

inline std::vector<result<append_result>> event_store::do_append_batch(
    std::span<const append_request> requests) {
  std::vector<result<append_result>> out;
  out.reserve(requests.size());
  for (const auto& r : requests)
    out.push_back(do_append(r.writes, r.options));
  return out;
}

inline result<std::vector<recorded_event>> event_store::read_stream(const stream_id& stream,
                                                                    std::uint64_t from_version,
                                                                    std::size_t limit) {
  return detail::guarded("reading a stream", [&]() -> result<std::vector<recorded_event>> {
    if (auto ok = stream.validate(); !ok) return std::move(ok).error();
    if (limit == 0) return std::vector<recorded_event>{};
    detail::telemetry_span s{telemetry(), detail::store_read, {{"stream", stream.view()}}};
    const std::uint64_t from = std::max<std::uint64_t>(from_version, 1);
    auto r = do_read_stream(stream, from, limit);
    if (r) {
      detail::version_check dense{stream, from};
      for (const auto& e : *r)
        if (auto ok = dense(e); !ok) {
          r = std::move(ok).error();
          break;
        }
    }
    if (s.active()) detail::end_span(s, r, r ? r->size() : 0, r ? detail::count_bytes(*r) : 0);
    return r;
  });
}

inline result<std::uint64_t> event_store::scan_stream(
    const stream_id& stream, std::uint64_t from_version,
    const std::function<void(const recorded_event&)>& fn) {
  if (auto ok = stream.validate(); !ok) return std::move(ok).error();
  detail::telemetry_span s{telemetry(), detail::store_read, {{"stream", stream.view()}}};
  const std::uint64_t from = std::max<std::uint64_t>(from_version, 1);
  // `fn` sees only dense versions: after the first out of place, no more
  // events, and the scan answers `storage_corrupt`.
  detail::version_check dense{stream, from};
  result<void> broken;
  std::uint64_t bytes = 0;
  auto r = do_scan_stream(stream, from, [&](const recorded_event& e) {
    if (!broken) return;
    if (broken = dense(e); !broken) return;
    bytes += e.data.size();
    fn(e);
  });
  if (r && !broken) r = std::move(broken).error();
  if (s.active()) detail::end_span(s, r, r ? *r : 0, bytes);
  return r;
}

inline result<std::uint64_t> event_store::do_scan_stream(
    const stream_id& stream, std::uint64_t from_version,
    const std::function<void(const recorded_event&)>& fn) {
  constexpr std::size_t page = 512;
  std::uint64_t seen = 0;
  for (;;) {
    auto events = do_read_stream(stream, from_version + seen, page);
    if (!events) return std::move(events).error();
    for (const auto& e : *events)
      fn(e);
    seen += events->size();
    if (events->size() < page) return seen;
  }
}

inline result<std::vector<recorded_event>> event_store::read_all(position after, std::size_t limit,
                                                                 const type_filter& types) {
  return detail::guarded("reading the global log", [&]() -> result<std::vector<recorded_event>> {
    if (limit == 0) return std::vector<recorded_event>{};
    detail::telemetry_span s{telemetry(), detail::store_read, {{"stream", "$all"}}};
    auto r = do_read_all(after, limit, types);
    if (s.active()) detail::end_span(s, r, r ? r->size() : 0, r ? detail::count_bytes(*r) : 0);
    return r;
  });
}

inline result<std::uint64_t> event_store::stream_version(const stream_id& stream) {
  if (auto ok = stream.validate(); !ok) return std::move(ok).error();
  return do_stream_version(stream);
}

inline result<void> event_store::save_snapshot(const snapshot& s) {
  if (auto ok = s.stream.validate(); !ok) return ok;
  if (s.version == 0) return error{errc::invalid_argument, "a snapshot needs a version >= 1"};
  return do_save_snapshot(s);
}

inline result<std::optional<snapshot>> event_store::load_snapshot(const stream_id& stream,
                                                                  std::uint32_t schema_version,
                                                                  std::uint64_t max_version) {
  if (auto ok = stream.validate(); !ok) return std::move(ok).error();
  return do_load_snapshot(stream, schema_version, max_version);
}

inline result<std::vector<stream_info>> event_store::streams(std::string_view prefix,
                                                             std::size_t limit) {
  if (auto ok = detail::check_text(prefix, "a streams prefix"); !ok) return std::move(ok).error();
  if (limit == 0) return std::vector<stream_info>{};
  return do_streams(prefix, limit);
}

inline result<void> event_store::save_checkpoint(std::string_view subscriber, const position& p) {
  if (auto ok = detail::check_text(subscriber, "a subscriber name"); !ok) return ok;
  return do_save_checkpoint(subscriber, p);
}

inline result<std::optional<position>> event_store::load_checkpoint(std::string_view subscriber) {
  if (auto ok = detail::check_text(subscriber, "a subscriber name"); !ok)
    return std::move(ok).error();
  return do_load_checkpoint(subscriber);
}

inline result<std::uint64_t> event_store::add_dead_letter(const dead_letter& letter) {
  if (auto ok = detail::check_text(letter.subscriber, "a subscriber name"); !ok)
    return std::move(ok).error();
  if (detail::is_text(letter.error)) return do_add_dead_letter(letter);
  dead_letter cleaned = letter;
  cleaned.error = detail::to_text(letter.error);
  return do_add_dead_letter(cleaned);
}

inline result<std::vector<dead_letter>> event_store::dead_letters(std::string_view subscriber) {
  if (auto ok = detail::check_text(subscriber, "a subscriber name"); !ok)
    return std::move(ok).error();
  return do_dead_letters(subscriber);
}

}  // namespace factum
