#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/runtime/runtime.hpp>
#include <factum/subscribe/detail/typed.hpp>
#include <factum/subscribe/process_manager.hpp>

namespace factum::detail {

inline constexpr std::string_view process_step_type = "factum.ProcessStep";
inline constexpr std::string_view process_ended_type = "factum.ProcessEnded";
inline constexpr std::string_view deadline_type = "factum.DeadlineScheduled";
inline constexpr std::string_view rejected_type = "factum.ProcessCommandRejected";

/// A process manager's engine. A process lives in its own stream,
/// `process-<name>-<id>`, as the events it handled (one step each, keyed
/// by the input event's id, so a step is never recorded twice). For each
/// event: load the process, `handle`, send the commands (with command ids
/// made from the input event, so a redelivery after a crash does not run
/// them twice), `compensate` what failed, store the deadlines, then record
/// the step. It runs on a thread of its own, since it waits for commands.
template <process_manager P>
class process_subscriber final : public store_checkpointed {
  using list = typename P::interested_in;
  using state = typename P::state;
  using command = typename P::command;

 public:
  process_subscriber(std::shared_ptr<read_core> rc, runtime& rt, P p, subscription_options o)
      : store_checkpointed(rc, std::string(P::name), list::names(), std::move(o), rc->blocking()),
        rt_(rt),
        manager_(std::move(p)) {}

  /// Arms the stored deadlines (after a restart, say); due ones fire at once.
  void arm_deadlines() {
    auto stored = rc_.store().read_stream(deadlines_stream());
    if (!stored) {
      rc_.log("factum: process manager '" + name() +
              "' cannot read its deadlines: " + stored.error().message());
      return;
    }
    for (const auto& d : *stored)
      arm(d);
  }

 protected:
  [[nodiscard]] std::string_view component() const noexcept override { return "process"; }
  /// The node that takes a single-owner process manager over arms its
  /// deadlines, including those the previous owner scheduled since start.
  void on_claimed() override { arm_deadlines(); }
  result<void> one(const recorded_event& e) override {
    return reported(rc_, event_names, name(), e, [&] { return step_one(e); });
  }

 private:
  /// A command of a step that was refused, recorded before compensating.
  struct refusal {
    std::size_t command = 0;
    error why;
  };
  struct loaded {
    state s{};
    std::uint64_t version = 0;
    bool ended = false;
    bool seen = false;               ///< the input event is a step already
    std::optional<refusal> refused;  ///< of this input, by an earlier attempt
  };

  [[nodiscard]] stream_id process_stream(const std::string& id) const {
    return stream_id{"process-" + name() + "-" + id};
  }
  [[nodiscard]] stream_id deadlines_stream() const { return stream_id{"deadlines-" + name()}; }
  [[nodiscard]] stream_id timeouts_stream() const { return stream_id{"timeouts-" + name()}; }
  [[nodiscard]] std::string key(const recorded_event& e, std::string_view what) const {
    return key_of(e.id, what);
  }
  [[nodiscard]] std::string key_of(const event_id& input, std::string_view what) const {
    return name() + "/" + input.to_string() + "/" + std::string(what);
  }

  static constexpr span_names event_names = FACTUM_TELEMETRY_SPAN("process", "event");

  /// Reports `what` (a count) with the subscriber's name and `tag`.
  void report(std::string_view what, telemetry_tag tag) const {
    count(rc_.telemetry(), what, {{"subscriber", name()}, tag});
  }

  result<void> step_one(const recorded_event& e) {
    return with_decoded<list>(rc_, name(), e, [&](const auto& event) -> result<void> {
      const correlation c = [&] {
        if constexpr (requires { manager_.correlate(event, e); })
          return manager_.correlate(event, e);
        else
          return manager_.correlate(event);
      }();
      if (c.what() == correlation::kind::ignore) return {};
      if (c.id().empty())
        return error{errc::invalid_argument,
                     "process manager '" + name() + "' correlated " + e.type + " to an empty id"};
      const stream_id stream = process_stream(c.id());
      if (auto ok = stream.validate(); !ok) return ok;
      auto process = load(stream, e.id);
      if (!process) return std::move(process).error();
      if (process->seen || process->ended) return {};  // handled before / finished
      if (process->version == 0 && c.what() == correlation::kind::next)
        return {};  // no such process
      const bool begins = process->version == 0;
      reaction<command> r = manager_.handle(std::as_const(process->s), event);
      state next = process->s;
      manager_.apply(next, event);
      if (auto ok = send_all(stream, *process, next, r.commands, e); !ok) return ok;
      if (auto ok = schedule(r.deadlines, e); !ok) return ok;
      const bool ends = c.what() == correlation::kind::stop;
      if (auto ok = record(stream, *process, e, ends); !ok) return ok;
      if (begins) report("factum.process.start.count", {"process_id", c.id()});
      if (ends) report("factum.process.stop.count", {"process_id", c.id()});
      return {};
    });
  }

  /// The process's state and version; whether `input` is a step already.
  result<loaded> load(const stream_id& stream, const event_id& input) {
    loaded out;
    std::optional<error> failed;
    auto scanned = rc_.store().scan_stream(stream, 1, [&](const recorded_event& r) {
      if (failed) return;
      out.version = r.version;
      if (r.type == process_ended_type) {
        out.ended = true;
        return;
      }
      if (r.type == rejected_type) {
        if (r.id != uuid::named(key_of(input, "rejected"))) return;
        try {
          const auto j = nlohmann::json::parse(r.data);
          out.refused = refusal{
              j.at("command").get<std::size_t>(),
              error{restore_rejection(j.value("category", ""), j.at("code").get<std::string>()),
                    j.at("message").get<std::string>()}};
        } catch (const std::exception& x) {
          failed =
              error{errc::malformed_event, "refusal record at " + stream.str() + ": " + x.what()};
        }
        return;
      }
      if (r.type != process_step_type) return;
      if (r.id == uuid::named(name() + "/" + input.to_string() + "/step")) out.seen = true;
      try {
        const auto j = nlohmann::json::parse(r.data);
        recorded_event in;
        in.type = j.at("type").get<std::string>();
        in.schema_version = j.at("schema_version").get<std::uint32_t>();
        in.data = j.at("data").get<std::string>();
        in.global_position = j.at("position").get<std::uint64_t>();
        auto decoded = codec<typename list::variant>::decode(in);
        if (!decoded) {
          failed = std::move(decoded).error();
          return;
        }
        std::visit([&](const auto& ev) { manager_.apply(out.s, ev); }, *decoded);
      } catch (const std::exception& x) {
        failed = error{errc::malformed_event, "process step at " + stream.str() + " version " +
                                                  std::to_string(r.version) + ": " + x.what()};
      }
    });
    if (!scanned) return std::move(scanned).error();
    if (failed) return std::move(*failed);
    return out;
  }

  /// Sends the commands in order, waiting for each. At the first that is
  /// refused (a rejection), it records the refusal in the process stream,
  /// then sends what `compensate` returns instead of the rest: a redelivery
  /// after a crash compensates again (same command ids) rather than trying
  /// the refused command anew. Any other error fails the step, which is
  /// tried again with the same command ids.
  result<void> send_all(const stream_id& stream, loaded& process, const state& s,
                        const std::vector<command>& commands, const recorded_event& cause) {
    std::optional<refusal> refused = process.refused;
    for (std::size_t i = 0; !refused && i < commands.size(); ++i) {
      error e = send_one(commands[i], cause, key(cause, "command/" + std::to_string(i)));
      if (!e.code()) continue;
      if (!is_rejection(e.code())) return e;
      if (auto ok = record_refusal(stream, process, cause, i, e); !ok) return ok;
      refused = refusal{i, std::move(e)};
    }
    if (!refused || refused->command >= commands.size()) return {};
    if constexpr (requires { manager_.compensate(s, commands[0], refused->why); }) {
      const std::size_t i = refused->command;
      std::vector<command> undo = manager_.compensate(s, commands[i], refused->why);
      report("factum.process.compensate.count", {"stream", stream.view()});
      for (std::size_t k = 0; k < undo.size(); ++k) {
        error u = send_one(undo[k], cause,
                           key(cause, "compensate/" + std::to_string(i) + "/" + std::to_string(k)));
        if (!u.code()) continue;
        if (!is_rejection(u.code())) return u;
        rc_.log("factum: process manager '" + name() + "': compensating command " +
                std::to_string(k) + " was refused: " + u.message());
      }
    } else {
      rc_.log("factum: process manager '" + name() + "': command " +
              std::to_string(refused->command) +
              " was refused and it has no compensate(): " + refused->why.message());
    }
    return {};
  }

  result<void> record_refusal(const stream_id& stream, loaded& process, const recorded_event& cause,
                              std::size_t i, const error& why) {
    event_data d;
    d.id = uuid::named(key(cause, "rejected"));
    d.type = std::string(rejected_type);
    // Read back by its category's and its code's names (restore_rejection).
    d.data = nlohmann::json{{"command", i},
                            {"category", why.code().category().name()},
                            {"code", why.code().message()},
                            {"message", why.message()}}
                 .dump();
    auto r = rc_.store().append(stream,
                                process.version == 0 ? expected_version::no_stream()
                                                     : expected_version::exact(process.version),
                                {std::move(d)});
    if (!r) return std::move(r).error();
    process.version = r->streams[0].last_version;
    return {};
  }

  error send_one(const command& c, const recorded_event& cause, const std::string& id) {
    return std::visit(
        [&](const auto& s) -> error {
          using A = typename std::remove_cvref_t<decltype(s)>::aggregate;
          dispatch_options o;
          o.command = uuid::named(id);
          o.causation_id = cause.id;
          o.correlation_id =
              cause.metadata.correlation_id.is_nil() ? cause.id : cause.metadata.correlation_id;
          std::promise<error> done;
          rt_.template dispatch<A>(
              s.id, s.command, std::move(o), [&](std::error_code ec, dispatch_result r) {
                if (!ec) return done.set_value({});
                std::string why = r.rejection ? r.rejection->message : ec.message();
                done.set_value(error{ec, why});
              });
          error e = done.get_future().get();
          report("factum.process.command.count", {"outcome", !e.code()                ? "ok"
                                                             : is_rejection(e.code()) ? "rejected"
                                                                                      : "error"});
          return e;
        },
        c);
  }

  result<void> schedule(const std::vector<deadline>& deadlines, const recorded_event& cause) {
    for (std::size_t k = 0; k < deadlines.size(); ++k) {
      const auto& d = deadlines[k];
      const auto due = std::chrono::system_clock::now() + d.after;
      nlohmann::json j{
          {"due_ms",
           std::chrono::duration_cast<std::chrono::milliseconds>(due.time_since_epoch()).count()},
          {"id", uuid::named(key(cause, "deadline/" + std::to_string(k))).to_string()},
          {"type", d.event.type},
          {"schema_version", d.event.schema_version},
          {"data", d.event.data}};
      event_data scheduled;
      scheduled.id = uuid::named(key(cause, "schedule/" + std::to_string(k)));
      scheduled.type = std::string(deadline_type);
      scheduled.data = j.dump();
      auto stored = rc_.store().append(deadlines_stream(), expected_version::any(), {scheduled});
      // Scheduled by an earlier attempt at this event (its due time differs):
      // armed then, or by arm_deadlines() after a restart.
      if (!stored && stored.error() == errc::event_id_conflict) continue;
      if (!stored) return std::move(stored).error();
      if (stored->already_appended) continue;
      auto r = rc_.store().read_stream(deadlines_stream(), stored->streams[0].first_version, 1);
      if (r && !r->empty()) arm(r->front());
    }
    return {};
  }

  /// Appends the deadline's event when due (once: its id is fixed).
  void arm(const recorded_event& scheduled) {
    try {
      const auto j = nlohmann::json::parse(scheduled.data);
      const auto due = std::chrono::system_clock::time_point{
          std::chrono::milliseconds{j.at("due_ms").get<std::int64_t>()}};
      event_data ev;
      ev.id = uuid::parse(j.at("id").get<std::string>()).value();
      ev.type = j.at("type").get<std::string>();
      ev.schema_version = j.at("schema_version").get<std::uint32_t>();
      ev.data = j.at("data").get<std::string>();
      auto timer = std::make_shared<timer_type>(rc_.timers());
      timer->expires_after(std::max(std::chrono::steady_clock::duration::zero(),
                                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        due - std::chrono::system_clock::now())));
      fire_when_due(std::move(timer), std::move(ev));
    } catch (const std::exception& x) {
      rc_.log("factum: process manager '" + name() + "' skips a malformed deadline: " + x.what());
    }
  }

  /// Appends `ev` when `timer` expires; tries again every second while the
  /// store refuses (a deadline must not be lost to a busy database).
  void fire_when_due(std::shared_ptr<timer_type> timer, event_data ev) {
    timer->async_wait([timer, ev = std::move(ev), weak = weak_from_this(),
                       this](const boost::system::error_code& ec) mutable {
      if (ec) return;
      auto alive = weak.lock();
      if (!alive || stopped()) return;
      auto ok = rc_.store().append(timeouts_stream(), expected_version::any(), {ev});
      if (ok || ok.error() == errc::event_id_conflict) return;  // appended, now or before
      rc_.log("factum: process manager '" + name() +
              "' cannot append a due deadline: " + ok.error().message() + "; trying again");
      timer->expires_after(std::chrono::seconds{1});
      fire_when_due(std::move(timer), std::move(ev));
    });
  }

  result<void> record(const stream_id& stream, const loaded& process, const recorded_event& input,
                      bool end) {
    event_data step;
    step.id = uuid::named(name() + "/" + input.id.to_string() + "/step");
    step.type = std::string(process_step_type);
    step.data = nlohmann::json{{"type", input.type},
                               {"schema_version", input.schema_version},
                               {"data", input.data},
                               {"position", input.global_position}}
                    .dump();
    step.metadata.causation_id = input.id;
    std::vector<event_data> events{std::move(step)};
    if (end) {
      event_data ended;
      ended.id = uuid::named(name() + "/" + input.id.to_string() + "/end");
      ended.type = std::string(process_ended_type);
      ended.data = "{}";
      events.push_back(std::move(ended));
    }
    auto r = rc_.store().append(stream,
                                process.version == 0 ? expected_version::no_stream()
                                                     : expected_version::exact(process.version),
                                std::move(events));
    if (!r) return std::move(r).error();  // a conflict: another node stepped it; retried
    return {};
  }

  runtime& rt_;
  P manager_;
};

}  // namespace factum::detail
