#pragma once

/// The store room: the adapter interface and the in-memory store. The SQLite
/// store is in <factum/store/sqlite_store.hpp> (link factum::sqlite).
#include <factum/store/event_store.hpp>
#include <factum/store/memory_store.hpp>
