#pragma once

// Replaces the global operator new so a test can make one allocation fail
// (std::bad_alloc): include it in exactly one file of an executable of its
// own. Allocations fail only on the thread that armed them, at the armed
// count. Every form that pairs with the replaced operator delete is replaced
// (also the nothrow ones), so sanitizers see malloc/free pairs throughout.
#include <cstdlib>
#include <new>

namespace factum_test::failing_new {

inline thread_local long countdown = -1;  // -1: off; n: the n-th next allocation fails
inline thread_local bool fired = false;   // set when an armed allocation failed

inline void* allocate(std::size_t n) {
  if (countdown >= 0 && countdown-- == 0) {
    fired = true;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

inline void* try_allocate(std::size_t n) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace factum_test::failing_new

void* operator new(std::size_t n) {
  return factum_test::failing_new::allocate(n);
}
void* operator new[](std::size_t n) {
  return factum_test::failing_new::allocate(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return factum_test::failing_new::try_allocate(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return factum_test::failing_new::try_allocate(n);
}
// Every new above returns malloc's memory, so free is the matching release;
// g++ (-O1 and up) cannot know that the replaced operators pair up.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop
