#include "streams/plan_file.hpp"

#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace tessera::streams {

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
