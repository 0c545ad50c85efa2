#pragma once

// Shared pieces of the read-side tests: subscribers that record what they
// saw, and a runtime with its subscriptions over one shared store.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <factum/subscribe.hpp>

#include "../runtime/helpers.hpp"

namespace factum_test {

/// What a recording subscriber saw, shared with the test.
struct seen {
  std::mutex mutex;
  std::vector<std::uint64_t> positions;
  std::int64_t deposited = 0;
  std::atomic<int> calls{0};

  void add(std::uint64_t p, std::int64_t amount = 0) {
    std::lock_guard lock(mutex);
    positions.push_back(p);
    deposited += amount;
  }
  std::int64_t total() {
    std::lock_guard lock(mutex);
    return deposited;
  }
  std::vector<std::uint64_t> snapshot() {
    std::lock_guard lock(mutex);
    return positions;
  }
};

/// Records every deposit and opening it handles, in order.
struct recorder {
  static constexpr std::string_view name = "recorder";
  using interested_in = factum::events<account_opened, money_deposited>;
  std::shared_ptr<seen> out = std::make_shared<seen>();

  void handle(const account_opened&, const factum::recorded_event& e) {
    out->add(e.global_position);
  }
  void handle(const money_deposited& d, const factum::recorded_event& e) {
    out->add(e.global_position, d.amount);
  }
};

/// Throws on deposits of `poison` (always), handles the rest.
struct picky {
  static constexpr std::string_view name = "picky";
  using interested_in = factum::events<money_deposited>;
  std::int64_t poison = 13;
  std::shared_ptr<seen> out = std::make_shared<seen>();

  void handle(const money_deposited& d, const factum::recorded_event& e) {
    out->calls.fetch_add(1);
    if (d.amount == poison) throw std::runtime_error("cannot take " + std::to_string(d.amount));
    out->add(e.global_position, d.amount);
  }
};

/// Balances by stream, in a memory read model.
using balances = factum::memory_read_model<std::string, std::int64_t>;
struct balance_projection {
  static constexpr std::string_view name = "balances";
  using interested_in = factum::events<account_opened, money_deposited, money_withdrawn>;

  void project(balances::writer& w, const account_opened& o, const factum::recorded_event& e) {
    w.put(e.stream.str(), o.initial);
  }
  void project(balances::writer& w, const money_deposited& d, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b += d.amount; });
  }
  void project(balances::writer& w, const money_withdrawn& m, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b -= m.amount; });
  }
};

/// Options with a fast retry policy, so give-ups come quickly in tests.
inline factum::subscription_options quick(std::uint32_t attempts = 3) {
  factum::subscription_options o;
  o.retry.max_attempts = attempts;
  o.retry.initial_backoff = std::chrono::milliseconds{1};
  o.retry.max_backoff = std::chrono::milliseconds{5};
  return o;
}

inline factum::subscriptions_options quiet(
    std::chrono::milliseconds poll = std::chrono::milliseconds{20}) {
  factum::subscriptions_options o;
  o.poll_interval = poll;
  o.log = {};
  return o;
}

/// The position of the store's last event.
inline factum::position head(factum::runtime& rt) {
  return rt.store().head().value();
}

}  // namespace factum_test
