// HDF5's N-bit filter (filter 5, H5Znbit).
//
// Client data: [0] number of values, [1] 1 when the data were stored unpacked, [2] elements in
// the chunk, then the element type as a tree of parameter groups, each starting with its class:
//   1 atomic:   size, byte order (0 little, 1 big), precision (bits), bit offset
//   2 array:    size, then the base type's group
//   3 compound: size, member count, then per member its byte offset and its type's group
//   4 no-op:    size (bytes copied whole)
// The packed stream holds, element after element and member after member, the `precision`
// significant bits of each atomic value, most significant first, with no alignment; the
// padding bits of the decoded value are zero. Integers whose significant bits do not start at
// bit 0 or do not fill the type are then converted the way HDF5's type conversion does when
// h5py reads them: shifted down and sign-extended.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "vz/base/checked.h"
#include "vz/codecs/filters.h"

namespace vz::codecs {
namespace {

constexpr std::uint32_t kAtomic = 1;
constexpr std::uint32_t kArray = 2;
constexpr std::uint32_t kCompound = 3;
constexpr std::uint32_t kNoop = 4;
constexpr int kMaxTypeDepth = 16;

struct NbitType {
  std::uint32_t cls = 0;
  std::uint32_t size = 0;
  std::uint32_t order = 0;
  std::uint32_t precision = 0;
  std::uint32_t offset = 0;
  std::vector<std::pair<std::uint32_t, std::unique_ptr<NbitType>>> members;  // compound
  std::unique_ptr<NbitType> base;                                            // array
};

Error Bad(const std::string& what) { return Corrupt(fmt::format("nbit decode failed: {}", what)); }

class ParamReader {
 public:
  explicit ParamReader(std::span<const std::uint32_t> cd) : cd_(cd) {}
  Result<std::uint32_t> Next() {
    if (pos_ >= cd_.size()) return Bad("client data ends inside the type description");
    return cd_[pos_++];
  }

 private:
  std::span<const std::uint32_t> cd_;
  std::size_t pos_ = 0;
};

Result<std::unique_ptr<NbitType>> ParseType(ParamReader& r, int depth) {
  if (depth > kMaxTypeDepth) return Bad("type description nested too deeply");
  auto t = std::make_unique<NbitType>();
  VZ_ASSIGN_OR_RETURN(t->cls, r.Next());
  VZ_ASSIGN_OR_RETURN(t->size, r.Next());
  if (t->size == 0) return Bad("element size 0");
  switch (t->cls) {
    case kAtomic: {
      VZ_ASSIGN_OR_RETURN(t->order, r.Next());
      VZ_ASSIGN_OR_RETURN(t->precision, r.Next());
      VZ_ASSIGN_OR_RETURN(t->offset, r.Next());
      if (t->order > 1) return Bad(fmt::format("byte order {}", t->order));
      if (t->precision == 0 ||
          std::uint64_t{t->precision} + t->offset > std::uint64_t{t->size} * 8) {
        return Bad(fmt::format("precision {} at offset {} does not fit {} bytes", t->precision,
                               t->offset, t->size));
      }
      break;
    }
    case kArray: {
      VZ_ASSIGN_OR_RETURN(t->base, ParseType(r, depth + 1));
      if (t->size % t->base->size != 0) return Bad("array size is not a multiple of its base");
      break;
    }
    case kCompound: {
      VZ_ASSIGN_OR_RETURN(const std::uint32_t count, r.Next());
      if (count > t->size) return Bad(fmt::format("{} members in {} bytes", count, t->size));
      for (std::uint32_t i = 0; i < count; ++i) {
        VZ_ASSIGN_OR_RETURN(const std::uint32_t member_offset, r.Next());
        VZ_ASSIGN_OR_RETURN(auto member, ParseType(r, depth + 1));
        if (std::uint64_t{member_offset} + member->size > t->size) {
          return Bad("compound member outside its element");
        }
        t->members.emplace_back(member_offset, std::move(member));
      }
      break;
    }
    case kNoop:
      break;
    default:
      return Bad(fmt::format("unknown type class {}", t->cls));
  }
  return t;
}

class BitReader {
 public:
  explicit BitReader(ByteSpan in) : in_(in) {}
  // Next n (1..8) bits, most significant first.
  Result<std::uint32_t> Take(std::uint32_t n) {
    std::uint32_t v = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (byte_ >= in_.size()) return Bad("packed data ends early");
      const std::uint32_t bit = (std::uint32_t{in_[byte_]} >> (7 - bit_)) & 1u;
      v = (v << 1) | bit;
      if (++bit_ == 8) {
        bit_ = 0;
        ++byte_;
      }
    }
    return v;
  }

 private:
  ByteSpan in_;
  std::size_t byte_ = 0;
  std::uint32_t bit_ = 0;
};

Status DecodeOne(const NbitType& t, BitReader& bits, std::uint8_t* out) {
  switch (t.cls) {
    case kAtomic: {
      const std::uint32_t end = t.offset + t.precision;  // one past the top significant bit
      for (std::uint32_t k = (end - 1) / 8 + 1; k-- > t.offset / 8;) {
        const std::uint32_t lo = std::max(t.offset, k * 8) - k * 8;
        const std::uint32_t hi = std::min(end, k * 8 + 8) - k * 8;
        VZ_ASSIGN_OR_RETURN(const std::uint32_t v, bits.Take(hi - lo));
        const std::size_t index = t.order == 0 ? k : t.size - 1 - k;
        out[index] = static_cast<std::uint8_t>(out[index] | (v << lo));
      }
      return Ok();
    }
    case kArray:
      for (std::uint32_t i = 0; i < t.size / t.base->size; ++i) {
        VZ_TRY(DecodeOne(*t.base, bits, out + std::size_t{i} * t.base->size));
      }
      return Ok();
    case kCompound:
      for (const auto& [member_offset, member] : t.members) {
        VZ_TRY(DecodeOne(*member, bits, out + member_offset));
      }
      return Ok();
    default:  // kNoop
      for (std::uint32_t i = 0; i < t.size; ++i) {
        VZ_ASSIGN_OR_RETURN(const std::uint32_t v, bits.Take(8));
        out[i] = static_cast<std::uint8_t>(v);
      }
      return Ok();
  }
}

// HDF5 reads an integer with fewer significant bits than its size as the value of those bits:
// shifted down and, when signed, sign-extended. Applied to every integer the n-bit type tree
// and the dataset's dtype agree on (members are matched by byte offset).
void ConvertIntegers(const NbitType& t, const model::DType& dtype, std::uint8_t* p) {
  switch (t.cls) {
    case kAtomic: {
      if (t.size > 8 || t.size != dtype.size) return;
      if (dtype.kind != model::DType::Kind::kInt && dtype.kind != model::DType::Kind::kUInt) {
        return;
      }
      if (t.offset == 0 && t.precision == t.size * 8) return;
      std::uint64_t v = 0;
      for (std::uint32_t k = 0; k < t.size; ++k) {
        v |= std::uint64_t{p[t.order == 0 ? k : t.size - 1 - k]} << (8 * k);
      }
      v >>= t.offset;
      if (t.precision < 64) {
        const std::uint64_t mask = (std::uint64_t{1} << t.precision) - 1;
        v &= mask;
        if (dtype.kind == model::DType::Kind::kInt && (v >> (t.precision - 1)) != 0) v |= ~mask;
      }
      for (std::uint32_t k = 0; k < t.size; ++k) {
        p[t.order == 0 ? k : t.size - 1 - k] = static_cast<std::uint8_t>(v >> (8 * k));
      }
      return;
    }
    case kArray: {
      if (dtype.subshape.empty()) return;
      model::DType base = dtype;
      base.subshape.clear();
      base.size = t.base->size;
      for (std::uint32_t i = 0; i < t.size / t.base->size; ++i) {
        ConvertIntegers(*t.base, base, p + std::size_t{i} * t.base->size);
      }
      return;
    }
    case kCompound:
      for (const auto& [member_offset, member] : t.members) {
        for (const model::Field& field : dtype.fields) {
          if (field.offset == member_offset) {
            ConvertIntegers(*member, field.type, p + member_offset);
            break;
          }
        }
      }
      return;
    default:
      return;
  }
}

}  // namespace

Result<Bytes> DecodeNbit(ByteSpan in, std::span<const std::uint32_t> cd, const model::DType& dtype,
                         std::uint64_t max_output) {
  if (cd.size() < 5) return Bad(fmt::format("{} client data values, need at least 5", cd.size()));
  if (cd[0] != cd.size()) {
    return Bad(fmt::format("client data says {} values, has {}", cd[0], cd.size()));
  }
  if (cd[1] != 0) return Bytes(in.begin(), in.end());  // stored unpacked
  ParamReader r(cd.subspan(3));
  VZ_ASSIGN_OR_RETURN(auto type, ParseType(r, 0));
  const std::uint64_t elements = cd[2];
  VZ_ASSIGN_OR_RETURN(const std::uint64_t size, CheckedMul(elements, type->size, "nbit size"));
  if (size > max_output) {
    return LimitExceeded(
        fmt::format("nbit decode failed: decoded data exceeds the limit of {} bytes", max_output));
  }
  Bytes out(static_cast<std::size_t>(size), 0);
  BitReader bits(in);
  for (std::uint64_t i = 0; i < elements; ++i) {
    VZ_TRY(DecodeOne(*type, bits, out.data() + i * type->size));
  }
  if (dtype.size == type->size) {
    for (std::uint64_t i = 0; i < elements; ++i) {
      ConvertIntegers(*type, dtype, out.data() + i * type->size);
    }
  }
  return out;
}

}  // namespace vz::codecs
