#include "streams/plan_file.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace tessera::streams {

namespace {

template <class T, class F>
void write_column(const h5::Group& group, const std::string& name, const std::vector<PlanPoint>& points, F of) {
  std::vector<T> values;
  for (const auto& p : points) values.push_back(static_cast<T>(of(p)));
  group.create_dataset<T>(name, {values.size()}).write(values.data());
}

}  // namespace

void write_points(const h5::Group& group, const std::vector<PlanPoint>& points, const std::vector<std::size_t>& front) {
  const auto& optimisers = optimiser_names();
  std::string names;
  for (const auto& name : optimisers) names += (names.empty() ? "" : "\n") + name;
  group.set_attr("optimiser_names", names);
  write_column<std::int64_t>(group, "optimiser", points, [&](const auto& p) {
    return std::find(optimisers.begin(), optimisers.end(), p.optimiser) - optimisers.begin();
  });
  for (std::size_t m = 0; m < eavesdroppers().size(); ++m)
    write_column<double>(group, std::string("ari_") + eavesdroppers()[m].name, points,
                         [m](const auto& p) { return p.judgement.ari[m]; });
  write_column<double>(group, "time_fraction", points, [](const auto& p) { return p.cost.time_fraction(); });
  write_column<double>(group, "loss", points, [](const auto& p) { return p.loss; });
  write_column<double>(group, "byte_fraction", points, [](const auto& p) { return p.cost.byte_fraction(); });
  write_column<double>(group, "message_fraction", points, [](const auto& p) { return p.cost.message_fraction(); });
  write_column<std::int64_t>(group, "extra_bytes", points, [](const auto& p) { return p.cost.extra_bytes; });
  write_column<std::int64_t>(group, "extra_messages", points, [](const auto& p) { return p.cost.extra_messages; });
  write_column<std::int64_t>(group, "new_arcs", points, [](const auto& p) { return p.cost.new_arcs; });
  write_column<std::int64_t>(group, "dummies", points, [](const auto& p) { return p.cost.dummies; });
  write_column<std::int64_t>(group, "moves", points, [](const auto& p) { return p.plan.moves.size(); });
  write_column<std::int64_t>(group, "delay_moves", points, [](const auto& p) {
    return std::count_if(p.plan.moves.begin(), p.plan.moves.end(),
                         [](const auto& m) { return m.kind == MoveKind::delay; });
  });
  std::vector<std::int64_t> on_front(points.size(), 0);
  for (auto i : front) on_front[i] = 1;
  group.create_dataset<std::int64_t>("on_front", {on_front.size()}).write(on_front.data());
}

void write_plan(const h5::Group& group, const Plan& plan, std::int64_t devices, const std::string& deployment) {
  group.set_attr("pad_quantum", plan.pad_quantum);
  group.set_attr("jitter", plan.jitter);
  group.set_attr("devices", devices);
  group.set_attr("deployment", deployment);
  std::vector<std::int64_t> kind, from, to, bytes;
  std::vector<double> seconds;
  for (const auto& m : plan.moves) {
    kind.push_back(static_cast<std::int64_t>(m.kind));
    from.push_back(m.from);
    to.push_back(m.to);
    bytes.push_back(m.bytes);
    seconds.push_back(m.seconds);
  }
  group.create_dataset<double>("seconds", {seconds.size()}).write(seconds.data());
  for (const auto& [name, values] : {std::pair{"kind", &kind}, std::pair{"from", &from}, std::pair{"to", &to},
                                     std::pair{"bytes", &bytes}})
    group.create_dataset<std::int64_t>(name, {values->size()}).write(values->data());
}

PlanFile read_plan(const std::string& path, MPI_Comm comm) {
  auto file = h5::File::open(path, comm);
  const auto root = file.root();
  TESSERA_REQUIRE(root.exists("obfuscation/plan"), "'", path,
                  "' has no /obfuscation/plan (written by 'tessera streams obfuscate')");
  const auto group = root.group("obfuscation/plan");
  std::vector<std::int64_t> columns[4];
  const char* names[4] = {"kind", "from", "to", "bytes"};
  for (int c = 0; c < 4; ++c) {
    TESSERA_REQUIRE(group.exists(names[c]), "'", path, "': /obfuscation/plan/", names[c], " is missing");
    columns[c] = group.dataset(names[c]).read<std::int64_t>();
    TESSERA_REQUIRE(columns[c].size() == columns[0].size(), "'", path, "': /obfuscation/plan/", names[c], " has ",
                    columns[c].size(), " entries, kind ", columns[0].size());
  }
  // Plans written before delay moves existed have no seconds: every move's is 0.
  std::vector<double> seconds(columns[0].size(), 0.0);
  if (group.exists("seconds")) seconds = group.dataset("seconds").read<double>();
  TESSERA_REQUIRE(seconds.size() == columns[0].size(), "'", path, "': /obfuscation/plan/seconds has ", seconds.size(),
                  " entries, kind ", columns[0].size());
  PlanFile out;
  out.devices = group.attr_int("devices");
  if (group.has_attr("deployment")) out.deployment = group.attr_string("deployment");
  out.plan.pad_quantum = group.attr_int("pad_quantum");
  out.plan.jitter = group.attr_double("jitter");
  TESSERA_REQUIRE(out.devices > 0 && out.plan.pad_quantum >= 0 && out.plan.jitter >= 0 && std::isfinite(out.plan.jitter),
                  "'", path, "': /obfuscation/plan has a device count, padding or jitter out of range");
  for (std::size_t i = 0; i < columns[0].size(); ++i) {
    TESSERA_REQUIRE(columns[0][i] >= 0 && columns[0][i] < kMoveKinds, "'", path, "': move ", i, " has kind ",
                    columns[0][i], " (0 cover, 1 relay, 2 loop, 3 lead, 4 delay)");
    TESSERA_REQUIRE(columns[3][i] >= 0, "'", path, "': move ", i, " has ", columns[3][i], " bytes");
    TESSERA_REQUIRE(seconds[i] >= 0 && std::isfinite(seconds[i]), "'", path, "': move ", i, " has a delay of ",
                    seconds[i], " s (must be >= 0)");
    const auto kind = static_cast<MoveKind>(columns[0][i]);
    for (auto device : {columns[1][i], sends_to(kind) ? columns[2][i] : columns[1][i]})
      TESSERA_REQUIRE(device >= 0 && device < out.devices, "'", path, "': move ", i, " names device ", device, " of ",
                      out.devices);
    out.plan.moves.push_back({kind, columns[1][i], columns[2][i], columns[3][i], seconds[i]});
  }
  return out;
}

}  // namespace tessera::streams
