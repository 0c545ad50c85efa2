#pragma once

// The bench's domain: the bank account of examples/bank, with a state that
// can be written to a snapshot.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/domain.hpp>

namespace factum_bench {

struct account_opened {
  std::string owner;
  std::int64_t initial = 0;
};
FACTUM_EVENT(account_opened, "AccountOpened", 1, owner, initial)

struct money_deposited {
  std::int64_t amount = 0;
};
FACTUM_EVENT(money_deposited, "MoneyDeposited", 1, amount)

struct money_withdrawn {
  std::int64_t amount = 0;
};
FACTUM_EVENT(money_withdrawn, "MoneyWithdrawn", 1, amount)

using account_event = std::variant<account_opened, money_deposited, money_withdrawn>;
using account_codec = factum::codec<account_event>;

/// What an account's events leave behind; `version` is the last applied one.
struct account_state {
  bool open = false;
  std::string owner;
  std::int64_t balance = 0;
  std::uint64_t version = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(account_state, open, owner, balance, version)

inline void evolve(account_state& s, const account_event& e) {
  struct visitor {
    account_state& s;
    void operator()(const account_opened& e) const {
      s.open = true;
      s.owner = e.owner;
      s.balance = e.initial;
    }
    void operator()(const money_deposited& e) const { s.balance += e.amount; }
    void operator()(const money_withdrawn& e) const { s.balance -= e.amount; }
  };
  std::visit(visitor{s}, e);
  ++s.version;
}

/// The event at `version` of account number `account`: opened first, then
/// deposits with a withdrawal every fourth event. Each has a fresh UUIDv7.
inline factum::event_data make_event(std::size_t account, std::uint64_t version) {
  if (version == 1)
    return account_codec::encode(account_opened{"owner-" + std::to_string(account), 100});
  if (version % 4 == 0)
    return account_codec::encode(money_withdrawn{static_cast<std::int64_t>(version % 50 + 1)});
  return account_codec::encode(money_deposited{static_cast<std::int64_t>(version * 37 % 1000 + 1)});
}

/// Events `first_version` .. `first_version + count - 1` of account `account`.
inline std::vector<factum::event_data> make_events(std::size_t account, std::uint64_t first_version,
                                                   std::size_t count) {
  std::vector<factum::event_data> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(make_event(account, first_version + i));
  return out;
}

/// The stream of account number `account`.
inline factum::stream_id account_stream(std::size_t account) {
  return factum::stream_id::of("account", "acc-" + std::to_string(account));
}

}  // namespace factum_bench
