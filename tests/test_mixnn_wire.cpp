// What travels inside MixNN's packets: messages of every tensor type come back from
// their bytes exactly, and the images travel as stored (bytes) and come back, once
// the first server normalises them, as the very floats the plain model reads.
#include <gtest/gtest.h>

#include "data/datasets.hpp"
#include "mixnn/wire.hpp"

using namespace tessera;
using namespace tessera::mixnn;

TEST(MixnnWire, MessagesOfEveryTensorTypeComeBackExactly) {
  const torch::Tensor tensors[] = {torch::randn({3, 5}), torch::arange(7, torch::kInt64),
                                   torch::randint(0, 256, {2, 1, 4, 4}).to(torch::kUInt8)};
  for (const auto& t : tensors) {
    Message m{Kind::data, 41, 3, t, 2, 5};
    const auto bytes = encode(m);
    EXPECT_EQ(bytes.size(), encoded_bytes(static_cast<std::size_t>(t.numel()) * t.element_size(),
                                          static_cast<int>(t.dim()), 0));
    const auto back = decode(bytes);
    EXPECT_EQ(back.kind, Kind::data);
    EXPECT_EQ(back.step, 41);
    EXPECT_EQ(back.generation, 3);
    EXPECT_EQ(back.chunk, 2);
    EXPECT_EQ(back.chunks, 5);
    ASSERT_EQ(back.tensor.scalar_type(), t.scalar_type());
    EXPECT_TRUE(back.tensor.equal(t));
  }
  auto bad = encode(Message{Kind::data, 0, 0, torch::zeros({2}, torch::kUInt8)});
  bad[1] = 9;  // no such tensor type
  EXPECT_THROW(decode(bad), PacketError);
}

// Normalisation is per pixel and per channel, so every byte value in every channel
// covers every image there can be.
TEST(MixnnWire, ImagesAsBytesNormaliseToTheLoadersFloats) {
  for (const auto& [name, channels] : {std::pair<std::string, int>{"fashion-mnist", 1}, {"mnist", 1}, {"cifar100", 3}}) {
    const auto bytes = torch::arange(256, torch::kInt64).to(torch::kUInt8).view({1, 1, 16, 16}).repeat({2, channels, 1, 1});
    const auto images = data::normalise(bytes, name);
    ASSERT_EQ(images.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(data::stored_bytes(images, name).equal(bytes)) << name;
    const auto travelled = decode(encode(Message{Kind::data, 0, 0, data::stored_bytes(images, name)})).tensor;
    EXPECT_TRUE(data::normalise(travelled, name).equal(images)) << name;
  }
}
