#pragma once

namespace factum {

struct telemetry_tag;
struct telemetry_event;
class telemetry_sink;
class metrics;
struct metrics_options;
class log_sink;

}  // namespace factum
