#pragma once

/// Everything of factum's header-only part.
#include <factum/domain.hpp>
#include <factum/runtime.hpp>
#include <factum/store.hpp>
#include <factum/subscribe.hpp>
#include <factum/telemetry.hpp>
