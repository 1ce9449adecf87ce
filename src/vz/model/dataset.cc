#include "vz/model/dataset.h"

#include <string>

namespace vz::model {

std::string DType::NumpyStr() const {
  char kind_char = 'u';
  switch (kind) {
    case Kind::kBool:
      kind_char = 'b';
      break;
    case Kind::kInt:
      kind_char = 'i';
      break;
    case Kind::kUInt:
      kind_char = 'u';
      break;
    case Kind::kFloat:
      kind_char = 'f';
      break;
    case Kind::kComplex:
      kind_char = 'c';
      break;
    case Kind::kFixedString:
      kind_char = 'S';
      break;
    case Kind::kVlenString:
    case Kind::kVlenSequence:
    case Kind::kReference:
      return "|O";
    case Kind::kCompound:
    case Kind::kOpaque:
      kind_char = 'V';
      break;
  }
  char order = byte_order;
  if (size == 1 || kind == Kind::kFixedString || kind == Kind::kCompound || kind == Kind::kOpaque ||
      kind == Kind::kBool) {
    order = '|';
  }
  return std::string(1, order) + kind_char + std::to_string(size);
}

void ChunkManifest::Add(std::span<const std::uint64_t> chunk_coords, std::uint64_t offset,
                        std::uint64_t length, std::uint32_t filter_mask) {
  coords.insert(coords.end(), chunk_coords.begin(), chunk_coords.end());
  // Masks are stored only once one is non-zero; the chunks before it get 0.
  const bool store_mask = filter_mask != 0 || !filter_masks.empty();
  if (store_mask) filter_masks.resize(offsets.size(), 0);
  offsets.push_back(offset);
  lengths.push_back(length);
  if (store_mask) filter_masks.push_back(filter_mask);
}

std::string Array::Name() const {
  auto pos = path.rfind('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

}  // namespace vz::model
