#include "harness.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <sys/vfs.h>

namespace factum_bench {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

scratch_dir::scratch_dir(const std::filesystem::path& parent) {
  std::random_device rd;
  path_ = (parent.empty() ? std::filesystem::temp_directory_path() : parent) /
          ("factum-bench-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void scratch_dir::remove_db(const std::filesystem::path& file) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(file.string() + suffix, ec);
}

std::string file_system(const std::filesystem::path& p) {
  struct statfs s {};
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    default: {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(s.f_type));
      return hex;
    }
  }
}

namespace {

/// Rates and times to a readable precision: whole units (printed without a
/// fraction) from 1,000 up, three significant digits below.
nlohmann::ordered_json rounded(double v) {
  if (std::abs(v) >= 1000 || v == 0) return static_cast<std::int64_t>(std::llround(v));
  const double scale = std::pow(10.0, 2 - std::floor(std::log10(std::abs(v))));
  return std::round(v * scale) / scale;
}

}  // namespace

nlohmann::ordered_json to_json(const figure& f) {
  nlohmann::ordered_json j;
  j["name"] = f.name;
  const double value = median(f.samples);
  j["value"] = rounded(value);
  j["unit"] = f.unit;
  if (f.baseline_name.empty()) {
    j["baseline_name"] = nullptr;
    j["baseline"] = nullptr;
  } else {
    const double baseline = median(f.baseline_samples);
    j["baseline_name"] = f.baseline_name;
    j["baseline"] = rounded(baseline);
    // Both are in the same unit: every baseline here is.
    if (baseline > 0) j["ratio"] = std::round(value / baseline * 1000) / 1000;
  }
  j["params"] = f.params;
  return j;
}

}  // namespace factum_bench
