#pragma once

// A transfer process manager for the read-side tests: it debits, credits,
// refunds a refused credit, and closes after a deadline.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include "helpers.hpp"

namespace factum_test {

struct transfer_requested {
  std::string id, from, to;
  std::int64_t amount = 0;
};
FACTUM_EVENT(transfer_requested, "TransferRequested", 1, id, from, to, amount)

struct transfer_closed {
  std::string id;
};
FACTUM_EVENT(transfer_closed, "TransferClosed", 1, id)

using transfer_codec = factum::codec<std::variant<transfer_requested, transfer_closed>>;

/// Debits, credits, refunds when the credit fails; closes after a deadline.
struct transfers {
  static constexpr std::string_view name = "transfers";
  using interested_in = factum::events<transfer_requested, transfer_closed>;
  struct state {
    std::string from;
    std::int64_t amount = 0;
    bool closed = false;
  };
  using command = std::variant<factum::send<account>>;
  std::chrono::milliseconds close_after{10};
  std::shared_ptr<std::atomic<int>> compensations = std::make_shared<std::atomic<int>>(0);

  factum::correlation correlate(const transfer_requested& e) const {
    return factum::correlation::start(e.id);
  }
  factum::correlation correlate(const transfer_closed& e) const {
    return factum::correlation::stop(e.id);
  }
  void apply(state& s, const transfer_requested& e) const {
    s.from = e.from;
    s.amount = e.amount;
  }
  void apply(state& s, const transfer_closed&) const { s.closed = true; }

  factum::reaction<command> handle(const state&, const transfer_requested& e) const {
    return {{factum::send<account>{e.from, withdraw_money{e.amount}},
             factum::send<account>{e.to, deposit_money{e.amount}}},
            {factum::deadline::in(close_after, transfer_closed{e.id})}};
  }
  factum::reaction<command> handle(const state&, const transfer_closed&) const { return {}; }

  std::vector<command> compensate(const state& s, const command& failed,
                                  const factum::error&) const {
    const auto& sent = std::get<factum::send<account>>(failed);
    if (!std::holds_alternative<deposit_money>(sent.command))
      return {};  // the debit: nothing to undo
    compensations->fetch_add(1);
    return {factum::send<account>{s.from, deposit_money{s.amount}}};  // refund
  }
};

inline void request(factum::event_store& store, const transfer_requested& t) {
  REQUIRE(store.append(factum::stream_id{"transfer-" + t.id}, factum::expected_version::no_stream(),
                       {transfer_codec::encode(t)}));
}

/// Waits until `check()` holds, up to `limit`.
template <class F>
bool eventually(F check, std::chrono::milliseconds limit = std::chrono::seconds{5}) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!check()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return true;
}

}  // namespace factum_test
