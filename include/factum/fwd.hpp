#pragma once

/// Forward declarations of every room's public types.
#include <factum/core/fwd.hpp>
#include <factum/runtime/fwd.hpp>
#include <factum/store/fwd.hpp>
#include <factum/subscribe/fwd.hpp>
#include <factum/telemetry/fwd.hpp>
