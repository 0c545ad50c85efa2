// What the SQLite and the PostgreSQL read models share: the writer's turn,
// running the user's writes, the reader pool, the checkpoint compare-and-set
// and their messages. Each backend keeps only its connection and its SQL.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <factum/store/sql_read_model.hpp>

namespace factum::detail {

/// The statement text for messages, shortened.
inline std::string quoted_statement(std::string_view statement) {
  constexpr std::size_t max = 200;
  std::string out = "'";
  out += statement.substr(0, max);
  if (statement.size() > max) out += "...";
  return out + "'";
}

/// `text` without leading blanks, semicolons and comments (empty when that
/// is all it holds).
inline std::string_view skip_blank(std::string_view text) {
  for (;;) {
    const auto at = text.find_first_not_of(" \t\r\n\f\v;");
    if (at == std::string_view::npos) return {};
    text.remove_prefix(at);
    if (text.starts_with("--")) {
      const auto end = text.find('\n');
      if (end == std::string_view::npos) return {};
      text.remove_prefix(end + 1);
    } else if (text.starts_with("/*")) {
      const auto end = text.find("*/", 2);
      if (end == std::string_view::npos) return {};
      text.remove_prefix(end + 2);
    } else {
      return text;
    }
  }
}

inline error read_model_moved_from(std::string_view type) {
  return error{errc::invalid_argument, "a moved-from factum::" + std::string(type) + " was used"};
}

inline error read_model_no_name() {
  return error{errc::invalid_argument, "a read model checkpoint needs a subscriber name"};
}

/// What a conditional commit does between BEGIN and the user's writes: the
/// stored checkpoint (read by the backend, locked where it must be) is
/// `expected`, or the commit is a `concurrency_conflict`.
inline result<void> expect_checkpoint(std::string_view doing,
                                      const std::optional<std::string>& stored,
                                      const std::optional<position>& expected) {
  const std::optional<std::string> want =
      expected ? std::optional<std::string>{expected->to_string()} : std::nullopt;
  if (stored == want) return {};
  return error{errc::concurrency_conflict,
               std::string(doing) + ": its checkpoint is " + stored.value_or("not stored") +
                   ", not " + want.value_or("not stored") + " (another writer committed first)"};
}

/// A stored checkpoint text as a position; `where` names the database.
inline result<std::optional<position>> parse_checkpoint(std::string_view name,
                                                        const std::optional<std::string>& text,
                                                        std::string_view where) {
  if (!text) return std::optional<position>{};
  if (auto p = position::parse(*text)) return std::optional<position>{*p};
  return error{errc::storage_corrupt, "the read model checkpoint of '" + std::string(name) + "'" +
                                          std::string(where) + " is not a position: '" + *text +
                                          "'"};
}

/// One write transaction at a time per read model. A call from inside the
/// user's writes (the same thread) would wait for itself: it is refused.
class writer_turn {
 public:
  /// Runs `body` in this turn; `doing` names the call in the refusal.
  template <class Body>
  result<void> run(std::string_view doing, Body&& body) {
    if (owner_.load() == std::this_thread::get_id())
      return error{errc::invalid_argument,
                   std::string(doing) + ": called from inside another read model transaction"};
    std::lock_guard lock(mutex_);
    owner_.store(std::this_thread::get_id());
    struct release {
      std::atomic<std::thread::id>& owner;
      ~release() { owner.store(std::thread::id{}); }
    } released{owner_};
    return body();
  }

 private:
  std::mutex mutex_;
  std::atomic<std::thread::id> owner_{};
};

/// Runs the user's `fn` on the writer `w` inside the open transaction, with
/// transaction control refused; a thrown `system_error` gives its error, any
/// other exception is `domain_exception`.
template <class Session>
result<void> run_user_writes(Session& w, const std::function<result<void>(sql&)>& fn) {
  struct scope {
    Session& s;
    explicit scope(Session& session) : s(session) { s.in_txn = s.user_code = true; }
    ~scope() { s.in_txn = s.user_code = false; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
  } in_user_code{w};
  w.changes = 0;
  if (!fn) return {};
  sql db = sql_access::writer(&w);
  try {
    return fn(db);
  } catch (const factum::system_error& e) {
    return e.error();
  } catch (const std::exception& e) {
    return error{errc::domain_exception, e.what()};
  } catch (...) {
    return error{errc::domain_exception, "a non-standard exception"};
  }
}

/// Reader connections, kept for the next query. `Session::reusable()` says
/// whether one may go back (a lost connection may not).
template <class Session>
class session_pool {
 public:
  explicit session_pool(std::size_t max_idle = std::numeric_limits<std::size_t>::max())
      : max_idle_(max_idle) {}

  /// A session on loan; back to the pool when it goes.
  class lease {
   public:
    lease(session_pool* pool, std::unique_ptr<Session> s) : pool_(pool), s_(std::move(s)) {}
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) = delete;
    ~lease() {
      if (s_) pool_->give_back(std::move(s_));
    }
    Session& operator*() const { return *s_; }

   private:
    session_pool* pool_;
    std::unique_ptr<Session> s_;
  };

  /// An idle session, or a new one from `open()` (a `result<unique_ptr<Session>>`).
  template <class Open>
  result<lease> take(Open&& open) {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        lease l{this, std::move(idle_.back())};
        idle_.pop_back();
        return l;
      }
    }
    auto s = open();
    if (!s) return std::move(s).error();
    return lease{this, std::move(*s)};
  }

  /// Drops every idle session (they went stale together).
  void clear() {
    std::lock_guard lock(mutex_);
    idle_.clear();
  }

 private:
  void give_back(std::unique_ptr<Session> s) {
    if (!s->reusable()) return;
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(s));
  }

  std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Session>> idle_;
};

}  // namespace factum::detail
