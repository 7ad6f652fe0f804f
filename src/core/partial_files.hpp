// Output files still being written ("NAME.partial"). When a job aborts, these are
// removed so that no partial output is ever left behind; a file is only visible
// under its final name once complete.
#pragma once

#include <string>

namespace tessera::partial_files {

void add(const std::string& path);
void forget(const std::string& path);
// Removes every registered partial file of this process (used before MPI_Abort).
void remove_all() noexcept;

// An output folder this run created: a run that ends without writing anything into
// it (a refused command) removes it again, so that no empty folder is left behind.
void add_created_folder(const std::string& path);
// Removes the folders registered by add_created_folder that are still empty.
void remove_empty_created_folders() noexcept;

}  // namespace tessera::partial_files
