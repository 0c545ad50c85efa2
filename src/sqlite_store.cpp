// The SQLite event store. Schema and the reasons for it: docs/store.md.
#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include <factum/store/sqlite_store.hpp>

#include "sqlite/file_turn.hpp"
#include "sqlite/sqlite_db.hpp"
#include "store_records.hpp"

namespace factum {

namespace sq = detail::sqlite;

std::shared_ptr<sq::fair_turn> sq::turn_of(const std::filesystem::path& file) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<fair_turn>> turns;
  std::error_code ec;
  auto key = std::filesystem::weakly_canonical(file, ec);
  if (ec) key = std::filesystem::absolute(file, ec).lexically_normal();
  std::lock_guard lock(mutex);
  std::erase_if(turns, [](const auto& t) { return t.second.expired(); });
  auto& slot = turns[key.string()];
  auto turn = slot.lock();
  if (!turn) slot = turn = std::make_shared<fair_turn>();
  return turn;
}

namespace {

// 2: a dead letter may park its stream (dead_letters.parks_stream); a file of
// schema 1 is migrated when opened writable and read as it is when read-only.
constexpr std::int64_t schema_version = 2;
constexpr std::int64_t max_int64 = std::numeric_limits<std::int64_t>::max();

// Streams and event types get integer keys: a row of `events` and its
// (stream_key, version) index entry stay narrow, so a transaction spread over
// many streams touches fewer B-tree pages (see ../shared/DESIGN.md figures).
constexpr const char* schema_sql = R"sql(
CREATE TABLE factum_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE streams(stream_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE event_types(type_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE events(
  position INTEGER PRIMARY KEY,
  stream_key INTEGER NOT NULL,
  version INTEGER NOT NULL,
  type_key INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  event_id BLOB NOT NULL,
  data TEXT NOT NULL,
  correlation_id BLOB,
  causation_id BLOB,
  created_at INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  user_metadata TEXT);
CREATE UNIQUE INDEX events_by_stream ON events(stream_key, version);
CREATE UNIQUE INDEX events_by_id ON events(event_id);
CREATE INDEX events_by_type ON events(type_key, position);
CREATE TABLE snapshots(
  stream TEXT NOT NULL,
  version INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  state BLOB NOT NULL,
  taken_at INTEGER NOT NULL,
  PRIMARY KEY(stream, version)) WITHOUT ROWID;
CREATE TABLE checkpoints(subscriber TEXT PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE commands(command_id BLOB PRIMARY KEY, result TEXT NOT NULL,
                      recorded_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscriber TEXT NOT NULL,
  position INTEGER NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  failed_at INTEGER NOT NULL,
  parks_stream INTEGER NOT NULL DEFAULT 0);
INSERT INTO factum_meta(key, value) VALUES ('schema_version', '2');
)sql";

// The columns every event read selects, in the order decode_event reads them.
#define FACTUM_EVENT_COLUMNS                                                         \
  "e.position, e.version, e.type_key, e.schema_version, e.event_id, e.data, "        \
  "e.correlation_id, e.causation_id, e.created_at, e.recorded_at, e.user_metadata, " \
  "s.name "
constexpr int event_column_count = 12;

constexpr const char* sql_begin = "BEGIN IMMEDIATE";
constexpr const char* sql_commit = "COMMIT";
constexpr const char* sql_rollback = "ROLLBACK";
constexpr const char* sql_stream_key = "SELECT stream_key FROM streams WHERE name = ?1";
constexpr const char* sql_stream_insert = "INSERT INTO streams(name) VALUES (?1)";
constexpr const char* sql_max_version = "SELECT max(version) FROM events WHERE stream_key = ?1";
constexpr const char* sql_max_position = "SELECT max(position) FROM events";
constexpr const char* sql_type_key = "SELECT type_key FROM event_types WHERE name = ?1";
constexpr const char* sql_type_name = "SELECT name FROM event_types WHERE type_key = ?1";
constexpr const char* sql_type_insert = "INSERT INTO event_types(name) VALUES (?1)";
constexpr const char* sql_event_insert =
    "INSERT INTO events(position, stream_key, version, type_key, schema_version, event_id, data,"
    " correlation_id, causation_id, created_at, recorded_at, user_metadata)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr const char* sql_id_exists = "SELECT 1 FROM events WHERE event_id = ?1";
constexpr const char* sql_event_by_id =
    "SELECT " FACTUM_EVENT_COLUMNS
    "FROM events e JOIN streams s ON s.stream_key = e.stream_key WHERE e.event_id = ?1";
constexpr const char* sql_command_select = "SELECT result FROM commands WHERE command_id = ?1";
constexpr const char* sql_command_insert =
    "INSERT INTO commands(command_id, result, recorded_at) VALUES (?1, ?2, ?3)";
constexpr const char* sql_read_stream =
    "SELECT " FACTUM_EVENT_COLUMNS
    "FROM streams s JOIN events e ON e.stream_key = s.stream_key"
    " WHERE s.name = ?1 AND e.version >= ?2 ORDER BY e.version LIMIT ?3";
constexpr const char* sql_read_all = "SELECT " FACTUM_EVENT_COLUMNS
                                     "FROM events e JOIN streams s ON s.stream_key = e.stream_key"
                                     " WHERE e.position > ?1 ORDER BY e.position LIMIT ?2";
constexpr const char* sql_stream_version =
    "SELECT max(e.version) FROM streams s JOIN events e ON e.stream_key = s.stream_key"
    " WHERE s.name = ?1";
// From the first name >= the prefix, in name order (the UNIQUE index on
// `name`); the caller stops at the first name without the prefix.
constexpr const char* sql_streams =
    "SELECT s.name, e.version, e.position, e.recorded_at FROM streams s"
    " JOIN events e ON e.stream_key = s.stream_key"
    " AND e.version = (SELECT max(version) FROM events WHERE stream_key = s.stream_key)"
    " WHERE s.name >= ?1 ORDER BY s.name";
constexpr const char* sql_snapshot_save =
    "INSERT INTO snapshots(stream, version, schema_version, state, taken_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(stream, version) DO UPDATE SET"
    " schema_version = excluded.schema_version, state = excluded.state,"
    " taken_at = excluded.taken_at";
constexpr const char* sql_snapshot_load =
    "SELECT version, schema_version, state, taken_at FROM snapshots"
    " WHERE stream = ?1 AND schema_version = ?2 AND version <= ?3"
    " ORDER BY version DESC LIMIT 1";
constexpr const char* sql_checkpoint_save =
    "INSERT INTO checkpoints(subscriber, position) VALUES (?1, ?2)"
    " ON CONFLICT(subscriber) DO UPDATE SET position = excluded.position";
constexpr const char* sql_checkpoint_load =
    "SELECT position FROM checkpoints WHERE subscriber = ?1";
constexpr const char* sql_checkpoint_all =
    "SELECT subscriber, position FROM checkpoints ORDER BY subscriber";
constexpr const char* sql_event_id_at = "SELECT event_id FROM events WHERE position = ?1";
constexpr const char* sql_dead_letter_add =
    "INSERT INTO dead_letters(subscriber, position, error, attempts, failed_at, parks_stream)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
#define FACTUM_DEAD_LETTER_LIST(parks)                                                            \
  "SELECT " FACTUM_EVENT_COLUMNS ", d.id, d.subscriber, d.error, d.attempts, d.failed_at, " parks \
  " FROM dead_letters d JOIN events e ON e.position = d.position"                                 \
  " JOIN streams s ON s.stream_key = e.stream_key"                                                \
  " WHERE ?1 = '' OR d.subscriber = ?1 ORDER BY d.id"
constexpr const char* sql_dead_letter_list = FACTUM_DEAD_LETTER_LIST("d.parks_stream");
// A read-only file of schema 1: no letter of it parks its stream.
constexpr const char* sql_dead_letter_list_v1 = FACTUM_DEAD_LETTER_LIST("0");
#undef FACTUM_DEAD_LETTER_LIST
constexpr const char* sql_dead_letter_remove = "DELETE FROM dead_letters WHERE id = ?1";

std::int64_t to_ns(timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

timestamp from_ns(std::int64_t ns) {
  return timestamp{std::chrono::duration_cast<timestamp::duration>(std::chrono::nanoseconds{ns})};
}

std::int64_t to_limit(std::size_t limit) {
  return limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? -1
             : static_cast<std::int64_t>(limit);
}

std::int64_t clamp_u64(std::uint64_t v) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
}

uuid uuid_from(std::span<const std::uint8_t> b) {
  uuid::bytes_type bytes{};
  if (b.size() == bytes.size()) std::copy(b.begin(), b.end(), bytes.begin());
  return uuid{bytes};
}

void bind_uuid(sq::statement& s, int i, const uuid& u) {
  if (u.is_nil())
    s.bind_null(i);
  else
    s.bind_blob(i, u.bytes());
}

/// A connection with its prepared statements, cached by SQL text address.
struct session {
  sq::connection conn;
  std::unordered_map<const char*, sq::statement> cache;

  result<sq::statement*> stmt(const char* sql) {
    if (auto it = cache.find(sql); it != cache.end()) return &it->second;
    auto s = conn.prepare(sql);
    if (!s) return std::move(s).error();
    return &cache.emplace(sql, std::move(*s)).first->second;
  }

  /// Runs a cached statement that returns no rows.
  result<void> run(const char* sql, std::string_view doing) {
    auto s = stmt(sql);
    if (!s) return std::move(s).error();
    const int rc = (*s)->step();
    (*s)->reset();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return conn.fail(rc, doing);
    return {};
  }

  /// The first column of a one-row query as an integer (0 for NULL or no row).
  template <class Bind>
  result<std::int64_t> scalar(const char* sql, Bind&& bind, std::string_view doing) {
    auto s = stmt(sql);
    if (!s) return std::move(s).error();
    sq::statement& st = **s;
    sq::reset_guard guard{st};
    bind(st);
    const int rc = st.step();
    if (rc == SQLITE_ROW) return st.int64(0);
    if (rc == SQLITE_DONE) return std::int64_t{0};
    return conn.fail(rc, doing);
  }
};

/// The writer's `BEGIN IMMEDIATE` ... `COMMIT`: a transaction that ends
/// without `commit`, by an error or an exception, is rolled back, so the
/// writer never stays inside a transaction (which would keep the file's write
/// lock, fail every later `BEGIN`, and leave later writes uncommitted).
class transaction {
 public:
  explicit transaction(session& s) noexcept : s_(s) {}
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() { rollback(); }

  result<void> begin(std::string_view doing) {
    auto r = s_.run(sql_begin, doing);
    open_ = r.has_value();
    return r;
  }
  /// Commits; on failure the transaction is rolled back when it ends.
  result<void> commit(std::string_view doing) {
    auto r = s_.run(sql_commit, doing);
    if (r) open_ = false;
    return r;
  }
  /// Rolls back now (nothing when it has ended); never throws.
  void rollback() noexcept {
    if (!std::exchange(open_, false)) return;
    // SQLite may have rolled back by itself (SQLITE_FULL, an I/O error).
    if (sqlite3_get_autocommit(s_.conn.get()) == 0)
      sqlite3_exec(s_.conn.get(), sql_rollback, nullptr, nullptr, nullptr);
  }

 private:
  session& s_;
  bool open_ = false;
};

}  // namespace

struct sqlite_store::impl {
  /// Stream or type names with the keys a transaction gave them.
  using key_list = std::vector<std::pair<std::string, std::int64_t>>;

  std::filesystem::path file;
  sqlite_options options;
  bool read_only = false;
  std::int64_t schema = schema_version;  ///< the file's (1: read-only, not migrated)

  std::mutex write_mutex;  // guards writer and stream_keys
  /// Taken after `write_mutex` for every write transaction: the file's turn
  /// among this process' writers of it (read models on the same file).
  std::shared_ptr<sq::fair_turn> file_turn;

  /// `write_mutex`, then the file's turn.
  struct write_lock {
    std::lock_guard<std::mutex> own;
    std::lock_guard<sq::fair_turn> file;
    explicit write_lock(impl& i) : own(i.write_mutex), file(*i.file_turn) {}
  };
  /// A write from inside a read model transaction on this file, on the same
  /// thread, would wait for itself: it is refused instead.
  [[nodiscard]] std::optional<error> reentered() const {
    if (!file_turn->held_here()) return std::nullopt;
    return error{errc::invalid_argument,
                 "a write to '" + file.string() +
                     "' from inside a read model transaction on the same file (use the read "
                     "model's own statements there)"};
  }
  session writer;
  std::unordered_map<std::string, std::int64_t> stream_keys;  // committed only

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<session>> idle_readers;

  std::shared_mutex types_mutex;  // type keys are shared by writer and readers
  std::unordered_map<std::int64_t, std::string> type_names;
  std::unordered_map<std::string, std::int64_t> type_keys;

  // ---- opening ----

  int open_flags() const {
    if (read_only) return SQLITE_OPEN_READONLY;
    return SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  }

  result<void> configure(session& s, bool is_writer) {
    // The first read of the header tells a non-database file at once.
    if (auto r = s.conn.check(options.busy_timeout, file.string()); !r) return r;
    if (!is_writer) return {};
    if (s.conn.read_only()) read_only = true;
    if (read_only) return {};
    static constexpr const char* sync_names[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
    std::string pragmas =
        "PRAGMA page_size = " + std::to_string(options.page_size) +
        "; PRAGMA journal_mode = WAL; PRAGMA temp_store = MEMORY; PRAGMA synchronous = " +
        sync_names[static_cast<int>(options.synchronous)] + ";";
    if (options.max_page_count > 0)
      pragmas += " PRAGMA max_page_count = " + std::to_string(options.max_page_count) + ";";
    return s.conn.exec(pragmas, "configuring '" + file.string() + "'");
  }

  /// Creates the schema in a new file; checks it in an existing one.
  result<void> ensure_schema() {
    transaction txn{writer};
    if (!read_only)
      if (auto r = txn.begin("creating the schema"); !r) return r;
    auto done = [&](result<void> r) -> result<void> {
      if (r && !read_only) return txn.commit("creating the schema");
      return r;  // an error: the transaction rolls back
    };
    auto tables = writer.scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'", [](auto&) {}, "reading schema");
    if (!tables) return done(std::move(tables).error());
    auto has_meta = writer.scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'factum_meta'",
        [](auto&) {}, "reading schema");
    if (!has_meta) return done(std::move(has_meta).error());
    if (*tables == 0) {
      if (read_only)
        return error{errc::schema_mismatch, "'" + file.string() + "' is empty and read-only"};
      return done(writer.conn.exec(schema_sql, "creating the schema"));
    }
    if (*has_meta == 0)
      return done(error{errc::schema_mismatch,
                        "'" + file.string() + "' is an SQLite database but not a factum store"});
    auto version = writer.scalar(
        "SELECT CAST(value AS INTEGER) FROM factum_meta WHERE key = 'schema_version'", [](auto&) {},
        "reading schema");
    if (!version) return done(std::move(version).error());
    if (*version == 1 && read_only) {
      schema = 1;  // read as it is
      return done({});
    }
    if (*version == 1)
      return done(writer.conn.exec(
          "ALTER TABLE dead_letters ADD COLUMN parks_stream INTEGER NOT NULL DEFAULT 0;"
          " UPDATE factum_meta SET value = '2' WHERE key = 'schema_version';",
          "migrating '" + file.string() + "' from factum schema 1 to 2"));
    if (*version != schema_version)
      return done(error{errc::schema_mismatch,
                        "'" + file.string() + "' has factum schema " + std::to_string(*version) +
                            ", this build reads schema " + std::to_string(schema_version)});
    return done({});
  }

  result<void> open() {
    read_only = options.read_only;
    if (auto r = writer.conn.open(file.string(), open_flags()); !r) return r;
    file_turn = sq::turn_of(file);
    if (auto r = configure(writer, true); !r) return r;
    std::lock_guard turn(*file_turn);
    return ensure_schema();
  }

  // ---- reader pool ----

  struct reader_lease {
    impl* owner;
    std::unique_ptr<session> s;
    reader_lease(impl* o, std::unique_ptr<session> p) : owner(o), s(std::move(p)) {}
    reader_lease(reader_lease&&) noexcept = default;
    reader_lease& operator=(reader_lease&&) = delete;
    ~reader_lease() {
      if (s) {
        std::lock_guard lock(owner->pool_mutex);
        owner->idle_readers.push_back(std::move(s));
      }
    }
    session* operator->() const { return s.get(); }
    session& operator*() const { return *s; }
  };

  result<reader_lease> reader() {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle_readers.empty()) {
        reader_lease lease{this, std::move(idle_readers.back())};
        idle_readers.pop_back();
        return lease;
      }
    }
    auto s = std::make_unique<session>();
    if (auto r =
            s->conn.open(file.string(), read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
        !r)
      return std::move(r).error();
    if (auto r = configure(*s, false); !r) return std::move(r).error();
    return reader_lease{this, std::move(s)};
  }

  /// Runs `fn(session&, statement&)` on a pooled reader, with the cached
  /// statement of `sql` bound by `bind` and reset afterwards.
  template <class Bind, class Fn>
  auto query(const char* sql, Bind&& bind, Fn&& fn)
      -> decltype(fn(std::declval<session&>(), std::declval<sq::statement&>())) {
    auto r = reader();
    if (!r) return std::move(r).error();
    auto st = (*r)->stmt(sql);
    if (!st) return std::move(st).error();
    sq::reset_guard guard{**st};
    bind(**st);
    return fn(**r, **st);
  }

  // ---- event types ----

  /// The name of a type key; reads `event_types` on a cache miss.
  result<std::string> type_name(session& s, std::int64_t key) {
    {
      std::shared_lock lock(types_mutex);
      if (auto it = type_names.find(key); it != type_names.end()) return it->second;
    }
    auto st = s.stmt(sql_type_name);
    if (!st) return std::move(st).error();
    sq::reset_guard guard{**st};
    (*st)->bind(1, key);
    const int rc = (*st)->step();
    if (rc != SQLITE_ROW) {
      if (rc == SQLITE_DONE)
        return error{errc::storage_corrupt,
                     "event type key " + std::to_string(key) + " is missing"};
      return s.conn.fail(rc, "reading event types");
    }
    std::string name{(*st)->text(0)};
    // Inside the writer's transaction the key may be one this transaction
    // made (a batch replaying an earlier request of it): cached, it would
    // outlive a rollback, and the key could come back for another name.
    if (sqlite3_get_autocommit(s.conn.get()) != 0) {
      std::unique_lock lock(types_mutex);
      type_names.emplace(key, name);
    }
    return name;
  }

  /// The key of a type name, 0 when it is not stored (and `create` is false).
  result<std::int64_t> type_key(session& s, const std::string& name, bool create,
                                key_list* pending) {
    {
      std::shared_lock lock(types_mutex);
      if (auto it = type_keys.find(name); it != type_keys.end()) return it->second;
    }
    auto key = s.scalar(
        sql_type_key, [&](sq::statement& st) { st.bind(1, name); }, "reading types");
    if (!key || *key != 0 || !create) {
      if (key && *key != 0 && !pending) {
        std::unique_lock lock(types_mutex);
        type_keys.emplace(name, *key);
      }
      return key;
    }
    auto ins = s.stmt(sql_type_insert);
    if (!ins) return std::move(ins).error();
    sq::reset_guard guard{**ins};
    (*ins)->bind(1, name);
    if (const int rc = (*ins)->step(); rc != SQLITE_DONE)
      return s.conn.fail(rc, "storing event type '" + name + "'");
    const std::int64_t k = sqlite3_last_insert_rowid(s.conn.get());
    if (pending) pending->emplace_back(name, k);
    return k;
  }

  // ---- decoding rows ----

  /// What consecutive rows usually share, so decoding them skips lookups.
  struct row_cache {
    std::int64_t type_key = 0;
    std::string type;
  };

  /// Fills `out` from the FACTUM_EVENT_COLUMNS starting at column 0; `out`
  /// may be the previous row's event, whose buffers are then reused.
  result<void> decode_event(session& s, const sq::statement& st, recorded_event& out,
                            row_cache& cache) {
    out.global_position = static_cast<std::uint64_t>(st.int64(0));
    out.pos = position::at(out.global_position);
    out.version = static_cast<std::uint64_t>(st.int64(1));
    if (const std::int64_t key = st.int64(2); key != cache.type_key) {
      auto type = type_name(s, key);
      if (!type) return std::move(type).error();
      cache.type = std::move(*type);
      cache.type_key = key;
    }
    out.type = cache.type;
    out.schema_version = static_cast<std::uint32_t>(st.int64(3));
    out.id = uuid_from(st.blob(4));
    if (const std::string_view name = st.text(11); out.stream.view() != name)
      out.stream = stream_id{name};
    out.data.assign(st.text(5));
    if (!detail::is_valid_json(out.data)) return malformed(out, "data is not valid JSON");
    out.metadata.correlation_id = uuid_from(st.blob(6));
    out.metadata.causation_id = uuid_from(st.blob(7));
    out.metadata.created_at = from_ns(st.int64(8));
    out.recorded_at = from_ns(st.int64(9));
    out.metadata.user.clear();
    if (!st.is_null(10)) {
      const std::string_view user = st.text(10);
      const json j = json::parse(user.begin(), user.end(), nullptr, false);
      if (!j.is_object()) return malformed(out, "user metadata is not a JSON object");
      for (const auto& [k, v] : j.items()) {
        if (!v.is_string()) return malformed(out, "user metadata value is not a string");
        out.metadata.user.emplace(k, v.get<std::string>());
      }
    }
    return {};
  }

  static error malformed(const recorded_event& e, std::string_view what) {
    error err{errc::malformed_event, "stream '" + e.stream.str() + "' version " +
                                         std::to_string(e.version) + " at global position " +
                                         std::to_string(e.global_position) + ": " +
                                         std::string(what)};
    err.position = e.global_position;
    return err;
  }

  /// Steps a query of FACTUM_EVENT_COLUMNS, decoding every row.
  /// `expected` sizes the vector up front: growing it by doubling for a long
  /// stream churned ~60 MB of heap per read (W4: 0.44 of raw -> 0.77).
  result<std::vector<recorded_event>> collect(session& s, sq::statement& st, std::string_view doing,
                                              std::size_t expected = 0) {
    std::vector<recorded_event> out;
    out.reserve(expected);
    row_cache cache;
    for (;;) {
      const int rc = st.step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return s.conn.fail(rc, doing);
      recorded_event& e = out.emplace_back();
      if (auto r = decode_event(s, st, e, cache); !r) return std::move(r).error();
    }
  }

  /// Steps a query of FACTUM_EVENT_COLUMNS, handing each row to `fn` in one
  /// reused event.
  result<std::uint64_t> scan(session& s, sq::statement& st, std::string_view doing,
                             const std::function<void(const recorded_event&)>& fn) {
    recorded_event e;
    row_cache cache;
    for (std::uint64_t seen = 0;; ++seen) {
      const int rc = st.step();
      if (rc == SQLITE_DONE) return seen;
      if (rc != SQLITE_ROW) return s.conn.fail(rc, doing);
      if (auto r = decode_event(s, st, e, cache); !r) return std::move(r).error();
      fn(e);
    }
  }

  // ---- appending ----

  result<std::optional<recorded_event>> stored_event(session& s, const event_id& id) {
    auto st = s.stmt(sql_event_by_id);
    if (!st) return std::move(st).error();
    sq::reset_guard guard{**st};
    (*st)->bind_blob(1, id.bytes());
    const int rc = (*st)->step();
    if (rc == SQLITE_DONE) return std::optional<recorded_event>{};
    if (rc != SQLITE_ROW) return s.conn.fail(rc, "looking up event " + id.to_string());
    recorded_event e;
    row_cache cache;
    if (auto r = decode_event(s, **st, e, cache); !r) return std::move(r).error();
    return std::optional<recorded_event>{std::move(e)};
  }

  result<bool> any_stored(std::span<const stream_write> writes) {
    for (const auto& w : writes)
      for (const auto& e : w.events) {
        auto found = writer.scalar(
            sql_id_exists, [&](sq::statement& st) { st.bind_blob(1, e.id.bytes()); },
            "looking up event ids");
        if (!found) return std::move(found).error();
        if (*found != 0) return true;
      }
    return false;
  }

  result<append_result> replay(std::span<const stream_write> writes) {
    return detail::replay(writes, [&](const event_id& id) { return stored_event(writer, id); });
  }

  result<std::int64_t> stream_key(const std::string& name) {
    if (auto it = stream_keys.find(name); it != stream_keys.end()) return it->second;
    return writer.scalar(
        sql_stream_key, [&](sq::statement& st) { st.bind(1, name); }, "reading streams");
  }

  /// One append inside the writer's open transaction. New stream and type
  /// keys go to `new_streams` / `new_types`, published once the caller
  /// commits. On any error the caller rolls the whole transaction back (no
  /// savepoint: a savepoint over a large append spills its page copies to a
  /// temp file, which cost W3 a fifth of its speed). `replay_needed` says an
  /// event id was found stored: roll back, then answer with `replay`.
  /// Only `append_batch` goes on after an error, and only after one found
  /// before the first write (a conflict, or `replay`'s answer).
  result<append_result> append_in_txn(std::span<const stream_write> writes,
                                      const append_options& options, key_list& new_streams,
                                      key_list& new_types, bool& replay_needed) {
    if (options.command) {
      auto st = writer.stmt(sql_command_select);
      if (!st) return std::move(st).error();
      sq::reset_guard guard{**st};
      (*st)->bind_blob(1, options.command->bytes());
      const int rc = (*st)->step();
      if (rc == SQLITE_ROW) {
        auto r = detail::decode_command_record((*st)->text(0));
        if (!r) return std::move(r).error();
        return detail::match_command(*r, *options.command, writes, options.command_digest);
      }
      if (rc != SQLITE_DONE) return writer.conn.fail(rc, "reading command records");
    }

    std::vector<std::int64_t> keys(writes.size());
    std::vector<std::uint64_t> versions(writes.size());
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const auto& w = writes[i];
      auto key = stream_key(w.stream.str());
      if (!key) return std::move(key).error();
      keys[i] = *key;
      if (*key != 0) {
        auto v = writer.scalar(
            sql_max_version, [&](sq::statement& st) { st.bind(1, *key); },
            "reading stream versions");
        if (!v) return std::move(v).error();
        if (*v < 0 || *v > max_int64 - static_cast<std::int64_t>(w.events.size()))
          return error{errc::storage_corrupt, "stream '" + w.stream.str() + "' is at version " +
                                                  std::to_string(*v) +
                                                  ", where no more events fit"};
        versions[i] = static_cast<std::uint64_t>(*v);
      }
      if (!w.expected.matches(versions[i])) {
        auto stored = any_stored(writes);
        if (!stored) return std::move(stored).error();
        if (*stored) return replay(writes);
        return detail::conflict_error(w.stream, w.expected, versions[i]);
      }
    }

    auto next = writer.scalar(
        sql_max_position, [](auto&) {}, "reading the log head");
    if (!next) return std::move(next).error();
    std::int64_t pos = *next;
    if (pos < 0 || pos > max_int64 - static_cast<std::int64_t>(detail::count_events(writes)))
      return error{errc::storage_corrupt,
                   "the log is at position " + std::to_string(pos) + ", where no more events fit"};

    append_result out;
    out.first_position = static_cast<std::uint64_t>(pos + 1);
    const std::int64_t now = to_ns(std::chrono::system_clock::now());
    auto ins = writer.stmt(sql_event_insert);
    if (!ins) return std::move(ins).error();
    sq::statement& st = **ins;
    std::string user;
    for (std::size_t i = 0; i < writes.size(); ++i) {
      const auto& w = writes[i];
      if (w.events.empty()) {  // a condition, checked above: no row, not even in `streams`
        out.streams.push_back({w.stream, versions[i] + 1, versions[i]});
        continue;
      }
      if (keys[i] == 0) {
        auto s = writer.stmt(sql_stream_insert);
        if (!s) return std::move(s).error();
        sq::reset_guard guard{**s};
        (*s)->bind(1, w.stream.view());
        if (const int rc = (*s)->step(); rc != SQLITE_DONE)
          return writer.conn.fail(rc, "creating stream '" + w.stream.str() + "'");
        keys[i] = sqlite3_last_insert_rowid(writer.conn.get());
        new_streams.emplace_back(w.stream.str(), keys[i]);
      }
      std::uint64_t version = versions[i];
      out.streams.push_back({w.stream, version + 1, version + w.events.size()});
      for (const auto& e : w.events) {
        auto type = type_key(writer, e.type, true, &new_types);
        if (!type) return std::move(type).error();
        sq::reset_guard guard{st};
        st.bind(1, ++pos).bind(2, keys[i]).bind(3, static_cast<std::int64_t>(++version));
        st.bind(4, *type).bind(5, static_cast<std::int64_t>(e.schema_version));
        st.bind_blob(6, e.id.bytes()).bind(7, e.data);
        bind_uuid(st, 8, e.metadata.correlation_id);
        bind_uuid(st, 9, e.metadata.causation_id);
        st.bind(10, to_ns(e.metadata.created_at)).bind(11, now);
        if (e.metadata.user.empty()) {
          st.bind_null(12);
        } else {
          detail::encode_user_metadata(e.metadata.user, user);
          st.bind(12, user);
        }
        if (const int rc = st.step(); rc != SQLITE_DONE) {
          // The only unique key an append can hit is an event id stored before.
          if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            replay_needed = true;
            return error{errc::event_id_conflict, "an event id is stored already"};
          }
          return writer.conn.fail(rc, "appending to '" + w.stream.str() + "'");
        }
      }
    }
    out.last_position = static_cast<std::uint64_t>(pos);

    if (options.command) {
      auto c = writer.stmt(sql_command_insert);
      if (!c) return std::move(c).error();
      sq::reset_guard guard{**c};
      const std::string text =
          detail::encode_command_record(command_record{out, options.command_digest});
      (*c)->bind_blob(1, options.command->bytes()).bind(2, text).bind(3, now);
      if (const int rc = (*c)->step(); rc != SQLITE_DONE)
        return writer.conn.fail(rc, "recording command " + options.command->to_string());
    }
    return out;
  }

  result<append_result> append(std::span<const stream_write> writes,
                               const append_options& options) {
    if (auto e = reentered()) return *e;
    write_lock lock{*this};
    return append_locked(writes, options);
  }

  /// `append` with `write_mutex` held.
  result<append_result> append_locked(std::span<const stream_write> writes,
                                      const append_options& options) {
    if (read_only)
      return error{errc::storage_read_only, "'" + file.string() + "' is open read-only"};
    transaction txn{writer};
    if (auto r = txn.begin("starting an append"); !r) return std::move(r).error();
    key_list new_streams, new_types;
    bool replay_needed = false;
    auto out = append_in_txn(writes, options, new_streams, new_types, replay_needed);
    if (!out || out->already_appended) {
      txn.rollback();
      // Stored events never change, so the replay may read outside the transaction.
      return replay_needed ? replay(writes) : out;
    }
    if (auto r = txn.commit("committing an append"); !r) return std::move(r).error();
    publish(new_streams, new_types);
    return out;
  }

  /// Group commit: every request in one `BEGIN IMMEDIATE` ... `COMMIT`.
  ///
  /// A request answered before it wrote anything (a conflict, a recorded
  /// command id, a replay found by `any_stored`) keeps its answer and the
  /// transaction goes on. A request that fails after it began writing (an
  /// event id hit mid-insert, any storage error) cannot be undone alone, as
  /// there is no savepoint (see `append_in_txn`): the whole transaction is
  /// rolled back and every request is appended on its own, each with its own
  /// transaction and its exact answer. That path is rare; the common batch
  /// pays one commit.
  std::vector<result<append_result>> append_batch(std::span<const append_request> requests) {
    std::vector<result<append_result>> out;
    out.reserve(requests.size());
    auto fail_all = [&](const error& e) {
      out.assign(requests.size(), result<append_result>{e});
      return std::move(out);
    };
    if (auto e = reentered()) return fail_all(*e);
    write_lock lock{*this};
    if (requests.size() <= 1) {
      for (const auto& q : requests)
        out.push_back(append_locked(q.writes, q.options));
      return out;
    }
    if (read_only)
      return fail_all(error{errc::storage_read_only, "'" + file.string() + "' is open read-only"});
    transaction txn{writer};
    if (auto r = txn.begin("starting a batch of appends"); !r) return fail_all(r.error());

    key_list new_streams, new_types;  // of the whole batch
    bool wrote = false;
    for (const auto& q : requests) {
      const std::int64_t changes = sqlite3_total_changes64(writer.conn.get());
      bool replay_needed = false;
      auto r = append_in_txn(q.writes, q.options, new_streams, new_types, replay_needed);
      if (!r && !answered_before_writing(r.error(), replay_needed, changes)) {
        txn.rollback();
        out.clear();
        for (const auto& each : requests)
          out.push_back(append_locked(each.writes, each.options));
        return out;
      }
      if (r && !r->already_appended) wrote = true;
      out.push_back(std::move(r));
    }
    if (!wrote) return out;  // nothing to commit: the transaction rolls back
    if (auto r = txn.commit("committing a batch of appends"); !r) return fail_all(r.error());
    publish(new_streams, new_types);
    return out;
  }

  /// True when `append_in_txn` failed with an answer found before it wrote
  /// a row, so the batch's transaction may go on.
  bool answered_before_writing(const error& e, bool replay_needed, std::int64_t changes_before) {
    const bool answer = e == errc::concurrency_conflict || e == errc::event_id_conflict ||
                        e == errc::command_id_conflict;
    return answer && !replay_needed && sqlite3_total_changes64(writer.conn.get()) == changes_before;
  }

  /// Publishes the stream and type keys of a committed transaction.
  void publish(key_list& new_streams, key_list& new_types) {
    for (auto& [name, key] : new_streams)
      stream_keys.emplace(std::move(name), key);
    if (!new_types.empty()) {
      std::unique_lock types_lock(types_mutex);
      for (auto& [name, key] : new_types) {
        type_names.emplace(key, name);
        type_keys.emplace(std::move(name), key);
      }
    }
  }

  /// Runs one write statement outside an append, under the write lock;
  /// returns how many rows it changed.
  template <class Bind>
  result<int> write(const char* sql, Bind&& bind, std::string_view doing) {
    if (auto e = reentered()) return *e;
    write_lock lock{*this};
    if (read_only)
      return error{errc::storage_read_only, "'" + file.string() + "' is open read-only"};
    auto st = writer.stmt(sql);
    if (!st) return std::move(st).error();
    sq::reset_guard guard{**st};
    bind(**st);
    if (const int rc = (*st)->step(); rc != SQLITE_DONE) return writer.conn.fail(rc, doing);
    return sqlite3_changes(writer.conn.get());
  }
};

// ---- sqlite_store ----

result<sqlite_store> sqlite_store::open(const std::filesystem::path& file,
                                        const sqlite_options& options) {
  auto p = std::make_unique<impl>();
  p->file = file;
  p->options = options;
  if (auto r = p->open(); !r) return std::move(r).error();
  return sqlite_store{std::move(p)};
}

sqlite_store::sqlite_store(const std::filesystem::path& file, const sqlite_options& options)
    : sqlite_store(open(file, options).value()) {}

sqlite_store::sqlite_store(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
sqlite_store::sqlite_store(sqlite_store&&) noexcept = default;
sqlite_store& sqlite_store::operator=(sqlite_store&&) noexcept = default;
sqlite_store::~sqlite_store() = default;

const std::filesystem::path& sqlite_store::file() const noexcept {
  return impl_->file;
}

result<append_result> sqlite_store::do_append(std::span<const stream_write> writes,
                                              const append_options& options) {
  return impl_->append(writes, options);
}

std::vector<result<append_result>> sqlite_store::do_append_batch(
    std::span<const append_request> requests) {
  return impl_->append_batch(requests);
}

bool sqlite_store::prefers_batches() const noexcept {
  return true;
}

result<std::vector<recorded_event>> sqlite_store::do_read_stream(const stream_id& stream,
                                                                 std::uint64_t from_version,
                                                                 std::size_t limit) {
  return impl_->query(
      sql_read_stream,
      [&](sq::statement& st) {
        st.bind(1, stream.view()).bind(2, clamp_u64(from_version)).bind(3, to_limit(limit));
      },
      [&](session& s, sq::statement& st) -> result<std::vector<recorded_event>> {
        auto version = s.scalar(
            sql_stream_version, [&](sq::statement& v) { v.bind(1, stream.view()); },
            "reading the version of '" + stream.str() + "'");
        if (!version) return std::move(version).error();
        const auto last = static_cast<std::uint64_t>(*version);
        // The stored numbers may be damaged: the reserve is capped, and the
        // versions are checked as the rows come (event_store::read_stream).
        constexpr std::uint64_t max_reserve = 1 << 16;
        const std::size_t expected =
            last < from_version
                ? 0
                : std::min<std::uint64_t>({limit, last - from_version + 1, max_reserve});
        return impl_->collect(s, st, "reading stream '" + stream.str() + "'", expected);
      });
}

result<std::uint64_t> sqlite_store::do_scan_stream(
    const stream_id& stream, std::uint64_t from_version,
    const std::function<void(const recorded_event&)>& fn) {
  return impl_->query(
      sql_read_stream,
      [&](sq::statement& st) {
        st.bind(1, stream.view()).bind(2, clamp_u64(from_version)).bind(3, std::int64_t{-1});
      },
      [&](session& s, sq::statement& st) {
        return impl_->scan(s, st, "reading stream '" + stream.str() + "'", fn);
      });
}

result<std::vector<recorded_event>> sqlite_store::do_read_all(position after, std::size_t limit,
                                                              const type_filter& types) {
  if (types.empty())
    return impl_->query(
        sql_read_all,
        [&](sq::statement& st) { st.bind(1, clamp_u64(after.global())).bind(2, to_limit(limit)); },
        [&](session& s, sq::statement& st) {
          return impl_->collect(s, st, "reading the global log");
        });
  auto r = impl_->reader();
  if (!r) return std::move(r).error();
  // One walk of events_by_type per type, each stopping after `limit`
  // positions; the events are then fetched by position in order. A plain
  // `type_key IN (...) ORDER BY position` would collect and sort every
  // later match on each call, which makes a catch-up quadratic; it is kept
  // only for filters of very many types (SQLite caps a compound SELECT at
  // 500 terms). Type keys are integers, so they are written into the SQL.
  std::vector<std::int64_t> keys;
  for (const auto& name : types) {
    auto key = impl_->type_key(**r, name, false, nullptr);
    if (!key) return std::move(key).error();
    if (*key != 0) keys.push_back(*key);
  }
  if (keys.empty()) return std::vector<recorded_event>{};
  constexpr std::size_t max_walks = 64;
  std::string where;
  if (keys.size() <= max_walks) {
    for (const auto key : keys) {
      if (!where.empty()) where += " UNION ALL ";
      where += "SELECT position FROM (SELECT position FROM events WHERE type_key = " +
               std::to_string(key) + " AND position > ?1 ORDER BY position LIMIT ?2)";
    }
    where = "e.position IN (" + where + ")";
  } else {
    for (const auto key : keys)
      where += (where.empty() ? "" : ",") + std::to_string(key);
    where = "e.position > ?1 AND e.type_key IN (" + where + ")";
  }
  const std::string sql = "SELECT " FACTUM_EVENT_COLUMNS
                          "FROM events e JOIN streams s ON s.stream_key = e.stream_key WHERE " +
                          where + " ORDER BY e.position LIMIT ?2";
  auto st = (*r)->conn.prepare(sql);
  if (!st) return std::move(st).error();
  st->bind(1, clamp_u64(after.global())).bind(2, to_limit(limit));
  return impl_->collect(**r, *st, "reading the global log");
}

result<std::uint64_t> sqlite_store::do_stream_version(const stream_id& stream) {
  auto r = impl_->reader();
  if (!r) return std::move(r).error();
  auto v = (*r)->scalar(
      sql_stream_version, [&](sq::statement& st) { st.bind(1, stream.view()); },
      "reading the version of '" + stream.str() + "'");
  if (!v) return std::move(v).error();
  return static_cast<std::uint64_t>(*v);
}

result<std::vector<stream_info>> sqlite_store::do_streams(std::string_view prefix,
                                                          std::size_t limit) {
  return impl_->query(
      sql_streams, [&](sq::statement& st) { st.bind(1, prefix); },
      [&](session& s, sq::statement& st) -> result<std::vector<stream_info>> {
        std::vector<stream_info> out;
        while (out.size() < limit) {
          const int rc = st.step();
          if (rc == SQLITE_DONE) break;
          if (rc != SQLITE_ROW) return s.conn.fail(rc, "listing streams");
          const std::string_view name = st.text(0);
          if (!name.starts_with(prefix)) break;
          out.push_back({stream_id{name}, static_cast<std::uint64_t>(st.int64(1)),
                         static_cast<std::uint64_t>(st.int64(2)), from_ns(st.int64(3))});
        }
        return out;
      });
}

result<position> sqlite_store::head() {
  auto r = impl_->reader();
  if (!r) return std::move(r).error();
  auto v = (*r)->scalar(
      sql_max_position, [](auto&) {}, "reading the log head");
  if (!v) return std::move(v).error();
  return position::at(static_cast<std::uint64_t>(*v));
}

result<void> sqlite_store::do_save_snapshot(const snapshot& s) {
  auto r = impl_->write(
      sql_snapshot_save,
      [&](sq::statement& st) {
        st.bind(1, s.stream.view()).bind(2, clamp_u64(s.version));
        st.bind(3, static_cast<std::int64_t>(s.schema_version));
        st.bind_blob(4, {reinterpret_cast<const std::uint8_t*>(s.state.data()), s.state.size()});
        st.bind(5, to_ns(s.taken_at));
      },
      "saving a snapshot of '" + s.stream.str() + "'");
  if (!r) return std::move(r).error();
  return {};
}

result<std::optional<snapshot>> sqlite_store::do_load_snapshot(const stream_id& stream,
                                                               std::uint32_t schema_version,
                                                               std::uint64_t max_version) {
  return impl_->query(
      sql_snapshot_load,
      [&](sq::statement& st) {
        st.bind(1, stream.view()).bind(2, static_cast<std::int64_t>(schema_version));
        st.bind(3, clamp_u64(max_version));
      },
      [&](session& s, sq::statement& st) -> result<std::optional<snapshot>> {
        const int rc = st.step();
        if (rc == SQLITE_DONE) return std::optional<snapshot>{};
        if (rc != SQLITE_ROW)
          return s.conn.fail(rc, "loading a snapshot of '" + stream.str() + "'");
        const auto state = st.blob(2);
        return std::optional<snapshot>{
            snapshot{stream, static_cast<std::uint64_t>(st.int64(0)),
                     static_cast<std::uint32_t>(st.int64(1)),
                     std::string(reinterpret_cast<const char*>(state.data()), state.size()),
                     from_ns(st.int64(3))}};
      });
}

result<void> sqlite_store::do_save_checkpoint(std::string_view subscriber, const position& p) {
  const std::string text = p.to_string();
  auto r = impl_->write(
      sql_checkpoint_save, [&](sq::statement& st) { st.bind(1, subscriber).bind(2, text); },
      "saving the checkpoint of '" + std::string(subscriber) + "'");
  if (!r) return std::move(r).error();
  return {};
}

result<std::optional<position>> sqlite_store::do_load_checkpoint(std::string_view subscriber) {
  return impl_->query(
      sql_checkpoint_load, [&](sq::statement& st) { st.bind(1, subscriber); },
      [&](session& s, sq::statement& st) -> result<std::optional<position>> {
        const int rc = st.step();
        if (rc == SQLITE_DONE) return std::optional<position>{};
        if (rc != SQLITE_ROW) return s.conn.fail(rc, "loading a checkpoint");
        auto p = detail::stored_checkpoint(subscriber, st.text(0));
        if (!p) return std::move(p).error();
        return std::optional<position>{*p};
      });
}

result<std::vector<std::pair<std::string, position>>> sqlite_store::checkpoints() {
  using list = std::vector<std::pair<std::string, position>>;
  return impl_->query(
      sql_checkpoint_all, [](sq::statement&) {},
      [&](session& s, sq::statement& st) -> result<list> {
        list out;
        for (;;) {
          const int rc = st.step();
          if (rc == SQLITE_DONE) return out;
          if (rc != SQLITE_ROW) return s.conn.fail(rc, "listing checkpoints");
          auto p = detail::stored_checkpoint(st.text(0), st.text(1));
          if (!p) return std::move(p).error();
          out.emplace_back(std::string(st.text(0)), *p);
        }
      });
}

result<std::optional<command_record>> sqlite_store::load_command(command_id id) {
  return impl_->query(
      sql_command_select, [&](sq::statement& st) { st.bind_blob(1, id.bytes()); },
      [&](session& s, sq::statement& st) -> result<std::optional<command_record>> {
        const int rc = st.step();
        if (rc == SQLITE_DONE) return std::optional<command_record>{};
        if (rc != SQLITE_ROW) return s.conn.fail(rc, "loading command " + id.to_string());
        auto res = detail::decode_command_record(st.text(0));
        if (!res) return std::move(res).error();
        return std::optional<command_record>{std::move(*res)};
      });
}

result<std::uint64_t> sqlite_store::do_add_dead_letter(const dead_letter& letter) {
  if (auto e = impl_->reentered()) return *e;
  impl::write_lock lock{*impl_};
  auto& w = impl_->writer;
  if (impl_->read_only)
    return error{errc::storage_read_only, "'" + impl_->file.string() + "' is open read-only"};
  {
    auto st = w.stmt(sql_event_id_at);
    if (!st) return std::move(st).error();
    sq::reset_guard guard{**st};
    (*st)->bind(1, clamp_u64(letter.event.global_position));
    const int rc = (*st)->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return w.conn.fail(rc, "adding a dead letter");
    if (rc == SQLITE_DONE || uuid_from((*st)->blob(0)) != letter.event.id)
      return error{errc::not_found, "the dead letter's event is not stored (global position " +
                                        std::to_string(letter.event.global_position) + ")"};
  }
  auto st = w.stmt(sql_dead_letter_add);
  if (!st) return std::move(st).error();
  sq::reset_guard guard{**st};
  (*st)->bind(1, letter.subscriber).bind(2, clamp_u64(letter.event.global_position));
  (*st)->bind(3, letter.error).bind(4, static_cast<std::int64_t>(letter.attempts));
  (*st)->bind(5, to_ns(letter.failed_at)).bind(6, std::int64_t{letter.parks_stream ? 1 : 0});
  if (const int rc = (*st)->step(); rc != SQLITE_DONE)
    return w.conn.fail(rc, "adding a dead letter");
  return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(w.conn.get()));
}

result<std::vector<dead_letter>> sqlite_store::do_dead_letters(std::string_view subscriber) {
  return impl_->query(
      impl_->schema == 1 ? sql_dead_letter_list_v1 : sql_dead_letter_list,
      [&](sq::statement& st) { st.bind(1, subscriber); },
      [&](session& s, sq::statement& st) -> result<std::vector<dead_letter>> {
        std::vector<dead_letter> out;
        impl::row_cache cache;
        for (;;) {
          const int rc = st.step();
          if (rc == SQLITE_DONE) return out;
          if (rc != SQLITE_ROW) return s.conn.fail(rc, "listing dead letters");
          dead_letter& d = out.emplace_back();
          if (auto ok = impl_->decode_event(s, st, d.event, cache); !ok)
            return std::move(ok).error();
          constexpr int c = event_column_count;
          d.id = static_cast<std::uint64_t>(st.int64(c));
          d.subscriber = std::string(st.text(c + 1));
          d.error = std::string(st.text(c + 2));
          d.attempts = static_cast<std::uint32_t>(st.int64(c + 3));
          d.failed_at = from_ns(st.int64(c + 4));
          d.parks_stream = st.int64(c + 5) != 0;
        }
      });
}

result<void> sqlite_store::remove_dead_letter(std::uint64_t id) {
  auto r = impl_->write(
      sql_dead_letter_remove, [&](sq::statement& st) { st.bind(1, clamp_u64(id)); },
      "removing a dead letter");
  if (!r) return std::move(r).error();
  if (*r == 0) return error{errc::not_found, "no dead letter " + std::to_string(id)};
  return {};
}

}  // namespace factum
