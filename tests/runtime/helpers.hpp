#pragma once

// Shared pieces of the runtime tests: a blocking dispatch through the
// callback token, and the bank account aggregate.
#include <chrono>
#include <future>
#include <string>
#include <system_error>
#include <utility>

#include <factum/runtime.hpp>

#include "../domain/bank_account.hpp"

namespace factum_test {

using account = bank_account;

/// Options with `threads` threads (designated initializers would warn
/// under -Wextra on g++ 12 for every member left out).
inline factum::runtime_options threads(std::size_t n) {
  factum::runtime_options o;
  o.threads = n;
  return o;
}
inline factum::aggregate_options with_ttl(std::chrono::milliseconds ttl) {
  factum::aggregate_options o;
  o.ttl = ttl;
  return o;
}
inline factum::aggregate_options snapshot_every(std::uint64_t n) {
  factum::aggregate_options o;
  o.snapshot_every = n;
  return o;
}

/// Options for tests that race many writers on a few streams on purpose:
/// more attempts than the default, so a slow (sanitizer) build still wins.
inline factum::aggregate_options patient() {
  factum::aggregate_options o;
  o.retry = factum::retry_policy{};
  o.retry->max_attempts = 100;
  return o;
}

struct answer {
  std::error_code ec;
  factum::dispatch_result result;
};

/// Dispatches with a callback and waits for it.
template <class A = account>
answer run(factum::runtime& rt, std::string_view id, typename A::command cmd,
           factum::dispatch_options options = {}) {
  std::promise<answer> p;
  rt.dispatch<A>(id, std::move(cmd), std::move(options),
                 [&](std::error_code ec, factum::dispatch_result r) {
                   p.set_value({ec, std::move(r)});
                 });
  return p.get_future().get();
}

inline std::int64_t balance(factum::runtime& rt, std::string_view id) {
  return rt.state_of<account>(id).value().state.balance;
}

/// Transfers `amount` between two accounts in one multi-stream command.
inline auto transfer_decision(std::int64_t amount) {
  return [amount](const account::state& from,
                  const account::state& to) -> factum::decisions<account, account> {
    if (!from.open || !to.open) return {factum::reject("not_open", "both must be open"), {}};
    if (from.balance < amount)
      return {factum::reject("insufficient_funds", "balance " + std::to_string(from.balance)), {}};
    return {money_withdrawn{amount}, money_deposited{amount}};
  };
}

inline answer transfer(factum::runtime& rt, std::string from, std::string to, std::int64_t amount,
                       factum::dispatch_options options = {}) {
  std::promise<answer> p;
  rt.transact<account, account>({std::move(from), std::move(to)}, transfer_decision(amount),
                                std::move(options),
                                [&](std::error_code ec, factum::dispatch_result r) {
                                  p.set_value({ec, std::move(r)});
                                });
  return p.get_future().get();
}

}  // namespace factum_test
