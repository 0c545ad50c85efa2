// The SQLite read model: a projection's writes and its checkpoint in one
// transaction. Why and how: docs/store.md, "Read models in SQLite".
#include <atomic>
#include <unordered_map>

#include <factum/store/sqlite_read_model.hpp>

#include "sql_read_model_parts.hpp"
#include "sqlite/file_turn.hpp"
#include "sqlite/sqlite_db.hpp"

namespace factum {

namespace sq = detail::sqlite;
using detail::quoted_statement;

namespace {

/// True when `text` holds nothing but blanks, semicolons and comments.
bool blank(std::string_view text) {
  return detail::skip_blank(text).empty();
}

constexpr const char* sql_begin = "BEGIN IMMEDIATE";
constexpr const char* sql_commit = "COMMIT";
constexpr const char* sql_rollback = "ROLLBACK";
constexpr std::string_view sql_has_checkpoints =
    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'read_model_checkpoints'";
constexpr std::string_view sql_create_checkpoints =
    "CREATE TABLE IF NOT EXISTS read_model_checkpoints("
    "subscriber TEXT PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID";
constexpr std::string_view sql_checkpoint_save =
    "INSERT INTO read_model_checkpoints(subscriber, position) VALUES (?1, ?2)"
    " ON CONFLICT(subscriber) DO UPDATE SET position = excluded.position";
constexpr std::string_view sql_checkpoint_load =
    "SELECT position FROM read_model_checkpoints WHERE subscriber = ?1";
constexpr std::string_view sql_checkpoint_delete =
    "DELETE FROM read_model_checkpoints WHERE subscriber = ?1";

/// Prepared statements kept per connection; a text-built statement per call
/// would otherwise grow the cache without end, so it is dropped when full.
constexpr std::size_t statement_cache_size = 128;

/// The error of a statement: what SQLite refuses in the statement itself
/// (syntax, unknown names, constraints, types) is the caller's
/// `invalid_argument`; the storage's failures keep their codes.
error statement_error(int rc, sqlite3* db, std::string_view statement) {
  switch (rc & 0xFF) {
    case SQLITE_AUTH:
      return error{errc::invalid_argument,
                   "a read model statement may not begin, commit or roll back a transaction, nor "
                   "set query_only, locking_mode or journal_mode: " +
                       quoted_statement(statement)};
    case SQLITE_ERROR:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
      return error{errc::invalid_argument, std::string(sqlite3_errmsg(db)) + " (sqlite code " +
                                               std::to_string(rc) + ") in " +
                                               quoted_statement(statement)};
    default:
      return sq::to_error(rc, db, "running " + quoted_statement(statement));
  }
}

}  // namespace

namespace detail {

/// A row of an SQLite statement, as `sql_row` reads it.
struct sqlite_row final : sql_row_source {
  sqlite3_stmt* stmt;
  explicit sqlite_row(sqlite3_stmt* s) noexcept : stmt(s) {}
  [[nodiscard]] bool in_range(int column) const {
    return column >= 0 && column < sqlite3_column_count(stmt);
  }
  std::int64_t int64(int column) const override {
    return in_range(column) ? sqlite3_column_int64(stmt, column) : 0;
  }
  double real(int column) const override {
    return in_range(column) ? sqlite3_column_double(stmt, column) : 0.0;
  }
  std::string_view text(int column) const override {
    if (!in_range(column)) return {};
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return p ? std::string_view{p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column))}
             : std::string_view{};
  }
  bool is_null(int column) const override {
    return !in_range(column) || sqlite3_column_type(stmt, column) == SQLITE_NULL;
  }
  int columns() const override { return sqlite3_column_count(stmt); }
};

/// One connection with its statements, cached by text.
struct sqlite_session final : sql_session {
  struct cached {
    sq::statement stmt;
    bool in_use = false;  // a row callback may run the same text again
  };

  sq::connection conn;
  std::unordered_map<std::string, cached> cache;
  int depth = 0;           // statements being stepped
  bool user_code = false;  // the user's fn runs: transaction control is refused
  bool reader = false;     // transaction control is always refused

  /// Whether it may go back to the pool: always.
  [[nodiscard]] bool reusable() const { return true; }

  /// Refuses BEGIN / COMMIT / ROLLBACK when they are not the read model's
  /// own, and what would change the connection past the transaction: setting
  /// `query_only`, `locking_mode` or `journal_mode` from user code, and
  /// savepoints and ATTACH on readers, which are pooled.
  static int authorize(void* self, int action, const char* arg1, const char* arg2, const char*,
                       const char*) {
    const auto& s = *static_cast<const sqlite_session*>(self);
    switch (action) {
      case SQLITE_TRANSACTION:
        return s.user_code || s.reader ? SQLITE_DENY : SQLITE_OK;
      case SQLITE_PRAGMA:
        if ((s.user_code || s.reader) && arg1 && arg2)
          for (const char* name : {"query_only", "locking_mode", "journal_mode"})
            if (sqlite3_stricmp(arg1, name) == 0) return SQLITE_DENY;
        return SQLITE_OK;
      case SQLITE_SAVEPOINT:
      case SQLITE_ATTACH:
      case SQLITE_DETACH:
        return s.reader ? SQLITE_DENY : SQLITE_OK;
      default:
        return SQLITE_OK;
    }
  }

  result<void> open(const std::string& file, int flags, std::chrono::milliseconds busy_timeout) {
    if (auto r = conn.open(file, flags); !r) return r;
    if (auto r = conn.check(busy_timeout, file); !r) return r;
    sqlite3_set_authorizer(conn.get(), &sqlite_session::authorize, this);
    return {};
  }

  /// Runs one statement text (or, with no values and no row callback, all
  /// the statements in it). `read_only` refuses statements that write.
  result<void> run(std::string_view text, std::span<const sql_value> values,
                   const std::function<void(const sql_row&)>* row, bool read_only) override {
    if (blank(text)) return error{errc::invalid_argument, "an empty SQL statement"};
    sqlite3* db = conn.get();
    const std::int64_t total_before = sqlite3_total_changes64(db);
    sq::statement local;
    sq::statement* st = nullptr;
    bool* in_use = nullptr;
    const std::string key{text};
    if (auto it = cache.find(key); it != cache.end() && !it->second.in_use) {
      st = &it->second.stmt;
      in_use = &it->second.in_use;
    } else {
      std::size_t used = 0;
      local = sq::statement{db, text, &used};
      if (local.prepare_rc() != SQLITE_OK) return statement_error(local.prepare_rc(), db, text);
      if (!local.get())
        return error{errc::invalid_argument, "no SQL statement in " + quoted_statement(text)};
      // More statements after the first: a script, prepared one at a time as
      // it runs (a later one may name a table an earlier one creates).
      if (!blank(text.substr(used))) {
        local = sq::statement{};
        return run_script(text, values, row, read_only, total_before);
      }
      if (it == cache.end()) {
        if (cache.size() >= statement_cache_size && depth == 0) cache.clear();
        if (cache.size() < statement_cache_size) {
          auto& c = cache.emplace(key, cached{std::move(local), false}).first->second;
          st = &c.stmt;
          in_use = &c.in_use;
        }
      }
      if (!st) st = &local;
    }
    if (read_only && !sqlite3_stmt_readonly(st->get()))
      return error{
          errc::invalid_argument,
          "a read model query takes a statement that does not write: " + quoted_statement(text)};

    const int params = sqlite3_bind_parameter_count(st->get());
    if (static_cast<std::size_t>(params) != values.size())
      return error{errc::invalid_argument, "the statement takes " + std::to_string(params) +
                                               " parameter(s), " + std::to_string(values.size()) +
                                               " value(s) given: " + quoted_statement(text)};
    sq::reset_guard reset{*st};
    struct use_guard {
      bool* flag;
      int& depth;
      use_guard(bool* f, int& d) : flag(f), depth(d) {
        if (flag) *flag = true;
        ++depth;
      }
      ~use_guard() {
        if (flag) *flag = false;
        --depth;
      }
      use_guard(const use_guard&) = delete;
      use_guard& operator=(const use_guard&) = delete;
    } use{in_use, depth};

    for (std::size_t i = 0; i < values.size(); ++i) {
      sqlite3_stmt* s = st->get();
      const int at = static_cast<int>(i) + 1;
      const int rc = std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::nullptr_t>)
              return sqlite3_bind_null(s, at);
            else if constexpr (std::is_same_v<V, std::int64_t>)
              return sqlite3_bind_int64(s, at, v);
            else if constexpr (std::is_same_v<V, double>)
              return sqlite3_bind_double(s, at, v);
            else
              return sqlite3_bind_text64(s, at, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          },
          values[i]);
      if (rc != SQLITE_OK) return statement_error(rc, db, text);
    }
    for (;;) {
      const int rc = st->step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return statement_error(rc, db, text);
      if (row) {
        const sqlite_row current{st->get()};
        (*row)(detail::sql_access::row(&current));
      }
    }
    changes = sqlite3_total_changes64(db) - total_before;
    return {};
  }

  /// Runs every statement of `text` in turn (schema scripts); none is cached.
  result<void> run_script(std::string_view text, std::span<const sql_value> values,
                          const std::function<void(const sql_row&)>* row, bool read_only,
                          std::int64_t total_before) {
    if (!values.empty() || row || read_only)
      return error{errc::invalid_argument,
                   "several statements in one text run only through exec, without values: " +
                       quoted_statement(text)};
    sqlite3* db = conn.get();
    while (!blank(text)) {
      std::size_t used = 0;
      sq::statement st{db, text, &used};
      if (st.prepare_rc() != SQLITE_OK) return statement_error(st.prepare_rc(), db, text);
      if (!st.get()) break;  // only comments were left
      int rc = SQLITE_ROW;
      while (rc == SQLITE_ROW)
        rc = st.step();
      if (rc != SQLITE_DONE) return statement_error(rc, db, text.substr(0, used));
      text.remove_prefix(used);
    }
    changes = sqlite3_total_changes64(db) - total_before;
    return {};
  }
};

}  // namespace detail

// ---- sqlite_read_model ----

struct sqlite_read_model::impl {
  std::filesystem::path file;
  sqlite_read_model_options options;
  bool read_only = false;
  std::atomic<bool> has_checkpoints{false};  // false only in a read-only file without it

  detail::writer_turn turn;  // guards writer
  /// Taken inside `turn` for every write transaction: the file's turn among
  /// this process' writers of it (the event store, when it is the same file).
  std::shared_ptr<detail::sqlite::fair_turn> file_turn;
  detail::sqlite_session writer;
  detail::session_pool<detail::sqlite_session> readers;

  result<void> open() {
    read_only = options.read_only;
    const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (auto r = writer.open(file.string(), flags, options.busy_timeout); !r) return r;
    file_turn = detail::sqlite::turn_of(file);
    if (writer.conn.read_only()) read_only = true;
    if (!read_only) {
      const std::string pragmas = std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                                  (options.synchronous_full ? "FULL" : "NORMAL");
      if (auto r = writer.conn.exec(pragmas, "configuring '" + file.string() + "'"); !r) return r;
    }
    if (auto r = find_checkpoints(writer); !r) return r;
    if (!has_checkpoints && !read_only) {
      std::lock_guard file_lock(*file_turn);
      if (auto r = writer.run(sql_create_checkpoints, {}, nullptr, false); !r) return r;
      has_checkpoints = true;
    }
    return {};
  }

  /// Sets `has_checkpoints` when the checkpoint table exists.
  result<void> find_checkpoints(detail::sqlite_session& s) {
    std::int64_t tables = 0;
    const std::function<void(const sql_row&)> count = [&](const sql_row& row) {
      tables = row.int64(0);
    };
    if (auto r = s.run(sql_has_checkpoints, {}, &count, false); !r) return r;
    if (tables > 0) has_checkpoints = true;
    return {};
  }

  // ---- readers ----

  result<detail::session_pool<detail::sqlite_session>::lease> reader() {
    return readers.take([&]() -> result<std::unique_ptr<detail::sqlite_session>> {
      auto s = std::make_unique<detail::sqlite_session>();
      s->reader = true;
      if (auto r = s->open(file.string(), SQLITE_OPEN_READONLY, options.busy_timeout); !r)
        return std::move(r).error();
      return s;
    });
  }

  // ---- transactions ----

  /// BEGIN IMMEDIATE; fn; then(writer); COMMIT, or ROLLBACK on any failure.
  template <class Then>
  result<void> transact(std::string_view doing, const std::function<result<void>(sql&)>& fn,
                        Then&& then) {
    return transact(
        doing, [](detail::sqlite_session&) { return result<void>{}; }, fn,
        std::forward<Then>(then));
  }
  /// BEGIN IMMEDIATE; first(writer); fn; then(writer); COMMIT, or ROLLBACK
  /// on any failure.
  template <class First, class Then>
  result<void> transact(std::string_view doing, First&& first,
                        const std::function<result<void>(sql&)>& fn, Then&& then) {
    // A read-only connection fails BEGIN IMMEDIATE with SQLITE_READONLY.
    const std::string context = std::string(doing) + " in '" + file.string() + "'";
    return turn.run(context, [&]() -> result<void> {
      std::lock_guard file_lock(*file_turn);
      if (auto r = writer.conn.exec(sql_begin, context); !r) return r;
      result<void> r = first(writer);
      if (r) r = detail::run_user_writes(writer, fn);
      sqlite3* h = writer.conn.get();
      if (r && sqlite3_get_autocommit(h) != 0)
        r = error{errc::storage_io,
                  context + ": SQLite rolled the transaction back after a failed statement"};
      if (r) r = then(writer);
      if (r) r = writer.conn.exec(sql_commit, context);
      if (!r && sqlite3_get_autocommit(h) == 0) (void)writer.conn.exec(sql_rollback, context);
      return r;
    });
  }
};

result<sqlite_read_model> sqlite_read_model::open(const std::filesystem::path& file,
                                                  const sqlite_read_model_options& options) {
  auto p = std::make_unique<impl>();
  p->file = file;
  p->options = options;
  if (auto r = p->open(); !r) return std::move(r).error();
  return sqlite_read_model{std::move(p)};
}

sqlite_read_model::sqlite_read_model(const std::filesystem::path& file,
                                     const sqlite_read_model_options& options)
    : sqlite_read_model(open(file, options).value()) {}

sqlite_read_model::sqlite_read_model(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
sqlite_read_model::sqlite_read_model(sqlite_read_model&&) noexcept = default;
sqlite_read_model& sqlite_read_model::operator=(sqlite_read_model&&) noexcept = default;
sqlite_read_model::~sqlite_read_model() = default;

const std::filesystem::path& sqlite_read_model::file() const noexcept {
  static const std::filesystem::path none;
  return impl_ ? impl_->file : none;
}

namespace {
error moved_from() {
  return detail::read_model_moved_from("sqlite_read_model");
}
}  // namespace

result<void> sqlite_read_model::write(const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  return impl_->transact("writing a read model", fn,
                         [](detail::sqlite_session&) { return result<void>{}; });
}

result<void> sqlite_read_model::commit(std::string_view name, const position& p,
                                       const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "committing the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 2> values{sql_value{std::string(name)}, sql_value{p.to_string()}};
  return impl_->transact(doing, fn, [&](detail::sqlite_session& w) {
    return w.run(sql_checkpoint_save, values, nullptr, false);
  });
}

result<void> sqlite_read_model::commit(std::string_view name,
                                       const std::optional<position>& expected, const position& p,
                                       const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "committing the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 2> values{sql_value{std::string(name)}, sql_value{p.to_string()}};
  const std::array<sql_value, 1> key{sql_value{std::string(name)}};
  auto check = [&](detail::sqlite_session& w) -> result<void> {
    std::optional<std::string> stored;
    const std::function<void(const sql_row&)> read = [&](const sql_row& row) {
      stored = std::string(row.text(0));
    };
    if (auto r = w.run(sql_checkpoint_load, key, &read, false); !r) return r;
    return detail::expect_checkpoint(doing, stored, expected);
  };
  return impl_->transact(doing, check, fn, [&](detail::sqlite_session& w) {
    return w.run(sql_checkpoint_save, values, nullptr, false);
  });
}

result<void> sqlite_read_model::reset(std::string_view name,
                                      const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "resetting the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 1> values{sql_value{std::string(name)}};
  return impl_->transact(doing, fn, [&](detail::sqlite_session& w) {
    return w.run(sql_checkpoint_delete, values, nullptr, false);
  });
}

result<void> sqlite_read_model::query_values(std::string_view statement,
                                             const std::function<void(const sql_row&)>& row,
                                             std::span<const sql_value> values) const {
  if (!impl_) return moved_from();
  auto lease = impl_->reader();
  if (!lease) return std::move(lease).error();
  return (**lease).run(statement, values, &row, true);
}

result<std::optional<position>> sqlite_read_model::load_checkpoint(std::string_view name) const {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  auto lease = impl_->reader();
  if (!lease) return std::move(lease).error();
  if (!impl_->has_checkpoints) {  // a read-only file: a writer may have made the table since
    if (auto r = impl_->find_checkpoints(**lease); !r) return std::move(r).error();
    if (!impl_->has_checkpoints) return std::optional<position>{};
  }
  const std::array<sql_value, 1> values{sql_value{std::string(name)}};
  std::optional<std::string> text;
  const std::function<void(const sql_row&)> read = [&](const sql_row& row) {
    text = std::string(row.text(0));
  };
  auto r = (**lease).run(sql_checkpoint_load, values, &read, true);
  if (!r) return std::move(r).error();
  return detail::parse_checkpoint(name, text, " in '" + impl_->file.string() + "'");
}

}  // namespace factum
