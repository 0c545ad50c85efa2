#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/core/error.hpp>
#include <factum/runtime/detail/core.hpp>
#include <factum/runtime/dispatch.hpp>

namespace factum::detail {

/// What an exception says, for error messages.
inline std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

/// The events of a committed append as the store recorded them.
inline std::vector<recorded_event> recorded(append_request& request, const append_result& r) {
  std::vector<recorded_event> out;
  std::uint64_t global = r.first_position;
  const auto now = std::chrono::system_clock::now();
  for (std::size_t i = 0; i < request.writes.size(); ++i) {
    auto& w = request.writes[i];
    std::uint64_t version = r.streams[i].first_version;
    for (auto& e : w.events) {
      recorded_event x;
      x.stream = w.stream;
      x.version = version++;
      x.global_position = global;
      x.pos = position::at(global++);
      x.id = e.id;
      x.type = std::move(e.type);
      x.schema_version = e.schema_version;
      x.data = std::move(e.data);
      x.metadata = std::move(e.metadata);
      x.recorded_at = now;
      out.push_back(std::move(x));
    }
  }
  return out;
}

/// The answer of a command the store has a record of (a replay): its
/// events as stored, `already_appended` set.
inline result<dispatch_result> stored_result(event_store& store, const append_result& stored) {
  dispatch_result out;
  out.already_appended = true;
  for (const auto& range : stored.streams) {
    out.streams.push_back({range.stream, range.last_version});
    if (range.first_version == 0 || range.first_version > range.last_version)
      continue;  // a stream the command read and did not write
    auto events = store.read_stream(range.stream, range.first_version,
                                    range.last_version - range.first_version + 1);
    if (!events) return std::move(events).error();
    for (auto& e : *events)
      out.events.push_back(std::move(e));
  }
  if (!out.streams.empty()) out.version = out.streams.front().version;
  return out;
}

/// A digest of a command, recorded with its command id
/// (`append_options::command_digest`) so that the same id sent with another
/// command is told apart from a resend: FNV-1a over the aggregate's
/// category, the command type's name and, when nlohmann/json can convert
/// the command (`to_json`, e.g. `NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE`), its
/// JSON text. Never 0 (0 means "no digest").
template <class Command>
std::uint64_t command_digest(std::string_view category, const Command& cmd) {
  std::uint64_t h = 14695981039346656037ull;
  const auto mix = [&h](std::string_view bytes) {
    for (const unsigned char c : bytes)
      h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;  // a separator, so "ab"+"c" != "a"+"bc"
  };
  mix(category);
  const auto one = [&](const auto& c) {
    mix(typeid(c).name());
    if constexpr (requires(nlohmann::json & j) { to_json(j, c); }) {
      nlohmann::json j;
      to_json(j, c);
      mix(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  };
  if constexpr (requires { std::variant_size<Command>::value; })
    std::visit(one, cmd);
  else
    one(cmd);
  return h == 0 ? 1 : h;
}

/// A command that wrote nothing (rejected, or no events) may be the resend
/// of one that did: the record of its command id answers it then (or
/// refuses it with `command_id_conflict` when the id was used for other
/// streams or another command). nullopt when it has no recorded id.
inline result<std::optional<dispatch_result>> recorded_answer(event_store& store,
                                                              const dispatch_options& options,
                                                              std::span<const stream_id> streams,
                                                              std::uint64_t digest) {
  if (!options.command) return std::optional<dispatch_result>{};
  auto stored = store.load_command(*options.command);
  if (!stored) return std::move(stored).error();
  if (!*stored) return std::optional<dispatch_result>{};
  auto same = match_command(**stored, *options.command, streams, digest);
  if (!same) return std::move(same).error();
  auto out = stored_result(store, *same);
  if (!out) return std::move(out).error();
  return std::optional<dispatch_result>{std::move(*out)};
}

/// Tokens that turn an error into an exception: with them, `dispatch`
/// completes with `void(std::exception_ptr, dispatch_result)`, so the thrown
/// `factum::system_error` carries the message (a rejection's, too).
template <class Token>
inline constexpr bool throwing_token = false;
template <class Allocator>
inline constexpr bool throwing_token<asio::use_future_t<Allocator>> = true;
template <class Executor>
inline constexpr bool throwing_token<asio::use_awaitable_t<Executor>> = true;

template <class Token, class T>
using completion_signature =
    std::conditional_t<throwing_token<std::decay_t<Token>>, void(std::exception_ptr, T),
                       void(std::error_code, T)>;

/// The answering half of every command: middleware's after / on_failure,
/// strong consistency, then the caller's completion handler.
class answer_base {
 protected:
  core& core_;

 public:
  answer_base(core& c, dispatch_options o) : core_(c), options(std::move(o)) {}
  answer_base(const answer_base&) = delete;
  answer_base& operator=(const answer_base&) = delete;

  /// Reports `factum.command.dispatch.start` once `category` and `stream`
  /// are known; `answer` then reports its stop or exception.
  void report_start() {
    auto* sink = core_.telemetry();
    if (!sink) return;
    begun_ = std::chrono::steady_clock::now();
    const telemetry_tag tags[] = {{"aggregate", category}, {"stream", stream.view()}};
    telemetry_event ev;
    ev.name = "factum.command.dispatch.start";
    ev.tags = tags;
    sink->record(ev);
  }

  /// The final answer; `*this` is gone afterwards.
  void answer(error e, dispatch_result out) {
    if (begun_) report_end(e, out);
    const auto& hooks = core_.middleware_list();
    if (!hooks.empty()) {
      command_context ctx = context();
      for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
        if (e.code())
          (*it)->on_failure(ctx, e.code());
        else
          (*it)->after(ctx, out);
      }
    }
    if (!e.code() && options.consistency == consistency::strong && !core_.gates().empty())
      return wait_for_gates(std::move(out));
    complete(std::move(e), std::move(out));
  }

  /// The metadata every event of this command carries.
  [[nodiscard]] metadata event_metadata() const {
    metadata m;
    const uuid command = options.command.value_or(uuid{});
    m.correlation_id = options.correlation_id.is_nil() ? command : options.correlation_id;
    m.causation_id = options.causation_id.is_nil() ? command : options.causation_id;
    m.created_at = std::chrono::system_clock::now();
    m.user = options.metadata;
    return m;
  }

  dispatch_options options;
  factum::stream_id stream;
  std::string_view category;
  /// Set once the command left the call that started it: from then on its
  /// answer may run the caller's handler at once on a pool thread.
  bool started = false;

 protected:
  virtual ~answer_base() = default;
  /// Deletes `*this` and calls the handler through its executor.
  virtual void complete(error e, dispatch_result out) = 0;
  [[nodiscard]] virtual std::type_index command_type() const = 0;
  [[nodiscard]] virtual const void* command_pointer() const = 0;

  [[nodiscard]] command_context context() {
    return command_context{category, stream, command_type(), command_pointer(), options};
  }

 private:
  void report_end(const error& e, const dispatch_result& out) {
    auto* sink = core_.telemetry();
    const std::string why = e.code() && !out.rejection ? e.message() : std::string{};
    const telemetry_tag tags[] = {{"aggregate", category},
                                  {"stream", stream.view()},
                                  {"outcome", !e.code()       ? "ok"
                                              : out.rejection ? "rejected"
                                                              : "error"}};
    telemetry_event ev;
    ev.name = e.code() && !out.rejection ? "factum.command.dispatch.exception"
                                         : "factum.command.dispatch.stop";
    ev.duration = std::chrono::steady_clock::now() - *begun_;
    ev.events = out.events.size();
    ev.tags = tags;
    ev.error = why;
    sink->record(ev);
  }

  std::optional<std::chrono::steady_clock::time_point> begun_;

  void wait_for_gates(dispatch_result out) {
    struct waiting {
      answer_base* self;
      dispatch_result out;
      std::atomic<std::size_t> left;
      std::mutex mutex;
      std::error_code first_error;
    };
    const auto& gates = core_.gates();
    auto w = std::make_shared<waiting>();
    w->self = this;
    w->out = std::move(out);
    w->left = gates.size();
    for (const auto& g : gates) {
      g->wait(w->out, [w](std::error_code ec) {
        if (ec) {
          std::lock_guard lock(w->mutex);
          if (!w->first_error) w->first_error = ec;
        }
        if (w->left.fetch_sub(1) != 1) return;
        error e;
        if (w->first_error) e = error{w->first_error, "a strong subscriber failed"};
        w->self->complete(std::move(e), std::move(w->out));
      });
    }
  }
};

/// An answer_base that owns the caller's completion handler.
template <class Base, class Handler, bool Throwing>
class with_handler final : public Base {
 public:
  template <class... Args>
  with_handler(Handler h, Args&&... args)
      : Base(std::forward<Args>(args)...),
        handler_(std::move(h)),
        work_(asio::prefer(asio::get_associated_executor(handler_, this->core_.executor()),
                           asio::execution::outstanding_work.tracked)) {}

 protected:
  void complete(error e, dispatch_result out) override {
    auto handler = std::move(handler_);
    auto work = std::move(work_);
    core& c = this->core_;
    const bool started = this->started;
    delete this;
    auto call = [handler = std::move(handler), e = std::move(e), out = std::move(out)]() mutable {
      if constexpr (Throwing) {
        handler(e.code() ? std::make_exception_ptr(factum::system_error(std::move(e))) : nullptr,
                std::move(out));
      } else {
        handler(e.code(), std::move(out));
      }
    };
    // Inside the call that started the command, never run the handler
    // (Asio's rule); afterwards run it here when this thread may (a pool
    // thread for a plain callback, at once for a future): one post less.
    if (started)
      asio::dispatch(work, std::move(call));
    else
      asio::post(work, std::move(call));
    c.leave();
  }

 private:
  Handler handler_;
  std::decay_t<decltype(asio::prefer(
      std::declval<asio::associated_executor_t<Handler, pool_executor>>(),
      asio::execution::outstanding_work.tracked))>
      work_;
};

}  // namespace factum::detail
