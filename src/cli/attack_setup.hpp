// What every kind of `tessera attack` run shares: the settings checked on every
// rank, the victim and the adversary's images, one layer's search on the attack
// ranks, and the attributes of a run's group. cmd_attack.cpp runs the adversary that
// knows its blocks' layer; attack_layer_unknown.cpp the one that does not (S2).
#pragma once

#include <optional>

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "search/campaign.hpp"
#include "search/checkpoint.hpp"
#include "attack/hijack.hpp"
#include "search/methods.hpp"
#include "blocks/targets.hpp"
#include "core/config.hpp"
#include "data/datasets.hpp"
#include "attack/stream_layers.hpp"
#include "models/model_file.hpp"
#include "models/target_layer.hpp"
#include "io/output_file.hpp"

namespace tessera::cli {

struct AttackSetup {
  attack::Groups groups;
  std::vector<const search::SearchMethod*> chain;
  scoring::FitnessKind kind = scoring::FitnessKind::loss;
  std::string method, knowledge;  // --attack.method, --attack.knowledge
  std::uint64_t seed = 0;
  std::int64_t images = 0;  // the adversary's eval images
  double drop_rate = 0;
  torch::Device device = torch::kCPU;  // --attack.device: where populations and gradients are scored
  int service_ranks = 0;
  models::LoadedModel model;
  data::Split test, eval;  // the whole test set, and the adversary's first `images` of it
  // The adversary's public training images (--adversary.public), loaded when a
  // stage of the chain trains on them (else empty).
  data::Split public_data;
  std::vector<blocks::Target> targets;  // the cut layers
  // --attack.layers_from: the eavesdropper's groups, the layer knowledge of S2 (else empty).
  std::optional<attack::StreamGroups> stream_groups;
  std::string path;  // the output file
};

// Collective over `world`: checks every setting (errors name the option, on every
// rank), splits the attack and service groups, loads the model and the data, plans
// the cut layers.
AttackSetup prepare_attack(const Config& config, MPI_Comm world);

// The held blocks of one cut layer (sorted ids), the same set on every rank.
std::vector<std::int64_t> held_of(const AttackSetup& setup, const Config& config, const blocks::Target& target,
                                  MPI_Comm world);
// The victim's answers on the adversary's images, on the service leader (empty elsewhere).
torch::Tensor service_answers(const AttackSetup& setup, MPI_Comm world);

// What the adversary knows when it searches `layer` (its weight undefined): the
// rest of the network as `layer` carries it, minus the weights named in `secret`.
attack::Knowledge knowledge_of(const AttackSetup& setup, const blocks::Grid& grid, const models::TargetLayer& layer,
                               const torch::Tensor& held, const torch::Tensor& victim_predictions,
                               const std::string& target_parameter, const std::vector<std::string>& secret);

// The campaign's settings from the attack.* options.
search::CampaignSettings campaign_settings(const Config& config, const std::string& checkpoint_path);

// One layer's search on the attack ranks (collective over the attack group): the
// fitness, the chain's search, its campaign, and the counts and floor of the outcome.
struct LayerSearch {
  std::unique_ptr<scoring::Fitness> fitness;
  search::Outcome outcome;
  torch::Tensor reference;  // the search's template, when it has one (Search::reference)
};
LayerSearch search_layer(const AttackSetup& setup, const Config& config, attack::Knowledge knowledge,
                         const search::Genome& truth, const search::CampaignSettings& settings,
                         const search::Checkpoint* resume = nullptr);

// The attributes of /attack/<run> (docs/DESIGN.md section 4.4) for a search of `target`.
void describe(const h5::Group& group, const Config& config, const AttackSetup& setup, const blocks::Target& target,
              std::int64_t held, const search::Outcome& outcome);

// The name of the run's group: --attack.run, or the method.
std::string run_name(const Config& config);

// The groups this run adds to the attack file: /attack/<run>, or one
// /attack/<run>@<layer> per cut layer when the layers are unknown.
std::vector<io::RunName> run_groups(const Config& config, const AttackSetup& setup);

// /blocks of the attack file, written by its first run; a later run was checked
// to have the same cut (prepare_attack) and writes nothing.
void write_cut_once(const std::vector<blocks::Target>& targets, const h5::Group& root, MPI_Comm world);

// S2: the adversary that does not know its blocks' layers (attack_layer_unknown.cpp).
int run_attack_layer_unknown(AttackSetup& setup, const Config& config, MPI_Comm world);

}  // namespace tessera::cli
