// OPeNDAP DMR++ sidecars (a granule's DAP4 metadata plus its chunk map in one XML document, as
// written by Hyrax's build_dmrpp; https://opendap.github.io/DMRpp-wiki/DMRpp.html) read into the
// same model::VirtualDataset the HDF5 reader makes, without touching the granule.
//
// The document: <Dataset dmrpp:href=...> holds <Dimension name size>, <Group>s, <Attribute
// name type> (with <Value>s; type Container nests them) and variables named by their DAP4 type
// (<Int16 name>, <String>, <Structure>, ...). A variable holds <Dim name|size>, attributes and
// its storage: <dmrpp:chunks compressionType byteOrder fillValue> with
// <dmrpp:chunkDimensionSizes> (absent: contiguous storage) and <dmrpp:chunk offset nBytes
// chunkPositionInArray fm href>, or <dmrpp:compact> (base64 of the raw bytes), or
// <dmrpp:missingdata> (base64 of the zlib-compressed data, for data the file does not hold), or
// <dmrpp:vlsa> (the values of a variable-length string array), plus
// <dmrpp:FixedLengthStringArray string_length pad> for fixed-length strings.
//
// XML goes through libxml2 (never entities, never the network).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vz/base/error.h"
#include "vz/base/limits.h"
#include "vz/model/dataset.h"

namespace vz::dmrpp {

// The `dmrpp:href` template Hyrax replaces with the granule's URL when it serves the sidecar.
inline constexpr std::string_view kDataUrlTemplate = "OPeNDAP_DMRpp_DATA_ACCESS_URL";

struct ReadOptions {
  Limits limits;
  // Where the granule is: chunk references point there (paths[0]). `dmrpp:href` in the
  // document is a template or names the file where the sidecar was built; the caller's URL (the
  // sidecar's URL without ".dmrpp") is the one readers can reach.
  std::string data_url;
  // For errors: the sidecar's own name.
  std::string sidecar_url;
};

struct Sidecar {
  model::VirtualDataset dataset;
  // What the sidecar cannot express (a compound type, a variable-length string without its
  // values, an attribute of unknown type, ...): each names the variable. Those arrays carry
  // `unsupported` (and such attributes are left out); `--metadata auto` reads the granule
  // instead when this is not empty.
  std::vector<std::string> gaps;
  std::string href;  // dmrpp:href as written
};

// True when the bytes start like an XML document whose root is a DAP4 Dataset.
bool LooksLikeDmrpp(std::span<const std::uint8_t> head);

// Parses one sidecar. Malformed XML and impossible values are errors that name the sidecar and
// the line.
Result<Sidecar> Read(std::string_view xml, const ReadOptions& options);

}  // namespace vz::dmrpp
