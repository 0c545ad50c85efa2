// factum-inspect: looks into a factum SQLite event store, read-only.
// What each command prints: docs/inspector.md.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include <factum/config/version.hpp>
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>

#include "command_line.hpp"
#include "render.hpp"

namespace factum_inspect {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;  // the store could not be read as asked
constexpr int exit_usage = 2;   // the command line makes no sense

/// Rows read per query: bounds memory on a long stream or log.
constexpr std::size_t page_size = 1000;

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) {
  stop_requested = 1;
}

/// SIGINT and SIGTERM end `tail --follow` after the page it is printing.
void stop_on_signals() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int fail(const std::string& message) {
  std::cerr << "factum-inspect: " << message << '\n';
  return exit_failed;
}

int fail(const factum::error& e) {
  return fail(e.message());
}

/// Newlines would break a table's rows.
std::string one_line(std::string text) {
  std::string out;
  for (char c : text)
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return n == 0 ? std::string("no ") + many : std::to_string(n) + " " + (n == 1 ? one : many);
}

/// Opens the file read-only, never creating it; nullopt (after a message)
/// for each way the file can be wrong.
std::optional<factum::sqlite_store> open_store(const std::string& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(db, ec);
  if (status.type() == fs::file_type::not_found) {
    fail("'" + db + "': no such file");
    return std::nullopt;
  }
  if (status.type() == fs::file_type::directory) {
    fail("'" + db + "' is a directory, not a store");
    return std::nullopt;
  }
  auto store = factum::sqlite_store::open(db, {.create = false, .read_only = true});
  if (store) return std::move(*store);
  if (store.error() == factum::errc::storage_corrupt)
    fail("'" + db + "' is not an SQLite database (" + store.error().message() + ")");
  else if (store.error() == factum::errc::storage_read_only)
    // Reading a WAL database needs its -shm file; SQLite cannot create one
    // in a folder it may not write.
    fail(store.error().message() + " (a reader needs '" + db +
         "-shm' beside the file; copy it to a folder you can write)");
  else
    fail(store.error());
  return std::nullopt;
}

struct inspector {
  const invocation& inv;
  factum::sqlite_store& store;
  std::ostream& out;

  int streams() {
    auto list = store.streams(inv.prefix);
    if (!list) return fail(list.error());
    if (inv.json) {
      for (const auto& s : *list)
        out << nlohmann::json{{"stream", s.stream.str()},
                              {"version", s.version},
                              {"last_position", s.last_position},
                              {"last_recorded_at", iso_time(s.last_recorded_at)}}
                   .dump()
            << '\n';
      return exit_ok;
    }
    table t{{"STREAM", "VERSION", "LAST POSITION", "LAST RECORDED AT"}};
    for (const auto& s : *list)
      t.add({s.stream.str(), std::to_string(s.version), std::to_string(s.last_position),
             iso_time(s.last_recorded_at)});
    if (t.size() > 0) t.print(out);
    out << plural(t.size(), "stream", "streams");
    if (!inv.prefix.empty()) out << " with prefix '" << inv.prefix << "'";
    out << '\n';
    return exit_ok;
  }

  void print(const factum::recorded_event& e) {
    if (inv.json)
      out << event_json(e).dump() << '\n';
    else
      print_event(out, e);
  }

  int stream() {
    const factum::stream_id name{inv.argument};
    auto version = store.stream_version(name);
    if (!version) return fail(version.error());
    if (*version == 0) return fail("no stream '" + inv.argument + "' in '" + inv.db + "'");
    std::uint64_t next = inv.from.value_or(1);
    for (std::size_t left = inv.limit; left > 0;) {
      auto page = store.read_stream(name, next, std::min(left, page_size));
      if (!page) return fail(page.error());
      for (const auto& e : *page)
        print(e);
      if (page->empty()) break;
      left -= page->size();
      next = page->back().version + 1;
    }
    return exit_ok;
  }

  /// Waits `poll_ms` for new events, in short slices so a signal ends it soon.
  void pause() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(inv.poll_ms);
    while (!stop_requested && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min<std::uint32_t>(inv.poll_ms, 20)));
  }

  int tail() {
    if (inv.follow) stop_on_signals();
    factum::position after = factum::position::start();
    if (inv.from_end) {
      auto head = store.head();
      if (!head) return fail(head.error());
      after = *head;
    } else if (inv.from) {
      after = factum::position::at(*inv.from - 1);
    }
    for (std::size_t left = inv.limit; left > 0 && !stop_requested;) {
      const std::size_t asked = std::min(left, page_size);
      auto page = store.read_all(after, asked);
      if (!page) return fail(page.error());
      for (const auto& e : *page) {
        print(e);
        after = e.pos;
      }
      out.flush();
      left -= page->size();
      if (page->size() < asked) {
        if (!inv.follow) break;
        pause();
      }
    }
    return exit_ok;
  }

  struct checkpoint_row {
    std::string subscriber;
    const char* kind;
    factum::position pos;
  };

  /// Projections into SQLite read models keep their checkpoints in the read
  /// model's table, beside their rows; there is none when no read model uses the file.
  factum::result<void> read_model_checkpoints(std::vector<checkpoint_row>& rows) {
    auto model = factum::sqlite_read_model::open(inv.db, {.read_only = true});
    if (!model) return std::move(model).error();
    bool present = false;
    auto r = model->query(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        " AND name = 'read_model_checkpoints'",
        [&](const factum::sql_row& row) { present = row.int64(0) > 0; });
    if (!r || !present) return r;
    std::optional<factum::error> bad;
    r = model->query("SELECT subscriber, position FROM read_model_checkpoints ORDER BY subscriber",
                     [&](const factum::sql_row& row) {
                       auto p = factum::position::parse(row.text(1));
                       if (!p && !bad)
                         bad = factum::error{factum::errc::storage_corrupt,
                                             "read model checkpoint of '" +
                                                 std::string(row.text(0)) + "' is not a position"};
                       if (p) rows.push_back({std::string(row.text(0)), "read model", *p});
                     });
    if (r && bad) return *bad;
    return r;
  }

  int checkpoints() {
    auto head = store.head();
    if (!head) return fail(head.error());
    auto stored = store.checkpoints();
    if (!stored) return fail(stored.error());
    std::vector<checkpoint_row> rows;
    for (auto& [name, p] : *stored)
      rows.push_back({std::move(name), "store", p});
    if (auto r = read_model_checkpoints(rows); !r) return fail(r.error());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.subscriber < b.subscriber; });
    const auto lag = [&](const factum::position& p) {
      return static_cast<std::int64_t>(head->global()) - static_cast<std::int64_t>(p.global());
    };
    if (inv.json) {
      for (const auto& c : rows)
        out << nlohmann::json{{"subscriber", c.subscriber},
                              {"kind",
                               c.kind == std::string_view("store") ? "store" : "read_model"},
                              {"position", c.pos.to_string()},
                              {"global_position", c.pos.global()},
                              {"head", head->global()},
                              {"lag", lag(c.pos)}}
                   .dump()
            << '\n';
      return exit_ok;
    }
    out << "head position " << head->global() << '\n';
    table t{{"SUBSCRIBER", "KIND", "POSITION", "LAG"}};
    for (const auto& c : rows)
      t.add({c.subscriber, c.kind, std::to_string(c.pos.global()), std::to_string(lag(c.pos))});
    if (t.size() > 0) t.print(out);
    out << plural(t.size(), "checkpoint", "checkpoints") << '\n';
    return exit_ok;
  }

  /// For a letter that parks its stream: the stream's later events its
  /// subscriber passed by (up to its checkpoint), of any type; the
  /// subscriber handles those of its types when the letter is settled.
  factum::result<std::optional<std::uint64_t>> held_behind(
      const factum::dead_letter& d, const std::vector<checkpoint_row>& checkpoints) {
    if (!d.parks_stream) return std::optional<std::uint64_t>{};
    std::uint64_t up_to = 0;
    for (const auto& c : checkpoints)
      if (c.subscriber == d.subscriber) up_to = std::max(up_to, c.pos.global());
    std::uint64_t held = 0;
    auto seen = store.scan_stream(d.event.stream, d.event.version + 1,
                                  [&](const factum::recorded_event& e) {
                                    if (e.global_position <= up_to) ++held;
                                  });
    if (!seen) return std::move(seen).error();
    return std::optional<std::uint64_t>{held};
  }

  int dead_letters() {
    auto letters = store.dead_letters(inv.argument);
    if (!letters) return fail(letters.error());
    auto stored = store.checkpoints();
    if (!stored) return fail(stored.error());
    std::vector<checkpoint_row> rows;
    for (auto& [name, p] : *stored)
      rows.push_back({std::move(name), "store", p});
    if (auto r = read_model_checkpoints(rows); !r) return fail(r.error());
    std::vector<std::optional<std::uint64_t>> held;
    for (const auto& d : *letters) {
      auto h = held_behind(d, rows);
      if (!h) return fail(h.error());
      held.push_back(*h);
    }
    if (inv.json) {
      for (std::size_t i = 0; i < letters->size(); ++i) {
        const auto& d = (*letters)[i];
        nlohmann::json line{{"id", d.id},
                            {"subscriber", d.subscriber},
                            {"attempts", d.attempts},
                            {"failed_at", iso_time(d.failed_at)},
                            {"error", d.error},
                            {"parks_stream", d.parks_stream},
                            {"event", event_json(d.event)}};
        if (held[i]) line["held_behind"] = *held[i];
        out << line.dump() << '\n';
      }
      return exit_ok;
    }
    table t{{"ID", "SUBSCRIBER", "POSITION", "STREAM", "VERSION", "TYPE", "ATTEMPTS", "HELD",
             "FAILED AT", "ERROR"}};
    for (std::size_t i = 0; i < letters->size(); ++i) {
      const auto& d = (*letters)[i];
      t.add({std::to_string(d.id), d.subscriber, std::to_string(d.event.global_position),
             d.event.stream.str(), std::to_string(d.event.version), d.event.type,
             std::to_string(d.attempts), held[i] ? std::to_string(*held[i]) : "-",
             iso_time(d.failed_at), one_line(d.error)});
    }
    if (t.size() > 0) t.print(out);
    out << plural(t.size(), "dead letter", "dead letters");
    if (!inv.argument.empty()) out << " of '" << inv.argument << "'";
    out << '\n';
    return exit_ok;
  }

  int run() {
    switch (inv.command) {
      case command::streams:
        return streams();
      case command::stream:
        return stream();
      case command::tail:
        return tail();
      case command::checkpoints:
        return checkpoints();
      case command::dead_letters:
        return dead_letters();
    }
    return exit_usage;
  }
};

int run(const invocation& inv) {
  auto store = open_store(inv.db);
  if (!store) return exit_failed;
  inspector in{inv, *store, std::cout};
  const int rc = in.run();
  std::cout.flush();
  if (!std::cout) return fail("could not write the output");
  return rc;
}

}  // namespace
}  // namespace factum_inspect

int main(int argc, char** argv) {
  using namespace factum_inspect;
  const parsed p = parse_command_line(argc, argv);
  if (std::holds_alternative<help_request>(p)) {
    std::cout << usage();
    return exit_ok;
  }
  if (std::holds_alternative<version_request>(p)) {
    std::cout << "factum-inspect " << FACTUM_VERSION_MAJOR << '.' << FACTUM_VERSION_MINOR << '.'
              << FACTUM_VERSION_PATCH << '\n';
    return exit_ok;
  }
  if (const auto* e = std::get_if<usage_error>(&p)) {
    std::cerr << "factum-inspect: " << e->message << "\n\n" << usage();
    return exit_usage;
  }
  return run(std::get<invocation>(p));
}
