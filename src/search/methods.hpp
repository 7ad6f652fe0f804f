// The table of search methods: every way the adversary can search for the held
// blocks' positions is one entry (name, what it does, its options, how to read and
// check them, how to make one part of it, the attributes that record its settings),
// the way every command is one entry of the command table. `tessera attack`, its
// --help and the attributes of /attack/<run> read this table and nothing else. The
// options are read once into MethodSettings (search/method_settings.hpp); nothing
// after that reads an option by name.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "search/method_settings.hpp"
#include "search/searches.hpp"
#include "io/h5.hpp"

namespace tessera::search {

struct SearchMethod {
  std::string name;     // the value of --attack.method
  std::string summary;  // one line for --help
  // Its own options (a section named after the method, e.g. ga.population).
  void (*add_options)(po::options_description& options);
  // Reads them into its part of `settings`, as they are (no check).
  void (*read)(const Config& config, MethodSettings& settings);
  // Errors naming the option on bad settings; run on every rank before any work.
  void (*check)(const MethodSettings& settings);
  // Genomes one attack rank keeps at a time (members and their children), for the
  // up-front memory check.
  double (*genomes_per_part)(const MethodSettings& settings);
  // The (integer) option that sets that number, named in the memory check's message (empty: fixed).
  std::string size_option;
  // One attack rank's part of the search (collective over `attack`).
  std::unique_ptr<Search> (*make)(Fitness& fitness, const MethodSettings& settings, std::uint64_t seed,
                                  MPI_Comm attack);
  // The same, starting from `placement` (a later stage of a chain); nullptr: the
  // method computes its answer from the data alone, so it can only come first.
  std::unique_ptr<Search> (*make_from)(Fitness& fitness, const MethodSettings& settings, std::uint64_t seed,
                                       MPI_Comm attack, const search::Genome& placement);
  // True when its search comes to rest on one placement (Search::settled), so that
  // another method can follow it in a chain; the GA and annealing never do.
  bool settles;
  // Writes its settings as attributes of the run's group (named without the section).
  void (*describe)(const h5::Group& group, const MethodSettings& settings);
  // True when it trains on the adversary's public images (Knowledge::public_data),
  // which are then loaded (--adversary.public).
  bool needs_public_data;
};

const std::vector<SearchMethod>& search_methods();
// The entry named `name`; an Error naming --attack.method and listing the known ones.
const SearchMethod& search_method(const std::string& name);
// "ga, sa, ..." for help texts and messages.
std::string search_method_names();
// Every method's options, read (the command registers them all).
MethodSettings read_method_settings(const Config& config);

// --attack.method: one method, or a chain "stats,assignment,sa" in which each method
// starts from the best placement the one before it settled on (docs/DESIGN.md
// section 8.4). Errors name --attack.method: an unknown name, a method that cannot
// start from a placement after the first, one that never settles before the last.
std::vector<const SearchMethod*> search_chain(const std::string& text);
// Every stage's check.
void check_chain(const std::vector<const SearchMethod*>& chain, const MethodSettings& settings);
// The stage that keeps the most genomes per attack rank at a time.
const SearchMethod& largest_stage(const std::vector<const SearchMethod*>& chain, const MethodSettings& settings);
// One attack rank's part of the chain (collective over `attack`): the earlier stages
// run to rest inside start(), taking no step once `settings.time_budget_s` (0: none)
// is spent; the last one is the campaign's search.
std::unique_ptr<Search> make_search(const std::vector<const SearchMethod*>& chain, Fitness& fitness,
                                    const MethodSettings& settings, std::uint64_t seed, MPI_Comm attack);

// The entries, one per file.
extern const SearchMethod island_ga_method;
extern const SearchMethod annealing_method;
extern const SearchMethod assignment_method;
extern const SearchMethod init_matching_method;
extern const SearchMethod statistics_matching_method;
extern const SearchMethod sinkhorn_method;
extern const SearchMethod rl_method;
extern const SearchMethod surrogate_method;

}  // namespace tessera::search
