#include "vz/base/ordered_parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace vz {
namespace {

using Produce = std::function<Result<int>(std::size_t)>;
using Consume = std::function<Status(std::size_t, Result<int>)>;

TEST(OrderedParallel, ConsumesInIndexOrderWhateverOrderItemsFinish) {
  std::vector<int> delays_us(200);
  std::mt19937 rng(7);
  for (auto& d : delays_us) d = static_cast<int>(rng() % 300);
  std::vector<std::size_t> seen;
  const Produce produce = [&](std::size_t i) -> Result<int> {
    std::this_thread::sleep_for(std::chrono::microseconds(delays_us[i]));
    return static_cast<int>(i * 3);
  };
  const Consume consume = [&](std::size_t i, Result<int> r) -> Status {
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(*r, static_cast<int>(i * 3));
    seen.push_back(i);
    return Ok();
  };
  ASSERT_TRUE(OrderedParallel<Result<int>>(5, delays_us.size(), {4, 0}, produce, consume).ok());
  ASSERT_EQ(seen.size(), delays_us.size() - 5);
  for (std::size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k], k + 5);
}

TEST(OrderedParallel, NeverProducesMoreThanTheWindowAhead) {
  constexpr std::size_t kWindow = 3;
  std::atomic<std::size_t> started{0};
  std::atomic<std::size_t> consumed{0};
  std::atomic<std::size_t> worst{0};
  const Produce produce = [&](std::size_t) -> Result<int> {
    const std::size_t ahead = ++started - consumed.load();
    std::size_t w = worst.load();
    while (ahead > w && !worst.compare_exchange_weak(w, ahead)) {
    }
    return 0;
  };
  const Consume consume = [&](std::size_t, Result<int>) -> Status {
    // A slow consumer: the workers would run far ahead without the window.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    ++consumed;
    return Ok();
  };
  ASSERT_TRUE(OrderedParallel<Result<int>>(0, 100, {8, kWindow}, produce, consume).ok());
  EXPECT_EQ(started.load(), 100u);
  // The item being consumed counts as consumed only once consume returns.
  EXPECT_LE(worst.load(), kWindow + 1);
  EXPECT_GE(worst.load(), 2u);  // the workers did run ahead
}

TEST(OrderedParallel, TheConsumersErrorStopsTheLoopAndIsReturned) {
  std::atomic<std::size_t> produced{0};
  std::vector<std::size_t> seen;
  const Produce produce = [&](std::size_t i) -> Result<int> {
    ++produced;
    if (i == 2) return Corrupt("granule 2 is damaged");  // judged by the consumer, not the loop
    return static_cast<int>(i);
  };
  const Consume consume = [&](std::size_t i, Result<int> r) -> Status {
    seen.push_back(i);
    if (!r.ok()) return Ok();  // skipped
    if (i == 6) return Incompatible("granule 6 does not fit");
    return Ok();
  };
  auto st = OrderedParallel<Result<int>>(0, 1'000'000, {4, 8}, produce, consume);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kIncompatible);
  EXPECT_EQ(st.error().message(), "granule 6 does not fit");
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6}));
  // Nothing new starts once the consumer has failed: at most the window beyond item 6.
  EXPECT_LE(produced.load(), 7u + 8u + 1u);
}

TEST(OrderedParallel, EmptyRangeAndZeroJobs) {
  const Produce produce = [](std::size_t i) -> Result<int> { return static_cast<int>(i); };
  int calls = 0;
  const Consume consume = [&](std::size_t, Result<int>) -> Status {
    ++calls;
    return Ok();
  };
  EXPECT_TRUE(OrderedParallel<Result<int>>(3, 3, {}, produce, consume).ok());
  EXPECT_TRUE(OrderedParallel<Result<int>>(9, 3, {}, produce, consume).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(OrderedParallel<Result<int>>(0, 10, {0, 0}, produce, consume).ok());
  EXPECT_EQ(calls, 10);
}

}  // namespace
}  // namespace vz
