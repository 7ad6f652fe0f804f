// Ranks bound to cores on an oversubscribed node. With more ranks than cores and no
// binding, the kernel moves a rank to whichever core is free when it wakes, and the
// rank then finds its working set (a layer's weights, its packets) in another
// core's cache. A cascade of MixNN servers, which wake one after the other, ran up
// to a tenth slower so (docs/mixnn.md). Bound the way `mpiexec --bind-to
// core:overload-allowed` binds them, each rank stays on one core and keeps its cache.
#pragma once

#include <mpi.h>

#include <string>

namespace tessera {

struct Binding {
  int core = -1;       // the core this rank was bound to, -1 when left as it was
  std::string reason;  // why it was (or was not) bound
};

// Collective over `world`. When this rank's node runs more ranks than the cores the
// rank may use, and the launcher left it free to use more than one, binds every
// thread of the process to one of those cores: the i-th rank of the node to the
// (i mod cores)-th allowed core.
Binding bind_oversubscribed_ranks(MPI_Comm world);

}  // namespace tessera
