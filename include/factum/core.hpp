#pragma once

/// The core room: ids, metadata, recorded events, errors, results, the codec.
#include <factum/config/version.hpp>
#include <factum/core/codec.hpp>
#include <factum/core/error.hpp>
#include <factum/core/event.hpp>
#include <factum/core/position.hpp>
#include <factum/core/result.hpp>
#include <factum/core/stream_id.hpp>
#include <factum/core/uuid.hpp>
