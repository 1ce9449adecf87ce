// DecodeChunk: runs an HDF5 filter pipeline backwards over one stored chunk.
#include "vz/codecs/codecs.h"

#include <fmt/format.h>

#include "vz/base/checked.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

constexpr std::uint16_t kDeflate = 1;
constexpr std::uint16_t kShuffle = 2;
constexpr std::uint16_t kFletcher32 = 3;
constexpr std::uint16_t kSzip = 4;
constexpr std::uint16_t kNbit = 5;
constexpr std::uint16_t kScaleOffset = 6;
constexpr std::uint16_t kBzip2 = 307;
constexpr std::uint16_t kLzf = 32000;
constexpr std::uint16_t kBlosc = 32001;
constexpr std::uint16_t kLz4 = 32004;
constexpr std::uint16_t kBitshuffle = 32008;
constexpr std::uint16_t kZstd = 32015;

Result<Bytes> DecodeStep(const model::Filter& f, ByteSpan in, const ChunkInfo& info) {
  switch (f.id) {
    case kDeflate:
      return InflateZlib(in, info.max_output);
    case kShuffle: {
      const std::size_t element_size = f.client_data.empty() ? info.dtype.size : f.client_data[0];
      return Unshuffle(in, element_size);
    }
    case kFletcher32:
      return CheckFletcher32(in);
    case kSzip:
      return DecodeSzip(in, f.client_data, info.max_output);
    case kNbit:
      return DecodeNbit(in, f.client_data, info.dtype, info.max_output);
    case kScaleOffset:
      return DecodeScaleOffset(in, f.client_data, info.dtype, info.max_output);
    case kBzip2:
      return DecodeBzip2(in, info.max_output);
    case kBlosc:
      return DecodeBlosc(in, info.max_output);
    case kLz4:
      return DecodeHdf5Lz4(in, info.max_output);
    case kZstd:
      return DecodeZstd(in, info.max_output);
    case kLzf: {
      // h5py's filter records the chunk's byte size in client data [2].
      std::uint64_t size = f.client_data.size() > 2 ? f.client_data[2] : 0;
      if (size == 0) {
        VZ_ASSIGN_OR_RETURN(auto elements, CheckedProduct(info.chunk_shape, "chunk elements"));
        VZ_ASSIGN_OR_RETURN(size, CheckedMul(elements, info.dtype.size, "chunk bytes"));
      }
      return DecodeLzf(in, size, info.max_output);
    }
    case kBitshuffle:
      return DecodeBitshuffle(in, f.client_data, info.dtype, info.max_output);
    default:
      return Unsupported(fmt::format("filter {} ({}) is not supported", f.id,
                                     f.name.empty() ? "unnamed" : f.name));
  }
}

}  // namespace

bool CanDecode(std::uint16_t filter_id) {
  switch (filter_id) {
    case kDeflate:
    case kShuffle:
    case kFletcher32:
    case kSzip:
    case kNbit:
    case kScaleOffset:
    case kBzip2:
    case kBlosc:
    case kLz4:
    case kZstd:
    case kLzf:
    case kBitshuffle:
      return true;
    default:
      return false;
  }
}

Result<std::vector<std::uint8_t>> DecodeChunk(std::span<const std::uint8_t> stored,
                                              std::span<const model::Filter> pipeline,
                                              std::uint32_t filter_mask, const ChunkInfo& info) {
  VZ_ASSIGN_OR_RETURN(const std::uint64_t elements,
                      CheckedProduct(info.chunk_shape, "chunk elements"));
  VZ_ASSIGN_OR_RETURN(const std::uint64_t expected,
                      CheckedMul(elements, info.dtype.size, "chunk bytes"));
  if (expected > info.max_output) {
    return LimitExceeded(fmt::format("chunk of {} bytes exceeds the decode limit of {} bytes",
                                     expected, info.max_output));
  }
  if (pipeline.size() > 32) {
    return Corrupt(fmt::format("filter pipeline of {} filters (HDF5 allows 32)", pipeline.size()));
  }
  Bytes data(stored.begin(), stored.end());
  for (std::size_t i = pipeline.size(); i-- > 0;) {
    if ((filter_mask >> i) & 1u) continue;  // this filter was skipped when the chunk was written
    VZ_ASSIGN_OR_RETURN(data, DecodeStep(pipeline[i], data, info));
  }
  if (data.size() != expected) {
    return Corrupt(fmt::format("decoded chunk has {} bytes, expected {}", data.size(), expected));
  }
  return data;
}

}  // namespace vz::codecs
