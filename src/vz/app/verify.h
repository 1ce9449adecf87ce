// `vzgen verify`: reads a sample of a store's chunks back through their references (the same
// transports and credentials as scan) and decodes them with the store's own codecs, so a store
// is known to open and decode before anyone relies on it. The collection job runs it on what it
// publishes and puts the result in its report.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "vz/app/scan.h"
#include "vz/base/error.h"
#include "vz/refs/store.h"

namespace vz::app {

struct VerifyOptions {
  std::size_t samples_per_array = 2;  // the first and the last reference of each array, ...
  ScanOptions scan;                   // read settings for opening the referenced files
};

struct VerifySample {
  std::string key;    // "analysed_sst/0.0.0"
  std::string url;    // "" for embedded chunks
  std::string first;  // the chunk's first element as text (numeric dtypes), "" otherwise
};

struct VerifyReport {
  std::size_t arrays = 0;
  std::size_t chunks = 0;  // chunks read and decoded
  std::vector<VerifySample> samples;
  std::vector<std::string> failures;  // one line each: key, URL and what went wrong
};

Result<VerifyReport> VerifyStore(const refs::RefStore& store, const VerifyOptions& options);

// Reads a store from a local path, https:// or s3:// URL.
Result<refs::RefStore> LoadStore(const std::string& url);

}  // namespace vz::app
