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

  static int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  /// The UTF-16 code unit of the four hex digits at `q`, or -1.
  [[nodiscard]] int code_unit(const char* q) const noexcept {
    if (end_ - q < 4) return -1;
    int unit = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex(q[i]);
      if (h < 0) return -1;
      unit = unit * 16 + h;
    }
    return unit;
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
          case 'u': {
            // A high surrogate must be followed by an escaped low one, and a
            // low one must not stand alone (nlohmann refuses both).
            const int unit = code_unit(p_ + 1);
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
            p_ += 5;
            if (unit >= 0xD800 && unit <= 0xDBFF) {
              if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
              const int low = code_unit(p_ + 2);
              if (low < 0xDC00 || low > 0xDFFF) return false;
              p_ += 6;
            }
            break;
          }
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
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    const char* integer = p_;
    if (*p_ == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    const auto integer_digits = static_cast<long long>(p_ - integer);
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits()) return false;
    }
    long long exponent = 0;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      bool negative = false;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) negative = *p_++ == '-';
      const char* first = p_;
      for (; p_ != end_ && *p_ >= '0' && *p_ <= '9'; ++p_)
        if (exponent < exponent_cap) exponent = exponent * 10 + (*p_ - '0');
      if (p_ == first) return false;
      if (negative) exponent = -exponent;
    }
    // Below 10^308 a number is finite; beyond, parse it as nlohmann does.
    return integer_digits + exponent <= 308 || finite(start, exponent);
  }

  static constexpr long long exponent_cap = 1'000'000'000'000'000;

  /// Whether the number from `start` to here is a finite double: nlohmann
  /// refuses one that overflows (1e400) and reads one that underflows as 0.
  [[nodiscard]] bool finite(const char* start, long long exponent) const noexcept {
    double d = 0;
    const auto [next, ec] = std::from_chars(start, p_, d);
    if (next != p_) return false;
    if (ec != std::errc::result_out_of_range) return ec == std::errc{};
    // Out of range: too large or too small. The first significant digit's
    // power of ten tells which.
    long long power = 0;
    const char* q = *start == '-' ? start + 1 : start;
    for (; q != p_ && *q >= '0' && *q <= '9'; ++q)
      ++power;
    for (const char* d0 = *start == '-' ? start + 1 : start; d0 != p_; ++d0) {
      if (*d0 == '.') continue;
      if (*d0 < '0' || *d0 > '9') break;
      if (*d0 != '0') break;
      --power;
    }
    return power + exponent <= 0;
  }

  const char* p_;
  const char* end_;
};

/// Whether `text` is one well-formed JSON value (RFC 8259, UTF-8) that
/// nlohmann::json::parse accepts, so whatever a store takes the codec can
/// read: no unpaired surrogate escape (`"\ud800"`), no number beyond a
/// double's range (`1e400`; one too small for it, `1e-400`, reads as 0).
/// Three differences, on the safe side, where nlohmann accepts: it refuses
/// nesting deeper than 512 levels below the top value, a leading byte order
/// mark, and a NUL byte outside a string, where nlohmann stops reading as if
/// the text ended (`[1]\0junk` parses as `[1]`). Tested differentially in
/// tests/core/json_text.cpp.
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

  /// Reads a bool, an integer or a string (strings allocate, so they may throw).
  template <class M>
  bool read(M& out) noexcept(!std::is_same_v<M, std::string>) {
    ws();
    if constexpr (std::is_same_v<M, bool>) {
      if (take("true")) return out = true, true;
      if (take("false")) return out = false, true;
      return false;
    } else if constexpr (std::is_same_v<M, std::string>) {
      return string(out);
    } else {
      // Only an integer the field's type holds: out of range, a fraction or
      // an exponent is left to nlohmann's path, which applies the codec's
      // rule (json_fields.hpp), and a leading zero is not JSON.
      const auto [next, ec] = std::from_chars(p_, end_, out);
      if (ec != std::errc{} || next == p_ ||
          (next != end_ && (*next == '.' || *next == 'e' || *next == 'E')))
        return false;
      const char* digit = *p_ == '-' ? p_ + 1 : p_;
      if (*digit == '0' && next - digit > 1) return false;
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

  bool string(std::string& out) {
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
      if (c >= 0x80) {  // not UTF-8: nlohmann's path refuses it
        const std::size_t n = utf8_length(p_, end_);
        if (n == 0) return false;
        p_ += n;
        continue;
      }
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
