// Option groups shared by several commands, so that every command and script
// spells them the same way.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "comm/communicator.hpp"
#include "core/config.hpp"
#include "blocks/targets.hpp"
#include "data/datasets.hpp"
#include "train/trainer.hpp"

namespace tessera::cli {

// run.out, run.seed, run.threads, data.*, model.arch, model.checkpoint.
// `default_arch`: model.arch's default for this command.
void add_common_options(po::options_description& options, const std::string& command,
                        const std::string& default_arch = "vgg-mini");
// train.* (epochs, batch, lr, momentum, weight_decay, lr_step, lr_gamma).
// `defaults`: this command's (the paper's SGD for mixnn, for one).
void add_training_options(po::options_description& options, const train::Settings& defaults = train::Settings());

// The data.* set for a model of `arch` (collective): errors name the option when it
// cannot be read or does not fit the architecture.
data::Dataset load_data_for(const Config& config, const std::string& arch, MPI_Comm comm);
// adversary.public: the adversary's public images, the first K of the training split,
// for every command that plays the adversary and trains (attack's surrogates, finetune).
void add_adversary_options(po::options_description& options);
// The first adversary.public images of `data`'s training split (collective): errors
// name the option (fewer than 1, more than the split holds).
data::Split public_split(const data::Dataset& data, const Config& config, MPI_Comm comm);
// comm.backend and comm.device: how the ranks of a served model talk and where
// their tensors live (comm/communicator.hpp).
void add_comm_options(po::options_description& options);
std::unique_ptr<comm::Communicator> make_communicator(const Config& config, MPI_Comm comm);

// blocks.* (layers, bh, bw, per_device, placement).
void add_block_options(po::options_description& options);
blocks::Settings block_settings(const Config& config);

// The output folder of a run: `run.out`, created if missing (collective).
std::string output_folder(const Config& config, MPI_Comm comm);

// run.name: the output file's name, so that the tasks of a job array write apart.
void add_run_name_option(po::options_description& options);

// run.resume and run.checkpoint_seconds: how a long run (a sweep, a search) keeps
// its work through a stop and continues it. `unit` names what the checkpoint holds
// ("the finished points", "the search") and `after` when a checkpoint at 0 s is written.
void add_continuation_options(po::options_description& options, const std::string& unit, const std::string& after);
// `run.out`/`run.name`.h5, or `run.out`/`default_name`.h5 when run.name is empty;
// creates the folder (collective).
std::string output_path(const Config& config, MPI_Comm comm, const std::string& default_name);

// `path`, after checking (collective) that nothing stands in the way of writing it
// there later: found before the work rather than after it.
std::string checked_output_file(const std::string& path, MPI_Comm comm);

}  // namespace tessera::cli
