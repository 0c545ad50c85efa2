#pragma once

namespace factum {
template <class... Es>
struct events;
enum class start_from;
struct subscription_options;
struct subscriptions_options;
class subscription;
class subscriptions;
template <class Key, class Value, class Hash>
class memory_read_model;
}  // namespace factum
