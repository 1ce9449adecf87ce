// Granule metadata from a DMR++ sidecar (`--metadata`, docs/dmrpp.md): the sidecar is fetched in
// one request and parsed instead of the granule; the granule is opened only when chunk bytes must
// be read (small chunks to embed, loaded variables), and then checked against the sidecar.
#pragma once

#include <string>

#include "vz/base/error.h"
#include "vz/model/dataset.h"

namespace vz::app {

struct ScanOptions;
struct OpenedFile;

enum class MetadataSource : std::uint8_t {
  kGranule,  // read the granule's own metadata (the default)
  kDmrpp,    // read <granule>.dmrpp; an error when there is none
  kAuto,     // the sidecar when there is one and it says everything, else the granule
};

// "granule", "dmrpp" or "auto"; `what` names the flag or variable in the error.
Result<MetadataSource> ParseMetadataSource(const std::string& text, const std::string& what);

// A sidecar's URL ends in ".dmrpp"; its granule's is the same without it.
bool IsSidecarUrl(const std::string& url);

// OpenAndParse for a sidecar given directly (`x.nc.dmrpp`) or found beside the granule
// (`--metadata dmrpp|auto`). Falls back to the granule's metadata (`granule`, a callable that
// parses it) for `auto` when the sidecar is missing or cannot express the granule.
Result<model::VirtualDataset> OpenAndParseSidecar(const std::string& url,
                                                  const ScanOptions& options, OpenedFile& file);

// After chunk bytes were read from the granule: every reference the sidecar made must lie
// inside the granule. A disagreement names both. A no-op when the granule was never opened or
// the metadata came from the granule itself.
Status CheckGranuleAgainstSidecar(OpenedFile& file, const model::VirtualDataset& dataset);

// Requests (one each) of opening a remote granule behind a sidecar that no read was counted
// for: 0 or 1.
std::uint64_t GranuleOpenRounds(OpenedFile& file);

}  // namespace vz::app
