// The PostgreSQL read model: a projection's writes and its checkpoint in one
// transaction. Why and how: docs/postgres.md, "Read models".
#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>

#include <factum/store/postgres_read_model.hpp>

#include "postgres/pg.hpp"
#include "sql_read_model_parts.hpp"

namespace factum {

namespace pg = detail::pg;
using detail::quoted_statement;
using detail::skip_blank;

namespace {

/// Whether the statement begins, ends or marks a transaction.
bool controls_transaction(std::string_view text) {
  text = skip_blank(text);
  std::string word;
  for (char c : text) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (const char* w :
       {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"})
    if (word == w) return true;
  return false;
}

/// `?N` parameters as PostgreSQL's `$N`, outside quotes and comments.
std::string translate(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"') {
      const auto end = text.find(c, i + 1);
      const auto stop = end == std::string_view::npos ? text.size() : end + 1;
      out.append(text.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      const auto end = text.find('\n', i);
      const auto stop = end == std::string_view::npos ? text.size() : end;
      out.append(text.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const auto end = text.find("*/", i + 2);
      const auto stop = end == std::string_view::npos ? text.size() : end + 2;
      out.append(text.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?' && i + 1 < text.size() &&
               std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      out += '$';
    } else {
      out += c;
    }
  }
  return out;
}

/// A statement's own failure (syntax, names, constraints, types, argument
/// counts) is the caller's `invalid_argument`; the rest keep their codes.
error statement_error(const pg::connection& c, const pg::reply& r, std::string_view statement,
                      bool reader) {
  const char* state = r.get() ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view s = state ? state : "";
  std::string message = r.get() ? PQresultErrorMessage(r.get()) : "";
  if (message.empty() && c.get()) message = PQerrorMessage(c.get());
  while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
    message.pop_back();
  // A reader's transactions are read-only: a statement that writes is the
  // caller's mistake. The writer's are read-only only while the server is
  // (default_transaction_read_only, a standby): storage_read_only, below.
  if (s == "25006" && reader)
    return error{
        errc::invalid_argument,
        "a read model query takes a statement that does not write: " + quoted_statement(statement)};
  if (s.starts_with("42") || s.starts_with("23") || s.starts_with("22") || s.starts_with("2B") ||
      s.starts_with("0A") || s.starts_with("21") || s == "08P01")
    return error{errc::invalid_argument,
                 message + " (SQLSTATE " + std::string(s) + ") in " + quoted_statement(statement)};
  return pg::to_error(s, message, "running " + quoted_statement(statement));
}

/// A row of a text-format result, as `sql_row` reads it.
struct pg_row final : detail::sql_row_source {
  const PGresult* r;
  int row;
  pg_row(const PGresult* res, int n) noexcept : r(res), row(n) {}
  [[nodiscard]] bool in_range(int column) const { return column >= 0 && column < PQnfields(r); }
  std::int64_t int64(int column) const override {
    if (is_null(column)) return 0;
    const std::string_view t = text(column);
    if (t == "t") return 1;
    if (t == "f") return 0;
    std::int64_t v = 0;
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }
  double real(int column) const override {
    if (is_null(column)) return 0.0;
    return std::strtod(PQgetvalue(r, row, column), nullptr);
  }
  std::string_view text(int column) const override {
    if (!in_range(column)) return {};
    return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
  }
  bool is_null(int column) const override {
    return !in_range(column) || PQgetisnull(r, row, column) != 0;
  }
  int columns() const override { return PQnfields(r); }
};

/// One connection, as the `sql` writer or a pooled reader.
struct pg_session final : detail::sql_session {
  pg::connection conn;
  bool reader = false;     // read-only transactions; transaction control refused
  bool user_code = false;  // the user's fn runs: transaction control is refused

  /// Whether it may go back to the pool: connected, in no transaction.
  [[nodiscard]] bool reusable() const { return !conn.lost() && conn.idle(); }

  result<void> run(std::string_view text, std::span<const sql_value> values,
                   const std::function<void(const sql_row&)>* row, bool read_only) override {
    (void)read_only;  // readers run with default_transaction_read_only
    if (skip_blank(text).empty()) return error{errc::invalid_argument, "an empty SQL statement"};
    if ((user_code || reader) && controls_transaction(text))
      return error{errc::invalid_argument,
                   "a read model statement may not begin, commit or roll back a transaction: " +
                       quoted_statement(text)};
    pg::reply r;
    if (values.empty() && !row) {
      // Possibly a script of several statements (schema setup).
      r = pg::reply{PQexec(conn.get(), std::string(text).c_str())};
    } else {
      const std::string sql = translate(text);
      std::vector<std::string> texts(values.size());
      std::vector<const char*> ptrs(values.size(), nullptr);
      for (std::size_t i = 0; i < values.size(); ++i) {
        std::visit(
            [&](const auto& v) {
              using V = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<V, std::nullptr_t>)
                return;
              else if constexpr (std::is_same_v<V, std::string>)
                ptrs[i] = v.c_str();
              else {
                char buf[64];
                const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;  // exact round trip
                texts[i].assign(buf, end);
                ptrs[i] = texts[i].c_str();
              }
            },
            values[i]);
      }
      r = pg::reply{PQexecParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 ptrs.data(), nullptr, nullptr, 0)};
    }
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      (void)conn.fail(r, "");  // remembers a lost connection
      return statement_error(conn, r, text, reader);
    }
    if (row)
      for (int i = 0; i < r.rows(); ++i) {
        const pg_row current{r.get(), i};
        (*row)(detail::sql_access::row(&current));
      }
    const char* tuples = PQcmdTuples(r.get());
    changes = (status == PGRES_COMMAND_OK && tuples && *tuples) ? std::atoll(tuples) : 0;
    return {};
  }
};

/// Taken by `write` (schema setup) and `open`: one node at a time sets up,
/// so `CREATE ... IF NOT EXISTS` from several nodes cannot collide.
constexpr const char* setup_lock =
    "SELECT pg_advisory_xact_lock(hashtext('factum.read_model.setup'))";

error moved_from() {
  return detail::read_model_moved_from("postgres_read_model");
}

}  // namespace

struct postgres_read_model::impl {
  std::string uri;
  postgres_read_model_options options;
  std::string sql_save, sql_load, sql_lock, sql_claim, sql_delete;

  detail::writer_turn turn;  // guards writer
  std::unique_ptr<pg_session> writer;
  detail::session_pool<pg_session> readers;

  impl(std::string u, const postgres_read_model_options& o)
      : uri(std::move(u)), options(o), readers(std::max<std::size_t>(1, o.pool_size)) {}

  result<std::unique_ptr<pg_session>> connect(bool reader) {
    // Opening retries what may heal (the server starting, too many
    // connections) for reconnect_for, and fails at once on the rest.
    auto s = std::make_unique<pg_session>();
    s->reader = reader;
    auto r = s->conn.open(uri, options.statement_timeout,
                          std::chrono::steady_clock::now() + options.reconnect_for);
    if (r && reader)
      r = s->conn.exec("SET default_transaction_read_only = on", "configuring a reader");
    if (!r) return std::move(r).error();
    return s;
  }

  result<void> open() {
    const std::string& t = options.checkpoint_table;
    sql_save = "INSERT INTO " + t +
               "(subscriber, position) VALUES (?1, ?2)"
               " ON CONFLICT (subscriber) DO UPDATE SET position = excluded.position";
    sql_load = "SELECT position FROM " + t + " WHERE subscriber = ?1";
    sql_claim = "INSERT INTO " + t + "(subscriber, position) VALUES (?1, NULL)" +
                " ON CONFLICT (subscriber) DO NOTHING";
    sql_lock = "SELECT position FROM " + t + " WHERE subscriber = ?1 FOR UPDATE";
    sql_delete = "DELETE FROM " + t + " WHERE subscriber = ?1";
    auto w = connect(false);
    if (!w) return std::move(w).error();
    writer = std::move(*w);
    // A table that exists is not created again: CREATE TABLE IF NOT EXISTS
    // is refused in a read-only transaction, and a read model must open
    // while the server is read-only (a standby, a maintenance spell) to serve
    // reads.
    const std::optional<std::string_view> name{t};
    auto found = writer->conn.query("SELECT to_regclass($1) IS NOT NULL", {name},
                                    "looking for the checkpoint table " + t);
    if (!found) return std::move(found).error();
    if (found->rows() == 1 && found->text(0, 0) == "t") return {};
    // Under the setup lock: nodes starting together would otherwise race
    // on CREATE TABLE IF NOT EXISTS, and the loser fail.
    auto r =
        writer->conn.exec(std::string("BEGIN; ") + setup_lock + "; CREATE TABLE IF NOT EXISTS " +
                              t + "(subscriber text PRIMARY KEY, position text); COMMIT",
                          "creating the checkpoint table " + t);
    if (!r) (void)writer->conn.exec("ROLLBACK", "creating the checkpoint table");
    return r;
  }

  /// Runs `fn` on a pooled reader; once more on a new connection when the
  /// pooled one turns out dead (the server restarted since it was opened).
  template <class F>
  result<void> read(F&& fn) {
    for (int attempt = 0;; ++attempt) {
      auto lease = readers.take([&] { return connect(true); });
      if (!lease) return std::move(lease).error();
      auto r = fn(**lease);
      if (r || (**lease).reusable() || attempt == 1) return r;
      readers.clear();  // its neighbours are as stale
    }
  }

  /// BEGIN; first(writer); fn; then(writer); COMMIT, or ROLLBACK on any failure.
  template <class First, class Then>
  result<void> transact(std::string_view doing, First&& first,
                        const std::function<result<void>(sql&)>& fn, Then&& then) {
    return turn.run(doing, [&]() -> result<void> {
      if (!writer || writer->conn.lost() || !writer->conn.idle()) {
        auto w = connect(false);
        if (!w) return std::move(w).error();
        writer = std::move(*w);
      }
      pg_session& w = *writer;
      // An exception between BEGIN and its end (an allocation that failed)
      // closes the writer: the server rolls the transaction back, and the
      // next call opens a new connection.
      struct close_on_throw {
        std::unique_ptr<pg_session>& writer;
        int active = std::uncaught_exceptions();
        ~close_on_throw() {
          if (std::uncaught_exceptions() > active) writer.reset();
        }
      } guard{writer};
      if (auto r = w.conn.exec("BEGIN", doing); !r) return r;
      result<void> r = first(w);
      if (r) r = detail::run_user_writes(w, fn);
      if (r) r = then(w);
      if (r) r = w.conn.exec("COMMIT", doing);
      if (!r) (void)w.conn.exec("ROLLBACK", doing);
      return r;
    });
  }
};

result<postgres_read_model> postgres_read_model::open(const std::string& uri,
                                                      const postgres_read_model_options& options) {
  auto p = std::make_unique<impl>(uri, options);
  if (auto r = p->open(); !r) return std::move(r).error();
  return postgres_read_model{std::move(p)};
}

postgres_read_model::postgres_read_model(const std::string& uri,
                                         const postgres_read_model_options& options)
    : postgres_read_model(open(uri, options).value()) {}

postgres_read_model::postgres_read_model(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
postgres_read_model::postgres_read_model(postgres_read_model&&) noexcept = default;
postgres_read_model& postgres_read_model::operator=(postgres_read_model&&) noexcept = default;
postgres_read_model::~postgres_read_model() = default;

result<void> postgres_read_model::write(const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  auto none = [](pg_session&) { return result<void>{}; };
  auto lock = [](pg_session& w) { return w.conn.exec(setup_lock, "locking the read model setup"); };
  return impl_->transact("writing a read model", lock, fn, none);
}

result<void> postgres_read_model::commit(std::string_view name, const position& p,
                                         const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "committing the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 2> values{sql_value{std::string(name)}, sql_value{p.to_string()}};
  return impl_->transact(
      doing, [](pg_session&) { return result<void>{}; }, fn,
      [&](pg_session& w) { return w.run(impl_->sql_save, values, nullptr, false); });
}

result<void> postgres_read_model::commit(std::string_view name,
                                         const std::optional<position>& expected, const position& p,
                                         const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "committing the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 2> values{sql_value{std::string(name)}, sql_value{p.to_string()}};
  const std::array<sql_value, 1> key{sql_value{std::string(name)}};
  // The row exists (a NULL position: none stored) and is locked before the
  // comparison, so a node committing the same batch waits here, then sees
  // the winner's checkpoint.
  auto check = [&](pg_session& w) -> result<void> {
    if (auto r = w.run(impl_->sql_claim, key, nullptr, false); !r) return r;
    std::optional<std::string> stored;
    const std::function<void(const sql_row&)> read = [&](const sql_row& row) {
      if (!row.is_null(0)) stored = std::string(row.text(0));
    };
    if (auto r = w.run(impl_->sql_lock, key, &read, false); !r) return r;
    return detail::expect_checkpoint(doing, stored, expected);
  };
  return impl_->transact(doing, check, fn, [&](pg_session& w) {
    return w.run(impl_->sql_save, values, nullptr, false);
  });
}

result<void> postgres_read_model::reset(std::string_view name,
                                        const std::function<result<void>(sql&)>& fn) {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::string doing = "resetting the read model of '" + std::string(name) + "'";
  const std::array<sql_value, 1> values{sql_value{std::string(name)}};
  return impl_->transact(
      doing, [](pg_session&) { return result<void>{}; }, fn,
      [&](pg_session& w) { return w.run(impl_->sql_delete, values, nullptr, false); });
}

result<void> postgres_read_model::query_values(std::string_view statement,
                                               const std::function<void(const sql_row&)>& row,
                                               std::span<const sql_value> values) const {
  if (!impl_) return moved_from();
  return impl_->read([&](pg_session& s) { return s.run(statement, values, &row, true); });
}

result<std::optional<position>> postgres_read_model::load_checkpoint(std::string_view name) const {
  if (!impl_) return moved_from();
  if (name.empty()) return detail::read_model_no_name();
  const std::array<sql_value, 1> values{sql_value{std::string(name)}};
  std::optional<std::string> text;
  const std::function<void(const sql_row&)> read = [&](const sql_row& row) {
    if (!row.is_null(0)) text = std::string(row.text(0));
  };
  if (auto r = impl_->read([&](pg_session& s) {
        text.reset();
        return s.run(impl_->sql_load, values, &read, true);
      });
      !r)
    return std::move(r).error();
  return detail::parse_checkpoint(name, text, "");
}

}  // namespace factum
