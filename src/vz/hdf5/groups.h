// Group membership in both HDF5 styles: old-style symbol-table groups (v1 B-tree type-0 nodes
// "TREE", symbol nodes "SNOD", local heap "HEAP" for names) and new-style groups (Link
// messages in the object header, or dense storage: fractal heap + v2 B-tree of type 5).
// Also dense attribute storage (fractal heap + v2 B-tree of type 8).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/base/error.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5 {

struct Link {
  enum class Type : std::uint8_t { kHard, kSoft, kExternal, kUserDefined };
  std::string name;
  Type type = Type::kHard;
  std::uint64_t address = kUndefinedAddress;    // kHard: object header address (relative)
  std::string soft_target;                      // kSoft: path
  std::string external_file, external_path;     // kExternal
  std::uint8_t user_type = 0;                   // kUserDefined: link class
  std::vector<std::uint8_t> user_data;          // kUserDefined: the class's opaque value
  std::optional<std::uint64_t> creation_order;  // when the Link message records it
  std::uint8_t charset = 0;                     // of the name: 0 ASCII, 1 UTF-8
};

// Members of an old-style group (Symbol Table message: v1 B-tree address, local heap address),
// in name order. Each B-tree level is fetched in one ReadMany, then all symbol nodes in one.
Result<std::vector<Link>> ReadSymbolTableGroup(FileContext& ctx, std::uint64_t btree_address,
                                               std::uint64_t local_heap_address);

// Decodes one Link message (type 0x0006) body.
Result<Link> ParseLinkMessage(const FileContext& ctx, ByteCursor& message);

// Members of a new-style group stored densely (Link Info message: fractal heap address and
// name-index v2 B-tree address), sorted by name.
Result<std::vector<Link>> ReadDenseLinks(FileContext& ctx, std::uint64_t fractal_heap_address,
                                         std::uint64_t name_btree_address);

// One record of a dense attribute name index (v2 B-tree type 8) with its heap object.
struct DenseAttribute {
  // The Attribute message body; when shared(), a shared-message reference instead (spec
  // IV.A.2 "Shared Message": version, type, then an address or a heap ID), which the caller
  // must resolve through the shared object header message table before decoding.
  std::vector<std::uint8_t> body;
  std::uint64_t file_offset = 0;  // absolute offset of body[0] (or of the heap, if filtered)
  std::uint8_t message_flags = 0;
  std::uint32_t creation_order = 0;
  bool shared() const { return (message_flags & 0x02) != 0; }
};

// The records of a dense attribute store, in name-index (hash) order.
Result<std::vector<DenseAttribute>> ReadDenseAttributeRecords(FileContext& ctx,
                                                              std::uint64_t fractal_heap_address,
                                                              std::uint64_t name_btree_address);

// Raw Attribute message bodies stored densely (Attribute Info message: fractal heap address and
// name-index v2 B-tree address). The caller decodes each with its attribute-message parser.
// Bodies of shared attributes are returned as they are stored (see DenseAttribute::shared).
Result<std::vector<std::vector<std::uint8_t>>> ReadDenseAttributes(
    FileContext& ctx, std::uint64_t fractal_heap_address, std::uint64_t name_btree_address);

// The data segment of a local heap "HEAP" at `address` (names of old-style group members).
Result<std::vector<std::uint8_t>> ReadLocalHeap(FileContext& ctx, std::uint64_t address);

}  // namespace vz::hdf5
