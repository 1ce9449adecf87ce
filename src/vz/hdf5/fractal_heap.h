// Fractal heaps (spec III.G): header "FRHP", direct blocks "FHDB", indirect blocks "FHIB", with
// managed, huge and tiny objects, optional I/O filters on direct blocks. They hold dense link
// and attribute messages and shared messages.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vz/base/error.h"
#include "vz/hdf5/context.h"

namespace vz::hdf5 {

class FractalHeap {
 public:
  // Reads and checks the heap header at `address`.
  static Result<FractalHeap> Open(FileContext& ctx, std::uint64_t address);

  // The object a heap ID (as stored in a v2 B-tree record) points to.
  Result<std::vector<std::uint8_t>> Get(FileContext& ctx, std::span<const std::uint8_t> heap_id);

  std::uint16_t heap_id_length() const;

  struct State;  // header fields, defined in the .cc

 private:
  explicit FractalHeap(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace vz::hdf5
