// The state of one HDF5 file read and its stages, shared by the files that implement them and
// by their tests (hdf5::Read in reader.h is the module's interface):
//   object_header.cc  an object header's messages: v1/v2 headers, continuations, shared
//                     messages (IV.A.1, IV.A.2.p);
//   attributes.cc     attribute values and variable-length data through the global heap;
//   object.cc         building a model::Array from an object's collected messages;
//   reader.cc         collecting an object's messages, visiting a group's members, the
//                     superblock and dimension scales.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/base/error.h"
#include "vz/hdf5/chunk_index.h"
#include "vz/hdf5/context.h"
#include "vz/hdf5/fractal_heap.h"
#include "vz/hdf5/global_heap.h"
#include "vz/hdf5/groups.h"
#include "vz/hdf5/messages.h"
#include "vz/model/dataset.h"

namespace vz::hdf5 {

// What an object's header messages say, gathered in one pass before anything is built from
// them: an object with a dataspace and a layout is a dataset, one with links or link info a
// group, one with only a datatype a committed datatype.
struct ObjectMessages {
  std::optional<Dataspace> space;
  std::optional<Message> layout;  // the Data Layout message, decoded once the rank is known
  bool has_type = false;
  model::DType dtype;
  std::optional<std::vector<std::uint8_t>> fill;
  std::vector<model::Filter> filters;
  // Why the dataset cannot be referenced (an unsupported datatype or storage), or "".
  std::string unsupported;
  std::vector<model::Attribute> attributes;
  std::vector<std::uint32_t> attribute_order;  // creation order of each attribute
  bool attribute_creation_order = false;       // the object tracks it (Attribute Info)
  std::vector<std::uint64_t> dimension_list;   // DIMENSION_LIST object addresses
  bool is_group = false;
  std::vector<Link> links;

  bool IsDataset() const { return space.has_value() && layout.has_value(); }
};

// Orders `attributes` as h5py lists them: by creation order when the object tracks it
// (netCDF-4 files do), otherwise by name.
void SortAttributes(ObjectMessages& object);

// Every element of a variable-length string or sequence array, as model::Array::vlen_values.
using VlenValues = std::vector<std::optional<std::string>>;
using VlenDecoder = std::function<Result<VlenValues>(const model::Array&, const DataLayout&)>;

// The array at `path` that a dataset's collected messages describe: shape, dtype, fill value,
// filters, attributes, and the chunk manifest read from its layout and chunk index.
// Variable-length data is decoded by `decode_vlen`. A dataset vzgen cannot reference comes
// back with `unsupported` set; errors are only for a malformed file.
Result<model::Array> BuildArray(FileContext& ctx, ObjectMessages&& object, const std::string& path,
                                const VlenDecoder& decode_vlen);

// An HDF5 array element type (say, 3 floats) made into trailing axes of the array.
void ExpandArrayElementType(model::Array& arr);

// `parent`/`name` ("/" + name at the root).
std::string ChildPath(const std::string& parent, const std::string& name);

struct Reader {
  FileContext ctx;
  GlobalHeap gheap;
  model::VirtualDataset out;
  std::set<std::uint64_t> visited;
  std::map<std::uint64_t, std::string> path_of;
  // Per array index: DIMENSION_LIST object addresses per axis.
  std::map<std::size_t, std::vector<std::vector<std::uint64_t>>> dim_refs;
  std::uint64_t objects = 0;
  // Shared-message heaps from the superblock extension's table: (message type flags, heap).
  std::vector<std::pair<std::uint16_t, FractalHeap>> sohm_heaps;
  // Headers PrefetchMembers already read and decoded, taken by Visit.
  std::map<std::uint64_t, std::vector<Message>> read_ahead;

  // ---- object headers (object_header.cc)
  Status ReadSharedMessageTable(std::uint64_t extension_address);
  Result<std::vector<Message>> ReadHeader(std::uint64_t address, int depth = 0);
  Status ParseMessages(ByteCursor& cur, int version, bool creation_order,
                       std::vector<Message>& msgs,
                       std::deque<std::pair<std::uint64_t, std::uint64_t>>& cont);
  Status ResolveShared(Message& m, int depth);
  // The decoded header at `address`: the one read ahead, else read now.
  Result<std::vector<Message>> TakeHeader(std::uint64_t address);

  // ---- attribute values and variable-length data (attributes.cc)
  Result<model::Attribute> ParseAttribute(std::span<const std::uint8_t> body, std::uint64_t offset,
                                          std::vector<std::uint64_t>* refs);
  Result<model::Json> DecodeElement(const model::DType& t, std::span<const std::uint8_t> p,
                                    std::vector<std::uint64_t>* refs);
  // The element count of a stored variable-length element (a heap id: length, collection,
  // index) and the global heap object it points at; nullopt for a null pointer. A zero length
  // gives no bytes without a heap lookup.
  struct VlenObject {
    std::uint32_t length = 0;
    std::span<const std::uint8_t> bytes;
  };
  Result<std::optional<VlenObject>> ReadVlenObject(std::span<const std::uint8_t> p);
  Result<std::optional<std::string>> ReadVlenString(std::span<const std::uint8_t> p);
  // The bytes of one variable-length sequence element: its base elements as stored.
  Result<std::string> ReadVlenBytes(std::span<const std::uint8_t> p, const model::DType& base);
  // Every element of a variable-length string or sequence array, row-major (see
  // model::Array::vlen_values); the stored heap ids are gathered through the array's filters.
  Result<VlenValues> DecodeVlenValues(const model::Array& arr, const DataLayout& dl);

  // ---- traversal (reader.cc)
  // The object at `address` (a dataset, a group and its members, or a committed datatype).
  Status Visit(std::uint64_t address, const std::string& path, std::uint32_t depth);
  // One pass over an object's messages; errors name the message and `path`.
  Result<ObjectMessages> CollectMessages(const std::vector<Message>& msgs, const std::string& path);
  // The group's members in name order: hard links visited, the others listed as warnings.
  Status VisitMembers(std::vector<Link> links, const std::string& path, std::uint32_t depth);
  void PrefetchMembers(std::span<const Link> links);
};

}  // namespace vz::hdf5
