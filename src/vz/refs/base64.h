// Standard base64 (RFC 4648, with '=' padding), as Python's base64.b64encode writes it: used for
// "base64:" inline chunks and for fixed-string fill values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vz::refs {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
void AppendBase64(std::string& out, std::span<const std::uint8_t> bytes);
// Strict decoding (padding required, no whitespace); nullopt when `text` is not base64.
std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text);

}  // namespace vz::refs
