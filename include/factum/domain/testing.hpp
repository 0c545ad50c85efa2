#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <factum/domain/aggregate.hpp>
#include <factum/domain/rejection_error.hpp>

namespace factum::testing {

/// Whether every alternative has `==` (std::variant's own `==` is not
/// constrained, so `std::equality_comparable<variant>` cannot tell).
template <class V>
struct alternatives_comparable : std::false_type {};
template <class... Ts>
struct alternatives_comparable<std::variant<Ts...>>
    : std::bool_constant<(std::equality_comparable<Ts> && ...)> {};

/// Thrown when a scenario's expectation does not hold; its message says what
/// was expected and what happened. Any test framework reports an exception
/// as a failure, so the fixture needs none of them.
class expectation_failed : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// One given/when/then run of an aggregate's pure functions, without a
/// runtime or a store.
///
/// ```
/// factum::testing::given<bank_account>({account_opened{"ann"}, money_deposited{100}})
///     .when(withdraw{200})
///     .then_reject("insufficient_funds");
///
/// factum::testing::given<bank_account>({account_opened{"ann"}})
///     .when(deposit{50})
///     .then_expect({money_deposited{50}})
///     .then_state([](const bank_account::state& s) { return s.balance == 50; });
/// ```
/// Events are compared as they would be stored: registered name, schema
/// version and JSON text, so events need no `operator==`. Every event the
/// aggregate decides is also checked to survive the codec (encode, decode,
/// encode again gives the same text), which catches a field missing from
/// FACTUM_EVENT.
template <class A>
class scenario {
  static_assert(check_aggregate<A>());

 public:
  using event = typename A::event;
  using command = typename A::command;
  using state = typename A::state;

  explicit scenario(std::vector<event> history) : history_(std::move(history)) {
    for (const auto& e : history_)
      factum::evolve<A>(state_, e);
  }

  /// Runs `execute` on the state the given events left. An exception thrown
  /// by domain code is kept for `then_throw`; any other `then_` reports it.
  scenario&& when(command c) && {
    ran_ = true;
    try {
      decision_ = factum::decide<A>(state_, c);
    } catch (const std::exception& e) {
      thrown_ = e.what();
    } catch (...) {
      thrown_ = "an exception that is not a std::exception";
    }
    return std::move(*this);
  }

  /// Expects exactly these events, in order.
  scenario&& then_expect(std::vector<event> expected) && {
    accepted("events");
    const auto& got = decision_.events();
    if (describe(got) != describe(expected))
      fail("expected events " + describe(expected) + ", got " + describe(got));
    for (const auto& e : got)
      round_trip(e);
    return std::move(*this);
  }

  /// Expects the command to be accepted with no events.
  scenario&& then_expect_nothing() && { return std::move(*this).then_expect({}); }

  /// Expects a rejection with this code.
  scenario&& then_reject(std::string_view code) && {
    ran();
    if (thrown_)
      fail("expected rejection '" + std::string(code) + "', got an exception: " + *thrown_);
    if (!decision_.rejected())
      fail("expected rejection '" + std::string(code) + "', got events " +
           describe(decision_.events()));
    if (decision_.rejection().code != code)
      fail("expected rejection '" + std::string(code) + "', got rejection '" +
           decision_.rejection().code + "': " + decision_.rejection().message);
    return std::move(*this);
  }

  /// Expects a typed rejection: this enumerator of a FACTUM_REJECTIONS enum.
  template <rejection_enum E>
  scenario&& then_reject(E expected) && {
    const std::error_code code = make_error_code(expected);
    const std::string name = std::string(code.category().name()) + "/" + code.message();
    std::move(*this).then_reject(code.message());
    if (decision_.rejection().typed_code != code)
      fail("expected rejection " + name + ", got the code '" + decision_.rejection().code +
           "' as " +
           (decision_.rejection().typed_code
                ? std::string(decision_.rejection().typed_code.category().name())
                : std::string("a string")));
    return std::move(*this);
  }

  /// Expects `execute` to throw (a bug in domain code, not a rejection).
  scenario&& then_throw() && {
    ran();
    if (!thrown_) fail("expected an exception, got none");
    return std::move(*this);
  }

  /// Applies the decided events and checks the state with `check`, which
  /// returns false (or throws) when the state is wrong.
  template <class Check>
  scenario&& then_state(Check&& check) && {
    accepted("a state");
    state after = state_;
    for (const auto& e : decision_.events())
      factum::evolve<A>(after, e);
    if (!check(std::as_const(after))) fail("the state after the events is not the expected one");
    return std::move(*this);
  }

  /// The decision, for assertions of one's own.
  [[nodiscard]] const decision<event>& result() const {
    ran();
    return decision_;
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw expectation_failed("factum::testing (" + std::string(A::category) + "): " + what);
  }
  void ran() const {
    if (!ran_) fail("no command: call when(...) before then_...");
  }
  void accepted(const char* expected) const {
    ran();
    if (thrown_) fail(std::string("expected ") + expected + ", got an exception: " + *thrown_);
    if (decision_.rejected())
      fail(std::string("expected ") + expected + ", got rejection '" + decision_.rejection().code +
           "': " + decision_.rejection().message);
  }

  static std::string describe(const std::vector<event>& events) {
    std::string out = "[";
    for (const auto& e : events) {
      const auto d = codec<event>::encode(e);
      if (out.size() > 1) out += ", ";
      out += d.type + " v" + std::to_string(d.schema_version) + " " + d.data;
    }
    return out + "]";
  }

  static void round_trip(const event& e) {
    const auto d = codec<event>::encode(e);
    auto back = codec<event>::decode(d.type, d.schema_version, d.data);
    if (!back) fail("event " + d.type + " does not decode: " + back.error().message());
    const auto again = codec<event>::encode(*back);
    bool same = again.data == d.data;
    if constexpr (alternatives_comparable<event>::value) same = same && *back == e;
    if (!same)
      fail("event " + d.type + " changes through the codec: " + d.data + " decodes to " +
           again.data + " (is every field listed in FACTUM_EVENT?)");
  }

  std::vector<event> history_;
  state state_{};
  decision<event> decision_;
  std::optional<std::string> thrown_;
  bool ran_ = false;
};

/// Starts a scenario: the aggregate's state after `history`.
template <class A>
[[nodiscard]] scenario<A> given(std::vector<typename A::event> history = {}) {
  return scenario<A>{std::move(history)};
}

}  // namespace factum::testing
