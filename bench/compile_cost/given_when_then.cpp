// compile-cost: ten given/when/then cases over the four aggregates of
// domain.hpp, called from a plain main (no test framework is measured).
#include <cstdio>
#include <exception>

#include <factum/domain/testing.hpp>

#include "domain.hpp"

using factum::testing::given;
using namespace cc;

static void account_deposit() {
  given<account>({account_opened{"ann"}})
      .when(deposit{50})
      .then_expect({money_deposited{50}})
      .then_state([](const account::state& s) { return s.balance == 50; });
}
static void account_overdraw() {
  given<account>({account_opened{"ann"}, money_deposited{10}})
      .when(withdraw{20})
      .then_reject("insufficient_funds");
}
static void account_open_twice() {
  given<account>({account_opened{"ann"}}).when(open_account{"bob"}).then_reject("already_open");
}
static void transfer_request() {
  given<transfer>()
      .when(request_transfer{"a", "b", 5})
      .then_expect({transfer_requested{"a", "b", 5}});
}
static void transfer_complete() {
  given<transfer>({transfer_requested{"a", "b", 5}})
      .when(complete_transfer{true})
      .then_expect({transfer_completed{true}});
}
static void cart_add() {
  given<cart>({cart_created{"ann", {}}})
      .when(add_items{{{"sku-1", 2, 1.5}, {"sku-2", 1, 3.0}}})
      .then_expect({items_added{{{"sku-1", 2, 1.5}, {"sku-2", 1, 3.0}}}});
}
static void cart_check_out() {
  given<cart>({cart_created{"ann", {"WINTER"}}, items_added{{{"sku-1", 2, 1.5}}}})
      .when(check_out{})
      .then_expect({cart_checked_out{{"sku-1"}, 3.0}})
      .then_state([](const cart::state& s) { return s.checked_out; });
}
static void cart_empty() {
  given<cart>({cart_created{"ann", {}}}).when(check_out{}).then_reject("empty_cart");
}
static void stock_reserve() {
  given<stock_item>({item_registered{"sku-1", "lamp"}, stock_received{3}})
      .when(reserve_stock{2, "o-1"})
      .then_expect({stock_reserved{2, "o-1"}})
      .then_state([](const stock_item::state& s) { return s.on_hand == 1; });
}
static void stock_retire() {
  given<stock_item>({item_registered{"sku-1", "lamp"}})
      .when(retire_item{})
      .then_expect({item_retired{}});
}

int main() {
  try {
    account_deposit();
    account_overdraw();
    account_open_twice();
    transfer_request();
    transfer_complete();
    cart_add();
    cart_check_out();
    cart_empty();
    stock_reserve();
    stock_retire();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::puts("10 scenarios passed");
  return 0;
}
