#include "attack/stream_layers.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "io/h5.hpp"
#include "trace/reader.hpp"

namespace tessera::attack {

StreamGroups read_stream_groups(const std::string& spec, const std::vector<CutLayer>& cut, MPI_Comm comm) {
  StreamGroups s;
  const auto colon = spec.rfind(':');
  s.file = colon == std::string::npos ? spec : spec.substr(0, colon);
  s.run = colon == std::string::npos ? "" : spec.substr(colon + 1);
  {
    auto file = h5::File::open(s.file, comm);
    const auto root = file.root();
    TESSERA_REQUIRE(root.exists("streams"), "--attack.layers_from: '", s.file,
                    "' has no /streams (written by 'tessera streams analyze')");
    const auto runs = root.group("streams").children();
    if (s.run.empty()) {
      TESSERA_REQUIRE(runs.size() == 1, "--attack.layers_from: '", s.file, "' has ", runs.size(),
                      " /streams runs: name one as FILE:RUN");
      s.run = runs.front();
    }
    TESSERA_REQUIRE(root.exists("streams/" + s.run), "--attack.layers_from: '", s.file, "' has no run '", s.run, "'");
    const auto group = root.group("streams/" + s.run);
    s.group = group.dataset("group").read<std::int64_t>();
    s.trace = trace::recorded_trace_path(group, s.file, "--attack.layers_from");
  }
  auto file = h5::File::open(s.trace, comm);
  const auto root = file.root();
  for (const auto& layer : cut) {
    const auto path = "trace/truth/block_device/" + layer.name;
    TESSERA_REQUIRE(root.exists(path), "--attack.layers_from: the trace '", s.trace, "' of '", s.file,
                    "' has no /", path, " (serve it with the same --blocks.layers)");
    auto devices = root.dataset(path).read<std::int64_t>();
    TESSERA_REQUIRE(static_cast<std::int64_t>(devices.size()) == layer.positions, "--attack.layers_from: the trace '",
                    s.trace, "' cuts ", layer.name, " into ", devices.size(), " blocks, this attack into ",
                    layer.positions, " (serve it with the same --blocks options)");
    for (auto d : devices)
      TESSERA_REQUIRE(d >= 0 && d < static_cast<std::int64_t>(s.group.size()), "--attack.layers_from: '", s.trace,
                      "' names device ", d, " of ", s.group.size());
    s.block_device[layer.name] = std::move(devices);
  }
  return s;
}

std::vector<std::int32_t> layers_from_streams(const StreamGroups& streams, const std::vector<CutLayer>& cut,
                                              const std::vector<std::int32_t>& layer_of_table,
                                              const std::vector<std::int32_t>& position) {
  std::vector<std::int64_t> group_of(position.size());
  std::map<std::int64_t, std::int64_t> held_in;  // group -> the adversary's blocks in it
  for (std::size_t k = 0; k < position.size(); ++k) {
    const auto device = streams.block_device.at(cut[layer_of_table[k]].name)[position[k]];
    group_of[k] = streams.group[device];
    ++held_in[group_of[k]];
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> by_count;  // (-count, group)
  for (const auto& [g, n] : held_in) by_count.emplace_back(-n, g);
  std::sort(by_count.begin(), by_count.end());
  std::vector<std::int64_t> chosen;  // one group per cut layer, in the order of the flow
  for (std::size_t i = 0; i < by_count.size() && chosen.size() < cut.size(); ++i)
    chosen.push_back(by_count[i].second);
  std::sort(chosen.begin(), chosen.end());
  // How far block k's group is from layer i's (a layer that no group stands for: the
  // farthest of all, used only when the others are full).
  const auto distance = [&](std::size_t k, std::size_t i) {
    return i < chosen.size() ? std::llabs(chosen[i] - group_of[k]) : std::numeric_limits<long long>::max();
  };
  // A layer holds at most its positions, whatever the groups say (an eavesdropper's
  // group may hold more blocks of the adversary's than the layer has positions): the
  // blocks nearest to a chosen group go first, and what a full layer cannot take goes
  // to the nearest layer with room.
  std::vector<std::size_t> order(position.size());
  std::iota(order.begin(), order.end(), 0);
  const auto nearest = [&](std::size_t k) {
    long long best = std::numeric_limits<long long>::max();
    for (std::size_t i = 0; i < cut.size(); ++i) best = std::min(best, distance(k, i));
    return best;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return nearest(a) < nearest(b); });
  std::vector<std::int64_t> room;
  for (const auto& c : cut) room.push_back(c.positions);
  std::vector<std::int32_t> layer(position.size(), -1);
  for (const auto k : order) {
    std::size_t best = cut.size();
    for (std::size_t i = 0; i < cut.size(); ++i)
      if (room[i] > 0 && (best == cut.size() || distance(k, i) < distance(k, best))) best = i;
    TESSERA_ASSERT(best < cut.size(), "more held blocks than the cut layers have positions");
    --room[best];
    layer[k] = static_cast<std::int32_t>(best);
  }
  return layer;
}

}  // namespace tessera::attack
