// The individual HDF5 filter decoders behind DecodeChunk. Each takes the stored bytes of one
// pipeline step and returns the bytes of the step before it, never producing more than
// max_output bytes. Kept separate so tests can drive a single step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::codecs {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// General-purpose compressors (compressors.cc).
Result<Bytes> InflateZlib(ByteSpan in, std::uint64_t max_output);
Result<Bytes> DecodeBzip2(ByteSpan in, std::uint64_t max_output);
Result<Bytes> DecodeZstd(ByteSpan in, std::uint64_t max_output);
Result<Bytes> DecodeBlosc(ByteSpan in, std::uint64_t max_output);
// HDF5 lz4 plugin framing: u64be total size, u32be block size, then per block u32be stored size
// and the block (stored raw when its stored size equals its raw size).
Result<Bytes> DecodeHdf5Lz4(ByteSpan in, std::uint64_t max_output);
// h5py's lzf filter: the raw LZF stream of a chunk that decodes to `size` bytes.
Result<Bytes> DecodeLzf(ByteSpan in, std::uint64_t size, std::uint64_t max_output);
// HDF5 szip: u32le decoded size, then an AEC stream; client data = options mask, pixels per
// block, bits per pixel, pixels per scanline.
Result<Bytes> DecodeSzip(ByteSpan in, std::span<const std::uint32_t> client_data,
                         std::uint64_t max_output);

// Byte transforms (shuffle.cc).
Bytes Unshuffle(ByteSpan in, std::size_t element_size);
// HDF5's Fletcher-32 (16-bit big-endian words, sums folded every 360 words).
std::uint32_t Fletcher32(ByteSpan data);
// Verifies the 4-byte checksum at the end and returns the bytes before it.
Result<Bytes> CheckFletcher32(ByteSpan in);

// The bitshuffle filter (bitshuffle.cc): bit transpose in blocks, optionally lz4 or zstd per
// block; client data as the HDF5 plugin sets it ([2] element size, [3] block size, [4] codec).
Result<Bytes> DecodeBitshuffle(ByteSpan in, std::span<const std::uint32_t> client_data,
                               const model::DType& dtype, std::uint64_t max_output);

// HDF5 n-bit (nbit.cc) and scale-offset (scaleoffset.cc), driven by their client data.
// `dtype` is the dataset's element type (for n-bit integers the values are shifted down from
// their bit offset and sign-extended, as HDF5's type conversion does on read).
Result<Bytes> DecodeNbit(ByteSpan in, std::span<const std::uint32_t> client_data,
                         const model::DType& dtype, std::uint64_t max_output);
Result<Bytes> DecodeScaleOffset(ByteSpan in, std::span<const std::uint32_t> client_data,
                                const model::DType& dtype, std::uint64_t max_output);

}  // namespace vz::codecs
