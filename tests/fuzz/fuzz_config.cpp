// libFuzzer harness: the job-file (INI) parser, Config::parse with --config FILE
// (src/core/config.cpp), then the resolved configuration's INI text, which every
// output file stores and which must read back as the same configuration.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "fuzz_common.hpp"

using namespace tessera;

namespace {

// The options of src/cli/options.cpp (common, training, blocks, run.name) plus a
// bool and an option without a default: every type the commands declare (string,
// int, int64, uint64, double, bool), so that the repository's job files are valid
// input. Copied rather than linked: options.cpp needs LibTorch.
po::options_description& options() {
  static po::options_description all = [] {
    po::options_description o("fuzz");
    o.add_options()
      ("run.out", po::value<std::string>()->default_value("runs/fuzz"), "")
      ("run.seed", po::value<std::uint64_t>()->default_value(1), "")
      ("run.threads", po::value<int>()->default_value(0), "")
      ("run.name", po::value<std::string>()->default_value(""), "")
      ("data.name", po::value<std::string>()->default_value("fashion-mnist"), "")
      ("data.dir", po::value<std::string>()->default_value(""), "")
      ("data.train_limit", po::value<std::int64_t>()->default_value(0), "")
      ("data.test_limit", po::value<std::int64_t>()->default_value(0), "")
      ("model.arch", po::value<std::string>()->default_value("vgg-mini"), "")
      ("model.checkpoint", po::value<std::string>()->default_value(""), "")
      ("train.epochs", po::value<int>()->default_value(2), "")
      ("train.batch", po::value<int>()->default_value(128), "")
      ("train.lr", po::value<double>()->default_value(0.05), "")
      ("train.momentum", po::value<double>()->default_value(0.9), "")
      ("train.weight_decay", po::value<double>()->default_value(5e-4), "")
      ("train.lr_step", po::value<int>()->default_value(0), "")
      ("train.lr_gamma", po::value<double>()->default_value(0.1), "")
      ("train.reuse", po::value<bool>()->default_value(false), "")
      ("blocks.layers", po::value<std::string>()->default_value(""), "")
      ("blocks.bh", po::value<std::int64_t>()->default_value(64), "")
      ("blocks.bw", po::value<std::int64_t>()->default_value(64), "")
      ("blocks.per_device", po::value<std::int64_t>()->default_value(1), "")
      ("blocks.placement", po::value<std::string>()->default_value("random"), "")
      ("fuzz.unset", po::value<double>(), "");  // no default: may stay unset
    return o;
  }();
  return all;
}

std::string resolved(const std::string& path) {
  const Config config = Config::parse("fuzz", options(), {"--config", path});
  // Typed access to every option that has a value.
  for (const auto& option : options().options()) {
    const auto& key = option->long_name();
    if (!config.has(key)) continue;
    (void)config.defaulted(key);
  }
  (void)config.get<std::uint64_t>("run.seed");
  (void)config.get<double>("train.lr");
  (void)config.get<bool>("train.reuse");
  (void)split_list(config.get<std::string>("blocks.layers"), "--blocks.layers");
  return config.ini_text();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("config", ".ini");
  static fuzz::InputFile again("config-again", ".ini");
  std::string text;
  if (!fuzz::accepts([&] { text = resolved(input.write(data, size)); })) return 0;

  // The INI text written into output files must parse back to the same configuration.
  std::string reread;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
  try {
    reread = resolved(again.write(bytes, text.size()));
  } catch (const std::exception& e) {
    fuzz::finding(std::string("the resolved configuration does not read back: ") + e.what() +
                  "\n--- resolved INI text ---\n" + text);
  }
  if (reread != text)
    fuzz::finding("the resolved configuration reads back differently\n--- first ---\n" + text +
                  "--- read back ---\n" + reread);
  return 0;
}
