#include "sweeps/sweep_file.hpp"

#include <array>

#include "core/error.hpp"

namespace tessera::sweeps {

namespace {

constexpr const char* kResults[] = {"accuracy", "loss", "fidelity", "held_fraction"};

// The result columns in the order of kResults (const or not, as `sweep` is).
template <class Record>
auto results_of(Record& sweep) {
  return std::array{&sweep.accuracy, &sweep.loss, &sweep.fidelity, &sweep.held_fraction};
}

}  // namespace

std::vector<hsize_t> SweepRecord::shape() const {
  if (kind == "swap") return {rates.size(), pairs.size(), static_cast<hsize_t>(repeats)};
  return {rates.size(), static_cast<hsize_t>(repeats)};
}

void write_sweep(const h5::Group& root, const SweepRecord& sweep) {
  TESSERA_ASSERT(sweep.kind == "drop" || sweep.kind == "swap", "a sweep is drop or swap, not '", sweep.kind, "'");
  auto group = root.require_group(sweep.kind);
  group.set_attr("arch", sweep.arch);
  group.set_attr("model_checkpoint", sweep.model_checkpoint);
  group.set_attr("layer", sweep.layer);
  group.set_attr("bh", sweep.bh);
  group.set_attr("bw", sweep.bw);
  group.set_attr("blocks", sweep.blocks);
  group.set_attr("devices", sweep.devices);
  group.set_attr("repeats", sweep.repeats);
  group.set_attr("eval_images", sweep.eval_images);
  group.set_attr("victim_accuracy", sweep.victim_accuracy);
  group.set_attr("victim_loss", sweep.victim_loss);
  group.set_attr("knowledge", sweep.knowledge);
  group.create_dataset<double>("rates", {sweep.rates.size()}).write(sweep.rates.data());
  if (sweep.kind == "swap") group.create_dataset<double>("pairs", {sweep.pairs.size()}).write(sweep.pairs.data());
  const auto dims = sweep.shape();
  for (int k = 0; k < 4; ++k) {
    const auto& column = *results_of(sweep)[k];
    TESSERA_ASSERT(column.size() == h5::Dataset::element_count(dims), kResults[k], ": ", column.size(),
                   " values for a grid of ", h5::Dataset::element_count(dims), " points");
    group.create_dataset<double>(kResults[k], dims).write(column.data());
  }
}

SweepRecord read_sweep(const h5::Group& root, const std::string& kind) {
  TESSERA_REQUIRE(kind == "drop" || kind == "swap", "a sweep is drop or swap, not '", kind, "'");
  TESSERA_REQUIRE(root.exists(kind), "no group /", kind, ": not the file of a ", kind, " sweep");
  const auto group = root.group(kind);
  SweepRecord sweep;
  sweep.kind = kind;
  sweep.arch = group.attr_string("arch");
  sweep.model_checkpoint = group.attr_string("model_checkpoint");
  sweep.layer = group.attr_string("layer");
  sweep.knowledge = group.attr_string("knowledge");
  sweep.bh = group.attr_int("bh");
  sweep.bw = group.attr_int("bw");
  sweep.blocks = group.attr_int("blocks");
  sweep.devices = group.attr_int("devices");
  sweep.repeats = group.attr_int("repeats");
  sweep.eval_images = group.attr_int("eval_images");
  sweep.victim_accuracy = group.attr_double("victim_accuracy");
  sweep.victim_loss = group.attr_double("victim_loss");
  sweep.rates = group.dataset("rates").read<double>();
  if (kind == "swap") sweep.pairs = group.dataset("pairs").read<double>();
  TESSERA_REQUIRE(sweep.repeats >= 1, "/", kind, ": repeats is ", sweep.repeats);
  const auto dims = sweep.shape();
  for (int k = 0; k < 4; ++k) {
    auto dataset = group.dataset(kResults[k]);
    TESSERA_REQUIRE(dataset.shape() == dims, "/", kind, "/", kResults[k], " does not have the grid's shape");
    *results_of(sweep)[k] = dataset.read<double>();
  }
  return sweep;
}

}  // namespace tessera::sweeps
