// The store formats `build`, `append`, `convert` and the job write: kerchunk JSON (native, always
// there) and those another front end registers (the Python package registers kerchunk Parquet and
// Icechunk, written through pyarrow and the icechunk library). The commands only name a format;
// what a store contains is decided before, once, in the RefStore handed to the writer.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "vz/base/error.h"
#include "vz/refs/store.h"

namespace vz::app {

struct FormatWriteOptions {
  bool consolidated = false;  // JSON: also write .zmetadata (Parquet always has it)
  // The store replaces an existing one of the same format (append): writers that can add to
  // what is there (Icechunk: a new commit) may do so.
  bool append = false;
};

struct StoreFormat {
  std::string name;  // "json", "parquet", "icechunk"
  // Writes `store` at `target` so that a reader sees the old store or the new one, never a mix.
  std::function<Status(const refs::RefStore&, const std::string& target, const FormatWriteOptions&)>
      write;
  // Reads a store of this format back (append, convert); empty when the format cannot be read.
  std::function<Result<refs::RefStore>(const std::string& target)> read;
};

// The names --format and VZ_FORMAT accept.
const std::vector<std::string>& StoreFormatNames();

// Makes a format available (replacing one of the same name).
void RegisterStoreFormat(StoreFormat format);

// The format called `name`. An unknown name, or a known one that this program cannot write
// (parquet and icechunk without the Python package), is kInvalidArgument with one line saying
// what to install.
Result<const StoreFormat*> FindStoreFormat(const std::string& name);

// The format of what is at `path`: "json" for a regular file, "parquet" for a directory with a
// .zmetadata that has record_size, "icechunk" for an Icechunk repository; "" when nothing is
// there, "other" when something else is.
std::string DetectStoreFormat(const std::string& path);

// Reads the store at `path` (local file or directory, or for JSON an https:// / s3:// URL)
// in whatever format it is.
Result<refs::RefStore> ReadAnyStore(const std::string& path);

// Checks that `target` may receive a store of format `name`: nothing there, or a store of the
// same format (a directory store never replaces anything else, even with --force). Errors name
// the target and what it holds.
Status CheckFormatTarget(const std::string& target, const std::string& name);

// CheckFormatTarget, then for JSON the rules of CheckOutputTarget (atomic_file.h) for a reference
// store written from `inputs`.
Status CheckStoreOutput(const std::string& target, const std::string& name,
                        const std::vector<std::string>& inputs, bool force);

// `vzgen convert`: the store at `input` (any format vzgen reads, any tool's kerchunk JSON)
// written at `output` in format `name`.
Status ConvertStore(const std::string& input, const std::string& output, const std::string& name,
                    const FormatWriteOptions& options);

}  // namespace vz::app
