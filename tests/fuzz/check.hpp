#pragma once

// What a fuzz target asserts beyond "no crash, no sanitizer report": a
// property that must hold for every input. A failed check aborts, so
// libFuzzer saves the input as a crash.
#include <cstdio>
#include <cstdlib>

#define FACTUM_FUZZ_CHECK(cond)                                                          \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
