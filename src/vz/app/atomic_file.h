// Writing an output so that a reader never sees it half-written and a failure (an error, a full
// disk, SIGINT/SIGTERM, even SIGKILL) leaves the old file untouched: write a temporary file
// `.NAME.tmpPID` beside the target, fsync it, then rename it over the target. A symbolic link
// to the target is followed, so the file it points to is replaced and the link stays.
//
// And the rules that keep a command from replacing what it must not (docs/usage.md, "What -o
// may replace"): never one of its own inputs, never anything but a regular file, and an
// existing regular file only when it already holds what the command writes, unless forced.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "vz/base/error.h"

namespace vz::app {

// Writes `path` through `write`. Errors name the path and the system's reason ("No space left
// on device"). Temporary files left beside `path` by processes that no longer exist are removed
// first. While the temporary file exists, InstallInterruptHandlers' handler removes it.
Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(std::ostream&)>& write);

// Removes the temporary files beside `path` left by processes that no longer exist (killed
// with SIGKILL, or the machine stopped): nothing would ever rename or remove them.
void RemoveStaleTemporaries(const std::string& path);

// What an existing output file must already be for a command to replace it without --force.
enum class OutputKind {
  kReferenceStore,  // a kerchunk reference store (JSON)
  kRunReport,       // a vzgen run report
};

// Checks, before anything is read, that `output` may be written by a command whose local inputs
// are `inputs` (URLs are ignored). Refuses (kInvalidArgument is never used: the command line
// was well formed, the target is wrong) an output that is one of the inputs (even with
// `force`), that is not a regular file (a directory, device, FIFO or socket; a symbolic link is
// judged by what it points to), or that exists and is not of `kind`, unless `force`.
Status CheckOutputTarget(const std::string& output, OutputKind kind,
                         const std::vector<std::string>& inputs, bool force);

// Checks that every local input is a regular file (a FIFO would block its reader forever, a
// directory cannot be scanned). Errors name the input and what it is.
Status CheckInputsAreFiles(const std::vector<std::string>& inputs);

// SIGINT and SIGTERM: remove the temporary files being written, print one line saying whether
// the output named by SetInterruptOutput was left unchanged, exit 130 / 143.
void InstallInterruptHandlers();
// The output the interrupt message names ("" = none).
void SetInterruptOutput(const std::string& path);

}  // namespace vz::app
