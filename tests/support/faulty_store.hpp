#pragma once

// An event store adapter that injects faults into another store: appends that
// fail before writing, and appends that write but report a failure (a crash
// between the commit and the reply).
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include <factum/store/event_store.hpp>

namespace factum_test {

class faulty_store final : public factum::event_store {
 public:
  explicit faulty_store(std::shared_ptr<factum::event_store> inner) : inner_(std::move(inner)) {}

  /// The next `n` appends fail with `code` and write nothing.
  void fail_appends(int n, factum::errc code = factum::errc::storage_io) {
    fail_code_ = code;
    fail_before_.store(n);
  }
  /// The next `n` appends throw `what` from inside the backend (a library
  /// or an allocation failing), before writing.
  void throw_appends(int n) { throw_before_.store(n); }
  /// The next `n` appends are stored, then reported as failed.
  void lose_replies(int n) { fail_after_.store(n); }
  /// Faults hit only appends whose first stream starts with `prefix`
  /// (set it before arming the faults).
  void only_streams(std::string prefix) { prefix_ = std::move(prefix); }
  [[nodiscard]] int appends() const { return appends_.load(); }

  factum::result<factum::position> head() override { return inner_->head(); }
  factum::result<std::vector<std::pair<std::string, factum::position>>> checkpoints() override {
    return inner_->checkpoints();
  }
  factum::result<std::optional<factum::command_record>> load_command(
      factum::command_id id) override {
    return inner_->load_command(id);
  }
  factum::result<void> remove_dead_letter(std::uint64_t id) override {
    if (take(fail_removals_))
      return factum::error{factum::errc::storage_io, "injected: the letter stays"};
    return inner_->remove_dead_letter(id);
  }
  /// The next `n` deletions of a dead letter fail and delete nothing.
  void fail_dead_letter_removals(int n) { fail_removals_.store(n); }

 protected:
  factum::result<std::vector<factum::stream_info>> do_streams(std::string_view prefix,
                                                              std::size_t limit) override {
    return inner_->streams(prefix, limit);
  }
  factum::result<void> do_save_checkpoint(std::string_view s, const factum::position& p) override {
    return inner_->save_checkpoint(s, p);
  }
  factum::result<std::optional<factum::position>> do_load_checkpoint(std::string_view s) override {
    return inner_->load_checkpoint(s);
  }
  factum::result<std::uint64_t> do_add_dead_letter(const factum::dead_letter& d) override {
    return inner_->add_dead_letter(d);
  }
  factum::result<std::vector<factum::dead_letter>> do_dead_letters(std::string_view s) override {
    return inner_->dead_letters(s);
  }
  factum::result<factum::append_result> do_append(std::span<const factum::stream_write> writes,
                                                  const factum::append_options& options) override {
    ++appends_;
    const bool target = writes.empty() || writes[0].stream.view().starts_with(prefix_);
    if (target && take(fail_before_)) return factum::error{fail_code_, "injected before the write"};
    if (target && take(throw_before_)) throw std::runtime_error("injected throw");
    auto r = inner_->append(writes, options);
    if (r && target && take(fail_after_))
      return factum::error{factum::errc::storage_io, "injected after the write"};
    return r;
  }
  factum::result<std::vector<factum::recorded_event>> do_read_stream(const factum::stream_id& s,
                                                                     std::uint64_t from,
                                                                     std::size_t limit) override {
    return inner_->read_stream(s, from, limit);
  }
  factum::result<std::vector<factum::recorded_event>> do_read_all(
      factum::position after, std::size_t limit, const factum::type_filter& types) override {
    return inner_->read_all(after, limit, types);
  }
  factum::result<std::uint64_t> do_stream_version(const factum::stream_id& s) override {
    return inner_->stream_version(s);
  }
  factum::result<void> do_save_snapshot(const factum::snapshot& s) override {
    return inner_->save_snapshot(s);
  }
  factum::result<std::optional<factum::snapshot>> do_load_snapshot(const factum::stream_id& s,
                                                                   std::uint32_t schema,
                                                                   std::uint64_t max) override {
    return inner_->load_snapshot(s, schema, max);
  }

 private:
  static bool take(std::atomic<int>& n) {
    int left = n.load();
    while (left > 0)
      if (n.compare_exchange_weak(left, left - 1)) return true;
    return false;
  }

  std::shared_ptr<factum::event_store> inner_;
  std::atomic<int> fail_before_{0};
  std::atomic<int> fail_after_{0};
  std::atomic<int> throw_before_{0};
  std::atomic<int> appends_{0};
  std::atomic<int> fail_removals_{0};
  std::string prefix_;
  factum::errc fail_code_ = factum::errc::storage_io;
};

}  // namespace factum_test
