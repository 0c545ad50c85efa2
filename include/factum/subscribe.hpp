#pragma once

/// The read side: the event-type router, event handlers, projections and
/// read models, checkpoints and dead letters.
#include <factum/subscribe/memory_read_model.hpp>
#include <factum/subscribe/process_manager.hpp>
#include <factum/subscribe/subscriber.hpp>
#include <factum/subscribe/subscriptions.hpp>
