#include "vz/hdf5/global_heap.h"

#include <fmt/format.h>

#include "vz/base/byte_cursor.h"
#include "vz/base/checked.h"

namespace vz::hdf5 {

Result<const GlobalHeap::Collection*> GlobalHeap::Load(FileContext& ctx, std::uint64_t address) {
  auto it = collections_.find(address);
  if (it != collections_.end()) return &it->second;
  const std::uint64_t prefix = 8u + ctx.size_of_lengths;
  VZ_ASSIGN_OR_RETURN(auto head, ctx.Read(address, prefix, "global heap collection"));
  ByteCursor hc(head, ctx.Absolute(address));
  VZ_TRY(hc.ExpectMagic("GCOL", "global heap collection"));
  VZ_ASSIGN_OR_RETURN(auto version, hc.U8());
  if (version != 1) {
    return Unsupported(fmt::format("global heap collection version {} at {}", version,
                                   Hex(ctx.Absolute(address))));
  }
  VZ_TRY(hc.Skip(3));
  VZ_ASSIGN_OR_RETURN(auto size, ctx.ReadLength(hc));
  if (size < prefix)
    return Corrupt(
        fmt::format("global heap collection at {} too small", Hex(ctx.Absolute(address))));
  VZ_ASSIGN_OR_RETURN(auto bytes, ctx.Read(address, size, "global heap collection"));
  ByteCursor cur(bytes, ctx.Absolute(address));
  VZ_TRY(cur.Skip(static_cast<std::size_t>(prefix)));
  Collection coll;
  const std::size_t object_header = 8u + ctx.size_of_lengths;
  while (cur.remaining() >= object_header) {
    VZ_ASSIGN_OR_RETURN(auto index, cur.U16());
    VZ_TRY(cur.Skip(6));
    VZ_ASSIGN_OR_RETURN(auto obj_size, ctx.ReadLength(cur));
    if (index == 0) break;  // free space: the rest of the collection
    VZ_ASSIGN_OR_RETURN(auto n, ToSize(obj_size, "global heap object size"));
    VZ_ASSIGN_OR_RETURN(auto data, cur.Bytes(n));
    coll[index] = std::vector<std::uint8_t>(data.begin(), data.end());
    const std::size_t pad = (8 - n % 8) % 8;
    if (cur.remaining() < pad) break;
    VZ_TRY(cur.Skip(pad));
  }
  auto [pos, inserted] = collections_.emplace(address, std::move(coll));
  (void)inserted;
  return &pos->second;
}

Result<std::span<const std::uint8_t>> GlobalHeap::Get(FileContext& ctx,
                                                      std::uint64_t collection_address,
                                                      std::uint32_t index) {
  VZ_ASSIGN_OR_RETURN(auto coll, Load(ctx, collection_address));
  auto it = coll->find(index);
  if (it == coll->end()) {
    return Corrupt(fmt::format("global heap object {} not found in collection at {}", index,
                               Hex(ctx.Absolute(collection_address))));
  }
  return std::span<const std::uint8_t>(it->second);
}

}  // namespace vz::hdf5
