// Fractal heaps (spec III.G): header "FRHP", direct blocks "FHDB", indirect blocks "FHIB", with
// managed, huge and tiny objects, optional I/O filters on direct blocks. They hold dense link
// and attribute messages and shared messages.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5 {

class FractalHeap {
 public:
  // One object fetched from the heap.
  struct Object {
    std::vector<std::uint8_t> data;
    // Absolute file offset of data[0] when the object is stored unfiltered in the file; for
    // tiny objects and objects inside filtered blocks, the offset of the heap header (errors
    // while decoding such an object then name the heap).
    std::uint64_t file_offset = 0;
  };

  // Reads and checks the heap header at `address`.
  static Result<FractalHeap> Open(FileContext& ctx, std::uint64_t address);

  // The object a heap ID (as stored in a v2 B-tree record) points to.
  Result<std::vector<std::uint8_t>> Get(FileContext& ctx, std::span<const std::uint8_t> heap_id);

  // Several objects at once: the direct blocks they need that are not cached yet are fetched in
  // one ReadMany (per level of indirect blocks while those are resolved). Results are in the
  // order of `heap_ids`.
  Result<std::vector<Object>> GetMany(FileContext& ctx,
                                      std::span<const std::span<const std::uint8_t>> heap_ids);

  std::uint16_t heap_id_length() const;

  // Where the root block lies (a direct root: all of it; an indirect one: its start), for
  // fetching it ahead of use. None for an empty heap.
  std::optional<io::ByteRange> RootBlock() const;

  struct State;  // header fields, defined in the .cc

 private:
  explicit FractalHeap(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace vz::hdf5
