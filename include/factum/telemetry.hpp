#pragma once

// The telemetry room: the sink interface and the metrics sink (Prometheus
// text). Attach a sink with runtime_options::telemetry. The spdlog sink is
// not included: <factum/telemetry/log_sink.hpp>, with the target factum::log
// (the `log` component), so that only its users need spdlog.
#include <factum/telemetry/fwd.hpp>
#include <factum/telemetry/metrics.hpp>
#include <factum/telemetry/sink.hpp>
