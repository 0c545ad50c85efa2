#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace factum {

/// Error codes of factum, in the "factum" `std::error_category`.
///
/// Match on these, never on message text:
/// ```
/// if (r.error().code() == factum::errc::concurrency_conflict) reload_and_retry();
/// ```
enum class errc {
  concurrency_conflict = 1,  ///< a stream's version was not the expected one
  event_id_conflict,         ///< an event id is stored already with other content or stream
  invalid_stream_id,         ///< empty, too long, not UTF-8, or holds a NUL byte
  invalid_argument,          ///< a malformed request (empty append, zero limit ...)
  unknown_event_type,        ///< a stored type name that the codec does not know
  malformed_event,           ///< stored event data that is not valid JSON
  decode_failed,             ///< valid JSON that does not fit the C++ event type
  not_found,                 ///< a dead letter, snapshot or record that does not exist
  storage_busy,              ///< the database stayed locked past the busy timeout
  storage_read_only,         ///< the database file or folder cannot be written
  storage_full,              ///< the disk or the database's page limit is full
  storage_corrupt,           ///< the file is not a database, or a damaged one
  storage_io,                ///< any other failure of the storage engine
  schema_mismatch,           ///< the database holds another or a newer factum schema
  stopped,                   ///< the runtime is stopped and takes no more commands
  domain_exception,          ///< domain code (execute, apply, a codec) threw an exception
  command_id_conflict,       ///< a command id recorded for other streams or another command
  too_large,                 ///< an event or an append over the store's limits (store_limits)
  stream_parked,             ///< a subscriber holds the stream's events behind a dead letter
};

/// The category of `factum::errc`; its name is "factum".
[[nodiscard]] const std::error_category& error_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// What a concurrency conflict was about: the stream, the version the writer
/// expected (as text: "any", "no_stream", "stream_exists" or a number) and
/// the version the stream had.
struct conflict_detail {
  std::string stream;
  std::string expected;
  std::uint64_t actual = 0;
};

/// An error: a typed code plus a message with the context (stream, position ...).
///
/// `message()` is for people; `code()` and the details are for programs.
class error {
 public:
  error() = default;
  error(std::error_code code, std::string context = {})
      : code_(code), context_(std::move(context)) {}
  error(errc code, std::string context = {}) : error(make_error_code(code), std::move(context)) {}

  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  /// The code's message, then the context: "wrong expected version: stream
  /// 'account-1' expected 3, actual 4".
  [[nodiscard]] std::string message() const {
    return context_.empty() ? code_.message() : code_.message() + ": " + context_;
  }
  [[nodiscard]] const std::string& context() const noexcept { return context_; }

  /// Set for `errc::concurrency_conflict`.
  std::optional<conflict_detail> conflict;
  /// The global position of the stored event the error is about, when there is one.
  std::optional<std::uint64_t> position;

  friend bool operator==(const error& e, errc c) noexcept { return e.code_ == make_error_code(c); }

 private:
  std::error_code code_;
  std::string context_;
};

/// Thrown only by the throwing conveniences (`result::value()`, constructors
/// that cannot return a result); carries the `error`.
class system_error : public std::system_error {
 public:
  explicit system_error(factum::error e)
      : std::system_error(e.code(), e.context()), error_(std::move(e)) {}
  [[nodiscard]] const factum::error& error() const noexcept { return error_; }

 private:
  factum::error error_;
};

}  // namespace factum

template <>
struct std::is_error_code_enum<factum::errc> : std::true_type {};

#include <factum/core/detail/error-inl.hpp>
