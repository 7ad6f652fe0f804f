// Shared by the libFuzzer harnesses of tests/fuzz: MPI set up once per process,
// the fuzz input written to a per-process temporary file for the readers that take
// a path, and the rule for what is a finding.
//
// A reader reports bad input by throwing tessera::Error (or a subclass); that is
// its documented failure and counts as handled. Anything else is a finding: another
// exception escapes LLVMFuzzerTestOneInput and aborts (std::terminate names it),
// and ASan errors, crashes, timeouts and allocations over libFuzzer's limits are
// reported by libFuzzer itself.
#pragma once

#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sanitizer/lsan_interface.h>

#include "core/error.hpp"
#include "io/h5.hpp"

namespace tessera::fuzz {

// A harness-internal check failed: print and abort, which libFuzzer reports as a crash.
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "tessera-fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Where the per-process input file goes: $TESSERA_FUZZ_TMPDIR (tests/fuzz/run.sh
// sets it), else /dev/shm, else $TMPDIR, else /tmp.
inline std::string temp_dir() {
  if (const char* dir = std::getenv("TESSERA_FUZZ_TMPDIR"); dir && *dir) return dir;
  if (access("/dev/shm", W_OK) == 0) return "/dev/shm";
  if (const char* dir = std::getenv("TMPDIR"); dir && *dir) return dir;
  return "/tmp";
}

// MPI_Init once (from LLVMFuzzerInitialize); the readers then get MPI_COMM_SELF.
// Then one HDF5 file is written and read through MPI-IO, so that Open MPI loads its
// MPI-IO components now: what MPI_Init and that loading keep for ever is allocated
// with LeakSanitizer off, and is not reported as a leak of the first input.
inline void init_mpi_and_hdf5() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  __lsan_disable();
  MPI_Init(nullptr, nullptr);
  // HDF5 frees its larger blocks (the metadata cache of every opened file, over a
  // megabyte) to the system at once by default; kept on its free lists they are not
  // mapped and zero-filled again for every input.
  H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
  {
    const std::string path = temp_dir() + "/tessera-fuzz-warm-up-" + std::to_string(getpid()) + ".h5";
    h5::File::create(path, MPI_COMM_SELF).close();
    h5::File::open(path, MPI_COMM_SELF).close();
    unlink(path.c_str());
  }
  __lsan_enable();
  std::atexit([] {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  });
}

// One file per process, rewritten for every input and removed at exit.
class InputFile {
 public:
  InputFile(const char* harness, const char* suffix)
      : path_(temp_dir() + "/tessera-fuzz-" + harness + "-" + std::to_string(getpid()) + suffix) {}
  ~InputFile() { unlink(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Writes `data` as a new file (a new inode every time: HDF5 recognises a file it
  // still has open by its inode, so rewriting in place could reuse stale state).
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    unlink(path_.c_str());
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) finding("cannot create the input file '" + path_ + "': " + std::strerror(errno));
    std::size_t done = 0;
    while (done < size) {
      const ssize_t wrote = ::write(fd, data + done, size - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) finding("cannot write the input file '" + path_ + "': " + std::strerror(errno));
      done += static_cast<std::size_t>(wrote);
    }
    close(fd);
    return path_;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs the reader; its documented failure (tessera::Error) is fine, anything else
// propagates. Returns whether the reader accepted the input. With
// TESSERA_FUZZ_VERBOSE=1 the outcome is printed (to check seeds: harness FILE...).
template <class Body>
bool accepts(Body&& body) {
  static const bool verbose = std::getenv("TESSERA_FUZZ_VERBOSE") != nullptr;
  try {
    body();
    if (verbose) std::fprintf(stderr, "tessera-fuzz: accepted\n");
    return true;
  } catch (const ::tessera::Error& e) {
    if (verbose) std::fprintf(stderr, "tessera-fuzz: rejected: %s\n", e.what());
    return false;
  }
}

// Every reader closes what it opened, on success and on error: an HDF5 identifier
// still open after it returns is a leak (and would keep the input file open).
inline void require_no_open_hdf5_objects(const char* reader) {
  const ssize_t open_objects = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_objects != 0)
    finding(std::string(reader) + " left " + std::to_string(open_objects) +
            " HDF5 identifiers open (files, groups, datasets, types or attributes)");
}

}  // namespace tessera::fuzz
