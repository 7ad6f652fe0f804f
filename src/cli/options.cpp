#include "cli/options.hpp"

#include "core/partial_files.hpp"
#include "core/ranks.hpp"
#include "models/registry.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>

namespace tessera::cli {

namespace {

// The architectures' names as the registry has them, for --help.
std::string architecture_names() {
  std::string names;
  for (const auto& a : models::architectures()) names += (names.empty() ? "" : ", ") + a.name;
  return names;
}

}  // namespace

void add_common_options(po::options_description& options, const std::string& command,
                        const std::string& default_arch) {
  options.add_options()
    ("run.out", po::value<std::string>()->default_value("runs/" + command),
     "output folder (created if missing)")
    ("run.seed", po::value<std::uint64_t>()->default_value(1),
     "seed from which every random stream is derived")
    ("run.threads", po::value<int>()->default_value(0),
     "LibTorch/BLAS threads per rank; 0 = cores on this node / ranks on this node")
    ("data.name", po::value<std::string>()->default_value("fashion-mnist"),
     "data set: fashion-mnist or mnist (IDX files), cifar100 (train.bin/test.bin)")
    ("data.dir", po::value<std::string>()->default_value(""),
     "data set folder; empty = the Debian package folder /usr/share/datasets/<data.name>")
    ("data.train_limit", po::value<std::int64_t>()->default_value(0),
     "use only the first N training images (0 = all)")
    ("data.test_limit", po::value<std::int64_t>()->default_value(0),
     "use only the first N test images (0 = all)")
    ("model.arch", po::value<std::string>()->default_value(default_arch),
     ("architecture: " + architecture_names()).c_str())
    ("model.checkpoint", po::value<std::string>()->default_value(""),
     "model HDF5 file to load (written by 'tessera train')");
}

void add_training_options(po::options_description& options, const train::Settings& defaults) {
  options.add_options()
    ("train.epochs", po::value<int>()->default_value(defaults.epochs), "passes over the training set")
    ("train.batch", po::value<int>()->default_value(static_cast<int>(defaults.batch)),
     "images per optimizer step (over all ranks)")
    ("train.lr", real_value(defaults.lr), "SGD learning rate")
    ("train.momentum", real_value(defaults.momentum), "SGD momentum")
    ("train.weight_decay", real_value(defaults.weight_decay), "SGD weight decay (L2)")
    ("train.lr_step", po::value<int>()->default_value(0),
     "multiply the learning rate by train.lr_gamma every this many epochs (0 = constant)")
    ("train.lr_gamma", real_value(0.1), "step learning-rate factor");
}

void add_comm_options(po::options_description& options) {
  options.add_options()
    ("comm.backend", po::value<std::string>()->default_value("auto"),
     "mpi (any device), nccl (CUDA tensors, one GPU per rank; a CUDA build), auto (nccl when built and every "
     "rank has a GPU of its own, else mpi)")
    ("comm.device", po::value<std::string>()->default_value("auto"),
     "where each rank's tensors live: cpu, cuda (a CUDA build; with mpi, ranks may share a GPU and messages "
     "travel through host memory), auto (cuda when every rank sees a GPU)");
}

std::unique_ptr<comm::Communicator> make_communicator(const Config& config, MPI_Comm comm) {
  return comm::make_communicator(config.get<std::string>("comm.backend"), config.get<std::string>("comm.device"),
                                 comm);
}

void add_block_options(po::options_description& options) {
  options.add_options()
    ("blocks.layers", po::value<std::string>()->default_value(""),
     "layers cut into blocks, comma-separated, e.g. classifier.0,classifier.3 (empty = the largest Linear)")
    ("blocks.bh", po::value<std::int64_t>()->default_value(64), "block height (rows of W, outputs)")
    ("blocks.bw", po::value<std::int64_t>()->default_value(64), "block width (columns of W, inputs)")
    ("blocks.per_device", po::value<std::int64_t>()->default_value(1), "blocks held by each device")
    ("blocks.placement", po::value<std::string>()->default_value("random"),
     "blocks -> devices: random (seeded) or contiguous");
}

data::Dataset load_data_for(const Config& config, const std::string& arch_name, MPI_Comm comm) {
  return agree(comm, [&] {
    auto d = data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"),
                        config.get<std::int64_t>("data.train_limit"), config.get<std::int64_t>("data.test_limit"));
    const auto& arch = models::architecture(arch_name);
    const auto& images = d.train.images;
    TESSERA_REQUIRE(images.size(1) == arch.channels && images.size(2) == arch.height &&
                        images.size(3) == arch.width && d.classes == arch.classes,
                    "--model.arch: ", arch.name, " takes ", arch.channels, "x", arch.height, "x", arch.width,
                    " images in ", arch.classes, " classes; --data.name ", d.name, " has ", images.size(1), "x",
                    images.size(2), "x", images.size(3), " in ", d.classes);
    return d;
  });
}

void add_adversary_options(po::options_description& options) {
  options.add_options()
    ("adversary.public", po::value<std::int64_t>()->default_value(10000),
     "the adversary's public images: the first K of the training split (the victim trained on them too; never "
     "a test image). They train its surrogates, its fine-tunes and, in mixnn, the parts it cannot solve; an "
     "attack's fitness scores on its --attack.eval_images test images instead");
}

data::Split public_split(const data::Dataset& data, const Config& config, MPI_Comm comm) {
  const auto count = config.get<std::int64_t>("adversary.public");
  agree(comm, [&] {
    TESSERA_REQUIRE(count >= 1, "--adversary.public: the adversary needs at least 1 public image, got ", count);
    TESSERA_REQUIRE(count <= data.train.size(), "--adversary.public: ", count, " public images asked for, the ",
                    "training split has ", data.train.size(), " (see --data.train_limit)");
  });
  return {data.train.images.narrow(0, 0, count), data.train.labels.narrow(0, 0, count)};
}

blocks::Settings block_settings(const Config& config) {
  blocks::Settings options;
  options.layers = split_list(config.get<std::string>("blocks.layers"), "--blocks.layers");
  options.bh = config.get<std::int64_t>("blocks.bh");
  options.bw = config.get<std::int64_t>("blocks.bw");
  options.per_device = config.get<std::int64_t>("blocks.per_device");
  options.placement = config.get<std::string>("blocks.placement");
  options.seed = config.get<std::uint64_t>("run.seed");
  return options;
}

std::string output_folder(const Config& config, MPI_Comm comm) {
  const auto folder = config.get<std::string>("run.out");
  agree(comm, [&] {
    TESSERA_REQUIRE(!folder.empty(), "--run.out: empty output folder");
    if (rank_of(comm) != 0) return;
    std::error_code error;
    // Every folder of the path that is made here, outermost first.
    std::vector<std::string> made;
    for (auto p = std::filesystem::path(folder).lexically_normal(); !p.empty() && !std::filesystem::exists(p);
         p = p.parent_path()) {
      made.insert(made.begin(), p.string());
      if (p == p.parent_path()) break;
    }
    std::filesystem::create_directories(folder, error);
    for (const auto& path : made) partial_files::add_created_folder(path);
    TESSERA_REQUIRE(!error, "--run.out: cannot create output folder '", folder, "': ", error.message());
    TESSERA_REQUIRE(std::filesystem::is_directory(folder), "--run.out: '", folder, "' is not a folder");
  });
  return folder;
}

void add_run_name_option(po::options_description& options) {
  options.add_options()("run.name", po::value<std::string>()->default_value(""),
                        "output file name, without .h5 (empty = <command>-<arch>); a job array gives each task its own");
}

void add_continuation_options(po::options_description& options, const std::string& unit, const std::string& after) {
  options.add_options()
    ("run.resume", flag_value(false)->implicit_value(true, "true"),
     "continue a stopped run from <output>.checkpoint.h5 (a fresh start when there is none); the result equals an "
     "uninterrupted run's, and every other setting must be the same")
    ("run.checkpoint_seconds", real_value(60),
     ("write " + unit + " to <output>.checkpoint.h5 at least this often (0 = " + after +
      "), and always when a signal stops the run").c_str());
}

std::string output_path(const Config& config, MPI_Comm comm, const std::string& default_name) {
  const auto name = config.get<std::string>("run.name");
  agree(comm, [&] {
    TESSERA_REQUIRE(name.find('/') == std::string::npos, "--run.name: '", name,
                    "' is a file name, not a path (the folder is --run.out)");
  });
  const auto folder = output_folder(config, comm);
  return checked_output_file((std::filesystem::path(folder) / ((name.empty() ? default_name : name) + ".h5")).string(),
                             comm);
}

std::string checked_output_file(const std::string& path, MPI_Comm comm) {
  agree(comm, [&] {
    TESSERA_REQUIRE(!std::filesystem::is_directory(path), "cannot write '", path,
                    "': a folder of that name is in the way (see --run.out, --run.name)");
  });
  return path;
}

}  // namespace tessera::cli
