// HDF5 reader core (File Format Specification v3.0): the superblock (II.A, versions 0-3,
// searched at 0, 512, 1024, ...) and a depth-first traversal in h5py visititems order (names
// sorted per group, each object header visited once). Each object's header messages are
// collected in one pass (CollectMessages), then built into an array (BuildArray, object.cc) or
// a group whose members are visited in turn (VisitMembers). Object headers are read in
// object_header.cc, attribute values decoded in attributes.cc, messages in messages.cc.
#include "vz/hdf5/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "vz/base/checked.h"
#include "vz/hdf5/btree2.h"
#include "vz/hdf5/checksum.h"
#include "vz/hdf5/reader_internal.h"

namespace vz::hdf5 {
namespace {

constexpr std::uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

// Which message of which object an error was met in.
std::string InMessage(const Message& m, const std::string& path) {
  return fmt::format("in message type {} at {}, in {}", m.number(), Hex(m.offset), path);
}

}  // namespace

Status Reader::Visit(std::uint64_t address, const std::string& path, std::uint32_t depth) {
  if (depth > ctx.limits.max_depth)
    return LimitExceeded(
        fmt::format("group nesting deeper than {} at {}", ctx.limits.max_depth, path));
  if (!visited.insert(address).second) return Ok();
  if (++objects > ctx.limits.max_objects) return LimitExceeded("too many objects");
  path_of[address] = path;
  VZ_ASSIGN_OR_RETURN(const std::vector<Message> header, TakeHeader(address), "in {}", path);
  VZ_ASSIGN_OR_RETURN(ObjectMessages object, CollectMessages(header, path));
  SortAttributes(object);
  if (object.IsDataset()) {
    std::vector<std::uint64_t> dimension_list = std::move(object.dimension_list);
    if (object.space && object.space->null) {
      out.warnings.push_back(fmt::format(
          "{} has a null dataspace (no values; h5py reads h5py.Empty): written as a scalar array "
          "without chunks, which reads as its fill value, to keep its attributes",
          path));
    }
    VZ_ASSIGN_OR_RETURN(model::Array arr,
                        BuildArray(ctx, std::move(object), path,
                                   [this](const model::Array& a, const DataLayout& dl) {
                                     return DecodeVlenValues(a, dl);
                                   }));
    if (!dimension_list.empty()) dim_refs[out.arrays.size()] = {std::move(dimension_list)};
    out.arrays.push_back(std::move(arr));
    return Ok();
  }
  const bool is_group = object.is_group || path == "/";
  if (object.has_type && !is_group) return Ok();  // committed datatype
  model::Group g;
  g.path = path;
  g.attributes = std::move(object.attributes);
  out.groups.push_back(std::move(g));
  return VisitMembers(std::move(object.links), path, depth);
}

Result<ObjectMessages> Reader::CollectMessages(const std::vector<Message>& msgs,
                                               const std::string& path) {
  ObjectMessages obj;
  // Adds an Attribute message (compact or dense) unless its type is one vzgen skips.
  auto add_attribute = [&](std::span<const std::uint8_t> body, const Message& m,
                           std::uint32_t order) -> Status {
    std::vector<std::uint64_t> refs;
    auto a = ParseAttribute(body, m.offset, &refs);
    if (!a.ok()) {
      if (a.error().code() != ErrorCode::kUnsupported) {
        return std::move(a).error().Annotate(InMessage(m, path));
      }
      out.warnings.push_back(
          fmt::format("attribute skipped in {}: {}", path, a.error().ToString()));
      return Ok();
    }
    if (a->name == "DIMENSION_LIST") obj.dimension_list = std::move(refs);
    obj.attributes.push_back(std::move(*a));
    obj.attribute_order.push_back(order);
    return Ok();
  };
  obj.attributes.reserve(
      static_cast<std::size_t>(std::count_if(msgs.begin(), msgs.end(), [](const Message& m) {
        return m.type == MessageType::kAttribute;
      })));
  for (const auto& m : msgs) {
    ByteCursor c(m.body, m.offset);
    switch (m.type) {
      case MessageType::kDataspace: {
        VZ_ASSIGN_OR_RETURN(obj.space, ParseDataspace(ctx, c), "{}", InMessage(m, path));
        break;
      }
      case MessageType::kDatatype: {
        auto r = ParseDatatype(c);
        if (!r.ok()) {
          if (r.error().code() != ErrorCode::kUnsupported) {
            return std::move(r).error().Annotate(InMessage(m, path));
          }
          obj.unsupported = r.error().message();
        } else {
          obj.dtype = std::move(*r);
        }
        obj.has_type = true;
        break;
      }
      case MessageType::kFillValueOld:
      case MessageType::kFillValue: {
        VZ_ASSIGN_OR_RETURN(auto fill, ParseFillValue(m.type, c), "{}", InMessage(m, path));
        // The old message gives way to the new one, whichever comes first.
        if (fill && (m.type == MessageType::kFillValue || !obj.fill)) obj.fill = std::move(fill);
        break;
      }
      case MessageType::kLink: {
        VZ_ASSIGN_OR_RETURN(Link link, ParseLinkMessage(ctx, c), "{}", InMessage(m, path));
        obj.links.push_back(std::move(link));
        obj.is_group = true;
        break;
      }
      case MessageType::kExternalDataFiles:
        obj.unsupported = "external raw storage (External Data Files message) not supported";
        break;
      case MessageType::kDataLayout:
        obj.layout = m;
        break;
      case MessageType::kFilterPipeline: {
        VZ_ASSIGN_OR_RETURN(obj.filters, ParseFilters(c), "{}", InMessage(m, path));
        break;
      }
      case MessageType::kAttribute:
        VZ_TRY(add_attribute(m.body, m, m.creation_order));
        break;
      case MessageType::kLinkInfo:
      case MessageType::kAttributeInfo: {
        VZ_ASSIGN_OR_RETURN(const auto info, ParseInfoMessage(ctx, c, m.type), "{}",
                            InMessage(m, path));
        const bool links = m.type == MessageType::kLinkInfo;
        if (links) obj.is_group = true;
        if (!links && info.creation_order) obj.attribute_creation_order = true;
        if (ctx.IsUndefined(info.heap)) break;
        if (links) {
          VZ_ASSIGN_OR_RETURN(auto dense, ReadDenseLinks(ctx, info.heap, info.name_index), "{}",
                              InMessage(m, path));
          for (auto& l : dense) obj.links.push_back(std::move(l));
        } else {
          VZ_ASSIGN_OR_RETURN(auto bodies, ReadDenseAttributes(ctx, info.heap, info.name_index),
                              "{}", InMessage(m, path));
          obj.attributes.reserve(obj.attributes.size() + bodies.size());
          for (auto& body : bodies) {
            // Dense storage: the creation-order index is not read; keep them after the
            // compact ones in the order the name index returns them.
            VZ_TRY(add_attribute(body, m,
                                 0x10000u + static_cast<std::uint32_t>(obj.attributes.size() + 1)));
          }
        }
        break;
      }
      case MessageType::kSymbolTable: {
        auto bt = ctx.ReadOffset(c);
        auto heap = ctx.ReadOffset(c);
        if (!bt.ok() || !heap.ok()) {
          return Corrupt("symbol table message truncated").Annotate(InMessage(m, path));
        }
        VZ_ASSIGN_OR_RETURN(auto members, ReadSymbolTableGroup(ctx, *bt, *heap), "{}",
                            InMessage(m, path));
        for (auto& l : members) obj.links.push_back(std::move(l));
        obj.is_group = true;
        break;
      }
      case MessageType::kNil:
      case MessageType::kBogus:
      case MessageType::kGroupInfo:
      case MessageType::kObjectComment:
      case MessageType::kObjectModificationTimeOld:
      case MessageType::kSharedMessageTable:
      case MessageType::kContinuation:
      case MessageType::kObjectModificationTime:
      case MessageType::kBTreeKValues:
      case MessageType::kDriverInfo:
      case MessageType::kReferenceCount:
      case MessageType::kFileSpaceInfo:
        break;
      default:
        if (m.flags & kMessageFailIfUnknown) {
          return Unsupported(
                     fmt::format("unknown message type {} marked fail-if-unknown", m.number()))
              .Annotate(InMessage(m, path));
        }
        break;
    }
  }
  return obj;
}

Status Reader::VisitMembers(std::vector<Link> links, const std::string& path, std::uint32_t depth) {
  std::sort(links.begin(), links.end(),
            [](const Link& a, const Link& b) { return a.name < b.name; });
  // Members are read ahead in batches, so that the headers kept meanwhile stay few.
  constexpr std::size_t kReadAheadBatch = 1024;
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (i % kReadAheadBatch == 0) {
      const auto first = links.begin() + static_cast<std::ptrdiff_t>(i);
      PrefetchMembers(std::span<const Link>(
          first, first + static_cast<std::ptrdiff_t>(std::min(kReadAheadBatch, links.size() - i))));
    }
    const Link& l = links[i];
    const std::string child = ChildPath(path, l.name);
    switch (l.type) {
      case Link::Type::kHard:
        VZ_TRY(Visit(l.address, child, depth + 1));
        break;
      case Link::Type::kSoft:
        out.warnings.push_back(
            fmt::format("soft link {} -> {} not followed", child, l.soft_target));
        break;
      case Link::Type::kExternal:
        out.warnings.push_back(fmt::format("external link {} -> {}:{} not followed", child,
                                           l.external_file, l.external_path));
        break;
      case Link::Type::kUserDefined:
        out.warnings.push_back(
            fmt::format("user-defined link {} (class {}) not followed", child, l.user_type));
        break;
    }
  }
  return Ok();
}

// A group's members are visited one after another, and each may need structures outside the
// blocks read so far: its object header, its attribute heap and name index, its chunk index.
// Fetched member by member, each costs a round trip; here each level of them is asked for, for
// all members at once: the headers, then what they point at (and the headers of member groups'
// own members), then the roots those point at.
// Only a hint to the cache: whatever fails here is read, and reported, by Visit.
void Reader::PrefetchMembers(std::span<const Link> links) {
  if (!ctx.source->WantsPrefetch()) return;  // e.g. a local file: misses are cheap
  std::vector<std::uint64_t> members;
  for (const auto& l : links) {
    if (l.type == Link::Type::kHard && !ctx.IsUndefined(l.address) && !visited.count(l.address) &&
        !read_ahead.count(l.address)) {
      members.push_back(l.address);
    }
  }
  if (members.size() < 2) return;
  std::vector<io::ByteRange> want;
  want.reserve(members.size());
  for (auto a : members) want.push_back({a, 512});  // a header's prefix (its block, in fact)
  ctx.Prefetch(want);

  want.clear();
  std::vector<std::uint64_t> heaps, name_indexes;
  for (auto a : members) {
    auto h = ReadHeader(a);
    if (!h.ok()) continue;
    std::size_t rank = 0;
    for (const auto& m : *h) {
      ByteCursor c(m.body, m.offset);
      if (m.type == MessageType::kDataspace) {
        if (auto sp = ParseDataspace(ctx, c); sp.ok()) rank = sp->dims.size();
      } else if (m.type == MessageType::kLinkInfo || m.type == MessageType::kAttributeInfo) {
        auto info = ParseInfoMessage(ctx, c, m.type);
        if (!info.ok() || ctx.IsUndefined(info->heap)) continue;
        want.push_back({info->heap, 256});
        heaps.push_back(info->heap);
        if (!ctx.IsUndefined(info->name_index)) {
          want.push_back({info->name_index, 256});
          name_indexes.push_back(info->name_index);
        }
      } else if (m.type == MessageType::kLink) {
        // A member group's own members: their headers come with this level too.
        auto link = ParseLinkMessage(ctx, c);
        if (link.ok() && link->type == Link::Type::kHard && !ctx.IsUndefined(link->address)) {
          want.push_back({link->address, 512});
        }
      } else if (m.type == MessageType::kDataLayout) {
        auto dl = ParseDataLayout(ctx, c, rank);
        if (dl.ok() && dl->layout == model::Layout::kChunked &&
            !ctx.IsUndefined(dl->index_address)) {
          want.push_back({dl->index_address, 512});
        }
      }
    }
    read_ahead.emplace(a, std::move(*h));
  }
  ctx.Prefetch(want);

  want.clear();
  for (auto heap : heaps) {
    auto fh = FractalHeap::Open(ctx, heap);
    if (!fh.ok()) continue;
    if (auto root = fh->RootBlock()) want.push_back(*root);
  }
  for (auto bt : name_indexes) {
    auto hdr = ReadBTree2Header(ctx, bt);
    if (hdr.ok() && hdr->total_records > 0) want.push_back({hdr->root_address, hdr->node_size});
  }
  ctx.Prefetch(want);
}

bool LooksLikeHdf5(std::span<const std::uint8_t> head) {
  for (std::size_t off = 0; off + 8 <= head.size(); off = off == 0 ? 512 : off * 2) {
    if (std::memcmp(head.data() + off, kSignature, 8) == 0) return true;
  }
  return false;
}

Result<model::VirtualDataset> Read(io::ByteSource& source, const ReadOptions& options) {
  Reader rd;
  rd.ctx.source = &source;
  rd.ctx.limits = options.limits;
  VZ_ASSIGN_OR_RETURN(auto info, source.Stat());
  rd.ctx.file_size = info.size;
  std::uint64_t sb = 0;
  bool found = false;
  for (std::uint64_t off = 0; off + 8 <= info.size; off = off == 0 ? 512 : off * 2) {
    VZ_ASSIGN_OR_RETURN(auto sig, source.ReadAt(off, 8));
    if (std::memcmp(sig.data(), kSignature, 8) == 0) {
      sb = off;
      found = true;
      break;
    }
  }
  if (!found) return Corrupt("no HDF5 superblock signature found");
  const std::string where = fmt::format("in superblock at {}", Hex(sb));
  VZ_ASSIGN_OR_RETURN(auto bytes, source.ReadAt(sb, std::min<std::uint64_t>(info.size - sb, 256)));
  ByteCursor c(bytes, sb);
  VZ_TRY(c.Skip(8));
  VZ_ASSIGN_OR_RETURN(auto version, c.U8());
  rd.ctx.superblock_version = version;
  std::uint64_t root = 0;
  std::optional<std::uint64_t> extension;
  if (version <= 1) {
    VZ_TRY(c.Skip(4));
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_offsets, c.U8());
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_lengths, c.U8());
    VZ_TRY(c.Skip(1 + 4 + 4));
    if (version == 1) VZ_TRY(c.Skip(4));
  } else if (version <= 3) {
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_offsets, c.U8());
    VZ_ASSIGN_OR_RETURN(rd.ctx.size_of_lengths, c.U8());
    VZ_TRY(c.Skip(1));
  } else {
    return std::move(Unsupported(fmt::format("superblock version {}", version))).Annotate(where);
  }
  auto so = rd.ctx.size_of_offsets, sl = rd.ctx.size_of_lengths;
  if ((so != 2 && so != 4 && so != 8) || (sl != 2 && sl != 4 && sl != 8)) {
    return std::move(Corrupt(fmt::format("bad size of offsets/lengths {}/{}", so, sl)))
        .Annotate(where);
  }
  VZ_ASSIGN_OR_RETURN(rd.ctx.base_address, rd.ctx.ReadOffset(c));
  if (version <= 1) {
    VZ_TRY(c.Skip(std::size_t{3} * so));
    VZ_TRY(c.Skip(so));  // link name offset of the root symbol table entry
    VZ_ASSIGN_OR_RETURN(root, rd.ctx.ReadOffset(c));
  } else {
    VZ_ASSIGN_OR_RETURN(extension, rd.ctx.ReadOffset(c));
    VZ_TRY(c.Skip(so));  // end of file address
    VZ_ASSIGN_OR_RETURN(root, rd.ctx.ReadOffset(c));
    const std::size_t covered = c.pos();
    VZ_ASSIGN_OR_RETURN(auto stored, c.U32());
    VZ_TRY(VerifyChecksum(std::span<const std::uint8_t>(bytes).first(covered), stored, "superblock",
                          sb));
  }
  // Like libhdf5, trust where the superblock was found over a stale base address (files
  // given a user block after they were written).
  if (rd.ctx.base_address != sb) rd.ctx.base_address = sb;
  if (rd.ctx.base_address > info.size)
    return std::move(Corrupt("base address beyond end of file")).Annotate(where);
  if (extension.has_value() && !rd.ctx.IsUndefined(*extension)) {
    VZ_TRY(rd.ReadSharedMessageTable(*extension), "in superblock extension");
  }
  VZ_TRY(rd.Visit(root, "/", 0));
  auto& out = rd.out;
  out.paths = {source.url()};
  // Dimension scales.
  bool netcdf = false;
  if (!out.groups.empty()) {
    for (const auto& a : out.groups[0].attributes) netcdf = netcdf || a.name == "_NCProperties";
  }
  for (std::size_t i = 0; i < out.arrays.size(); ++i) {
    auto& arr = out.arrays[i];
    arr.dims.assign(arr.shape.size(), "");
    for (const auto& a : arr.attributes) {
      if (a.name == "_Netcdf4Dimid" || a.name == "_Netcdf4Coordinates") netcdf = true;
      if (a.name == "CLASS" && a.value.is_string() &&
          a.value.get<std::string>() == "DIMENSION_SCALE") {
        arr.is_dimension_scale = true;
      }
      if (a.name == "NAME" && a.value.is_string() &&
          a.value.get<std::string>().rfind("This is a netCDF dimension but not a netCDF variable",
                                           0) == 0) {
        arr.is_dimension_only = true;
        netcdf = true;
      }
    }
    if (arr.is_dimension_scale && !arr.dims.empty()) {
      arr.dims[0] = arr.path.substr(1);
      continue;
    }
    auto it = rd.dim_refs.find(i);
    if (it == rd.dim_refs.end() || it->second.empty()) continue;
    const auto& refs = it->second[0];
    if (refs.size() != arr.dims.size()) continue;
    for (std::size_t d = 0; d < refs.size(); ++d) {
      auto p = rd.path_of.find(refs[d]);
      if (p != rd.path_of.end()) arr.dims[d] = p->second.substr(1);
    }
  }
  out.format = netcdf ? "netcdf4" : "hdf5";
  return std::move(out);
}

}  // namespace vz::hdf5
