#pragma once

#include <string>
#include <system_error>

namespace factum {
namespace detail {

class factum_category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "factum"; }

  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::concurrency_conflict:
        return "wrong expected version";
      case errc::event_id_conflict:
        return "event id already stored with different content";
      case errc::invalid_stream_id:
        return "invalid stream id";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::unknown_event_type:
        return "unknown event type";
      case errc::malformed_event:
        return "stored event data is not valid JSON";
      case errc::decode_failed:
        return "event data does not match its type";
      case errc::not_found:
        return "not found";
      case errc::storage_busy:
        return "database is locked";
      case errc::storage_read_only:
        return "database is read-only";
      case errc::storage_full:
        return "database or disk is full";
      case errc::storage_corrupt:
        return "file is not a database or is damaged";
      case errc::storage_io:
        return "storage failure";
      case errc::schema_mismatch:
        return "database schema is not a factum schema this version can use";
      case errc::stopped:
        return "the runtime is stopped";
      case errc::domain_exception:
        return "domain code threw an exception";
      case errc::command_id_conflict:
        return "command id already used for other streams or another command";
      case errc::too_large:
        return "an event or an append is larger than the store accepts";
      case errc::stream_parked:
        return "the stream is parked behind a dead letter";
    }
    return "unknown factum error " + std::to_string(ev);
  }
};

}  // namespace detail

inline const std::error_category& error_category() noexcept {
  static const detail::factum_category category;
  return category;
}

}  // namespace factum
