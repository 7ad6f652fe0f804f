// What travels inside a MixNN packet's payload (docs/DESIGN.md section 11.2): one
// message, encoded as a kind, the training step it belongs to, the cascade's
// generation, and either a tensor or a chunk of bytes. The packet layer pads every
// message to the cascade's one size; these are the bytes before the padding.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "mixnn/packet.hpp"

namespace tessera::mixnn {

enum class Kind : std::uint8_t {
  activations = 0,     // forward and test: a part's output (or the designer's input)
  labels = 1,          // forward: the batch's labels, for the server with the loss
  gradient = 2,        // backward: dL/dz of the receiver's output
  start_backward = 3,  // backward: the loss server starts from its own loss
  loss = 4,            // forward result: the batch's summed loss (a 1-element tensor)
  init_chunk = 5,      // init: a piece of a server's part (see PartSpec)
  init_done = 6,       // init result: the server built its part
  state_request = 7,   // report: send chunk `chunk` of your state
  state_chunk = 8,     // report result
  noise = 9,           // loop: cover traffic, random bytes
  data = 10,           // forward and test: the designer's images as stored, bytes (no gradient goes back)
};

struct Message {
  Message() = default;
  Message(Kind k, std::int64_t s, std::int32_t g, torch::Tensor t = {}, std::int32_t c = 0, std::int32_t cs = 0)
      : kind(k), step(s), generation(g), chunk(c), chunks(cs), tensor(std::move(t)) {}
  Kind kind = Kind::activations;
  std::int64_t step = 0;         // the training step (test batches: -1 - batch index)
  std::int32_t generation = 0;   // the cascade it was sent on (stale generations are dropped)
  std::int32_t chunk = 0, chunks = 0;
  torch::Tensor tensor;          // float32, int64 or uint8 (images as stored), any shape (may be undefined)
  Bytes blob;                    // init and state chunks, noise
};

// Bytes a message of `tensor_bytes` of tensor data and `dims` dimensions takes, or of
// a blob of `blob_bytes`.
std::size_t encoded_bytes(std::size_t tensor_bytes, int dims, std::size_t blob_bytes);

Bytes encode(const Message& message);
// Throws PacketError when the bytes are not a message.
Message decode(const Bytes& bytes);

}  // namespace tessera::mixnn
