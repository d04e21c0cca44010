// Strict JSON parser: valid and invalid documents, limits, errors that name the byte offset, and
// the typed Field getters whose messages name the JSON path.
#include <string>

#include "capi/error.h"
#include "check.h"
#include "model/json.h"

using wl::json::Field;
using wl::json::Value;
namespace json = wl::json;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const wl::Error& e) {
    if (e.status() != WL_ERR_FORMAT) return std::string("<wrong status> ") + e.what();
    return e.what();
  }
  return "<no error>";
}

#define CHECK_ERROR(expr, substr)                                                        \
  do {                                                                                   \
    std::string msg_ = error_of([&] { (void)(expr); });                                  \
    CHECK_MSG(msg_.find(substr) != std::string::npos, "wanted \"%s\" in: %s", substr,    \
              msg_.c_str());                                                             \
  } while (0)

Value P(const std::string& s) { return json::parse(s, "doc"); }

}  // namespace

TEST(scalars_and_containers) {
  CHECK(P("null").is_null());
  CHECK(P("true").as_bool() == true);
  CHECK(P(" false ").as_bool() == false);
  CHECK(P("\"x\"").as_string() == "x");
  CHECK(P("[]").as_array().empty());
  CHECK(P("{}").as_object().empty());
  Value v = P(" {\"a\": [1, 2.5, {\"b\": null}], \"c\": \"d\"}\n\t");
  CHECK(v.is_object());
  CHECK(v.as_object().size() == 2);
  CHECK(v.as_object()[0].first == "a");  // document order kept
  const Value* a = v.find("a");
  CHECK(a && a->as_array().size() == 3);
  CHECK(a->as_array()[1].as_number() == 2.5);
  CHECK(a->as_array()[2].find("b")->is_null());
  CHECK(v.find("zz") == nullptr);
  CHECK(P("1").find("a") == nullptr);
}

TEST(numbers) {
  CHECK(P("0").as_number() == 0.0);
  CHECK(P("-0").as_number() == 0.0);
  CHECK(P("1.5e3").as_number() == 1500.0);
  CHECK(P("1E-2").as_number() == 0.01);
  CHECK(P("-12").as_number() == -12.0);
  CHECK(P("0.1").as_number() == 0.1);
  CHECK(P("1e-400").as_number() == 0.0);  // underflow rounds to zero
  CHECK(P("0." + std::string(400, '0') + "1").as_number() == 0.0);  // underflow without exponent
  CHECK(P("1" + std::string(300, '0')).as_number() == 1e300);
  CHECK_ERROR(P("1" + std::string(400, '0')), "out of the double range");
  CHECK(P("4").is_integer());
  CHECK(P("4.0").is_integer());
  CHECK(P("-4e2").is_integer());
  CHECK(!P("4.5").is_integer());
  CHECK(!P("1e300").is_integer());  // integral but not exactly representable as int64
  CHECK(P("9007199254740992").is_integer());
  CHECK(!P("\"4\"").is_integer());
}

TEST(invalid_numbers) {
  CHECK_ERROR(P("01"), "leading zeros");
  CHECK_ERROR(P("1."), "expected a digit after '.'");
  CHECK_ERROR(P(".5"), "expected a value");
  CHECK_ERROR(P("+1"), "expected a value");
  CHECK_ERROR(P("1e"), "exponent");
  CHECK_ERROR(P("-"), "expected a digit");
  CHECK_ERROR(P("NaN"), "expected a value");
  CHECK_ERROR(P("Infinity"), "expected a value");
  CHECK_ERROR(P("-Infinity"), "expected a digit");
  CHECK_ERROR(P("1e400"), "out of the double range");
  CHECK_ERROR(P("-1e99999999999999999999999"), "out of the double range");
  CHECK_ERROR(P("0x10"), "expected end of document");
}

TEST(strings_and_escapes) {
  CHECK(P("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(P("\"\\u0041\\u00e9\"").as_string() == "A\xC3\xA9");
  CHECK(P("\"\\u20AC\"").as_string() == "\xE2\x82\xAC");
  CHECK(P("\"\\ud83d\\ude00\"").as_string() == "\xF0\x9F\x98\x80");  // surrogate pair -> U+1F600
  CHECK(P("\"\xF0\x9F\x98\x80 \xC3\xA9\"").as_string() == "\xF0\x9F\x98\x80 \xC3\xA9");  // raw UTF-8
  CHECK(P("\"\\u0000\"").as_string() == std::string(1, '\0'));
}

TEST(invalid_strings) {
  CHECK_ERROR(P("\"abc"), "close the string");
  CHECK_ERROR(P("\"a\nb\""), "control characters must be escaped");
  CHECK_ERROR(P("\"\\x41\""), "valid escape");
  CHECK_ERROR(P("\"\\u12\""), "4 hex digits");
  CHECK_ERROR(P("\"\\ud800\""), "not followed by a low surrogate");
  CHECK_ERROR(P("\"\\ud800\\u0041\""), "not followed by a low surrogate");
  CHECK_ERROR(P("\"\\udc00\""), "lone low surrogate");
  CHECK_ERROR(P("\"\xC0\x80\""), "invalid UTF-8");          // overlong NUL
  CHECK_ERROR(P("\"\xE0\x80\x80\""), "overlong");           // overlong 3-byte
  CHECK_ERROR(P("\"\xED\xA0\x80\""), "surrogate");          // UTF-8 encoded surrogate
  CHECK_ERROR(P("\"\xF4\x90\x80\x80\""), "out of range");   // > U+10FFFF
  CHECK_ERROR(P("\"\xFF\""), "invalid UTF-8");
  CHECK_ERROR(P("\"\xE2\x82\""), "continuation");           // truncated sequence
  CHECK_ERROR(P("'a'"), "expected a value");
}

TEST(invalid_structure) {
  CHECK_ERROR(P(""), "expected a value");
  CHECK_ERROR(P("   "), "expected a value");
  CHECK_ERROR(P("[1,]"), "expected a value");
  CHECK_ERROR(P("{\"a\":1,}"), "expected a string key");
  CHECK_ERROR(P("{a:1}"), "expected a string key");
  CHECK_ERROR(P("{\"a\" 1}"), "expected ':'");
  CHECK_ERROR(P("[1 2]"), "expected ',' or ']'");
  CHECK_ERROR(P("{\"a\":1 \"b\":2}"), "expected ',' or '}'");
  CHECK_ERROR(P("1 2"), "expected end of document");
  CHECK_ERROR(P("tru"), "expected 'true'");
  CHECK_ERROR(P("nul"), "expected 'null'");
  CHECK_ERROR(P("{\"a\":1,\"a\":2}"), "duplicate object key \"a\"");
  CHECK_ERROR(P(std::string("[1]\0", 4)), "expected end of document");
}

TEST(errors_name_source_and_byte_offset) {
  std::string m = error_of([] { json::parse("[1, 2,]", "model.safetensors header"); });
  CHECK_MSG(m == "model.safetensors header: byte 6: expected a value (object, array, string, "
                 "number, true, false or null), got ']'",
            "%s", m.c_str());
  m = error_of([] { json::parse("{\"k\": tru}", "x"); });
  CHECK_MSG(m.find("x: byte 9:") == 0, "%s", m.c_str());
  m = error_of([] { json::parse("[\"a\x01\"]", "x"); });
  CHECK_MSG(m.find("byte 3") != std::string::npos && m.find("byte 0x01") != std::string::npos,
            "%s", m.c_str());
}

TEST(depth_limit) {
  std::string ok(json::kMaxDepth, '[');
  ok += std::string(json::kMaxDepth, ']');
  CHECK(P(ok).is_array());
  std::string deep(json::kMaxDepth + 1, '[');
  deep += std::string(json::kMaxDepth + 1, ']');
  CHECK_ERROR(P(deep), "nesting deeper than 64");
  // A depth bomb far past any stack: rejected at the limit, never recursed into.
  std::string bomb(1 << 20, '[');
  CHECK_ERROR(P(bomb), "nesting deeper than 64");
  std::string obj_bomb;
  for (int i = 0; i < 100000; ++i) obj_bomb += "{\"a\":";
  CHECK_ERROR(P(obj_bomb), "nesting deeper than 64");
}

TEST(size_limit) {
  CHECK_ERROR(json::parse("[1,2,3]", "doc", 6), "more than the limit of 6");
  CHECK(json::parse("[1,2,3]", "doc", 7).is_array());
}

TEST(value_count_limit) {
  CHECK(json::parse("[1,2,3]", "doc", 1 << 20, 4).as_array().size() == 3);  // the array counts too
  std::string m = error_of([] { json::parse("[1,2,3]", "doc", 1 << 20, 3); });
  CHECK_MSG(m == "doc: byte 5: more than 3 values in one document", "%s", m.c_str());
  // A long flat array of zeros is stopped at the default cap, not parsed into gigabytes.
  std::string zeros = "[";
  for (size_t i = 0; i < json::kDefaultMaxValues + 10; ++i) zeros += i ? ",0" : "0";
  zeros += "]";
  CHECK_ERROR(P(zeros), "values in one document");
}

TEST(dump_round_trips) {
  const char* docs[] = {
      "{\"a\":[1,2.5,-3,{\"b\":null}],\"c\":\"d\\n\\\"e\\u0001\",\"t\":true,\"f\":false}",
      "[0.1,1e+300,-2.5e-300,123456789012345]",
      "\"\xF0\x9F\x98\x80\"",
  };
  for (const char* d : docs) {
    std::string once = json::dump(P(d));
    std::string twice = json::dump(P(once));
    CHECK_MSG(once == twice, "%s vs %s", once.c_str(), twice.c_str());
  }
  CHECK(json::dump(P("{\"a\":[1,2.5]}")) == "{\"a\":[1,2.5]}");
  CHECK(json::dump(P("0.1")) == "0.1");
  CHECK(json::dump(Value::number(1.0 / 0.0)) == "null");
}

TEST(field_paths_in_errors) {
  Value doc = P("{\"denoiser\":{\"channels\":[64,128,-3],\"name\":7,\"s\":\"x\",\"f\":1.5},"
                "\"odd key\":{\"v\":true}}");
  Field root(doc, "manifest");
  std::string m = error_of([&] { root.at("denoiser").at("channels").at(2).positive_int(4096); });
  CHECK_MSG(m == "manifest.denoiser.channels[2]: expected a positive integer <= 4096, got -3", "%s",
            m.c_str());
  CHECK(root.at("denoiser").at("channels").at(1).positive_int(4096) == 128);
  m = error_of([&] { root.at("denoiser").at("heads"); });
  CHECK_MSG(m == "manifest.denoiser.heads: required field is missing", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("name").string(); });
  CHECK_MSG(m == "manifest.denoiser.name: expected a string, got 7", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("s").integer(0, 10); });
  CHECK_MSG(m == "manifest.denoiser.s: expected an integer in [0, 10], got \"x\"", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("f").integer(); });
  CHECK_MSG(m == "manifest.denoiser.f: expected an integer, got 1.5", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("f").number(2, 3); });
  CHECK_MSG(m == "manifest.denoiser.f: expected a number in [2, 3], got 1.5", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("channels").at(3); });
  CHECK_MSG(m == "manifest.denoiser.channels: index 3 past the end (length 3)", "%s", m.c_str());
  m = error_of([&] { root.at("denoiser").at("channels").size(1, 2); });
  CHECK_MSG(m == "manifest.denoiser.channels: expected an array of length 1..2, got length 3", "%s",
            m.c_str());
  m = error_of([&] { root.at("denoiser").at("s").at("x"); });
  CHECK_MSG(m == "manifest.denoiser.s: expected an object, got \"x\"", "%s", m.c_str());
  m = error_of([&] { root.at("odd key").at("v").number(); });
  CHECK_MSG(m == "manifest[\"odd key\"].v: expected a number, got true", "%s", m.c_str());
  CHECK(root.at("odd key").at("v").boolean());
  CHECK(!root.get("absent").has_value());
  CHECK(root.get("denoiser").has_value());
  CHECK(root.at("denoiser").at("f").positive_number(2.0) == 1.5);
  m = error_of([&] { root.at("denoiser").at("f").positive_number(1.0); });
  CHECK_MSG(m == "manifest.denoiser.f: expected a positive number <= 1, got 1.5", "%s", m.c_str());
}

TEST(describe_abbreviates) {
  std::string longs(500, 'x');
  std::string d = json::describe(Value::string(longs));
  CHECK(d.size() < 50);
  CHECK(d.find("...") != std::string::npos);
  CHECK(json::describe(P("[1,2,3]")) == "an array of 3");
}

TEST_MAIN()
