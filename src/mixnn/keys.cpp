#include "mixnn/keys.hpp"

#include <sodium.h>

#include <fstream>

#include "core/error.hpp"

namespace tessera::mixnn {

KeyPair key_pair_of(const Key& secret) {
  init_sodium();
  KeyPair k;
  k.secret_key = secret;
  crypto_scalarmult_base(k.public_key.data(), k.secret_key.data());
  return k;
}

std::vector<KeyPair> read_key_file(const std::string& path) {
  std::ifstream in(path);
  TESSERA_REQUIRE(in, "--mixnn.keys: cannot read '", path, "'");
  std::vector<KeyPair> keys;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Key secret{};
    std::size_t written = 0;
    const bool ok = line.size() == 64 &&
                    sodium_hex2bin(secret.data(), secret.size(), line.data(), line.size(), nullptr, &written,
                                   nullptr) == 0 &&
                    written == secret.size();
    TESSERA_REQUIRE(ok, "--mixnn.keys: '", path, "' line ", number,
                    " is not a secret key (64 hexadecimal digits per line)");
    // A zero key is no secret, and two servers with one key can open each other's layers.
    TESSERA_REQUIRE(!sodium_is_zero(secret.data(), secret.size()), "--mixnn.keys: '", path, "' line ", number,
                    " is the all-zero key");
    for (std::size_t k = 0; k < keys.size(); ++k)
      TESSERA_REQUIRE(sodium_memcmp(keys[k].secret_key.data(), secret.data(), secret.size()) != 0, "--mixnn.keys: '",
                      path, "' line ", number, " repeats the key of an earlier line (key ", k + 1, ")");
    keys.push_back(key_pair_of(secret));
  }
  TESSERA_REQUIRE(!keys.empty(), "--mixnn.keys: '", path, "' holds no key");
  return keys;
}

void write_key_file(const std::string& path, const std::vector<KeyPair>& keys) {
  std::ofstream out(path);
  out << "# tessera mixnn: X25519 secret keys of the pool, one server per line in rank order\n";
  for (const auto& k : keys) {
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, k.secret_key.data(), k.secret_key.size());
    out << hex << "\n";
  }
  TESSERA_REQUIRE(out.good(), "--mixnn.save_keys: cannot write '", path, "'");
}

}  // namespace tessera::mixnn
