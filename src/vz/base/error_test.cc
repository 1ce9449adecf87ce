#include "vz/base/error.h"

#include <gtest/gtest.h>

#include <string>

namespace vz {
namespace {

Result<int> Parse(int v) {
  if (v < 0) return Corrupt(fmt::format("negative value {}", v));
  return v;
}

Status Check(int v) {
  if (v < 0) return Corrupt("bad");
  return Ok();
}

Result<int> Twice(int v, int* formatted) {
  // The context's arguments are evaluated only when there is an error.
  auto count = [formatted] { return ++*formatted; };
  VZ_ASSIGN_OR_RETURN(int x, Parse(v), "in field {} (call {})", "x", count());
  return 2 * x;
}

Status CheckAll(int a, int b) {
  VZ_TRY(Check(a));
  VZ_TRY(Check(b), "in b at {:#x}", 16);
  return Ok();
}

TEST(ErrorTest, AssignOrReturnAddsContextOnlyOnError) {
  int formatted = 0;
  auto ok = Twice(21, &formatted);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(formatted, 0);

  auto bad = Twice(-1, &formatted);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(formatted, 1);
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(bad.error().ToString(), "negative value -1, in field x (call 1)");
}

TEST(ErrorTest, TryWithAndWithoutContext) {
  EXPECT_TRUE(CheckAll(1, 1).ok());
  auto first = CheckAll(-1, 1);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().ToString(), "bad");
  auto second = CheckAll(1, -1);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().ToString(), "bad, in b at 0x10");
  ASSERT_EQ(second.error().context().size(), 1u);
}

TEST(ErrorTest, ErrorOfASuccessIsInternalNotACrash) {
  Result<int> r = 3;
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(std::move(r).error().message(), "no error");
}

TEST(ErrorDeathTest, ValueOfAFailedResultAbortsWithTheError) {
  Result<std::string> r = NotFound("no such key 'k'");
  EXPECT_DEATH((void)r.value(), "value of a failed Result was read: no such key 'k'");
  EXPECT_DEATH((void)*r, "no such key");
  EXPECT_DEATH((void)r->size(), "no such key");
  EXPECT_DEATH((void)std::move(r).value(), "no such key");
}

}  // namespace
}  // namespace vz
