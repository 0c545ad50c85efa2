#pragma once

/// Forward declarations of the core room, for headers that only name them.
namespace factum {
enum class errc;
class error;
template <class T>
class result;
class uuid;
class stream_id;
class position;
class expected_version;
struct metadata;
struct event_data;
struct recorded_event;
struct event_info;
template <class Variant>
class codec;
}  // namespace factum
