// The S2 link between stream analysis and the attack (docs/DESIGN.md section 9.4): an
// adversary who controls devices also sees their streams, so the eavesdropper's
// groups (`tessera streams analyze`) tell it which of its blocks lie in one layer, in
// the order of the flow, without looking at a weight. Used by `tessera attack
// --attack.knowledge=none --attack.layers_from=STREAMS.h5[:RUN]`.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "attack/cut_layer.hpp"

namespace tessera::attack {

struct StreamGroups {
  std::string file, run, trace;
  std::vector<std::int64_t> group;  // per device of the trace: the eavesdropper's group
  // Per cut layer: the device that holds each block (the trace's
  // /trace/truth/block_device/<layer>). The adversary knows which of its devices holds
  // which of its blocks; the table only names them.
  std::map<std::string, std::vector<std::int64_t>> block_device;
};

// Collective. `spec` is FILE or FILE:RUN (FILE must then have one /streams run). Errors
// name the file: no /streams, no such run, a trace that is gone or that was not served
// with these blocks (no block_device table for a cut layer, or one of another size).
StreamGroups read_stream_groups(const std::string& spec, const std::vector<CutLayer>& cut, MPI_Comm comm);

// Each held block's cut layer (an index into the cut layers, which are in the order of
// the flow): the groups that hold the most of the adversary's blocks, one per cut
// layer, taken in the order of the flow, are the layers; a block in another group goes
// to the layer of the nearest of them. No layer takes more blocks than its positions
// (which the architecture tells): what a full layer cannot
// take goes to the nearest layer with room, the blocks nearest to a chosen group
// first. `layer_of_table[k]`, `position[k]`: where to look up block k's device (which
// table and entry), not an answer.
std::vector<std::int32_t> layers_from_streams(const StreamGroups& streams, const std::vector<CutLayer>& cut,
                                              const std::vector<std::int32_t>& layer_of_table,
                                              const std::vector<std::int32_t>& position);

}  // namespace tessera::attack
