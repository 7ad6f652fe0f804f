// The adversary's pipeline, what `tessera attack` runs (docs/DESIGN.md section 8):
// split the attack and service groups, hijack the held blocks, search their positions
// layer by layer, assess the result against the truth and write /attack/<run>.
// run_known_layer (run_known_layer.cpp) is the adversary that knows its blocks'
// layer; run_pooled_layers (run_pooled_layers.cpp) the one that does not (the
// paper's S2). The command (cli/cmd_attack.cpp) parses the options into Settings
// and Inputs once and calls run().
#pragma once

#include <mpi.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attack/hijack.hpp"
#include "attack/stream_layers.hpp"
#include "blocks/targets.hpp"
#include "data/datasets.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "models/target_layer.hpp"
#include "search/campaign.hpp"
#include "search/checkpoint.hpp"
#include "search/methods.hpp"

namespace tessera::attack {

// The attack.* options (and run.seed), read once; prepare() checks them on every
// rank, each error naming its option.
struct Settings {
  int ranks = 1;                  // the attack group (the first ranks); the rest serve
  std::uint64_t seed = 0;         // run.seed
  std::string method, knowledge;  // the chain ("sinkhorn,sa"); layer or none
  std::string fitness, device;    // loss, accuracy or fidelity; cpu or cuda
  std::string run;                // the group's name (empty: the method)
  std::string layers_from;        // knowledge none: a streams file's groups as layer knowledge
  std::int64_t eval_images = 0;   // the adversary's first test images it scores on (0: all of them)
  std::int64_t public_images = 0; // adversary.public (recorded; the images come from Inputs)
  std::int64_t held_set = 0;      // which compromised set (the sweeps' repeat index)
  std::int64_t generations = 0, cache_mb = 0, layer_rounds = 0, snapshot_every = 0;
  double checkpoint_seconds = 60;  // a checkpoint at least this often (0: every generation)
  double drop_rate = 0, time_budget = 0, target_fitness = 0;
  bool history = true, resume = false, replace = false;
  // Every search method's settings (read_method_settings), with this run's knowledge
  // and time budget.
  search::MethodSettings methods;
};

// What the command resolves from its other options.
struct Inputs {
  std::string model_path, model_arch;  // the victim's file; its architecture ("" = the file's)
  std::string data_name, data_dir;     // the dataset whose test split the adversary scores on
  blocks::Settings blocks;             // the cut
  // The output file for the victim's architecture (collective; checked writable).
  std::function<std::string(const std::string& arch)> output_path;
  // The adversary's public images for that architecture (collective); asked only when
  // a stage of the chain trains on them.
  std::function<data::Split(const std::string& arch)> public_data;
  // The settings a continuation must share with the run it continues.
  std::string fingerprint;
  // The whole configuration as a job file, recorded in the output file.
  std::string config_text;
};

struct AttackSetup {
  Settings settings;
  Groups groups;
  std::vector<const search::SearchMethod*> chain;
  scoring::FitnessKind kind = scoring::FitnessKind::loss;
  torch::Device device = torch::kCPU;  // where populations and gradients are scored
  int service_ranks = 0;
  models::LoadedModel model;
  data::Split test, eval;  // the whole test set, and the adversary's first eval_images of it
  // The adversary's public training images, loaded when a stage of the chain trains
  // on them (else empty).
  data::Split public_data;
  std::vector<blocks::Target> targets;  // the cut layers
  // layers_from: the eavesdropper's groups, the layer knowledge of S2 (else empty).
  std::optional<StreamGroups> stream_groups;
  std::string path;         // the output file
  std::string fingerprint;  // Inputs::fingerprint
  std::string config_text;  // Inputs::config_text
};

// Prepares (collective over `world`) and runs the adversary `settings.knowledge`
// names. 0 on success.
int run(const Settings& settings, const Inputs& inputs, MPI_Comm world);

// Collective over `world`: checks every setting (errors name the option, on every
// rank), splits the attack and service groups, loads the model and the data, plans
// the cut layers.
AttackSetup prepare(const Settings& settings, const Inputs& inputs, MPI_Comm world);

// The two adversaries (collective over `world`).
int run_known_layer(AttackSetup& setup, MPI_Comm world);
int run_pooled_layers(AttackSetup& setup, MPI_Comm world);

// The held blocks of one cut layer (sorted ids), the same set on every rank.
std::vector<std::int64_t> held_of(const AttackSetup& setup, const blocks::Target& target, MPI_Comm world);
// The victim's answers on the adversary's images, on the service leader (empty elsewhere).
torch::Tensor service_answers(const AttackSetup& setup, MPI_Comm world);

// What the adversary knows when it searches `layer` (its weight undefined): the
// rest of the network as `layer` carries it, minus the weights named in `secret`.
scoring::Knowledge knowledge_of(const AttackSetup& setup, const blocks::Grid& grid, const models::TargetLayer& layer,
                                const torch::Tensor& held, const torch::Tensor& victim_predictions,
                                const std::string& target_parameter, const std::vector<std::string>& secret);

// The campaign's settings of a run whose checkpoint is `checkpoint_path` ("": none).
search::CampaignSettings campaign_settings(const Settings& settings, const std::string& checkpoint_path);

// One layer's search on the attack ranks (collective over the attack group): the
// fitness, the chain's search, its campaign, and the counts and floor of the outcome.
struct LayerSearch {
  std::unique_ptr<scoring::Fitness> fitness;
  search::Outcome outcome;
  torch::Tensor reference;  // the search's template, when it has one (Search::reference)
};
LayerSearch search_layer(const AttackSetup& setup, scoring::Knowledge knowledge,
                         const blocks::Genome& truth, const search::CampaignSettings& campaign,
                         const search::Checkpoint* resume = nullptr);

// The attributes of /attack/<run> (docs/DESIGN.md section 4.4) for a search of `target`.
void describe(const h5::Group& group, const AttackSetup& setup, const blocks::Target& target,
              std::int64_t held, const search::Outcome& outcome);

// The groups this run adds to the attack file: /attack/<run>, or one
// /attack/<run>@<layer> per cut layer when the layers are unknown.
std::vector<io::RunName> run_groups(const AttackSetup& setup);

// /blocks of the attack file, written by its first run; a later run was checked
// to have the same cut (prepare) and writes nothing.
void write_cut_once(const std::vector<blocks::Target>& targets, const h5::Group& root, MPI_Comm world);

}  // namespace tessera::attack
