#include "io/output_file.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
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

namespace {

// Rank 0's answer, so that every rank takes the same collective path.
bool exists_on_leader(const std::string& path, MPI_Comm comm) {
  int exists = rank_of(comm) == 0 && std::filesystem::exists(path) ? 1 : 0;
  MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
  return exists != 0;
}

void require_written_by(const h5::Group& root, const std::string& path, const std::string& command) {
  const auto written_by = root.has_attr("command") ? root.attr_string("command") : std::string("no tessera command");
  TESSERA_REQUIRE(written_by == command, "cannot add this run to '", path, "': it was written by '", written_by,
                  "', not by '", command, "' (write to another --run.out or --run.name)");
}

void require_no_run(const h5::Group& root, const std::string& path, const RunName& run) {
  TESSERA_REQUIRE(run.replace || !root.exists(run.group), "'", path, "' holds /", run.group, " already: name this run with ",
                  run.rename_option, ", replace that one with ", run.replace_option,
                  "=true, or write to another --run.out (the file's other runs are kept)");
}

}  // namespace

void require_room_for_runs(const std::string& path, MPI_Comm comm, const std::string& command,
                           const std::vector<RunName>& runs,
                           const std::function<std::string(const h5::Group& root)>& conflict) {
  if (!exists_on_leader(path, comm)) return;
  const auto file = agree(comm, [&] { return h5::File::open(path, comm); });
  agree(comm, [&] {
    require_written_by(file.root(), path, command);
    for (const auto& run : runs) require_no_run(file.root(), path, run);
    const auto difference = conflict ? conflict(file.root()) : std::string();
    TESSERA_REQUIRE(difference.empty(), "cannot add this run to '", path, "': ", difference,
                    " (write it to another --run.out or --run.name)");
  });
}

OutputFile::OutputFile(const std::string& path, MPI_Comm comm, const Provenance& provenance, Existing existing)
    : path_(path), partial_(path + ".partial"), comm_(comm), provenance_(provenance) {
  agree(comm, [&] {
    const auto folder = std::filesystem::path(path).parent_path();
    TESSERA_REQUIRE(folder.empty() || std::filesystem::is_directory(folder), "cannot write '", path,
                    "': folder '", folder.string(), "' does not exist");
  });
  // Every rank registers it: whichever rank faults and aborts the job removes it.
  partial_files::add(partial_);
  try {
    if (existing == Existing::add_run && exists_on_leader(path, comm)) {
      agree(comm, [&] {
        if (rank_of(comm) != 0) return;
        std::error_code error;
        std::filesystem::copy_file(path, partial_, std::filesystem::copy_options::overwrite_existing, error);
        TESSERA_REQUIRE(!error, "cannot copy '", path, "' to '", partial_, "' to add this run: ", error.message());
      });
      file_ = agree(comm, [&] { return h5::File::open(partial_, comm, /*writable=*/true); });
      agree(comm, [&] { require_written_by(file_.root(), path, provenance.command); });
    } else {
      file_ = agree(comm, [&] { return h5::File::create(partial_, comm); });
    }

    const int world_size = size_of(comm);
    created_utc_ = utc_now(comm);
    auto root = file_.root();
    root.set_attr("tessera_version", TESSERA_VERSION);
    root.set_attr("git_revision", TESSERA_GIT_REVISION);
    root.set_attr("command", provenance.command);
    root.set_attr("config", provenance.config);
    root.set_attr("seed", provenance.seed);
    root.set_attr("world_size", world_size);
    root.set_attr("service_ranks", provenance.service_ranks < 0 ? world_size : provenance.service_ranks);
    root.set_attr("attack_ranks", provenance.attack_ranks);
    root.set_attr("created_utc", created_utc_);
  } catch (...) {
    abandon();  // an agreed error, on every rank: nothing is left behind
    throw;
  }
}

h5::Group OutputFile::create_run(const RunName& run) const {
  const auto root = file_.root();
  agree(comm_, [&] { require_no_run(root, path_, run); });
  if (root.exists(run.group)) {
    root.remove(run.group);
    log::info("replacing /", run.group, " in '", path_, "' (", run.replace_option, "=true)");
  }
  auto group = root.require_group(run.group);
  group.set_attr("tessera_version", TESSERA_VERSION);
  group.set_attr("git_revision", TESSERA_GIT_REVISION);
  group.set_attr("config", provenance_.config);
  group.set_attr("seed", provenance_.seed);
  group.set_attr("created_utc", created_utc_);
  return group;
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

void OutputFile::abandon() {
  try {
    file_.close();
  } catch (...) {
  }
  if (rank_of(comm_) == 0) std::remove(partial_.c_str());
  partial_files::forget(partial_);
}

OutputFile::~OutputFile() {
  // Reached while an error unwinds on every rank: close (collective) and remove.
  if (!committed_) abandon();
}

std::string checkpoint_path(const std::string& output_path) {
  return (std::filesystem::path(output_path).replace_extension("").string()) + ".checkpoint.h5";
}

void write_text_file(const std::string& path, const std::string& text, const std::string& option) {
  const auto partial = path + ".partial";
  partial_files::add(partial);
  std::error_code error;
  try {
    {
      std::ofstream out(partial);
      out << text;
      TESSERA_REQUIRE(out.good(), option, ": cannot write '", partial, "'");
    }
    std::filesystem::rename(partial, path, error);
    TESSERA_REQUIRE(!error, option, ": cannot rename '", partial, "': ", error.message());
  } catch (...) {
    std::filesystem::remove(partial, error);  // never leave a partial file behind
    partial_files::forget(partial);
    throw;
  }
  partial_files::forget(partial);
}

}  // namespace tessera::io
