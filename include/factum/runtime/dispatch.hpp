#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <typeindex>
#include <vector>

#include <factum/core/event.hpp>
#include <factum/core/stream_id.hpp>
#include <factum/core/uuid.hpp>
#include <factum/domain/decision.hpp>

namespace factum {

/// When `dispatch` answers: after the append commits (eventual), or after
/// every strong subscriber interested in the events has handled them.
enum class consistency { eventual, strong };

/// What travels with a command besides its payload.
///
/// A command id makes the command idempotent: the runtime records it in the
/// same transaction as the events, and a command with an id seen before is
/// answered with the original result (`already_appended`) without running
/// again, also after a restart. Correlation and causation ids, and the user
/// metadata, are copied to every event the command produces.
struct dispatch_options {
  std::optional<command_id> command;
  uuid correlation_id;
  uuid causation_id;
  std::map<std::string, std::string, std::less<>> metadata;
  factum::consistency consistency = consistency::eventual;
  /// Put the aggregate's state after the command into `dispatch_result::state`
  /// (a copy, so off by default).
  bool return_state = false;
};

/// A stream's version after a command.
struct stream_version {
  factum::stream_id stream;
  std::uint64_t version = 0;
  friend bool operator==(const stream_version&, const stream_version&) = default;
};

/// An aggregate's state at a stream version, as `runtime::state_of` reads it.
template <class State>
struct state_at {
  State state;
  std::uint64_t version = 0;
};

/// What a command did.
///
/// `version` is the aggregate's stream version after the command (for a
/// multi-stream command, that of its first stream; `streams` has all).
/// `events` are the events it stored, as recorded (empty when the command
/// was accepted with nothing to record). On a rejection, `rejection` holds
/// the aggregate's code and message.
struct dispatch_result {
  std::uint64_t version = 0;
  std::vector<stream_version> streams;
  std::vector<recorded_event> events;
  bool already_appended = false;  ///< answered from the command id's record
  std::optional<factum::rejection> rejection;
  /// With `dispatch_options::return_state`, on success: the aggregate's state
  /// after the command, as a `factum::state_at<A::state>` for `dispatch`, and
  /// a `std::tuple<factum::state_at<As::state>...>` for `transact`. Empty for
  /// a rejection and for an answer from a command id's record.
  /// ```
  /// auto at = std::any_cast<factum::state_at<bank::account::state>>(r.state);
  /// ```
  std::any state;
};

/// What middleware sees of a command. `options` may be changed by `before`
/// (e.g. to add metadata or a command id).
struct command_context {
  std::string_view category;        ///< the aggregate's category ("account")
  const factum::stream_id& stream;  ///< the first (or only) stream
  std::type_index command_type;     ///< the command's type (the active alternative)
  const void* command;              ///< points to the command, of `command_type`
  dispatch_options& options;

  /// The command as `C` when it is one, else nullptr.
  template <class C>
  [[nodiscard]] const C* command_as() const noexcept {
    return command_type == typeid(C) ? static_cast<const C*>(command) : nullptr;
  }
};

}  // namespace factum
