#pragma once

/// Forward declarations of factum's public types, for headers that only name them.
namespace factum {
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
template <class Variant>
class codec;
struct stream_write;
struct stream_range;
struct append_result;
struct append_options;
struct snapshot;
struct dead_letter;
class event_store;
class memory_store;
class sqlite_store;
struct sqlite_options;
}  // namespace factum
