// The layer tables' arithmetic (model/net_spec.h): FLOPs per image, counted by hand for the seed
// network (the figure the CPU speed goals are stated in).
#include <gtest/gtest.h>

#include "model/net_spec.h"

namespace alexnet {
namespace {

TEST(NetSpecFlops, SeedNetworkCountedByHand) {
  NetOptions o;
  o.num_classes = 10;
  const FlopCount f = flops_per_image(make_net_spec("seed", o));
  // 2 x (out channels x in channels x kernel^2 x output pixels), and 2 x in x out for linear layers.
  const double conv1 = 2.0 * 96 * 3 * 11 * 11 * 55 * 55, conv2 = 2.0 * 256 * 96 * 5 * 5 * 27 * 27,
               conv3 = 2.0 * 384 * 256 * 9 * 13 * 13, conv4 = 2.0 * 384 * 384 * 9 * 13 * 13,
               conv5 = 2.0 * 256 * 384 * 9 * 13 * 13, fc = 2.0 * (9216 * 4096 + 4096 * 4096 + 4096 * 10);
  const double forward = conv1 + conv2 + conv3 + conv4 + conv5 + fc;
  EXPECT_DOUBLE_EQ(f.forward, forward);
  EXPECT_DOUBLE_EQ(f.training, 3 * forward - conv1);  // no input gradient for the first layer
  EXPECT_NEAR(f.training / 1e9, 6.57, 0.01);
}

// The paper's network, by hand: conv1 without padding on 227 x 227 (55 x 55 out), and conv2, conv4
// and conv5 in two groups, each output channel seeing half of the input channels (48, 192, 192).
TEST(NetSpecFlops, PaperGroupedConvolutionsCountTheirGroupsChannelsOnly) {
  NetOptions o;
  o.num_classes = 10;
  const FlopCount f = flops_per_image(make_net_spec("paper", o));
  const double conv1 = 2.0 * 96 * 3 * 11 * 11 * 55 * 55, conv2 = 2.0 * 256 * 48 * 5 * 5 * 27 * 27,
               conv3 = 2.0 * 384 * 256 * 9 * 13 * 13, conv4 = 2.0 * 384 * 192 * 9 * 13 * 13,
               conv5 = 2.0 * 256 * 192 * 9 * 13 * 13, fc = 2.0 * (9216 * 4096 + 4096 * 4096 + 4096 * 10);
  const double forward = conv1 + conv2 + conv3 + conv4 + conv5 + fc;
  EXPECT_DOUBLE_EQ(f.forward, forward);
  EXPECT_DOUBLE_EQ(f.training, 3 * forward - conv1);
}

}  // namespace
}  // namespace alexnet
