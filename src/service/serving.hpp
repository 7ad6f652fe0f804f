// `tessera serve` as a library call (the S0 system): the model's target layers cut
// into blocks held by simulated devices on the ranks, distributed inference on the
// test set or distributed training steps checked against the monolithic model, an
// obfuscation plan's cover traffic, padding and holds applied when one is given, and
// the output file with the placement and the logical stream trace. The command
// parses its options into ServeSettings and ServeInputs and calls serve.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blocks/targets.hpp"
#include "comm/communicator.hpp"
#include "data/datasets.hpp"
#include "models/model_file.hpp"
#include "service/runner.hpp"
#include "trace/devices.hpp"

namespace tessera::service {

struct ServeSettings {
  std::string mode = "infer";  // infer: the test set; train: SGD steps
  std::int64_t batch = 256;    // images per step over all ranks
  std::int64_t trace_steps = 1;  // steps recorded in /trace
  trace::DeploymentModel deployment;  // the traced deployment's times
  TrainSettings train;         // the steps (train mode); its seed is the run's
  bool check = true;           // against the monolithic model
  std::string obfuscation;     // a plan file of `streams obfuscate`, or empty
};

// What the command resolves from its other options (each collective).
struct ServeInputs {
  models::LoadedModel model;
  std::vector<blocks::Target> targets;  // planned for the communicator's ranks
  comm::Communicator* comm = nullptr;
  std::function<data::Dataset()> data;
  std::string path;         // the output file, checked writable
  std::string config_text;  // the whole configuration, recorded in the output file
};

// Collective over `world`: every check (the plan's file, its devices, its holds)
// before the work, then the run and its file, written whole or not at all.
void serve(const ServeSettings& settings, ServeInputs& inputs, MPI_Comm world);

}  // namespace tessera::service
