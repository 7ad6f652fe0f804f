#include "core/partial_files.hpp"

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <vector>

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

namespace {
std::vector<std::string>& created_folders() {
  static std::vector<std::string> paths;
  return paths;
}
}  // namespace

void add_created_folder(const std::string& path) {
  std::lock_guard<std::mutex> lock(guard);
  created_folders().push_back(path);
}

void remove_empty_created_folders() noexcept {
  std::lock_guard<std::mutex> lock(guard);
  // The innermost first: create_directories may have made a chain of them.
  for (auto it = created_folders().rbegin(); it != created_folders().rend(); ++it) {
    std::error_code error;
    if (std::filesystem::is_empty(*it, error) && !error) std::filesystem::remove(*it, error);
  }
  created_folders().clear();
}

}  // namespace tessera::partial_files
