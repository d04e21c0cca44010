// A small strict JSON (RFC 8259) parser for untrusted input: model manifests and safetensors
// headers. Limits are part of the contract: the caller gives the maximum document size, nesting
// is capped at kMaxDepth, and every error carries the byte offset and what was expected, so a
// hostile file produces a message instead of a stack overflow or a huge allocation.
//
// Reading a parsed document goes through json::Field, a value paired with its JSON path, whose
// typed getters throw errors such as
//   manifest.denoiser.channels[2]: expected a positive integer <= 4096, got -3
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wl {
namespace json {

// Deepest array/object nesting accepted; deeper documents are rejected, never recursed into.
constexpr int kMaxDepth = 64;
// Default cap on values per document (about 100 MB of Values at most).
constexpr size_t kDefaultMaxValues = size_t(1) << 20;

enum class Type { Null, Bool, Number, String, Array, Object };
const char* type_name(Type t);  // "null", "boolean", "number", "string", "array", "object"

class Value;
using Array = std::vector<Value>;
// Members keep document order; duplicate keys are rejected by the parser.
using Object = std::vector<std::pair<std::string, Value>>;

class Value {
 public:
  Value() = default;  // null
  static Value boolean(bool b);
  static Value number(double d);
  static Value string(std::string s);
  static Value array(Array items);
  static Value object(Object members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }
  // A number whose value is an integer that a double holds exactly (|v| <= 2^53).
  bool is_integer() const;

  // Unchecked accessors: call only after the matching is_*() (they throw std::logic_error on a
  // type mismatch, which is a programming error, not a format error). Use Field for input.
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Object member by key, or nullptr when absent or when this is not an object.
  const Value* find(std::string_view key) const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  // Shared so that copies of large headers are cheap; a parsed document is never mutated.
  std::shared_ptr<const Array> array_;
  std::shared_ptr<const Object> object_;
};

// Parses a complete document (leading/trailing whitespace allowed, nothing else after it).
// `source` names the input in errors ("model.safetensors header"). Throws wl::Error(WL_ERR_FORMAT)
// e.g. "model.safetensors header: byte 17: expected ',' or '}' after object member".
// Strings must be valid UTF-8; \u escapes (including surrogate pairs) are decoded to UTF-8;
// lone surrogates, control characters, duplicate keys, NaN/Infinity, leading zeros and numbers
// outside the double range are rejected.
// `max_values` caps the number of values (scalars and containers): a Value is ~40x larger than
// its shortest text ("0,"), so without it a 100 MB header of zeros would need gigabytes.
Value parse(std::string_view text, std::string_view source = "JSON", size_t max_bytes = 64u << 20,
            size_t max_values = kDefaultMaxValues);

// Compact serialisation (document order, shortest round-trip numbers, integers without ".0").
std::string dump(const Value& v);
// Appends `s` as a quoted JSON string literal.
void append_quoted(std::string& out, std::string_view s);

// A value together with the path it was reached by, for error messages. Getters throw
// wl::Error(WL_ERR_FORMAT, "<path>: expected ..., got ...").
class Field {
 public:
  Field(const Value& v, std::string path) : v_(&v), path_(std::move(path)) {}

  const Value& value() const { return *v_; }
  const std::string& path() const { return path_; }

  // Objects.
  Field at(std::string_view key) const;                  // required member ("missing required field")
  std::optional<Field> get(std::string_view key) const;  // optional member (still must be an object)
  const Object& members() const;                         // requires an object
  void expect_object() const;

  // Arrays.
  size_t size() const;                                   // requires an array
  size_t size(size_t min_len, size_t max_len) const;     // requires min_len <= length <= max_len
  Field at(size_t index) const;                          // requires an array and index < size

  // Scalars.
  bool boolean() const;
  const std::string& string() const;
  double number() const;                                 // any finite number
  double number(double min, double max) const;           // finite, min <= v <= max
  double positive_number(double max) const;              // finite, 0 < v <= max
  int64_t integer() const;                               // exact integer
  int64_t integer(int64_t min, int64_t max) const;       // exact integer in [min, max]
  int positive_int(int max) const;                       // exact integer in [1, max]

  // Throws wl::Error(WL_ERR_FORMAT, "<path>: <message>").
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const Value* v_;
  std::string path_;
};

// Short human rendering of a value for "got ..." parts of messages (long strings/containers are
// abbreviated).
std::string describe(const Value& v);

}  // namespace json
}  // namespace wl
