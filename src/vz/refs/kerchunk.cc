// WriteKerchunkJson: the dataset translated and written (store.cc, WriteTranslated). No I/O
// besides the output stream; everything that needs reading was done by MaterializeInline.
#include "vz/refs/kerchunk.h"

#include <fmt/format.h>

#include "vz/refs/store.h"

namespace vz::refs {

Status WriteKerchunkJson(const model::VirtualDataset& dataset, const KerchunkOptions& options,
                         std::ostream& out) {
  (void)options;  // thresholds only matter to MaterializeInline
  return WriteTranslated(dataset, out);
}

}  // namespace vz::refs
