#include "model/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_set>

#include "capi/error.h"

namespace wl {
namespace json {

const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "boolean";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Value

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}
Value Value::number(double d) {
  Value v;
  v.type_ = Type::Number;
  v.number_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}
Value Value::array(Array items) {
  Value v;
  v.type_ = Type::Array;
  v.array_ = std::make_shared<const Array>(std::move(items));
  return v;
}
Value Value::object(Object members) {
  Value v;
  v.type_ = Type::Object;
  v.object_ = std::make_shared<const Object>(std::move(members));
  return v;
}

namespace {
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

void require_type(Type have, Type want) {
  if (have != want)
    throw std::logic_error(std::string("json::Value: accessed a ") + type_name(have) + " as " +
                           type_name(want));
}
}  // namespace

bool Value::is_integer() const {
  return type_ == Type::Number && std::isfinite(number_) && std::floor(number_) == number_ &&
         std::fabs(number_) <= kMaxExactInteger;
}
bool Value::as_bool() const {
  require_type(type_, Type::Bool);
  return bool_;
}
double Value::as_number() const {
  require_type(type_, Type::Number);
  return number_;
}
const std::string& Value::as_string() const {
  require_type(type_, Type::String);
  return string_;
}
const Array& Value::as_array() const {
  require_type(type_, Type::Array);
  return *array_;
}
const Object& Value::as_object() const {
  require_type(type_, Type::Object);
  return *object_;
}
const Value* Value::find(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& kv : *object_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent with an explicit depth limit, so recursion is bounded by kMaxDepth.

namespace {

std::string printable_byte(unsigned char c) {
  char buf[16];
  if (c >= 0x20 && c < 0x7f)
    std::snprintf(buf, sizeof buf, "'%c'", c);
  else
    std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
  return buf;
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view source, size_t max_values)
      : s_(text), source_(source), max_values_(max_values) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("expected end of document after the top-level value");
    return v;
  }

 private:
  [[noreturn]] void fail_at(size_t at, const std::string& what) const {
    std::string got = at < s_.size() ? printable_byte(static_cast<unsigned char>(s_[at]))
                                     : std::string("end of input");
    throw Error(WL_ERR_FORMAT, std::string(source_) + ": byte " + std::to_string(at) + ": " +
                                   what + ", got " + got);
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(pos_, what); }
  // For errors that are about a span rather than the next byte.
  [[noreturn]] void fail_plain(size_t at, const std::string& what) const {
    throw Error(WL_ERR_FORMAT,
                std::string(source_) + ": byte " + std::to_string(at) + ": " + what);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  unsigned char peek() const { return static_cast<unsigned char>(s_[pos_]); }

  void skip_ws() {
    while (!at_end()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        ++pos_;
      else
        break;
    }
  }

  void expect_literal(const char* lit) {
    size_t n = std::strlen(lit);
    for (size_t i = 0; i < n; ++i) {
      if (pos_ + i >= s_.size() || s_[pos_ + i] != lit[i]) fail_at(pos_ + i, std::string("expected '") + lit + "'");
    }
    pos_ += n;
  }

  Value parse_value(int depth) {
    if (at_end()) fail("expected a value");
    if (++values_ > max_values_)
      fail_plain(pos_, "more than " + std::to_string(max_values_) + " values in one document");
    switch (peek()) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value::string(parse_string());
      case 't': expect_literal("true"); return Value::boolean(true);
      case 'f': expect_literal("false"); return Value::boolean(false);
      case 'n': expect_literal("null"); return Value();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return Value::number(parse_number());
        fail("expected a value (object, array, string, number, true, false or null)");
    }
  }

  void check_depth(int depth) const {
    if (depth > kMaxDepth)
      fail_plain(pos_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Object members;
    std::unordered_set<std::string> seen;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return Value::object(std::move(members));
    }
    for (;;) {
      skip_ws();
      if (at_end() || peek() != '"') fail("expected a string key in object");
      size_t key_at = pos_;
      std::string key = parse_string();
      if (!seen.insert(key).second) {
        std::string quoted;
        append_quoted(quoted, key);
        fail_plain(key_at, "duplicate object key " + quoted);
      }
      skip_ws();
      if (at_end() || peek() != ':') fail("expected ':' after object key");
      ++pos_;
      skip_ws();
      Value v = parse_value(depth);
      members.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (at_end()) fail("expected ',' or '}' after object member");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return Value::object(std::move(members));
      }
      fail("expected ',' or '}' after object member");
    }
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Array items;
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return Value::array(std::move(items));
    }
    for (;;) {
      skip_ws();
      items.push_back(parse_value(depth));
      skip_ws();
      if (at_end()) fail("expected ',' or ']' after array element");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Value::array(std::move(items));
      }
      fail("expected ',' or ']' after array element");
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_end()) fail("expected 4 hex digits after \\u");
      unsigned char c = peek();
      uint32_t d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        fail("expected 4 hex digits after \\u");
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  // Validates one multi-byte UTF-8 sequence starting at pos_ (lead byte >= 0x80) and copies it.
  void copy_utf8_sequence(std::string& out) {
    size_t start = pos_;
    unsigned char c = peek();
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      fail("invalid UTF-8 in string");
    }
    for (int i = 1; i < len; ++i) {
      if (start + i >= s_.size()) fail_at(start + i, "truncated UTF-8 sequence in string");
      unsigned char cc = static_cast<unsigned char>(s_[start + i]);
      if ((cc & 0xC0) != 0x80) fail_at(start + i, "invalid UTF-8 continuation byte in string");
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      fail_plain(start, "invalid UTF-8 sequence in string (overlong, surrogate or out of range)");
    out.append(s_.data() + start, len);
    pos_ = start + len;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("expected '\"' to close the string");
      unsigned char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("control characters must be escaped in strings");
      if (c >= 0x80) {
        copy_utf8_sequence(out);
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      size_t esc_at = pos_;
      ++pos_;
      if (at_end()) fail("expected an escape character after '\\'");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF)
            fail_plain(esc_at, "lone low surrogate \\u escape in string");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
              fail_plain(esc_at, "high surrogate \\u escape not followed by a low surrogate");
            pos_ += 2;
            uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF)
              fail_plain(esc_at, "high surrogate \\u escape not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail_at(pos_ - 1, "expected a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
      }
    }
  }

  bool is_digit() const { return !at_end() && peek() >= '0' && peek() <= '9'; }

  double parse_number() {
    size_t start = pos_;
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!is_digit()) fail("expected a digit in number");
    // Decimal exponent of the leading significant digit, to tell overflow from underflow when
    // from_chars reports out of range.
    int64_t magnitude = 0;
    bool seen_significant = false;
    if (peek() == '0') {
      ++pos_;
      if (is_digit()) fail_plain(start, "numbers must not have leading zeros");
    } else {
      while (is_digit()) {
        if (seen_significant && magnitude < (int64_t(1) << 40)) ++magnitude;
        seen_significant = true;
        ++pos_;
      }
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (!is_digit()) fail("expected a digit after '.' in number");
      int64_t frac_pos = 0;
      while (is_digit()) {
        ++frac_pos;
        if (!seen_significant && peek() != '0') {
          seen_significant = true;
          magnitude = -std::min<int64_t>(frac_pos, int64_t(1) << 40);
        }
        ++pos_;
      }
    }
    int64_t exp_value = 0;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      bool exp_negative = false;
      if (!at_end() && (peek() == '+' || peek() == '-')) {
        exp_negative = peek() == '-';
        ++pos_;
      }
      if (!is_digit()) fail("expected a digit in number exponent");
      while (is_digit()) {
        if (exp_value < (int64_t(1) << 40)) exp_value = exp_value * 10 + (peek() - '0');
        ++pos_;
      }
      if (exp_negative) exp_value = -exp_value;
    }
    double value = 0.0;
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    auto res = std::from_chars(first, last, value);
    if (res.ec == std::errc::result_out_of_range) {
      if (!seen_significant || magnitude + exp_value < 0) return negative ? -0.0 : 0.0;  // underflow
      fail_plain(start, "number " + std::string(first, std::min<size_t>(last - first, 40)) +
                            " is out of the double range");
    }
    if (res.ec != std::errc() || res.ptr != last) fail_plain(start, "malformed number");
    return value;
  }

  std::string_view s_;
  std::string_view source_;
  size_t max_values_;
  size_t values_ = 0;
  size_t pos_ = 0;
};

}  // namespace

Value parse(std::string_view text, std::string_view source, size_t max_bytes, size_t max_values) {
  if (text.size() > max_bytes)
    throw Error(WL_ERR_FORMAT, std::string(source) + ": document is " + std::to_string(text.size()) +
                                   " bytes, more than the limit of " + std::to_string(max_bytes));
  return Parser(text, source, max_values).parse_document();
}

// ---------------------------------------------------------------------------------------------
// Serialisation

namespace {
void append_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no NaN/Inf
    return;
  }
  char buf[64];
  if (std::floor(d) == d && std::fabs(d) <= kMaxExactInteger) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(d));
    out.append(buf, r.ptr);
    return;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

void dump_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Type::Number: append_number(out, v.as_number()); break;
    case Type::String: append_quoted(out, v.as_string()); break;
    case Type::Array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        dump_to(out, item);
      }
      out += ']';
      break;
    }
    case Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.as_object()) {
        if (!first) out += ',';
        first = false;
        append_quoted(out, kv.first);
        out += ':';
        dump_to(out, kv.second);
      }
      out += '}';
      break;
    }
  }
}
}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

std::string dump(const Value& v) {
  std::string out;
  dump_to(out, v);
  return out;
}

std::string describe(const Value& v) {
  switch (v.type()) {
    case Type::Null: return "null";
    case Type::Bool: return v.as_bool() ? "true" : "false";
    case Type::Number: {
      std::string out;
      append_number(out, v.as_number());
      return out;
    }
    case Type::String: {
      const std::string& s = v.as_string();
      std::string out;
      if (s.size() <= 40) {
        append_quoted(out, s);
      } else {
        // Cut on a UTF-8 boundary so the message stays valid text.
        size_t cut = 37;
        while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
        append_quoted(out, s.substr(0, cut));
        out.insert(out.size() - 1, "...");
      }
      return out;
    }
    case Type::Array: return "an array of " + std::to_string(v.as_array().size());
    case Type::Object: return "an object";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Field

namespace {
bool is_identifier(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string member_path(const std::string& base, std::string_view key) {
  if (is_identifier(key)) return base.empty() ? std::string(key) : base + "." + std::string(key);
  std::string out = base + "[";
  append_quoted(out, key);
  out += "]";
  return out;
}

std::string fmt_double(double d) {
  std::string out;
  append_number(out, d);
  return out;
}
}  // namespace

void Field::fail(const std::string& message) const {
  throw Error(WL_ERR_FORMAT, path_ + ": " + message);
}

void Field::expect_object() const {
  if (!v_->is_object()) fail("expected an object, got " + describe(*v_));
}

const Object& Field::members() const {
  expect_object();
  return v_->as_object();
}

Field Field::at(std::string_view key) const {
  expect_object();
  const Value* m = v_->find(key);
  if (!m) throw Error(WL_ERR_FORMAT, member_path(path_, key) + ": required field is missing");
  return Field(*m, member_path(path_, key));
}

std::optional<Field> Field::get(std::string_view key) const {
  expect_object();
  const Value* m = v_->find(key);
  if (!m) return std::nullopt;
  return Field(*m, member_path(path_, key));
}

size_t Field::size() const {
  if (!v_->is_array()) fail("expected an array, got " + describe(*v_));
  return v_->as_array().size();
}

size_t Field::size(size_t min_len, size_t max_len) const {
  size_t n = size();
  if (n < min_len || n > max_len) {
    if (min_len == max_len)
      fail("expected an array of length " + std::to_string(min_len) + ", got length " +
           std::to_string(n));
    fail("expected an array of length " + std::to_string(min_len) + ".." + std::to_string(max_len) +
         ", got length " + std::to_string(n));
  }
  return n;
}

Field Field::at(size_t index) const {
  size_t n = size();
  if (index >= n)
    fail("index " + std::to_string(index) + " past the end (length " + std::to_string(n) + ")");
  return Field(v_->as_array()[index], path_ + "[" + std::to_string(index) + "]");
}

bool Field::boolean() const {
  if (!v_->is_bool()) fail("expected true or false, got " + describe(*v_));
  return v_->as_bool();
}

const std::string& Field::string() const {
  if (!v_->is_string()) fail("expected a string, got " + describe(*v_));
  return v_->as_string();
}

double Field::number() const {
  if (!v_->is_number()) fail("expected a number, got " + describe(*v_));
  double d = v_->as_number();
  if (!std::isfinite(d)) fail("expected a finite number");
  return d;
}

double Field::number(double min, double max) const {
  if (!v_->is_number() || !(v_->as_number() >= min && v_->as_number() <= max))
    fail("expected a number in [" + fmt_double(min) + ", " + fmt_double(max) + "], got " +
         describe(*v_));
  return v_->as_number();
}

double Field::positive_number(double max) const {
  if (!v_->is_number() || !(v_->as_number() > 0.0 && v_->as_number() <= max))
    fail("expected a positive number <= " + fmt_double(max) + ", got " + describe(*v_));
  return v_->as_number();
}

int64_t Field::integer() const {
  if (!v_->is_integer()) fail("expected an integer, got " + describe(*v_));
  return static_cast<int64_t>(v_->as_number());
}

int64_t Field::integer(int64_t min, int64_t max) const {
  if (!v_->is_integer() || v_->as_number() < static_cast<double>(min) ||
      v_->as_number() > static_cast<double>(max))
    fail("expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
         "], got " + describe(*v_));
  return static_cast<int64_t>(v_->as_number());
}

int Field::positive_int(int max) const {
  if (!v_->is_integer() || v_->as_number() < 1.0 || v_->as_number() > static_cast<double>(max))
    fail("expected a positive integer <= " + std::to_string(max) + ", got " + describe(*v_));
  return static_cast<int>(v_->as_number());
}

}  // namespace json
}  // namespace wl
