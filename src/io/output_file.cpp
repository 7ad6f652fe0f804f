#include "io/output_file.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/partial_files.hpp"
#include "tessera_version.hpp"

namespace tessera::io {

std::string utc_now(MPI_Comm comm) {
  char text[32] = {0};
  if (rank_of(comm) == 0) {
    std::time_t now = std::time(nullptr);
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  }
  MPI_Bcast(text, sizeof text, MPI_CHAR, 0, comm);
  return text;
}

OutputFile::OutputFile(const std::string& path, MPI_Comm comm, const Provenance& provenance)
    : path_(path), partial_(path + ".partial"), comm_(comm) {
  agree(comm, [&] {
    const auto folder = std::filesystem::path(path).parent_path();
    TESSERA_REQUIRE(folder.empty() || std::filesystem::is_directory(folder), "cannot write '", path,
                    "': folder '", folder.string(), "' does not exist");
  });
  // Every rank registers it: whichever rank faults and aborts the job removes it.
  partial_files::add(partial_);
  file_ = agree(comm, [&] { return h5::File::create(partial_, comm); });

  const int world_size = size_of(comm);
  auto root = file_.root();
  root.set_attr("tessera_version", TESSERA_VERSION);
  root.set_attr("git_revision", TESSERA_GIT_REVISION);
  root.set_attr("command", provenance.command);
  root.set_attr("config", provenance.config);
  root.set_attr("seed", provenance.seed);
  root.set_attr("world_size", world_size);
  root.set_attr("service_ranks", provenance.service_ranks < 0 ? world_size : provenance.service_ranks);
  root.set_attr("attack_ranks", provenance.attack_ranks);
  root.set_attr("created_utc", utc_now(comm));
}

void OutputFile::commit() {
  file_.close();
  agree(comm_, [&] {
    if (rank_of(comm_) != 0) return;
    std::error_code error;
    std::filesystem::rename(partial_, path_, error);
    TESSERA_REQUIRE(!error, "cannot rename '", partial_, "' to '", path_, "': ", error.message());
  });
  partial_files::forget(partial_);
  committed_ = true;
}

OutputFile::~OutputFile() {
  if (committed_) return;
  // Reached while an error unwinds on every rank: close (collective) and remove.
  try {
    file_.close();
  } catch (...) {
  }
  if (rank_of(comm_) == 0) std::remove(partial_.c_str());
  partial_files::forget(partial_);
}

}  // namespace tessera::io
