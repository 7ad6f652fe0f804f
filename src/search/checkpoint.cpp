#include "search/checkpoint.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "io/output_file.hpp"

namespace tessera::search {

namespace {

template <class T>
void put(const h5::Group& group, const char* name, const std::vector<T>& values) {
  if (values.empty()) return;  // an absent dataset reads back as empty
  group.create_dataset<T>(name, {static_cast<hsize_t>(values.size())}).write(values.data());
}

template <class T>
std::vector<T> get(const h5::Group& group, const char* name) {
  return group.exists(name) ? group.dataset(name).read<T>() : std::vector<T>{};
}

bool finite(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

bool fractions(const std::vector<double>& values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return v >= 0 && v <= 1; });
}

// Rows of `width` entries, each a placement: distinct positions in [0, positions).
bool placements(const std::vector<std::int32_t>& rows, std::int64_t width, std::int64_t positions) {
  std::vector<std::int64_t> seen(positions, -1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto row = static_cast<std::int64_t>(i) / width;
    if (rows[i] < 0 || rows[i] >= positions || seen[rows[i]] == row) return false;
    seen[rows[i]] = row;
  }
  return true;
}

// What does not fit together in a checkpoint read from a file ("" when all does): a
// file cut short, altered or damaged is refused before any of it is used.
std::string inconsistency(const Checkpoint& c) {
  const auto& h = c.history;
  const auto P = h.population, N = h.positions, H = h.held, G = c.generation + 1;
  if (P < 1 || N < 1 || H < 1 || H > N || c.generation < 0) return "bad population, held or position counts";
  std::int64_t parts = 0;
  for (auto size : c.part_sizes) parts += size < 1 || size > P ? P + 1 : size;
  const auto count = [](const auto& v) { return static_cast<std::int64_t>(v.size()); };
  if (parts != P) return "the parts' sizes do not add up to the population";
  if (N > count(c.members) || P > count(c.members) / N) return "member counts differ";
  if (count(c.members) != P * N || count(c.fitness) != P || count(c.accuracy) != P) return "member counts differ";
  if (!placements(c.members, N, N)) return "a member is not a permutation of the positions";
  if (!finite(c.fitness) || !fractions(c.accuracy)) return "a member's score is NaN, infinite or out of range";
  std::int64_t state_values = 0;
  for (auto size : c.state_sizes) {
    if (size < 0 || size > count(c.state)) return "a part's search state is longer than the whole";
    state_values += size;
  }
  if (!c.state_sizes.empty() && c.state_sizes.size() != c.part_sizes.size())
    return "the search state does not have one entry per part";
  if (state_values != count(c.state)) return "the search state's lengths do not add up";
  if (!finite(c.state)) return "the search state holds a NaN or infinite value";
  for (const auto* series : {&h.best_fitness, &h.best_accuracy, &h.position_recovery, &h.wall_seconds, &h.mean_fitness,
                             &h.diversity})
    if (count(*series) != G || !finite(*series)) return "the history does not hold one finite value per generation";
  if (count(h.fitness) % P != 0 || count(h.fitness) > G * P || !finite(h.fitness))
    return "the population history does not fit the generations";
  if (!fractions(h.best_accuracy) || !fractions(h.position_recovery) || !fractions(h.diversity))
    return "accuracy, recovery or diversity outside [0, 1]";
  if (count(h.best_genome) != G * H || !placements(h.best_genome, H, N)) return "a best genome is not a placement";
  const auto S = count(h.snapshot_generations);
  if (count(h.snapshots) != S * P * N || !placements(h.snapshots, N, N)) return "a snapshot is not a population";
  for (auto g : h.snapshot_generations)
    if (g < 0 || g >= G) return "a snapshot of a generation not run";
  return "";
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  io::OutputFile file(path, MPI_COMM_SELF, {"attack checkpoint", c.fingerprint, 0});
  auto g = file.root().require_group("checkpoint");
  g.set_attr("generation", c.generation);
  g.set_attr("fingerprint", c.fingerprint);
  const auto& h = c.history;
  g.set_attr("population", h.population);
  g.set_attr("held", h.held);
  g.set_attr("positions", h.positions);
  put(g, "part_sizes", c.part_sizes);
  put(g, "members", c.members);
  put(g, "member_fitness", c.fitness);
  put(g, "member_accuracy", c.accuracy);
  put(g, "search_state_sizes", c.state_sizes);
  put(g, "search_state", c.state);
  put(g, "fitness", h.fitness);
  put(g, "best_fitness", h.best_fitness);
  put(g, "mean_fitness", h.mean_fitness);
  put(g, "best_accuracy", h.best_accuracy);
  put(g, "position_recovery", h.position_recovery);
  put(g, "diversity", h.diversity);
  put(g, "wall_seconds", h.wall_seconds);
  put(g, "best_genome", h.best_genome);
  put(g, "snapshot_generations", h.snapshot_generations);
  put(g, "snapshots", h.snapshots);
  file.commit();
}

Checkpoint read_checkpoint(const std::string& path, MPI_Comm comm) {
  return agree(comm, [&] {
    Checkpoint c;
    try {
      auto file = h5::File::open(path, comm);
      auto root = file.root();
      TESSERA_REQUIRE(root.exists("checkpoint"), "no /checkpoint group");
      auto g = root.group("checkpoint");
      c.generation = g.attr_int("generation");
      c.fingerprint = g.attr_string("fingerprint");
      auto& h = c.history;
      h.population = g.attr_int("population");
      h.held = g.attr_int("held");
      h.positions = g.attr_int("positions");
      c.part_sizes = get<std::int64_t>(g, "part_sizes");
      c.members = get<std::int32_t>(g, "members");
      c.fitness = get<double>(g, "member_fitness");
      c.accuracy = get<double>(g, "member_accuracy");
      c.state_sizes = get<std::int64_t>(g, "search_state_sizes");
      c.state = get<double>(g, "search_state");
      h.fitness = get<double>(g, "fitness");
      h.best_fitness = get<double>(g, "best_fitness");
      h.mean_fitness = get<double>(g, "mean_fitness");
      h.best_accuracy = get<double>(g, "best_accuracy");
      h.position_recovery = get<double>(g, "position_recovery");
      h.diversity = get<double>(g, "diversity");
      h.wall_seconds = get<double>(g, "wall_seconds");
      h.best_genome = get<std::int32_t>(g, "best_genome");
      h.snapshot_generations = get<std::int64_t>(g, "snapshot_generations");
      h.snapshots = get<std::int32_t>(g, "snapshots");
    } catch (const std::exception& e) {
      throw Error("--run.resume: cannot continue from '" + path + "': " + e.what());
    }
    const auto problem = inconsistency(c);
    TESSERA_REQUIRE(problem.empty(), "--run.resume: '", path, "' is not a complete tessera checkpoint: ", problem);
    return c;
  });
}

}  // namespace tessera::search
