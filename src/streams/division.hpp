// The eavesdropper's division of a device graph into layers (the paper's section VI,
// docs/DESIGN.md section 9). Vertices are devices, arcs the streams seen between
// them (direction: sender to receiver; repeats are harmless).
// - Algorithm 1 (sequential information): the vertex connectivity k between the entry
//   and the exit (Menger: every vertex split into in -> out of capacity 1, a max-flow),
//   the vertices that lie in some minimum k-vertex cut (Picard-Queyranne: a saturated
//   split arc whose ends the residual graph does not connect) as pivots, ordered by
//   when they are first seen, and the vertices between consecutive pivots as groups.
// - Algorithm 2 (flattened information): the number of vertices reachable from each
//   vertex, the counts seen fewer than `th` times as pivots, and the vertices whose
//   counts lie between consecutive pivot counts as groups. Counted by bitsets over a
//   topological order of the strongly connected components, a block of components at
//   a time, so memory stays linear in the graph (10^5 devices fit).
// - The depth eavesdropper (tessera's own, stronger on tessera's traces): the number
//   of hops from the model's input along the direction data flows forward, by
//   breadth-first search; the devices at one depth are one group. It needs neither
//   order nor sizes, so it works on every view. Every device of a layer receives its
//   input straight from the layer before, and streams inside a layer never shorten a
//   path, so an unobfuscated trace is divided exactly; cover streams that skip
//   layers are what defeat it.
// Every device gets a group; pivots are groups of their own (in tessera's traces the
// layers that are not cut into blocks are single devices, and pivots). Vertices that
// no pivot reaches (Algorithm 1) are group -1.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace tessera::streams {

struct DeviceGraph {
  std::int64_t vertices = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> arcs;  // (sender, receiver)
};

struct Division {
  std::vector<std::int64_t> pivots;  // in the order the algorithm sorts them
  std::vector<std::int64_t> group;   // per vertex: 0, 1, ... in the order of the flow; -1: none
  std::int64_t groups = 0;
};

struct SequentialDivision : Division {
  // Internally vertex-disjoint entry -> exit paths; -1 when the entry sends to the exit
  // directly (no set of other vertices separates them).
  std::int64_t connectivity = 0;
};

// A vertex on a directed cycle or after one (a vertex's streams to itself aside), or
// -1 when the graph is acyclic: what Kahn's algorithm cannot order.
std::int64_t on_a_cycle(const DeviceGraph& graph);

// Errors (one line) for a vertex out of range, or an entry equal to the exit.
// `first_seen` (per vertex: a time or a sequence number) orders the pivots.
SequentialDivision divide_sequential(const DeviceGraph& graph, std::int64_t entry, std::int64_t exit,
                                     const std::vector<double>& first_seen);

struct FlattenedDivision : Division {
  std::vector<std::int64_t> reachable;  // per vertex: other vertices reachable from it
};

// Pivots by reachable count, descending (ties by vertex id).
FlattenedDivision divide_flattened(const DeviceGraph& graph, std::int64_t threshold);

// Per vertex, the number of other vertices a directed path reaches from it.
std::vector<std::int64_t> reachable_counts(const DeviceGraph& graph);

struct DepthDivision : Division {
  std::vector<std::int64_t> depth;  // per vertex: hops from the origin; -1: not reached
};

// Hops from `origin` along the arcs (`against_arcs`: along the arcs reversed, for a
// backward phase, whose data flows against the forward direction). Groups in order of
// depth; pivots are the vertices alone at their depth.
DepthDivision divide_by_depth(const DeviceGraph& graph, std::int64_t origin, bool against_arcs);

// The timing eavesdroppers (tessera's own): one time per device (when its first
// incoming stream starts, say), sorted, and cut at the widest gaps. The number of
// groups is inferred, not given: the gaps sorted from the widest, the cut falls at
// the steepest drop (the largest ratio of one gap to the next; gaps under a tenth
// of the mean spacing count as ties), and nowhere when no gap stands out (every
// ratio under 2). In a served trace the devices of one layer get their input at
// the same moment, and layers are a compute and a transfer apart, so an
// unobfuscated trace is divided exactly; delays that spread one layer's times over
// another's are what defeat it. Devices without a time (kNeverSeen, e.g. the entry
// for its incoming streams) form one group of their own; groups in time order.
// `groups` > 0 tells it the number of groups (an eavesdropper that knows the
// architecture knows the number of layers): the cut falls at the widest gaps that
// make that many, the devices without a time counting as one.
Division divide_by_gaps(const std::vector<double>& when, std::int64_t groups = 0);

// The size eavesdropper: devices with the same messages and bytes in and out are one
// group (the number of groups is what it finds). Devices of one layer cut into
// equal blocks send and receive alike; padding to a quantum and cover sized like
// the real messages are what defeat it. Groups in order of the profiles.
Division divide_by_profile(const std::vector<std::int64_t>& messages_in, const std::vector<std::int64_t>& bytes_in,
                           const std::vector<std::int64_t>& messages_out, const std::vector<std::int64_t>& bytes_out);

// The structure eavesdropper: structural equivalence, devices that receive from the
// same devices and send to the same devices are one group (repeats and self-loops
// aside). In a served trace a layer's devices all hear from the layer before, but a
// cut layer's devices send to their row's owner, so each row is a group of its own;
// it divides exactly only layers whose devices share their neighbours.
Division divide_by_neighbours(const DeviceGraph& graph);

// The spectral eavesdropper: structural equivalence made tolerant of a few streams
// added or missing. Devices are similar by the senders and receivers they share
// (S = A A^T + A^T A over the distinct arcs, never formed: O(arcs) a product); the
// leading eigenvectors of D^-1/2 S D^-1/2 (subspace iteration, at most 16) embed each
// device, the widest gap between their eigenvalues gives the number of groups, and
// k-means (farthest-first start) on the unit-length rows finds them (Ng, Jordan and
// Weiss). A layer's devices all hear from the layer before, so each layer of an
// unobfuscated trace is a block of S of its own and is found exactly; cover streams
// that tie layers together weigh against the blocks only as much as they add to
// them. When every eigenvalue found is 1 (more separate blocks than the embedding
// is wide), the blocks themselves (the components of S) are the groups. Devices
// with no stream are one group; groups in order of their first device's id. `seed`
// draws the starting subspace. `groups` > 0 tells it the number of groups (at most
// the embedding's width is used) instead of the eigenvalues' widest gap: the gap
// is what cover streams blur first, and a layer hidden only from the inference of
// their number is not hidden from an eavesdropper that knows the architecture.
Division divide_spectrally(const DeviceGraph& graph, std::uint64_t seed = 1, std::int64_t groups = 0);
// The divisions for several counts at once (each as above, 0: inferred) from one
// embedding: the same divisions as one call per count, at the cost of the slowest.
std::vector<Division> divide_spectrally(const DeviceGraph& graph, std::uint64_t seed,
                                        const std::vector<std::int64_t>& groups);

// Per vertex, the distinct vertices that send to it and that it sends to, sorted
// (self-loops aside).
struct Neighbours {
  std::vector<std::vector<std::int64_t>> senders, receivers;
};
Neighbours distinct_neighbours(const DeviceGraph& graph);

// Scores of a division against the true layer of every vertex, never seen by the
// division itself. Group -1 counts as one more group; devices of true layer -1 (the
// provider's dummies) are left out.
struct DivisionScore {
  double adjusted_rand_index = 0;
  // Vertices whose group is exactly their true layer (the same set of devices).
  double exact_fraction = 0;
  std::int64_t groups_found = 0, layers = 0;
};
DivisionScore score_division(const std::vector<std::int64_t>& group, const std::vector<std::int64_t>& layer);

// The adjusted Rand index of two labellings of the same items (1: identical up to names;
// about 0: chance). Two single-cluster labellings score 1.
double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

}  // namespace tessera::streams
