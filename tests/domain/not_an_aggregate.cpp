// Compiled by the domain.aggregate_error.* tests with one MISSING_<piece>
// defined; each must fail with the message naming that piece.
#include <factum/domain.hpp>

struct happened {
  int x = 0;
};
FACTUM_EVENT(happened, "Happened", 1, x)

struct st {};

struct agg {
#ifndef MISSING_category
  static constexpr std::string_view category = "agg";
#endif
#ifndef MISSING_event
  using event = std::variant<happened>;
#else
  using event = std::variant<int>;  // not a registered event
#endif
#ifndef MISSING_command
  using command = int;
#endif
#ifndef MISSING_state
  using state = st;
#endif
#ifndef MISSING_execute
  static factum::decision<event> execute(const st&, const int&) {
    return {};
  }
#endif
#ifndef MISSING_apply
  static void apply(st&, const event&) {}
#endif
};

static_assert(factum::check_aggregate<agg>());

int main() {}
