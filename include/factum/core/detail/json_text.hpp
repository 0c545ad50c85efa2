#pragma once

// JSON text without a DOM: a validator, and a direct struct <-> text path for
// events whose fields are all integers, bools or strings. Loading an
// aggregate decodes every event of its stream, and building an nlohmann DOM
// per event costs as much as reading the row from SQLite; these keep the
// codec cheap. Anything they do not handle returns false, and the caller
// takes nlohmann's path, so results never differ.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <factum/core/detail/utf8.hpp>

namespace factum::detail {

/// One registered field: its JSON name and its member pointer.
template <class T, class M>
struct field {
  std::string_view name;
  M T::*member;
};

template <class T, class M>
constexpr field<T, M> make_field(std::string_view name, M T::*member) noexcept {
  return {name, member};
}

template <class... Fs>
constexpr std::tuple<Fs...> field_list(std::nullptr_t, Fs... fs) noexcept {
  return {fs...};
}

template <class M>
inline constexpr bool is_plain_field_v =
    std::is_same_v<M, bool> || std::is_same_v<M, std::string> ||
    (std::is_integral_v<M> && !std::is_same_v<M, char> && !std::is_same_v<M, wchar_t> &&
     !std::is_same_v<M, char8_t> && !std::is_same_v<M, char16_t> && !std::is_same_v<M, char32_t>);

// ---- validation ----

class json_validator {
 public:
  explicit json_validator(std::string_view s) noexcept : p_(s.data()), end_(s.data() + s.size()) {}

  bool document() noexcept {
    ws();
    if (!value(0)) return false;
    ws();
    return p_ == end_;
  }

 private:
  static constexpr int max_depth = 512;

  void ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  bool value(int depth) noexcept {
    if (p_ == end_ || depth > max_depth) return false;
    switch (*p_) {
      case '{':
        return object(depth);
      case '[':
        return array(depth);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  bool object(int depth) noexcept {
    ++p_;
    ws();
    if (p_ != end_ && *p_ == '}') return ++p_, true;
    for (;;) {
      if (p_ == end_ || *p_ != '"' || !string()) return false;
      ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      ws();
      if (!value(depth + 1)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == '}') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  bool array(int depth) noexcept {
    ++p_;
    ws();
    if (p_ != end_ && *p_ == ']') return ++p_, true;
    for (;;) {
      if (!value(depth + 1)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == ']') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }

  static bool hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool string() noexcept {
    ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') return ++p_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"':
          case '\\':
          case '/':
          case 'b':
          case 'f':
          case 'n':
          case 'r':
          case 't':
            ++p_;
            break;
          case 'u':
            if (end_ - p_ < 5 || !hex(p_[1]) || !hex(p_[2]) || !hex(p_[3]) || !hex(p_[4]))
              return false;
            p_ += 5;
            break;
          default:
            return false;
        }
      } else if (c < 0x80) {
        ++p_;
      } else if (!utf8()) {
        return false;
      }
    }
    return false;
  }

  bool utf8() noexcept {
    const std::size_t n = utf8_length(p_, end_);
    p_ += n;
    return n != 0;
  }

  bool digits() noexcept {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9')
      ++p_;
    return p_ != start;
  }

  bool number() noexcept {
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
};

/// Whether `text` is one well-formed JSON value (RFC 8259, UTF-8).
[[nodiscard]] inline bool is_valid_json(std::string_view text) noexcept {
  return json_validator{text}.document();
}

// ---- the direct path for plain fields ----

class plain_reader {
 public:
  explicit plain_reader(std::string_view s) noexcept : p_(s.data()), end_(s.data() + s.size()) {}

  void ws() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }
  bool eat(char c) noexcept {
    ws();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  [[nodiscard]] bool at_end() noexcept {
    ws();
    return p_ == end_;
  }

  /// A key without escapes (anything else: false).
  bool key(std::string_view& out) noexcept {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ != end_ && *p_ != '"') {
      if (*p_ == '\\' || static_cast<unsigned char>(*p_) < 0x20) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out = {start, static_cast<std::size_t>(p_ - start)};
    ++p_;
    return true;
  }

  template <class M>
  bool read(M& out) noexcept {
    ws();
    if constexpr (std::is_same_v<M, bool>) {
      if (take("true")) return out = true, true;
      if (take("false")) return out = false, true;
      return false;
    } else if constexpr (std::is_same_v<M, std::string>) {
      return string(out);
    } else {
      const auto [next, ec] = std::from_chars(p_, end_, out);
      // A fraction or exponent is left to nlohmann, which converts it.
      if (ec != std::errc{} || next == p_ ||
          (next != end_ && (*next == '.' || *next == 'e' || *next == 'E')))
        return false;
      p_ = next;
      return true;
    }
  }

 private:
  bool take(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word)
      return false;
    p_ += word.size();
    return true;
  }

  bool string(std::string& out) noexcept {
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    out.clear();
    const char* run = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, p_);
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c != '\\') {
        ++p_;
        continue;
      }
      out.append(run, p_);
      if (++p_ == end_) return false;
      switch (*p_) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        default:
          return false;  // \u escapes: nlohmann's path
      }
      run = ++p_;
    }
    return false;
  }

  const char* p_;
  const char* end_;
};

template <class T, class Fields, std::size_t... I>
bool read_field(plain_reader& r, std::string_view name, T& out, const Fields& fields,
                std::uint64_t& seen, std::index_sequence<I...>) {
  bool found = false, ok = false;
  (void)((std::get<I>(fields).name == name
              ? (found = true,
                 ok = !(seen & (1ull << I)) && r.read(out.*(std::get<I>(fields).member)),
                 seen |= 1ull << I, true)
              : false) ||
         ...);
  return found && ok;
}

/// Reads `{"name": value, ...}` with exactly the registered plain fields, in
/// any order, each once; false for anything else (the caller then uses nlohmann).
template <class T, class Fields>
bool read_plain(std::string_view text, T& out, const Fields& fields) {
  constexpr std::size_t count = std::tuple_size_v<Fields>;
  static_assert(count < 64, "at most 63 fields");
  std::uint64_t seen = 0;
  plain_reader r{text};
  if (!r.eat('{')) return false;
  if (!r.eat('}')) {
    do {
      std::string_view name;
      if (!r.key(name) || !r.eat(':') ||
          !read_field(r, name, out, fields, seen, std::make_index_sequence<count>{}))
        return false;
    } while (r.eat(','));
    if (!r.eat('}')) return false;
  }
  return r.at_end() && seen == (1ull << count) - 1;
}

inline void write_string(std::string& out, std::string_view s) {
  static constexpr char hexdigits[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hexdigits[c >> 4];
          out += hexdigits[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

/// Writes the plain fields as a JSON object, the way nlohmann's dump() does;
/// false when a string is not valid UTF-8 (nlohmann's path replaces it).
template <class T, class Fields>
bool write_plain(const T& in, const Fields& fields, std::string& out) {
  out.clear();
  out += '{';
  bool ok = true, first = true;
  std::apply(
      [&](const auto&... f) {
        (
            [&] {
              if (!first) out += ',';
              first = false;
              write_string(out, f.name);
              out += ':';
              const auto& v = in.*f.member;
              using M = std::remove_cvref_t<decltype(v)>;
              if constexpr (std::is_same_v<M, bool>) {
                out += v ? "true" : "false";
              } else if constexpr (std::is_same_v<M, std::string>) {
                if (!is_utf8(v)) ok = false;
                write_string(out, v);
              } else {
                char buf[24];
                const auto r = std::to_chars(buf, buf + sizeof buf, v);
                out.append(buf, r.ptr);
              }
            }(),
            ...);
      },
      fields);
  out += '}';
  return ok;
}

}  // namespace factum::detail
