#include "vz/model/dataset.h"

#include <gtest/gtest.h>

namespace vz::model {
namespace {

TEST(ChunkManifest, FilterMasksStayAlignedWhicheverChunkHasTheFirstNonZeroMask) {
  const std::uint64_t c[] = {0};
  for (std::size_t first_masked = 0; first_masked < 4; ++first_masked) {
    ChunkManifest m;
    m.rank = 1;
    for (std::size_t i = 0; i < 4; ++i) {
      m.Add(c, 100 * i, 10, i >= first_masked ? 1u : 0u);
    }
    ASSERT_EQ(m.filter_masks.size(), 4u) << first_masked;
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(m.filter_masks[i], i >= first_masked ? 1u : 0u) << first_masked << " " << i;
    }
  }
  ChunkManifest none;
  none.rank = 1;
  none.Add(c, 0, 10, 0);
  none.Add(c, 10, 10, 0);
  EXPECT_TRUE(none.filter_masks.empty());
}

}  // namespace
}  // namespace vz::model
