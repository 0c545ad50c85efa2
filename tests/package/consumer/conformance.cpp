// A backend of this project's own, run through factum's store conformance
// suite the way docs/store.md ("Writing your own backend") shows, with the
// suite from the installed header. The backend keeps its events in a
// factum::memory_store; a real one would talk to its database here.
#define CATCH_CONFIG_MAIN
#include <factum/store/conformance.hpp>
#include <factum/store/memory_store.hpp>

namespace {

/// Implements factum::event_store's protected `do_*` functions and its
/// public pure virtual ones. The public functions check the arguments first,
/// so these see only well-formed requests.
class relay_store final : public factum::event_store {
 public:
  [[nodiscard]] factum::result<factum::position> head() override { return inner_.head(); }
  [[nodiscard]] factum::result<std::vector<std::pair<std::string, factum::position>>> checkpoints()
      override {
    return inner_.checkpoints();
  }
  [[nodiscard]] factum::result<std::optional<factum::command_record>> load_command(
      factum::command_id id) override {
    return inner_.load_command(id);
  }
  factum::result<void> remove_dead_letter(std::uint64_t id) override {
    return inner_.remove_dead_letter(id);
  }

 protected:
  factum::result<factum::append_result> do_append(std::span<const factum::stream_write> writes,
                                                  const factum::append_options& options) override {
    return inner_.append(writes, options);
  }
  factum::result<std::vector<factum::recorded_event>> do_read_stream(
      const factum::stream_id& stream, std::uint64_t from_version, std::size_t limit) override {
    return inner_.read_stream(stream, from_version, limit);
  }
  factum::result<std::vector<factum::recorded_event>> do_read_all(
      factum::position after, std::size_t limit, const factum::type_filter& types) override {
    return inner_.read_all(after, limit, types);
  }
  factum::result<std::uint64_t> do_stream_version(const factum::stream_id& stream) override {
    return inner_.stream_version(stream);
  }
  factum::result<void> do_save_snapshot(const factum::snapshot& s) override {
    return inner_.save_snapshot(s);
  }
  factum::result<std::optional<factum::snapshot>> do_load_snapshot(
      const factum::stream_id& stream, std::uint32_t schema_version,
      std::uint64_t max_version) override {
    return inner_.load_snapshot(stream, schema_version, max_version);
  }
  factum::result<std::vector<factum::stream_info>> do_streams(std::string_view prefix,
                                                              std::size_t limit) override {
    return inner_.streams(prefix, limit);
  }
  factum::result<void> do_save_checkpoint(std::string_view subscriber,
                                          const factum::position& p) override {
    return inner_.save_checkpoint(subscriber, p);
  }
  factum::result<std::optional<factum::position>> do_load_checkpoint(
      std::string_view subscriber) override {
    return inner_.load_checkpoint(subscriber);
  }
  factum::result<std::uint64_t> do_add_dead_letter(const factum::dead_letter& letter) override {
    return inner_.add_dead_letter(letter);
  }
  factum::result<std::vector<factum::dead_letter>> do_dead_letters(
      std::string_view subscriber) override {
    return inner_.dead_letters(subscriber);
  }

 private:
  factum::memory_store inner_;
};

/// One fresh, empty store per test case.
struct relay_backend {
  relay_store store;
};

}  // namespace

FACTUM_STORE_CONFORMANCE("relay", relay_backend)
