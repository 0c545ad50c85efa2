// The PostgreSQL event store. Schema, the append function and the reasons
// for them: docs/postgres.md.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <limits>
#include <map>
#include <mutex>
#include <poll.h>
#include <thread>

#include <factum/core/detail/json_text.hpp>
#include <factum/store/postgres_store.hpp>

#include "postgres/pg.hpp"
#include "store_records.hpp"

namespace factum {

namespace pg = detail::pg;

namespace {

using param = std::optional<std::string_view>;

// Every migration runs once, in order, in one transaction with the version
// it brings; none drops or rewrites what an earlier one stored. `{s}` is
// the quoted schema name.
constexpr const char* migrations[] = {
    // 1: the log, streams, snapshots, checkpoints, command records.
    R"sql(
CREATE TABLE {s}.head(id int PRIMARY KEY CHECK (id = 1), position bigint NOT NULL);
INSERT INTO {s}.head(id, position) VALUES (1, 0);
CREATE TABLE {s}.streams(
  name text COLLATE "C" PRIMARY KEY,
  version bigint NOT NULL,
  last_position bigint NOT NULL,
  last_recorded_at bigint NOT NULL);
CREATE TABLE {s}.events(
  position bigint PRIMARY KEY,
  stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  schema_version int NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  data text NOT NULL,
  correlation_id uuid,
  causation_id uuid,
  created_at bigint NOT NULL,
  recorded_at bigint NOT NULL,
  user_metadata text,
  UNIQUE (stream, version));
CREATE TABLE {s}.snapshots(
  stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  schema_version int NOT NULL,
  state bytea NOT NULL,
  taken_at bigint NOT NULL,
  PRIMARY KEY (stream, version));
CREATE TABLE {s}.checkpoints(subscriber text PRIMARY KEY, position text NOT NULL);
CREATE TABLE {s}.commands(command_id uuid PRIMARY KEY, result text NOT NULL,
                          recorded_at bigint NOT NULL);
)sql",
    // 2: the read side: reads by event type, dead letters.
    R"sql(
CREATE INDEX events_by_type ON {s}.events(type, position);
CREATE TABLE {s}.dead_letters(
  id bigserial PRIMARY KEY,
  subscriber text NOT NULL,
  position bigint NOT NULL REFERENCES {s}.events(position),
  error text NOT NULL,
  attempts int NOT NULL,
  failed_at bigint NOT NULL);
)sql",
    // 3: a dead letter may park its stream for its subscriber.
    R"sql(
ALTER TABLE {s}.dead_letters ADD COLUMN parks_stream boolean NOT NULL DEFAULT false;
)sql",
};
static_assert(std::size(migrations) == postgres_store::schema_version);

// The functions are replaced (CREATE OR REPLACE) when the recorded
// `functions` version is older than this build's: they hold no data.
// 3: conditions (writes without events) insert nothing and leave the streams
// row alone; the command record keeps every stream and the command's digest.
// 4: user metadata comes as a JSON object (as a string, JSON in JSON, from
// builds before it, which this function still takes).
constexpr int functions_version = 4;

// One batch of appends: takes the head row's lock (serialising appends from
// every node), then answers each request in order, as if appended alone:
//   'recorded' + stored record  the command id was recorded before: the
//                               caller matches it (detail::match_command)
//   'replay'                    an event id is stored: the caller decides
//   'conflict' + stream/expected/actual (tab separated)
//   'ok' + record               written
// A write without events is a condition: checked as any write, and it
// inserts no event and does not touch its streams row; its range is empty.
// and finally moves the head and notifies listeners (delivered at commit).
constexpr const char* functions_sql = R"sql(
CREATE OR REPLACE FUNCTION {s}.append_batch(batch jsonb)
RETURNS TABLE(status text, detail text) LANGUAGE plpgsql AS $fn$
DECLARE
  v_req jsonb;
  v_w jsonb;
  v_head bigint;
  v_first bigint;
  v_base bigint;
  v_count bigint;
  v_expected bigint;
  v_actual bigint;
  v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000;
  v_ranges jsonb;
  v_result text;
  v_conflict text;
  v_wrote boolean := false;
  v_stored boolean;
  v_id uuid;
  v_versions bigint[];
  v_i int;
BEGIN
  SELECT h.position INTO v_head FROM {s}.head h WHERE h.id = 1 FOR UPDATE;
  FOR v_req IN SELECT r.value FROM jsonb_array_elements(batch) r LOOP
    IF v_req->>'cmd' IS NOT NULL THEN
      SELECT c.result INTO v_result FROM {s}.commands c WHERE c.command_id = (v_req->>'cmd')::uuid;
      IF FOUND THEN
        status := 'recorded'; detail := v_result; RETURN NEXT; CONTINUE;
      END IF;
    END IF;
    -- One index probe per event id: a set-based IN (...) was planned as a
    -- scan of the whole table on a young one, and the cached plan stayed.
    v_stored := false;
    FOR v_id IN SELECT (e.value->>'id')::uuid FROM jsonb_array_elements(v_req->'w') w,
                       jsonb_array_elements(w.value->'e') e LOOP
      PERFORM 1 FROM {s}.events ev WHERE ev.event_id = v_id;
      IF FOUND THEN v_stored := true; EXIT; END IF;
    END LOOP;
    IF v_stored THEN
      status := 'replay'; detail := NULL; RETURN NEXT; CONTINUE;
    END IF;
    v_conflict := NULL;
    v_versions := '{}';
    FOR v_w IN SELECT w.value FROM jsonb_array_elements(v_req->'w') w LOOP
      SELECT st.version INTO v_actual FROM {s}.streams st WHERE st.name = v_w->>'s';
      IF NOT FOUND THEN v_actual := 0; END IF;
      v_versions := v_versions || v_actual;
      v_expected := (v_w->>'x')::bigint;
      IF NOT (v_expected = -1 OR (v_expected = -2 AND v_actual = 0)
              OR (v_expected = -3 AND v_actual > 0) OR v_expected = v_actual) THEN
        v_conflict := (v_w->>'s') || E'\t' || v_expected || E'\t' || v_actual;
        EXIT;
      END IF;
    END LOOP;
    IF v_conflict IS NOT NULL THEN
      status := 'conflict'; detail := v_conflict; RETURN NEXT; CONTINUE;
    END IF;
    v_first := v_head + 1;
    v_ranges := '[]'::jsonb;
    v_i := 0;
    FOR v_w IN SELECT w.value FROM jsonb_array_elements(v_req->'w') w LOOP
      v_i := v_i + 1;
      v_base := v_versions[v_i];  -- read by the check above, under the head lock
      v_count := jsonb_array_length(v_w->'e');
      IF v_count > 0 THEN
        INSERT INTO {s}.events(position, stream, version, type, schema_version, event_id, data,
                               correlation_id, causation_id, created_at, recorded_at, user_metadata)
        SELECT v_head + e.ord, v_w->>'s', v_base + e.ord, e.value->>'t', (e.value->>'v')::int,
               (e.value->>'id')::uuid, e.value->>'d', (e.value->>'c')::uuid, (e.value->>'k')::uuid,
               (e.value->>'at')::bigint, v_now,
               CASE jsonb_typeof(e.value->'u') WHEN 'object' THEN (e.value->'u')::text
                                               ELSE e.value->>'u' END
        FROM jsonb_array_elements(v_w->'e') WITH ORDINALITY AS e(value, ord);
        INSERT INTO {s}.streams AS st(name, version, last_position, last_recorded_at)
        VALUES (v_w->>'s', v_base + v_count, v_head + v_count, v_now)
        ON CONFLICT (name) DO UPDATE SET version = excluded.version,
          last_position = excluded.last_position, last_recorded_at = excluded.last_recorded_at;
      END IF;
      v_ranges := v_ranges || jsonb_build_array(jsonb_build_array(v_w->>'s', v_base + 1,
                                                                  v_base + v_count));
      v_head := v_head + v_count;
    END LOOP;
    v_result := jsonb_build_object('streams', v_ranges, 'first', v_first, 'last', v_head,
                                   'digest', coalesce(v_req->'dg', '0'::jsonb))::text;
    IF v_req->>'cmd' IS NOT NULL THEN
      INSERT INTO {s}.commands(command_id, result, recorded_at)
      VALUES ((v_req->>'cmd')::uuid, v_result, v_now);
    END IF;
    v_wrote := true;
    status := 'ok'; detail := v_result; RETURN NEXT;
  END LOOP;
  IF v_wrote THEN
    UPDATE {s}.head h SET position = v_head WHERE h.id = 1;
    PERFORM pg_notify({channel}, v_head::text);
  END IF;
END
$fn$;
)sql";

std::string replace_all(std::string text, std::string_view what, std::string_view with) {
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
  return text;
}

std::string sql_literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + '\'';
}

std::int64_t to_ns(timestamp t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

timestamp from_ns(std::int64_t ns) {
  return timestamp{std::chrono::duration_cast<timestamp::duration>(std::chrono::nanoseconds{ns})};
}

std::string limit_text(std::size_t limit) {
  return limit >= static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::string("ALL")
             : std::to_string(limit);
}

std::string u64(std::uint64_t v) {
  return std::to_string(std::min<std::uint64_t>(v, std::numeric_limits<std::int64_t>::max()));
}

/// `{"a","b"}`: a text[] literal.
std::string text_array(const type_filter& types) {
  std::string out = "{";
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : types[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + '}';
}

/// Appends one request to the JSON batch `append_batch` takes.
void encode_request(std::string& out, const append_request& r) {
  out += "{\"cmd\":";
  if (r.options.command)
    detail::write_string(out, r.options.command->to_string());
  else
    out += "null";
  out += ",\"dg\":";
  out += std::to_string(r.options.command_digest);
  out += ",\"w\":[";
  for (std::size_t i = 0; i < r.writes.size(); ++i) {
    const auto& w = r.writes[i];
    if (i) out += ',';
    out += "{\"s\":";
    detail::write_string(out, w.stream.view());
    out += ",\"x\":";
    // -1 any, -2 no_stream, -3 stream_exists, or the exact version
    out += w.expected.is_exact()   ? std::to_string(w.expected.value())
           : w.expected.is_any()   ? std::string("-1")
           : w.expected.matches(0) ? std::string("-2")
                                   : std::string("-3");
    out += ",\"e\":[";
    for (std::size_t k = 0; k < w.events.size(); ++k) {
      const auto& e = w.events[k];
      if (k) out += ',';
      out += "{\"id\":\"";
      out += e.id.to_string();
      out += "\",\"t\":";
      detail::write_string(out, e.type);
      out += ",\"v\":";
      out += std::to_string(e.schema_version);
      out += ",\"d\":";
      detail::write_string(out, e.data);
      if (!e.metadata.correlation_id.is_nil()) {
        out += ",\"c\":\"";
        out += e.metadata.correlation_id.to_string();
        out += '"';
      }
      if (!e.metadata.causation_id.is_nil()) {
        out += ",\"k\":\"";
        out += e.metadata.causation_id.to_string();
        out += '"';
      }
      out += ",\"at\":";
      out += std::to_string(to_ns(e.metadata.created_at));
      if (!e.metadata.user.empty()) {
        // A JSON object, not JSON text in a string: in a string, jsonb
        // would keep the text's own escapes, six bytes for each control
        // character (\u00XX), and 64 MiB of them pass its 255 MiB. Nothing
        // here throws but an allocation (the store checked the UTF-8).
        out += ",\"u\":{";
        bool first = true;
        for (const auto& [k, v] : e.metadata.user) {
          if (!first) out += ',';
          first = false;
          detail::write_string(out, k);
          out += ':';
          detail::write_string(out, v);
        }
        out += '}';
      }
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
}

/// The columns every event read selects, in the order `decode_event` reads them.
#define FACTUM_PG_EVENT_COLUMNS                                                             \
  "e.position, e.version, e.type, e.schema_version, e.event_id, e.data, e.correlation_id, " \
  "e.causation_id, e.created_at, e.recorded_at, e.user_metadata, e.stream"
constexpr int event_columns = 12;

error malformed(const recorded_event& e, std::string_view what) {
  error err{errc::malformed_event, "stream '" + e.stream.str() + "' version " +
                                       std::to_string(e.version) + " at global position " +
                                       std::to_string(e.global_position) + ": " +
                                       std::string(what)};
  err.position = e.global_position;
  return err;
}

uuid uuid_at(const pg::reply& r, int row, int col) {
  if (r.is_null(row, col)) return uuid{};
  return uuid::parse(r.text(row, col)).value_or(uuid{});
}

result<void> decode_event(const pg::reply& r, int row, recorded_event& out) {
  out.global_position = static_cast<std::uint64_t>(r.int64(row, 0));
  out.pos = position::at(out.global_position);
  out.version = static_cast<std::uint64_t>(r.int64(row, 1));
  out.type.assign(r.text(row, 2));
  out.schema_version = static_cast<std::uint32_t>(r.int64(row, 3));
  out.id = uuid_at(r, row, 4);
  if (const std::string_view name = r.text(row, 11); out.stream.view() != name)
    out.stream = stream_id{name};
  out.data.assign(r.text(row, 5));
  if (!detail::is_valid_json(out.data)) return malformed(out, "data is not valid JSON");
  out.metadata.correlation_id = uuid_at(r, row, 6);
  out.metadata.causation_id = uuid_at(r, row, 7);
  out.metadata.created_at = from_ns(r.int64(row, 8));
  out.recorded_at = from_ns(r.int64(row, 9));
  out.metadata.user.clear();
  if (!r.is_null(row, 10)) {
    const std::string_view user = r.text(row, 10);
    const json j = json::parse(user.begin(), user.end(), nullptr, false);
    if (!j.is_object()) return malformed(out, "user metadata is not a JSON object");
    for (const auto& [k, v] : j.items()) {
      if (!v.is_string()) return malformed(out, "user metadata value is not a string");
      out.metadata.user.emplace(k, v.get<std::string>());
    }
  }
  return {};
}

result<std::vector<recorded_event>> decode_events(const pg::reply& r) {
  std::vector<recorded_event> out(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    if (auto ok = decode_event(r, i, out[static_cast<std::size_t>(i)]); !ok)
      return std::move(ok).error();
  return out;
}

}  // namespace

struct postgres_store::impl {
  std::string uri;
  postgres_options options;
  std::string channel;  // LISTEN name: the schema's

  // Statements, with the schema filled in.
  std::string sql_append, sql_read_stream, sql_read_all, sql_read_all_types, sql_version,
      sql_streams, sql_head, sql_snapshot_save, sql_snapshot_load, sql_checkpoint_save,
      sql_checkpoint_load, sql_checkpoint_all, sql_command, sql_event_by_id, sql_dead_add,
      sql_dead_list, sql_dead_remove;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<pg::connection>> idle;

  // The listener: one connection, LISTEN, a thread that wakes the watchers.
  std::mutex watch_mutex;
  std::map<std::uint64_t, std::function<void()>> watchers;
  std::uint64_t next_watcher = 0;
  std::thread listener;
  std::atomic<bool> stopping{false};
  std::chrono::steady_clock::time_point opened_at = std::chrono::steady_clock::now();

  ~impl() {
    stopping = true;
    if (listener.joinable()) listener.join();
  }

  [[nodiscard]] std::string with_schema(std::string_view sql) const {
    return replace_all(replace_all(std::string(sql), "{s}", pg::quote_ident(options.schema)),
                       "{channel}", sql_literal(channel));
  }

  void prepare_statements() {
    const auto s = [&](std::string_view sql) { return with_schema(sql); };
    sql_append = s("SELECT status, detail FROM {s}.append_batch($1::jsonb)");
    sql_read_stream = s("SELECT " FACTUM_PG_EVENT_COLUMNS
                        " FROM {s}.events e WHERE e.stream = $1 AND e.version >= $2::bigint"
                        " ORDER BY e.version LIMIT ");
    sql_read_all = s("SELECT " FACTUM_PG_EVENT_COLUMNS
                     " FROM {s}.events e WHERE e.position > $1::bigint"
                     " ORDER BY e.position LIMIT ");
    sql_read_all_types =
        s("SELECT " FACTUM_PG_EVENT_COLUMNS
          " FROM {s}.events e WHERE e.position > $1::bigint AND e.type = ANY($2::text[])"
          " ORDER BY e.position LIMIT ");
    sql_version = s("SELECT version FROM {s}.streams WHERE name = $1");
    sql_streams =
        s("SELECT name, version, last_position, last_recorded_at FROM {s}.streams"
          " WHERE name >= $1 AND starts_with(name, $1) ORDER BY name LIMIT ");
    sql_head = s("SELECT position FROM {s}.head WHERE id = 1");
    sql_snapshot_save =
        s("INSERT INTO {s}.snapshots(stream, version, schema_version, state, taken_at)"
          " VALUES ($1, $2::bigint, $3::int, $4::bytea, $5::bigint)"
          " ON CONFLICT (stream, version) DO UPDATE SET schema_version = excluded.schema_version,"
          " state = excluded.state, taken_at = excluded.taken_at");
    sql_snapshot_load =
        s("SELECT version, schema_version, state, taken_at FROM {s}.snapshots"
          " WHERE stream = $1 AND schema_version = $2::int AND version <= $3::bigint"
          " ORDER BY version DESC LIMIT 1");
    sql_checkpoint_save =
        s("INSERT INTO {s}.checkpoints(subscriber, position) VALUES ($1, $2)"
          " ON CONFLICT (subscriber) DO UPDATE SET position = excluded.position");
    sql_checkpoint_load = s("SELECT position FROM {s}.checkpoints WHERE subscriber = $1");
    sql_checkpoint_all = s("SELECT subscriber, position FROM {s}.checkpoints ORDER BY subscriber");
    sql_command = s("SELECT result FROM {s}.commands WHERE command_id = $1::uuid");
    sql_event_by_id =
        s("SELECT " FACTUM_PG_EVENT_COLUMNS " FROM {s}.events e WHERE e.event_id = $1::uuid");
    sql_dead_add =
        s("INSERT INTO {s}.dead_letters(subscriber, position, error, attempts, failed_at,"
          " parks_stream) SELECT $1, e.position, $3, $4::int, $5::bigint, $7::boolean"
          " FROM {s}.events e"
          " WHERE e.position = $2::bigint AND e.event_id = $6::uuid RETURNING id");
    sql_dead_list = s("SELECT " FACTUM_PG_EVENT_COLUMNS
                      ", d.id, d.subscriber, d.error, d.attempts, d.failed_at, d.parks_stream"
                      " FROM {s}.dead_letters d JOIN {s}.events e ON e.position = d.position"
                      " WHERE $1 = '' OR d.subscriber = $1 ORDER BY d.id");
    sql_dead_remove = s("DELETE FROM {s}.dead_letters WHERE id = $1::bigint");
  }

  // ---- connections ----

  /// A new connection; what may heal is tried again until `deadline` (the
  /// default: once).
  result<std::unique_ptr<pg::connection>> connect(
      std::chrono::steady_clock::time_point deadline = {}) {
    auto c = std::make_unique<pg::connection>();
    if (auto r = c->open(uri, options.statement_timeout, deadline); !r) return std::move(r).error();
    return c;
  }

  /// A pooled connection, given back when it goes out of scope, unless lost
  /// or not idle: one left in a transaction (an exception passed between
  /// BEGIN and its end) is closed, and the server rolls it back.
  struct lease {
    impl* owner;
    std::unique_ptr<pg::connection> c;
    lease(impl* o, std::unique_ptr<pg::connection> p) : owner(o), c(std::move(p)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (!c || c->lost() || !c->idle()) return;
      std::lock_guard lock(owner->pool_mutex);
      // `idle` holds pool_size slots from the start: no allocation here.
      if (owner->idle.size() < owner->options.pool_size) owner->idle.push_back(std::move(c));
    }
    pg::connection* operator->() const { return c.get(); }
    pg::connection& operator*() const { return *c; }
  };

  result<lease> acquire(std::chrono::steady_clock::time_point deadline) {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        lease l{this, std::move(idle.back())};
        idle.pop_back();
        return l;
      }
    }
    auto c = connect(deadline);
    if (!c) return std::move(c).error();
    return lease{this, std::move(*c)};
  }

  /// Runs `fn(connection&)`, reconnecting with backoff for `reconnect_for`
  /// while the connection or the server is what fails. `resend`: the call
  /// may be sent again after a connection broke under it (it is idempotent).
  template <class F>
  auto run(F&& fn, bool resend = true) -> decltype(fn(std::declval<pg::connection&>())) {
    const auto deadline = std::chrono::steady_clock::now() + options.reconnect_for;
    pg::backoff wait;
    for (;;) {
      // Opening retries what may heal until the deadline, and nothing else.
      auto c = acquire(deadline);
      if (!c) return std::move(c).error();
      auto r = fn(**c);
      if (r || !(*c)->lost() || !resend) return r;
      if (std::chrono::steady_clock::now() >= deadline) return r;
      // A pooled connection may be stale after a server restart: drop them all.
      {
        std::lock_guard lock(pool_mutex);
        idle.clear();
      }
      wait.sleep();
    }
  }

  // ---- schema ----

  result<void> ensure_schema() {
    // A server still starting (or restarting) is waited for, as on any call;
    // a refusal that cannot heal (no such database) fails at once.
    auto c = connect(opened_at + options.reconnect_for);
    if (!c) return std::move(c).error();
    pg::connection& conn = **c;
    const std::string schema_lit = sql_literal(options.schema);
    // One node migrates at a time; the others wait and then find it done.
    // No statement timeout here: waiting for another node's migration, or
    // building an index over a large log, may take long.
    if (auto r = conn.exec("BEGIN; SET LOCAL statement_timeout = 0; SELECT "
                           "pg_advisory_xact_lock(hashtextextended(" +
                               schema_lit + " || '/factum.migrate', 0))",
                           "locking the schema for migration");
        !r)
      return r;
    auto done = [&](result<void> r) -> result<void> {
      if (r) r = conn.exec("COMMIT", "committing the schema migration");
      if (!r) (void)conn.exec("ROLLBACK", "migrating the schema");
      return r;
    };
    auto exists = conn.query(
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1),"
        " (SELECT count(*) FROM pg_tables WHERE schemaname = $1),"
        " (SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'meta')",
        {param{options.schema}}, "reading the schema");
    if (!exists) return done(std::move(exists).error());
    const bool has_schema = exists->int64(0, 0) > 0;
    const std::int64_t tables = exists->int64(0, 1);
    const bool has_meta = exists->int64(0, 2) > 0;
    const std::string where = "schema '" + options.schema + "'";
    if (tables > 0 && !has_meta)
      return done(error{errc::schema_mismatch,
                        where + " holds tables but is not a factum store (no meta table)"});
    std::int64_t version = 0;
    std::int64_t functions = 0;
    if (has_meta) {
      auto v = conn.query(with_schema("SELECT key, value FROM {s}.meta").c_str(), {},
                          "reading the schema version");
      if (!v) return done(std::move(v).error());
      for (int i = 0; i < v->rows(); ++i) {
        std::int64_t n = 0;
        const auto text = v->text(i, 1);
        std::from_chars(text.data(), text.data() + text.size(), n);
        if (v->text(i, 0) == "schema_version") version = n;
        if (v->text(i, 0) == "functions") functions = n;
      }
      if (version <= 0)
        return done(error{errc::schema_mismatch, where + " has a meta table without a version"});
    }
    if (version > static_cast<std::int64_t>(schema_version))
      return done(error{errc::schema_mismatch,
                        where + " has factum schema " + std::to_string(version) +
                            ", this build knows schema " + std::to_string(schema_version)});
    // Functions are replaced when older than this build's, never by an
    // older build (a node not yet upgraded, restarting mid-rollout).
    if (version < static_cast<std::int64_t>(schema_version) || functions < functions_version) {
      if (!options.migrate)
        return done(error{errc::schema_mismatch,
                          where + " has factum schema " + std::to_string(version) +
                              " and migrations are off (postgres_options::migrate)"});
      std::string script;
      if (!has_schema) script += with_schema("CREATE SCHEMA {s};");
      if (!has_meta)
        script += with_schema("CREATE TABLE {s}.meta(key text PRIMARY KEY, value text NOT NULL);");
      for (auto v = version; v < static_cast<std::int64_t>(schema_version); ++v)
        script += with_schema(migrations[v]);
      script += with_schema(functions_sql);
      script += with_schema("INSERT INTO {s}.meta(key, value) VALUES ('schema_version', '" +
                            std::to_string(schema_version) + "'), ('functions', '" +
                            std::to_string(functions_version) +
                            "') ON CONFLICT (key) DO UPDATE SET value = excluded.value;");
      if (auto r =
              conn.exec(script, "migrating " + where + " from version " + std::to_string(version) +
                                    " to " + std::to_string(schema_version));
          !r)
        return done(r);
    }
    return done({});
  }

  // ---- appending ----

  result<std::optional<recorded_event>> stored_event(pg::connection& c, const event_id& id) {
    const std::string text = id.to_string();
    auto r = c.query(sql_event_by_id.c_str(), {param{text}}, "looking up event " + text);
    if (!r) return std::move(r).error();
    if (r->rows() == 0) return std::optional<recorded_event>{};
    recorded_event e;
    if (auto ok = decode_event(*r, 0, e); !ok) return std::move(ok).error();
    return std::optional<recorded_event>{std::move(e)};
  }

  /// The encoded requests one call of `append_batch` carries, at most
  /// (bytes of JSON text; a request larger than that goes alone). PostgreSQL
  /// takes 1 GiB in one message and about 255 MiB in one jsonb value; one
  /// request holds at most 64 MiB of data and metadata (`store_limits`),
  /// which its encoding may make twice as long.
  static constexpr std::size_t max_call_bytes = std::size_t{128} << 20;

  /// Sends the batch in calls of at most `max_call_bytes`, one after the
  /// other, each its own transaction: a request sees what earlier ones wrote
  /// in any call. A request that cannot be encoded (an allocation failed)
  /// fails alone; a call that fails as a whole (its statement timed out, the
  /// server went away) fails its requests, and the later ones are not sent.
  std::vector<result<append_result>> append_batch(std::span<const append_request> requests) {
    std::vector<result<append_result>> out(requests.size());
    std::vector<std::size_t> part;  // the requests of the call being built
    std::string batch;
    std::optional<error> stopped;  // the call that failed as a whole
    const auto send = [&] {
      batch += ']';
      auto rows = run([&](pg::connection& c) {
        return c.query(sql_append.c_str(), {param{batch}}, "appending");
      });
      if (rows) {
        answer(*rows, requests, part, out);
      } else {
        for (const std::size_t i : part)
          out[i] = rows.error();
        stopped = rows.error();
      }
      part.clear();
      batch.clear();
    };
    std::size_t i = 0;
    for (; i < requests.size() && !stopped; ++i) {
      // What request i adds to the call, before escaping: its calls stay
      // near max_call_bytes, and under PostgreSQL's limits.
      std::size_t estimate = 256;
      for (const auto& w : requests[i].writes)
        for (const auto& e : w.events) {
          estimate += e.data.size() + e.type.size() + 256;
          for (const auto& [k, v] : e.metadata.user)
            estimate += k.size() + v.size() + 8;
        }
      if (!part.empty() && batch.size() + estimate > max_call_bytes) send();
      if (stopped) break;  // request i is not sent
      const std::size_t mark = batch.size();
      try {
        batch += part.empty() ? '[' : ',';
        encode_request(batch, requests[i]);
        part.push_back(i);
      } catch (const std::exception& e) {
        batch.resize(mark);  // shrinking does not allocate
        out[i] = error{errc::storage_io,
                       std::string("encoding an append: ") +
                           (dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory" : e.what())};
      }
    }
    if (!part.empty() && !stopped) send();
    for (; i < requests.size(); ++i)
      out[i] = error{stopped->code(),
                     "not sent: an earlier part of the batch failed: " + stopped->context()};
    return out;
  }

  /// Turns the rows of one call into the answers of its requests `part`.
  void answer(const pg::reply& rows, std::span<const append_request> requests,
              std::span<const std::size_t> part, std::vector<result<append_result>>& out) {
    if (static_cast<std::size_t>(rows.rows()) != part.size()) {
      for (const std::size_t i : part)
        out[i] =
            error{errc::storage_corrupt, "append_batch answered " + std::to_string(rows.rows()) +
                                             " of " + std::to_string(part.size())};
      return;
    }
    for (std::size_t k = 0; k < part.size(); ++k) {
      const std::size_t i = part[k];
      const int row = static_cast<int>(k);
      const std::string_view status = rows.text(row, 0);
      const auto& writes = requests[i].writes;
      if (status == "ok") {
        auto r = detail::decode_command_record(rows.text(row, 1));
        if (!r)
          out[i] = std::move(r).error();
        else
          out[i] = std::move(r->result);
      } else if (status == "recorded") {
        const auto& options = requests[i].options;
        auto r = detail::decode_command_record(rows.text(row, 1));
        if (!r)
          out[i] = std::move(r).error();
        else
          out[i] = detail::match_command(*r, *options.command, writes, options.command_digest);
      } else if (status == "conflict") {
        const std::string_view d = rows.text(row, 1);
        const auto tab1 = d.find('\t');
        const auto tab2 = d.rfind('\t');
        const std::string_view stream = d.substr(0, tab1);
        std::uint64_t actual = 0;
        std::from_chars(d.data() + tab2 + 1, d.data() + d.size(), actual);
        const auto w = std::find_if(writes.begin(), writes.end(), [&](const stream_write& sw) {
          return sw.stream.view() == stream;
        });
        out[i] = detail::conflict_error(w != writes.end() ? w->stream : stream_id{stream},
                                        w != writes.end() ? w->expected : expected_version::any(),
                                        actual);
      } else {  // replay: stored events never change, so read them after the commit
        out[i] = run([&](pg::connection& c) {
          return detail::replay(writes, [&](const event_id& id) { return stored_event(c, id); });
        });
      }
    }
  }

  // ---- listening ----

  void notify_all() {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard lock(watch_mutex);
      for (auto& [id, fn] : watchers)
        fns.push_back(fn);
    }
    for (auto& fn : fns)
      fn();
  }

  void listen_loop() {
    pg::backoff wait;
    bool first = true;
    while (!stopping) {
      auto c = connect();
      if (!c || !(*c)->exec("LISTEN " + pg::quote_ident(channel), "listening")) {
        wait.sleep();
        continue;
      }
      wait = {};
      // Appends may have been missed while (re)connecting: one call covers them.
      if (!first) notify_all();
      first = false;
      PGconn* conn = (*c)->get();
      while (!stopping) {
        pollfd fd{PQsocket(conn), POLLIN, 0};
        const int n = ::poll(&fd, 1, 100);
        if (n < 0) continue;
        if (n == 0) continue;
        if (PQconsumeInput(conn) == 0) break;  // lost: reconnect
        bool any = false;
        while (PGnotify* note = PQnotifies(conn)) {
          any = true;
          PQfreemem(note);
        }
        if (any) notify_all();
      }
    }
  }
};

// ---- ownership ----

namespace {

class pg_ownership final : public ownership {
 public:
  explicit pg_ownership(std::unique_ptr<pg::connection> c) : c_(std::move(c)) {}
  bool held() override {
    if (!c_) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_ < std::chrono::milliseconds{500}) return true;
    checked_ = now;
    if (!c_->exec("SELECT 1", "checking an ownership")) c_.reset();  // the lock went with it
    return c_ != nullptr;
  }

 private:
  std::unique_ptr<pg::connection> c_;
  std::chrono::steady_clock::time_point checked_ = std::chrono::steady_clock::now();
};

}  // namespace

// ---- postgres_store ----

postgres_store::postgres_store(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}
postgres_store::postgres_store(postgres_store&&) noexcept = default;
postgres_store& postgres_store::operator=(postgres_store&&) noexcept = default;
postgres_store::~postgres_store() = default;

result<postgres_store> postgres_store::open(const std::string& uri,
                                            const postgres_options& options) {
  if (options.schema.empty() || options.schema.size() > 50)
    return error{errc::invalid_argument, "a PostgreSQL schema name has 1 to 50 bytes"};
  auto p = std::make_shared<impl>();
  p->uri = uri;
  p->options = options;
  p->options.pool_size = std::max<std::size_t>(1, options.pool_size);
  p->channel = options.schema + ".events";
  p->prepare_statements();
  p->idle.reserve(p->options.pool_size);
  if (auto r = p->ensure_schema(); !r) return std::move(r).error();
  return postgres_store{std::move(p)};
}

postgres_store::postgres_store(const std::string& uri, const postgres_options& options)
    : postgres_store(open(uri, options).value()) {}

bool postgres_store::prefers_batches() const noexcept {
  return true;
}

result<append_result> postgres_store::do_append(std::span<const stream_write> writes,
                                                const append_options& options) {
  const append_request request{{writes.begin(), writes.end()}, options};
  return std::move(impl_->append_batch({&request, 1}).front());
}

std::vector<result<append_result>> postgres_store::do_append_batch(
    std::span<const append_request> requests) {
  return impl_->append_batch(requests);
}

result<std::vector<recorded_event>> postgres_store::do_read_stream(const stream_id& stream,
                                                                   std::uint64_t from_version,
                                                                   std::size_t limit) {
  const std::string sql = impl_->sql_read_stream + limit_text(limit);
  const std::string from = u64(from_version);
  return impl_->run([&](pg::connection& c) -> result<std::vector<recorded_event>> {
    auto r = c.query(sql.c_str(), {param{stream.view()}, param{from}},
                     "reading stream '" + stream.str() + "'");
    if (!r) return std::move(r).error();
    return decode_events(*r);
  });
}

result<std::vector<recorded_event>> postgres_store::do_read_all(position after, std::size_t limit,
                                                                const type_filter& types) {
  const std::string from = u64(after.global());
  const std::string list = text_array(types);
  const std::string sql =
      (types.empty() ? impl_->sql_read_all : impl_->sql_read_all_types) + limit_text(limit);
  return impl_->run([&](pg::connection& c) -> result<std::vector<recorded_event>> {
    auto r = types.empty() ? c.query(sql.c_str(), {param{from}}, "reading the log")
                           : c.query(sql.c_str(), {param{from}, param{list}}, "reading the log");
    if (!r) return std::move(r).error();
    return decode_events(*r);
  });
}

result<std::uint64_t> postgres_store::do_stream_version(const stream_id& stream) {
  return impl_->run([&](pg::connection& c) -> result<std::uint64_t> {
    auto r = c.query(impl_->sql_version.c_str(), {param{stream.view()}}, "reading a version");
    if (!r) return std::move(r).error();
    return r->rows() == 0 ? 0 : static_cast<std::uint64_t>(r->int64(0, 0));
  });
}

result<std::vector<stream_info>> postgres_store::do_streams(std::string_view prefix,
                                                            std::size_t limit) {
  const std::string sql = impl_->sql_streams + limit_text(limit);
  return impl_->run([&](pg::connection& c) -> result<std::vector<stream_info>> {
    auto r = c.query(sql.c_str(), {param{prefix}}, "listing streams");
    if (!r) return std::move(r).error();
    std::vector<stream_info> out;
    for (int i = 0; i < r->rows(); ++i)
      out.push_back({stream_id{r->text(i, 0)}, static_cast<std::uint64_t>(r->int64(i, 1)),
                     static_cast<std::uint64_t>(r->int64(i, 2)), from_ns(r->int64(i, 3))});
    return out;
  });
}

result<position> postgres_store::head() {
  return impl_->run([&](pg::connection& c) -> result<position> {
    auto r = c.query(impl_->sql_head.c_str(), {}, "reading the log head");
    if (!r) return std::move(r).error();
    if (r->rows() == 0) return error{errc::storage_corrupt, "the log head row is missing"};
    return position::at(static_cast<std::uint64_t>(r->int64(0, 0)));
  });
}

result<void> postgres_store::do_save_snapshot(const snapshot& s) {
  const std::string version = u64(s.version);
  const std::string schema = std::to_string(s.schema_version);
  const std::string taken = std::to_string(to_ns(s.taken_at));
  return impl_->run([&](pg::connection& c) -> result<void> {
    const std::array<param, 5> params{param{s.stream.view()}, param{version}, param{schema},
                                      param{s.state}, param{taken}};
    const std::array<int, 1> binary{3};
    auto r = c.query(impl_->sql_snapshot_save.c_str(), params,
                     "saving a snapshot of '" + s.stream.str() + "'", false, binary);
    if (!r) return std::move(r).error();
    return {};
  });
}

result<std::optional<snapshot>> postgres_store::do_load_snapshot(const stream_id& stream,
                                                                 std::uint32_t schema_version,
                                                                 std::uint64_t max_version) {
  const std::string schema = std::to_string(schema_version);
  const std::string max = u64(max_version);
  return impl_->run([&](pg::connection& c) -> result<std::optional<snapshot>> {
    auto r =
        c.query(impl_->sql_snapshot_load.c_str(), {param{stream.view()}, param{schema}, param{max}},
                "loading a snapshot of '" + stream.str() + "'", true);
    if (!r) return std::move(r).error();
    if (r->rows() == 0) return std::optional<snapshot>{};
    return std::optional<snapshot>{
        snapshot{stream, static_cast<std::uint64_t>(r->binary_int64(0, 0)),
                 static_cast<std::uint32_t>(r->binary_int32(0, 1)), std::string(r->text(0, 2)),
                 from_ns(r->binary_int64(0, 3))}};
  });
}

result<void> postgres_store::do_save_checkpoint(std::string_view subscriber, const position& p) {
  const std::string text = p.to_string();
  return impl_->run([&](pg::connection& c) -> result<void> {
    auto r = c.query(impl_->sql_checkpoint_save.c_str(), {param{subscriber}, param{text}},
                     "saving the checkpoint of '" + std::string(subscriber) + "'");
    if (!r) return std::move(r).error();
    return {};
  });
}

result<std::optional<position>> postgres_store::do_load_checkpoint(std::string_view subscriber) {
  return impl_->run([&](pg::connection& c) -> result<std::optional<position>> {
    auto r =
        c.query(impl_->sql_checkpoint_load.c_str(), {param{subscriber}}, "loading a checkpoint");
    if (!r) return std::move(r).error();
    if (r->rows() == 0) return std::optional<position>{};
    auto p = detail::stored_checkpoint(subscriber, r->text(0, 0));
    if (!p) return std::move(p).error();
    return std::optional<position>{*p};
  });
}

result<std::vector<std::pair<std::string, position>>> postgres_store::checkpoints() {
  using list = std::vector<std::pair<std::string, position>>;
  return impl_->run([&](pg::connection& c) -> result<list> {
    auto r = c.query(impl_->sql_checkpoint_all.c_str(), {}, "listing checkpoints");
    if (!r) return std::move(r).error();
    list out;
    for (int i = 0; i < r->rows(); ++i) {
      auto p = detail::stored_checkpoint(r->text(i, 0), r->text(i, 1));
      if (!p) return std::move(p).error();
      out.emplace_back(std::string(r->text(i, 0)), *p);
    }
    return out;
  });
}

result<std::optional<command_record>> postgres_store::load_command(command_id id) {
  const std::string text = id.to_string();
  return impl_->run([&](pg::connection& c) -> result<std::optional<command_record>> {
    auto r = c.query(impl_->sql_command.c_str(), {param{text}}, "reading command records");
    if (!r) return std::move(r).error();
    if (r->rows() == 0) return std::optional<command_record>{};
    auto a = detail::decode_command_record(r->text(0, 0));
    if (!a) return std::move(a).error();
    return std::optional<command_record>{std::move(*a)};
  });
}

result<std::uint64_t> postgres_store::do_add_dead_letter(const dead_letter& letter) {
  const std::string pos = u64(letter.event.global_position);
  const std::string attempts = std::to_string(letter.attempts);
  const std::string failed = std::to_string(to_ns(letter.failed_at));
  const std::string id = letter.event.id.to_string();
  // Not sent again after a broken connection: it might be stored twice.
  return impl_->run(
      [&](pg::connection& c) -> result<std::uint64_t> {
        auto r =
            c.query(impl_->sql_dead_add.c_str(),
                    {param{letter.subscriber}, param{pos}, param{letter.error}, param{attempts},
                     param{failed}, param{id}, param{letter.parks_stream ? "true" : "false"}},
                    "adding a dead letter");
        if (!r) return std::move(r).error();
        if (r->rows() == 0)
          return error{errc::not_found,
                       "the dead letter's event is not stored (global position " + pos + ")"};
        return static_cast<std::uint64_t>(r->int64(0, 0));
      },
      false);
}

result<std::vector<dead_letter>> postgres_store::do_dead_letters(std::string_view subscriber) {
  return impl_->run([&](pg::connection& c) -> result<std::vector<dead_letter>> {
    auto r = c.query(impl_->sql_dead_list.c_str(), {param{subscriber}}, "listing dead letters");
    if (!r) return std::move(r).error();
    std::vector<dead_letter> out(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
      dead_letter& d = out[static_cast<std::size_t>(i)];
      if (auto ok = decode_event(*r, i, d.event); !ok) return std::move(ok).error();
      constexpr int k = event_columns;
      d.id = static_cast<std::uint64_t>(r->int64(i, k));
      d.subscriber = std::string(r->text(i, k + 1));
      d.error = std::string(r->text(i, k + 2));
      d.attempts = static_cast<std::uint32_t>(r->int64(i, k + 3));
      d.failed_at = from_ns(r->int64(i, k + 4));
      d.parks_stream = r->text(i, k + 5) == "t";
    }
    return out;
  });
}

result<void> postgres_store::remove_dead_letter(std::uint64_t id) {
  const std::string text = u64(id);
  return impl_->run([&](pg::connection& c) -> result<void> {
    auto r = c.query(impl_->sql_dead_remove.c_str(), {param{text}}, "removing a dead letter");
    if (!r) return std::move(r).error();
    if (std::string_view(PQcmdTuples(r->get())) == "0")
      return error{errc::not_found, "no dead letter " + std::to_string(id)};
    return {};
  });
}

std::shared_ptr<void> postgres_store::on_append(std::function<void()> fn) {
  if (!impl_->options.listen) return nullptr;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(impl_->watch_mutex);
    id = impl_->next_watcher++;
    impl_->watchers.emplace(id, std::move(fn));
    if (!impl_->listener.joinable())
      impl_->listener = std::thread([p = impl_.get()] { p->listen_loop(); });
  }
  struct token {
    std::weak_ptr<impl> owner;
    std::uint64_t id = 0;
    ~token() {
      if (auto p = owner.lock()) {
        std::lock_guard lock(p->watch_mutex);
        p->watchers.erase(id);
      }
    }
  };
  auto t = std::make_shared<token>();  // in place: a temporary's destructor would unregister
  t->owner = impl_;
  t->id = id;
  return t;
}

result<std::unique_ptr<ownership>> postgres_store::try_own(std::string_view name) {
  auto c = impl_->connect();
  if (!c) return std::move(c).error();
  const std::string key = impl_->options.schema + "/" + std::string(name);
  auto r = (*c)->query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", {param{key}},
                       "claiming '" + std::string(name) + "'");
  if (!r) return std::move(r).error();
  if (r->text(0, 0) != "t") return std::unique_ptr<ownership>{};
  return std::unique_ptr<ownership>(std::make_unique<pg_ownership>(std::move(*c)));
}

}  // namespace factum
