#pragma once

// A small shop for the runtime's concurrency tests: inventory (stock and
// reservations of one sku), an order that an approver approves, and the
// approver's authority, which a multi-stream command reads without writing.
#include <cstdint>
#include <string>
#include <variant>

#include <factum/domain.hpp>

namespace factum_test::shop {

// --- inventory -------------------------------------------------------------

struct restocked {
  std::int64_t quantity = 0;
};
FACTUM_EVENT(restocked, "Restocked", 1, quantity)

struct reserved {
  std::int64_t quantity = 0;
};
FACTUM_EVENT(reserved, "Reserved", 1, quantity)

struct restock {
  std::int64_t quantity = 0;
};
struct reserve {
  std::int64_t quantity = 0;
};
// Commands with a to_json have their payload in their command id's digest,
// so the same id with another quantity is another command.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(restock, quantity)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(reserve, quantity)

struct inventory {
  static constexpr std::string_view category = "inventory";
  using event = std::variant<restocked, reserved>;
  using command = std::variant<restock, reserve>;
  struct state {
    std::int64_t stock = 0;
    std::int64_t reserved = 0;
    std::uint64_t events = 0;  ///< events applied: the stream version
    friend bool operator==(const state&, const state&) = default;
    NLOHMANN_DEFINE_TYPE_INTRUSIVE(state, stock, reserved, events)
  };

  static factum::decision<event> execute(const state& s, const command& c) {
    if (const auto* r = std::get_if<restock>(&c)) return restocked{r->quantity};
    const auto& r = std::get<reserve>(c);
    if (s.stock - s.reserved < r.quantity)
      return factum::reject("out_of_stock", std::to_string(s.stock - s.reserved) + " left");
    return reserved{r.quantity};
  }
  static void apply(state& s, const event& e) {
    if (const auto* r = std::get_if<restocked>(&e)) s.stock += r->quantity;
    if (const auto* r = std::get_if<reserved>(&e)) s.reserved += r->quantity;
    ++s.events;
  }
};
using inventory_codec = factum::codec<inventory::event>;

// --- approver --------------------------------------------------------------

struct authority_granted {
  std::int64_t limit = 0;
};
FACTUM_EVENT(authority_granted, "AuthorityGranted", 1, limit)

struct authority_revoked {
  std::string reason;
};
FACTUM_EVENT(authority_revoked, "AuthorityRevoked", 1, reason)

struct grant {
  std::int64_t limit = 0;
};
struct revoke {
  std::string reason;
};

struct approver {
  static constexpr std::string_view category = "approver";
  using event = std::variant<authority_granted, authority_revoked>;
  using command = std::variant<grant, revoke>;
  struct state {
    bool authorised = false;
    std::int64_t limit = 0;
    friend bool operator==(const state&, const state&) = default;
  };

  static factum::decision<event> execute(const state&, const command& c) {
    if (const auto* g = std::get_if<grant>(&c)) return authority_granted{g->limit};
    return authority_revoked{std::get<revoke>(c).reason};
  }
  static void apply(state& s, const event& e) {
    if (const auto* g = std::get_if<authority_granted>(&e)) {
      s.authorised = true;
      s.limit = g->limit;
    } else {
      s.authorised = false;
      s.limit = 0;
    }
  }
};
using approver_codec = factum::codec<approver::event>;

// --- order -----------------------------------------------------------------

struct order_approved {
  std::string approver;
  std::int64_t quantity = 0;
};
FACTUM_EVENT(order_approved, "OrderApproved", 1, approver, quantity)

struct order {
  static constexpr std::string_view category = "order";
  using event = std::variant<order_approved>;
  struct nothing {};
  using command = std::variant<nothing>;
  struct state {
    bool approved = false;
  };

  static factum::decision<event> execute(const state&, const command&) { return {}; }
  static void apply(state& s, const event&) { s.approved = true; }
};

}  // namespace factum_test::shop
