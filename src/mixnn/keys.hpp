// The pool's key file (`--mixnn.keys`): one line per server of the pool, in rank
// order, holding its X25519 secret key as 64 hexadecimal digits; the public keys
// follow from them. Blank lines and lines starting with '#' are skipped. Without a
// file every server draws a fresh key pair at start.
#pragma once

#include <string>
#include <vector>

#include "mixnn/packet.hpp"

namespace tessera::mixnn {

// Throws Error naming the file and line when it cannot be read or is not a key file.
std::vector<KeyPair> read_key_file(const std::string& path);
// Writes `keys` in that format (throws Error naming the file on failure).
void write_key_file(const std::string& path, const std::vector<KeyPair>& keys);
// The key pair of a secret key.
KeyPair key_pair_of(const Key& secret);

}  // namespace tessera::mixnn
