#include "models/registry.hpp"

namespace tessera::models {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
}

// torchvision's classifier layout (Linear, ReLU, Dropout, ...), so the layers are
// named classifier.0, classifier.3, classifier.6 as in the seed's VGG16.
nn::Sequential classifier(std::vector<std::int64_t> widths) {
  nn::Sequential layers;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
    layers->push_back(nn::Linear(widths[i], widths[i + 1]));
    if (i + 2 < widths.size()) {
      layers->push_back(nn::ReLU());
      layers->push_back(nn::Dropout(0.5));
    }
  }
  return layers;
}

// 28x28 input: 32@28 -> pool -> 64@14 -> pool -> 128@7, i.e. 6272 features.
// With `seed_pool`, the 128x7x7 map is averaged to 128x1x1 and copied back to
// 7x7, exactly what AdaptiveAvgPool2d((7,7)) does to the seed's 512x1x1 map: the
// 6272 inputs of classifier.0 are 49 copies of 128 values.
struct VggMini : Network {
  nn::Sequential features{conv3x3(1, 32),  nn::ReLU(), nn::MaxPool2d(2),
                          conv3x3(32, 64), nn::ReLU(), nn::MaxPool2d(2),
                          conv3x3(64, 128), nn::ReLU()};
  nn::Sequential head = classifier({128 * 7 * 7, 1024, 1024, 10});

  explicit VggMini(bool seed_pool) {
    register_module("features", features);
    register_module("classifier", head);
    add_steps("features", features);
    if (seed_pool)
      add_function("seedpool", [](const torch::Tensor& x) {
        return torch::adaptive_avg_pool2d(torch::adaptive_avg_pool2d(x, {1, 1}), {7, 7});
      });
    add_function("flatten", [](const torch::Tensor& x) { return x.flatten(1); });
    add_steps("classifier", head);
  }
};

// torchvision VGG16 (configuration D) on 32x32 CIFAR images: the features end at
// 512x1x1. The seed geometry keeps torchvision's AdaptiveAvgPool2d((7,7)) and its
// 25088-input classifier; the cifar geometry feeds the 512 values directly.
struct Vgg16 : Network {
  nn::Sequential features;
  nn::Sequential head;

  explicit Vgg16(bool seed_geometry) {
    const int kPool = 0;
    std::int64_t in = 3;
    for (int width : {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool, 512, 512, 512,
                               kPool, 512, 512, 512, kPool}) {
      if (width == kPool) {
        features->push_back(nn::MaxPool2d(2));
      } else {
        features->push_back(conv3x3(in, width));
        features->push_back(nn::ReLU());
        in = width;
      }
    }
    head = seed_geometry ? classifier({512 * 7 * 7, 4096, 4096, 100}) : classifier({512, 512, 100});
    register_module("features", features);
    register_module("classifier", head);
    add_steps("features", features);
    if (seed_geometry)
      add_function("avgpool", [](const torch::Tensor& x) { return torch::adaptive_avg_pool2d(x, {7, 7}); });
    add_function("flatten", [](const torch::Tensor& x) { return x.flatten(1); });
    add_steps("classifier", head);
  }
};

}  // namespace

std::shared_ptr<Network> make_vgg_mini(bool seed_pool) { return std::make_shared<VggMini>(seed_pool); }
std::shared_ptr<Network> make_vgg16(bool seed_geometry) { return std::make_shared<Vgg16>(seed_geometry); }

}  // namespace tessera::models
