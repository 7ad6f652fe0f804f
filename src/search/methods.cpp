#include "search/methods.hpp"

#include "core/error.hpp"

namespace tessera::search {

void Search::load_state(const std::vector<double>& state) {
  TESSERA_REQUIRE(state.empty(), "--run.resume: the checkpoint holds ", state.size(),
                  " values of search state, but this method keeps none");
}

const std::vector<SearchMethod>& search_methods() {
  static const std::vector<SearchMethod> table = {island_ga_method, annealing_method, assignment_method,
                                                        statistics_matching_method, init_matching_method,
                                                        sinkhorn_method, rl_method, surrogate_method};
  return table;
}

std::string search_method_names() {
  std::string names;
  for (const auto& m : search_methods()) names += (names.empty() ? "" : ", ") + m.name;
  return names;
}

MethodSettings read_method_settings(const Config& config) {
  MethodSettings settings;
  for (const auto& m : search_methods()) m.read(config, settings);
  return settings;
}

const SearchMethod& search_method(const std::string& name) {
  for (const auto& m : search_methods())
    if (m.name == name) return m;
  throw Error("--attack.method: unknown method '" + name + "' (known: " + search_method_names() + ")");
}

}  // namespace tessera::search
