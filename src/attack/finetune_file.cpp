#include "attack/finetune_file.hpp"


#include "core/error.hpp"

namespace tessera::attack {

namespace {

// The double-valued columns of a point, in the file's order.
struct PointColumn {
  const char* name;
  double& (*of)(train::Point&);
};
const PointColumn kPointColumns[] = {
    {"epoch", [](train::Point& p) -> double& { return p.epoch; }},
    {"flops", [](train::Point& p) -> double& { return p.flops; }},
    {"seconds", [](train::Point& p) -> double& { return p.seconds; }},
    {"train_loss", [](train::Point& p) -> double& { return p.train_loss; }},
    {"test_accuracy", [](train::Point& p) -> double& { return p.test.accuracy; }},
    {"test_loss", [](train::Point& p) -> double& { return p.test.loss; }},
    {"fidelity", [](train::Point& p) -> double& { return p.test.agreement; }},
};

void write_table(const h5::Group& g, const char* name, const std::vector<double>& table) {
  g.create_dataset<double>(name, {table.size() / 3, 3}).write(table.data());
}

std::vector<double> read_table(const h5::Group& g, const char* name, std::size_t levels) {
  const auto dataset = g.dataset(name);
  TESSERA_REQUIRE(dataset.shape() == (std::vector<hsize_t>{levels, 3}), g.path(), "/", name,
                  " is not a table of ", levels, " levels x 3");
  return dataset.read<double>();
}

void write_search(const h5::Group& g, const FinetuneSearch& s) {
  g.set_attr("search_method", s.method);
  g.set_attr("search_seconds", s.seconds);
  g.set_attr("search_generations", s.generations);
  g.set_attr("search_population", s.population);
  g.set_attr("search_eval_images", s.eval_images);
  g.set_attr("search_best_accuracy", s.best_accuracy);
  g.set_attr("drop_rate", s.drop_rate);
  if (!s.formula) return;
  g.set_attr("formula_time_holds", static_cast<std::int64_t>(s.formula->time_holds));
  g.set_attr("formula_clue_limit", s.formula->clue_limit);
  g.set_attr("formula_smallest_infeasible", s.formula->smallest_infeasible);
  g.set_attr("formula_feasible", static_cast<std::int64_t>(s.formula->feasible));
}

FinetuneSearch read_search(const h5::Group& g) {
  FinetuneSearch s;
  s.method = g.attr_string("search_method");
  s.seconds = g.attr_double("search_seconds");
  s.generations = g.attr_int("search_generations");
  s.population = g.attr_int("search_population");
  s.eval_images = g.attr_int("search_eval_images");
  s.best_accuracy = g.attr_double("search_best_accuracy");
  s.drop_rate = g.attr_double("drop_rate");
  if (g.has_attr("formula_feasible"))
    s.formula = FinetuneSearch::Formula{g.attr_int("formula_time_holds") != 0, g.attr_int("formula_feasible") != 0,
                                        g.attr_int("formula_clue_limit"),
                                        g.attr_int("formula_smallest_infeasible")};
  return s;
}

void write_stolen(const h5::Group& g, const FinetuneStolen& s) {
  g.set_attr("source", s.source);
  g.set_attr("layer", s.layer);
  g.set_attr("bh", s.bh);
  g.set_attr("bw", s.bw);
  g.set_attr("blocks", s.blocks);
  g.set_attr("held", s.held);
  g.set_attr("held_fraction", s.held_fraction);
  g.set_attr("position_recovery", s.position_recovery);
  if (s.search) write_search(g, *s.search);
  if (!s.steal_to_train.empty()) write_table(g, "steal_to_train", s.steal_to_train);
  if (!s.steal_to_layer.empty()) write_table(g, "steal_to_layer", s.steal_to_layer);
}

FinetuneStolen read_stolen(const h5::Group& g, std::size_t levels) {
  FinetuneStolen s;
  s.source = g.attr_string("source");
  s.layer = g.attr_string("layer");
  s.bh = g.attr_int("bh");
  s.bw = g.attr_int("bw");
  s.blocks = g.attr_int("blocks");
  s.held = g.attr_int("held");
  s.held_fraction = g.attr_double("held_fraction");
  s.position_recovery = g.attr_double("position_recovery");
  if (g.has_attr("search_method")) s.search = read_search(g);
  if (g.exists("steal_to_train")) s.steal_to_train = read_table(g, "steal_to_train", levels);
  if (g.exists("steal_to_layer")) s.steal_to_layer = read_table(g, "steal_to_layer", levels);
  return s;
}

void write_run(const h5::Group& group, const FinetuneRun& run) {
  auto g = group.require_group(run.name);
  g.set_attr("arm", run.arm);
  g.set_attr("flops_per_image", run.flops_per_image);
  g.set_attr("trained_parameters", run.trained_parameters);
  const hsize_t n = run.points.size();
  std::vector<std::int64_t> samples;
  for (const auto& p : run.points) samples.push_back(p.samples);
  g.create_dataset<std::int64_t>("samples", {n}).write(samples.data());
  for (const auto& c : kPointColumns) {
    std::vector<double> column;
    for (auto p : run.points) column.push_back(c.of(p));
    g.create_dataset<double>(c.name, {n}).write(column.data());
  }
  write_table(g, "cost", run.cost);
  if (run.stolen) write_stolen(g, *run.stolen);
}

FinetuneRun read_run(const h5::Group& group, const std::string& name, std::size_t levels) {
  const auto g = group.group(name);
  FinetuneRun run;
  run.name = name;
  run.arm = g.attr_string("arm");
  run.flops_per_image = g.attr_double("flops_per_image");
  run.trained_parameters = g.attr_int("trained_parameters");
  const auto samples = g.dataset("samples").read<std::int64_t>();
  run.points.resize(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) run.points[i].samples = samples[i];
  for (const auto& c : kPointColumns) {
    const auto column = g.dataset(c.name).read<double>();
    TESSERA_REQUIRE(column.size() == samples.size(), g.path(), "/", c.name, " holds ", column.size(),
                    " points, samples ", samples.size());
    for (std::size_t i = 0; i < column.size(); ++i) c.of(run.points[i]) = column[i];
  }
  run.cost = read_table(g, "cost", levels);
  if (run.arm == "stolen") run.stolen = read_stolen(g, levels);
  return run;
}

}  // namespace

void write_finetune(const h5::Group& root, const FinetuneRecord& record) {
  auto group = root.require_group("finetune");
  group.set_attr("arch", record.arch);
  group.set_attr("victim_test_accuracy", record.victim_test_accuracy);
  group.set_attr("test_images", record.test_images);
  group.set_attr("public", record.public_images);
  group.set_attr("epochs", record.epochs);
  group.set_attr("batch", record.batch);
  group.set_attr("lr", record.lr);
  group.set_attr("evals_per_epoch", record.evals_per_epoch);
  group.set_attr("held_mode", record.held_mode);
  group.set_attr("rest", record.rest);
  group.set_attr("levels", record.levels);
  for (const auto& run : record.runs) {
    TESSERA_ASSERT(run.cost.size() == 3 * record.levels.size(), "a cost table of ", run.cost.size(),
                   " values for ", record.levels.size(), " levels");
    write_run(group, run);
  }
  // A partial result says so: the arms that ran, the last one up to its last point.
  group.set_attr("complete", static_cast<std::int64_t>(record.complete));
  group.set_attr("stopped_by", record.stopped_by);
}

FinetuneRecord read_finetune(const h5::Group& root) {
  TESSERA_REQUIRE(root.exists("finetune"), "no group /finetune: not the file of 'tessera finetune'");
  const auto group = root.group("finetune");
  FinetuneRecord record;
  record.arch = group.attr_string("arch");
  record.victim_test_accuracy = group.attr_double("victim_test_accuracy");
  record.test_images = group.attr_int("test_images");
  record.public_images = group.attr_int("public");
  record.epochs = group.attr_int("epochs");
  record.batch = group.attr_int("batch");
  record.lr = group.attr_double("lr");
  record.evals_per_epoch = group.attr_int("evals_per_epoch");
  record.held_mode = group.attr_string("held_mode");
  record.rest = group.attr_string("rest");
  record.levels = group.attr_doubles("levels");
  record.complete = group.attr_int("complete") != 0;
  record.stopped_by = group.attr_string("stopped_by");
  // The runs by name (a group keeps no order of its own).
  for (const auto& name : group.children()) record.runs.push_back(read_run(group, name, record.levels.size()));
  return record;
}

}  // namespace tessera::attack
