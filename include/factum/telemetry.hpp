#pragma once

// The telemetry room: the sink interface, the metrics sink (Prometheus
// text) and the spdlog sink. Attach a sink with runtime_options::telemetry.
#include <factum/telemetry/fwd.hpp>
#include <factum/telemetry/log_sink.hpp>
#include <factum/telemetry/metrics.hpp>
#include <factum/telemetry/sink.hpp>
