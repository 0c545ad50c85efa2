#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <factum/store/event_store.hpp>

namespace factum {

/// How a `postgres_store` connects and what it does on start.
struct postgres_options {
  /// The PostgreSQL schema (namespace) that holds factum's tables; several
  /// stores may share a database under different schemas.
  std::string schema = "factum";
  /// Connections kept open for appends and reads (more are opened while
  /// more threads call at once, and closed when they come back).
  std::size_t pool_size = 4;
  /// A statement running longer fails with `errc::storage_busy` (0: none).
  std::chrono::milliseconds statement_timeout{30'000};
  /// How long a call keeps reconnecting (with backoff) after the server or
  /// the connection went away before it fails with `errc::storage_io`.
  std::chrono::milliseconds reconnect_for{15'000};
  /// Create the schema, or migrate an older one, on open. Without it a
  /// missing or older schema is `errc::schema_mismatch`.
  bool migrate = true;
  /// Hear of other processes' appends by LISTEN (see `on_append`).
  bool listen = true;
};

/// The event store for several application nodes: one PostgreSQL database.
///
/// Appends from every node are serialised by one row lock (the log head),
/// taken inside the append's transaction: global positions stay gapless
/// and in commit order, as on every factum store, so a reader never skips
/// an event that commits later with a lower position, and a rolled-back
/// append leaves no hole. Group commit (`append_batch`, used by the
/// runtime) makes that one lock cheap: one transaction and one round trip
/// per batch. Why this design, and what it costs: docs/postgres.md.
///
/// Lost connections are reopened with backoff for `reconnect_for`; an
/// append whose connection broke before its answer came is sent again,
/// which is safe because appends are idempotent by event id.
/// ```
/// auto store = factum::postgres_store::open("postgresql:///bank?host=/run/postgresql");
/// if (!store) { std::cerr << store.error().message(); return 1; }
/// store->append("account-1", factum::expected_version::no_stream(), events);
/// ```
class postgres_store final : public event_store {
 public:
  /// Connects to `uri` (any libpq connection string or URI) and creates or
  /// migrates the schema; errors: `storage_io` (cannot connect: after
  /// `reconnect_for` when the server does not answer, at once when it refuses
  /// for good, as for a database that does not exist), `invalid_argument`
  /// (a connection string libpq cannot read), `schema_mismatch` (not a
  /// factum schema, or a newer one).
  [[nodiscard]] static result<postgres_store> open(const std::string& uri,
                                                   const postgres_options& options = {});
  /// Like `open`, but throws `factum::system_error`.
  explicit postgres_store(const std::string& uri, const postgres_options& options = {});

  postgres_store(postgres_store&&) noexcept;
  postgres_store& operator=(postgres_store&&) noexcept;
  ~postgres_store() override;

  /// The schema version this build writes (migrations up to it run on open).
  static constexpr std::uint32_t schema_version = 3;

  /// True: `append_batch` is one transaction and one round trip.
  [[nodiscard]] bool prefers_batches() const noexcept override;

  [[nodiscard]] result<position> head() override;
  [[nodiscard]] result<std::vector<std::pair<std::string, position>>> checkpoints() override;
  [[nodiscard]] result<std::optional<command_record>> load_command(command_id id) override;
  result<void> remove_dead_letter(std::uint64_t id) override;

  /// LISTEN on the schema's channel: `fn` runs on the store's listener
  /// thread after each append's commit, by any node. A lost notification
  /// (the listener reconnecting) is followed by one call, so a caller that
  /// re-reads on every call misses nothing.
  [[nodiscard]] std::shared_ptr<void> on_append(std::function<void()> fn) override;
  /// `pg_try_advisory_lock` on a connection of its own; the claim ends
  /// when the ownership is dropped, or when its connection (or process) dies.
  [[nodiscard]] result<std::unique_ptr<ownership>> try_own(std::string_view name) override;

 protected:
  result<std::vector<stream_info>> do_streams(std::string_view prefix, std::size_t limit) override;
  result<void> do_save_checkpoint(std::string_view subscriber, const position& p) override;
  result<std::optional<position>> do_load_checkpoint(std::string_view subscriber) override;
  result<std::uint64_t> do_add_dead_letter(const dead_letter& letter) override;
  result<std::vector<dead_letter>> do_dead_letters(std::string_view subscriber) override;
  result<append_result> do_append(std::span<const stream_write> writes,
                                  const append_options& options) override;
  std::vector<result<append_result>> do_append_batch(
      std::span<const append_request> requests) override;
  result<std::vector<recorded_event>> do_read_stream(const stream_id& stream,
                                                     std::uint64_t from_version,
                                                     std::size_t limit) override;
  result<std::vector<recorded_event>> do_read_all(position after, std::size_t limit,
                                                  const type_filter& types) override;
  result<std::uint64_t> do_stream_version(const stream_id& stream) override;
  result<void> do_save_snapshot(const snapshot& s) override;
  result<std::optional<snapshot>> do_load_snapshot(const stream_id& stream,
                                                   std::uint32_t schema_version,
                                                   std::uint64_t max_version) override;

 private:
  struct impl;
  explicit postgres_store(std::shared_ptr<impl> p) noexcept;
  std::shared_ptr<impl> impl_;
};

}  // namespace factum
