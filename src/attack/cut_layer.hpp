// A cut layer as the S2 adversary knows it, free of LibTorch (the stream side of the
// attack, attack/stream_layers.*, builds without it).
#pragma once

#include <cstdint>
#include <string>

namespace tessera::attack {

// What the adversary knows of a cut layer without its weight: its name, its number
// of positions and its fan-in (the architecture says both).
struct CutLayer {
  std::string name;
  std::int64_t positions = 0, fan_in = 0;
};

}  // namespace tessera::attack
