// JSON text for the kerchunk writer: string escaping that never fails (invalid UTF-8 becomes
// U+FFFD, as Python's errors="replace" decoding does), numbers that round-trip exactly (bare
// non-finite numbers as the strings "NaN"/"Infinity"/"-Infinity", so every document is RFC 8259
// JSON), and a streaming writer for the big "refs" object, which is written
// one key at a time and never held in memory.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "vz/base/error.h"
#include "vz/base/utf8.h"

namespace vz::refs {

// IsValidUtf8 and SanitizeUtf8 (vz/base/utf8.h) decide what is text.
using vz::IsValidUtf8;
using vz::SanitizeUtf8;

// Appends `text` as a quoted JSON string: '"' and '\' escaped, control characters as \n, \t, ...
// or \u00XX, well-formed UTF-8 copied through, ill-formed bytes replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view text);

// Appends a double that parses back to the same value ("0.1", "1e+37", "2.0"); NaN, Infinity and
// -Infinity as the JSON strings "NaN", "Infinity" and "-Infinity" (zarr's encoding of a
// non-finite fill_value; strict parsers reject the bare tokens Python's json writes).
void AppendJsonDouble(std::string& out, double value);

// Appends `value` as compact JSON (no spaces), with the number and string rules above. Objects
// keep their iteration order (sorted for nlohmann::json, insertion order for ordered_json).
template <typename BasicJson>
void AppendJson(std::string& out, const BasicJson& value);

template <typename BasicJson>
std::string ToJson(const BasicJson& value) {
  std::string out;
  AppendJson(out, value);
  return out;
}

// Writes {"version":1,"refs":{...}} to a stream, one entry per line, buffering a little.
class RefsStreamWriter {
 public:
  // `meta`, when not empty, is JSON text written as the top-level "vzgen" key before "refs".
  explicit RefsStreamWriter(std::ostream& out, std::string_view meta = {});
  // `json_value` must already be valid JSON text (a string literal, a list, ...).
  void Entry(std::string_view key, std::string_view json_value);
  // An entry whose value is the JSON string `text` (used for .zarray/.zattrs/.zgroup).
  void StringEntry(std::string_view key, std::string_view text);
  // [url, offset, length]
  void ReferenceEntry(std::string_view key, std::string_view url, std::uint64_t offset,
                      std::uint64_t length);
  // Closes the object and flushes; fails when the stream reported an error.
  Status Finish();

 private:
  void BeginEntry(std::string_view key);
  void MaybeFlush();
  std::ostream& out_;
  std::string buffer_;
  // The last chunk URL and its JSON form: a granule's references all share one URL.
  std::string last_url_;
  std::string last_url_json_;
  bool first_ = true;
};

// ---- template implementation ----

template <typename BasicJson>
void AppendJson(std::string& out, const BasicJson& value) {
  using Type = typename BasicJson::value_t;
  switch (value.type()) {
    case Type::null:
    case Type::discarded:
    case Type::binary:
      out += "null";
      return;
    case Type::boolean:
      out += value.template get<bool>() ? "true" : "false";
      return;
    case Type::number_integer:
      out += std::to_string(value.template get<std::int64_t>());
      return;
    case Type::number_unsigned:
      out += std::to_string(value.template get<std::uint64_t>());
      return;
    case Type::number_float:
      AppendJsonDouble(out, value.template get<double>());
      return;
    case Type::string:
      AppendJsonString(out, value.template get_ref<const std::string&>());
      return;
    case Type::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, item);
      }
      out += ']';
      return;
    }
    case Type::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, it.key());
        out += ':';
        AppendJson(out, it.value());
      }
      out += '}';
      return;
    }
  }
  out += "null";
}

}  // namespace vz::refs
