// `tessera mixnn` as a library call (docs/DESIGN.md section 11.2): the settings read
// once from the options, every check on every rank before any work, the session,
// the adversary of Theorem 1 when it is asked for, and the output file. The
// command parses its options into Settings and Inputs and calls run.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>

#include "data/datasets.hpp"
#include "train/trainer.hpp"

namespace tessera::mixnn {

struct Settings {
  std::string arch;            // model.arch
  std::string model_file;      // model.checkpoint: refused (MixNN trains the designer's fresh model)
  train::Settings training;    // train.* (one learning rate: lr_step must be 0), run.seed
  int layers_per_server = 1, pool = 0, dummies = 2, max_rebuilds = 3, public_epochs = 5;
  std::string designer_keeps;  // first, last, first,last or empty
  double loop_rate = 0.5, timeout_factor = 50, min_timeout = 0.25, startup_timeout = 60;
  std::string bind = "auto";   // auto or none
  std::string crash, byzantine;  // POSITION@STEP or empty
  std::string keys, save_keys;   // key files (empty: fresh keys, none written)
  std::string adversary;         // parts the adversary controls, "2,4,6" (empty: none)
  std::int64_t public_images = 0;  // adversary.public (recorded; the images come from Inputs)
};

// What the command resolves from its other options (each collective).
struct Inputs {
  std::function<data::Dataset(const std::string& arch)> data;  // data.*, fitted to the architecture
  std::function<data::Split(const data::Dataset& data)> public_data;  // the adversary's public images
  std::function<std::string()> output_path;  // the output file, checked writable
  std::string config_text;  // the whole configuration, recorded in the output file
};

// Collective over `world` (at least 2 ranks: the designer and a pool). 0 on success;
// a signal ends it after the designer's epoch with the epochs done written
// (complete = 0) and stop::Stopped thrown.
int run(const Settings& settings, const Inputs& inputs, MPI_Comm world);

}  // namespace tessera::mixnn
