#include "core/error.hpp"

#include <unistd.h>

#include <climits>
#include <vector>

namespace tessera {

std::string where(const char* file, int line) {
  char host[256] = "unknown-host";
  gethostname(host, sizeof host - 1);
  return detail::concat(host, ":", file, ":", line);
}

void agree_on_message(MPI_Comm comm, const std::string& message) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = message.empty() ? INT_MAX : rank;
  int first = INT_MAX;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == INT_MAX) return;

  int length = rank == first ? static_cast<int>(message.size()) : 0;
  MPI_Bcast(&length, 1, MPI_INT, first, comm);
  std::vector<char> text(message.begin(), message.end());
  text.resize(length);
  MPI_Bcast(text.data(), length, MPI_CHAR, first, comm);
  throw AgreedError(std::string(text.begin(), text.end()));
}

}  // namespace tessera
