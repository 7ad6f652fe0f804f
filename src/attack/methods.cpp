#include "attack/methods.hpp"

#include "core/error.hpp"

namespace tessera::attack {

const std::vector<SearchMethod>& search_methods() {
  static const std::vector<SearchMethod> table = {island_ga_method, annealing_method, assignment_method,
                                                        statistics_matching_method, init_matching_method};
  return table;
}

std::string search_method_names() {
  std::string names;
  for (const auto& m : search_methods()) names += (names.empty() ? "" : ", ") + m.name;
  return names;
}

const SearchMethod& search_method(const std::string& name) {
  for (const auto& m : search_methods())
    if (m.name == name) return m;
  throw Error("--attack.method: unknown method '" + name + "' (known: " + search_method_names() + ")");
}

}  // namespace tessera::attack
