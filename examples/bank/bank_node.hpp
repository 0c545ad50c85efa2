#pragma once

/// A bank node: the runtime on an SQLite file, and the read side in the
/// same file (the account-summary projection and the transfer process
/// manager), as one `bank` run uses them. Given a PostgreSQL URI
/// (`postgresql://...`) instead of a path, the store and the read model
/// live in that database, which processes on several machines may share.
///
/// Several nodes (processes) may run on one file at once: the store orders
/// their appends, each subscriber keeps its checkpoint in the file, and the
/// transfer process manager sends its commands with ids made from the
/// request, so a step that two nodes both take (or one redoes after a
/// crash) moves the money once. The projection runs in every node too: its
/// rows commit with its checkpoint, and only on the checkpoint it read, so
/// when two nodes project the same batch the first commit wins and the
/// other follows its checkpoint (each event counts once).
/// ```
/// auto n = bank::node::open("bank.db").value();
/// n->runtime().dispatch<bank::account>("acc-1", bank::deposit{100}, use_future).get();
/// n->settle(std::chrono::seconds{30});  // the projection and the transfers caught up
/// ```
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_read_model.hpp>
#include <factum/store/sqlite_store.hpp>
#ifdef BANK_WITH_POSTGRES
#include <factum/store/postgres_read_model.hpp>
#include <factum/store/postgres_store.hpp>
#endif

#include <factum/subscribe.hpp>
#include <factum/telemetry/metrics.hpp>

#include "bank_domain.hpp"
#include "bank_read_side.hpp"

namespace bank {

class node {
 public:
  /// The read model the projection writes to: SQLite's or PostgreSQL's.
  using model = std::shared_ptr<factum::sql_read_model>;

  /// True for a PostgreSQL connection URI rather than a file path.
  static bool is_postgres(const std::string& db) {
    return db.starts_with("postgresql://") || db.starts_with("postgres://");
  }

  /// Opens (or creates) the file or database and starts the runtime; with
  /// `read_side`, also the process manager, which catches up from its
  /// checkpoint in the background (the projection starts with `settle`).
  static factum::result<std::unique_ptr<node>> open(const std::string& db, bool read_side = true) {
    std::shared_ptr<factum::event_store> store;
    model accounts;
    if (is_postgres(db)) {
#ifdef BANK_WITH_POSTGRES
      auto pg = factum::postgres_store::open(db);
      if (!pg) return std::move(pg).error();
      store = std::make_shared<factum::postgres_store>(std::move(*pg));
      auto m = factum::postgres_read_model::open(db);
      if (!m) return std::move(m).error();
      accounts = std::make_shared<factum::postgres_read_model>(std::move(*m));
#else
      return factum::error{factum::errc::invalid_argument,
                           "this bank was built without PostgreSQL (FACTUM_WITH_POSTGRES)"};
#endif
    } else {
      auto lite = factum::sqlite_store::open(db);
      if (!lite) return std::move(lite).error();
      store = std::make_shared<factum::sqlite_store>(std::move(*lite));
      // After the store, which creates the file and its schema.
      auto m = factum::sqlite_read_model::open(db);
      if (!m) return std::move(m).error();
      accounts = std::make_shared<factum::sqlite_read_model>(std::move(*m));
    }
    if (auto ok = account_summary::create(*accounts); !ok) return std::move(ok).error();
    std::unique_ptr<node> n{new node(std::move(store), std::move(accounts))};
    if (read_side) n->transfers_ = n->subs_.add_process(bank::transfers{});
    return n;
  }

  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node() = default;

  [[nodiscard]] factum::runtime& runtime() {
    return rt_;
  }
  [[nodiscard]] factum::event_store& store() {
    return rt_.store();
  }
  [[nodiscard]] factum::subscriptions& subscriptions() {
    return subs_;
  }
  /// A read-only query of the account-summary projection's table `accounts`.
  factum::result<void> query_accounts(std::string_view sql,
                                      const std::function<void(const factum::sql_row&)>& row) {
    return accounts_->query(sql, row);
  }
  /// The projection; only after a `settle` that returned true.
  [[nodiscard]] factum::subscription& summary() {
    return *summary_;
  }
  /// What this run did, as counters and latency histograms.
  [[nodiscard]] const factum::metrics& metrics() const {
    return *metrics_;
  }
  /// The process manager; only when opened with the read side.
  [[nodiscard]] factum::subscription& transfers() {
    return *transfers_;
  }

  /// Waits until the read side handled everything stored, including the
  /// events its own commands caused and those of other processes (the head
  /// stops moving). The first call starts the projection. False when
  /// `timeout` passed first.
  bool settle(std::chrono::milliseconds timeout) {
    if (!transfers_) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!summary_) summary_ = subs_.add(account_summary{}, accounts_);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto head = store().head();
      if (!head) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const auto step =
          std::clamp(left, std::chrono::milliseconds{1}, std::chrono::milliseconds{100});
      const bool caught_up =
          summary_->wait_until(*head, step) && transfers_->wait_until(*head, step);
      if (caught_up && store().head().value_or(factum::position{}) == *head) return true;
    }
    return false;
  }

 private:
  node(std::shared_ptr<factum::event_store> store, model m)
      : rt_(std::move(store), runtime_options(metrics_)),
        subs_(rt_, read_side_options()),
        accounts_(std::move(m)) {}

  /// Many `bank` processes may write to one account at once: each conflict
  /// (another process appended first) reloads and decides again, so allow
  /// many, spread out with full jitter.
  static factum::runtime_options runtime_options(std::shared_ptr<factum::metrics> m) {
    factum::runtime_options o;
    o.telemetry = std::move(m);
    o.retry.max_attempts = 100;
    o.retry.initial_backoff = std::chrono::milliseconds{1};
    o.retry.max_backoff = std::chrono::milliseconds{100};
    o.retry.jitter = 1.0;
    return o;
  }

  /// Events of other `bank` processes are found by polling the file: poll
  /// often, a run is short. What the read side skips or gives up on goes
  /// to stderr.
  static factum::subscriptions_options read_side_options() {
    factum::subscriptions_options o;
    o.poll_interval = std::chrono::milliseconds{20};
    return o;
  }

  std::shared_ptr<factum::metrics> metrics_ = std::make_shared<factum::metrics>();  // before rt_
  factum::runtime rt_;
  factum::subscriptions subs_;  // after the runtime: it goes first
  model accounts_;
  std::optional<factum::subscription> summary_;
  std::optional<factum::subscription> transfers_;
};

}  // namespace bank
