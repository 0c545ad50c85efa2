#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <factum/core/error.hpp>
#include <factum/core/position.hpp>
#include <factum/core/result.hpp>

namespace factum {

/// A key/value read model in memory: what a projection writes and queries
/// read, thread-safe (queries share a lock, a projection's batch takes it
/// alone).
///
/// A batch of events takes effect whole or not at all, together with the
/// projection's checkpoint, which lives in the model (not in the event
/// store): the model starts empty in every process, and so its projection
/// replays from the start.
/// ```
/// auto balances = std::make_shared<factum::memory_read_model<std::string, std::int64_t>>();
/// subs.add(balance_projection{}, balances);
/// std::optional<std::int64_t> b = balances->get("acc-1");
/// ```
template <class Key, class Value, class Hash = std::hash<Key>>
class memory_read_model {
  using map = std::unordered_map<Key, Value, Hash>;

 public:
  /// What a projection writes through, inside one batch. Every change can be
  /// undone until the batch commits.
  class writer {
   public:
    /// The value at `key`, this batch's changes included; null when absent.
    [[nodiscard]] const Value* find(const Key& key) const {
      const auto it = rows_.find(key);
      return it == rows_.end() ? nullptr : &it->second;
    }
    /// Sets the value at `key`.
    void put(const Key& key, Value value) {
      remember(key);
      rows_.insert_or_assign(key, std::move(value));
    }
    /// Changes the value at `key` in place (a default one when absent).
    template <class F>
    void update(const Key& key, F&& change) {
      remember(key);
      std::forward<F>(change)(rows_[key]);
    }
    /// Removes `key`; true when it was there.
    bool erase(const Key& key) {
      if (!rows_.contains(key)) return false;
      remember(key);
      rows_.erase(key);
      return true;
    }
    /// Removes every row.
    void clear() {
      if (!whole_) whole_ = rows_;
      rows_.clear();
    }

   private:
    friend class memory_read_model;
    explicit writer(map& rows) : rows_(rows) {}
    void remember(const Key& key) {
      if (whole_ || undo_.contains(key)) return;
      const auto it = rows_.find(key);
      undo_.emplace(key, it == rows_.end() ? std::nullopt : std::optional<Value>{it->second});
    }
    void roll_back() {
      if (whole_) rows_ = std::move(*whole_);  // as it was at clear(), then before that:
      for (auto& [key, before] : undo_)
        if (before)
          rows_.insert_or_assign(key, std::move(*before));
        else
          rows_.erase(key);
    }
    map& rows_;
    std::unordered_map<Key, std::optional<Value>, Hash> undo_;
    std::optional<map> whole_;
  };

  /// The value at `key`, or nullopt.
  [[nodiscard]] std::optional<Value> get(const Key& key) const {
    std::shared_lock lock(mutex_);
    const auto it = rows_.find(key);
    if (it == rows_.end()) return std::nullopt;
    return it->second;
  }
  /// Every row, in no particular order.
  [[nodiscard]] std::vector<std::pair<Key, Value>> all() const {
    std::shared_lock lock(mutex_);
    return {rows_.begin(), rows_.end()};
  }
  [[nodiscard]] std::size_t size() const {
    std::shared_lock lock(mutex_);
    return rows_.size();
  }
  /// Calls `fn(key, value)` for each row under the shared lock.
  template <class F>
  void for_each(F&& fn) const {
    std::shared_lock lock(mutex_);
    for (const auto& [k, v] : rows_)
      fn(k, v);
  }

  // -- the read-model contract the projection engine uses --

  /// The checkpoint of projection `name` in this model; nullopt when none.
  [[nodiscard]] result<std::optional<position>> load_checkpoint(std::string_view name) {
    std::shared_lock lock(mutex_);
    const auto it = checkpoints_.find(name);
    if (it == checkpoints_.end()) return std::optional<position>{};
    return std::optional<position>{it->second};
  }
  /// Runs `fn` and records `p` as `name`'s checkpoint, as one step: when `fn`
  /// fails (an error or an exception) its changes are undone and the
  /// checkpoint stays.
  result<void> commit(std::string_view name, const position& p,
                      const std::function<result<void>(writer&)>& fn) {
    std::unique_lock lock(mutex_);
    writer w(rows_);
    result<void> r = run(w, fn);
    if (!r) return r;
    set_checkpoint(name, p);
    return {};
  }
  /// Runs `fn` (clearing what the projection wrote) and forgets `name`'s
  /// checkpoint, as one step.
  result<void> reset(std::string_view name, const std::function<result<void>(writer&)>& fn) {
    std::unique_lock lock(mutex_);
    writer w(rows_);
    result<void> r = run(w, fn);
    if (!r) return r;
    if (const auto it = checkpoints_.find(name); it != checkpoints_.end()) checkpoints_.erase(it);
    return {};
  }

 private:
  static result<void> run(writer& w, const std::function<result<void>(writer&)>& fn) {
    try {
      result<void> r = fn(w);
      if (!r) w.roll_back();
      return r;
    } catch (const std::exception& e) {
      w.roll_back();
      return error{errc::domain_exception, std::string("a projection threw: ") + e.what()};
    } catch (...) {
      w.roll_back();
      return error{errc::domain_exception, "a projection threw a non-standard exception"};
    }
  }
  void set_checkpoint(std::string_view name, const position& p) {
    if (const auto it = checkpoints_.find(name); it != checkpoints_.end())
      it->second = p;
    else
      checkpoints_.emplace(std::string(name), p);
  }

  mutable std::shared_mutex mutex_;
  map rows_;
  std::map<std::string, position, std::less<>> checkpoints_;
};

}  // namespace factum
