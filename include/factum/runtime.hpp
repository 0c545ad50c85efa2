#pragma once

/// The runtime room: the Asio runtime, dispatch, middleware, options. Pulls
/// in Boost.Asio; domain code includes <factum/domain.hpp> instead.
#include <factum/domain.hpp>
#include <factum/runtime/dispatch.hpp>
#include <factum/runtime/middleware.hpp>
#include <factum/runtime/options.hpp>
#include <factum/runtime/runtime.hpp>
#include <factum/runtime/snapshots.hpp>
#include <factum/store.hpp>
