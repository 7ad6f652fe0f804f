// Every job writes one HDF5 file atomically: it is written as "NAME.partial" and
// renamed to NAME only when complete, so a reader never sees a half-written file
// and a failed job leaves nothing behind (an older NAME stays untouched).
//
// The commands whose file collects runs (attack, streams analyze) add a run to an
// existing NAME instead: NAME is copied to NAME.partial, the run's group is added
// there and the copy renamed over NAME, so the runs already in it are kept, and a
// failure still leaves NAME as it was. A run of a name already in the file is
// refused (docs/DESIGN.md section 4).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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

// What a new OutputFile does with a file already at its path.
enum class Existing {
  replace,  // a new file replaces it on commit
  add_run,  // the new run is added to it; see require_room_for_run
};

// How a run is named in its file, and whether it may take the place of one of the
// same name (the file's other runs are always kept).
struct RunName {
  std::string group;          // "attack/ga"
  std::string rename_option;  // "--attack.run", named when the group is taken
  std::string replace_option; // "--attack.replace"
  bool replace = false;
};

// Collective, before the work of a run that will be added to `path`: an Error on
// every rank, naming the file and the options, when `path` exists and holds one of
// the `runs` already (unless they may be replaced), was written by another command
// than `command`, or `conflict` (when given) finds the file's other contents at
// odds with this run (it returns what differs, or nothing). No check when `path`
// does not exist.
void require_room_for_runs(const std::string& path, MPI_Comm comm, const std::string& command,
                           const std::vector<RunName>& runs,
                           const std::function<std::string(const h5::Group& root)>& conflict = {});

class OutputFile {
 public:
  // Collective. An Error on every rank if the partial file cannot be created. With
  // Existing::add_run the caller has checked require_room_for_runs (it is checked
  // again on the copy).
  OutputFile(const std::string& path, MPI_Comm comm, const Provenance& provenance,
             Existing existing = Existing::replace);
  // The run's group of an Existing::add_run file, created here with the run's own
  // provenance (config, seed, created_utc, git_revision) as attributes: the root's
  // describe the file's latest writer.
  // A run of the same name is removed first if it may be replaced, else refused.
  h5::Group create_run(const RunName& run) const;
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  h5::Group root() const { return file_.root(); }
  const std::string& path() const { return path_; }
  // Collective: closes the file and gives it its final name.
  void commit();

 private:
  void abandon();  // collective: closes and removes the partial file

  std::string path_, partial_;
  MPI_Comm comm_;
  Provenance provenance_;
  std::string created_utc_;
  h5::File file_;
  bool committed_ = false;
};

// "2026-11-21T23:59:59Z", the same text on every rank (rank 0's clock).
std::string utc_now(MPI_Comm comm);

// Writes `text` to `path` as a file appears only once complete: "PATH.partial" first
// (registered, so that an abort removes it), renamed when written. Not collective;
// an error names `option` (the option that chose the path) and leaves no file.
void write_text_file(const std::string& path, const std::string& text, const std::string& option);

// The checkpoint beside an output file: "out/drop-x.h5" -> "out/drop-x.checkpoint.h5".
std::string checkpoint_path(const std::string& output_path);

}  // namespace tessera::io
