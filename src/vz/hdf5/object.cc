// Building a model::Array from a dataset's collected header messages: its shape and maximum
// shape (dataspace), datatype, fill value, filters, and where its bytes are (Data Layout message
// and chunk index). What vzgen cannot reference is marked unsupported rather than failed, so
// the caller can report it and carry on.
#include <fmt/format.h>

#include <algorithm>

#include "vz/base/checked.h"
#include "vz/hdf5/reader_internal.h"

namespace vz::hdf5 {

using Kind = model::DType::Kind;

std::string ChildPath(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

void SortAttributes(ObjectMessages& object) {
  auto& attrs = object.attributes;
  const auto& order = object.attribute_order;
  // v2 object headers carry each message's creation order when the object tracks it.
  std::vector<std::size_t> idx(attrs.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (object.attribute_creation_order && order.size() == attrs.size()) {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return order[a] < order[b]; });
  } else {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](std::size_t a, std::size_t b) { return attrs[a].name < attrs[b].name; });
  }
  std::vector<model::Attribute> sorted;
  sorted.reserve(attrs.size());
  for (auto i : idx) sorted.push_back(std::move(attrs[i]));
  attrs = std::move(sorted);
}

// An HDF5 array element type (say, 3 floats) stores its elements contiguously, so a dataset of
// N such elements is, byte for byte, an N x 3 array of the base type, which is how h5py and
// numpy read it. The element's axes become trailing axes of the array, whole in every chunk.
void ExpandArrayElementType(model::Array& arr) {
  const std::vector<std::uint64_t> sub = std::move(arr.dtype.subshape);
  arr.dtype.subshape.clear();
  auto count = CheckedProduct(sub, "array element");
  if (!count.ok() || *count == 0 || arr.dtype.size % *count != 0) {
    arr.unsupported = "HDF5 array datatype with an inconsistent element size";
    return;
  }
  const std::uint64_t whole = arr.dtype.size;
  arr.dtype.size = static_cast<std::uint32_t>(whole / *count);
  const std::size_t old_rank = arr.shape.size();
  for (auto* axes : {&arr.shape, &arr.max_shape, &arr.chunk_shape}) {
    axes->resize(old_rank, 1);
    axes->insert(axes->end(), sub.begin(), sub.end());
  }
  auto& m = arr.manifest;
  std::vector<std::uint64_t> coords;
  coords.reserve(m.size() * (old_rank + sub.size()));
  for (std::size_t c = 0; c < m.size(); ++c) {
    for (std::size_t d = 0; d < old_rank; ++d) coords.push_back(m.coords[c * old_rank + d]);
    coords.insert(coords.end(), sub.size(), 0);
  }
  m.coords = std::move(coords);
  m.rank = old_rank + sub.size();
  // The fill value fills whole array elements; as a zarr fill value it must be one base
  // element, so it is kept only when every base element of it is the same.
  if (arr.fill_value) {
    const auto& f = *arr.fill_value;
    const std::size_t b = arr.dtype.size;
    bool uniform = f.size() == whole;
    for (std::size_t i = b; uniform && i < f.size(); i += b) {
      uniform = std::equal(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(b),
                           f.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (uniform) {
      arr.fill_value->resize(b);
    } else {
      arr.fill_value.reset();
    }
  }
}

Result<model::Array> BuildArray(FileContext& ctx, ObjectMessages&& object, const std::string& path,
                                const VlenDecoder& decode_vlen) {
  if (!object.IsDataset())
    return Corrupt("in " + path + ": not a dataset (no dataspace or layout)");
  Dataspace& space = *object.space;
  model::Array arr;
  arr.path = path;
  arr.dtype = std::move(object.dtype);
  arr.unsupported = std::move(object.unsupported);
  if (!space.null) {
    arr.max_shape = space.max_dims.empty() ? space.dims : std::move(space.max_dims);
    arr.shape = std::move(space.dims);
  }
  arr.fill_value = std::move(object.fill);
  const bool filtered = !object.filters.empty();
  arr.filters = std::move(object.filters);
  arr.attributes = std::move(object.attributes);
  ByteCursor lc(object.layout->body, object.layout->offset);
  auto lr = ParseDataLayout(ctx, lc, arr.shape.size());
  if (!lr.ok()) {
    if (lr.error().code() != ErrorCode::kUnsupported)
      return std::move(lr)
          .Annotate(fmt::format("in message type {} at {}", object.layout->number(),
                                Hex(object.layout->offset)))
          .Annotate("in " + path)
          .error();
    arr.unsupported = lr.error().message();
  } else {
    DataLayout& dl = *lr;
    if (dl.layout == model::Layout::kContiguous && dl.version < 3 && dl.size == 0) {
      // Layout versions 1 and 2 store no byte size: it is the dataspace size times the
      // element size.
      VZ_ASSIGN_OR_RETURN(auto elements, CheckedProduct(arr.shape, "contiguous elements"));
      VZ_ASSIGN_OR_RETURN(dl.size, CheckedMul(elements, arr.dtype.size, "contiguous size"));
    }
    arr.layout = dl.layout;
    if (dl.layout == model::Layout::kChunked) {
      static const char* const kIndexNames[] = {"v1 B-tree",   "single chunk",     "implicit",
                                                "fixed array", "extensible array", "v2 B-tree"};
      const auto index = static_cast<std::size_t>(dl.index_type);
      arr.chunk_index = index < 6 ? kIndexNames[index] : "unknown index";
    }
    arr.manifest.rank = arr.shape.size();
    std::vector<std::uint64_t> zeros(arr.shape.size(), 0);
    if (dl.layout == model::Layout::kVirtual) {
      arr.unsupported = "virtual dataset layout not supported";
    } else if (dl.layout == model::Layout::kContiguous) {
      arr.chunk_shape = arr.shape;
      if (!ctx.IsUndefined(dl.address) && dl.size > 0 && arr.unsupported.empty()) {
        arr.manifest.Add(zeros, ctx.Absolute(dl.address), dl.size);
      }
    } else if (dl.layout == model::Layout::kCompact) {
      arr.chunk_shape = arr.shape;
      arr.compact_data = dl.compact_data;
    } else {
      arr.chunk_shape = dl.chunk_dims;
      arr.chunk_shape.resize(arr.shape.size(), 1);
      ChunkIndexInput in;
      in.layout = &dl;
      in.dims = arr.shape;
      in.max_dims = arr.max_shape;
      in.filtered = filtered;
      if (arr.unsupported.empty()) {
        VZ_ASSIGN_OR_RETURN(auto chunks, ReadChunkIndex(ctx, in), "in chunk index of {}", path);
        if (chunks.size() > ctx.limits.max_chunks_per_array)
          return LimitExceeded("too many chunks in " + path);
        std::vector<std::uint64_t> coords(arr.shape.size());
        for (const auto& rec : chunks) {
          for (std::size_t i = 0; i < coords.size(); ++i) {
            const std::uint64_t cd = arr.chunk_shape[i] == 0 ? 1 : arr.chunk_shape[i];
            coords[i] = i < rec.offset.size() ? rec.offset[i] / cd : 0;
          }
          arr.manifest.Add(coords, rec.address, rec.size, rec.filter_mask);
        }
      }
    }
    if (arr.dtype.IsVariableLength() && arr.unsupported.empty()) {
      auto vr = decode_vlen(arr, dl);
      if (!vr.ok()) {
        if (vr.error().code() != ErrorCode::kUnsupported && vr.error().code() != ErrorCode::kLimit)
          return std::move(vr).Annotate("in " + path).error();
        arr.unsupported = vr.error().message();
      } else {
        arr.vlen_values = std::move(*vr);
        // ReadVlenBytes swapped big-endian sequence elements to little-endian.
        if (arr.dtype.kind == Kind::kVlenSequence && !arr.dtype.fields.empty() &&
            arr.dtype.fields[0].type.byte_order == '>') {
          arr.dtype.fields[0].type.byte_order = '<';
        }
      }
    }
    if (!arr.dtype.subshape.empty() && arr.unsupported.empty() && !space.null) {
      ExpandArrayElementType(arr);
    }
  }
  return arr;
}

}  // namespace vz::hdf5
