// Every job writes one HDF5 file atomically: it is written as "NAME.partial" and
// renamed to NAME only when complete, so a reader never sees a half-written file
// and a failed job leaves nothing behind (an older NAME stays untouched).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "io/h5.hpp"

namespace tessera::io {

// The root attributes of every output file (docs/DESIGN.md section 4).
struct Provenance {
  std::string command;
  std::string config;  // the resolved INI text
  std::uint64_t seed = 0;
  int service_ranks = -1;  // -1: the whole world
  int attack_ranks = 0;
};

class OutputFile {
 public:
  // Collective. An Error on every rank if the partial file cannot be created.
  OutputFile(const std::string& path, MPI_Comm comm, const Provenance& provenance);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  h5::Group root() const { return file_.root(); }
  const std::string& path() const { return path_; }
  // Collective: closes the file and gives it its final name.
  void commit();

 private:
  std::string path_, partial_;
  MPI_Comm comm_;
  h5::File file_;
  bool committed_ = false;
};

// "2026-11-21T23:59:59Z", the same text on every rank (rank 0's clock).
std::string utc_now(MPI_Comm comm);

}  // namespace tessera::io
