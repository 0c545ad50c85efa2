#pragma once

namespace factum {
class runtime;
class middleware;
class consistency_gate;
struct runtime_options;
struct aggregate_options;
struct retry_policy;
struct memory_options;
struct dispatch_options;
struct dispatch_result;
struct command_context;
struct stream_version;
enum class consistency;
enum class memory_pressure;
}  // namespace factum
