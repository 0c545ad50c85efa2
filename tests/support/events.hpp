#pragma once

// Events shared by the tests: the conformance suite's small bank account
// domain (one definition of it).
#include <factum/core/event.hpp>
#include <factum/store/detail/conformance_events.hpp>

namespace factum_test {

using factum::conformance::account_codec;
using factum::conformance::account_event;
using factum::conformance::account_opened;
using factum::conformance::money_deposited;
using factum::conformance::money_withdrawn;

inline factum::event_data deposit(std::int64_t amount) {
  return account_codec::encode(money_deposited{amount});
}

}  // namespace factum_test
