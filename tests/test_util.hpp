// Helpers shared by the suites that run under mpiexec.
#pragma once

#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace tessera::test {

inline int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// A fresh file name that every rank agrees on (made by rank 0), removed by the
// destructor.
class SharedTempFile {
 public:
  explicit SharedTempFile(const std::string& suffix = ".h5") {
    std::vector<char> name(512, 0);
    if (rank() == 0) {
      const char* dir = std::getenv("TMPDIR");
      std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/tessera-test-XXXXXX" + suffix;
      std::copy(pattern.begin(), pattern.end(), name.begin());
      int fd = mkstemps(name.data(), static_cast<int>(suffix.size()));
      if (fd >= 0) close(fd);
    }
    MPI_Bcast(name.data(), static_cast<int>(name.size()), MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = name.data();
  }
  ~SharedTempFile() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) {
      std::remove(path_.c_str());
      std::remove((path_ + ".partial").c_str());
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tessera::test
