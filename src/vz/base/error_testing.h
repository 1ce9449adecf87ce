// For tests: EXPECT_TRUE(IsError(r, ErrorCode::kCorrupt, "object header at 0x30")) checks that
// a Result/Status failed with that code and that its message (with context) has those words,
// and prints what it got when not.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "vz/base/error.h"

namespace vz {

template <typename R>
::testing::AssertionResult IsError(const R& r, ErrorCode code, std::string_view words) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded, expected an error";
  const std::string text = r.error().ToString();
  if (r.error().code() != code || text.find(words) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "got " << ErrorCodeName(r.error().code()) << ": " << text << "; expected "
           << ErrorCodeName(code) << " with '" << words << "'";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace vz
