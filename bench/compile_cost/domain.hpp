#pragma once

// Four aggregates for bench/compile-cost.sh: a bank account (account.hpp), a
// transfer, a cart (whose events hold vectors and a nested struct, so they
// take the codec's nlohmann path) and a stock item. A copy, not the bank example's header, so
// the figures do not move when the example changes.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <factum/domain.hpp>

#include "account.hpp"

namespace cc {

// ---- transfer ----

struct transfer_requested {
  std::string from;
  std::string to;
  std::int64_t amount = 0;
};
FACTUM_EVENT(transfer_requested, "TransferRequested", 1, from, to, amount)
struct transfer_completed {
  bool refunded = false;
};
FACTUM_EVENT(transfer_completed, "TransferCompleted", 1, refunded)

struct request_transfer {
  std::string from;
  std::string to;
  std::int64_t amount = 0;
};
struct complete_transfer {
  bool refunded = false;
};

struct transfer {
  static constexpr std::string_view category = "transfer";
  using event = std::variant<transfer_requested, transfer_completed>;
  using command = std::variant<request_transfer, complete_transfer>;
  struct state {
    bool requested = false;
    bool done = false;
  };
  static factum::decision<event> execute(const state& s, const command& c) {
    if (const auto* r = std::get_if<request_transfer>(&c)) {
      if (s.requested) return factum::reject("already_requested");
      if (r->amount <= 0) return factum::reject("invalid_amount");
      return transfer_requested{r->from, r->to, r->amount};
    }
    if (!s.requested || s.done) return factum::reject("not_pending");
    return transfer_completed{std::get<complete_transfer>(c).refunded};
  }
  static void apply(state& s, const event& e) {
    if (std::holds_alternative<transfer_requested>(e))
      s.requested = true;
    else
      s.done = true;
  }
};
static_assert(factum::aggregate<transfer>);

// ---- cart: events with nested structs and vectors ----

struct line {
  std::string sku;
  std::uint32_t quantity = 0;
  double price = 0;
};
FACTUM_JSON(line, sku, quantity, price)

struct cart_created {
  std::string customer;
  std::vector<std::string> coupons;
};
FACTUM_EVENT(cart_created, "CartCreated", 1, customer, coupons)
struct items_added {
  std::vector<line> lines;
};
FACTUM_EVENT(items_added, "ItemsAdded", 1, lines)
struct cart_checked_out {
  std::vector<std::string> skus;
  double total = 0;
};
FACTUM_EVENT(cart_checked_out, "CartCheckedOut", 1, skus, total)

struct create_cart {
  std::string customer;
  std::vector<std::string> coupons;
};
struct add_items {
  std::vector<line> lines;
};
struct check_out {};

struct cart {
  static constexpr std::string_view category = "cart";
  using event = std::variant<cart_created, items_added, cart_checked_out>;
  using command = std::variant<create_cart, add_items, check_out>;
  struct state {
    bool created = false;
    bool checked_out = false;
    std::vector<line> lines;
  };
  static factum::decision<event> execute(const state& s, const command& c) {
    return std::visit([&s](const auto& cmd) { return decide(s, cmd); }, c);
  }
  static void apply(state& s, const event& e) {
    std::visit([&s](const auto& ev) { evolve(s, ev); }, e);
  }

 private:
  static factum::decision<event> decide(const state& s, const create_cart& c) {
    if (s.created) return factum::reject("already_created");
    return cart_created{c.customer, c.coupons};
  }
  static factum::decision<event> decide(const state& s, const add_items& c) {
    if (!s.created || s.checked_out) return factum::reject("not_open");
    if (c.lines.empty()) return {};
    return items_added{c.lines};
  }
  static factum::decision<event> decide(const state& s, const check_out&) {
    if (!s.created || s.checked_out) return factum::reject("not_open");
    if (s.lines.empty()) return factum::reject("empty_cart");
    cart_checked_out out;
    for (const auto& l : s.lines) {
      out.skus.push_back(l.sku);
      out.total += l.price * l.quantity;
    }
    return out;
  }
  static void evolve(state& s, const cart_created&) { s.created = true; }
  static void evolve(state& s, const items_added& e) {
    s.lines.insert(s.lines.end(), e.lines.begin(), e.lines.end());
  }
  static void evolve(state& s, const cart_checked_out&) { s.checked_out = true; }
};
static_assert(factum::aggregate<cart>);

// ---- stock item ----

struct item_registered {
  std::string sku;
  std::string name;
};
FACTUM_EVENT(item_registered, "ItemRegistered", 1, sku, name)
struct stock_received {
  std::uint32_t quantity = 0;
};
FACTUM_EVENT(stock_received, "StockReceived", 1, quantity)
struct stock_reserved {
  std::uint32_t quantity = 0;
  std::string order;
};
FACTUM_EVENT(stock_reserved, "StockReserved", 1, quantity, order)
struct item_retired {};
FACTUM_EVENT_NAME(item_retired, "ItemRetired", 1)
inline void to_json(factum::json& j, const item_retired&) {
  j = factum::json::object();
}
inline void from_json(const factum::json&, item_retired&) {}

struct register_item {
  std::string sku;
  std::string name;
};
struct receive_stock {
  std::uint32_t quantity = 0;
};
struct reserve_stock {
  std::uint32_t quantity = 0;
  std::string order;
};
struct retire_item {};

struct stock_item {
  static constexpr std::string_view category = "stock";
  using event = std::variant<item_registered, stock_received, stock_reserved, item_retired>;
  using command = std::variant<register_item, receive_stock, reserve_stock, retire_item>;
  struct state {
    bool registered = false;
    bool retired = false;
    std::uint32_t on_hand = 0;
  };
  static factum::decision<event> execute(const state& s, const command& c) {
    return std::visit([&s](const auto& cmd) { return decide(s, cmd); }, c);
  }
  static void apply(state& s, const event& e) {
    std::visit([&s](const auto& ev) { evolve(s, ev); }, e);
  }

 private:
  static factum::decision<event> decide(const state& s, const register_item& c) {
    if (s.registered) return factum::reject("already_registered");
    return item_registered{c.sku, c.name};
  }
  static factum::decision<event> decide(const state& s, const receive_stock& c) {
    if (!s.registered || s.retired) return factum::reject("not_active");
    return stock_received{c.quantity};
  }
  static factum::decision<event> decide(const state& s, const reserve_stock& c) {
    if (!s.registered || s.retired) return factum::reject("not_active");
    if (c.quantity > s.on_hand) return factum::reject("out_of_stock");
    return stock_reserved{c.quantity, c.order};
  }
  static factum::decision<event> decide(const state& s, const retire_item&) {
    if (s.retired) return factum::reject("already_retired");
    return item_retired{};
  }
  static void evolve(state& s, const item_registered&) { s.registered = true; }
  static void evolve(state& s, const stock_received& e) { s.on_hand += e.quantity; }
  static void evolve(state& s, const stock_reserved& e) { s.on_hand -= e.quantity; }
  static void evolve(state& s, const item_retired&) { s.retired = true; }
};
static_assert(factum::aggregate<stock_item>);

}  // namespace cc

// The codecs are compiled once, in codecs.cpp (see FACTUM_EXTERN_CODEC);
// -DCC_INLINE_CODEC compiles them in every TU, as without the macro.
#ifndef CC_INLINE_CODEC
FACTUM_EXTERN_CODEC(cc::transfer::event)
FACTUM_EXTERN_CODEC(cc::cart::event)
FACTUM_EXTERN_CODEC(cc::stock_item::event)
#endif
