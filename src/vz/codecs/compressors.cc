// Adapters from general-purpose compression libraries (zlib, bzip2, zstd, blosc, lz4, lzf, libaec)
// to HDF5 filter semantics: one stored chunk in, its decoded bytes out, never more than the
// caller's cap, and every library failure turned into an error that names the filter.
#include <blosc.h>
#include <bzlib.h>
#include <fmt/format.h>
#include <libaec.h>
#include <lz4.h>
#include <lzf.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

// The first output allocation: a guess from the input size, never above the cap.
std::size_t InitialCapacity(std::size_t in_size, std::uint64_t max_output) {
  const std::uint64_t guess = std::max<std::uint64_t>(std::uint64_t{in_size} * 4, 4096);
  return static_cast<std::size_t>(std::min(guess, max_output));
}

// Grows `out` (whose first `used` bytes are valid) geometrically up to the cap. False when the
// buffer is already at the cap.
bool Grow(Bytes& out, std::size_t used, std::uint64_t max_output) {
  if (used < out.size()) return true;
  if (out.size() >= max_output) return false;
  const std::uint64_t next = std::min<std::uint64_t>(
      std::max<std::uint64_t>(std::uint64_t{out.size()} * 2, 4096), max_output);
  out.resize(static_cast<std::size_t>(next));
  return true;
}

Error TooLarge(const char* filter, std::uint64_t max_output) {
  return LimitExceeded(fmt::format("{} decode failed: decoded data exceeds the limit of {} bytes",
                                   filter, max_output));
}

// Largest piece handed to a library whose length fields are 32-bit.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;

}  // namespace

Result<Bytes> InflateZlib(ByteSpan in, std::uint64_t max_output) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) return Internal("deflate decode failed: inflateInit");
  Bytes out(InitialCapacity(in.size(), max_output));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  int rc = Z_OK;
  while (true) {
    if (zs.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min(in.size() - in_pos, kMaxPiece);
      zs.next_in = const_cast<Bytef*>(in.data() + in_pos);  // zlib's API is not const-correct
      zs.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (out_pos == out.size() && !Grow(out, out_pos, max_output)) {
      inflateEnd(&zs);
      return TooLarge("deflate", max_output);
    }
    const std::size_t room = std::min(out.size() - out_pos, kMaxPiece);
    zs.next_out = out.data() + out_pos;
    zs.avail_out = static_cast<uInt>(room);
    rc = inflate(&zs, Z_NO_FLUSH);
    out_pos += room - zs.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_pos == in.size() && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Corrupt("deflate decode failed: truncated stream");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      const std::string msg = zs.msg != nullptr ? zs.msg : fmt::format("zlib error {}", rc);
      inflateEnd(&zs);
      return Corrupt(fmt::format("deflate decode failed: {}", msg));
    }
  }
  inflateEnd(&zs);
  out.resize(out_pos);
  return out;
}

Result<Bytes> DecodeBzip2(ByteSpan in, std::uint64_t max_output) {
  bz_stream bs;
  std::memset(&bs, 0, sizeof bs);
  if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) {
    return Internal("bzip2 decode failed: BZ2_bzDecompressInit");
  }
  Bytes out(InitialCapacity(in.size(), max_output));
  std::size_t in_pos = 0;
  std::size_t out_pos = 0;
  while (true) {
    if (bs.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min(in.size() - in_pos, kMaxPiece);
      // bzlib's API is not const-correct; it never writes through next_in.
      bs.next_in = reinterpret_cast<char*>(  // NOLINT(*-reinterpret-cast): bzlib's C API
          const_cast<std::uint8_t*>(in.data() + in_pos));
      bs.avail_in = static_cast<unsigned>(n);
      in_pos += n;
    }
    if (out_pos == out.size() && !Grow(out, out_pos, max_output)) {
      BZ2_bzDecompressEnd(&bs);
      return TooLarge("bzip2", max_output);
    }
    const std::size_t room = std::min(out.size() - out_pos, kMaxPiece);
    bs.next_out = reinterpret_cast<char*>(out.data() + out_pos);  // NOLINT(*-reinterpret-cast)
    bs.avail_out = static_cast<unsigned>(room);
    const int rc = BZ2_bzDecompress(&bs);
    const std::size_t produced = room - bs.avail_out;
    out_pos += produced;
    if (rc == BZ_STREAM_END) break;
    if (rc != BZ_OK) {
      BZ2_bzDecompressEnd(&bs);
      return Corrupt(fmt::format("bzip2 decode failed: libbz2 error {}", rc));
    }
    if (bs.avail_in == 0 && in_pos == in.size() && produced == 0 && bs.avail_out != 0) {
      BZ2_bzDecompressEnd(&bs);
      return Corrupt("bzip2 decode failed: truncated stream");
    }
  }
  BZ2_bzDecompressEnd(&bs);
  out.resize(out_pos);
  return out;
}

Result<Bytes> DecodeZstd(ByteSpan in, std::uint64_t max_output) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return Internal("zstd decode failed: ZSTD_createDCtx");
  std::size_t capacity = InitialCapacity(in.size(), max_output);
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
    if (declared > max_output) {
      ZSTD_freeDCtx(ctx);
      return TooLarge("zstd", max_output);
    }
    capacity = std::max<std::size_t>(static_cast<std::size_t>(declared), 1);
  }
  Bytes out(capacity);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::size_t out_pos = 0;
  std::size_t pending = 1;  // ZSTD_decompressStream's hint; 0 once a frame is complete
  while (input.pos < input.size || (pending != 0 && out_pos == out.size())) {
    if (out_pos == out.size() && !Grow(out, out_pos, max_output)) {
      ZSTD_freeDCtx(ctx);
      return TooLarge("zstd", max_output);
    }
    ZSTD_outBuffer output{out.data() + out_pos, out.size() - out_pos, 0};
    const std::size_t before_in = input.pos;
    pending = ZSTD_decompressStream(ctx, &output, &input);
    out_pos += output.pos;
    if (ZSTD_isError(pending)) {
      const std::string msg = ZSTD_getErrorName(pending);
      ZSTD_freeDCtx(ctx);
      return Corrupt(fmt::format("zstd decode failed: {}", msg));
    }
    if (output.pos == 0 && input.pos == before_in && output.size != 0) break;
  }
  ZSTD_freeDCtx(ctx);
  if (pending != 0) return Corrupt("zstd decode failed: truncated stream");
  out.resize(out_pos);
  return out;
}

Result<Bytes> DecodeBlosc(ByteSpan in, std::uint64_t max_output) {
  if (in.size() < BLOSC_MIN_HEADER_LENGTH) {
    return Corrupt(
        fmt::format("blosc decode failed: {} bytes is shorter than a blosc header", in.size()));
  }
  std::size_t nbytes = 0;
  std::size_t cbytes = 0;
  std::size_t block = 0;
  blosc_cbuffer_sizes(in.data(), &nbytes, &cbytes, &block);
  if (cbytes > in.size()) {
    return Corrupt(fmt::format("blosc decode failed: header says {} compressed bytes, have {}",
                               cbytes, in.size()));
  }
  if (blosc_cbuffer_validate(in.data(), in.size(), &nbytes) != 0) {
    return Corrupt("blosc decode failed: invalid header");
  }
  if (nbytes > max_output) return TooLarge("blosc", max_output);
  Bytes out(nbytes);
  if (nbytes == 0) return out;
  const int rc = blosc_decompress_ctx(in.data(), out.data(), out.size(), 1);
  if (rc < 0 || static_cast<std::size_t>(rc) != nbytes) {
    return Corrupt(fmt::format("blosc decode failed: error {}", rc));
  }
  return out;
}

Result<Bytes> DecodeHdf5Lz4(ByteSpan in, std::uint64_t max_output) {
  ByteCursor cur(in);
  auto fail = [](const Error& e) {
    return Corrupt(fmt::format("lz4 decode failed: {}", e.message()));
  };
  auto total = cur.U64BE();
  if (!total.ok()) return fail(total.error());
  auto block_size = cur.U32BE();
  if (!block_size.ok()) return fail(block_size.error());
  if (*total > max_output) return TooLarge("lz4", max_output);
  if (*block_size == 0 && *total != 0) return Corrupt("lz4 decode failed: block size 0");
  Bytes out(static_cast<std::size_t>(*total));
  std::size_t out_pos = 0;
  while (out_pos < out.size()) {
    const std::size_t raw = std::min<std::size_t>(*block_size, out.size() - out_pos);
    auto stored = cur.U32BE();
    if (!stored.ok()) return fail(stored.error());
    auto bytes = cur.Bytes(*stored);
    if (!bytes.ok()) return fail(bytes.error());
    if (*stored == raw) {
      std::memcpy(out.data() + out_pos, bytes->data(), raw);
    } else {
      if (*stored > INT_MAX || raw > INT_MAX) return Corrupt("lz4 decode failed: block too large");
      // NOLINTNEXTLINE(*-reinterpret-cast): lz4's C API takes char buffers
      const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(bytes->data()),
                                        reinterpret_cast<char*>(out.data() + out_pos),  // NOLINT
                                        static_cast<int>(*stored), static_cast<int>(raw));
      if (n < 0 || static_cast<std::size_t>(n) != raw) {
        return Corrupt(
            fmt::format("lz4 decode failed: block at byte {} does not decode to {} bytes",
                        cur.pos() - *stored, raw));
      }
    }
    out_pos += raw;
  }
  return out;
}

Result<Bytes> DecodeLzf(ByteSpan in, std::uint64_t size, std::uint64_t max_output) {
  if (size > max_output) return TooLarge("lzf", max_output);
  if (size > UINT_MAX || in.size() > UINT_MAX) return Corrupt("lzf decode failed: chunk too large");
  Bytes out(static_cast<std::size_t>(size));
  if (size == 0) return out;
  // liblzf reads the first control byte before it looks at the input length.
  if (in.empty()) return Corrupt(fmt::format("lzf decode failed: no stored bytes for {}", size));
  const unsigned int n = lzf_decompress(in.data(), static_cast<unsigned int>(in.size()), out.data(),
                                        static_cast<unsigned int>(size));
  if (n != size) {
    return Corrupt(fmt::format("lzf decode failed: {} stored bytes do not decode to {} bytes",
                               in.size(), size));
  }
  return out;
}

// libaec's SZIP emulation: 32- and 64-bit pixels are coded as bytes planes (interleaved
// words), and scanlines that do not fill whole blocks are padded to a block multiple.
Result<Bytes> DecodeSzip(ByteSpan in, std::span<const std::uint32_t> cd, std::uint64_t max_output) {
  if (cd.size() < 4) {
    return Corrupt(fmt::format("szip decode failed: {} client data values, need 4", cd.size()));
  }
  constexpr std::uint32_t kMsb = 16;  // H5_SZIP_MSB_OPTION_MASK
  constexpr std::uint32_t kNn = 32;   // H5_SZIP_NN_OPTION_MASK
  const std::uint32_t options = cd[0];
  const std::uint32_t pixels_per_block = cd[1];
  const std::uint32_t bits_per_pixel = cd[2];
  const std::uint32_t pixels_per_scanline = cd[3];
  if (pixels_per_block == 0 || pixels_per_block > 32 || pixels_per_block % 2 != 0 ||
      bits_per_pixel == 0 || bits_per_pixel > 64 || pixels_per_scanline == 0 ||
      (bits_per_pixel > 32 && bits_per_pixel != 64)) {
    return Corrupt(fmt::format(
        "szip decode failed: bad parameters (pixels per block {}, bits per pixel {}, pixels per "
        "scanline {})",
        pixels_per_block, bits_per_pixel, pixels_per_scanline));
  }
  if (in.size() < 4) return Corrupt("szip decode failed: chunk shorter than its size prefix");
  const std::uint64_t size = UnsafeLoadU32LE(in.data());
  if (size > max_output) return TooLarge("szip", max_output);
  const ByteSpan stream = in.subspan(4);

  const bool planes = bits_per_pixel == 32 || bits_per_pixel == 64;
  const std::uint32_t sample_bits = planes ? 8 : bits_per_pixel;
  const std::size_t sample_bytes = sample_bits > 16 ? 4 : (sample_bits > 8 ? 2 : 1);
  const std::uint32_t rsi = (pixels_per_scanline + pixels_per_block - 1) / pixels_per_block;
  const bool padded = pixels_per_scanline % pixels_per_block != 0;

  std::uint64_t decode_size = size;
  std::uint64_t scanlines = 0;
  if (padded) {
    scanlines = CeilDiv(size / sample_bytes, pixels_per_scanline);
    VZ_ASSIGN_OR_RETURN(decode_size,
                        CheckedMul(std::uint64_t{rsi} * pixels_per_block * sample_bytes, scanlines,
                                   "szip padded size"));
    if (decode_size > max_output) return TooLarge("szip", max_output);
  }
  Bytes buf(static_cast<std::size_t>(decode_size));
  if (size == 0) return buf;

  aec_stream strm;
  std::memset(&strm, 0, sizeof strm);
  strm.next_in = stream.data();
  strm.avail_in = stream.size();
  strm.next_out = buf.data();
  strm.avail_out = buf.size();
  strm.bits_per_sample = sample_bits;
  strm.block_size = pixels_per_block;
  strm.rsi = rsi;
  strm.flags = ((options & kMsb) != 0 ? AEC_DATA_MSB : 0u) |
               ((options & kNn) != 0 ? AEC_DATA_PREPROCESS : 0u);
  const int rc = aec_buffer_decode(&strm);
  if (rc != AEC_OK) {
    const char* what = rc == AEC_CONF_ERROR     ? "bad configuration"
                       : rc == AEC_STREAM_ERROR ? "corrupt or truncated stream"
                       : rc == AEC_DATA_ERROR   ? "data error"
                       : rc == AEC_MEM_ERROR    ? "out of memory"
                                                : "unknown error";
    return Corrupt(fmt::format("szip decode failed: {} (libaec {})", what, rc));
  }
  if (strm.total_out != buf.size()) {
    return Corrupt(fmt::format("szip decode failed: stream decodes to {} bytes, expected {}",
                               strm.total_out, buf.size()));
  }
  if (padded) {
    // Drop the padding pixels at the end of every scanline.
    const std::size_t line = std::size_t{pixels_per_scanline} * sample_bytes;
    const std::size_t padded_line = std::size_t{rsi} * pixels_per_block * sample_bytes;
    std::size_t dst = line;
    for (std::size_t src = padded_line; src < buf.size(); src += padded_line) {
      std::memmove(buf.data() + dst, buf.data() + src, line);
      dst += line;
    }
    buf.resize(static_cast<std::size_t>(size));
  }
  if (!planes) return buf;
  const std::size_t word = bits_per_pixel / 8;
  const std::size_t n = buf.size() / word;
  Bytes out(buf.size());
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < word; ++j) out[i * word + j] = buf[j * n + i];
  }
  // Bytes past the last whole word (cannot happen for HDF5 chunks) are left as zero, like libaec.
  return out;
}

}  // namespace vz::codecs
