#pragma once

// A telemetry sink that writes each event as a log line through spdlog.
#include <memory>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <factum/telemetry/sink.hpp>

namespace factum {

/// Logs factum's telemetry with spdlog, one line per event:
/// `factum.handler.retry.count subscriber=notifier event_type=MoneyDeposited error="..."`.
/// Levels: `start` trace; `stop` and most counts debug; memory pressure
/// changes and compensations info; `exception` and retries warn; dead
/// letters error. The default logger, named "factum", writes to stderr at
/// level info, so a healthy program prints nothing; pass your own logger
/// (its sinks, its level) to change that.
/// ```
/// auto log = std::make_shared<spdlog::logger>("factum", my_file_sink);
/// log->set_level(spdlog::level::debug);
/// options.telemetry = std::make_shared<factum::log_sink>(log);
/// ```
class log_sink final : public telemetry_sink {
 public:
  explicit log_sink(std::shared_ptr<spdlog::logger> logger = default_logger())
      : logger_(std::move(logger)) {}

  /// A logger named "factum" on stderr, level info; not registered with
  /// spdlog's global registry.
  [[nodiscard]] static std::shared_ptr<spdlog::logger> default_logger() {
    auto l = std::make_shared<spdlog::logger>("factum",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::info);
    return l;
  }

  [[nodiscard]] const std::shared_ptr<spdlog::logger>& logger() const noexcept { return logger_; }

  /// The level an event is logged at.
  [[nodiscard]] static spdlog::level::level_enum level_of(const telemetry_event& e) noexcept {
    const auto stage = e.stage();
    if (stage == "start") return spdlog::level::trace;
    if (stage == "exception") return spdlog::level::warn;
    if (stage == "count") {
      const auto action = e.name.substr(0, e.name.size() - stage.size() - 1);
      if (action.ends_with(".dead_letter")) return spdlog::level::err;
      if (action.ends_with(".retry") && !action.starts_with("factum.aggregate"))
        return spdlog::level::warn;
      if (action == "factum.runtime.memory_pressure" || action == "factum.process.compensate")
        return spdlog::level::info;
    }
    return spdlog::level::debug;
  }

  void record(const telemetry_event& e) noexcept override try {
    const auto level = level_of(e);
    if (!logger_->should_log(level)) return;
    std::string line(e.name);
    if (e.duration.count() != 0)
      line += " " + std::to_string(static_cast<double>(e.duration.count()) / 1000.0) + "us";
    if (e.events != 0) line += " events=" + std::to_string(e.events);
    if (e.bytes != 0) line += " bytes=" + std::to_string(e.bytes);
    for (const auto& t : e.tags) {
      line += ' ';
      line += t.key;
      line += '=';
      line += t.value;
    }
    if (!e.error.empty()) {
      line += " error=\"";
      line += e.error;
      line += '"';
    }
    logger_->log(level, line);
  } catch (...) {
    // A log line that cannot be written is dropped; the work goes on.
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace factum
