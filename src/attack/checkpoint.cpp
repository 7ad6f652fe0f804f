#include "attack/checkpoint.hpp"

#include "core/error.hpp"
#include "io/output_file.hpp"

namespace tessera::attack {

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
      throw Error("--attack.resume: cannot continue from '" + path + "': " + e.what());
    }
    // The parts must fit together, or the file was cut short or altered.
    const auto P = c.history.population, N = c.history.positions;
    std::int64_t parts = 0;
    for (auto s : c.part_sizes) parts += s;
    const auto G = static_cast<std::int64_t>(c.history.best_fitness.size());
    TESSERA_REQUIRE(c.generation >= 0 && parts == P && static_cast<std::int64_t>(c.members.size()) == P * N &&
                        static_cast<std::int64_t>(c.fitness.size()) == P && G == c.generation + 1 &&
                        static_cast<std::int64_t>(c.history.best_genome.size()) == G * c.history.held,
                    "--attack.resume: '", path, "' is not a complete tessera checkpoint (inconsistent sizes)");
    return c;
  });
}

}  // namespace tessera::attack
