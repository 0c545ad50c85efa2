// Compiled by the domain.aggregate_error.* tests with one MISSING_<piece>
// defined; each must fail with the message naming that piece, and the
// type it is missing for.
#include <factum/domain.hpp>

struct happened {
  int x = 0;
};
FACTUM_EVENT(happened, "Happened", 1, x)

struct also_happened {
  int y = 0;
};
#ifndef MISSING_registration
FACTUM_EVENT(also_happened, "AlsoHappened", 1, y)
#endif

struct open_it {};
struct close_it {};

struct st {};

struct agg {
#ifndef MISSING_category
  static constexpr std::string_view category = "agg";
#endif
#ifndef MISSING_event
  using event = std::variant<happened, also_happened>;
#else
  using event = happened;  // not a variant
#endif
#ifndef MISSING_command
  using command = std::variant<open_it, close_it>;
#endif
#ifndef MISSING_state
  using state = st;
#endif
#ifdef WRONG_execute
  static int execute(const st&, const command&) {
    return 0;
  }
#endif
  static factum::decision<event> decide(const st&, const open_it&) {
    return happened{1};
  }
#ifndef MISSING_decide
  static factum::decision<event> decide(const st&, const close_it&) {
    return {};
  }
#endif
  static void evolve(st&, const happened&) {}
#ifndef MISSING_evolve
  static void evolve(st&, const also_happened&) {}
#endif
};

#ifdef CODEC_ONLY
using codec = factum::codec<std::variant<happened, also_happened>>;
static_assert(codec::types().size() == 2);
#else
static_assert(factum::check_aggregate<agg>());
#endif

int main() {}
