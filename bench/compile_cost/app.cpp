// compile-cost: a whole application TU, compiled with -c only: the account
// aggregate, a runtime over the SQLite store, and subscriptions with one
// projection (into a memory read model) and one process manager.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <factum/runtime.hpp>
#include <factum/store/sqlite_store.hpp>
#include <factum/subscribe.hpp>

#include "account.hpp"

namespace cc {

using balances = factum::memory_read_model<std::string, std::int64_t>;

struct balance_projection {
  static constexpr std::string_view name = "balances";
  using interested_in = factum::events<account_opened, money_deposited, money_withdrawn>;

  void project(balances::writer& w, const account_opened&, const factum::recorded_event& e) {
    w.put(e.stream.str(), 0);
  }
  void project(balances::writer& w, const money_deposited& d, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b += d.amount; });
  }
  void project(balances::writer& w, const money_withdrawn& m, const factum::recorded_event& e) {
    w.update(e.stream.str(), [&](std::int64_t& b) { b -= m.amount; });
  }
};

/// Gives every new account a welcome deposit.
struct welcome_bonus {
  static constexpr std::string_view name = "welcome-bonus";
  using interested_in = factum::events<account_opened>;
  struct state {
    bool paid = false;
  };
  using command = std::variant<factum::send<account>>;

  factum::correlation correlate(const account_opened&, const factum::recorded_event& r) const {
    return factum::correlation::stop(r.stream.str());
  }
  void apply(state& s, const account_opened&) const { s.paid = true; }
  factum::reaction<command> handle(const state&, const account_opened&) const {
    return {factum::send<account>{"bonus", deposit{10}}};
  }
  std::vector<command> compensate(const state&, const command&, const factum::error&) const {
    return {};
  }
};

}  // namespace cc

int main(int argc, char** argv) {
  auto store = factum::sqlite_store::open(argc > 1 ? argv[1] : "compile-cost.db");
  if (!store) return 1;
  factum::runtime rt{std::move(*store)};
  factum::subscriptions subs{rt};
  auto model = std::make_shared<cc::balances>();
  auto projection = subs.add(cc::balance_projection{}, model);
  auto bonus = subs.add_process(cc::welcome_bonus{});
  rt.dispatch<cc::account>("acc-1", cc::open_account{"ann"},
                           [](std::error_code ec, factum::dispatch_result r) {
                             if (!ec) std::printf("version %llu\n", (unsigned long long)r.version);
                           });
  auto done = rt.dispatch<cc::account>("acc-1", cc::deposit{100}, boost::asio::use_future);
  done.get();
  const auto head = rt.store().head();
  if (!head || !projection.wait_until(*head, std::chrono::seconds{5})) return 1;
  return model->get("account-acc-1").value_or(0) == 100 ? 0 : 1;
}
