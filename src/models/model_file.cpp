#include "models/model_file.hpp"

#include <boost/program_options.hpp>

#include <map>
#include <sstream>

#include "core/error.hpp"

namespace tessera::models {

namespace {
std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::ostringstream out;
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? "x" : "") << dims[i];
  return out.str();
}

// The initialisation seed of a model that `tessera train` trained from scratch with
// the seed derived from --run.seed (cmd_train.cpp), or -1. Provenance it cannot read
// (another writer, a damaged attribute) only means the seed is unknown: the model
// itself still loads.
std::int64_t recorded_init_seed(const h5::Group& root) {
  try {
    if (!root.has_attr("command") || root.attr_string("command") != "train" || !root.has_attr("config") ||
        !root.has_attr("seed"))
      return -1;
    std::istringstream text(root.attr_string("config"));
    std::map<std::string, std::string> settings;
    for (const auto& option :
         boost::program_options::parse_config_file(text, boost::program_options::options_description(), true).options)
      if (!option.value.empty()) settings[option.string_key] = option.value.front();
    const bool derived = settings["train.init_seed"] == "-1" && settings["model.checkpoint"].empty();
    return derived ? root.attr_int("seed") : -1;
  } catch (const std::exception&) {
    return -1;
  }
}
}  // namespace

void save(Network& network, const ModelInfo& info, const h5::Group& root) {
  auto group = root.require_group("model");
  group.set_attr("arch", info.arch);
  group.set_attr("dataset", info.dataset);
  group.set_attr("test_accuracy", info.test_accuracy);
  for (const auto& item : network.named_parameters()) {
    auto values = item.value().detach().to(torch::kCPU).contiguous();
    std::vector<hsize_t> dims(values.sizes().begin(), values.sizes().end());
    group.create_dataset<float>(item.key(), dims).write(values.data_ptr<float>());
  }
}

LoadedModel load(const std::string& path, MPI_Comm comm, const std::string& expected_arch) {
  return agree(comm, [&] {
    TESSERA_REQUIRE(!path.empty(), "--model.checkpoint: no model file given");
    auto file = h5::File::open(path, comm);
    auto root = file.root();
    TESSERA_REQUIRE(root.exists("model"), "model file '", path, "' has no /model group");
    auto group = root.group("model");
    LoadedModel loaded;
    loaded.info.arch = group.attr_string("arch");
    loaded.info.dataset = group.attr_string("dataset");
    loaded.info.test_accuracy = group.attr_double("test_accuracy");
    loaded.info.init_seed = recorded_init_seed(root);
    TESSERA_REQUIRE(expected_arch.empty() || expected_arch == loaded.info.arch, "model file '", path,
                    "' holds a ", loaded.info.arch, ", not the ", expected_arch, " of --model.arch");
    loaded.network = build(loaded.info.arch, 0);

    torch::NoGradGuard no_grad;
    for (auto& item : loaded.network->named_parameters()) {
      TESSERA_REQUIRE(group.exists(item.key()), "model file '", path, "' is missing parameter '", item.key(),
                      "' of arch ", loaded.info.arch);
      auto dataset = group.dataset(item.key());
      auto dims = dataset.shape();
      std::vector<std::int64_t> shape(dims.begin(), dims.end());
      auto& param = item.value();
      TESSERA_REQUIRE(shape == param.sizes().vec(), "model file '", path, "': parameter '", item.key(),
                      "' is ", shape_text(shape), ", arch ", loaded.info.arch, " needs ",
                      shape_text(param.sizes().vec()));
      auto values = dataset.read<float>();
      param.copy_(torch::from_blob(values.data(), param.sizes(), torch::kFloat32));
      TESSERA_REQUIRE(torch::isfinite(param).all().item<bool>(), "model file '", path, "': parameter '", item.key(),
                      "' holds NaN or infinite values (a diverged training run?)");
    }
    return loaded;
  });
}

}  // namespace tessera::models
