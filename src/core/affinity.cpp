#include "core/affinity.hpp"

#include <dirent.h>
#include <sched.h>

#include <cstdlib>
#include <vector>

#include "core/ranks.hpp"

namespace tessera {

namespace {

// Binds every thread of this process (sched_setaffinity binds one thread; threads
// made later inherit the binding of the thread that makes them).
bool bind_all_threads(const cpu_set_t& set) {
  bool ok = sched_setaffinity(0, sizeof set, &set) == 0;
  if (DIR* tasks = opendir("/proc/self/task")) {
    while (const dirent* task = readdir(tasks))
      if (task->d_name[0] != '.') ok = sched_setaffinity(std::atoi(task->d_name), sizeof set, &set) == 0 && ok;
    closedir(tasks);
  }
  return ok;
}

}  // namespace

Binding bind_oversubscribed_ranks(MPI_Comm world) {
  const auto place = node_place(world);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return {-1, "the cores this rank may use are unknown"};
  std::vector<int> cores;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cores.push_back(c);
  const int count = static_cast<int>(cores.size());
  if (count <= 1) return {-1, "the launcher bound this rank to one core"};
  if (place.size <= count)
    return {-1, std::to_string(place.size) + " ranks on " + std::to_string(count) + " cores: not oversubscribed"};
  const int core = cores[place.rank % count];
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(core, &one);
  if (!bind_all_threads(one)) return {-1, "the kernel refused the binding"};
  return {core, std::to_string(place.size) + " ranks on " + std::to_string(count) + " cores"};
}

}  // namespace tessera
