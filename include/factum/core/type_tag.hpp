#pragma once

namespace factum {

/// A tag used to look up what a user's macro declared for `T` (its event
/// name, its fields, its rejections) by argument-dependent lookup.
template <class T>
struct type_tag {};

}  // namespace factum
