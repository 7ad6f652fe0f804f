// Sizes checked before the work starts: a grid or a population whose size is absurd
// is refused with its size in words, instead of growing until the machine kills it.
#pragma once

#include <string>

namespace tessera {

// This node's physical memory in bytes.
double physical_memory();

// "5.8 TiB", "23 GiB", "512 B".
std::string bytes_text(double bytes);

// An Error "<what> need(s) <size>, more than this node's <memory> of memory" when
// `bytes` exceed this node's physical memory.
void require_memory(double bytes, const std::string& what);

}  // namespace tessera
