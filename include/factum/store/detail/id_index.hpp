#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <factum/core/uuid.hpp>

namespace factum::detail {

/// Event id -> global position, for the memory store: an open-addressing
/// table of (hash, position) pairs, 16 bytes a slot at most half full. The
/// store keeps the events, so a lookup confirms a hash match against the
/// event at that position (`same(position)`); a miss, the common case,
/// touches one cache line instead of a node per id.
class id_index {
 public:
  /// The position of the event whose id hashes to `h` and for which
  /// `same(position)` holds; 0 when there is none.
  template <class Same>
  [[nodiscard]] std::uint64_t find(std::uint64_t h, Same&& same) const {
    if (slots_.empty()) return 0;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.position == 0) return 0;
      if (s.hash == h && same(s.position)) return s.position;
    }
  }

  /// Adds an id known to be absent.
  /// Makes room for `n` more ids, so the next `n` inserts allocate nothing.
  void reserve(std::size_t n) {
    while ((size_ + n) * 2 > slots_.size())
      grow();
  }

  void insert(std::uint64_t h, std::uint64_t position) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(h, position);
    ++size_;
  }

  [[nodiscard]] static std::uint64_t hash(const uuid& id) noexcept {
    std::uint64_t h = std::hash<uuid>{}(id);
    h ^= h >> 33;  // spread the bits: the mask keeps the low ones
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
  }

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::uint64_t position = 0;  ///< 0: empty
  };

  void place(std::uint64_t h, std::uint64_t position) {
    std::size_t i = h & mask_;
    while (slots_[i].position != 0)
      i = (i + 1) & mask_;
    slots_[i] = {h, position};
  }

  void grow() {
    std::vector<slot> old =
        std::exchange(slots_, std::vector<slot>(std::max<std::size_t>(64, slots_.size() * 2)));
    mask_ = slots_.size() - 1;
    for (const slot& s : old)
      if (s.position != 0) place(s.hash, s.position);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace factum::detail
