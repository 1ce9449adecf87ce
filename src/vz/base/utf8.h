// UTF-8 checking and repair, shared by the readers (names, attribute and vlen strings) and the
// JSON writer: ill-formed bytes become U+FFFD, one per maximal subpart (Unicode 3.9), which is
// what Python's decode(errors="replace") gives, so that text matches what h5py users see.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vz {

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::span<const std::uint8_t> bytes);
bool IsValidUtf8(std::string_view text);

// `text` with every ill-formed subsequence replaced by U+FFFD (one per maximal subpart).
std::string SanitizeUtf8(std::string_view text);
// The same, moving `text` through unchanged when it is well-formed (the usual case).
std::string SanitizeUtf8(std::string&& text);

// Length of the well-formed sequence starting at data[i] (i < size), or 0 when it is ill-formed;
// then `*skip` is the length of the maximal subpart to replace (at least 1).
std::size_t Utf8SequenceLength(const unsigned char* data, std::size_t size, std::size_t i,
                               std::size_t* skip);

}  // namespace vz
