#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <factum/core/detail/json_fields.hpp>
#include <factum/core/detail/json_text.hpp>
#include <factum/core/event.hpp>
#include <factum/core/result.hpp>
#include <factum/core/type_tag.hpp>

namespace factum {

/// A stored event type's identity: its stable name and its schema version.
struct event_info {
  std::string_view name;
  std::uint32_t version = 1;
};

/// Registers an event struct in one line, in the struct's own namespace:
/// its stable stored name, its schema version, and the fields that make up
/// its JSON.
/// ```
/// namespace bank {
/// struct money_deposited { std::int64_t amount; };
/// FACTUM_EVENT(money_deposited, "MoneyDeposited", 1, amount)
/// }
/// ```
/// The name is written to disk and must never change (rename with an
/// upcaster, not here). For a struct with its own `to_json`/`from_json` or no
/// fields, use `FACTUM_EVENT_NAME(type, "Name", version)`.
///
/// Decoding is strict: a stored value that does not fit its field is
/// `errc::decode_failed`, naming the field and the value, never a cast. An
/// integer field takes a JSON integer its type holds exactly, or a number
/// with a fraction or an exponent whose value is a whole number of at most
/// 2^53 - 1 in magnitude that the type holds (`41.0` and `4.1e1` are 41;
/// `1.7`, `353` into a `uint8_t` and `2.1e19` into an `int` fail). A bool
/// field takes only `true` or `false`, a number field no bool, a `float` no
/// finite value beyond its range. Vectors, `std::array`s (of exactly their
/// size), optionals (null or a value), string-keyed maps and FACTUM_JSON
/// structs are checked element by element; other types decode through their
/// own `from_json`. The rule is in `detail/json_fields.hpp`.
#define FACTUM_EVENT(Type, Name, Version, ...) \
  FACTUM_JSON(Type, __VA_ARGS__)               \
  FACTUM_EVENT_NAME(Type, Name, Version)

/// Maps a struct used inside events (a field's type, not an event) to a JSON
/// object of the listed fields, decoded as strictly as an event's:
/// ```
/// struct line { std::string sku; std::uint32_t quantity = 0; };
/// FACTUM_JSON(line, sku, quantity)
/// struct order_placed { std::vector<line> lines; };
/// FACTUM_EVENT(order_placed, "OrderPlaced", 1, lines)
/// ```
#define FACTUM_JSON(Type, ...)                                                                \
  [[maybe_unused]] constexpr auto factum_event_fields(::factum::type_tag<Type>) noexcept {    \
    using factum_self = Type;                                                                 \
    return ::factum::detail::field_list(                                                      \
        nullptr NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(FACTUM_DETAIL_FIELD, __VA_ARGS__))); \
  }                                                                                           \
  inline void to_json(::nlohmann::json& factum_j, const Type& factum_t) {                     \
    ::factum::detail::write_fields(factum_j, factum_t,                                        \
                                   factum_event_fields(::factum::type_tag<Type>{}));          \
  }                                                                                           \
  inline void from_json(const ::nlohmann::json& factum_j, Type& factum_t) {                   \
    ::factum::detail::read_fields(factum_j, factum_t,                                         \
                                  factum_event_fields(::factum::type_tag<Type>{}));           \
  }

#define FACTUM_DETAIL_FIELD(member) , ::factum::detail::make_field(#member, &factum_self::member)

/// Names an event type whose JSON mapping the user writes (see FACTUM_EVENT).
#define FACTUM_EVENT_NAME(Type, Name, Version)                       \
  [[maybe_unused]] constexpr ::factum::event_info factum_event_info( \
      ::factum::type_tag<Type>) noexcept {                           \
    return {Name, Version};                                          \
  }

/// Names an event type was stored under before it was renamed; stored
/// events with these names decode as this type. In the struct's namespace:
/// ```
/// FACTUM_EVENT(account_opened, "AccountCreated", 1, owner)
/// FACTUM_EVENT_OLD_NAMES(account_opened, "AccountOpened")
/// ```
#define FACTUM_EVENT_OLD_NAMES(Type, ...)                                                     \
  [[maybe_unused]] constexpr auto factum_event_old_names(::factum::type_tag<Type>) noexcept { \
    return std::to_array<std::string_view>({__VA_ARGS__});                                    \
  }

/// The tag of an upcaster from schema version `V` to `V + 1`.
template <std::uint32_t V>
struct upcast_from {};

/// Schema evolution: an event type at schema version N declares, for each
/// older version V, how its stored JSON becomes version V + 1, as a function
/// found by argument-dependent lookup in the struct's namespace. Stored
/// events are upcast step by step up to the current version, then decoded.
/// ```
/// struct money_deposited { std::int64_t amount; std::string memo; };
/// FACTUM_EVENT(money_deposited, "MoneyDeposited", 2, amount, memo)
/// inline void factum_upcast(factum::type_tag<money_deposited>, factum::upcast_from<1>,
///                           factum::json& data) { data["memo"] = ""; }
/// ```
template <class T, std::uint32_t V>
concept has_upcaster = requires(json& j) {
  factum_upcast(type_tag<T>{}, upcast_from<V>{}, j);
};

/// A type registered with FACTUM_EVENT: it has a name and maps to and from JSON.
template <class T>
concept registered_event = requires {
  { factum_event_info(type_tag<T>{}) } -> std::same_as<event_info>;
}
&&requires(const T& t, json& j) {
  {j = t};
  { j.get<T>() } -> std::same_as<T>;
};

namespace detail {
/// Fails to compile, naming `E` in the message's context, when `E` is not
/// registered.
template <class E>
constexpr bool check_registered() {
  static_assert(registered_event<E>,
                "factum event: a type (E, named in this message's context) is not registered: "
                "add FACTUM_EVENT(type, \"Name\", version, fields...) after its definition, in "
                "its namespace");
  return registered_event<E>;
}

template <class Fields>
struct all_plain;
template <class... T, class... M>
struct all_plain<std::tuple<field<T, M>...>> : std::bool_constant<(is_plain_field_v<M> && ...)> {};
}  // namespace detail

/// An event registered with FACTUM_EVENT whose fields are all integers,
/// bools or strings: the codec maps it to and from JSON text directly.
template <class T>
concept plain_event = requires {
  factum_event_fields(type_tag<T>{});
}
&&detail::all_plain<decltype(factum_event_fields(type_tag<T>{}))>::value;

/// The registered name and schema version of `T`.
template <registered_event T>
[[nodiscard]] constexpr event_info info_of() noexcept {
  return factum_event_info(type_tag<T>{});
}

/// The older names of `T` (FACTUM_EVENT_OLD_NAMES), none when it was never renamed.
template <class T>
[[nodiscard]] constexpr auto old_names_of() noexcept {
  if constexpr (requires { factum_event_old_names(type_tag<T>{}); })
    return factum_event_old_names(type_tag<T>{});
  else
    return std::array<std::string_view, 0>{};
}

/// Every name `T` may be stored under: its name, then its older names.
template <class T>
[[nodiscard]] std::vector<std::string> stored_names_of() {
  std::vector<std::string> out{std::string(info_of<T>().name)};
  for (const auto n : old_names_of<T>())
    out.emplace_back(n);
  return out;
}

template <class Variant>
class codec;

/// Maps a variant of registered event types to stored events and back.
///
/// It is the type registry of one aggregate or subscriber: the names and
/// versions come from FACTUM_EVENT, so nothing is registered at run time and
/// no registry is global.
/// ```
/// using event = std::variant<account_opened, money_deposited>;
/// factum::codec<event> codec;
/// factum::event_data d = codec.encode(money_deposited{100});
/// factum::result<event> e = codec.decode(recorded);  // unknown_event_type, decode_failed
/// ```
template <class... Es>
class codec<std::variant<Es...>> {
  static_assert(sizeof...(Es) > 0, "a codec needs at least one event type");
  static_assert((detail::check_registered<Es>() && ...));

 public:
  using event = std::variant<Es...>;

  /// The registered names, in variant order.
  [[nodiscard]] static constexpr std::array<event_info, sizeof...(Es)> types() noexcept {
    return {info_of<Es>()...};
  }

  /// Whether `type` is one of this codec's names (older names included).
  [[nodiscard]] static constexpr bool knows(std::string_view type) noexcept {
    return ((type == info_of<Es>().name || is_old_name<Es>(type)) || ...);
  }

  /// The event as an `event_data` with a fresh UUIDv7 id.
  template <class E>
  requires(std::is_same_v<std::remove_cvref_t<E>, Es> || ...) [[nodiscard]] static event_data
      encode(const E& e, factum::metadata meta = {}) {
    event_data d;
    d.type = std::string(info_of<E>().name);
    d.schema_version = info_of<E>().version;
    if constexpr (plain_event<E>) {
      if (detail::write_plain(e, factum_event_fields(type_tag<E>{}), d.data)) {
        d.metadata = std::move(meta);
        return d;
      }
    }
    // Invalid UTF-8 in a string is replaced rather than thrown.
    d.data = json(e).dump(-1, ' ', false, json::error_handler_t::replace);
    d.metadata = std::move(meta);
    return d;
  }
  [[nodiscard]] static event_data encode(const event& e, factum::metadata meta = {});

  /// The C++ event of a stored one; `errc::unknown_event_type` for a name
  /// this codec does not know, `errc::malformed_event` for text that is not
  /// JSON, `errc::decode_failed` when the JSON does not fit
  /// (all name the event's global position).
  [[nodiscard]] static result<event> decode(const recorded_event& r);

  [[nodiscard]] static result<event> decode(std::string_view type, std::uint32_t schema_version,
                                            std::string_view data,
                                            std::uint64_t global_position = 0);

 private:
  /// The data's DOM, or a discarded one when it is not JSON by the store's
  /// rule (`detail::is_valid_json`): nlohmann alone stops at a NUL byte and
  /// would take `{"a":1}\0junk` for `{"a":1}`.
  static json parse_data(std::string_view data) {
    if (!detail::is_valid_json(data)) return json(json::value_t::discarded);
    return json::parse(data.begin(), data.end(), nullptr, false);
  }

  static std::string where(std::string_view type, std::uint64_t pos) {
    std::string s = "type '" + std::string(type) + "'";
    if (pos != 0) s += " at global position " + std::to_string(pos);
    return s;
  }

  template <class E>
  static constexpr bool is_old_name(std::string_view type) noexcept {
    for (const auto n : old_names_of<E>())
      if (n == type) return true;
    return false;
  }

  /// Runs the upcasters of `E` from `from` up to its current version.
  template <class E, std::uint32_t... V>
  static std::optional<std::uint32_t> upcast(json& j, std::uint32_t from,
                                             std::integer_sequence<std::uint32_t, V...>) {
    std::optional<std::uint32_t> missing;
    (void)from;  // unused when there is no older version
    (
        [&] {
          constexpr std::uint32_t step = V + 1;  // from `step` to `step + 1`
          if (missing || step < from) return;
          if constexpr (has_upcaster<E, step>)
            factum_upcast(type_tag<E>{}, upcast_from<step>{}, j);
          else
            missing = step;
        }(),
        ...);
    return missing;
  }

  template <class E>
  static bool try_decode(std::string_view type, std::uint32_t schema_version, std::string_view data,
                         std::uint64_t pos, std::optional<result<event>>& out) {
    constexpr event_info info = info_of<E>();
    if (type != info.name && !is_old_name<E>(type)) return false;
    auto fail = [&](errc code, std::string why) {
      error e{code, where(type, pos) + ": " + std::move(why)};
      if (pos != 0) e.position = pos;
      out = std::move(e);
      return true;
    };
    if (schema_version > info.version || schema_version == 0)
      return fail(errc::decode_failed, "stored schema version " + std::to_string(schema_version) +
                                           ", this build knows up to " +
                                           std::to_string(info.version));
    if (schema_version < info.version) {
      json j = parse_data(data);
      if (j.is_discarded()) return fail(errc::malformed_event, "data is not valid JSON");
      try {
        if (auto missing = upcast<E>(j, schema_version,
                                     std::make_integer_sequence<std::uint32_t, info.version - 1>{}))
          return fail(errc::decode_failed,
                      "stored schema version " + std::to_string(schema_version) +
                          ", no upcaster from version " + std::to_string(*missing) + " to " +
                          std::to_string(*missing + 1));
        out = event{std::in_place_type<E>, j.get<E>()};
      } catch (const std::exception& ex) {
        return fail(errc::decode_failed, std::string("upcast from schema version ") +
                                             std::to_string(schema_version) + ": " + ex.what());
      }
      return true;
    }
    if constexpr (plain_event<E>) {
      E e{};
      if (detail::read_plain(data, e, factum_event_fields(type_tag<E>{}))) {
        out = event{std::in_place_type<E>, std::move(e)};
        return true;
      }
    }
    const json j = parse_data(data);
    if (j.is_discarded()) {
      error e{errc::malformed_event, where(type, pos) + ": data is not valid JSON"};
      if (pos != 0) e.position = pos;
      out = std::move(e);
      return true;
    }
    try {
      out = event{std::in_place_type<E>, j.get<E>()};
    } catch (const std::exception& ex) {
      error e{errc::decode_failed, where(type, pos) + ": " + ex.what()};
      if (pos != 0) e.position = pos;
      out = std::move(e);
    }
    return true;
  }
};

// Defined outside the class, so not inline: a translation unit that sees
// FACTUM_EXTERN_CODEC for the variant calls them without instantiating them.

template <class... Es>
event_data codec<std::variant<Es...>>::encode(const event& e, factum::metadata meta) {
  return std::visit([&](const auto& alt) { return encode(alt, std::move(meta)); }, e);
}

template <class... Es>
result<std::variant<Es...>> codec<std::variant<Es...>>::decode(const recorded_event& r) {
  return decode(r.type, r.schema_version, r.data, r.global_position);
}

template <class... Es>
result<std::variant<Es...>> codec<std::variant<Es...>>::decode(std::string_view type,
                                                               std::uint32_t schema_version,
                                                               std::string_view data,
                                                               std::uint64_t global_position) {
  std::optional<result<event>> out;
  if ((try_decode<Es>(type, schema_version, data, global_position, out) || ...))
    return std::move(*out);
  error unknown{errc::unknown_event_type, where(type, global_position)};
  if (global_position != 0) unknown.position = global_position;
  return unknown;
}

}  // namespace factum

/// Compiles the codec of an event variant in one translation unit instead of
/// every one that uses it. Encoding and decoding all of an aggregate's events
/// (JSON parsing, the checked field conversions, the upcasters) is the
/// largest part of compiling a given/when/then test or an aggregate's
/// runtime code; with these, a TU pays for it only when it instantiates it.
/// At global scope, in the header that defines the aggregate:
/// ```
/// FACTUM_EXTERN_CODEC(bank::account::event)
/// ```
/// and in exactly one .cpp of the program (linked with what includes the header):
/// ```
/// FACTUM_INSTANTIATE_CODEC(bank::account::event)
/// ```
/// Without them every TU compiles the codec itself, as before; the behaviour
/// is the same either way. Only `encode(const event&)` and the `decode`
/// overloads are compiled once: encoding one alternative directly
/// (`codec.encode(money_deposited{5})`) is still instantiated where it is used.
#define FACTUM_EXTERN_CODEC(...) extern template class ::factum::codec<__VA_ARGS__>;
/// See FACTUM_EXTERN_CODEC.
#define FACTUM_INSTANTIATE_CODEC(...) template class ::factum::codec<__VA_ARGS__>;
