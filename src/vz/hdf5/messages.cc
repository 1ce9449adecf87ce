#include "vz/hdf5/messages.h"

#include <fmt/format.h>

#include <cstring>
#include <string>

#include "vz/base/checked.h"
#include "vz/model/scalar.h"

namespace vz::hdf5 {

using model::DType;
using Kind = model::DType::Kind;

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kNil:
      return "NIL";
    case MessageType::kDataspace:
      return "Dataspace";
    case MessageType::kLinkInfo:
      return "Link Info";
    case MessageType::kDatatype:
      return "Datatype";
    case MessageType::kFillValueOld:
      return "Fill Value (old)";
    case MessageType::kFillValue:
      return "Fill Value";
    case MessageType::kLink:
      return "Link";
    case MessageType::kExternalDataFiles:
      return "External Data Files";
    case MessageType::kDataLayout:
      return "Data Layout";
    case MessageType::kBogus:
      return "Bogus";
    case MessageType::kGroupInfo:
      return "Group Info";
    case MessageType::kFilterPipeline:
      return "Filter Pipeline";
    case MessageType::kAttribute:
      return "Attribute";
    case MessageType::kObjectComment:
      return "Object Comment";
    case MessageType::kObjectModificationTimeOld:
      return "Object Modification Time (old)";
    case MessageType::kSharedMessageTable:
      return "Shared Message Table";
    case MessageType::kContinuation:
      return "Object Header Continuation";
    case MessageType::kSymbolTable:
      return "Symbol Table";
    case MessageType::kObjectModificationTime:
      return "Object Modification Time";
    case MessageType::kBTreeKValues:
      return "B-tree 'K' Values";
    case MessageType::kDriverInfo:
      return "Driver Info";
    case MessageType::kAttributeInfo:
      return "Attribute Info";
    case MessageType::kReferenceCount:
      return "Object Reference Count";
    case MessageType::kFileSpaceInfo:
      return "File Space Info";
  }
  return "unknown";
}

Result<DType> ParseDatatype(ByteCursor& cur, int depth) {
  if (depth > 16) return Corrupt("datatype nesting too deep");
  const std::uint64_t at = cur.file_offset();
  VZ_ASSIGN_OR_RETURN(auto cv, cur.U8());
  const int cls = cv & 0x0f;
  const int version = cv >> 4;
  VZ_ASSIGN_OR_RETURN(auto b0, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto b1, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto b2, cur.U8());
  (void)b2;
  VZ_ASSIGN_OR_RETURN(auto size, cur.U32());
  DType t;
  t.size = size;
  const std::uint32_t nmembers = static_cast<std::uint32_t>(b0 | (b1 << 8));
  switch (cls) {
    case 0:  // fixed point
    case 4:  // bitfield
      t.kind = (cls == 0 && (b0 & 0x08)) ? Kind::kInt : Kind::kUInt;
      t.byte_order = size == 1 ? '|' : ((b0 & 1) ? '>' : '<');
      VZ_TRY(cur.Skip(4));
      return t;
    case 1:
      t.kind = Kind::kFloat;
      t.byte_order = (b0 & 1) ? '>' : '<';
      if (b0 & 0x40) return Unsupported(fmt::format("VAX float datatype at {}", Hex(at)));
      VZ_TRY(cur.Skip(12));
      return t;
    case 3:
      t.kind = Kind::kFixedString;
      t.byte_order = '|';
      return t;
    case 5: {
      t.kind = Kind::kOpaque;
      t.byte_order = '|';
      VZ_TRY(cur.Skip(b0));
      return t;
    }
    case 6: {
      t.kind = Kind::kCompound;
      t.byte_order = '|';
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        model::Field f;
        const std::size_t name_start = cur.pos();
        VZ_ASSIGN_OR_RETURN(f.name, cur.CString(cur.remaining()));
        if (version < 3) {
          const std::size_t used = cur.pos() - name_start;
          VZ_TRY(cur.Skip((8 - used % 8) % 8));
          VZ_ASSIGN_OR_RETURN(auto off, cur.U32());
          f.offset = off;
          if (version == 1) {
            VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
            VZ_TRY(cur.Skip(3 + 4 + 4));
            std::vector<std::uint64_t> dims;
            for (int d = 0; d < 4; ++d) {
              VZ_ASSIGN_OR_RETURN(auto dim, cur.U32());
              if (d < rank) dims.push_back(dim);
            }
            VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
            if (!dims.empty()) {
              std::uint64_t count = 1;
              for (auto d : dims) count *= d;
              f.type.subshape = dims;
              f.type.size = static_cast<std::uint32_t>(f.type.size * count);
            }
          } else {
            VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
          }
        } else {
          std::size_t w = size < 256 ? 1 : size < 65536 ? 2 : size < (1u << 24) ? 3 : 4;
          VZ_ASSIGN_OR_RETURN(f.offset, cur.UintLE(w));
          VZ_ASSIGN_OR_RETURN(f.type, ParseDatatype(cur, depth + 1));
        }
        t.fields.push_back(std::move(f));
      }
      // h5py presents a compound of two equal floats named r and i as complex.
      if (t.fields.size() == 2 && t.fields[0].name == "r" && t.fields[1].name == "i" &&
          t.fields[0].type.kind == Kind::kFloat && t.fields[1].type.kind == Kind::kFloat &&
          t.fields[0].type.size == t.fields[1].type.size && t.fields[0].offset == 0 &&
          t.fields[1].offset == t.fields[0].type.size && size == 2 * t.fields[0].type.size) {
        t.kind = Kind::kComplex;
        t.byte_order = t.fields[0].type.byte_order;
        t.fields.clear();
      }
      return t;
    }
    case 7:
      t.kind = Kind::kReference;
      t.byte_order = '|';
      return t;
    case 8: {
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      std::vector<std::string> names;
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        const std::size_t start = cur.pos();
        VZ_ASSIGN_OR_RETURN(auto name, cur.CString(cur.remaining()));
        if (version < 3) {
          const std::size_t used = cur.pos() - start;
          VZ_TRY(cur.Skip((8 - used % 8) % 8));
        }
        names.push_back(std::move(name));
      }
      t = base;
      for (std::uint32_t i = 0; i < nmembers; ++i) {
        VZ_ASSIGN_OR_RETURN(auto vb, cur.Bytes(base.size));
        // A base wider than 8 bytes keeps its 8 least significant ones.
        const std::size_t n = std::min<std::size_t>(vb.size(), 8);
        const std::uint64_t v = model::LoadUnsigned(
            base.byte_order == '>' ? vb.last(n) : vb.first(n), n, base.byte_order);
        t.enum_members.emplace_back(
            base.kind == Kind::kInt ? model::SignExtend(v, n) : static_cast<std::int64_t>(v),
            names[i]);
      }
      if (base.kind == Kind::kInt && base.size == 1 && nmembers == 2 &&
          t.enum_members[0] == std::make_pair(std::int64_t{0}, std::string("FALSE")) &&
          t.enum_members[1] == std::make_pair(std::int64_t{1}, std::string("TRUE"))) {
        t.kind = Kind::kBool;
      }
      return t;
    }
    case 9: {
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      t.byte_order = '|';
      if ((b0 & 0x0f) == 1) {
        t.kind = Kind::kVlenString;
      } else {
        t.kind = Kind::kVlenSequence;
        model::Field f;
        f.type = std::move(base);
        t.fields.push_back(std::move(f));
      }
      return t;
    }
    case 10: {
      VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
      if (version < 3) VZ_TRY(cur.Skip(3));
      std::vector<std::uint64_t> dims;
      for (int i = 0; i < rank; ++i) {
        VZ_ASSIGN_OR_RETURN(auto d, cur.U32());
        dims.push_back(d);
      }
      if (version < 3) VZ_TRY(cur.Skip(std::size_t{4} * rank));
      VZ_ASSIGN_OR_RETURN(auto base, ParseDatatype(cur, depth + 1));
      t = base;
      t.size = size;
      t.subshape.insert(t.subshape.begin(), dims.begin(), dims.end());
      return t;
    }
    default:
      return Unsupported(fmt::format("datatype class {} at {}", cls, Hex(at)));
  }
}

Result<Dataspace> ParseDataspace(const FileContext& ctx, ByteCursor& cur) {
  Dataspace s;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto rank, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto flags, cur.U8());
  if (version == 1) {
    VZ_TRY(cur.Skip(5));
  } else if (version == 2) {
    VZ_ASSIGN_OR_RETURN(auto type, cur.U8());
    s.null = type == 2;
  } else {
    return Unsupported(fmt::format("dataspace version {}", version));
  }
  if (rank > ctx.limits.max_rank) return LimitExceeded(fmt::format("dataspace rank {}", rank));
  s.dims.reserve(rank);
  for (int i = 0; i < rank; ++i) {
    VZ_ASSIGN_OR_RETURN(auto d, ctx.ReadLength(cur));
    s.dims.push_back(d);
  }
  if (flags & 1) {
    s.max_dims.reserve(rank);
    for (int i = 0; i < rank; ++i) {
      VZ_ASSIGN_OR_RETURN(auto d, ctx.ReadLength(cur));
      s.max_dims.push_back(ctx.IsUndefined(d) ? model::Array::kUnlimited : d);
    }
  }
  return s;
}

Result<std::vector<model::Filter>> ParseFilters(ByteCursor& cur) {
  std::vector<model::Filter> out;
  VZ_ASSIGN_OR_RETURN(auto version, cur.U8());
  VZ_ASSIGN_OR_RETURN(auto n, cur.U8());
  if (version == 1) VZ_TRY(cur.Skip(6));
  for (int i = 0; i < n; ++i) {
    model::Filter f;
    VZ_ASSIGN_OR_RETURN(f.id, cur.U16());
    std::uint16_t name_len = 0;
    if (version == 1 || f.id >= 256) {
      VZ_ASSIGN_OR_RETURN(name_len, cur.U16());
    }
    VZ_ASSIGN_OR_RETURN(f.flags, cur.U16());
    VZ_ASSIGN_OR_RETURN(auto nvals, cur.U16());
    if (name_len > 0) {
      std::size_t padded = version == 1 ? (name_len + 7u) / 8u * 8u : name_len;
      VZ_ASSIGN_OR_RETURN(auto nb, cur.Bytes(padded));
      std::string name(nb.begin(), nb.end());
      name.resize(std::strlen(name.c_str()));
      f.name = name;
    }
    for (int k = 0; k < nvals; ++k) {
      VZ_ASSIGN_OR_RETURN(auto v, cur.U32());
      f.client_data.push_back(v);
    }
    if (version == 1 && (nvals % 2) == 1) VZ_TRY(cur.Skip(4));
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::optional<std::vector<std::uint8_t>>> ParseFillValue(MessageType type, ByteCursor& c) {
  using Fill = std::optional<std::vector<std::uint8_t>>;
  if (type == MessageType::kFillValueOld) {
    VZ_ASSIGN_OR_RETURN(auto sz, c.U32());
    VZ_ASSIGN_OR_RETURN(auto b, c.Bytes(sz));
    if (sz == 0) return Fill();
    return Fill(std::vector<std::uint8_t>(b.begin(), b.end()));
  }
  VZ_ASSIGN_OR_RETURN(auto v, c.U8());
  bool defined = false;
  if (v == 1 || v == 2) {
    if (!c.Skip(2).ok()) return Corrupt("fill value message truncated");
    VZ_ASSIGN_OR_RETURN(auto d, c.U8());
    defined = d != 0;
    if (v == 1) defined = defined || c.remaining() >= 4;
  } else if (v == 3) {
    VZ_ASSIGN_OR_RETURN(auto fl, c.U8());
    defined = (fl & 0x20) != 0;
  } else {
    return Unsupported(fmt::format("fill value message version {}", v));
  }
  if (!defined || c.remaining() < 4) return Fill();
  VZ_ASSIGN_OR_RETURN(auto sz, c.U32());
  VZ_ASSIGN_OR_RETURN(auto b, c.Bytes(sz));
  if (sz == 0) return Fill();
  return Fill(std::vector<std::uint8_t>(b.begin(), b.end()));
}

Result<InfoMessage> ParseInfoMessage(const FileContext& ctx, ByteCursor& c, MessageType type) {
  InfoMessage info;
  auto v = c.U8();
  auto fl = c.U8();
  if (!v.ok() || !fl.ok()) return Corrupt("info message truncated");
  info.creation_order = (*fl & 1) != 0;
  if (info.creation_order && !c.Skip(type == MessageType::kLinkInfo ? 8 : 2).ok()) {
    return Corrupt("info message truncated");
  }
  auto heap = ctx.ReadOffset(c);
  auto bt = ctx.ReadOffset(c);
  if (!heap.ok() || !bt.ok()) return Corrupt("info message truncated");
  info.heap = *heap;
  info.name_index = *bt;
  return info;
}

}  // namespace vz::hdf5
