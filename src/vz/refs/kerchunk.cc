// WriteKerchunkJson: the dataset translated into a reference store (store.cc) and written. No I/O
// besides the output stream; everything that needs reading was done by MaterializeInline.
#include "vz/refs/kerchunk.h"

#include <fmt/format.h>

#include "vz/refs/store.h"

namespace vz::refs {

Status WriteKerchunkJson(const model::VirtualDataset& dataset, const KerchunkOptions& options,
                         std::ostream& out) {
  (void)options;  // thresholds only matter to MaterializeInline
  VZ_ASSIGN_OR_RETURN(auto store, ToRefStore(dataset));
  return WriteRefStore(store, out);
}

}  // namespace vz::refs
