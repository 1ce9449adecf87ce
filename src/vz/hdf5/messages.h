// Object header messages (File Format Specification v3.0, IV.A.2): their type numbers and
// names, the decoded form a header's messages take, and decoders for the messages that carry
// a dataset's description: dataspace (IV.A.2.b), datatype (IV.A.2.d), fill value (IV.A.2.e
// and f), filter pipeline (IV.A.2.l) and the link / attribute info messages (IV.A.2.c, v).
// These decoders need no more of the file than the superblock's sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vz/base/byte_cursor.h"
#include "vz/base/error.h"
#include "vz/hdf5/context.h"
#include "vz/model/dataset.h"

namespace vz::hdf5 {

// Message type numbers as the spec gives them (IV.A.2.a-x).
enum class MessageType : std::uint16_t {
  kNil = 0x00,
  kDataspace = 0x01,
  kLinkInfo = 0x02,
  kDatatype = 0x03,
  kFillValueOld = 0x04,
  kFillValue = 0x05,
  kLink = 0x06,
  kExternalDataFiles = 0x07,
  kDataLayout = 0x08,
  kBogus = 0x09,
  kGroupInfo = 0x0A,
  kFilterPipeline = 0x0B,
  kAttribute = 0x0C,
  kObjectComment = 0x0D,
  kObjectModificationTimeOld = 0x0E,
  kSharedMessageTable = 0x0F,
  kContinuation = 0x10,
  kSymbolTable = 0x11,
  kObjectModificationTime = 0x12,
  kBTreeKValues = 0x13,
  kDriverInfo = 0x14,
  kAttributeInfo = 0x15,
  kReferenceCount = 0x16,
  kFileSpaceInfo = 0x17,
};

// The spec's name of a message type ("Dataspace", "Data Layout", ...), "unknown" for others.
const char* MessageTypeName(MessageType type);

// Header message flags (IV.A.1): the body is a shared-message reference; an unknown message
// of this type makes the object unreadable.
inline constexpr std::uint8_t kMessageShared = 0x02;
inline constexpr std::uint8_t kMessageFailIfUnknown = 0x80;

// One message of an object header, continuation messages already followed.
struct Message {
  MessageType type = MessageType::kNil;
  std::uint8_t flags = 0;
  std::vector<std::uint8_t> body;
  std::uint64_t offset = 0;          // absolute file offset of the body
  std::uint32_t creation_order = 0;  // v2 headers that track attribute creation order

  // The raw type number, as error messages print it.
  int number() const { return static_cast<int>(type); }
};

struct Dataspace {
  bool null = false;
  std::vector<std::uint64_t> dims;
  std::vector<std::uint64_t> max_dims;  // empty when the file gives none: the same as dims
};

// A Dataspace message body. Unlimited maximum sizes become model::Array::kUnlimited.
Result<Dataspace> ParseDataspace(const FileContext& ctx, ByteCursor& cur);

// A Datatype message body (also the datatype field of an Attribute message). Unsupported for
// classes vzgen cannot describe (e.g. VAX floats, time), Corrupt for malformed ones.
Result<model::DType> ParseDatatype(ByteCursor& cur, int depth = 0);

// A Filter Pipeline message body.
Result<std::vector<model::Filter>> ParseFilters(ByteCursor& cur);

// The fill value a Fill Value message (kFillValue, versions 1-3) or an old Fill Value message
// (kFillValueOld) defines: its bytes, nullopt when it defines none (or an empty one).
Result<std::optional<std::vector<std::uint8_t>>> ParseFillValue(MessageType type, ByteCursor& cur);

// A Link Info or Attribute Info message: where the dense storage is (its fractal heap,
// undefined when there is none, and its name-index v2 B-tree) and whether the object tracks
// creation order.
struct InfoMessage {
  std::uint64_t heap = kUndefinedAddress;
  std::uint64_t name_index = kUndefinedAddress;
  bool creation_order = false;
};

Result<InfoMessage> ParseInfoMessage(const FileContext& ctx, ByteCursor& cur, MessageType type);

}  // namespace vz::hdf5
