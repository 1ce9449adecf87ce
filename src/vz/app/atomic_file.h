// Writing an output so that a reader never sees it half-written and a failure leaves the old
// file untouched: write a temporary file beside the target, flush and fsync it, then rename.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "vz/base/error.h"

namespace vz::app {

Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(std::ostream&)>& write);

}  // namespace vz::app
