#include "vz/base/error.h"

#include <cstdio>
#include <cstdlib>

namespace vz {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kCorrupt:
      return "malformed input";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kLimit:
      return "limit exceeded";
    case ErrorCode::kPermission:
      return "permission denied";
    case ErrorCode::kIncompatible:
      return "incompatible inputs";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "error";
}

namespace detail {

void FailedValueAccess(const Error& error) {
  std::fprintf(stderr, "vzgen: internal error: the value of a failed Result was read: %s\n",
               error.ToString().c_str());
  std::abort();
}

}  // namespace detail

std::string Error::ToString() const {
  std::string out = message_;
  for (const auto& c : context_) {
    out += ", ";
    out += c;
  }
  return out;
}

Error InvalidArgument(std::string message) {
  return {ErrorCode::kInvalidArgument, std::move(message)};
}
Error NotFound(std::string message) { return {ErrorCode::kNotFound, std::move(message)}; }
Error IoError(std::string message) { return {ErrorCode::kIo, std::move(message)}; }
Error Corrupt(std::string message) { return {ErrorCode::kCorrupt, std::move(message)}; }
Error Unsupported(std::string message) { return {ErrorCode::kUnsupported, std::move(message)}; }
Error LimitExceeded(std::string message) { return {ErrorCode::kLimit, std::move(message)}; }
Error PermissionDenied(std::string message) { return {ErrorCode::kPermission, std::move(message)}; }
Error Incompatible(std::string message) { return {ErrorCode::kIncompatible, std::move(message)}; }
Error Internal(std::string message) { return {ErrorCode::kInternal, std::move(message)}; }

}  // namespace vz
