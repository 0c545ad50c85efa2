#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <unistd.h>

namespace factum::detail {

/// The memory budget: the cgroup v2 limit when there is one, else total RAM.
inline std::uint64_t memory_budget_bytes() {
  std::uint64_t budget = 0;
  if (std::ifstream f{"/sys/fs/cgroup/memory.max"}; f) {
    std::string text;
    f >> text;
    if (!text.empty() && text != "max") budget = std::stoull(text);
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  const std::uint64_t ram =
      pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                            : 0;
  if (budget == 0 || (ram != 0 && ram < budget)) budget = ram;
  return budget;
}

/// The default memory probe: resident set size over the memory budget.
inline double resident_fraction() {
  static const std::uint64_t budget = memory_budget_bytes();
  std::ifstream f{"/proc/self/statm"};
  std::uint64_t size = 0, resident = 0;
  if (!(f >> size >> resident) || budget == 0) return 0.0;
  const auto bytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return std::min(1.0, static_cast<double>(bytes) / static_cast<double>(budget));
}

}  // namespace factum::detail
