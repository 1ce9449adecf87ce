// Standard base64 (RFC 4648, with '=' padding), as Python's base64.b64encode writes it: used for
// "base64:" inline chunks and for fixed-string fill values.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace vz::refs {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
void AppendBase64(std::string& out, std::span<const std::uint8_t> bytes);

}  // namespace vz::refs
