#include "core/partial_files.hpp"

#include <cstdio>
#include <mutex>
#include <set>

namespace tessera::partial_files {

namespace {
std::mutex guard;
std::set<std::string>& registry() {
  static std::set<std::string> paths;
  return paths;
}
}  // namespace

void add(const std::string& path) {
  std::lock_guard<std::mutex> lock(guard);
  registry().insert(path);
}

void forget(const std::string& path) {
  std::lock_guard<std::mutex> lock(guard);
  registry().erase(path);
}

void remove_all() noexcept {
  std::lock_guard<std::mutex> lock(guard);
  for (const auto& path : registry()) std::remove(path.c_str());
  registry().clear();
}

}  // namespace tessera::partial_files
