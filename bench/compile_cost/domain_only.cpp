// compile-cost baseline: the four aggregates' domain headers and nothing else.
#include "domain.hpp"

int main() {
  return 0;
}
