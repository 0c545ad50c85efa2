#pragma once

/// Forward declarations of the store room, for headers that only name them.
namespace factum {
struct stream_write;
struct stream_range;
struct append_result;
struct append_options;
struct snapshot;
struct dead_letter;
struct stream_info;
class event_store;
class memory_store;
class sqlite_store;
struct sqlite_options;
enum class sqlite_sync;
class sqlite_read_model;
struct sqlite_read_model_options;
class sql;
class sql_row;
}  // namespace factum
