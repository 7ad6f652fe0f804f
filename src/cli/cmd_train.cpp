// tessera train: trains a victim model on a data set and writes its model file.
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "train/trainer.hpp"

namespace tessera::cli {

namespace cmd_train {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "train");
  add_training_options(options);
  options.add_options()
    ("train.reuse", flag_value(false),
     "skip training when the output file exists and was written with this same configuration")
    ("train.init_seed", po::value<std::int64_t>()->default_value(-1),
     "seed of the initial weights, kept out of the model file (recorded as 'secret'; never reused); "
     "-1 = derived from --run.seed, which every file records, so an adversary can regenerate them");
}

// The configuration as the model file records it: a secret initialisation seed is
// not written (an adversary who reads it could regenerate the initial weights).
std::string recorded_config(const Config& config) {
  auto text = config.ini_text();
  if (config.get<std::int64_t>("train.init_seed") < 0) return text;
  const std::string key = "\ninit_seed = ";
  const auto at = text.find(key);
  TESSERA_ASSERT(at != std::string::npos);
  const auto end = text.find('\n', at + key.size());
  return text.replace(at + key.size(), end - at - key.size(), "secret");
}

train::Settings settings_from(const Config& config) {
  auto s = train::training_settings(config);
  const auto init_seed = config.get<std::int64_t>("train.init_seed");
  TESSERA_REQUIRE(init_seed >= -1, "--train.init_seed: a seed >= 0, or -1 for one derived from --run.seed; got ",
                  init_seed);
  return s;
}

// The earlier result can stand in for this run only if every setting matches.
bool up_to_date(const std::string& path, const std::string& config_text, MPI_Comm comm) {
  if (!std::filesystem::exists(path)) return false;
  try {
    auto file = h5::File::open(path, comm);
    return file.root().attr_string("config") == config_text;
  } catch (const std::exception&) {
    return false;
  }
}

int run(const Config& config, MPI_Comm world) {
  const auto folder = output_folder(config, world);
  const auto arch_name = config.get<std::string>("model.arch");
  const auto settings = agree(world, [&] {
    models::architecture(arch_name);
    return settings_from(config);
  });
  const auto path = checked_output_file((std::filesystem::path(folder) / (arch_name + ".h5")).string(), world);
  const auto config_text = recorded_config(config);
  const bool secret_init = config.get<std::int64_t>("train.init_seed") >= 0;
  if (config.get<bool>("train.reuse") && !secret_init && up_to_date(path, config_text, world)) {
    log::info("'", path, "' was trained with this configuration: reused");
    return 0;
  }

  const auto data = load_data_for(config, arch_name, world);
  log::info("data: ", data.name, " from ", data.dir, ": ", data.train.size(), " training, ", data.test.size(),
            " test images");

  std::shared_ptr<models::Network> network;
  const auto checkpoint = config.get<std::string>("model.checkpoint");
  if (checkpoint.empty()) {
    network = secret_init ? models::build(arch_name, static_cast<std::uint64_t>(config.get<std::int64_t>("train.init_seed")))
                          : models::build(arch_name, settings.seed);
  } else {
    network = models::load(checkpoint, world, config.defaulted("model.arch") ? "" : arch_name).network;
    log::info("continuing from '", checkpoint, "'");
  }
  log::info("training ", arch_name, " for ", settings.epochs, " epochs, batch ", settings.batch, ", lr ",
            settings.lr, ", ", torch::get_num_threads(), " threads per rank");
  const auto records = train::fit(*network, data, settings, world);

  io::Provenance provenance{"train", config_text, settings.seed};
  io::OutputFile file(path, world, provenance);
  models::save(*network, {arch_name, data.name, records.back().test.accuracy}, file.root());
  auto history = file.root().require_group("train");
  const hsize_t epochs = records.size();
  std::vector<double> train_loss, accuracy, test_loss, seconds;
  for (const auto& r : records) {
    train_loss.push_back(r.train_loss);
    accuracy.push_back(r.test.accuracy);
    test_loss.push_back(r.test.loss);
    seconds.push_back(r.seconds);
  }
  for (auto& [name, values] : std::vector<std::pair<const char*, std::vector<double>*>>{
           {"train_loss", &train_loss}, {"test_accuracy", &accuracy}, {"test_loss", &test_loss},
           {"epoch_seconds", &seconds}})
    history.create_dataset<double>(name, {epochs}).write(values->data());
  file.commit();
  log::info("wrote '", path, "': test accuracy ", records.back().test.accuracy);
  return 0;
}

}  // namespace
}  // namespace cmd_train

const Command train_command{"train", "train a victim model and write its model file (HDF5)",
                            cmd_train::add_options, cmd_train::run};

}  // namespace tessera::cli
