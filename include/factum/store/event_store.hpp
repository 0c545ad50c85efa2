#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <factum/core/event.hpp>
#include <factum/core/result.hpp>
#include <factum/telemetry/sink.hpp>

namespace factum {

/// What every store accepts, checked by `event_store` before any backend
/// sees a request, so memory, SQLite and PostgreSQL refuse the same input
/// the same way (docs/store.md, "Input rules").
///
/// Text (stream ids, event types, metadata keys and values, subscriber
/// names, a `streams` prefix) is well-formed UTF-8 with no NUL byte:
/// `errc::invalid_stream_id` for a stream id, `errc::invalid_argument` for
/// the rest. Sizes over these limits are `errc::too_large`.
struct store_limits {
  /// An event's data, the JSON text: 16 MiB.
  static constexpr std::size_t max_data_bytes = std::size_t{16} << 20;
  /// An event's user metadata, its keys and values together: 1 MiB.
  static constexpr std::size_t max_metadata_bytes = std::size_t{1} << 20;
  /// An event type's name: 512 bytes (as a stream id).
  static constexpr std::size_t max_type_bytes = 512;
  /// One append, every event's data and metadata together: 64 MiB. A batch
  /// (`append_batch`) may hold many appends; a backend splits it as it needs.
  static constexpr std::size_t max_append_bytes = std::size_t{64} << 20;
};

/// Events for one stream in an append, with the version the writer expects.
///
/// A write with no events and an expected version of `exact(n)` or
/// `no_stream()` is a *condition*: the append checks that stream's version as
/// for any write (a stale one fails the whole append with
/// `errc::concurrency_conflict`) and writes nothing to it. This is how a
/// decision that read other streams commits only if they did not move (a
/// read-set check). A condition with `any()` or `stream_exists()` checks no
/// version and is `errc::invalid_argument`, and so is an append of conditions
/// only (an append writes at least one event).
/// ```
/// std::vector<factum::stream_write> writes{
///     {"transfer-7", factum::expected_version::no_stream(), {started}},
///     {"account-1", factum::expected_version::exact(4), {}}};  // read at 4, unchanged
/// store.append(writes);
/// ```
struct stream_write {
  factum::stream_id stream;
  expected_version expected = expected_version::any();
  std::vector<event_data> events;  ///< empty: a condition
};

/// The versions one append wrote to one stream (inclusive).
///
/// For a condition (a write with no events) it is the empty range
/// `{stream, v + 1, v}`, `v` the version it checked (0 for `no_stream()`).
struct stream_range {
  factum::stream_id stream;
  std::uint64_t first_version = 0;
  std::uint64_t last_version = 0;

  friend bool operator==(const stream_range&, const stream_range&) = default;
};

/// What an append stored.
///
/// `already_appended` is true when the call was a replay of one that had
/// been stored before (same event ids, or the same command id for the same
/// streams): nothing was written and the ranges and positions are the
/// original ones. The positions cover the written events only; conditions
/// have none.
struct append_result {
  std::vector<stream_range> streams;  ///< one per `stream_write` (conditions too), in request order
  std::uint64_t first_position = 0;   ///< global position of the first event
  std::uint64_t last_position = 0;    ///< global position of the last event
  bool already_appended = false;

  friend bool operator==(const append_result&, const append_result&) = default;
};

/// Options of one append.
struct append_options {
  /// When set, the store records command id -> this append's result (every
  /// stream it named, conditions too) and `command_digest`, in the same
  /// transaction as the events. Appending again with the same command id is a
  /// replay when it names the same set of streams (in any order) and, when
  /// both digests are nonzero, the same digest: it returns the recorded result
  /// with `already_appended` and writes nothing. Otherwise the id was reused
  /// for something else: `errc::command_id_conflict`, naming the first use,
  /// and nothing is written.
  /// ```
  /// factum::append_options once{.command = cmd_id, .command_digest = hash(cmd)};
  /// store.append(writes, once);  // a retry after a timeout: already_appended
  /// ```
  std::optional<command_id> command;
  /// A digest of the command behind the append (the runtime hashes the
  /// command's type and payload into it); 0: none given, then a command id is
  /// matched by its streams only.
  std::uint64_t command_digest = 0;
};

/// What the store recorded for a command id (`append_options::command`).
struct command_record {
  append_result result;      ///< the first use's answer: every stream it named, in its order
  std::uint64_t digest = 0;  ///< the first use's `append_options::command_digest` (0: none)
  /// A record stored before command ids were scoped: it lists only the
  /// streams that got events and has no digest, so a later use matches when
  /// its streams include the recorded ones.
  bool legacy = false;

  friend bool operator==(const command_record&, const command_record&) = default;
};

/// One append of a batch: its writes and options (as for `append`).
struct append_request {
  std::vector<stream_write> writes;
  append_options options;
};

/// An aggregate's saved state at a stream version.
///
/// `schema_version` is the version of the state's layout: a loader asks for
/// the version it understands, so snapshots of an older layout are ignored.
struct snapshot {
  factum::stream_id stream;
  std::uint64_t version = 0;
  std::uint32_t schema_version = 1;
  std::string state;  ///< encoded by the aggregate (JSON text by default)
  timestamp taken_at{};

  friend bool operator==(const snapshot&, const snapshot&) = default;
};

/// An event a subscriber gave up on, with why and how often it tried.
struct dead_letter {
  std::uint64_t id = 0;  ///< assigned by the store
  std::string subscriber;
  recorded_event event;
  std::string error;
  std::uint32_t attempts = 0;
  timestamp failed_at{};
  /// Whether its stream is parked behind it: the subscriber holds the
  /// stream's later events until the letter is retried, skipped or removed
  /// (docs/subscriptions.md, "Dead letters park their stream"). False for
  /// letters stored by factum before 0.2, which parked nothing.
  bool parks_stream = false;
};

/// One stream as `event_store::streams` lists it.
struct stream_info {
  factum::stream_id stream;
  std::uint64_t version = 0;        ///< its last event's version (= its event count)
  std::uint64_t last_position = 0;  ///< the global position of its last event
  timestamp last_recorded_at{};     ///< when its last event was committed

  friend bool operator==(const stream_info&, const stream_info&) = default;
};

/// A claim on a name that one process at a time may hold among all that
/// share a store (`event_store::try_own`); dropping it gives the name up.
class ownership {
 public:
  virtual ~ownership() = default;
  /// Whether the claim still holds. On PostgreSQL it rests on a connection:
  /// once that is lost, so is the claim, and another process may take it.
  [[nodiscard]] virtual bool held() = 0;
};

/// Names of event types to read; empty means every type.
using type_filter = std::vector<std::string>;

/// The event store adapter: the one interface every backend implements.
///
/// Guarantees, tested for every backend by the conformance suite
/// (<factum/store/conformance.hpp>):
/// - an append is atomic over all its streams: all events land, or none;
/// - a wrong expected version fails with `errc::concurrency_conflict` and an
///   `error::conflict` naming the stream, the expected and the actual version;
///   a condition (a write with no events, `stream_write`) is checked the same
///   way and writes nothing to its stream (no version, no `streams()` entry);
/// - a command id (`append_options::command`) is recorded with the append:
///   reused for the same streams and command, it returns the recorded result
///   with `already_appended`; reused for other streams or another command, it
///   fails with `errc::command_id_conflict`; either way nothing is written;
/// - appends are idempotent by event id: a replayed batch returns
///   `already_appended` with the original versions; the same ids with other
///   content or in another stream fail with `errc::event_id_conflict`;
/// - stream versions start at 1 and are dense; global positions start at 1,
///   are gapless and strictly increasing in commit order;
/// - stored data that does not parse fails the read with
///   `errc::malformed_event` naming the position.
///
/// All functions are safe to call from several threads at once.
/// ```
/// factum::memory_store store;
/// auto r = store.append("account-1", factum::expected_version::no_stream(),
///                       {codec.encode(account_opened{"ann"})});
/// auto events = store.read_stream("account-1");
/// ```
class event_store {
 public:
  static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

  event_store() = default;
  /// A store is moved before it is shared (into a runtime); its sink goes with it.
  event_store(event_store&& other) noexcept
      : telemetry_owner_(std::move(other.telemetry_owner_)),
        telemetry_(other.telemetry_.exchange(nullptr)) {}
  event_store& operator=(event_store&& other) noexcept {
    telemetry_owner_ = std::move(other.telemetry_owner_);
    telemetry_.store(other.telemetry_.exchange(nullptr));
    return *this;
  }
  virtual ~event_store() = default;

  /// Appends atomically to one or several distinct streams; writes without
  /// events are conditions (see `stream_write`), checked with the others.
  result<append_result> append(std::span<const stream_write> writes,
                               const append_options& options = {});
  /// Appends to one stream.
  result<append_result> append(stream_id stream, expected_version expected,
                               std::vector<event_data> events, const append_options& options = {});

  /// Appends several independent requests, each atomic on its own, and
  /// returns one result per request in order. Each request behaves exactly as
  /// if appended alone, one after the other in request order (a later request
  /// sees what earlier ones wrote, e.g. its expected version), and one
  /// request's failure (conflict, event id conflict, bad argument) does not
  /// affect the others'. A backend may commit them in one transaction; then
  /// a storage failure of the commit fails every request of it.
  ///
  /// This is group commit: a writer that collects appends from many callers
  /// pays one transaction (one fsync on SQLite) for all of them.
  /// ```
  /// std::vector<factum::append_request> batch{
  ///     {{{"account-1", factum::expected_version::exact(3), {deposit(5)}}}},
  ///     {{{"account-2", factum::expected_version::no_stream(), {opened}}}}};
  /// auto results = store.append_batch(batch);  // results[i] answers batch[i]
  /// ```
  std::vector<result<append_result>> append_batch(std::span<const append_request> requests);
  /// True when `append_batch` is cheaper than the same appends one by one
  /// (the SQLite store: one transaction and one fsync for the batch).
  [[nodiscard]] virtual bool prefers_batches() const noexcept { return false; }

  /// The stream's events with version >= `from_version`, at most `limit`.
  [[nodiscard]] result<std::vector<recorded_event>> read_stream(const stream_id& stream,
                                                                std::uint64_t from_version = 1,
                                                                std::size_t limit = no_limit);
  /// Calls `fn` for each event of the stream with version >= `from_version`,
  /// in order, without holding them all in memory; returns how many it saw.
  /// This is how an aggregate is loaded. The event passed to `fn` is only
  /// valid during the call (backends may reuse it for the next row).
  /// ```
  /// std::int64_t balance = 0;
  /// store.scan_stream("account-1", 1, [&](const factum::recorded_event& e) {
  ///   apply(state, codec::decode(e).value());
  /// });
  /// ```
  result<std::uint64_t> scan_stream(const stream_id& stream, std::uint64_t from_version,
                                    const std::function<void(const recorded_event&)>& fn);

  /// Events of the global log strictly after `after`, in order, at most
  /// `limit`, only of the given types when `types` is not empty.
  [[nodiscard]] result<std::vector<recorded_event>> read_all(position after = position::start(),
                                                             std::size_t limit = no_limit,
                                                             const type_filter& types = {});
  /// The stream's version: its last event's version, 0 when it has none.
  [[nodiscard]] result<std::uint64_t> stream_version(const stream_id& stream);
  /// The streams whose names start with `prefix` (all when empty), sorted by
  /// name (byte order), at most `limit`; streams with no events are not listed.
  /// For tools and administration (factum-inspect), not for the hot path: it
  /// may read an index of every stream.
  /// ```
  /// for (const auto& s : store.streams("account-").value())
  ///   std::cout << s.stream.str() << " at version " << s.version << '\n';
  /// ```
  [[nodiscard]] result<std::vector<stream_info>> streams(std::string_view prefix = {},
                                                         std::size_t limit = no_limit);
  /// The position of the last committed event (`position::start()` when empty).
  [[nodiscard]] virtual result<position> head() = 0;

  /// Saves a snapshot, replacing one of the same stream and version.
  result<void> save_snapshot(const snapshot& s);
  /// The newest snapshot of `stream` at or below `max_version` with exactly
  /// `schema_version`; nullopt when there is none.
  [[nodiscard]] result<std::optional<snapshot>> load_snapshot(
      const stream_id& stream, std::uint32_t schema_version,
      std::uint64_t max_version = std::numeric_limits<std::uint64_t>::max());

  /// Stores a subscriber's position (after the events it handled).
  result<void> save_checkpoint(std::string_view subscriber, const position& p);
  /// A subscriber's stored position; nullopt when it never saved one.
  [[nodiscard]] result<std::optional<position>> load_checkpoint(std::string_view subscriber);
  /// Every subscriber's stored position, by name.
  [[nodiscard]] virtual result<std::vector<std::pair<std::string, position>>> checkpoints() = 0;

  /// What was recorded for a command id by `append_options::command`;
  /// nullopt when it was never used. `detail::match_command` decides whether
  /// an append is a replay of it.
  [[nodiscard]] virtual result<std::optional<command_record>> load_command(command_id id) = 0;

  /// Stores a dead letter and returns its id. Its `event` must be a stored
  /// one. Its `error` text is stored as given, except that bytes that are not
  /// UTF-8 (an exception's message in another encoding) become U+FFFD: a
  /// dead letter is never refused for its message.
  result<std::uint64_t> add_dead_letter(const dead_letter& letter);
  /// Dead letters in the order they were added, of one subscriber or all.
  [[nodiscard]] result<std::vector<dead_letter>> dead_letters(std::string_view subscriber = {});
  /// Deletes one; `errc::not_found` when there is no such id.
  virtual result<void> remove_dead_letter(std::uint64_t id) = 0;

  /// Calls `fn` (on a thread of the store's) soon after any process appends
  /// to this store, for as long as the returned handle lives. A store that
  /// cannot hear of other processes' appends returns nullptr: the caller
  /// polls `head()` instead. On PostgreSQL this is LISTEN/NOTIFY.
  [[nodiscard]] virtual std::shared_ptr<void> on_append(std::function<void()> fn) {
    (void)fn;
    return nullptr;
  }

  /// Claims `name` for this process among all that share the store: an
  /// `ownership` when it got the claim, nullptr while another holds it.
  /// Single-owner subscribers (`subscription_options::single_owner`) run
  /// only while they hold their name. On PostgreSQL this is a session
  /// advisory lock on a connection of its own; the default (memory, SQLite)
  /// grants every claim, as those stores serve one process or rely on the
  /// read model's checkpoint compare-and-set.
  [[nodiscard]] virtual result<std::unique_ptr<ownership>> try_own(std::string_view name) {
    (void)name;
    struct always final : ownership {
      bool held() override { return true; }
    };
    return std::unique_ptr<ownership>(std::make_unique<always>());
  }

  /// Reports appends and reads (`factum.store.append.*`, `factum.store.read.*`,
  /// with the events and bytes) to `sink`. The first sink set stays for the
  /// store's life (it may be set while other threads use the store); a
  /// later call changes nothing and returns false. A runtime with
  /// `runtime_options::telemetry` sets it on its store.
  bool set_telemetry(std::shared_ptr<telemetry_sink> sink) noexcept {
    telemetry_sink* none = nullptr;
    if (!sink || !telemetry_.compare_exchange_strong(none, sink.get(), std::memory_order_acq_rel))
      return false;
    telemetry_owner_ = std::move(sink);  // only the winner writes it; readers use the pointer
    return true;
  }

 protected:
  // Backends implement these; the public functions above check arguments
  // first (stream ids, empty batches, duplicate ids, the input rules of
  // `store_limits`), so backends see only well-formed requests.
  virtual result<append_result> do_append(std::span<const stream_write> writes,
                                          const append_options& options) = 0;
  /// Default: `do_append` for each request. Backends see only requests that
  /// passed validation, and return exactly one result per request, in order.
  virtual std::vector<result<append_result>> do_append_batch(
      std::span<const append_request> requests);
  virtual result<std::vector<recorded_event>> do_read_stream(const stream_id& stream,
                                                             std::uint64_t from_version,
                                                             std::size_t limit) = 0;
  /// By default pages through `do_read_stream`; a backend may stream rows.
  virtual result<std::uint64_t> do_scan_stream(
      const stream_id& stream, std::uint64_t from_version,
      const std::function<void(const recorded_event&)>& fn);
  virtual result<std::vector<recorded_event>> do_read_all(position after, std::size_t limit,
                                                          const type_filter& types) = 0;
  virtual result<std::uint64_t> do_stream_version(const stream_id& stream) = 0;
  virtual result<void> do_save_snapshot(const snapshot& s) = 0;
  virtual result<std::optional<snapshot>> do_load_snapshot(const stream_id& stream,
                                                           std::uint32_t schema_version,
                                                           std::uint64_t max_version) = 0;
  virtual result<std::vector<stream_info>> do_streams(std::string_view prefix,
                                                      std::size_t limit) = 0;
  virtual result<void> do_save_checkpoint(std::string_view subscriber, const position& p) = 0;
  virtual result<std::optional<position>> do_load_checkpoint(std::string_view subscriber) = 0;
  virtual result<std::uint64_t> do_add_dead_letter(const dead_letter& letter) = 0;
  virtual result<std::vector<dead_letter>> do_dead_letters(std::string_view subscriber) = 0;

 private:
  /// `append_batch` for the requests that passed validation (`valid`).
  void append_valid(std::span<const append_request> requests, std::span<const std::size_t> valid,
                    std::vector<result<append_result>>& out);
  [[nodiscard]] telemetry_sink* telemetry() const noexcept {
    return telemetry_.load(std::memory_order_acquire);
  }

  std::shared_ptr<telemetry_sink> telemetry_owner_;
  std::atomic<telemetry_sink*> telemetry_{nullptr};
};

}  // namespace factum

#include <factum/store/detail/event_store-inl.hpp>
