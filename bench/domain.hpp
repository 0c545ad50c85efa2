#pragma once

// The bench's domain: the bank account of examples/bank (one definition of
// it), with a state that can be written to a snapshot and event generators.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/domain.hpp>

#include "../examples/bank/bank_domain.hpp"

namespace factum_bench {

using bank::account_opened;
using bank::money_deposited;
using bank::money_withdrawn;
using account_event = bank::event;
using account_codec = bank::codec;

/// The example's account state plus the last applied version, as snapshots store it.
struct account_state {
  bank::state account;
  std::uint64_t version = 0;
};

inline void to_json(nlohmann::json& j, const account_state& s) {
  j = {{"open", s.account.open},
       {"owner", s.account.owner},
       {"balance", s.account.balance},
       {"version", s.version}};
}
inline void from_json(const nlohmann::json& j, account_state& s) {
  j.at("open").get_to(s.account.open);
  j.at("owner").get_to(s.account.owner);
  j.at("balance").get_to(s.account.balance);
  j.at("version").get_to(s.version);
}

inline void evolve(account_state& s, const account_event& e) {
  bank::account::apply(s.account, e);
  ++s.version;
}

/// The event at `version` of account number `account`: opened first, then
/// deposits with a withdrawal every fourth event. Each has a fresh UUIDv7.
inline factum::event_data make_event(std::size_t account, std::uint64_t version) {
  if (version == 1)
    return account_codec::encode(account_opened{"owner-" + std::to_string(account)});
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
