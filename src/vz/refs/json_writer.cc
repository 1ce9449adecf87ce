#include "vz/refs/json_writer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <iterator>

namespace vz::refs {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at data[i], or 0 when ill-formed; in that
// case `*skip` is the length of the maximal subpart to replace (at least 1), per Unicode 3.9.
std::size_t Utf8SequenceLength(const unsigned char* data, std::size_t size, std::size_t i,
                               std::size_t* skip) {
  const unsigned char b0 = data[i];
  *skip = 1;
  if (b0 < 0x80) return 1;
  std::size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  std::size_t k = 1;
  for (; k <= need; ++k) {
    if (i + k >= size) break;
    const unsigned char b = data[i + k];
    const unsigned char min = k == 1 ? lo : static_cast<unsigned char>(0x80);
    const unsigned char max = k == 1 ? hi : static_cast<unsigned char>(0xBF);
    if (b < min || b > max) break;
  }
  if (k == need + 1) return need + 1;
  *skip = k;
  return 0;
}

template <typename Fn>
void ForEachUtf8Piece(const unsigned char* data, std::size_t size, Fn&& fn) {
  std::size_t i = 0;
  while (i < size) {
    std::size_t skip = 1;
    const std::size_t len = Utf8SequenceLength(data, size, i, &skip);
    if (len == 0) {
      fn(std::string_view(), true);
      i += skip;
    } else {
      fn(std::string_view(reinterpret_cast<const char*>(data + i), len), false);  // NOLINT
      i += len;
    }
  }
}

bool ValidUtf8(const unsigned char* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    std::size_t skip = 1;
    const std::size_t len = Utf8SequenceLength(data, size, i, &skip);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT(*-reinterpret-cast)
}

// True for the bytes JSON carries as they are: printable ASCII other than '"' and '\\'.
bool PlainJsonByte(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x20 && b < 0x80 && c != '"' && c != '\\';
}

// True when all 8 bytes of `w` are plain (see PlainJsonByte), tested together: no byte has the
// high bit set, is below 0x20, or equals '"' or '\\' (the classic "has a zero byte" test on
// w ^ byte pattern).
bool PlainJsonWord(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return ((w & kHigh) | below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'))) ==
         0;
}

// The length of the run of plain bytes at the start of `text`.
std::size_t PlainRun(const char* text, std::size_t size) {
  std::size_t n = 0;
  for (; n + 8 <= size; n += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, text + n, 8);
    if (!PlainJsonWord(w)) break;
  }
  while (n < size && PlainJsonByte(text[n])) ++n;
  return n;
}

}  // namespace

bool IsValidUtf8(std::span<const std::uint8_t> bytes) {
  return ValidUtf8(bytes.data(), bytes.size());
}

bool IsValidUtf8(std::string_view text) { return ValidUtf8(Bytes(text), text.size()); }

std::string SanitizeUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  ForEachUtf8Piece(Bytes(text), text.size(),
                   [&](std::string_view piece, bool bad) { out += bad ? kReplacement : piece; });
  return out;
}

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escape_u = [&](std::uint32_t unit) {
    const char buf[6] = {'\\',
                         'u',
                         kHex[(unit >> 12) & 15],
                         kHex[(unit >> 8) & 15],
                         kHex[(unit >> 4) & 15],
                         kHex[unit & 15]};
    out.append(buf, sizeof buf);
  };
  const unsigned char* data = Bytes(text);
  const std::size_t size = text.size();
  out += '"';
  std::size_t i = 0;
  while (i < size) {
    // Most text is plain ASCII: copy each run of it in one go.
    const std::size_t run = i + PlainRun(text.data() + i, size - i);
    out.append(text.data() + i, run - i);
    i = run;
    if (i == size) break;
    const unsigned char c = data[i];
    if (c < 0x80) {
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
          escape_u(c);
      }
      ++i;
      continue;
    }
    // Non-ASCII as \u escapes (surrogate pairs above U+FFFF), as kerchunk's ujson writes it:
    // some readers of the inner .zattrs strings decode them as ASCII. Ill-formed UTF-8 becomes
    // U+FFFD, one per maximal subpart (as Python's errors="replace").
    std::size_t skip = 1;
    const std::size_t len = Utf8SequenceLength(data, size, i, &skip);
    if (len == 0) {
      escape_u(0xfffd);
      i += skip;
      continue;
    }
    std::uint32_t cp = c & (0xffu >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (data[i + k] & 0x3fu);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      escape_u(0xd800 + (cp >> 10));
      escape_u(0xdc00 + (cp & 0x3ff));
    } else {
      escape_u(cp);
    }
    i += len;
  }
  out += '"';
}

void AppendJsonDouble(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  // fmt's default is the shortest text that round-trips; keep it a float for Python ("2.0").
  const std::string text = fmt::format("{}", value);
  out += text;
  if (text.find_first_of(".e") == std::string::npos) out += ".0";
}

RefsStreamWriter::RefsStreamWriter(std::ostream& out, std::string_view meta) : out_(out) {
  buffer_ = "{\"version\":1,";
  if (!meta.empty()) {
    buffer_ += "\"vzgen\":";
    buffer_ += meta;
    buffer_ += ',';
  }
  buffer_ += "\"refs\":{";
}

void RefsStreamWriter::BeginEntry(std::string_view key) {
  buffer_ += first_ ? "\n" : ",\n";
  first_ = false;
  AppendJsonString(buffer_, key);
  buffer_ += ':';
}

void RefsStreamWriter::MaybeFlush() {
  if (buffer_.size() >= (1u << 16)) {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
}

void RefsStreamWriter::Entry(std::string_view key, std::string_view json_value) {
  BeginEntry(key);
  buffer_ += json_value;
  MaybeFlush();
}

void RefsStreamWriter::StringEntry(std::string_view key, std::string_view text) {
  BeginEntry(key);
  AppendJsonString(buffer_, text);
  MaybeFlush();
}

void RefsStreamWriter::ReferenceEntry(std::string_view key, std::string_view url,
                                      std::uint64_t offset, std::uint64_t length) {
  BeginEntry(key);
  buffer_ += '[';
  if (url != last_url_ || last_url_json_.empty()) {
    last_url_.assign(url);
    last_url_json_.clear();
    AppendJsonString(last_url_json_, url);
  }
  buffer_ += last_url_json_;
  fmt::format_to(std::back_inserter(buffer_), ",{},{}]", offset, length);
  MaybeFlush();
}

Status RefsStreamWriter::Finish() {
  buffer_ += "\n}}\n";
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  out_.flush();
  if (!out_) return IoError("writing the references failed");
  return Ok();
}

}  // namespace vz::refs
