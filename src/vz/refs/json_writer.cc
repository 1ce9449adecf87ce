#include "vz/refs/json_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>

namespace vz::refs {

namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT(*-reinterpret-cast)
}

// The bytes of `w` that JSON cannot carry as they are, each marked by its high bit: bytes with
// the high bit set, below 0x20, '"' or '\\' (the classic "has a zero byte" test on w ^ pattern).
// Bytes above a marked one may be marked falsely (borrows), but the lowest mark is exact.
std::uint64_t SpecialBytes(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const std::uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return (w & kHigh) | below_space | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\'));
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  // The escape letter of each ASCII byte that needs one ('u': \u00XX), 0 for plain bytes.
  static constexpr auto kEscape = [] {
    std::array<char, 128> t{};
    for (std::size_t c = 0; c < 0x20; ++c) t[c] = 'u';
    t['"'] = '"';
    t['\\'] = '\\';
    t['\b'] = 'b';
    t['\f'] = 'f';
    t['\n'] = 'n';
    t['\r'] = 'r';
    t['\t'] = 't';
    return t;
  }();
  auto escape_u = [](char* o, std::uint32_t unit) {
    o[0] = '\\';
    o[1] = 'u';
    o[2] = kHex[(unit >> 12) & 15];
    o[3] = kHex[(unit >> 8) & 15];
    o[4] = kHex[(unit >> 4) & 15];
    o[5] = kHex[unit & 15];
    return o + 6;
  };
  const unsigned char* data = Bytes(text);
  const std::size_t size = text.size();
  out += '"';
  // Escaped into a stack buffer kPiece input bytes at a time, then appended: no byte takes more
  // than 6 output bytes (\u00XX, \ufffd; 12 for a 4-byte sequence), and a piece may run past
  // its end by one word or one UTF-8 sequence, which kSlack covers.
  constexpr std::size_t kPiece = 1024;
  constexpr std::size_t kSlack = 32;
  char buffer[6 * kPiece + kSlack];
  std::size_t i = 0;
  while (i < size) {
    const std::size_t piece_end = std::min(size, i + kPiece);
    char* o = buffer;
    while (i < piece_end) {
      // Most text is plain ASCII: eight bytes at a time up to the first byte that needs care
      // (all eight are copied; only the plain ones count, the buffer has room for the rest).
      while (i + 8 <= size && i < piece_end) {
        std::uint64_t w = 0;
        std::memcpy(&w, data + i, 8);
        const std::uint64_t special = SpecialBytes(w);
        std::memcpy(o, &w, 8);
        if (special == 0) {
          o += 8;
          i += 8;
          continue;
        }
        if constexpr (std::endian::native == std::endian::little) {
          const auto plain = static_cast<std::size_t>(std::countr_zero(special) / 8);
          o += plain;
          i += plain;
        }
        break;
      }
      if (i >= piece_end) break;
      const unsigned char c = data[i];
      if (c < 0x80) {
        const char e = kEscape[c];
        if (e == 0) {
          *o++ = static_cast<char>(c);
        } else if (e != 'u') {
          o[0] = '\\';
          o[1] = e;
          o += 2;
        } else {
          o = escape_u(o, c);
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
        o = escape_u(o, 0xfffd);
        i += skip;
        continue;
      }
      std::uint32_t cp = c & (0xffu >> (len + 1));
      for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (data[i + k] & 0x3fu);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        o = escape_u(o, 0xd800 + (cp >> 10));
        o = escape_u(o, 0xdc00 + (cp & 0x3ff));
      } else {
        o = escape_u(o, cp);
      }
      i += len;
    }
    out.append(buffer, o);
  }
  out += '"';
}

void AppendJsonDouble(std::string& out, double value) {
  // RFC 8259 has no NaN or Infinity: the strings zarr uses for a non-finite fill_value.
  if (std::isnan(value)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "\"Infinity\"" : "\"-Infinity\"";
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
  char digits[48];
  char* o = digits;
  *o++ = ',';
  o = std::to_chars(o, digits + sizeof digits, offset).ptr;
  *o++ = ',';
  o = std::to_chars(o, digits + sizeof digits, length).ptr;
  *o++ = ']';
  buffer_.append(digits, o);
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
